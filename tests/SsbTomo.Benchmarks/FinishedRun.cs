using System.Text.Json;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// A finished `ssbtomo run` of a phantom, as the studies re-segment it: its denoised volume (as grey levels, as
/// intensities less the standing curtains as the segmentation stage classifies them, and as the stack histogram the
/// orchestrator fits), the phantom's truth over the run's aligned crop, and the
/// voxel size the run measured with (metrics.json; the fibre survey's tube σ depends on it).
/// </summary>
internal sealed record FinishedRun(Volume<ushort> Denoised, Volume<float> Intensity, long[] Histogram, Volume<byte> Truth, VoxelSize VoxelSize)
{
    /// <summary>The fibre survey's tube σ at the run's voxel size, as the segmentation stage takes it.</summary>
    public double TubeSigmaVoxels => CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize);

    public static async Task<FinishedRun> LoadAsync(string phantomDir, string runDir)
    {
        using var alignment = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDir, "alignment.json")));
        var crop = alignment.RootElement.GetProperty("crop_yx").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        // SSBTOMO_STUDY_DENOISE re-denoises the run's aligned volume with another filter (DenoiseVariants).
        var variant = Environment.GetEnvironmentVariable("SSBTOMO_STUDY_DENOISE");
        var denoisedArray = await OmeZarr.OpenLevelAsync<ushort>(new FileSystemBlobStore(runDir), string.IsNullOrEmpty(variant) ? "denoised.zarr" : "aligned.zarr", 0);
        var denoised = await denoisedArray.ReadRegionAsync(0, denoisedArray.Shape[0], 0, denoisedArray.Shape[1], 0, denoisedArray.Shape[2]);
        if (!string.IsNullOrEmpty(variant)) denoised = DenoiseVariants.Apply(denoised, variant);
        var truthArray = await OmeZarr.OpenLevelAsync<byte>(new FileSystemBlobStore(phantomDir), "truth_labels", 0);
        var truth = await truthArray.ReadRegionAsync(0, truthArray.Shape[0], crop[0], crop[1], crop[2], crop[3]);
        var intensity = new Volume<float>(denoised.Depth, denoised.Height, denoised.Width, Array.ConvertAll(denoised.Data, v => (float)v));
        // As the segmentation stage classifies it: less the standing curtains the survey round measures on the same grey
        // levels (SSBTOMO_STUDY_CURTAINS=off: as segmented before that correction).
        if (Environment.GetEnvironmentVariable("SSBTOMO_STUDY_CURTAINS") != "off"
            && StandingCurtains.Offsets(StandingCurtains.Measure(denoised, new SlabWindow(0, denoised.Depth, 0, denoised.Depth),
                TileWindow.Whole(denoised.Height, denoised.Width), denoised.Height, denoised.Width, StandingCurtains.RowBlock)) is { } offsets)
            StandingCurtains.Subtract(intensity, 0, offsets);
        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDir, "metrics.json")));
        var nm = metrics.RootElement.GetProperty("voxel_size_nm").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        return new FinishedRun(denoised, intensity, Imaging.Segmentation.Histogram.Compute(denoised, 1024, 0, 65536), truth, new VoxelSize(nm[0], nm[1], nm[2]));
    }

    /// <summary>
    /// The stack-level decisions the run's segmentation took, made again as the pipeline makes them: the mixture fit of
    /// the stack histogram, the fibre survey and the carbon decision on it, and the shine-through estimate (counted with
    /// the fit's class means, as the survey round counts them before the carbon decision exists). The studies re-segment
    /// with these; null when the histogram yields no thresholds.
    /// </summary>
    public PipelineDecisions? Decide(double tubeSigmaVoxels)
    {
        var fit = PhaseThresholds.FromHistogram(Histogram, 4, 0, 65536);
        return fit is null ? null : DecideFrom(fit, tubeSigmaVoxels);
    }

    /// <summary>As <see cref="Decide"/>, from another fit of the stack histogram than the pipeline's.</summary>
    public PipelineDecisions DecideFrom(PhaseThresholdSet fit, double tubeSigmaVoxels)
    {
        var window = new SlabWindow(0, Denoised.Depth, 0, Denoised.Depth);
        var survey = CarbonFibreSurvey.Survey(Denoised, window, TileWindow.Whole(Denoised.Height, Denoised.Width), fit.Thresholds, fit.ClassMeans, 1024, 0, 65536,
            tubeSigmaVoxels, sliceStride: CarbonFibreSurvey.SliceStrideFor(Denoised.Depth, Denoised.Height, Denoised.Width));
        var carbon = CarbonLevel.Decide(survey, fit.Thresholds, fit.ClassMeans, 1024, 0, 65536);
        var shine = ShineThroughEstimate.Estimate(ShineThroughEstimate.CountRuns(Denoised, window,
            TileWindow.Whole(Denoised.Height, Denoised.Width), fit.ClassMeans));
        return new PipelineDecisions(fit, survey, carbon, shine);
    }
}

/// <summary>What <see cref="FinishedRun.Decide"/> returns: the fit, the fibre survey, the carbon decision (its thresholds and class means are the ones the labels use) and the shine-through estimate.</summary>
internal sealed record PipelineDecisions(PhaseThresholdSet Fit, FibreSurveyCounts Survey, CarbonLevelDecision Carbon, ShineThroughExcess Shine);
