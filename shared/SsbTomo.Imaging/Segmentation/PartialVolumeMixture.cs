namespace SsbTomo.Imaging.Segmentation;

/// <summary>A fitted <see cref="PartialVolumeMixture"/>: per class (dark to bright) weight, mean and SD, plus the partial-volume term's weight.</summary>
public sealed record MixtureFit(double[] Weights, double[] Means, double[] StandardDeviations, double PartialVolumeWeight, double LogLikelihood, int Iterations);

/// <summary>
/// Intensity model of a phase-contrast volume for picking thresholds: one Gaussian per phase plus one
/// partial-volume ("mixel") term for the blurred edge between the two brightest phases. In BSE images of
/// composite cathodes those two (active material and electrolyte) fill most of the volume with the largest
/// contrast between them, so their edge voxels form a plateau between the two peaks that a Gaussian
/// mixture without it would cover with a spurious extra phase (multi-Otsu splits it off as a class, which
/// is how it mislabels a whole electrolyte peak). The term is a uniform density between the two means
/// convolved with a Gaussian of their mean SD: (Φ((x−μ_a)/s) − Φ((x−μ_b)/s)) / (μ_b − μ_a).
/// <para>
/// Fitted by expectation–maximisation on the histogram bins (bin centres weighted by counts), so the fit
/// depends only on the merged histogram and is the same for every chunk. The PV term's shape follows the
/// current means and SDs; only its weight is an EM parameter (the usual simplification). Start: class means
/// at fixed points of the cumulative histogram (<see cref="StartQuantiles"/>: dark minority phases, then the
/// two majority phases), equal SDs of 1/8 of the 0.5–99.5 % range, equal weights. Fixed iteration order and
/// stopping rule: deterministic.
/// </para>
/// </summary>
public static class PartialVolumeMixture
{
    public const int MaxIterations = 500;
    public const double RelativeTolerance = 1e-10;

    /// <summary>
    /// Cumulative-histogram positions at which the class means start, for 4 classes: the dark minority phases
    /// (pores, carbon) sit in the first few per cent, the electrolyte and the active material are the bulk.
    /// Other class counts start at the centres of equal-count slices.
    /// </summary>
    public static readonly double[] StartQuantiles = [0.01, 0.05, 0.30, 0.80];

    public static MixtureFit Fit(long[] histogram, int classes, double min, double max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var bins = histogram.Length;
        var centres = new double[bins];
        for (var i = 0; i < bins; i++) centres[i] = Histogram.Centre(i, bins, min, max);
        double total = 0;
        foreach (var c in histogram)
        {
            if (c < 0) throw new ArgumentException("histogram has negative counts", nameof(histogram));
            total += c;
        }
        if (total <= 0) throw new ArgumentException("histogram is empty", nameof(histogram));
        var binWidth = (max - min) / bins;
        var minSd = binWidth;

        var quantiles = classes == StartQuantiles.Length
            ? StartQuantiles
            : Enumerable.Range(0, classes).Select(k => (k + 0.5) / classes).ToArray();
        var means = Array.ConvertAll(quantiles, q => Quantile(histogram, centres, total, q));
        var low = Quantile(histogram, centres, total, 0.005);
        var high = Quantile(histogram, centres, total, 0.995);
        var sds = Enumerable.Repeat(Math.Max((high - low) / 8, minSd), classes).ToArray();
        var components = classes + 1;
        var weights = Enumerable.Repeat(1.0 / components, components).ToArray();

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
                var sum = Evaluate(x, weights, means, sds, density);
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
                means[k] = sumRx[k] / sumR[k];
                sds[k] = Math.Max(Math.Sqrt(Math.Max(0, sumRxx[k] / sumR[k] - means[k] * means[k])), minSd);
            }
            for (var k = 0; k < components; k++) weights[k] = sumR[k] / total;
            if (Math.Abs(logLikelihood - previous) <= RelativeTolerance * Math.Abs(logLikelihood)) break;
            previous = logLikelihood;
        }
        return new MixtureFit(weights[..classes], means, sds, weights[classes], logLikelihood, iterations);
    }

    /// <summary>Weighted component densities at <paramref name="x"/> into <paramref name="density"/>; returns their sum.</summary>
    public static double Evaluate(double x, double[] weights, double[] means, double[] sds, double[] density)
    {
        var classes = means.Length;
        var sum = 0.0;
        for (var k = 0; k < classes; k++)
        {
            density[k] = weights[k] * Gaussian(x, means[k], sds[k]);
            sum += density[k];
        }
        int a = classes - 2, b = classes - 1;
        var s = 0.5 * (sds[a] + sds[b]);
        var span = means[b] - means[a];
        density[classes] = span > 0 ? weights[classes] * Math.Max(0, NormalCdf((x - means[a]) / s) - NormalCdf((x - means[b]) / s)) / span : 0;
        return sum + density[classes];
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

    private static double LogGaussian(double x, double mean, double sd)
    {
        var z = (x - mean) / sd;
        return -0.5 * z * z - Math.Log(sd);
    }

    /// <summary>Intensity below which a share <paramref name="q"/> of the counts lies (linear within the bin).</summary>
    private static double Quantile(long[] histogram, double[] centres, double total, double q)
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
