using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Benchmarks;

/// <summary>
/// How far the uncertainty intervals counted on sampled blocks (<see cref="VariantBlockSample"/>, forced on however small
/// the stack) lie from those counted on every voxel, on finished runs: per run the largest difference of an interval end
/// over the four phase fractions and the contact loss, in percentage points. Usage: `-- variant-sample [--every N]
/// [--block SLICES,ROWS,COLUMNS] PHANTOM_DIR RUN_DIR [...]`; without --every, the N the pipeline would take for
/// <see cref="VariantBlockSample.TargetSampledVoxels"/> / 4 counted (the finished runs are small), at least 2.
/// `--spread K` instead counts the pipeline's sample (<see cref="VariantBlockSample.For"/>, or --every) shifted to K offsets,
/// against the run's own labels, without the every-voxel count (for stacks too large for it): the spread of the interval
/// ends over the offsets is the sample's own error.
/// </summary>
internal static class VariantSampleStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        int? every = null;
        var spread = 0;
        int[] block = [VariantBlockSample.DefaultBlockSlices, VariantBlockSample.DefaultBlockRows, VariantBlockSample.DefaultBlockColumns];
        while (args.Length >= 2 && args[0].StartsWith("--", StringComparison.Ordinal))
        {
            if (args[0] == "--every") every = int.Parse(args[1], CultureInfo.InvariantCulture);
            else if (args[0] == "--spread") spread = int.Parse(args[1], CultureInfo.InvariantCulture);
            else if (args[0] == "--block") block = args[1].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            else break;
            args = args[2..];
        }
        if (args.Length == 0 || args.Length % 2 != 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks variant-sample [--every N] [--block SLICES,ROWS,COLUMNS] PHANTOM_DIR RUN_DIR [...]");
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
            if (spread > 0)
            {
                await SpreadAsync(run, args[i + 1], name, variants, thresholds, means, shine, sigma, every, spread);
                continue;
            }
            var reported = PhaseSegmentation.Segment(run.Intensity, thresholds, means, shine, sigma);
            var (wholeCounts, wholeContact) = (PhaseFractions.Count(reported), ContactLoss.Count(reported));
            var slab = new SlabWindow(0, run.Intensity.Depth, 0, run.Intensity.Depth);
            var tile = TileWindow.Whole(run.Intensity.Height, run.Intensity.Width);
            var everyRow = new SegmentationVariantAccumulator(variants, means, shine, sigma);
            everyRow.Add(run.Intensity, slab, tile);
            var (depth, height, width) = (run.Intensity.Depth, run.Intensity.Height, run.Intensity.Width);
            // The pipeline's rule for a quarter of its target (the finished runs are small), at least one block in two.
            var runEvery = every ?? Math.Max(2, VariantBlockSample.For(depth, height, width, VariantBlockSample.TargetSampledVoxels / 4, 0).Every);
            var sample = new VariantBlockSample(runEvery, height, width, block[0], block[1], block[2]);
            var sampled = new SegmentationVariantAccumulator(variants, means, shine, sigma, sample, thresholds);
            sampled.Add(run.Intensity, slab, tile);
            var (full, estimate) = (Intervals(everyRow.Result(), wholeCounts, wholeContact), Intervals(VariantBlockSample.Estimate(sampled.Result(), wholeCounts, wholeContact), wholeCounts, wholeContact));
            var differences = full.Zip(estimate, (a, b) => Math.Max(Math.Abs(a.Low - b.Low), Math.Abs(a.High - b.High))).ToArray();
            worst.Add(differences.Max());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-18} every {runEvery} ({100 * sample.VoxelShare(depth):0.0} % counted) largest interval-end difference {differences.Max():0.000} pp (void {differences[0]:0.000}, carbon {differences[1]:0.000}, lps {differences[2]:0.000}, nmc {differences[3]:0.000}, contact {differences[4]:0.000}); void interval {full[0].Low:0.00}-{full[0].High:0.00} vs {estimate[0].Low:0.00}-{estimate[0].High:0.00} %"));
        }
        if (worst.Count > 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{worst.Count} runs, blocks {string.Join('x', block)}, every {(every is { } e ? e.ToString(CultureInfo.InvariantCulture) : "as the pipeline for a quarter of the target")}: median {worst.Order().ElementAt(worst.Count / 2):0.000} pp, worst {worst.Max():0.000} pp"));
        return 0;
    }

    /// <summary>The interval ends from the sample shifted to each of <paramref name="offsets"/> offsets, against the run's labels.</summary>
    private static async Task SpreadAsync(FinishedRun run, string runDir, string name, IReadOnlyList<ThresholdVariant> variants, double[] thresholds,
        double[] means, double shine, double sigma, int? every, int offsets)
    {
        var labelsArray = await Storage.OmeZarr.OpenLevelAsync<byte>(new Storage.FileSystemBlobStore(Path.Combine(runDir, "aligned.zarr")), "labels/phases", 0);
        var labels = await labelsArray.ReadRegionAsync(0, labelsArray.Shape[0], 0, labelsArray.Shape[1], 0, labelsArray.Shape[2]);
        var (wholeCounts, wholeContact) = (PhaseFractions.Count(labels), ContactLoss.Count(labels));
        var (depth, height, width) = (run.Intensity.Depth, run.Intensity.Height, run.Intensity.Width);
        var pipeline = VariantBlockSample.For(depth, height, width);
        var sampleEvery = every ?? pipeline.Every;
        var slab = new SlabWindow(0, depth, 0, depth);
        var tile = TileWindow.Whole(height, width);
        var ends = new List<(double Low, double High)[]>();
        for (var k = 0; k < offsets; k++)
        {
            var sample = new VariantBlockSample(sampleEvery, height, width, Offset: k * sampleEvery / offsets);
            var sampled = new SegmentationVariantAccumulator(variants, means, shine, sigma, sample, thresholds);
            sampled.Add(run.Intensity, slab, tile);
            var intervals = Intervals(VariantBlockSample.Estimate(sampled.Result(), wholeCounts, wholeContact), wholeCounts, wholeContact);
            ends.Add(intervals);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} one block in {sampleEvery}, offset {sample.Offset} ({100 * sample.VoxelShare(depth):0.00} % counted): void {intervals[0].Low:0.000}-{intervals[0].High:0.000}, carbon {intervals[1].Low:0.000}-{intervals[1].High:0.000}, lps {intervals[2].Low:0.000}-{intervals[2].High:0.000}, nmc {intervals[3].Low:0.000}-{intervals[3].High:0.000}, contact loss {intervals[4].Low:0.000}-{intervals[4].High:0.000} %"));
        }
        string[] names = ["void", "carbon", "lps", "nmc", "contact loss"];
        Console.WriteLine(string.Join("; ", names.Select((n, p) => string.Create(CultureInfo.InvariantCulture,
            $"{n} ends spread {ends.Max(e => e[p].Low) - ends.Min(e => e[p].Low):0.000} / {ends.Max(e => e[p].High) - ends.Min(e => e[p].High):0.000} pp"))));
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
