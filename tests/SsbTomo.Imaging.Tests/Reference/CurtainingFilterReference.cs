using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Reference;

// The curtaining filter before its column medians were gathered in strips (commit bff99f3), kept as the reference; since
// session 50 its block medians read every second row where a block has twice MinRowsPerMedian rows, as the filter does.

/// <summary>
/// Removes FIB curtaining: vertical stripes, i.e. column offsets that persist along y and vary along x.
/// <para>
/// Method: (1) per row, the residual r = image - (running median along x over 2*maxStripeWidthPx+1 px). A median
/// keeps step edges (particle boundaries) intact, so r holds narrow column anomalies - stripes - plus only thin
/// features such as small pores and corners. (2) per column, the stripe offset is the median of r over blocks of
/// rows (blockHeightPx); a vertical particle edge or a pore occupies a minority of the rows of a block, so the
/// median ignores it, whereas a stripe is present in every row. Offsets are interpolated linearly between block
/// centres, which follows curtains that fade along y. (3) the offset is subtracted. Unlike FFT/wavelet notch
/// filters (Münch et al. 2009) this never rings around bright particles and needs no tuning of a damping width.
/// Stripes wider than maxStripeWidthPx are left alone (treat them as background: see IntensityNormalization).
/// Apply to raw slices (before alignment): NaN pixels pass through unchanged and are ignored in the statistics.
/// </para>
/// </summary>
internal static class CurtainingFilterReference
{
    public static Image2D<float> Remove(Image2D<float> image, int maxStripeWidthPx = 12, int blockHeightPx = 256, Image2D<float>? output = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStripeWidthPx, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockHeightPx, 1);
        int h = image.Height, w = image.Width;
        output ??= new Image2D<float>(h, w);
        if (output.Height != h || output.Width != w)
            throw new ArgumentException($"output is {output.Height}x{output.Width}, image is {h}x{w}", nameof(output));

        int blocks = Math.Max(1, (int)Math.Round((double)h / blockHeightPx));
        var offsets = new float[blocks * w]; // [block * w + x]
        var src = image.Pixels;
        var dst = output.Pixels;
        double blockHeight = (double)h / blocks;
        // The running median of a striped row is itself pulled by the stripes in its window; re-estimating on the
        // corrected image removes most of that (3 passes: 67 % -> 85 % of the stripe energy removed in the test; the rest is the stripe pattern's content at wavelengths beyond the median window).
        var current = image;
        for (int pass = 0; pass < Passes; pass++)
        {
            var residual = RowResidual(current, maxStripeWidthPx);
            var increment = ColumnBlockMedians(residual, h, w, blocks);
            for (int i = 0; i < offsets.Length; i++) offsets[i] += increment[i];
            ApplyOffsets(src, dst, offsets, h, w, blocks, blockHeight);
            current = output;
        }
        return output;
    }

    private const int Passes = 3;

    private static void ApplyOffsets(float[] src, float[] dst, float[] offsets, int h, int w, int blocks, double blockHeight)
    {
        Parallel.For(0, h, y =>
        {
            // Position between block centres.
            double t = (y + 0.5) / blockHeight - 0.5;
            int b0 = Math.Clamp((int)Math.Floor(t), 0, blocks - 1);
            int b1 = Math.Min(b0 + 1, blocks - 1);
            float f = (float)Math.Clamp(t - b0, 0, 1);
            int r = y * w;
            for (int x = 0; x < w; x++)
            {
                float o = (1 - f) * offsets[b0 * w + x] + f * offsets[b1 * w + x];
                dst[r + x] = src[r + x] - o;
            }
        });
    }

    /// <summary>image - running median along x (window 2*halfWidth+1, mirrored at the ends); NaN stays NaN.</summary>
    private static float[] RowResidual(Image2D<float> image, int halfWidth)
    {
        int h = image.Height, w = image.Width;
        var residual = new float[h * w];
        int window = 2 * halfWidth + 1;
        Parallel.For(0, h, () => (new float[w + 2 * halfWidth], new float[window]), (y, _, buffers) =>
        {
            var (padded, sorted) = buffers;
            var row = image.Row(y);
            for (int i = 0; i < padded.Length; i++)
            {
                float v = row[Mirror(i - halfWidth, w)];
                padded[i] = float.IsFinite(v) ? v : 0f;
            }
            padded.AsSpan(0, window).CopyTo(sorted);
            Array.Sort(sorted);
            var dst = residual.AsSpan(y * w, w);
            for (int x = 0; x < w; x++)
            {
                if (x > 0)
                {
                    Replace(sorted, padded[x - 1], padded[x + window - 1]);
                }
                dst[x] = row[x] - sorted[halfWidth];
            }
            return buffers;
        }, _ => { });
        return residual;
    }

    /// <summary>Removes one occurrence of outgoing from the sorted window and inserts incoming, keeping order.</summary>
    private static void Replace(float[] sorted, float outgoing, float incoming)
    {
        int i = Array.BinarySearch(sorted, outgoing);
        if (i < 0) i = ~i; // cannot happen for exact copies; defensive
        i = Math.Min(i, sorted.Length - 1);
        // Shift to close the gap and open one at the right place.
        while (i > 0 && sorted[i - 1] > incoming) { sorted[i] = sorted[i - 1]; i--; }
        while (i < sorted.Length - 1 && sorted[i + 1] < incoming) { sorted[i] = sorted[i + 1]; i++; }
        sorted[i] = incoming;
    }

    private static float[] ColumnBlockMedians(float[] residual, int h, int w, int blocks)
    {
        var offsets = new float[blocks * w];
        Parallel.For(0, w, () => new float[h], (x, _, column) =>
        {
            for (int b = 0; b < blocks; b++)
            {
                int y0 = (int)((long)b * h / blocks), y1 = (int)((long)(b + 1) * h / blocks);
                int stride = h / blocks >= 2 * CurtainingFilter.MinRowsPerMedian ? 2 : 1;
                int n = 0;
                for (int y = y0; y < y1; y++)
                {
                    if (y % stride != 0) continue;
                    float v = residual[y * w + x];
                    if (float.IsFinite(v)) column[n++] = v;
                }
                offsets[b * w + x] = n == 0 ? 0f : Statistics.Median(column.AsSpan(0, n));
            }
            return column;
        }, _ => { });
        return offsets;
    }

    private static int Mirror(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
}
