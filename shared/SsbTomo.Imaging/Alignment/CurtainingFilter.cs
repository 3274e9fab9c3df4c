using System.Numerics;
using System.Runtime.InteropServices;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Removes FIB curtaining: vertical stripes, i.e. column offsets that persist along y and vary along x.
/// <para>
/// Method: (1) per row, the residual r = image - (running median along x over 2*maxStripeWidthPx+1 px). A median
/// keeps step edges (particle boundaries) intact, so r holds narrow column anomalies - stripes - plus only thin
/// features such as small pores and corners. (2) per column, the stripe offset is the median of r over blocks of
/// rows (blockHeightPx); a vertical particle edge or a pore occupies a minority of the rows of a block, so the
/// median ignores it, whereas a stripe is present in every row. Offsets are interpolated linearly between block
/// centres, which follows curtains that fade along y. (3) the offset is subtracted. Where a block has at least twice
/// <see cref="MinRowsPerMedian"/> rows, (1) and (2) run on every second row (a stripe is in every row, so half of a
/// block's rows measure it as well; the subtraction covers every row). Unlike FFT/wavelet notch
/// filters (Münch et al. 2009) this never rings around bright particles and needs no tuning of a damping width.
/// Stripes wider than maxStripeWidthPx are left alone (treat them as background: see IntensityNormalization).
/// Apply to raw slices (before alignment): NaN pixels pass through unchanged and are ignored in the statistics.
/// </para>
/// </summary>
public static class CurtainingFilter
{
    /// <param name="maxThreads">Threads the filter may use (<see cref="KernelThreads"/>); the pixels are the same for any.</param>
    public static Image2D<float> Remove(Image2D<float> image, int maxStripeWidthPx = 12, int blockHeightPx = 256, Image2D<float>? output = null, int maxThreads = KernelThreads.All) =>
        Remove(image, out _, maxStripeWidthPx, blockHeightPx, output, maxThreads);

    /// <summary>
    /// Like <see cref="Remove(Image2D{float}, int, int, Image2D{float}?)"/>, and gives what it subtracted:
    /// <paramref name="offsets"/>.<see cref="CurtainOffsets.Apply"/> on the same image gives the same pixels, bit for bit,
    /// without the running medians (the alignment's shift pass replays the measurement pass's filter this way).
    /// </summary>
    public static Image2D<float> Remove(Image2D<float> image, out CurtainOffsets offsets, int maxStripeWidthPx = 12, int blockHeightPx = 256, Image2D<float>? output = null,
        int maxThreads = KernelThreads.All) =>
        Remove(image, out offsets, maxStripeWidthPx, blockHeightPx, output, maxThreads, rowStride: 0);

    /// <summary>As the public overload; <paramref name="rowStride"/> &gt; 0 fixes the rows' stride (tests: every row against every second).</summary>
    internal static Image2D<float> Remove(Image2D<float> image, out CurtainOffsets offsets, int maxStripeWidthPx, int blockHeightPx, Image2D<float>? output,
        int maxThreads, int rowStride)
    {
        ArgumentNullException.ThrowIfNull(image);
        KernelThreads.Check(maxThreads);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStripeWidthPx, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockHeightPx, 1);
        int h = image.Height, w = image.Width;
        output ??= new Image2D<float>(h, w);
        if (output.Height != h || output.Width != w)
            throw new ArgumentException($"output is {output.Height}x{output.Width}, image is {h}x{w}", nameof(output));

        int blocks = Math.Max(1, (int)Math.Round((double)h / blockHeightPx));
        int stride = rowStride > 0 ? rowStride : RowStride(h, blocks);
        int sampledRows = (h + stride - 1) / stride;
        var total = new float[blocks * w]; // [block * w + x]
        var src = image.Pixels;
        var dst = output.Pixels;
        // The running median of a striped row is itself pulled by the stripes in its window; re-estimating on the
        // corrected image removes most of that (3 passes: 67 % -> 85 % of the stripe energy removed in the test; the rest is the stripe pattern's content at wavelengths beyond the median window).
        var current = image;
        // One residual image serves the three passes; every pass writes all of it before reading it.
        var residual = LargeArrayPool<float>.Shared.Rent(sampledRows * w);
        try
        {
            for (int pass = 0; pass < Passes; pass++)
            {
                RowResidual(current, maxStripeWidthPx, stride, residual, maxThreads);
                var increment = ColumnBlockMedians(residual, h, w, blocks, stride, maxThreads);
                for (int i = 0; i < total.Length; i++) total[i] += increment[i];
                CurtainOffsets.Subtract(src, dst, total, h, w, blocks, maxThreads);
                current = output;
            }
        }
        finally
        {
            LargeArrayPool<float>.Shared.Return(residual);
        }
        offsets = new CurtainOffsets(h, w, blocks, total);
        return output;
    }

    private const int Passes = 3;

    /// <summary>
    /// Fewest rows a column's block median is taken over. The column medians and the running medians of the rows they read
    /// were two thirds of the filter's cost, which was a quarter of the alignment's (a 1536x2048 slice: 143 CPU-ms); a
    /// median of 128 residuals still ignores a particle edge or pore in a minority of them. A sample-size floor (speed against
    /// precision), not a property of a specimen or a detector: checked against every row on the held-out family members
    /// 331-350 (256-row slices), six family members of 1024x1024 slices in 8 and 16 bits and the real 8-bit C. elegans stack
    /// (issue notes, session 51).
    /// </summary>
    public const int MinRowsPerMedian = 128;

    /// <summary>Every how many rows the residuals are taken: 2 where each block has at least twice <see cref="MinRowsPerMedian"/> rows, else 1.</summary>
    internal static int RowStride(int height, int blocks) => SliceSampling.RowStep(height / blocks, MinRowsPerMedian);

    /// <summary>
    /// image - running median along x (window 2*halfWidth+1, mirrored at the ends) of every <paramref name="stride"/>th row,
    /// into consecutive rows of <paramref name="residual"/>; NaN stays NaN. The default 25-pixel window takes its medians from <see cref="MedianOf25"/>, eight at a time, in
    /// every row without -0 (the network's medians are then the sorted window's values exactly); other windows and such
    /// rows keep a sorted window that slides along the row.
    /// </summary>
    private static void RowResidual(Image2D<float> image, int halfWidth, int stride, float[] residual, int maxThreads)
    {
        int h = (image.Height + stride - 1) / stride, w = image.Width;
        int window = 2 * halfWidth + 1;
        bool network = halfWidth == MedianOf25.HalfWidth && w >= MedianOf25.Lanes && MedianOf25.IsAccelerated;
        KernelThreads.For(0, h, maxThreads, () => (new float[w + 2 * halfWidth], new float[window],
            network && MedianOf25.IsQuadAccelerated ? new float[MedianOf25.PhaseScratchLength(w + 2 * halfWidth)] : []), (y, buffers) =>
        {
            var (padded, sorted, phases) = buffers;
            var row = image.Row(y * stride);
            for (int i = 0; i < padded.Length; i++)
            {
                // Mirrored only within halfWidth of the ends; the modulo of Mirror is not worth paying for every pixel.
                int source = i - halfWidth;
                float v = row[source >= 0 && source < w ? source : Mirror(source, w)];
                padded[i] = float.IsFinite(v) ? v : 0f;
            }
            var dst = residual.AsSpan(y * w, w);
            if (network && MemoryMarshal.Cast<float, int>(padded.AsSpan()).IndexOf(NegativeZeroBits) < 0)
            {
                MedianOf25.Residual(row, padded, dst, phases);
                return;
            }
            padded.AsSpan(0, window).CopyTo(sorted);
            Array.Sort(sorted);
            for (int x = 0; x < w; x++)
            {
                if (x > 0)
                {
                    Replace(sorted, padded[x - 1], padded[x + window - 1]);
                }
                dst[x] = row[x] - sorted[halfWidth];
            }
        });
    }

    private static readonly int NegativeZeroBits = BitConverter.SingleToInt32Bits(-0f);

    /// <summary>
    /// Removes one occurrence of outgoing from the sorted window and inserts incoming, keeping order. Positions are counts
    /// (how many values lie below), taken with SIMD compares and no data-dependent branches, and the values in between
    /// move by one block copy: a binary search and an element-by-element insertion mispredict about every other branch.
    /// Equal values are interchangeable, so the window holds the same values in the same order either way.
    /// </summary>
    private static void Replace(float[] sorted, float outgoing, float incoming)
    {
        int removed = CountBelow(sorted, outgoing); // the first occurrence of outgoing
        int below = CountBelow(sorted, incoming);   // where incoming goes, counting outgoing if it is smaller
        if (below > removed)
        {
            // outgoing < incoming: the values between them move down one place.
            Array.Copy(sorted, removed + 1, sorted, removed, below - 1 - removed);
            sorted[below - 1] = incoming;
        }
        else
        {
            Array.Copy(sorted, below, sorted, below + 1, removed - below);
            sorted[below] = incoming;
        }
    }

    /// <summary>How many values are below <paramref name="value"/>.</summary>
    private static int CountBelow(float[] values, float value)
    {
        int count = 0, i = 0, lanes = Vector<float>.Count;
        var threshold = new Vector<float>(value);
        for (; i + lanes <= values.Length; i += lanes)
            count -= Vector.Sum(Vector.LessThan(new Vector<float>(values, i), threshold)); // true lanes are -1
        for (; i < values.Length; i++) count += values[i] < value ? 1 : 0;
        return count;
    }

    /// <summary>Columns whose block medians one worker gathers together, reading rows of this many contiguous pixels.</summary>
    private const int ColumnStrip = 16;

    /// <summary>
    /// Median of each column's residuals over each block of rows (the residuals of every <paramref name="stride"/>th row, consecutive). Whole SIMD widths of columns take their medians from
    /// <see cref="ColumnMedians"/> (a lane per column, ~8x faster than a selection per column: at 1 Gvoxel these medians
    /// were 23 CPU-s, a tenth of the alignment); the columns left at the right edge are gathered a strip at a time along
    /// the rows (a column walk touches one cache line per pixel) and selected one by one, to the same medians.
    /// </summary>
    private static float[] ColumnBlockMedians(float[] residual, int imageHeight, int w, int blocks, int stride, int maxThreads)
    {
        int h = (imageHeight + stride - 1) / stride;
        var offsets = new float[blocks * w];
        int strips = (w + ColumnStrip - 1) / ColumnStrip;
        int lanes = ColumnMedians.Lanes;
        var onLanes = Vector.IsHardwareAccelerated && ColumnStrip % lanes == 0;
        KernelThreads.For(0, strips, maxThreads, () => (new float[ColumnStrip * h], new int[ColumnStrip], new int[ColumnMedians.ScratchLength(h)]), (strip, buffers) =>
        {
            var (columns, counts, keys) = buffers;
            int x0 = strip * ColumnStrip, n = Math.Min(ColumnStrip, w - x0);
            int vectorColumns = onLanes ? n / lanes * lanes : 0;
            for (int b = 0; b < blocks; b++)
            {
                // The sampled rows of the block's image rows [b·H/blocks, (b+1)·H/blocks).
                int y0 = ((int)((long)b * imageHeight / blocks) + stride - 1) / stride, y1 = ((int)((long)(b + 1) * imageHeight / blocks) + stride - 1) / stride;
                for (int j = 0; j < vectorColumns; j += lanes)
                    ColumnMedians.Of(residual, w, y0, y1, x0 + j, offsets.AsSpan(b * w + x0 + j, lanes), keys);
                if (vectorColumns == n) continue;
                Array.Clear(counts);
                for (int y = y0; y < y1; y++)
                {
                    var row = residual.AsSpan(y * w + x0, n);
                    for (int j = vectorColumns; j < row.Length; j++)
                    {
                        float v = row[j];
                        if (float.IsFinite(v)) columns[j * h + counts[j]++] = v;
                    }
                }
                for (int j = vectorColumns; j < n; j++)
                    offsets[b * w + x0 + j] = counts[j] == 0 ? 0f : Statistics.Median(columns.AsSpan(j * h, counts[j])) + 0f; // a zero median as +0, as ColumnMedians gives it
            }
        });
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
