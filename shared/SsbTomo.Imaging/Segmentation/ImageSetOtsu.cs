namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Unsupervised split of a set of 2D grey images into k phases ordered darkest to brightest, with one set of
/// thresholds for the whole set: every image (every page of a stack) is lightly smoothed, all pixels go into ONE
/// histogram, the thresholds come from multi-level Otsu on it (Otsu 1979, "A threshold selection method from
/// grey-level histograms", IEEE Trans. SMC 9(1):62-66, doi:10.1109/TSMC.1979.4310076; multi-level as in Liao, Chen
/// &amp; Chung 2001, "A fast algorithm for multilevel thresholding", J. Inf. Sci. Eng. 17(5):713-727, solved exactly by
/// <see cref="MultiOtsu.Thresholds"/>), and each pixel is labelled 1..k by where its smoothed grey level falls.
/// <para>
/// Binning: smoothed values are rounded to the integer grid of the bit depth. 8-bit: Otsu runs on the 256 integer
/// levels. 16-bit: the integer levels occupied by the set, [lo, hi], are grouped into at most <see cref="MaxBins"/>
/// equal bins (the integer grid itself when hi − lo &lt; <see cref="MaxBins"/>). When an optimal threshold can move
/// through a run of empty bins without changing the classes, the middle of the run is taken (not MultiOtsu's first
/// bin, which is the darker phase's brightest noise). A threshold τ is a grey level: a
/// pixel whose rounded smoothed value is ≤ τ₁ is phase 1, ≤ τ₂ phase 2, …, above τ_{k−1} phase k.
/// </para>
/// <para>
/// Usage: <see cref="Add(ReadOnlySpan{float})"/> each smoothed image (one pass over the set; the accumulator keeps
/// only the integer-grid histogram, so memory does not grow with the set), then <see cref="Thresholds"/> once, then
/// <see cref="Classify"/> each image.
/// </para>
/// </summary>
public sealed class ImageSetOtsu
{
    /// <summary>Most bins for a 16-bit set's histogram.</summary>
    public const int MaxBins = 1024;

    private readonly long[] _levels;

    public ImageSetOtsu(int bitDepth)
    {
        if (bitDepth is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(bitDepth), bitDepth, "8- or 16-bit images");
        BitDepth = bitDepth;
        _levels = new long[1 << bitDepth];
    }

    public int BitDepth { get; }

    /// <summary>Pixels added so far.</summary>
    public long Count { get; private set; }

    /// <summary>
    /// The 2D Gaussian smoothing applied before the histogram and the classification: σ in pixels, scipy.ndimage's
    /// kernel (4σ truncation, 'reflect' edges), via <see cref="Denoise.Gaussian"/> on a one-slice volume.
    /// </summary>
    public static Image2D<float> Smooth(Image2D<ushort> image, double sigmaPixels = 1.0)
    {
        var smoothed = Denoise.Gaussian(new Volume<ushort>(1, image.Height, image.Width, image.Pixels), sigmaPixels);
        return new Image2D<float>(image.Height, image.Width, smoothed.Data);
    }

    /// <summary>Adds an image's (smoothed) pixels to the set's histogram.</summary>
    public void Add(ReadOnlySpan<float> pixels)
    {
        var top = _levels.Length - 1;
        foreach (var v in pixels) _levels[Level(v, top)]++;
        Count += pixels.Length;
    }

    /// <summary>
    /// The k − 1 grey-level thresholds, increasing, for <paramref name="phases"/> phases from the set's one histogram.
    /// Throws <see cref="ArgumentException"/> when the set has fewer distinct levels than phases.
    /// </summary>
    public int[] Thresholds(int phases)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(phases, 2);
        if (Count == 0) throw new InvalidOperationException("no pixels added");
        var lo = Array.FindIndex(_levels, c => c > 0);
        var hi = Array.FindLastIndex(_levels, c => c > 0);
        var span = hi - lo + 1;
        var bins = BitDepth == 8 ? _levels.Length : Math.Min(span, MaxBins);
        int Bin(int level) => BitDepth == 8 ? level : (int)((long)(level - lo) * bins / span);

        var histogram = new long[bins];
        for (var level = lo; level <= hi; level++) histogram[Bin(level)] += _levels[level];
        int[] binThresholds;
        try
        {
            binThresholds = MultiOtsu.Thresholds(histogram, phases);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"the images have too few grey levels for {phases} phases: {e.Message}", nameof(phases), e);
        }
        // Every threshold inside a run of empty bins gives the same classes, so the same between-class variance;
        // MultiOtsu takes the smallest (the top of the darker phase's noise), which would hand every partial-volume
        // pixel of a well-separated pair to the brighter phase. Take the middle of the run instead: still an optimum.
        for (var j = 0; j < binThresholds.Length; j++)
        {
            var next = binThresholds[j] + 1;
            while (next < bins && histogram[next] == 0) next++;
            binThresholds[j] = (binThresholds[j] + next - 1) / 2;
        }
        // A bin threshold t means "bins ≤ t are darker": as a grey level, the last level whose bin is ≤ t.
        return Array.ConvertAll(binThresholds, t =>
        {
            var level = lo;
            while (level < hi && Bin(level + 1) <= t) level++;
            return level;
        });
    }

    /// <summary>
    /// Each class's mean grey level (of the rounded smoothed values, from the set's histogram: no second pass), darkest
    /// first, for the classes the <paramref name="thresholds"/> make (<see cref="MultiOtsu.ClassMeans"/> on the integer
    /// grid). A class no pixel falls into gets NaN; no pixel carries its label, so it is never the end of a skin.
    /// </summary>
    public double[] ClassMeans(IReadOnlyList<int> thresholds)
    {
        if (Count == 0) throw new InvalidOperationException("no pixels added");
        // Bin i of the level histogram is grey level i: its centre is i when the range is [−0.5, levels − 0.5].
        return MultiOtsu.ClassMeans(_levels, thresholds.ToArray(), -0.5, _levels.Length - 0.5);
    }

    /// <summary>
    /// Labels 1..k of a smoothed image (<see cref="Classify"/>), then the partial-volume clean-up of the k-phase table
    /// (<see cref="PartialVolumeCleanup"/> in 2D: a skin of at most <see cref="PartialVolumeCleanup.DefaultMaxBandVoxels"/>
    /// pixels of an intermediate class between a darker and a brighter class that are not neighbours, which the
    /// smoothing makes where those two touch, goes to the end class its grey level is nearer to). Each pixel depends on
    /// pixels at most 2·<see cref="PartialVolumeCleanup.DefaultMaxBandVoxels"/> away. <paramref name="classMeans"/>: from
    /// <see cref="ClassMeans"/>.
    /// </summary>
    public static Image2D<byte> Segment(Image2D<float> smoothed, IReadOnlyList<int> thresholds, double[] classMeans, int bitDepth)
    {
        if (classMeans.Length != thresholds.Count + 1)
            throw new ArgumentException($"{thresholds.Count} thresholds need {thresholds.Count + 1} class means, got {classMeans.Length}", nameof(classMeans));
        var labels = Classify(smoothed, thresholds, bitDepth);
        var darkToBright = Enumerable.Range(1, classMeans.Length).Select(l => (byte)l).ToArray();
        return PartialVolumeCleanup.Apply(labels, smoothed, darkToBright, classMeans);
    }

    /// <summary>Labels 1..k (k = thresholds + 1) of a smoothed image, darkest phase 1, by grey level alone.</summary>
    public static Image2D<byte> Classify(Image2D<float> smoothed, IReadOnlyList<int> thresholds, int bitDepth)
    {
        var top = (1 << bitDepth) - 1;
        var labels = new Image2D<byte>(smoothed.Height, smoothed.Width);
        var source = smoothed.Pixels;
        var target = labels.Pixels;
        for (var i = 0; i < source.Length; i++)
        {
            var level = Level(source[i], top);
            var label = 1;
            for (var j = 0; j < thresholds.Count; j++)
                if (level > thresholds[j]) label++;
            target[i] = (byte)label;
        }
        return labels;
    }

    private static int Level(float value, int top)
    {
        var rounded = MathF.Round(value);
        return rounded <= 0 ? 0 : rounded >= top ? top : (int)rounded;
    }
}
