using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Surveys one slab of denoised.zarr, tile by tile (each read with the halo the tube filter and the pore runs need), for
/// carbon fibre cores, for pore runs along z and for the grey-level steps between neighbouring columns, and reports the counts, so the
/// orchestrator can check the grey-level fit's carbon class and estimate the shine-through and the standing curtain
/// stripes once for the whole stack.
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
        var curtainSteps = ColumnStepSums.Empty(denoised.Width);
        var halo = Math.Max(Math.Max(CarbonFibreSurvey.RequiredHaloSlices(sigma), ShineThroughEstimate.RequiredHaloSlices), StandingCurtains.RequiredHaloPixels);
        var windowSlices = Halo.Expand(denoised.Depth, message.Z0, message.Z1, halo).SlabSlices;
        var sliceStride = CarbonFibreSurvey.SliceStrideFor(denoised.Depth, denoised.Height, denoised.Width);
        var surveyed = CarbonFibreSurvey.SurveyedSlices(message.Z0, message.Z1, sliceStride);
        // Tiles of whole curtain-step blocks as well as whole chunks, so every block's median sees all its rows.
        var smallestRead = SlabTilePlan.SmallestReadPixels(denoised.Level0, halo, StandingCurtains.RowBlock);
        var budget = options.Value.WindowBudgetBytes;
        var parallelism = SegmentationSettings.SurveyParallelism(budget, windowSlices, surveyed, smallestRead, Environment.ProcessorCount);
        await foreach (var window in denoised.WindowsAsync(message.Z0, message.Z1, halo, budget,
            SegmentationSettings.SurveyBytesPerVoxel(windowSlices, surveyed, parallelism), ct, rowMultiple: StandingCurtains.RowBlock, reuseArrays: true))
        {
            parts.Add(CarbonFibreSurvey.Survey(window.Data, window.Slab, window.Tile, message.Thresholds, message.ClassMeans,
                SegmentationSettings.HistogramBins, SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax, sigma, parallelism, sliceStride));
            var windowRuns = ShineThroughEstimate.CountRuns(window.Data, window.Slab, window.Tile, message.ClassMeans);
            for (var i = 0; i < runs.Length; i++) runs[i] += windowRuns[i];
            curtainSteps.Add(StandingCurtains.Measure(window.Data, window.Slab, window.Tile, denoised.Height, denoised.Width, StandingCurtains.RowBlock, parallelism));
        }
        var counts = FibreSurveyCounts.Merge(parts);
        await context.Publish(new ChunkSurveyed(message.JobId, message.ChunkIndex, counts.TubeHistogram, counts.ElectrolyteCoreHistogram)
        {
            ShineThroughRuns = runs,
            CurtainStepsKept = curtainSteps.Kept,
            CurtainStepSums = curtainSteps.Sums,
        });
    }
}
