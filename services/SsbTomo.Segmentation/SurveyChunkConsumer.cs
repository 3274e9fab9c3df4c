using MassTransit;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Surveys one slab of denoised.zarr (read with the halo the tube filter needs) for carbon fibre cores and reports
/// the counts, so the orchestrator can check the grey-level fit's carbon class once for the whole stack.
/// </summary>
public sealed class SurveyChunkConsumer(IBlobStore store) : IConsumer<SurveyChunk>
{
    public Task Consume(ConsumeContext<SurveyChunk> context) =>
        StageRunner.RunAsync(context, "segmentation", () => SurveyAsync(context));

    private async Task SurveyAsync(ConsumeContext<SurveyChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var denoised = await OmeZarr.OpenLevelAsync<ushort>(store, layout.Denoised, 0, ct);
        var (depth, height, width) = (denoised.Shape[0], denoised.Shape[1], denoised.Shape[2]);
        var sigma = CarbonFibreSurvey.TubeSigmaVoxels(await OmeZarr.ReadVoxelSizeAsync(store, layout.Denoised, ct));

        var window = Halo.Expand(depth, message.Z0, message.Z1, CarbonFibreSurvey.RequiredHaloSlices(sigma));
        var slab = await denoised.ReadRegionAsync(window.SlabZ0, window.SlabZ1, 0, height, 0, width, ct);
        var counts = CarbonFibreSurvey.Survey(slab, window, message.Thresholds, message.ClassMeans,
            SegmentationSettings.HistogramBins, SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax, sigma);
        await context.Publish(new ChunkSurveyed(message.JobId, message.ChunkIndex, counts.TubeHistogram, counts.ElectrolyteCoreHistogram));
    }
}
