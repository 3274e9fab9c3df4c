using System.Numerics;
using System.Runtime.InteropServices;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Medians of a few adjacent columns over a band of rows, one column per SIMD lane, by bisection on the values' order
/// keys: each step counts, in every lane at once, the values at or below a trial key, and halves the lane's key interval
/// until it holds the order statistic (at most 32 steps, whatever the values). The curtaining filter takes ~37,000 such
/// medians of 256 values per 1536x2048 slice; a quickselect per column mispredicts a branch at every comparison, the
/// counts here have no data-dependent branch and read each row of the band as one vector (the rows are the columns'
/// contiguous pixels, so nothing is gathered).
/// <para>
/// The value is <see cref="Statistics.Median(Span{float})"/>'s on the column's finite values (the mean of the middle two
/// for an even count, 0 for none), except that a zero median is +0 (−0 counts as +0 here, as it compares equal there).
/// </para>
/// </summary>
public static class ColumnMedians
{
    /// <summary>Columns one call measures: the lanes of a <see cref="Vector{T}"/> of floats.</summary>
    public static int Lanes => Vector<float>.Count;

    /// <summary>Scratch a call needs for a band of <paramref name="rows"/> rows.</summary>
    public static int ScratchLength(int rows) => rows * Vector<int>.Count;

    /// <summary>
    /// The medians of columns [<paramref name="x0"/>, <paramref name="x0"/> + <see cref="Lanes"/>) of the image
    /// (<paramref name="width"/> pixels a row) over rows [<paramref name="y0"/>, <paramref name="y1"/>), ignoring non-finite
    /// pixels, into <paramref name="medians"/>.
    /// </summary>
    public static void Of(ReadOnlySpan<float> image, int width, int y0, int y1, int x0, Span<float> medians, Span<int> scratch)
    {
        int lanes = Vector<int>.Count, rows = y1 - y0;
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(x0 + lanes, width);
        ArgumentOutOfRangeException.ThrowIfLessThan(medians.Length, lanes);
        ArgumentOutOfRangeException.ThrowIfLessThan(scratch.Length, ScratchLength(rows));

        // Order keys: a float's bits as an int, the magnitude bits flipped for negative values, order as the floats'.
        // Non-finite pixels get int.MaxValue, above every finite key, and are not counted.
        var magnitudeBits = new Vector<int>(0x7FFFFFFF);
        var infinity = new Vector<float>(float.PositiveInfinity);
        var excluded = new Vector<int>(int.MaxValue);
        var count = Vector<int>.Zero;
        var lo = new Vector<int>(int.MaxValue);
        var hi = new Vector<int>(int.MinValue);
        for (int r = 0; r < rows; r++)
        {
            // Adding +0 turns −0 into +0.
            var v = new Vector<float>(image.Slice((y0 + r) * width + x0, lanes)) + Vector<float>.Zero;
            var bits = Vector.AsVectorInt32(v);
            var finite = Vector.LessThan(Vector.Abs(v), infinity); // NaN compares false
            var key = Vector.ConditionalSelect(finite, bits ^ (Vector.ShiftRightArithmetic(bits, 31) & magnitudeBits), excluded);
            key.CopyTo(scratch.Slice(r * lanes, lanes));
            count -= finite; // a true lane is −1
            lo = Vector.Min(lo, key);
            hi = Vector.Max(hi, Vector.ConditionalSelect(finite, key, new Vector<int>(int.MinValue)));
        }

        // The upper median: the smallest key with more than count/2 keys at or below it.
        var half = Vector.ShiftRightArithmetic(count, 1);
        var target = half + Vector<int>.One;
        var keys = scratch[..(rows * lanes)];
        while (true)
        {
            var active = Vector.LessThan(lo, hi);
            if (active == Vector<int>.Zero) break;
            var mid = Vector.ShiftRightArithmetic(lo, 1) + Vector.ShiftRightArithmetic(hi, 1) + (lo & hi & Vector<int>.One);
            var atOrBelow = CountAtOrBelow(keys, mid);
            var enough = Vector.GreaterThanOrEqual(atOrBelow, target);
            hi = Vector.ConditionalSelect(active & enough, mid, hi);
            lo = Vector.ConditionalSelect(Vector.AndNot(active, enough), mid + Vector<int>.One, lo);
        }
        var upper = hi;

        // The lower median of an even count: the largest key below the upper one when there are half the keys below it,
        // else the upper one again (ties).
        var below = Vector<int>.Zero;
        var largestBelow = new Vector<int>(int.MinValue);
        for (int i = 0; i < keys.Length; i += lanes)
        {
            var key = new Vector<int>(keys.Slice(i, lanes));
            var isBelow = Vector.LessThan(key, upper);
            below -= isBelow;
            largestBelow = Vector.Max(largestBelow, Vector.ConditionalSelect(isBelow, key, new Vector<int>(int.MinValue)));
        }
        var lower = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(below, half), largestBelow, upper);

        var upperValues = Vector.AsVectorSingle(upper ^ (Vector.ShiftRightArithmetic(upper, 31) & magnitudeBits));
        var lowerValues = Vector.AsVectorSingle(lower ^ (Vector.ShiftRightArithmetic(lower, 31) & magnitudeBits));
        for (int j = 0; j < lanes; j++)
        {
            int n = count[j];
            medians[j] = n == 0 ? 0f : n % 2 == 1 ? upperValues[j] : 0.5f * (lowerValues[j] + upperValues[j]);
        }
    }

    /// <summary>
    /// Per lane, the keys at or below <paramref name="mid"/>: four running counts, so that the adds do not wait on each
    /// other (one count made the loop latency-bound, ~3 cycles a row).
    /// </summary>
    private static Vector<int> CountAtOrBelow(ReadOnlySpan<int> keys, Vector<int> mid)
    {
        int lanes = Vector<int>.Count, i = 0;
        // The loads are within keys (i + 4 lanes ≤ its length), so they go without a bounds check per vector.
        ref var first = ref MemoryMarshal.GetReference(keys);
        Vector<int> c0 = Vector<int>.Zero, c1 = Vector<int>.Zero, c2 = Vector<int>.Zero, c3 = Vector<int>.Zero;
        for (; i + 4 * lanes <= keys.Length; i += 4 * lanes)
        {
            c0 -= Vector.LessThanOrEqual(Vector.LoadUnsafe(ref first, (nuint)i), mid);
            c1 -= Vector.LessThanOrEqual(Vector.LoadUnsafe(ref first, (nuint)(i + lanes)), mid);
            c2 -= Vector.LessThanOrEqual(Vector.LoadUnsafe(ref first, (nuint)(i + 2 * lanes)), mid);
            c3 -= Vector.LessThanOrEqual(Vector.LoadUnsafe(ref first, (nuint)(i + 3 * lanes)), mid);
        }
        for (; i + lanes <= keys.Length; i += lanes) c0 -= Vector.LessThanOrEqual(new Vector<int>(keys.Slice(i, lanes)), mid);
        return c0 + c1 + c2 + c3;
    }
}
