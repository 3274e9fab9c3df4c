using System.Numerics;
using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// What one slab contributes to the stack's curtain steps: for every pair of neighbouring image columns (x, x + 1),
/// indexed by x, how many grey-level differences between them were kept (<see cref="Kept"/>: those around the noise
/// peak of their slice's block of rows) and their sum (<see cref="Sums"/>). Differences of integer grey levels are integers, so
/// slabs add in any order to the same bytes.
/// </summary>
public sealed record ColumnStepSums(long[] Kept, long[] Sums)
{
    public static ColumnStepSums Empty(int width) => new(new long[width], new long[width]);

    public int Width => Kept.Length;

    /// <summary>Adds <paramref name="part"/> pair by pair into this (same width).</summary>
    public void Add(ColumnStepSums part)
    {
        ArgumentNullException.ThrowIfNull(part);
        if (part.Width != Width || part.Sums.Length != Width || Sums.Length != Width)
            throw new ArgumentException($"sums of {part.Width} columns added to sums of {Width}", nameof(part));
        for (var x = 0; x < Width; x++)
        {
            Kept[x] += part.Kept[x];
            Sums[x] += part.Sums[x];
        }
    }
}

/// <summary>
/// Curtain stripes that the alignment's per-slice filter leaves. Milling curtains are grooves in the specimen's face,
/// so in the aligned stack they stand still: the same columns read darker (or brighter) in every slice, over every
/// phase. <see cref="CurtainingFilter"/>'s running median along x removes stripes narrower than about half its window;
/// wider ones (3-40 px are common) survive into the denoised volume and move whole particles across a threshold (a
/// phantom drawn with 25-30 grey-level stripes against a 40-level electrolyte-to-NMC contrast lost 3 pp of its active
/// material to the electrolyte).
/// <para>
/// A stripe's edge is a step between two neighbouring columns in every row of every slice, while a phase boundary
/// between them is a step in a few rows only: per slice and block of <see cref="RowBlock"/> rows from row 0 (the
/// survey's windows are whole blocks, so a block never depends on the window or the storage chunks), the differences between columns x + 1 and x are
/// narrowed to their noise peak: from the median (of every 4th row), <see cref="MeanShiftRounds"/> times the mean of those within
/// <see cref="KeptDeviations"/> robust standard deviation (1.4826 MAD) of the centre (a mean shift with a flat kernel,
/// Comaniciu &amp; Meer 2002). The kept differences of the whole stack, summed, give each pair's step, and the steps'
/// running sum the stripe profile (<see cref="Offsets"/>), less its running median over <see cref="TrendWindow"/>
/// columns. The narrow window matters: every pair's step carries a small bias from the blurred phase boundaries whose
/// tails it keeps (left and right edges of the particles that happen to cross it), and the running sum turns the
/// biases into a profile of the particles' projected extent (kept within 3 SD of the median instead, and with a 257-column
/// trend, the profiles of the fresh family members spread by 10-44 % of the contrast where their stripes are 2-6 %).
/// What is wider than the trend window is the background, which the alignment's flattening owns. No threshold and no
/// class mean enters, so a stripe as deep as a class gap, which pushes one phase into the next one's band, measures like
/// a shallow one. Against each column's median of the truth's electrolyte (a prototype with whole-height blocks, fresh
/// members 101-136 at 50 nm, rms over the columns as a share of twice the electrolyte's threshold band, about the
/// carbon-to-NMC contrast): 119 6.2 → 4.1 %, 113 4.4 → 2.5 %, 135 4.8 → 1.6 %, 105 1.9 → 1.0 %, and where
/// there are no stripes 106 0.3 → 0.6 %, 111 1.2 → 1.2 %. The segmentation subtracts the offsets before classification, so the labels stay
/// independent of the chunking and of the number of workers.
/// </para>
/// <para>
/// Tried before (session 26): per slice, differences between columns solved by least squares were pulled by the
/// particle edges of that one slice, which are coherent within it; over the whole stack the particles average out and
/// the stripes do not. Each column's level read from the electrolyte's interior instead takes the NMC that a deep stripe
/// pushes into the electrolyte's band. One offset per x, not per row block: curtains run down the whole milled face.
/// </para>
/// </summary>
public static class StandingCurtains
{
    /// <summary>
    /// Columns of the running median taken off the stripe profile: stripes up to about half of it (30 px; the alignment's
    /// filter takes those up to 12) stay, and no error of the steps adds up over more than it. A tuning, in pixels like
    /// the alignment filter's window, with <see cref="KeptDeviations"/> and <see cref="MeanShiftRounds"/>: on the 63 family
    /// runs (seeds 1-24, 101-136, presets; 8- and 16-bit) each column's offset against the truth's electrolyte median,
    /// rms as a share of the contrast, median over the runs: none 1.99 %, this 1.48 %, 41 columns 1.67, 81 1.47 (6 runs
    /// then worse than none by 0.3 points, 2 here); 0.7 SD 1.50, 1.5 SD 1.65 (9 runs worse); 6 rounds 1.47.
    /// </summary>
    public const int TrendWindow = 61;

    /// <summary>
    /// Differences kept around a block's centre, in robust standard deviations of the block's differences: the core of
    /// the noise peak, so that little of a blurred phase boundary's tail is kept (its share is what adds up along x).
    /// </summary>
    public const double KeptDeviations = 1;

    /// <summary>Times the centre moves to the mean of the kept differences (from the median, towards the peak's mode).</summary>
    public const int MeanShiftRounds = 3;

    /// <summary>
    /// Rows per block a pair's noise peak is taken over (the survey's windows are whole multiples of it,
    /// <c>SlabTilePlan.For</c>'s row multiple; the default storage chunk's height, so the windows stay as they were).
    /// Shorter is worse: a particle edge is then a larger share of a block's rows and pulls its peak further (128-row
    /// blocks on the 63 family runs: void within ±1.5 pp 100 → 93 % on seeds 1-24, contact loss within ±2 pp 56 → 53 % on
    /// the fresh seeds, median Dice carbon 0.694 → 0.684 there).
    /// </summary>
    public const int RowBlock = 512;

    /// <summary>Halo a window needs in x (the column to the right of the last owned one; geometry); none in y and z.</summary>
    public const int RequiredHaloPixels = 1;

    /// <summary>
    /// The owned voxels' step sums of one window of the denoised volume (read with at least
    /// <see cref="RequiredHaloPixels"/> of halo in x), indexed by the image's x; the last column has no pair.
    /// </summary>
    /// <param name="window">The window's uint16 grey levels.</param>
    /// <param name="slab">The window's slices; only the owned ones are measured.</param>
    /// <param name="tile">The window's rows and columns; the owned ones are measured, each pair by the tile owning its left column.</param>
    /// <param name="imageHeight">Rows of the whole image.</param>
    /// <param name="imageWidth">Columns of the whole image: the length of the sums.</param>
    /// <param name="rowBlock">Rows per block (<see cref="RowBlock"/> in the pipeline), blocks from row 0; the tile's owned rows must be whole blocks.</param>
    /// <param name="maxThreads">Slices measured at once (-1: as many as the runtime likes).</param>
    public static ColumnStepSums Measure(Volume<ushort> window, SlabWindow slab, TileWindow tile, int imageHeight, int imageWidth, int rowBlock,
        int maxThreads = -1)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowBlock, 1);
        if (window.Depth != slab.SlabSlices || window.Height != tile.ReadHeight || window.Width != tile.ReadWidth)
            throw new ArgumentException($"window is {window.Depth}x{window.Height}x{window.Width}, expected {slab.SlabSlices}x{tile.ReadHeight}x{tile.ReadWidth}", nameof(window));
        if (tile.OwnedY0 % rowBlock != 0 || (tile.OwnedY1 % rowBlock != 0 && tile.OwnedY1 != imageHeight))
            throw new ArgumentException($"the tile's rows {tile.OwnedY0}-{tile.OwnedY1} are not whole blocks of {rowBlock}", nameof(tile));
        if (tile.OwnedX1 < imageWidth && tile.ReadX1 <= tile.OwnedX1)
            throw new ArgumentException($"the window needs {RequiredHaloPixels} column of halo to the right", nameof(tile));

        // One sum and one scratch per thread, not per slice: the sums are integers, so the threads' order does not matter.
        var total = ColumnStepSums.Empty(imageWidth);
        Parallel.For(0, slab.OwnedSlices, new ParallelOptions { MaxDegreeOfParallelism = maxThreads },
            () => (Sums: ColumnStepSums.Empty(imageWidth), Scratch: new BlockScratch(rowBlock)),
            (s, _, local) =>
            {
                var z = slab.OwnedStartInSlab + s;
                for (var blockY0 = tile.OwnedY0; blockY0 < tile.OwnedY1; blockY0 += rowBlock)
                    MeasureBlock(window, tile, z, blockY0, Math.Min(tile.OwnedY1, blockY0 + rowBlock), imageWidth, local.Sums, local.Scratch);
                return local;
            },
            local => { lock (total) total.Add(local.Sums); });
        return total;
    }

    /// <summary>Column pairs gathered at once: their differences stay in cache while the rows stream past (speed only; the sums do not depend on it).</summary>
    private const int PairsPerPass = 64;

    /// <summary>
    /// One slice's rows [<paramref name="y0"/>, <paramref name="y1"/>): the differences gathered row by row (the window's
    /// rows are contiguous) for <see cref="PairsPerPass"/> pairs at a time, then each pair's noise peak.
    /// </summary>
    private static void MeasureBlock(Volume<ushort> window, TileWindow tile, int z, int y0, int y1, int imageWidth, ColumnStepSums sums,
        BlockScratch scratch)
    {
        var endX = Math.Min(tile.OwnedX1, imageWidth - 1);
        var pairs = endX - tile.OwnedX0;
        var rows = y1 - y0;
        if (pairs <= 0 || rows <= 0) return;
        var slice = window.Slice(z);
        var differences = scratch.Differences;
        for (var first = 0; first < pairs; first += PairsPerPass)
        {
            var count = Math.Min(PairsPerPass, pairs - first);
            for (var y = y0; y < y1; y++)
            {
                var row = slice.Slice((y - tile.ReadY0) * tile.ReadWidth + tile.OwnedX0 - tile.ReadX0 + first, count + 1);
                var r = y - y0;
                for (var p = 0; p < count; p++) differences[p * rows + r] = row[p + 1] - row[p];
            }
            for (var p = 0; p < count; p++)
            {
                var (kept, sum) = NoisePeak(differences.AsSpan(p * rows, rows), scratch.Start);
                var x = tile.OwnedX0 + first + p;
                sums.Kept[x] += kept;
                sums.Sums[x] += sum;
            }
        }
    }

    /// <summary>A thread's buffers for one block: the differences of <see cref="PairsPerPass"/> pairs and the start's samples.</summary>
    private sealed class BlockScratch(int rowBlock)
    {
        public int[] Differences { get; } = new int[PairsPerPass * rowBlock];
        public int[] Start { get; } = new int[(rowBlock + StartRowStride - 1) / StartRowStride];
    }

    /// <summary>Every how many rows of a block the starting median and MAD are taken (speed: selection dominated the cost; the mean shift reads every row, and the 36 fresh runs moved by at most 0.02 pp with it).</summary>
    private const int StartRowStride = 4;

    /// <summary>
    /// The differences of one pair and block around their noise peak: how many and their sum, from the median of every
    /// <see cref="StartRowStride"/>th row <see cref="MeanShiftRounds"/> times moved to the mean of those within
    /// <see cref="KeptDeviations"/> robust SD. <paramref name="scratch"/> holds at least a stride's share of the values.
    /// </summary>
    private static (long Kept, long Sum) NoisePeak(ReadOnlySpan<int> values, int[] scratch)
    {
        var sampled = (values.Length + StartRowStride - 1) / StartRowStride;
        var start = scratch.AsSpan(0, sampled);
        for (var i = 0; i < sampled; i++) start[i] = values[i * StartRowStride];
        var centre = Median(start);
        // Twice the deviations, so that a half-integer median's are integers too.
        for (var i = 0; i < sampled; i++) start[i] = (int)Math.Abs(2 * (values[i * StartRowStride] - centre));
        var limit = Math.Max(1, KeptDeviations * 1.4826 * 0.5 * Median(start));
        long kept = 0, sum = 0;
        for (var round = 0; round <= MeanShiftRounds; round++)
        {
            (kept, sum) = KeptWithin(values, centre, limit);
            if (kept == 0 || round == MeanShiftRounds) break;
            centre = (double)sum / kept;
        }
        return (kept, sum);
    }

    /// <summary>
    /// How many of <paramref name="values"/> (differences of 16-bit grey levels: within ±65535) lie within
    /// <paramref name="limit"/> of <paramref name="centre"/>, |d − centre| ≤ limit in doubles, and their sum. The doubles'
    /// rounding of d − centre is monotone in d, so those values are the integers of one interval, whose ends are found by
    /// that same test; the interval is then counted with integer compares a vector at a time (the survey's most frequent
    /// loop: 21 % of its CPU at 1 Gvoxel as a scalar test per value).
    /// </summary>
    internal static (long Kept, long Sum) KeptWithin(ReadOnlySpan<int> values, double centre, double limit)
    {
        bool NotAbove(long d) => d - centre <= limit;
        bool NotBelow(long d) => d - centre >= -limit;
        // Within one of the exact ends; the tests move them onto it.
        var high = (long)Math.Floor(Math.Clamp(centre + limit, -1e12, 1e12));
        while (NotAbove(high + 1)) high++;
        while (!NotAbove(high)) high--;
        var low = (long)Math.Ceiling(Math.Clamp(centre - limit, -1e12, 1e12));
        while (NotBelow(low - 1)) low--;
        while (!NotBelow(low)) low++;
        if (low > high) return (0, 0);
        var (lo, hi) = ((int)Math.Clamp(low, int.MinValue, int.MaxValue), (int)Math.Clamp(high, int.MinValue, int.MaxValue));

        long kept = 0, sum = 0;
        var i = 0;
        var lanes = Vector<int>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var (loVector, hiVector) = (new Vector<int>(lo), new Vector<int>(hi));
            // A lane's sum of 2^14 values of at most 65535 stays inside an int.
            const int FlushEvery = 1 << 14;
            while (i + lanes <= values.Length)
            {
                var (count, total) = (Vector<int>.Zero, Vector<int>.Zero);
                for (var n = 0; n < FlushEvery && i + lanes <= values.Length; n++, i += lanes)
                {
                    var v = new Vector<int>(values.Slice(i, lanes));
                    var inside = Vector.GreaterThanOrEqual(v, loVector) & Vector.LessThanOrEqual(v, hiVector);
                    count -= inside;
                    total += v & inside;
                }
                for (var j = 0; j < lanes; j++) (kept, sum) = (kept + count[j], sum + total[j]);
            }
        }
        for (; i < values.Length; i++)
            if (values[i] >= lo && values[i] <= hi) (kept, sum) = (kept + 1, sum + values[i]);
        return (kept, sum);
    }

    /// <summary>The median of integers (whole or half); reorders <paramref name="values"/>.</summary>
    private static double Median(Span<int> values)
    {
        var n = values.Length;
        double upper = Statistics.Select(values, n / 2);
        return n % 2 == 1 ? upper : 0.5 * (upper + Statistics.Select(values[..(n / 2)], n / 2 - 1));
    }

    /// <summary>
    /// One offset per column from the whole stack's sums: the running sum of the steps, less its running median over
    /// <see cref="TrendWindow"/> columns (shrunk to the image's width, clamped at its edges). Null when no pair was
    /// measured (an image one column wide): the caller segments without the correction.
    /// </summary>
    public static float[]? Offsets(ColumnStepSums sums)
    {
        ArgumentNullException.ThrowIfNull(sums);
        var width = sums.Width;
        if (width < 2 || sums.Kept.Take(width - 1).All(k => k == 0)) return null;
        var profile = new double[width];
        for (var x = 1; x < width; x++)
            profile[x] = profile[x - 1] + (sums.Kept[x - 1] > 0 ? (double)sums.Sums[x - 1] / sums.Kept[x - 1] : 0);
        var half = Math.Min(TrendWindow, width % 2 == 1 ? width : width - 1) / 2;
        var offsets = new float[width];
        var neighbourhood = new double[2 * half + 1];
        for (var x = 0; x < width; x++)
        {
            // Clamped at the edges, so the window keeps its width and a stripe at the border is measured against the same number of columns.
            var x0 = Math.Clamp(x - half, 0, width - 1 - 2 * half);
            profile.AsSpan(x0, 2 * half + 1).CopyTo(neighbourhood);
            offsets[x] = (float)(profile[x] - Statistics.Select(neighbourhood.AsSpan(), half));
        }
        return offsets;
    }

    /// <summary>
    /// Subtracts the column offsets from a window of the denoised volume in place; <paramref name="readX0"/> is the image
    /// column of the window's first column.
    /// </summary>
    public static void Subtract(Volume<float> window, int readX0, float[] offsets)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(offsets);
        if (readX0 < 0 || readX0 + window.Width > offsets.Length)
            throw new ArgumentException($"columns {readX0}-{readX0 + window.Width - 1} outside the {offsets.Length} offsets", nameof(readX0));
        Parallel.For(0, window.Depth, z =>
        {
            var columns = offsets.AsSpan(readX0, window.Width);
            var slice = window.Slice(z);
            for (var start = 0; start < slice.Length; start += columns.Length)
            {
                var row = slice.Slice(start, columns.Length);
                for (var x = 0; x < row.Length; x++) row[x] -= columns[x];
            }
        });
    }
}
