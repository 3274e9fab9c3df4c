namespace SsbTomo.Imaging.Segmentation;

/// <summary>Grey-level thresholds between phases and each phase's mean, in intensity units.</summary>
public sealed record PhaseThresholdSet(double[] Thresholds, double[] ClassMeans)
{
    /// <summary>The mixture the thresholds came from; null when they are the multi-Otsu fallback.</summary>
    public MixtureFit? Fit { get; init; }
}

/// <summary>
/// Picks the thresholds for a whole stack from its merged histogram, once, so that every chunk is
/// classified with the same numbers.
/// <para>
/// Thresholds are the boundaries between neighbouring phases of a <see cref="PartialVolumeMixture"/> fitted to
/// the histogram (Bayes boundaries with the two phases' shared edge term's voxels given to the phase filling
/// more than half of them, <see cref="PartialVolumeMixture.BoundaryWithMixels"/>), and the class means are the fitted phase means. Multi-Otsu maximises the
/// between-class variance, which puts the boundaries of small dark phases (pores, carbon) far too high and,
/// when the bright phases' partial-volume plateau is large, spends a whole class on it. When the mixture
/// does not give an ordered set of boundaries (a phase that wins nowhere, a failed fit) the multi-Otsu
/// result is used as before.
/// </para>
/// </summary>
public static class PhaseThresholds
{
    public static PhaseThresholdSet FromHistogram(long[] histogram, int classes, double min, double max) =>
        FromMixture(histogram, classes, min, max) ?? FromMultiOtsu(histogram, classes, min, max);

    /// <summary>The previous rule: multi-Otsu thresholds and the mean intensity of each Otsu class.</summary>
    public static PhaseThresholdSet FromMultiOtsu(long[] histogram, int classes, double min, double max)
    {
        var bins = MultiOtsu.Thresholds(histogram, classes);
        return new PhaseThresholdSet(
            MultiOtsu.ToIntensities(bins, histogram.Length, min, max),
            MultiOtsu.ClassMeans(histogram, bins, min, max));
    }

    /// <summary>Boundaries of the fitted mixture, or null when they are not a valid ascending set inside (min, max).</summary>
    public static PhaseThresholdSet? FromMixture(long[] histogram, int classes, double min, double max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        if (histogram.Count(c => c > 0) < classes) return null;
        // The SD cap keeps thin dark phases from swallowing the matrix's edge voxels, but a matrix peak narrower than the
        // dark phases' spread (an electrolyte without texture in a low-noise 8-bit stack, brightness-matched slice by
        // slice) leaves them no width at all and the fit has no ordered boundaries: then fit without the cap.
        return FromFit(PartialVolumeMixture.Fit(histogram, classes, min, max), min, max)
            ?? FromFit(PartialVolumeMixture.Fit(histogram, classes, min, max, capDarkSds: false), min, max);
    }

    /// <summary>Boundaries of a fitted mixture, or null when they are not a valid ascending set inside (min, max).</summary>
    public static PhaseThresholdSet? FromFit(MixtureFit fit, double min, double max)
    {
        var classes = fit.Means.Length;
        var thresholds = new double[classes - 1];
        for (var k = 0; k < classes - 1; k++)
        {
            var boundary = PartialVolumeMixture.BoundaryWithMixels(fit, k);
            if (boundary is not { } t || !double.IsFinite(t) || t <= min || t >= max || (k > 0 && t <= thresholds[k - 1])) return null;
            thresholds[k] = t;
        }
        return new PhaseThresholdSet(thresholds, fit.Means) { Fit = fit };
    }
}
