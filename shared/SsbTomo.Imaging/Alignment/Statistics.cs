using System.Buffers;
using System.Numerics;

namespace SsbTomo.Imaging.Alignment;

/// <summary>Order statistics (the float-span ones reorder the span).</summary>
internal static class Statistics
{
    /// <summary>
    /// A Gaussian's standard deviation per median absolute deviation, 1/Φ⁻¹(3/4) (Rousseeuw &amp; Croux 1993, J. Am. Stat.
    /// Assoc. 88:1273): the robust scale of the biweight fits and histogram spreads.
    /// </summary>
    public const double GaussianSdPerMad = 1.4826;

    /// <summary>
    /// The first value in <paramref name="order"/> (ascending, equal values in index order) at which the running weight
    /// reaches half of <paramref name="total"/>.
    /// </summary>
    public static double WeightedMedian(ReadOnlySpan<double> values, ReadOnlySpan<double> weights, ReadOnlySpan<int> order, double total)
    {
        double acc = 0;
        foreach (int i in order)
        {
            acc += weights[i];
            if (acc >= 0.5 * total) return values[i];
        }
        return values[order[^1]];
    }

    /// <summary>The median of a few numbers (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var n = sorted.Length;
        if (n == 0) throw new ArgumentException("no values", nameof(values));
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    public static float Median(Span<float> values)
    {
        int n = values.Length;
        if (n == 0) throw new ArgumentException("no values", nameof(values));
        float upper = Select(values, n / 2);
        if (n % 2 == 1) return upper;
        // The largest of the lower half is the lower median.
        float lower = float.NegativeInfinity;
        for (int i = 0; i < n / 2; i++) lower = Math.Max(lower, values[i]);
        return 0.5f * (lower + upper);
    }

    /// <summary>Percentile in [0, 100] with linear interpolation between order statistics (numpy's default).</summary>
    public static double Percentile(Span<float> values, double percent)
    {
        int n = values.Length;
        if (n == 0) throw new ArgumentException("no values", nameof(values));
        double position = Math.Clamp(percent, 0, 100) / 100 * (n - 1);
        int k = (int)Math.Floor(position);
        double frac = position - k;
        float a = Select(values, k);
        if (frac == 0 || k + 1 >= n) return a;
        // After Select, elements k+1.. are >= a; the next order statistic is their minimum.
        float b = float.PositiveInfinity;
        for (int i = k + 1; i < n; i++) b = Math.Min(b, values[i]);
        return a + frac * (b - a);
    }

    /// <summary>
    /// <see cref="Percentile"/> at <paramref name="lowPercent"/> and <paramref name="highPercent"/> of the finite values
    /// among samples[0], samples[stride], samples[2 stride], ..., without copying or reordering them. The order statistics
    /// the percentiles interpolate between are found by value: a histogram of the top 16 bits of an order-preserving key of
    /// each value says which bins hold them, and a quickselect among the few values of those bins gives them. A selection
    /// returns one of the values equal to the order statistic, so this is <see cref="Percentile"/> bit for bit, except that
    /// equal zeros may differ in sign; when a percentile rests on a zero, it is taken by <see cref="Percentile"/> itself.
    /// Two passes over the samples instead of two quickselects over all of them (a fifth of the time on a 1024² slice); the
    /// gathering pass compares each sample with the distinct bins only (the ranks and their next mostly share one).
    /// </summary>
    /// <returns>The two percentiles, or null when no sample is finite.</returns>
    public static (double Low, double High)? Percentiles(ReadOnlySpan<float> samples, int stride, double lowPercent, double highPercent)
    {
        Span<(double Low, double High)> result = stackalloc (double, double)[1];
        return Percentiles(samples, stride, [(lowPercent, highPercent)], result) ? result[0] : null;
    }

    /// <summary>
    /// As the pair overload for several pairs of percentiles of the same samples at once: one histogram pass and one
    /// gathering pass for all of them. <paramref name="results"/>[k] is the pair overload's result for
    /// <paramref name="pairs"/>[k], bit for bit (a pair that rests on a zero takes <see cref="Percentile"/> of its own copy).
    /// </summary>
    /// <returns>false when no sample is finite (<paramref name="results"/> untouched).</returns>
    public static bool Percentiles(ReadOnlySpan<float> samples, int stride, ReadOnlySpan<(double Low, double High)> pairs,
        Span<(double Low, double High)> results)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        if (results.Length < pairs.Length) throw new ArgumentException($"{results.Length} results for {pairs.Length} pairs", nameof(results));
        var pool = ArrayPool<int>.Shared;
        var counts = pool.Rent(KeyBins);
        try
        {
            Array.Clear(counts, 0, KeyBins);
            int n = 0;
            for (int i = 0; i < samples.Length; i += stride)
            {
                float v = samples[i];
                if (!float.IsFinite(v)) continue;
                counts[Key(v) >> KeyShift]++;
                n++;
            }
            if (n == 0) return false;
            // Per pair: the low percentile's rank and the next, the high one's rank and the next.
            Span<int> ranks = stackalloc int[4 * pairs.Length];
            Span<double> fractions = stackalloc double[2 * pairs.Length];
            for (int k = 0; k < pairs.Length; k++)
            {
                (ranks[4 * k], ranks[4 * k + 1], fractions[2 * k]) = Ranks(n, pairs[k].Low);
                (ranks[4 * k + 2], ranks[4 * k + 3], fractions[2 * k + 1]) = Ranks(n, pairs[k].High);
            }
            Span<float> values = stackalloc float[ranks.Length];
            OrderStatistics(samples, stride, counts, ranks, values);
            float[]? copy = null;
            for (int k = 0; k < pairs.Length; k++)
            {
                var own = values.Slice(4 * k, 4);
                if (own.Contains(0f))
                {
                    // A zero: its sign is whichever equal zero a quickselect of all the values (in sample order) stops at.
                    copy ??= new float[n];
                    for (int i = 0, j = 0; i < samples.Length; i += stride)
                        if (float.IsFinite(samples[i])) copy[j++] = samples[i];
                    results[k] = (Percentile(copy, pairs[k].Low), Percentile(copy, pairs[k].High));
                    continue;
                }
                results[k] = (Interpolate(own[0], own[1], fractions[2 * k], ranks[4 * k + 1] != ranks[4 * k]),
                    Interpolate(own[2], own[3], fractions[2 * k + 1], ranks[4 * k + 3] != ranks[4 * k + 2]));
            }
            return true;
        }
        finally
        {
            pool.Return(counts);
        }
    }

    private const int KeyShift = 16;
    private const int KeyBins = 1 << (32 - KeyShift);

    /// <summary>Unsigned keys in the order of the floats (-0 just below +0).</summary>
    private static uint Key(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    /// <summary>Percentile's order statistic k, the next one when it interpolates towards it (else k again), and the fraction.</summary>
    private static (int Rank, int Next, double Fraction) Ranks(int n, double percent)
    {
        double position = Math.Clamp(percent, 0, 100) / 100 * (n - 1);
        int k = (int)Math.Floor(position);
        double frac = position - k;
        return frac == 0 || k + 1 >= n ? (k, k, frac) : (k, k + 1, frac);
    }

    private static double Interpolate(float a, float b, double fraction, bool interpolates) => interpolates ? a + fraction * (b - a) : a;

    /// <summary>values[j] = the ranks[j]-th smallest finite sample, from the key histogram <paramref name="counts"/>.</summary>
    private static void OrderStatistics(ReadOnlySpan<float> samples, int stride, int[] counts, ReadOnlySpan<int> ranks, Span<float> values)
    {
        // Which bin holds each rank, and how many values lie in the bins below it.
        Span<int> bins = stackalloc int[ranks.Length];
        Span<int> below = stackalloc int[ranks.Length];
        for (int j = 0; j < ranks.Length; j++)
        {
            int bin = 0, before = 0;
            while (before + counts[bin] <= ranks[j]) before += counts[bin++];
            (bins[j], below[j]) = (bin, before);
        }
        // The values of those bins (a few distinct ones: ranks and their next mostly share one), gathered in one pass.
        Span<int> distinct = stackalloc int[ranks.Length];
        Span<int> slot = stackalloc int[ranks.Length];
        int distinctCount = 0;
        for (int j = 0; j < ranks.Length; j++)
        {
            int found = distinct[..distinctCount].IndexOf(bins[j]);
            if (found < 0) distinct[found = distinctCount++] = bins[j];
            slot[j] = found;
        }
        var members = new float[distinctCount][];
        var filled = new int[distinctCount];
        for (int u = 0; u < distinctCount; u++) members[u] = new float[counts[distinct[u]]];
        distinct = distinct[..distinctCount];
        for (int i = 0; i < samples.Length; i += stride)
        {
            float v = samples[i];
            if (!float.IsFinite(v)) continue;
            int bin = (int)(Key(v) >> KeyShift);
            // The distinct bins compared in line: a span search per sample was 3 % of the alignment's CPU.
            for (int u = 0; u < distinct.Length; u++)
                if (distinct[u] == bin)
                {
                    members[u][filled[u]++] = v;
                    break;
                }
        }
        for (int j = 0; j < ranks.Length; j++) values[j] = Select(members[slot[j]].AsSpan(), ranks[j] - below[j]);
    }

    /// <summary>
    /// Quickselect: returns the k-th smallest; afterwards values[..k] &lt;= values[k] &lt;= values[k+1..]. Each round
    /// partitions the range around the median of three without data-dependent branches (Lomuto's scheme with the swap
    /// done every step and the boundary moved by the comparison's 0 or 1, as in Edelkamp &amp; Weiß 2016, "BlockQuicksort:
    /// avoiding branch mispredictions in quicksort", ESA: on noisy data half the comparisons of Hoare's scheme mispredict),
    /// then the values equal to the pivot after the smaller ones; short ranges are finished by insertion. Order
    /// statistics are values, so any scheme returns the same one.
    /// </summary>
    public static T Select<T>(Span<T> values, int k) where T : INumber<T>
    {
        int lo = 0, hi = values.Length - 1;
        while (hi - lo > InsertionRange)
        {
            T pivot = MedianOfThree(values[lo], values[(lo + hi) >> 1], values[hi]);
            int below = Partition(values, lo, hi, pivot, orEqual: false);
            if (k < below) { hi = below - 1; continue; }
            int equal = Partition(values, below, hi, pivot, orEqual: true);
            if (equal == below) return HoareSelect(values, k, lo, hi); // a NaN pivot: nothing compares
            if (k < equal) return values[k];
            lo = equal;
        }
        for (int i = lo + 1; i <= hi; i++)
        {
            T v = values[i];
            int j = i - 1;
            for (; j >= lo && values[j] > v; j--) values[j + 1] = values[j];
            values[j + 1] = v;
        }
        return values[k];
    }

    private const int InsertionRange = 16;

    /// <summary>Moves the values of [lo, hi] below the pivot (or equal to it too) to its front, in one branch-free pass; returns where the others start.</summary>
    private static int Partition<T>(Span<T> values, int lo, int hi, T pivot, bool orEqual) where T : INumber<T>
    {
        int store = lo;
        if (orEqual)
            for (int i = lo; i <= hi; i++)
            {
                T v = values[i];
                values[i] = values[store];
                values[store] = v;
                store += v <= pivot ? 1 : 0;
            }
        else
            for (int i = lo; i <= hi; i++)
            {
                T v = values[i];
                values[i] = values[store];
                values[store] = v;
                store += v < pivot ? 1 : 0;
            }
        return store;
    }

    private static T HoareSelect<T>(Span<T> values, int k, int lo, int hi) where T : INumber<T>
    {
        while (lo < hi)
        {
            T pivot = MedianOfThree(values[lo], values[(lo + hi) >> 1], values[hi]);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j) { (values[i], values[j]) = (values[j], values[i]); i++; j--; }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return values[k];
        }
        return values[k];
    }

    private static T MedianOfThree<T>(T a, T b, T c) where T : INumber<T> => T.Max(T.Min(a, b), T.Min(T.Max(a, b), c));
}
