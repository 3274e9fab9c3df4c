using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Whether the fibre survey's carbon decision holds when fewer slices are surveyed (<see cref="CarbonFibreSurvey.TargetSurveyedPixels"/>
/// is a cost tuning, not physics): each finished run's denoised volume surveyed at the minimum stride and at sparser ones,
/// the carbon decision (<see cref="CarbonLevel.Decide(FibreSurveyCounts, double[], double[], int, double, double)"/>) made on each, and the fibre-core
/// level's move printed as a share of the void-to-electrolyte contrast beside whether the fit's carbon mean is replaced.
/// On the family's small stacks a stride of 16 surveys ~0.2 Mpixel, hundreds of times fewer than a large stack's 64 Mpixel:
/// where the decision holds there, it holds at the target.
/// Usage: `-- survey-stride [--strides 4,8,16] PHANTOM_DIR RUN_DIR [...]` (DIRs as `-- sweep --keep` leaves them).
/// </summary>
internal static class SurveyStrideStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        int[] strides = [CarbonFibreSurvey.MinimumSliceStride, 8, 16];
        if (args.Length >= 2 && args[0] == "--strides")
        {
            strides = args[1].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            args = args[2..];
        }
        if (args.Length == 0 || args.Length % 2 != 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks survey-stride [--strides 4,8,16] PHANTOM_DIR RUN_DIR [...]");
            return 2;
        }
        var worst = new double[strides.Length];
        var flips = new int[strides.Length];
        for (var i = 0; i < args.Length; i += 2)
        {
            var run = await FinishedRun.LoadAsync(args[i], args[i + 1]);
            var fit = PhaseThresholds.FromHistogram(run.Histogram, 4, 0, 65536);
            if (fit is null) continue;
            var contrast = fit.ClassMeans[2] - fit.ClassMeans[0];
            var window = new SlabWindow(0, run.Denoised.Depth, 0, run.Denoised.Depth);
            var tile = TileWindow.Whole(run.Denoised.Height, run.Denoised.Width);
            CarbonLevelDecision? first = null;
            var line = $"{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(args[i + 1])))}:";
            for (var s = 0; s < strides.Length; s++)
            {
                var survey = CarbonFibreSurvey.Survey(run.Denoised, window, tile, fit.Thresholds, fit.ClassMeans, 1024, 0, 65536, run.TubeSigmaVoxels,
                    sliceStride: strides[s]);
                var decision = CarbonLevel.Decide(survey, fit.Thresholds, fit.ClassMeans, 1024, 0, 65536);
                first ??= decision;
                var move = Math.Abs(decision.FibreCoreLevel - first.FibreCoreLevel) / contrast;
                if (!double.IsNaN(move)) worst[s] = Math.Max(worst[s], move);
                if (decision.Replaced != first.Replaced) flips[s]++;
                var pixels = (long)CarbonFibreSurvey.SurveyedSlices(0, run.Denoised.Depth, strides[s]) * run.Denoised.Height * run.Denoised.Width;
                line += FormattableString.Invariant($"  stride {strides[s]} ({pixels / 1e6:0.00} Mpixel): {decision.FibreCoreVoxels} cores, level {decision.FibreCoreLevel:0}")
                    + FormattableString.Invariant($" ({move:+0.0000;-0.0000;0} of contrast), replaced {decision.Replaced}");
            }
            Console.WriteLine(line);
        }
        for (var s = 0; s < strides.Length; s++)
            Console.WriteLine(FormattableString.Invariant($"stride {strides[s]}: largest level move {worst[s]:0.0000} of the contrast, replacement decision changed on {flips[s]} runs"));
        return 0;
    }
}
