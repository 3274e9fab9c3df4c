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
    public static double[] SquaredNm2(Volume<byte> labels, Func<byte, bool> feature, VoxelSize voxelSize) =>
        SquaredNm2(labels, feature, voxelSize, zColumns: null);

    /// <summary>
    /// <see cref="SquaredNm2(Volume{byte}, Func{byte, bool}, VoxelSize)"/> with the last pass (along z) only on the
    /// columns (y · width + x) that <paramref name="zColumns"/> marks: the others keep the squared distance within their
    /// slice, an upper bound, for a caller that reads the marked columns only (null: every column, exact everywhere).
    /// </summary>
    public static double[] SquaredNm2(Volume<byte> labels, Func<byte, bool> feature, VoxelSize voxelSize, bool[]? zColumns)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        if (zColumns is not null && zColumns.LongLength != (long)height * width)
            throw new ArgumentException($"zColumns has {zColumns.LongLength} entries for {height}x{width} columns", nameof(zColumns));
        var d = new double[labels.Data.LongLength];
        // the predicate once per label value, not once per voxel
        var isFeature = new bool[256];
        for (var label = 0; label < 256; label++) isFeature[label] = feature((byte)label);
        for (long i = 0; i < d.LongLength; i++) d[i] = isFeature[labels.Data[i]] ? 0 : double.PositiveInfinity;
        Pass(d, lines: (long)depth * height, length: width, stride: 1, lineStart: line => line * width, voxelSize.XNm);
        Pass(d, lines: (long)depth * width, length: height, stride: width,
            lineStart: line => line / width * height * width + line % width, voxelSize.YNm);
        Pass(d, lines: (long)height * width, length: depth, stride: (long)height * width, lineStart: line => line, voxelSize.ZNm, zColumns);
        return d;
    }

    private static void Pass(double[] d, long lines, int length, long stride, Func<long, long> lineStart, double spacing, bool[]? wanted = null)
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
                if (wanted is not null && !wanted[line]) continue;
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
