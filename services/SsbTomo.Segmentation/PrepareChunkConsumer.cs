using MassTransit;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Denoises one slab (read with a halo so the slab result equals the whole-stack result), stores it in
/// denoised.zarr and reports its histogram so the orchestrator can pick thresholds for all chunks at once.
/// </summary>
public sealed class PrepareChunkConsumer(IBlobStore store) : IConsumer<PrepareChunk>
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
        var (depth, height, width) = (aligned.Shape[0], aligned.Shape[1], aligned.Shape[2]);

        var window = Halo.Expand(depth, message.Z0, message.Z1, Halo.RequiredSlices(SegmentationSettings.DenoiseSigmaVoxels));
        var slab = await aligned.ReadRegionAsync(window.SlabZ0, window.SlabZ1, 0, height, 0, width, ct);
        var denoised = Halo.CropToOwned(Denoise.Gaussian(slab, SegmentationSettings.DenoiseSigmaVoxels), window);
        var quantized = new Volume<ushort>(denoised.Depth, height, width);
        for (var i = 0; i < quantized.Data.Length; i++)
            quantized.Data[i] = (ushort)Math.Clamp(Math.Round(denoised.Data[i]), 0, 65535);

        var target = await OmeZarr.EnsureImageAsync<ushort>(store, layout.Denoised, "denoised", aligned.Shape, aligned.Chunks, voxelSize, ct: ct);
        await target.WriteRegionAsync(message.Z0, 0, 0, quantized, ct);

        var histogram = Histogram.Compute(quantized, SegmentationSettings.HistogramBins, SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax);
        await context.Publish(new ChunkPrepared(message.JobId, message.ChunkIndex, histogram,
            SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax));
    }
}
