namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Evenly spaced histogram bins [Origin + i·Width, Origin + (i+1)·Width), i = 0..Count-1, laid out so that quantised
/// image values fill them evenly.
/// <para>
/// Why: an 8-bit slice with little noise has a few dozen to a couple of hundred distinct grey levels in its robust
/// range. Cut into a fixed number of bins that do not hold a whole number of levels each, its histogram is a comb
/// (bins with one level, bins with two, empty bins), and any walk along the histogram stops at the first tooth. When
/// the values are whole numbers, the bins here hold the same whole number of levels each, their edges half-way between
/// levels.
/// </para>
/// </summary>
internal readonly record struct HistogramBins(double Origin, double Width, int Count)
{

    /// <summary>The bin of <paramref name="value"/>; outside [0, Count) when the value lies outside the bins.</summary>
    public int BinOf(double value) => (int)Math.Floor((value - Origin) / Width);

    public double Edge(int bin) => Origin + bin * Width;

    public double End => Origin + Count * Width;

    /// <summary>
    /// Bins covering [<paramref name="low"/>, <paramref name="high"/>]. When every finite sample is a whole number the
    /// values lie on a lattice v0 + j·q, q the greatest common divisor of their differences (1 for 8- and 16-bit data,
    /// 256 or 257 for 8-bit data scaled into 16 bits); each bin then holds k = ceil(levels / maxBins) lattice levels.
    /// Otherwise <paramref name="maxBins"/> bins of equal width span [low, high].
    /// </summary>
    public static HistogramBins Spanning(ReadOnlySpan<float> samples, double low, double high, int maxBins)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBins, 1);
        if (!(high > low)) throw new ArgumentException($"empty range [{low}, {high}]");
        if (Lattice(samples) is { } lattice)
        {
            var (origin, step) = lattice;
            var first = origin + step * Math.Ceiling((low - origin) / step);
            var last = origin + step * Math.Floor((high - origin) / step);
            if (last >= first)
            {
                var levels = (long)Math.Round((last - first) / step) + 1;
                var perBin = (int)((levels + maxBins - 1) / maxBins);
                var count = (int)((levels + perBin - 1) / perBin);
                return new HistogramBins(first - step / 2, perBin * step, count);
            }
        }
        return new HistogramBins(low, (high - low) / maxBins, maxBins);
    }

    /// <summary>(a level, the lattice step) when every finite sample is a whole number and not all are equal; else null.</summary>
    private static (double Origin, double Step)? Lattice(ReadOnlySpan<float> samples)
    {
        long? origin = null;
        long step = 0;
        foreach (var v in samples)
        {
            if (!float.IsFinite(v)) continue;
            if (Math.Abs(v) > IntegerMath.LargestExactSingle || v != MathF.Round(v)) return null;
            var level = (long)v;
            origin ??= level;
            if (step != 1) step = IntegerMath.Gcd(step, Math.Abs(level - origin.Value));
        }
        return origin is { } o && step > 0 ? (o, step) : null;
    }
}
