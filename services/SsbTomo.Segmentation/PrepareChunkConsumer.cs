using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Denoises one slab, tile by tile (each read with the halo the filter needs, so the result equals the whole-stack
/// result and memory follows the budget, not the slice size), stores it in denoised.zarr and reports its histogram so
/// the orchestrator can pick thresholds for all chunks at once.
/// </summary>
public sealed class PrepareChunkConsumer(IBlobStore store, IOptions<SsbTomoOptions> options) : IConsumer<PrepareChunk>
{
    public Task Consume(ConsumeContext<PrepareChunk> context) =>
        StageRunner.RunAsync(context, "denoise", () => PrepareAsync(context));

    private async Task PrepareAsync(ConsumeContext<PrepareChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var aligned = await OmeZarr.OpenLevelAsync<ushort>(store, layout.Aligned, 0, ct);
        var voxelSize = await OmeZarr.ReadVoxelSizeAsync(store, layout.Aligned, ct);
        var target = await OmeZarr.EnsureImageAsync<ushort>(store, layout.Denoised, "denoised", aligned.Shape, aligned.Chunks, voxelSize, ct: ct);

        var plan = SlabTilePlan.For(aligned, message.Z0, message.Z1, Halo.RequiredSlices(SegmentationSettings.DenoiseSigmaVoxels),
            options.Value.WindowBudgetBytes, SegmentationSettings.DenoiseBytesPerVoxel);
        var reader = new ZarrWindowReader<ushort>(aligned);
        var histogram = new long[SegmentationSettings.HistogramBins];
        foreach (var tile in plan.Tiles)
        {
            var window = await reader.ReadAsync(plan.Slab, tile, ct);
            var denoised = TileGrid.CropToOwned(Denoise.Gaussian(window, SegmentationSettings.DenoiseSigmaVoxels), plan.Slab, tile);
            var quantized = new Volume<ushort>(denoised.Depth, denoised.Height, denoised.Width);
            for (var i = 0; i < quantized.Data.Length; i++)
                quantized.Data[i] = (ushort)Math.Clamp(Math.Round(denoised.Data[i]), 0, 65535);
            await target.WriteRegionAsync(message.Z0, tile.OwnedY0, tile.OwnedX0, quantized, ct);
            histogram = Histogram.Merge(histogram, Histogram.Compute(quantized, SegmentationSettings.HistogramBins,
                SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax));
        }
        await context.Publish(new ChunkPrepared(message.JobId, message.ChunkIndex, histogram,
            SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax));
    }
}
