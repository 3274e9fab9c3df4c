using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Segments one slab of denoised.zarr with the stack-wide thresholds (<see cref="PhaseSegmentation"/>: classification,
/// partial-volume clean-up, shine-through correction), tile by tile with the halo they need, and writes its chunks of
/// labels.zarr. With the threshold model in the command it also segments each window with every threshold variant and
/// reports the slab's counts, so the metrics' uncertainty costs no second pass over the volume and scales out with the
/// workers. A redelivery writes the same bytes and reports the same counts.
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

        var variants = message.Model is { } model
            ? new SegmentationVariantAccumulator(SegmentationUncertainty.Variants(model.Thresholds
                .Select((t, k) => new ThresholdRange(model.ThresholdLows[k], t, model.ThresholdHighs[k])).ToArray()), model.ClassMeans)
            : null;
        // The variants count faces to the voxel beyond the owned ones, which needs one more voxel of halo.
        var halo = variants is null ? PhaseSegmentation.RequiredHaloSlices : SegmentationVariantAccumulator.RequiredHaloSlices;
        var plan = SlabTilePlan.For(denoised, message.Z0, message.Z1, halo, options.Value.WindowBudgetBytes, SegmentationSettings.SegmentBytesPerVoxel);
        var reader = new ZarrWindowReader<ushort>(denoised);
        foreach (var tile in plan.Tiles)
        {
            var window = await reader.ReadAsync(plan.Slab, tile, ct);
            var intensity = new Volume<float>(window.Depth, window.Height, window.Width);
            for (var i = 0; i < window.Data.Length; i++) intensity.Data[i] = window.Data[i];
            var owned = TileGrid.CropToOwned(PhaseSegmentation.Segment(intensity, message.Thresholds, message.ClassMeans), plan.Slab, tile);
            await target.WriteRegionAsync(message.Z0, tile.OwnedY0, tile.OwnedX0, owned, ct);
            variants?.Add(intensity, plan.Slab, tile);
        }
        SsbTomoTelemetry.ChunksSegmented.Add(1);
        await context.Publish(new ChunkSegmented(message.JobId, message.ChunkIndex)
        {
            Variants = variants?.Result().Select(v => new VariantCounts(v.Name, v.LabelCounts, v.Contact.NmcSurface, v.Contact.NmcVoid)).ToArray(),
        });
    }
}
