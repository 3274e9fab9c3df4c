namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Multi-level Otsu thresholds on a histogram: the split into <c>classes</c> contiguous bin ranges that
/// maximises the between-class variance Σ_k P_k (μ_k − μ)². Found exactly by dynamic programming in
/// O(classes · bins²) over the histogram trimmed of empty end bins (as skimage trims), with exact integer
/// moments. A threshold index t means "bins ≤ t are in the darker class", as in
/// skimage.filters.threshold_multiotsu(hist=h), which returns these same indices (its bin centres are
/// 0..n-1 when only counts are given). Ties go to the smaller index.
/// </summary>
public static class MultiOtsu
{
    public static int[] Thresholds(long[] histogram, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        var first = Array.FindIndex(histogram, c => c > 0);
        var last = Array.FindLastIndex(histogram, c => c > 0);
        if (histogram.Any(c => c < 0)) throw new ArgumentException("histogram has negative counts", nameof(histogram));
        var occupied = histogram.Count(c => c > 0);
        if (occupied < classes)
            throw new ArgumentException($"histogram has only {occupied} occupied bins, cannot split into {classes} classes", nameof(histogram));

        var n = last - first + 1;
        // Exact prefix moments over the trimmed range: count and Σ i·count with i relative to `first`.
        var cumulativeCount = new long[n + 1];
        var cumulativeMoment = new long[n + 1];
        for (var i = 0; i < n; i++)
        {
            cumulativeCount[i + 1] = cumulativeCount[i] + histogram[first + i];
            cumulativeMoment[i + 1] = checked(cumulativeMoment[i] + (long)i * histogram[first + i]);
        }
        var meanIndex = (double)cumulativeMoment[n] / cumulativeCount[n];

        // Contribution of bins [a, b] (inclusive, trimmed indices): P·(μ_class − μ)² · N = (S − μ·P)² / P.
        double ClassScore(int a, int b)
        {
            var count = cumulativeCount[b + 1] - cumulativeCount[a];
            if (count == 0) return 0;
            var centred = (cumulativeMoment[b + 1] - cumulativeMoment[a]) - meanIndex * count;
            return centred * centred / count;
        }

        // best[k][j]: highest score splitting bins [0, j] into k+1 classes; split[k][j]: end of class k-1.
        var best = new double[classes][];
        var split = new int[classes][];
        best[0] = new double[n];
        split[0] = new int[n];
        for (var j = 0; j < n; j++) best[0][j] = ClassScore(0, j);
        for (var k = 1; k < classes; k++)
        {
            best[k] = new double[n];
            split[k] = new int[n];
            for (var j = k; j < n; j++)
            {
                var bestScore = double.NegativeInfinity;
                var bestSplit = -1;
                for (var i = k - 1; i < j; i++)
                {
                    var score = best[k - 1][i] + ClassScore(i + 1, j);
                    if (score > bestScore)
                    {
                        bestScore = score;
                        bestSplit = i;
                    }
                }
                best[k][j] = bestScore;
                split[k][j] = bestSplit;
            }
        }

        var thresholds = new int[classes - 1];
        var end = n - 1;
        for (var k = classes - 1; k >= 1; k--)
        {
            end = split[k][end];
            thresholds[k - 1] = end + first;
        }
        return thresholds;
    }

    /// <summary>
    /// Intensity at which a threshold bin index separates classes: the upper edge of the bin, so that
    /// "value &lt; threshold" selects exactly the histogram bins ≤ binIndex.
    /// </summary>
    public static double ToIntensity(int binIndex, int bins, double min, double max) =>
        Histogram.LowerEdge(binIndex + 1, bins, min, max);

    /// <summary>Thresholds in intensity units, ascending (see <see cref="ToIntensity"/>).</summary>
    public static double[] ToIntensities(int[] thresholdBins, int bins, double min, double max) =>
        Array.ConvertAll(thresholdBins, t => ToIntensity(t, bins, min, max));

    /// <summary>Mean intensity of each class (bin centres weighted by counts), darkest class first; NaN for an empty class.</summary>
    public static double[] ClassMeans(long[] histogram, int[] thresholdBins, double min, double max)
    {
        var means = new double[thresholdBins.Length + 1];
        var start = 0;
        for (var k = 0; k < means.Length; k++)
        {
            var end = k < thresholdBins.Length ? thresholdBins[k] : histogram.Length - 1;
            double count = 0, sum = 0;
            for (var i = start; i <= end; i++)
            {
                count += histogram[i];
                sum += histogram[i] * Histogram.Centre(i, histogram.Length, min, max);
            }
            means[k] = count > 0 ? sum / count : double.NaN;
            start = end + 1;
        }
        return means;
    }
}
