using System.Globalization;
using System.Text.Json;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// How the stack-wide thresholds alone (no clean-up) segment finished runs: the merged histogram of denoised.zarr,
/// the mixture fit from each start rule, classification, and fractions/Dice against the phantom's truth over the
/// run's crop. A fast loop for threshold rules. Usage: `-- thresholds PHANTOM_DIR RUN_DIR [PHANTOM_DIR RUN_DIR ...]`.
/// </summary>
internal static class ThresholdStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args.Length % 2 != 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks thresholds PHANTOM_DIR RUN_DIR [...]");
            return 2;
        }
        for (var i = 0; i < args.Length; i += 2)
        {
            var (phantomDir, runDir) = (args[i], args[i + 1]);
            var (_, intensity, histogram, truth, _) = await FinishedRun.LoadAsync(phantomDir, runDir);
            var counts = PhaseFractions.Count(truth);
            var truthFractions = PhaseFractions.FromCounts(counts);
            Console.WriteLine($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(phantomDir))}: truth void {truthFractions.Void:P2} carbon {truthFractions.Carbon:P2} lps {truthFractions.Lps:P2} nmc {truthFractions.Nmc:P2}");
            foreach (var (rule, set) in Rules(histogram))
            {
                if (set is null) { Console.WriteLine($"  {rule,-12} no thresholds"); continue; }
                var labels = PhaseClassifier.Classify(intensity, set.Thresholds, PhaseClassifier.BseDarkToBright);
                var agreement = new LabelAgreement();
                agreement.Add(truth, labels);
                var f = PhaseFractions.FromCounts(PhaseFractions.Count(labels));
                string E(double m, double t) => (100 * (m - t)).ToString("+0.00;-0.00", CultureInfo.InvariantCulture);
                Console.WriteLine($"  {rule,-12} void {E(f.Void, truthFractions.Void)} carbon {E(f.Carbon, truthFractions.Carbon)} lps {E(f.Lps, truthFractions.Lps)} nmc {E(f.Nmc, truthFractions.Nmc)} pp; " +
                    $"Dice v {agreement.Dice(PhaseLabel.Void):0.000} c {agreement.Dice(PhaseLabel.Carbon):0.000} l {agreement.Dice(PhaseLabel.Lps):0.000} n {agreement.Dice(PhaseLabel.Nmc):0.000}; " +
                    $"means {string.Join('/', set.ClassMeans.Select(m => m.ToString("0", CultureInfo.InvariantCulture)))}");
            }
        }
        return 0;
    }

    private static IEnumerable<(string Rule, PhaseThresholdSet? Set)> Rules(long[] histogram)
    {
        yield return ("pipeline", PhaseThresholds.FromHistogram(histogram, 4, 0, 65536));
        yield return ("multi-otsu", PhaseThresholds.FromMultiOtsu(histogram, 4, 0, 65536));
        yield return ("start-means", PhaseThresholds.FromStartMeans(histogram, 4, 0, 65536));
    }
}
