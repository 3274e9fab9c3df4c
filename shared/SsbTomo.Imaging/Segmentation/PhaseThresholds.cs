namespace SsbTomo.Imaging.Segmentation;

/// <summary>Grey-level thresholds between phases and each phase's mean, in intensity units.</summary>
public sealed record PhaseThresholdSet(double[] Thresholds, double[] ClassMeans);

/// <summary>
/// Picks the thresholds for a whole stack from its merged histogram, once, so that every chunk is
/// classified with the same numbers.
/// </summary>
public static class PhaseThresholds
{
    public static PhaseThresholdSet FromHistogram(long[] histogram, int classes, double min, double max)
    {
        var bins = MultiOtsu.Thresholds(histogram, classes);
        return new PhaseThresholdSet(
            MultiOtsu.ToIntensities(bins, histogram.Length, min, max),
            MultiOtsu.ClassMeans(histogram, bins, min, max));
    }
}
