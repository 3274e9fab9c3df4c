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
        FromMixture(histogram, classes, min, max) ?? FromStartMeans(histogram, classes, min, max) ?? FromMultiOtsu(histogram, classes, min, max);

    /// <summary>
    /// Least weight of every class in a fit started at the matrix peak's width: a class started that narrow where the
    /// histogram is empty keeps its start mean with no voxels (a histogram of a few spikes), and its boundaries mean nothing.
    /// </summary>
    public const double MinimumNarrowStartClassWeight = 0.001;

    /// <summary>Share of the voxels that may lie far above the bright start before <see cref="FromStartMeans"/> gives up.</summary>
    public const double MaxShareAboveBrightest = 0.05;

    /// <summary>
    /// When no mixture fits: boundaries half-way between the mixture's start means (bulk peaks, dark tail, classes
    /// between spaced evenly). Crude, but it keeps every phase near its own grey level, where multi-Otsu, maximising
    /// the between-class variance, can hand most of a dominant electrolyte peak to the pores. Null when the start means
    /// are not strictly ascending.
    /// </summary>
    public static PhaseThresholdSet? FromStartMeans(long[] histogram, int classes, double min, double max)
    {
        if (histogram.Count(c => c > 0) < classes) return null;
        var means = PartialVolumeMixture.StartMeans(histogram, classes, min, max);
        for (var k = 1; k < classes; k++)
            if (!(means[k] > means[k - 1])) return null;
        // Only when the bright start is the brightest phase: more than a few per cent of the voxels far above it mean
        // the two dominant peaks are not the two brightest phases, and half-way boundaries would split nothing right.
        var farAbove = means[^1] + 0.5 * (means[^1] - means[^2]);
        long above = 0, total = 0;
        for (var i = 0; i < histogram.Length; i++)
        {
            total += histogram[i];
            if (Histogram.Centre(i, histogram.Length, min, max) > farAbove) above += histogram[i];
        }
        if (above > MaxShareAboveBrightest * total) return null;
        return new PhaseThresholdSet([.. Enumerable.Range(0, classes - 1).Select(k => 0.5 * (means[k] + means[k + 1]))], means);
    }

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
        // Both fits start every class as wide as an eighth of the histogram's range; when the active material is far
        // brighter than the rest, that drowns the thin phases and a start at the matrix peak's own width is what fits.
        var fitted = FromFit(PartialVolumeMixture.Fit(histogram, classes, min, max), min, max)
            ?? FromFit(PartialVolumeMixture.Fit(histogram, classes, min, max, capDarkSds: false), min, max)
            ?? (PartialVolumeMixture.FitWithMatrixWidths(histogram, classes, min, max) is { } narrow && narrow.Weights.All(w => w >= MinimumNarrowStartClassWeight)
                ? FromFit(narrow, min, max)
                : null);
        // Where every dark phase shows a mode of its own, the EM is also started there and the likelier fit is kept
        // (the usual cure for EM's local maxima: several starts, the highest likelihood).
        return FromDarkPeaks(histogram, classes, min, max) is { Fit: { } peaks } fromPeaks && (fitted?.Fit is not { } other || peaks.LogLikelihood > other.LogLikelihood)
            ? fromPeaks
            : fitted;
    }

    /// <summary>The mixture started at the histogram's dark modes (<see cref="PartialVolumeMixture.DarkPeakStartMeans"/>), or null without them or without ordered boundaries.</summary>
    public static PhaseThresholdSet? FromDarkPeaks(long[] histogram, int classes, double min, double max) =>
        classes >= 3 && PartialVolumeMixture.DarkPeakStartMeans(histogram, classes, min, max) is { } start
            ? FromFit(PartialVolumeMixture.FitFrom(histogram, min, max, start), min, max)
            : null;

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
