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
        // Four tallies, voxel i into tally i mod 4: neighbouring voxels mostly fall in one bin, and the increments of one
        // counter wait on each other (a full-volume histogram was 2 % of the alignment's and 10 % of the denoising's CPU).
        return CountPerSlice(values.Depth, bins, (z, counts) =>
        {
            var slice = values.Slice(z);
            var i = 0;
            for (; i + 4 <= slice.Length; i += 4)
            {
                counts[binOfGrey[slice[i]]]++;
                counts[bins + binOfGrey[slice[i + 1]]]++;
                counts[2 * bins + binOfGrey[slice[i + 2]]]++;
                counts[3 * bins + binOfGrey[slice[i + 3]]]++;
            }
            for (; i < slice.Length; i++) counts[binOfGrey[slice[i]]]++;
        }, tallies: 4);
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

    /// <summary>Sums <paramref name="countSlice"/>'s counts over the slices; it may count into <paramref name="tallies"/> arrays of bins, one after the other.</summary>
    private static long[] CountPerSlice(int depth, int bins, Action<int, long[]> countSlice, int tallies = 1)
    {
        var total = new long[bins];
        var gate = new object();
        Parallel.For(0, depth, () => new long[tallies * bins], (z, _, local) =>
        {
            countSlice(z, local);
            return local;
        }, local =>
        {
            lock (gate)
                for (var i = 0; i < local.Length; i++) total[i % bins] += local[i];
        });
        return total;
    }
}
