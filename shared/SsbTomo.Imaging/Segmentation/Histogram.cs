namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Fixed-bin intensity histograms. Bins are equal-width over [min, max); values below min go to bin 0,
/// values at or above max to the last bin, NaN is skipped. With the same (bins, min, max) everywhere,
/// per-chunk histograms add exactly (<see cref="Merge"/>), so thresholds can be chosen for a whole stack.
/// </summary>
public static class Histogram
{
    /// <summary>Usual setting for 16-bit greyscale: 4096 bins of 16 grey levels over [0, 65536).</summary>
    public const int DefaultBins = 4096;
    public const double DefaultMin = 0;
    public const double DefaultMax = 65536;

    public static long[] Compute(Volume<float> values, int bins, double min, double max)
    {
        ValidateRange(bins, min, max);
        return CountPerSlice(values.Depth, bins, (z, counts) =>
        {
            foreach (var v in values.Slice(z))
                if (!float.IsNaN(v)) counts[BinOf(v, bins, min, max)]++;
        });
    }

    public static long[] Compute(Volume<ushort> values, int bins, double min, double max)
    {
        ValidateRange(bins, min, max);
        var binOfGrey = new int[ushort.MaxValue + 1];
        for (var g = 0; g < binOfGrey.Length; g++) binOfGrey[g] = BinOf(g, bins, min, max);
        return CountPerSlice(values.Depth, bins, (z, counts) =>
        {
            foreach (var v in values.Slice(z)) counts[binOfGrey[v]]++;
        });
    }

    /// <summary>Bin-wise sum of histograms with identical binning.</summary>
    public static long[] Merge(params IReadOnlyList<long[]> histograms)
    {
        if (histograms.Count == 0) throw new ArgumentException("nothing to merge", nameof(histograms));
        var merged = new long[histograms[0].Length];
        foreach (var h in histograms)
        {
            if (h.Length != merged.Length)
                throw new ArgumentException($"histograms have different bin counts ({h.Length} vs {merged.Length})", nameof(histograms));
            for (var i = 0; i < merged.Length; i++) merged[i] += h[i];
        }
        return merged;
    }

    /// <summary>Bin of <paramref name="value"/>: floor((value - min) / (max - min) · bins), clamped.</summary>
    public static int BinOf(double value, int bins, double min, double max)
    {
        var position = Math.Floor((value - min) / (max - min) * bins);
        return position < 0 ? 0 : position >= bins ? bins - 1 : (int)position;
    }

    /// <summary>Lower edge of <paramref name="binIndex"/> in intensity units.</summary>
    public static double LowerEdge(int binIndex, int bins, double min, double max) => min + binIndex * (max - min) / bins;

    /// <summary>Centre of <paramref name="binIndex"/> in intensity units.</summary>
    public static double Centre(int binIndex, int bins, double min, double max) => min + (binIndex + 0.5) * (max - min) / bins;

    private static void ValidateRange(int bins, double min, double max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        if (!(max > min)) throw new ArgumentOutOfRangeException(nameof(max), $"max {max} must exceed min {min}");
    }

    private static long[] CountPerSlice(int depth, int bins, Action<int, long[]> countSlice)
    {
        var total = new long[bins];
        var gate = new object();
        Parallel.For(0, depth, () => new long[bins], (z, _, local) =>
        {
            countSlice(z, local);
            return local;
        }, local =>
        {
            lock (gate)
                for (var i = 0; i < bins; i++) total[i] += local[i];
        });
        return total;
    }
}
