using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Segments one slab of denoised.zarr with the stack-wide thresholds (<see cref="PhaseSegmentation"/>: classification,
/// partial-volume clean-up, shine-through correction), tile by tile with the halo they need, and writes its chunks of
/// labels.zarr. A redelivery writes the same bytes.
/// </summary>
public sealed class SegmentChunkConsumer(IBlobStore store, IOptions<SsbTomoOptions> options) : IConsumer<SegmentChunk>
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
        var levels = LabelPyramid.LevelCount(depth, height, width);
        var target = await OmeZarr.EnsureImageAsync<byte>(store, layout.Labels, "labels", denoised.Shape, denoised.Chunks, voxelSize,
            levels, ct: ct);

        var plan = SlabTilePlan.For(denoised, message.Z0, message.Z1, PhaseSegmentation.RequiredHaloSlices,
            options.Value.WindowBudgetBytes, SegmentationSettings.SegmentBytesPerVoxel);
        var reader = new ZarrWindowReader<ushort>(denoised);
        foreach (var tile in plan.Tiles)
        {
            var window = await reader.ReadAsync(plan.Slab, tile, ct);
            var intensity = new Volume<float>(window.Depth, window.Height, window.Width);
            for (var i = 0; i < window.Data.Length; i++) intensity.Data[i] = window.Data[i];
            var owned = TileGrid.CropToOwned(PhaseSegmentation.Segment(intensity, message.Thresholds, message.ClassMeans), plan.Slab, tile);
            await target.WriteRegionAsync(message.Z0, tile.OwnedY0, tile.OwnedX0, owned, ct);
        }
        SsbTomoTelemetry.ChunksSegmented.Add(1);
        await context.Publish(new ChunkSegmented(message.JobId, message.ChunkIndex));
    }
}
