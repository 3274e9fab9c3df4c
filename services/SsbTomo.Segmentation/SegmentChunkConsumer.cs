using MassTransit;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Segments one slab of denoised.zarr with the stack-wide thresholds (<see cref="PhaseSegmentation"/>: classification,
/// partial-volume clean-up, shine-through correction, with the halo they need) and writes its chunks of labels.zarr.
/// A redelivery writes the same bytes.
/// </summary>
public sealed class SegmentChunkConsumer(IBlobStore store) : IConsumer<SegmentChunk>
{
    public Task Consume(ConsumeContext<SegmentChunk> context) =>
        StageRunner.RunAsync(context, "segmentation", () => SegmentAsync(context));

    private async Task SegmentAsync(ConsumeContext<SegmentChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var denoised = await OmeZarr.OpenLevelAsync<ushort>(store, layout.Denoised, 0, ct);
        var voxelSize = await OmeZarr.ReadVoxelSizeAsync(store, layout.Denoised, ct);
        var (depth, height, width) = (denoised.Shape[0], denoised.Shape[1], denoised.Shape[2]);

        var window = Halo.Expand(depth, message.Z0, message.Z1, PhaseSegmentation.RequiredHaloSlices);
        var slab = await denoised.ReadRegionAsync(window.SlabZ0, window.SlabZ1, 0, height, 0, width, ct);
        var intensity = new Volume<float>(slab.Depth, height, width);
        for (var i = 0; i < slab.Data.Length; i++) intensity.Data[i] = slab.Data[i];

        var owned = Halo.CropToOwned(PhaseSegmentation.Segment(intensity, message.Thresholds, message.ClassMeans), window);

        var levels = LabelPyramid.LevelCount(depth, height, width);
        var target = await OmeZarr.EnsureImageAsync<byte>(store, layout.Labels, "labels", denoised.Shape, denoised.Chunks, voxelSize,
            levels, ct: ct);
        await target.WriteRegionAsync(message.Z0, 0, 0, owned, ct);
        SsbTomoTelemetry.ChunksSegmented.Add(1);
        await context.Publish(new ChunkSegmented(message.JobId, message.ChunkIndex));
    }
}
