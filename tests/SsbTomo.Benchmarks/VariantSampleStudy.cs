using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Benchmarks;

/// <summary>
/// How far the uncertainty intervals counted on sampled rows (<see cref="VariantRowSample"/>, forced on however small the
/// stack) lie from those counted on every row, on finished runs: per run the largest difference of an interval end over
/// the four phase fractions and the contact loss, in percentage points. Usage: `-- variant-sample [--every 4] [--band 64]
/// PHANTOM_DIR RUN_DIR [...]`.
/// </summary>
internal static class VariantSampleStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        var (every, band) = (VariantRowSample.DefaultEvery, VariantRowSample.DefaultBandRows);
        while (args.Length >= 2 && args[0].StartsWith("--", StringComparison.Ordinal))
        {
            if (args[0] == "--every") every = int.Parse(args[1], CultureInfo.InvariantCulture);
            else if (args[0] == "--band") band = int.Parse(args[1], CultureInfo.InvariantCulture);
            else break;
            args = args[2..];
        }
        if (args.Length == 0 || args.Length % 2 != 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks variant-sample [--every N] [--band ROWS] PHANTOM_DIR RUN_DIR [...]");
            return 2;
        }
        var sigma = CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(50)); // the family phantoms are 50 nm
        var worst = new List<double>();
        for (var i = 0; i < args.Length; i += 2)
        {
            var run = await FinishedRun.LoadAsync(args[i], args[i + 1]);
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetDirectoryName(Path.GetFullPath(args[i]))!));
            if (run.Decide(sigma) is not { Fit.Fit: { } fit } decided) { Console.WriteLine($"{name}: no mixture fit"); continue; }
            var (thresholds, means, shine) = (decided.Carbon.Thresholds, decided.Carbon.ClassMeans, decided.Shine.Correction);
            var ranges = SegmentationUncertainty.Analyse(run.Histogram, 0, 65536, fit, decided.Fit.Thresholds).ThresholdRanges
                .Select((r, k) => new ThresholdRange(Math.Min(r.Low, thresholds[k]), thresholds[k], Math.Max(r.High, thresholds[k]))).ToArray();
            var variants = SegmentationUncertainty.Variants(ranges);
            var reported = PhaseSegmentation.Segment(run.Intensity, thresholds, means, shine, sigma);
            var (wholeCounts, wholeContact) = (PhaseFractions.Count(reported), ContactLoss.Count(reported));
            var slab = new SlabWindow(0, run.Intensity.Depth, 0, run.Intensity.Depth);
            var tile = TileWindow.Whole(run.Intensity.Height, run.Intensity.Width);
            var everyRow = new SegmentationVariantAccumulator(variants, means, shine, sigma);
            everyRow.Add(run.Intensity, slab, tile);
            var sampled = new SegmentationVariantAccumulator(variants, means, shine, sigma, new VariantRowSample(band, every), thresholds);
            sampled.Add(run.Intensity, slab, tile);
            var (full, estimate) = (Intervals(everyRow.Result(), wholeCounts, wholeContact), Intervals(VariantRowSample.Estimate(sampled.Result(), wholeCounts, wholeContact), wholeCounts, wholeContact));
            var differences = full.Zip(estimate, (a, b) => Math.Max(Math.Abs(a.Low - b.Low), Math.Abs(a.High - b.High))).ToArray();
            worst.Add(differences.Max());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-18} largest interval-end difference {differences.Max():0.000} pp (void {differences[0]:0.000}, carbon {differences[1]:0.000}, lps {differences[2]:0.000}, nmc {differences[3]:0.000}, contact {differences[4]:0.000}); void interval {full[0].Low:0.00}-{full[0].High:0.00} vs {estimate[0].Low:0.00}-{estimate[0].High:0.00} %"));
        }
        if (worst.Count > 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{worst.Count} runs, band {band} rows, every {every}: median {worst.Order().ElementAt(worst.Count / 2):0.000} pp, worst {worst.Max():0.000} pp"));
        return 0;
    }

    /// <summary>Void, carbon, LPS, NMC fraction and contact loss intervals (%) over the variants and the reported segmentation.</summary>
    private static (double Low, double High)[] Intervals(IReadOnlyList<VariantTally> variants, long[] reportedCounts, ContactFaces reportedContact)
    {
        var reported = PhaseFractions.FromCounts(reportedCounts);
        var sets = variants.Select(v => (Fractions: v.Fractions, v.Contact.LossFraction)).Append((Fractions: reported, reportedContact.LossFraction)).ToArray();
        Func<PhaseFractionSet, double>[] phases = [f => f.Void, f => f.Carbon, f => f.Lps, f => f.Nmc];
        var intervals = phases.Select(p => (100 * sets.Min(s => p(s.Fractions)), 100 * sets.Max(s => p(s.Fractions)))).ToList();
        intervals.Add((100 * sets.Min(s => s.LossFraction), 100 * sets.Max(s => s.LossFraction)));
        return [.. intervals];
    }
}
