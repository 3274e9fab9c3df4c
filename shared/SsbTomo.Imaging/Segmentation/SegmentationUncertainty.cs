namespace SsbTomo.Imaging.Segmentation;

/// <summary>Where threshold k between classes k and k+1 could plausibly lie: [Low, High] around the chosen Threshold.</summary>
public readonly record struct ThresholdRange(double Low, double Threshold, double High);

/// <summary>
/// How much neighbouring classes k = Darker and k+1 overlap: the share of each class's (model-expected) voxels whose
/// grey level lies inside the plausible range of the threshold between them, i.e. where the model gives the other
/// class at least <see cref="SegmentationUncertainty.AmbiguityLevel"/> of the pair's probability.
/// </summary>
public readonly record struct PairOverlap(int Darker, double DarkerAmbiguousShare, double BrighterAmbiguousShare)
{
    public double Largest => Math.Max(DarkerAmbiguousShare, BrighterAmbiguousShare);
}

/// <summary>What the fitted mixture says about how trustworthy a hard-threshold segmentation of its histogram is (classes dark to bright).</summary>
public sealed record SegmentationUncertaintyResult(
    ThresholdRange[] ThresholdRanges,
    double[] HardFractions,
    double[] ExpectedFractions,
    (double Low, double High)[] FractionIntervals,
    PairOverlap[] Overlaps);

/// <summary>A segmentation variant: the thresholds with one class's band shrunk or grown to the ends of the plausible ranges.</summary>
public sealed record ThresholdVariant(string Name, double[] Thresholds);

/// <summary>
/// Segmentation uncertainty from a fitted <see cref="PartialVolumeMixture"/> (classes dark to bright).
/// <para>
/// Posterior of a class at a grey level x: its Gaussian plus, of every partial-volume term it takes part in, the half
/// of the term's noise-free range nearer its mean (the split <see cref="PartialVolumeMixture.BoundaryWithMixels"/> uses:
/// a mixel belongs to the phase that fills more than half of it), over the whole mixture density. The posterior-expected
/// fraction of a class is the histogram-weighted mean of its posterior (the soft count of the mixture-model literature,
/// e.g. Santago &amp; Gage 1993, IEEE TMI 12:566, DOI 10.1109/42.241885).
/// </para>
/// <para>
/// Plausible range of threshold k: the grey levels between the two class means where neither of the two classes is more
/// than (1 − L)/L times as likely as the other, L = <see cref="AmbiguityLevel"/> (with the scores of
/// BoundaryWithMixels, so the chosen threshold is where the odds are even). Moving a threshold anywhere in that range
/// is a segmentation the model cannot reject at 3:1 odds; the fraction interval of a class spans the hard fraction with its
/// band shrunk (both thresholds moved inwards) and grown (both outwards) and the posterior-expected fraction: a
/// threshold-sensitivity interval, not a confidence interval of a sampling distribution. Ranges are clamped to the class means, so the variants' thresholds
/// stay ascending.
/// </para>
/// </summary>
public static class SegmentationUncertainty
{
    /// <summary>Pairwise posterior of the less likely class that still counts as plausible (odds 3:1).</summary>
    public const double AmbiguityLevel = 0.25;

    /// <summary>Pair overlap (<see cref="PairOverlap.Largest"/>) above which a fraction is flagged as not trustworthy.</summary>
    public const double WarnAmbiguousShare = 0.15;

    public static SegmentationUncertaintyResult Analyse(long[] histogram, double min, double max, MixtureFit fit, double[] thresholds)
    {
        var classes = fit.Means.Length;
        if (thresholds.Length != classes - 1)
            throw new ArgumentException($"{classes} classes need {classes - 1} thresholds, got {thresholds.Length}", nameof(thresholds));
        var bins = histogram.Length;
        var centres = new double[bins];
        for (var i = 0; i < bins; i++) centres[i] = Histogram.Centre(i, bins, min, max);
        double total = histogram.Sum();
        if (!(total > 0)) throw new ArgumentException("histogram is empty", nameof(histogram));

        var ranges = new ThresholdRange[classes - 1];
        for (var k = 0; k < classes - 1; k++) ranges[k] = PlausibleRange(fit, k, thresholds[k]);

        var expected = new double[classes];
        var posterior = new double[classes];
        var expectedInRange = new double[classes - 1, 2];
        for (var i = 0; i < bins; i++)
        {
            if (histogram[i] == 0) continue;
            Posteriors(fit, centres[i], posterior);
            for (var c = 0; c < classes; c++) expected[c] += histogram[i] * posterior[c];
            for (var k = 0; k < classes - 1; k++)
                if (centres[i] >= ranges[k].Low && centres[i] < ranges[k].High)
                {
                    expectedInRange[k, 0] += histogram[i] * posterior[k];
                    expectedInRange[k, 1] += histogram[i] * posterior[k + 1];
                }
        }
        var overlaps = new PairOverlap[classes - 1];
        for (var k = 0; k < classes - 1; k++)
            overlaps[k] = new PairOverlap(k,
                expected[k] > 0 ? expectedInRange[k, 0] / expected[k] : 0,
                expected[k + 1] > 0 ? expectedInRange[k, 1] / expected[k + 1] : 0);

        var hard = HardFractions(histogram, centres, total, thresholds);
        var expectedFractions = Array.ConvertAll(expected, e => e / total);
        // The hard fraction cannot give the edge voxels of non-neighbouring classes (a pore's rim in the electrolyte, grey
        // like carbon) back to their phases; only the soft count sees them, so the interval spans it too.
        var intervals = hard.Select((f, c) => (Low: Math.Min(f, expectedFractions[c]), High: Math.Max(f, expectedFractions[c]))).ToArray();
        foreach (var variant in Variants(ranges))
        {
            var fractions = HardFractions(histogram, centres, total, variant.Thresholds);
            for (var c = 0; c < classes; c++)
                intervals[c] = (Math.Min(intervals[c].Low, fractions[c]), Math.Max(intervals[c].High, fractions[c]));
        }
        return new SegmentationUncertaintyResult(ranges, hard, expectedFractions, intervals, overlaps);
    }

    /// <summary>
    /// Per class (dark to bright) the thresholds with its band shrunk and grown to the ends of the plausible ranges:
    /// "k-" moves threshold k−1 up and k down, "k+" the reverse. The darkest and brightest classes have one
    /// threshold each.
    /// </summary>
    public static IReadOnlyList<ThresholdVariant> Variants(ThresholdRange[] ranges)
    {
        var classes = ranges.Length + 1;
        var variants = new List<ThresholdVariant>();
        foreach (var grow in new[] { false, true })
            for (var c = 0; c < classes; c++)
            {
                var t = Array.ConvertAll(ranges, r => r.Threshold);
                if (c > 0) t[c - 1] = grow ? ranges[c - 1].Low : ranges[c - 1].High;
                if (c < classes - 1) t[c] = grow ? ranges[c].High : ranges[c].Low;
                // Ranges lie between the class means and thresholds between them too, so this only guards rounding.
                for (var k = 1; k < t.Length; k++) t[k] = Math.Max(t[k], t[k - 1]);
                variants.Add(new ThresholdVariant($"{c}{(grow ? '+' : '-')}", t));
            }
        return variants;
    }

    /// <summary>Posterior of each class at grey level <paramref name="x"/> into <paramref name="posterior"/> (sums to 1 where the model has density).</summary>
    public static void Posteriors(MixtureFit fit, double x, double[] posterior)
    {
        var classes = fit.Means.Length;
        var sum = 0.0;
        for (var c = 0; c < classes; c++)
        {
            posterior[c] = fit.Weights[c] * PartialVolumeMixture.Gaussian(x, fit.Means[c], fit.StandardDeviations[c]);
            sum += posterior[c];
        }
        for (var p = 0; p < fit.PartialVolumePairs.Length; p++)
        {
            var (a, b) = fit.PartialVolumePairs[p];
            var mid = 0.5 * (fit.Means[a] + fit.Means[b]);
            var w = fit.PartialVolumeWeights[p];
            var toA = w * PartialVolumeMixture.Mixel(x, fit.Means, fit.StandardDeviations, a, b, fit.Means[a], mid);
            var toB = w * PartialVolumeMixture.Mixel(x, fit.Means, fit.StandardDeviations, a, b, mid, fit.Means[b]);
            posterior[a] += toA;
            posterior[b] += toB;
            sum += toA + toB;
        }
        if (!(sum > 0))
        {
            // Far in a tail every density underflows: the nearest mean takes it, as the Gaussians' ratio would say.
            var nearest = 0;
            for (var c = 1; c < classes; c++)
                if (Math.Abs(x - fit.Means[c]) < Math.Abs(x - fit.Means[nearest])) nearest = c;
            Array.Clear(posterior);
            posterior[nearest] = 1;
            return;
        }
        for (var c = 0; c < classes; c++) posterior[c] /= sum;
    }

    /// <summary>
    /// Plausible range of threshold k: where ln(S_k/S_{k+1}) = ±ln((1−L)/L), S the scores of
    /// <see cref="PartialVolumeMixture.BoundaryWithMixels"/>, found by bisection between the threshold and each class
    /// mean; a side whose odds never reach the level ends at the mean.
    /// </summary>
    public static ThresholdRange PlausibleRange(MixtureFit fit, int k, double threshold)
    {
        double m0 = fit.Means[k], m1 = fit.Means[k + 1];
        var t = Math.Clamp(threshold, Math.Min(m0, m1), Math.Max(m0, m1));
        if (!(m1 > m0)) return new ThresholdRange(t, threshold, t);
        var logOdds = Math.Log((1 - AmbiguityLevel) / AmbiguityLevel);
        double LogRatio(double x) => Math.Log(PairScore(fit, k, k, x)) - Math.Log(PairScore(fit, k, k + 1, x));
        var low = Crossing(x => LogRatio(x) - logOdds, m0, t);
        var high = Crossing(x => LogRatio(x) + logOdds, t, m1);
        return new ThresholdRange(Math.Min(low, threshold), threshold, Math.Max(high, threshold));
    }

    /// <summary>
    /// One warning sentence per neighbouring pair whose overlap exceeds <see cref="WarnAmbiguousShare"/>, naming the
    /// class of the pair with the smaller fraction (its relative uncertainty is the larger) and its interval.
    /// </summary>
    public static IReadOnlyList<string> Warnings(
        PairOverlap[] overlaps, string[] namesDarkToBright, double[] fractions, (double Low, double High)[] fractionIntervals)
    {
        var warnings = new List<string>();
        foreach (var o in overlaps)
        {
            if (!(o.Largest > WarnAmbiguousShare)) continue;
            int a = o.Darker, b = o.Darker + 1;
            var weak = fractions[a] <= fractions[b] ? a : b;
            var share = weak == a ? o.DarkerAmbiguousShare : o.BrighterAmbiguousShare;
            warnings.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{namesDarkToBright[a]} and {namesDarkToBright[b]} grey levels overlap strongly " +
                $"({100 * share:0} % of the {namesDarkToBright[weak]} voxels could as well be {namesDarkToBright[weak == a ? b : a]}): " +
                $"the {namesDarkToBright[weak]} fraction is uncertain ({100 * fractionIntervals[weak].Low:0.0}–{100 * fractionIntervals[weak].High:0.0} %)."));
        }
        return warnings;
    }

    /// <summary>Score of class c in the pair (k, k+1) as BoundaryWithMixels weighs it: its Gaussian plus its half of their shared edge term.</summary>
    private static double PairScore(MixtureFit fit, int k, int c, double x)
    {
        var v = fit.Weights[c] * PartialVolumeMixture.Gaussian(x, fit.Means[c], fit.StandardDeviations[c]);
        for (var p = 0; p < fit.PartialVolumePairs.Length; p++)
        {
            var (a, b) = fit.PartialVolumePairs[p];
            if (a != k || b != k + 1) continue;
            var mid = 0.5 * (fit.Means[a] + fit.Means[b]);
            v += fit.PartialVolumeWeights[p] * (c == a
                ? PartialVolumeMixture.Mixel(x, fit.Means, fit.StandardDeviations, a, b, fit.Means[a], mid)
                : PartialVolumeMixture.Mixel(x, fit.Means, fit.StandardDeviations, a, b, mid, fit.Means[b]));
        }
        return Math.Max(v, double.Epsilon);
    }

    /// <summary>Zero of a decreasing <paramref name="f"/> in [lo, hi] by bisection; the nearer end when f does not change sign.</summary>
    private static double Crossing(Func<double, double> f, double lo, double hi)
    {
        if (!(f(lo) > 0)) return lo;
        if (!(f(hi) < 0)) return hi;
        for (var i = 0; i < 200 && hi - lo > 1e-9 * Math.Max(1, Math.Abs(hi)); i++)
        {
            var mid = 0.5 * (lo + hi);
            if (f(mid) > 0) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);
    }

    /// <summary>Share of the counts per class with bins assigned by their centre (value ≥ threshold goes up, as <see cref="PhaseClassifier"/>).</summary>
    private static double[] HardFractions(long[] histogram, double[] centres, double total, double[] thresholds)
    {
        var fractions = new double[thresholds.Length + 1];
        for (var i = 0; i < histogram.Length; i++)
        {
            var cls = 0;
            while (cls < thresholds.Length && centres[i] >= thresholds[cls]) cls++;
            fractions[cls] += histogram[i] / total;
        }
        return fractions;
    }
}
