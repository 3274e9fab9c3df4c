using System.Numerics;

namespace SsbTomo.Imaging.Alignment;

/// <summary>Order statistics (the float-span ones reorder the span).</summary>
internal static class Statistics
{
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

    /// <summary>Quickselect: returns the k-th smallest; afterwards values[..k] &lt;= values[k] &lt;= values[k+1..].</summary>
    public static T Select<T>(Span<T> values, int k) where T : INumber<T>
    {
        int lo = 0, hi = values.Length - 1;
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
