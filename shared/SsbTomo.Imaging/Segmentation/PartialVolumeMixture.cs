namespace SsbTomo.Imaging.Segmentation;

/// <summary>A fitted <see cref="PartialVolumeMixture"/>: per class (dark to bright) weight, mean and SD, plus the bulk (two brightest classes) partial-volume term's weight; all edge terms' weights in <see cref="PartialVolumeWeights"/>.</summary>
public sealed record MixtureFit(double[] Weights, double[] Means, double[] StandardDeviations, double PartialVolumeWeight, double LogLikelihood, int Iterations)
{
    /// <summary>The partial-volume terms' class pairs (darker, brighter), as in <see cref="PartialVolumeMixture.Pairs"/>.</summary>
    public (int Dark, int Bright)[] PartialVolumePairs { get; init; } = [];

    /// <summary>Weight of each partial-volume term, in the order of <see cref="PartialVolumePairs"/>.</summary>
    public double[] PartialVolumeWeights { get; init; } = [];
}

/// <summary>
/// Intensity model of a phase-contrast volume for picking thresholds: one Gaussian per phase plus
/// partial-volume ("mixel") terms for blurred edges. The bulk edge is the one between the two brightest phases:
/// in BSE images of composite cathodes those two (active material and electrolyte) fill most of the volume with
/// the largest contrast between them, so their edge voxels form a plateau between the two peaks that a Gaussian
/// mixture without it would cover with a spurious extra phase (multi-Otsu splits it off as a class, which is how
/// it mislabels a whole electrolyte peak). Each darker phase also gets an edge term with the second-brightest
/// phase (the matrix around thin carbon fibres and pores): without it, the electrolyte voxels darkened by blur
/// next to fibres and pores are taken by the carbon Gaussian, which then sits far above the carbon grey level
/// and overestimates carbon at the electrolyte's expense. A term a|b is a uniform density between the two means
/// convolved with a Gaussian of their mean SD: (Φ((x−μ_a)/s) − Φ((x−μ_b)/s)) / (μ_b − μ_a).
/// <para>
/// Two constraints keep the thin phases from collapsing into their edge terms: a thin phase's edge term weighs
/// at most as much as the phase (pooled to equal weights when the EM update violates it), and a thin phase's SD
/// is at most the matrix's (BSE noise grows with the signal; a wider dark Gaussian is one absorbing edge voxels).
/// The boundary between two neighbouring classes counts their shared edge term's half nearer a class as that
/// class (<see cref="BoundaryWithMixels"/>).
/// </para>
/// <para>
/// Fitted by expectation–maximisation on the histogram bins (bin centres weighted by counts), so the fit
/// depends only on the merged histogram and is the same for every chunk. The edge terms' shapes follow the
/// current means and SDs; only their weights are EM parameters (the usual simplification). Start
/// (<see cref="StartMeans"/>): the two brightest classes at the histogram's two dominant peaks, the darkest class in
/// the histogram's dark tail, the classes between spaced evenly up to the matrix peak, so that no phase proportion is
/// built in; equal SDs of 1/8 of the 0.5–99.5 % range, equal weights for the classes and the bulk edge, small ones
/// for the thin phases' edges. Fixed iteration order and stopping rule: deterministic.
/// </para>
/// </summary>
public static class PartialVolumeMixture
{
    public const int MaxIterations = 500;
    public const double RelativeTolerance = 1e-10;

    /// <summary>Cumulative-histogram share below which the darkest class starts: its tail, whatever its share.</summary>
    public const double DarkTailQuantile = 0.005;

    /// <summary>SD, in bins, of the Gaussian that smooths the histogram before peaks are looked for.</summary>
    public const double PeakSmoothingBins = 3;

    /// <summary>Start weight of each thin-phase edge term relative to a class's start weight.</summary>
    public const double MinorEdgeStartWeight = 0.05;

    public static MixtureFit Fit(long[] histogram, int classes, double min, double max, bool capDarkSds = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        return FitFrom(histogram, min, max, StartMeans(histogram, classes, min, max), capDarkSds);
    }

    /// <summary>
    /// As <see cref="Fit"/> with every class started as wide as the matrix peak (the darker of the two bulk peaks,
    /// <see cref="HistogramPeaks.HalfMaximumSd"/>) instead of 1/8 of the histogram's 0.5-99.5 % range; null without two
    /// bulk peaks. The range is set by the brightest phase's distance: where the active material is several times
    /// brighter than the electrolyte is far from the pores (family member 19: 4.5 times the void-to-electrolyte contrast),
    /// a thin carbon class starts several times wider than the electrolyte peak, takes the peak's core in the first
    /// iterations and ends above the electrolyte's mean (19: carbon 19,282 vs electrolyte 18,109), so no ordered
    /// boundaries exist. Started at the matrix's width it stays on the carbon shoulder (19: carbon 15,237 with weight
    /// 0.043 against a truth of 4.2 %).
    /// </summary>
    public static MixtureFit? FitWithMatrixWidths(long[] histogram, int classes, double min, double max, bool capDarkSds = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        if (BulkPeaks(histogram) is not var (matrixBin, _)) return null;
        var matrixSd = HistogramPeaks.HalfMaximumSd(Array.ConvertAll(histogram, c => (double)c), PeakSmoothingBins, matrixBin) * (max - min) / histogram.Length;
        return FitFrom(histogram, min, max, StartMeans(histogram, classes, min, max), capDarkSds, Enumerable.Repeat(matrixSd, classes).ToArray());
    }

    /// <summary>
    /// Where the EM starts. In BSE images of a composite the two brightest phases (active material, electrolyte) are
    /// the bulk and always show as the histogram's two dominant peaks; the darker minority phases (pores, carbon)
    /// often have no peak of their own under the blurred edge voxels. So: the two brightest classes at the two
    /// highest peaks of the lightly smoothed histogram that a real valley separates, the darkest class at the
    /// <see cref="DarkTailQuantile"/> quantile, the classes between evenly spaced from it to the matrix peak.
    /// (Fixed cumulative-histogram positions would encode one sample's phase proportions: a stack with 9 % pores
    /// put the carbon start inside the pore peak and the fit then split the electrolyte in two.) Without two such
    /// peaks the classes start at the centres of equal-count slices of the histogram.
    /// </summary>
    public static double[] StartMeans(long[] histogram, int classes, double min, double max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var (centres, total) = Centres(histogram, min, max);
        var equalCount = Enumerable.Range(0, classes).Select(k => Quantile(histogram, centres, total, (k + 0.5) / classes)).ToArray();
        if (BulkPeaks(histogram) is not var (matrixBin, brightBin)) return equalCount;
        var (matrix, bright) = (centres[matrixBin], centres[brightBin]);
        if (classes == 2) return [matrix, bright];
        var dark = Quantile(histogram, centres, total, DarkTailQuantile);
        if (!(dark < matrix)) return equalCount;
        var means = new double[classes];
        var darkClasses = classes - 2;
        for (var k = 0; k < darkClasses; k++) means[k] = dark + (matrix - dark) * k / darkClasses;
        means[classes - 2] = matrix;
        means[classes - 1] = bright;
        return means;
    }

    /// <summary>
    /// A second start for the EM, where the histogram shows each dark phase as a mode of its own: the dark classes at
    /// those modes (<see cref="HistogramPeaks.DarkPeaks"/>), the two brightest at the bulk peaks; null unless exactly
    /// classes − 2 dark modes stand apart. <see cref="StartMeans"/> spaces the dark classes evenly between the dark tail
    /// and the matrix peak, which suits dark phases hidden under blurred edge voxels; with pores and carbon each many
    /// voxels across (finer voxels, thicker fibres) their modes stand apart, and a class started half-way up to the
    /// matrix can climb onto the matrix's shoulder while the darkest class takes both modes (a 25 nm family member: pores
    /// and carbon one class at 8,403, the carbon class at 27,755 on the electrolyte's flank; void +2.3 pp).
    /// </summary>
    public static double[]? DarkPeakStartMeans(long[] histogram, int classes, double min, double max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 3);
        if (BulkPeaks(histogram) is not var (matrixBin, brightBin)) return null;
        var dark = HistogramPeaks.DarkPeaks(Array.ConvertAll(histogram, c => (double)c), PeakSmoothingBins, matrixBin);
        if (dark.Length != classes - 2) return null;
        var centres = Centres(histogram, min, max).Centres;
        return [.. dark.Select(b => centres[b]), centres[matrixBin], centres[brightBin]];
    }

    /// <summary>
    /// Share of all voxels that may lie above the brighter bulk peak. A phase's peak has about half of that phase above
    /// it, and no phase of a composite fills much more than half of it (the family draws active material at 25-55 %), so
    /// more voxels than this above the brighter peak mean it is not the brightest phase's: the electrolyte's peak with the
    /// active material a shoulder above it, too close for a valley (family member 323: 34 grey levels apart under noise of
    /// 12, the darker "bulk" peak was the pores' and every class started one phase too dark; NMC +53 pp).
    /// </summary>
    public const double MaxShareAboveBrightPeak = 0.5;

    /// <summary>
    /// The two bulk peaks' bins (<see cref="HistogramPeaks.BulkPair(IReadOnlyList{double}, double)"/>), or, when more than
    /// <see cref="MaxShareAboveBrightPeak"/> of the voxels lie above the brighter one, that peak as the matrix and the median
    /// of the voxels above it as the brightest phase.
    /// </summary>
    private static (int Darker, int Brighter)? BulkPeaks(long[] histogram)
    {
        if (HistogramPeaks.BulkPair(Array.ConvertAll(histogram, c => (double)c), PeakSmoothingBins) is not var (darker, brighter)) return null;
        double total = 0, above = 0;
        for (var i = 0; i < histogram.Length; i++)
        {
            total += histogram[i];
            if (i > brighter) above += histogram[i];
        }
        if (!(above > MaxShareAboveBrightPeak * total)) return (darker, brighter);
        double upper = 0;
        for (var i = histogram.Length - 1; i > brighter; i--)
        {
            upper += histogram[i];
            if (upper >= 0.5 * above) return (brighter, i);
        }
        return (darker, brighter);
    }

    private static (double[] Centres, double Total) Centres(long[] histogram, double min, double max)
    {
        var centres = new double[histogram.Length];
        for (var i = 0; i < histogram.Length; i++) centres[i] = Histogram.Centre(i, histogram.Length, min, max);
        double total = 0;
        foreach (var c in histogram)
        {
            if (c < 0) throw new ArgumentException("histogram has negative counts", nameof(histogram));
            total += c;
        }
        if (total <= 0) throw new ArgumentException("histogram is empty", nameof(histogram));
        return (centres, total);
    }

    /// <summary>
    /// EM from the given start means (one per class, ascending), everything else started as <see cref="Fit"/> does.
    /// <paramref name="capDarkSds"/>: hold each thin dark phase's SD at most the matrix's (see the class summary).
    /// <paramref name="startSds"/>: each class's start SD (null: 1/8 of the histogram's 0.5-99.5 % range for all).
    /// <paramref name="heldMeans"/>: classes whose mean stays at its start (known from elsewhere); their SDs and weights are still fitted.
    /// </summary>
    public static MixtureFit FitFrom(long[] histogram, double min, double max, double[] startMeans, bool capDarkSds = true, double[]? startSds = null,
        bool[]? heldMeans = null)
    {
        var classes = startMeans.Length;
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var bins = histogram.Length;
        var (centres, total) = Centres(histogram, min, max);
        var binWidth = (max - min) / bins;
        var minSd = binWidth;

        var means = (double[])startMeans.Clone();
        var low = Quantile(histogram, centres, total, 0.005);
        var high = Quantile(histogram, centres, total, 0.995);
        var sds = startSds is not null ? Array.ConvertAll(startSds, sd => Math.Max(sd, minSd)) : Enumerable.Repeat(Math.Max((high - low) / 8, minSd), classes).ToArray();
        var pairs = Pairs(classes);
        var components = classes + pairs.Length;
        // Classes and the bulk edge term start equal; the thin phases' edge terms start small, so that they grow
        // only where the data ask for them rather than starting as large as the phases they border.
        var weights = new double[components];
        for (var k = 0; k < components; k++) weights[k] = k <= classes ? 1.0 : MinorEdgeStartWeight;
        var startSum = weights.Sum();
        for (var k = 0; k < components; k++) weights[k] /= startSum;

        var density = new double[components];
        var sumR = new double[components];
        var sumRx = new double[classes];
        var sumRxx = new double[classes];
        var previous = double.NegativeInfinity;
        var logLikelihood = double.NegativeInfinity;
        var iterations = 0;
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            iterations = iteration + 1;
            Array.Clear(sumR);
            Array.Clear(sumRx);
            Array.Clear(sumRxx);
            logLikelihood = 0;
            for (var i = 0; i < bins; i++)
            {
                var count = histogram[i];
                if (count == 0) continue;
                var x = centres[i];
                var sum = Evaluate(x, weights, means, sds, pairs, density);
                if (!(sum > 0)) continue;
                logLikelihood += count * Math.Log(sum);
                for (var k = 0; k < components; k++)
                {
                    var r = count * density[k] / sum;
                    sumR[k] += r;
                    if (k >= classes) continue;
                    sumRx[k] += r * x;
                    sumRxx[k] += r * x * x;
                }
            }
            // M-step from the responsibilities of the current parameters (variance about the new mean).
            for (var k = 0; k < classes; k++)
            {
                if (!(sumR[k] > 0)) continue;
                var held = heldMeans is not null && heldMeans[k];
                if (!held) means[k] = sumRx[k] / sumR[k];
                // E[(x − μ)²]: about the new mean, or about the held one.
                var variance = held
                    ? sumRxx[k] / sumR[k] - 2 * means[k] * sumRx[k] / sumR[k] + means[k] * means[k]
                    : sumRxx[k] / sumR[k] - means[k] * means[k];
                sds[k] = Math.Max(Math.Sqrt(Math.Max(0, variance)), minSd);
            }
            // A dark phase that borders the matrix is no noisier than the matrix (BSE noise grows with the signal):
            // a wider Gaussian would only be the dark phase swallowing the matrix's blurred edge voxels, which
            // the edge term describes.
            if (capDarkSds)
                for (var p = 1; p < pairs.Length; p++)
                    sds[pairs[p].Dark] = Math.Min(sds[pairs[p].Dark], sds[pairs[p].Bright]);
            for (var k = 0; k < components; k++) weights[k] = sumR[k] / total;
            // A thin dark phase's edge term may not outweigh the phase itself: otherwise the edge term (whose shape
            // spans the whole range up to the matrix) absorbs the phase and the phase's Gaussian collapses. Under
            // w_edge <= w_dark the constrained maximum pools the two weights when the constraint is violated.
            for (var p = 1; p < pairs.Length; p++)
            {
                var dark = pairs[p].Dark;
                if (weights[classes + p] <= weights[dark]) continue;
                var pooled = 0.5 * (weights[classes + p] + weights[dark]);
                weights[classes + p] = weights[dark] = pooled;
            }
            if (Math.Abs(logLikelihood - previous) <= RelativeTolerance * Math.Abs(logLikelihood)) break;
            previous = logLikelihood;
        }
        return new MixtureFit(weights[..classes], means, sds, weights[classes], logLikelihood, iterations)
        {
            PartialVolumePairs = pairs,
            PartialVolumeWeights = weights[classes..],
        };
    }

    /// <summary>
    /// Class pairs that get a partial-volume term, darker first: the two brightest classes (the bulk), then each
    /// darker class with the second-brightest one (the matrix phase that surrounds the thin dark phases).
    /// </summary>
    public static (int Dark, int Bright)[] Pairs(int classes)
    {
        if (classes < 3) return [(0, 1)];
        var list = new List<(int, int)> { (classes - 2, classes - 1) };
        for (var k = 0; k < classes - 2; k++) list.Add((k, classes - 2));
        return [.. list];
    }

    /// <summary>Weighted component densities at <paramref name="x"/> into <paramref name="density"/> (classes, then pairs); returns their sum.</summary>
    public static double Evaluate(double x, double[] weights, double[] means, double[] sds, (int Dark, int Bright)[] pairs, double[] density)
    {
        var classes = means.Length;
        var sum = 0.0;
        for (var k = 0; k < classes; k++)
        {
            density[k] = weights[k] * Gaussian(x, means[k], sds[k]);
            sum += density[k];
        }
        for (var p = 0; p < pairs.Length; p++)
        {
            var d = weights[classes + p] * Mixel(x, means, sds, pairs[p].Dark, pairs[p].Bright, means[pairs[p].Dark], means[pairs[p].Bright]);
            density[classes + p] = d;
            sum += d;
        }
        return sum;
    }

    /// <summary>
    /// Density at x of the part of the a|b mixel term whose noise-free value lies in [from, to] (a sub-range of
    /// [μ_a, μ_b]): (Φ((x−from)/s) − Φ((x−to)/s)) / (μ_b − μ_a), s the mean SD of the two classes.
    /// </summary>
    public static double Mixel(double x, double[] means, double[] sds, int a, int b, double from, double to)
    {
        var span = means[b] - means[a];
        if (!(span > 0)) return 0;
        var s = 0.5 * (sds[a] + sds[b]);
        return Math.Max(0, NormalCdf((x - from) / s) - NormalCdf((x - to) / s)) / span;
    }

    public static double Gaussian(double x, double mean, double sd)
    {
        var z = (x - mean) / sd;
        return Math.Exp(-0.5 * z * z) / (sd * Math.Sqrt(2 * Math.PI));
    }

    /// <summary>Standard normal CDF via erfc (MathNet), accurate in both tails.</summary>
    public static double NormalCdf(double z) => 0.5 * MathNet.Numerics.SpecialFunctions.Erfc(-z / Math.Sqrt(2));

    /// <summary>
    /// Bayes boundary between neighbouring classes k and k+1: the intensity between their means where
    /// w_k·N_k = w_{k+1}·N_{k+1} (the darker class wins below it). Null when one of them dominates the whole
    /// interval (no boundary there).
    /// </summary>
    public static double? Boundary(MixtureFit fit, int k)
    {
        double m0 = fit.Means[k], m1 = fit.Means[k + 1];
        if (!(m1 > m0)) return null;
        double Difference(double x) =>
            Math.Log(fit.Weights[k]) + LogGaussian(x, m0, fit.StandardDeviations[k])
            - Math.Log(fit.Weights[k + 1]) - LogGaussian(x, m1, fit.StandardDeviations[k + 1]);
        double lo = m0, hi = m1;
        if (!(Difference(lo) > 0) || !(Difference(hi) < 0)) return null;
        for (var i = 0; i < 200 && hi - lo > 1e-9 * Math.Max(1, Math.Abs(hi)); i++)
        {
            var mid = 0.5 * (lo + hi);
            if (Difference(mid) > 0) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);
    }

    /// <summary>
    /// Boundary between classes k and k+1 counting their shared edge term: its voxels belong to the class that
    /// fills more than half of them, i.e. the half of its noise-free range nearer that class's mean. The boundary
    /// is where w_k·N_k plus k's half equals the same for k+1. Edge terms of other pairs (a pore's edge with the
    /// matrix, when placing the pore|carbon boundary) are left out: their voxels are the business of their own
    /// boundary. Falls back to <see cref="Boundary"/> when the difference does not change sign between the means.
    /// </summary>
    public static double? BoundaryWithMixels(MixtureFit fit, int k)
    {
        double m0 = fit.Means[k], m1 = fit.Means[k + 1];
        if (!(m1 > m0) || fit.PartialVolumePairs.Length == 0) return Boundary(fit, k);
        double Score(int c, double x)
        {
            var v = fit.Weights[c] * Gaussian(x, fit.Means[c], fit.StandardDeviations[c]);
            for (var p = 0; p < fit.PartialVolumePairs.Length; p++)
            {
                var (a, b) = fit.PartialVolumePairs[p];
                if (a != k || b != k + 1) continue;
                var mid = 0.5 * (fit.Means[a] + fit.Means[b]);
                v += fit.PartialVolumeWeights[p] * (c == a
                    ? Mixel(x, fit.Means, fit.StandardDeviations, a, b, fit.Means[a], mid)
                    : Mixel(x, fit.Means, fit.StandardDeviations, a, b, mid, fit.Means[b]));
            }
            return v;
        }
        double Difference(double x) => Score(k, x) - Score(k + 1, x);
        double lo = m0, hi = m1;
        if (!(Difference(lo) > 0) || !(Difference(hi) < 0)) return Boundary(fit, k);
        for (var i = 0; i < 200 && hi - lo > 1e-9 * Math.Max(1, Math.Abs(hi)); i++)
        {
            var mid = 0.5 * (lo + hi);
            if (Difference(mid) > 0) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);
    }

    private static double LogGaussian(double x, double mean, double sd)
    {
        var z = (x - mean) / sd;
        return -0.5 * z * z - Math.Log(sd);
    }

    /// <summary>Intensity below which a share <paramref name="q"/> of the counts lies (linear within the bin).</summary>
    public static double Quantile(long[] histogram, double[] centres, double total, double q)
    {
        var target = q * total;
        double cumulative = 0;
        var halfWidth = centres.Length > 1 ? 0.5 * (centres[1] - centres[0]) : 0.5;
        for (var i = 0; i < histogram.Length; i++)
        {
            if (histogram[i] == 0) continue;
            if (cumulative + histogram[i] >= target)
                return centres[i] - halfWidth + 2 * halfWidth * (target - cumulative) / histogram[i];
            cumulative += histogram[i];
        }
        return centres[^1];
    }
}
