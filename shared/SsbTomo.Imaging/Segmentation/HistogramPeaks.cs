namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// The two bulk phases of a composite in a grey-level histogram. In BSE images of a composite cathode the active
/// material and the electrolyte fill most of the volume and always show as the two dominant peaks, whatever the pore
/// and carbon content; their positions are what brightness matching and the mixture's start can rely on.
/// </summary>
public static class HistogramPeaks
{
    /// <summary>
    /// A second peak counts as a bulk phase of its own only if the histogram between it and the highest peak falls
    /// below this share of the lower of the two (a shoulder or a noise ripple does not).
    /// </summary>
    public const double ValleyRatio = 0.8;

    /// <summary>
    /// A bulk phase's peak stands at least this share of the highest peak's height: a ripple in a tail is not a
    /// phase, and both bulk phases fill a quarter or more of a composite.
    /// </summary>
    public const double MinimumShare = 0.05;

    /// <summary>
    /// Bins of the two dominant peaks (darker first) of <paramref name="counts"/> smoothed by a Gaussian of
    /// <paramref name="smoothingBins"/> bins, or null when it has no two such peaks: the highest, and the highest other
    /// that stands at least <see cref="MinimumShare"/> of it and is separated from it by a valley below
    /// <see cref="ValleyRatio"/> of the lower of the two.
    /// </summary>
    public static (int Darker, int Brighter)? BulkPair(IReadOnlyList<double> counts, double smoothingBins) =>
        BulkPair(counts, smoothingBins, out _);

    /// <summary>
    /// <see cref="BulkPair(IReadOnlyList{double}, double)"/> to a fraction of a bin: the vertex of the parabola through
    /// each peak's smoothed bin and its two neighbours (bin i's centre is position i + 0.5).
    /// </summary>
    public static (double Darker, double Brighter)? BulkPairPositions(IReadOnlyList<double> counts, double smoothingBins)
    {
        if (BulkPair(counts, smoothingBins, out var smooth) is not var (darker, brighter)) return null;
        double Vertex(int i)
        {
            double a = smooth[i - 1], b = smooth[i], c = smooth[i + 1];
            var curvature = a - 2 * b + c;
            return i + 0.5 + (curvature < 0 ? Math.Clamp(0.5 * (a - c) / curvature, -0.5, 0.5) : 0);
        }
        return (Vertex(darker), Vertex(brighter));
    }

    /// <summary>
    /// Standard deviation, in bins, of the peak at <paramref name="peakBin"/> of <paramref name="counts"/>: its full width at
    /// half maximum on the histogram smoothed as <see cref="BulkPair(IReadOnlyList{double}, double)"/> smooths it (linear
    /// between bins), as a Gaussian's (FWHM / 2.3548), with the smoothing's own width taken out in quadrature; at least
    /// half a bin. Neighbouring peaks and shoulders only make the walk to half height stop later, so this is an upper bound
    /// on a Gaussian peak's spread, and exact for an isolated one.
    /// </summary>
    public static double HalfMaximumSd(IReadOnlyList<double> counts, double smoothingBins, int peakBin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(peakBin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(peakBin, counts.Count);
        var smooth = Smooth(counts, smoothingBins);
        var half = 0.5 * smooth[peakBin];
        double Edge(int step)
        {
            var i = peakBin;
            while (i + step >= 0 && i + step < smooth.Length && smooth[i + step] > half) i += step;
            if (i + step < 0 || i + step >= smooth.Length) return i;
            // Half height lies between bin i (above it) and the next one (at or below it).
            return i + step * (smooth[i] - half) / (smooth[i] - smooth[i + step]);
        }
        var fullWidth = Edge(1) - Edge(-1);
        var sd = fullWidth / (2 * Math.Sqrt(2 * Math.Log(2)));
        return Math.Sqrt(Math.Max(sd * sd - smoothingBins * smoothingBins, 0.25));
    }

    /// <summary>
    /// A dark peak stands at least this share of the highest peak's height: a floor for counting noise in a sparse tail,
    /// not a phase proportion (a phase of 1 % of the voxels whose peak is as wide as the matrix's stands at ~2 % of its
    /// height). A tuning, measured on the denoised histograms of 147 family runs (15, 25, 50 and 100 nm, 8- and 16-bit,
    /// 4x drift, stage jumps): 0.001, 0.002 and 0.005 find two dark modes in the same 26 stacks (all at 15 or 25 nm,
    /// none at 50 or 100 nm), 0.01 loses 25 nm member 5, the one whose fit the modes repair, and 0.02 also a 15 nm one;
    /// so the floor sits inside the plateau, not at its edge.
    /// </summary>
    public const double MinimumDarkShare = 0.002;

    /// <summary>
    /// Bins, ascending, of the peaks of <paramref name="counts"/> (smoothed as <see cref="BulkPair(IReadOnlyList{double}, double)"/>
    /// smooths it) darker than <paramref name="matrixBin"/> that stand at least <see cref="MinimumDarkShare"/> of the
    /// highest peak and are separated from the matrix peak and from each other by a valley below
    /// <see cref="ValleyRatio"/> of the lower of the two: the dark phases (pores, carbon) that show a mode of their own,
    /// as they do when the structures are many voxels across. Taken highest first; a peak not separated from one already
    /// taken is a shoulder of it.
    /// </summary>
    public static int[] DarkPeaks(IReadOnlyList<double> counts, double smoothingBins, int matrixBin)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentOutOfRangeException.ThrowIfNegative(matrixBin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(matrixBin, counts.Count);
        var smooth = Smooth(counts, smoothingBins);
        var highest = smooth.Max();
        if (!(highest > 0)) return [];
        var candidates = Enumerable.Range(1, Math.Max(0, matrixBin - 1))
            .Where(i => smooth[i] >= MinimumDarkShare * highest && smooth[i] >= smooth[i - 1] && smooth[i] > smooth[i + 1])
            .OrderByDescending(i => smooth[i]).ThenBy(i => i);
        var taken = new List<int> { matrixBin };
        foreach (var peak in candidates)
            if (taken.All(other => Separated(smooth, peak, other))) taken.Add(peak);
        return [.. taken.Skip(1).Order()];
    }

    private static bool Separated(double[] smooth, int a, int b)
    {
        var (lo, hi) = (Math.Min(a, b), Math.Max(a, b));
        var valley = double.PositiveInfinity;
        for (var i = lo; i <= hi; i++) valley = Math.Min(valley, smooth[i]);
        return valley < ValleyRatio * Math.Min(smooth[a], smooth[b]);
    }

    private static double[] Smooth(IReadOnlyList<double> counts, double smoothingBins)
    {
        var bins = counts.Count;
        var radius = (int)Math.Ceiling(3 * smoothingBins);
        var smooth = new double[bins];
        for (var i = 0; i < bins; i++)
            for (var k = Math.Max(-radius, -i); k <= radius && i + k < bins; k++)
                smooth[i] += counts[i + k] * Math.Exp(-k * k / (2 * smoothingBins * smoothingBins));
        return smooth;
    }

    private static (int Darker, int Brighter)? BulkPair(IReadOnlyList<double> counts, double smoothingBins, out double[] smooth)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var bins = counts.Count;
        smooth = Smooth(counts, smoothingBins);
        var smoothed = smooth;
        var maxima = Enumerable.Range(1, Math.Max(0, bins - 2))
            .Where(i => smoothed[i] > 0 && smoothed[i] >= smoothed[i - 1] && smoothed[i] > smoothed[i + 1])
            .OrderByDescending(i => smoothed[i]).ThenBy(i => i).ToList();
        if (maxima.Count < 2) return null;
        var highest = maxima[0];
        foreach (var other in maxima.Skip(1).TakeWhile(i => smoothed[i] >= MinimumShare * smoothed[highest]))
            if (Separated(smooth, other, highest)) return (Math.Min(other, highest), Math.Max(other, highest));
        return null;
    }
}
