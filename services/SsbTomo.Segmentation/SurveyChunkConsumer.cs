using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Surveys one slab of denoised.zarr, tile by tile (each read with the halo the tube filter and the pore runs need), for
/// carbon fibre cores and for pore runs along z, and reports the counts, so the orchestrator can check the grey-level
/// fit's carbon class and estimate the shine-through once for the whole stack.
/// </summary>
public sealed class SurveyChunkConsumer(IBlobStore store, IOptions<SsbTomoOptions> options) : IConsumer<SurveyChunk>
{
    public Task Consume(ConsumeContext<SurveyChunk> context) =>
        StageRunner.RunAsync(context, "segmentation", () => SurveyAsync(context));

    private async Task SurveyAsync(ConsumeContext<SurveyChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var denoised = await StageVolume<ushort>.OpenAsync(store, layout.Denoised, ct);
        var sigma = CarbonFibreSurvey.TubeSigmaVoxels(denoised.VoxelSize);

        var parts = new List<FibreSurveyCounts>();
        var runs = new long[ShineThroughEstimate.HistogramLength];
        var halo = Math.Max(CarbonFibreSurvey.RequiredHaloSlices(sigma), ShineThroughEstimate.RequiredHaloSlices);
        await foreach (var window in denoised.WindowsAsync(message.Z0, message.Z1, halo,
            options.Value.WindowBudgetBytes, SegmentationSettings.SurveyBytesPerVoxel, ct))
        {
            parts.Add(CarbonFibreSurvey.Survey(window.Data, window.Slab, window.Tile, message.Thresholds, message.ClassMeans,
                SegmentationSettings.HistogramBins, SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax, sigma));
            var windowRuns = ShineThroughEstimate.CountRuns(window.Data, window.Slab, window.Tile, message.ClassMeans);
            for (var i = 0; i < runs.Length; i++) runs[i] += windowRuns[i];
        }
        var counts = FibreSurveyCounts.Merge(parts);
        await context.Publish(new ChunkSurveyed(message.JobId, message.ChunkIndex, counts.TubeHistogram, counts.ElectrolyteCoreHistogram)
        {
            ShineThroughRuns = runs,
        });
    }
}
