using System.Numerics;
using System.Runtime.InteropServices;

namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Exact Euclidean distance transform with anisotropic voxels: Felzenszwalb &amp; Huttenlocher 2012, "Distance
/// transforms of sampled functions", Theory of Computing 8:415, doi:10.4086/toc.2012.v008a019. The squared distance is
/// separable, so three 1D passes (x, y, z) each take the lower envelope of parabolas (q·s − p·s)² + f(p) over the
/// line, with s that axis's voxel size: O(n) per line and exact, whatever the spacing. Same values as
/// scipy.ndimage.distance_transform_edt(~feature, sampling=(z, y, x)) (tests).
/// </summary>
public static class DistanceTransform
{
    /// <summary>
    /// Squared distance, in nm², from each voxel centre to the nearest voxel centre where <paramref name="feature"/>
    /// holds; +∞ when the volume has no such voxel.
    /// </summary>
    public static double[] SquaredNm2(Volume<byte> labels, Func<byte, bool> feature, VoxelSize voxelSize)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var d = new double[labels.Data.LongLength];
        // the predicate once per label value, not once per voxel
        var isFeature = new bool[256];
        for (var label = 0; label < 256; label++) isFeature[label] = feature((byte)label);
        for (long i = 0; i < d.LongLength; i++) d[i] = isFeature[labels.Data[i]] ? 0 : double.PositiveInfinity;
        Pass(d, lines: (long)depth * height, length: width, stride: 1, lineStart: line => line * width, voxelSize.XNm);
        Pass(d, lines: (long)depth * width, length: height, stride: width,
            lineStart: line => line / width * height * width + line % width, voxelSize.YNm);
        Pass(d, lines: (long)height * width, length: depth, stride: (long)height * width, lineStart: line => line, voxelSize.ZNm);
        return d;
    }

    /// <summary>
    /// The squared distance where it matters to a caller that asks only "within <paramref name="reachNm"/>?": exact (the
    /// same doubles as <see cref="SquaredNm2"/>) wherever the distance
    /// is at most <paramref name="reachNm"/>, above <paramref name="reachNm"/>² (possibly +∞) elsewhere; on the columns
    /// <paramref name="columns"/> does not mark (null: every column is marked), at least the distance (a row with no marked
    /// column keeps the distance within its slice).
    /// The nearest feature within the reach lies at most ⌊reach / s⌋ voxels away along each axis, so each pass is a
    /// minimum over that window only: along x from the nearest feature on each side, along y and z as
    /// min over |k| ≤ ⌊reach / s⌋ of (k·s)² + f(q + k), across a row's columns by vector lanes. That is O(reach / s) per
    /// voxel, where the lower envelope is O(1) with a division per site and strided lines; for the metrics' 0.5 µm at
    /// 50 nm (10 voxels) it is the faster one (MetricsStageStudy, "void near NMC").
    /// </summary>
    public static double[] SquaredNm2WithinReach(Volume<byte> labels, Func<byte, bool> feature, VoxelSize voxelSize, double reachNm, bool[]? columns,
        int maxThreads = KernelThreads.All)
    {
        var d = new double[labels.Data.LongLength];
        WithinReach(labels, feature, voxelSize, reachNm, columns, d, maxThreads);
        return d;
    }

    /// <summary>
    /// As above into the first labels.Length entries of <paramref name="destination"/> (every one of them written), so that a
    /// caller streaming windows keeps one array: a fresh array of a window's size costs a page fault per 4 KiB on first write.
    /// In single precision (float) only where that gives the doubles' values (<see cref="IsExactInSingle"/>): every sum the
    /// passes form within the reach is then a whole number of nm² below 2^24, and beyond the reach both exceed reach² or
    /// are +∞; half the bytes and twice the vector lanes of the double passes.
    /// </summary>
    public static void SquaredNm2WithinReach<T>(Volume<byte> labels, Func<byte, bool> feature, VoxelSize voxelSize, double reachNm, bool[]? columns,
        T[] destination, int maxThreads = KernelThreads.All)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && !IsExactInSingle(voxelSize, reachNm))
            throw new ArgumentException($"squared distances within {reachNm} nm at {voxelSize} are not all exact in single precision; use a double[]", nameof(destination));
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new ArgumentException($"squared distances are kept as float or double, not {typeof(T).Name}", nameof(destination));
        WithinReach(labels, feature, voxelSize, reachNm, columns, destination, maxThreads);
    }

    /// <summary>
    /// Whether <see cref="SquaredNm2WithinReach{T}"/> in floats gives the doubles' values: every spacing a whole number of nm,
    /// and the three axes' largest squared offsets within the reach summed below 2^24 (<see cref="IntegerMath.LargestExactSingle"/>),
    /// so each term (k·s)² and each sum of up to three is a float integer. A property of the number format and the voxel
    /// size, not of any stack: true at 50 nm and a 0.5 µm reach (3 × 500² nm²), false at 100 nm and 3 µm or at 12.5 nm.
    /// </summary>
    public static bool IsExactInSingle(VoxelSize voxelSize, double reachNm)
    {
        double Largest(double spacing) => Sq(ReachVoxels(reachNm, spacing) * spacing);
        foreach (var spacing in new[] { voxelSize.ZNm, voxelSize.YNm, voxelSize.XNm })
            if (!(spacing > 0) || spacing != Math.Round(spacing)) return false;
        return Largest(voxelSize.ZNm) + Largest(voxelSize.YNm) + Largest(voxelSize.XNm) < IntegerMath.LargestExactSingle;
    }

    /// <summary>
    /// The squared distances within the reach in whole units of <see cref="ReachUnits.UnitNm2"/> (the greatest common divisor
    /// of the three squared spacings), for a caller that only asks "within the reach?": in the first labels.Length entries
    /// of <paramref name="destination"/>, d² / unit where d² ≤ reach² (the value <see cref="SquaredNm2WithinReach"/> gives there,
    /// divided), <see cref="ReachUnits.Beyond"/> everywhere else (on unmarked columns the distance within the slice, at least
    /// the whole transform's, in the same units or Beyond). A voxel is within the reach exactly when its value is at most <see cref="ReachUnits.Limit"/>. Bytes where
    /// <paramref name="units"/> fit them (50 nm voxels and a 0.5 µm reach: 100 units of 2500 nm²), else 16-bit: a quarter
    /// or half of the float passes' bytes and four or two times their vector lanes. Partial sums are capped at Beyond after
    /// each pass: every term is non-negative, so a sum past the limit stays past it.
    /// </summary>
    public static void SquaredUnitsWithinReach<T>(Volume<byte> labels, Func<byte, bool> feature, VoxelSize voxelSize, ReachUnits units, bool[]? columns,
        T[] destination, int maxThreads = KernelThreads.All)
        where T : unmanaged, IBinaryInteger<T>, IUnsignedNumber<T>, IMinMaxValue<T>
    {
        ArgumentNullException.ThrowIfNull(units);
        if (2L * units.Beyond > long.CreateTruncating(T.MaxValue))
            throw new ArgumentException($"{units.Limit} units within the reach do not fit {typeof(T).Name} with room for a sum", nameof(destination));
        var beyond = T.CreateTruncating(units.Beyond);
        T[] Terms(double spacing)
        {
            var reach = ReachVoxels(units.ReachNm, spacing);
            var squaredSpacing = (long)Math.Round(spacing) * (long)Math.Round(spacing);
            // A term itself may pass the limit (a reach a hair beyond a whole number of voxels): capped as the sums are.
            return [.. Enumerable.Range(0, reach + 1).Select(k => T.CreateTruncating(Math.Min((long)k * k * squaredSpacing / units.UnitNm2, units.Beyond)))];
        }
        WithinReach(labels, feature, Terms(voxelSize.XNm), Terms(voxelSize.YNm), Terms(voxelSize.ZNm), beyond, columns, destination, maxThreads);
    }

    private static void WithinReach<T>(Volume<byte> labels, Func<byte, bool> feature, VoxelSize voxelSize, double reachNm, bool[]? columns,
        T[] destination, int maxThreads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!(reachNm >= 0) || double.IsInfinity(reachNm)) throw new ArgumentOutOfRangeException(nameof(reachNm), reachNm, "the reach must be a finite non-negative distance");
        T[] Terms(double spacing) => [.. Enumerable.Range(0, ReachVoxels(reachNm, spacing) + 1).Select(k => T.CreateTruncating(Sq(k * spacing)))];
        WithinReach(labels, feature, Terms(voxelSize.XNm), Terms(voxelSize.YNm), Terms(voxelSize.ZNm), T.PositiveInfinity, columns, destination, maxThreads);
    }

    /// <summary>
    /// The three passes on terms per axis: <paramref name="termsX"/>[k] is what an offset of k voxels along x adds (its
    /// length − 1 is the reach in voxels along x), <paramref name="beyond"/> the value of "no feature within the reach".
    /// Along x as along y and z, a minimum over the taps (<see cref="MinimumAlongRow"/>, on vector lanes).
    /// </summary>
    private static void WithinReach<T>(Volume<byte> labels, Func<byte, bool> feature, T[] termsX, T[] termsY, T[] termsZ, T beyond, bool[]? columns,
        T[] destination, int maxThreads)
        where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.LongLength < labels.Data.LongLength)
            throw new ArgumentException($"destination has {destination.LongLength} entries for {labels.Data.LongLength} voxels", nameof(destination));
        KernelThreads.Check(maxThreads);
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var plane = height * width;
        if (columns is not null && columns.LongLength != plane)
            throw new ArgumentException($"columns has {columns.LongLength} entries for {height}x{width} columns", nameof(columns));
        var isFeature = new bool[256];
        for (var label = 0; label < 256; label++) isFeature[label] = feature((byte)label);
        // Along z only the rows with a marked column; the others keep the distance within their slice.
        var rowMarked = new bool[height];
        for (var y = 0; y < height; y++) rowMarked[y] = columns is null || columns.AsSpan(y * width, width).Contains(true);
        var d = destination;
        var reachX = termsX.Length - 1;
        // What a voxel starts from along x, per label: no branch on a mixed row.
        var start = new T[256];
        for (var label = 0; label < 256; label++) start[label] = isFeature[label] ? T.Zero : beyond;
        KernelThreads.For(0, depth, maxThreads, () => (new T[plane], new T[width + 2 * reachX]), (z, scratch) =>
        {
            var (slice, padded) = scratch;
            var sliceStart = z * plane;
            for (var y = 0; y < height; y++)
            {
                var row = labels.Data.AsSpan(sliceStart + y * width, width);
                padded.AsSpan(0, reachX).Fill(beyond);
                padded.AsSpan(reachX + width).Fill(beyond);
                for (var x = 0; x < width; x++) padded[reachX + x] = start[row[x]];
                MinimumAlongRow(padded, slice.AsSpan(y * width, width), termsX, beyond);
            }
            MinimumOverRowsByStrips(d.AsSpan(sliceStart, plane), width, slice, height, width, termsY, beyond);
        });
        if (depth > 1 && termsZ.Length > 1)
            KernelThreads.For(0, height, maxThreads, () => new T[depth * width], (y, column) =>
            {
                if (!rowMarked[y]) return;
                // The rows (z, y) of every slice side by side, so that the pass along z reads them as the pass along y reads a slice.
                for (var z = 0; z < depth; z++) d.AsSpan((z * height + y) * width, width).CopyTo(column.AsSpan(z * width, width));
                MinimumOverRowsByStrips(d.AsSpan(y * width), plane, column, depth, width, termsZ, beyond);
            });
    }

    /// <summary>⌊reach / s⌋, with the same slack for a reach that is a whole number of voxels as the callers' limits.</summary>
    public static int ReachVoxels(double reachNm, double spacingNm) => (int)Math.Floor(reachNm / spacingNm * (1 + 1e-12));

    /// <summary>
    /// result[x] = min over |k| ≤ reach (terms.Length − 1) of terms[|k|] + padded[reach + x + k], and at most
    /// <paramref name="beyond"/>: <paramref name="padded"/> is the row with reach entries on each side.
    /// </summary>
    private static void MinimumAlongRow<T>(T[] padded, Span<T> result, T[] terms, T beyond)
        where T : unmanaged, INumber<T>
    {
        var (lanes, width, reach) = (Vector<T>.Count, result.Length, terms.Length - 1);
        ref var origin = ref MemoryMarshal.GetArrayDataReference(padded);
        if (width < lanes)
        {
            for (var x = 0; x < width; x++)
            {
                var best = beyond;
                for (var k = -reach; k <= reach; k++) best = T.Min(best, terms[Math.Abs(k)] + padded[reach + x + k]);
                result[x] = best;
            }
            return;
        }
        var far = new Vector<T>(beyond);
        // The last vector overlaps the ones before it (its columns get the same values again).
        for (var x = 0; x < width; x += lanes)
        {
            var at = Math.Min(x, width - lanes);
            var a = far;
            for (var k = -reach; k <= reach; k++)
                a = Vector.Min(a, new Vector<T>(terms[Math.Abs(k)]) + Vector.LoadUnsafe(ref origin, (nuint)(reach + at + k)));
            a.CopyTo(result.Slice(at, lanes));
        }
    }

    /// <summary>
    /// Row r of <paramref name="destination"/> (row r at r·<paramref name="destinationRowStride"/>) = min over |k| ≤ reach
    /// (terms.Length − 1; inside [0, <paramref name="count"/>)) of terms[|k|] + row r + k of <paramref name="rows"/>
    /// (<paramref name="count"/> rows, <paramref name="width"/> wide, row-major), and at most <paramref name="beyond"/>.
    /// Strips of four vectors of columns go down all rows before the next strip, so the 2·reach + 1 rows a strip reads at
    /// each step stay in the first-level cache (row by row across the whole width they spanned the second level); each tap
    /// is a load, an add and a min.
    /// </summary>
    private static void MinimumOverRowsByStrips<T>(Span<T> destination, int destinationRowStride, T[] rows, int count, int width, T[] terms, T beyond)
        where T : unmanaged, INumber<T>
    {
        var lanes = Vector<T>.Count;
        var reach = terms.Length - 1;
        ref var origin = ref MemoryMarshal.GetArrayDataReference(rows);
        var far = new Vector<T>(beyond);
        Span<T> added = reach <= 128 ? stackalloc T[2 * reach + 1] : new T[2 * reach + 1];
        for (var k = -reach; k <= reach; k++) added[k + reach] = terms[Math.Abs(k)];
        var x = 0;
        for (; x <= width - 4 * lanes; x += 4 * lanes)
            for (var r = 0; r < count; r++)
            {
                var (a0, a1, a2, a3) = (far, far, far, far);
                for (int k = Math.Max(-reach, -r), k1 = Math.Min(reach, count - 1 - r); k <= k1; k++)
                {
                    var add = new Vector<T>(added[k + reach]);
                    var at = (nuint)((r + k) * width + x);
                    a0 = Vector.Min(a0, add + Vector.LoadUnsafe(ref origin, at));
                    a1 = Vector.Min(a1, add + Vector.LoadUnsafe(ref origin, at + (nuint)lanes));
                    a2 = Vector.Min(a2, add + Vector.LoadUnsafe(ref origin, at + (nuint)(2 * lanes)));
                    a3 = Vector.Min(a3, add + Vector.LoadUnsafe(ref origin, at + (nuint)(3 * lanes)));
                }
                var target = destination.Slice(r * destinationRowStride + x, 4 * lanes);
                a0.CopyTo(target);
                a1.CopyTo(target[lanes..]);
                a2.CopyTo(target[(2 * lanes)..]);
                a3.CopyTo(target[(3 * lanes)..]);
            }
        // The rest one vector at a time, the last one overlapping the columns before it (they get the same values again):
        // bytes take 128 columns a strip, and a window's last columns one at a time cost as much as its strips.
        if (x < width && width >= lanes)
        {
            for (var r = 0; r < count; r++)
                for (var column = x; column < width; column += lanes)
                {
                    var at = Math.Min(column, width - lanes);
                    var a = far;
                    for (int k = Math.Max(-reach, -r), k1 = Math.Min(reach, count - 1 - r); k <= k1; k++)
                        a = Vector.Min(a, new Vector<T>(added[k + reach]) + Vector.LoadUnsafe(ref origin, (nuint)((r + k) * width + at)));
                    a.CopyTo(destination.Slice(r * destinationRowStride + at, lanes));
                }
            return;
        }
        for (var r = 0; r < count; r++)
            for (var column = x; column < width; column++)
            {
                var best = beyond;
                for (int k = Math.Max(-reach, -r), k1 = Math.Min(reach, count - 1 - r); k <= k1; k++)
                    best = T.Min(best, added[k + reach] + rows[(r + k) * width + column]);
                destination[r * destinationRowStride + column] = best;
            }
    }

    private static void Pass(double[] d, long lines, int length, long stride, Func<long, long> lineStart, double spacing)
    {
        if (length == 0 || lines == 0) return;
        Parallel.For(0, (int)Math.Min(lines, 64), part =>
        {
            var f = new double[length];
            var result = new double[length];
            var v = new int[length];
            var z = new double[length + 1];
            var parts = Math.Min(lines, 64);
            for (var line = lines * part / parts; line < lines * (part + 1) / parts; line++)
            {
                var start = lineStart(line);
                for (var q = 0; q < length; q++) f[q] = d[start + q * stride];
                LowerEnvelope(f, result, v, z, spacing);
                for (var q = 0; q < length; q++) d[start + q * stride] = result[q];
            }
        });
    }

    /// <summary>
    /// result[q] = min over p of (q·s − p·s)² + f[p] (Felzenszwalb &amp; Huttenlocher, Algorithm 1, with positions
    /// scaled by the spacing s); sites with f = +∞ are no parabola, so an all-+∞ line stays +∞.
    /// </summary>
    internal static void LowerEnvelope(ReadOnlySpan<double> f, Span<double> result, Span<int> v, Span<double> z, double s)
    {
        var n = f.Length;
        var k = -1;
        for (var q = 0; q < n; q++)
        {
            if (double.IsPositiveInfinity(f[q])) continue;
            if (k < 0)
            {
                k = 0;
                v[0] = q;
                z[0] = double.NegativeInfinity;
                z[1] = double.PositiveInfinity;
                continue;
            }
            double intersection;
            while (true)
            {
                var p = v[k];
                // Where the parabolas of sites p and q meet, in physical units along the line; z[0] = −∞ stops at k = 0.
                intersection = (f[q] + Sq(q * s) - (f[p] + Sq(p * s))) / (2 * s * (q - p));
                if (intersection <= z[k]) k--;
                else break;
            }
            k++;
            v[k] = q;
            z[k] = intersection;
            z[k + 1] = double.PositiveInfinity;
        }
        if (k < 0)
        {
            result.Fill(double.PositiveInfinity);
            return;
        }
        var j = 0;
        for (var q = 0; q < n; q++)
        {
            while (z[j + 1] < q * s) j++;
            result[q] = Sq((q - v[j]) * s) + f[v[j]];
        }
    }

    private static double Sq(double x) => x * x;
}

/// <summary>
/// Squared distances within a reach as whole units (<see cref="DistanceTransform.SquaredUnitsWithinReach{T}"/>): with every
/// spacing a whole number of nm, every squared offset is a whole multiple of <see cref="UnitNm2"/>, the greatest common
/// divisor of the three squared spacings. <see cref="Limit"/> = ⌊reach² / unit⌋ (with the callers' slack for a reach that
/// is a whole number of voxels) is the most a voxel within the reach has, <see cref="Beyond"/> marks every other.
/// </summary>
public sealed record ReachUnits(double ReachNm, long UnitNm2, int Limit)
{
    public int Beyond => Limit + 1;

    /// <summary>Whether the passes can run in bytes: a partial sum (two values up to <see cref="Beyond"/>) fits one.</summary>
    public bool FitsInBytes => 2 * Beyond <= byte.MaxValue;

    /// <summary>
    /// The units for this voxel size and reach; null where a spacing is no whole number of nm or the limit does not fit 16
    /// bits with room for a sum (the float or double passes then serve).
    /// </summary>
    public static ReachUnits? For(VoxelSize voxelSize, double reachNm)
    {
        ArgumentNullException.ThrowIfNull(voxelSize);
        if (!(reachNm >= 0) || double.IsInfinity(reachNm)) throw new ArgumentOutOfRangeException(nameof(reachNm), reachNm, "the reach must be a finite non-negative distance");
        long unit = 0;
        foreach (var spacing in new[] { voxelSize.ZNm, voxelSize.YNm, voxelSize.XNm })
        {
            if (!(spacing > 0) || spacing != Math.Round(spacing) || spacing > 1e6) return null;
            unit = IntegerMath.Gcd(unit, (long)spacing * (long)spacing);
        }
        var limit = Math.Floor(reachNm * reachNm * (1 + 1e-12) / unit);
        return 2 * (limit + 1) <= ushort.MaxValue ? new ReachUnits(reachNm, unit, (int)limit) : null;
    }
}
