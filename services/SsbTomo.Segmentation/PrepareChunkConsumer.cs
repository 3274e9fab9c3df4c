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
        var aligned = await StageVolume<ushort>.OpenAsync(store, layout.Aligned, ct);
        // Smoothed but still noisy grey levels, which zstd's level 1 shrinks by ~4 %: its fast mode (ZarrCompressor.ZstdFast).
        var target = await aligned.EnsureLikeAsync<ushort>(layout.Denoised, "denoised", compressor: ZarrCompressor.ZstdFast, ct: ct);

        // The σ the orchestrator chose for the stack's noise; a command from before that choice: the former fixed σ.
        var sigma = message.DenoiseSigma > 0 ? message.DenoiseSigma : SegmentationSettings.DenoiseSigmaVoxels;
        var histogram = new long[SegmentationSettings.HistogramBins];
        var gaussian = new GaussianWorkspace();
        await foreach (var window in aligned.WindowsAsync(message.Z0, message.Z1, Halo.RequiredSlices(sigma),
            options.Value.WindowBudgetBytes, SegmentationSettings.DenoiseBytesPerVoxel, ct, reuseArrays: true))
        {
            var denoised = Denoise.GaussianOwnedUInt16(window.Data, sigma, window.Slab, window.Tile, gaussian);
            // Written (compressed on the pool) while its histogram is counted: both only read it.
            var write = target.WriteOwnedAsync(window, denoised, ct);
            histogram = Histogram.Merge(histogram, Histogram.Compute(denoised, SegmentationSettings.HistogramBins,
                SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax));
            await write;
        }
        await context.Publish(new ChunkPrepared(message.JobId, message.ChunkIndex, histogram,
            SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax));
    }
}
