using System.Buffers;
using System.Numerics;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Resamples an image at p + shift with cubic B-spline interpolation (the interpolator of scipy.ndimage.shift with
/// order=3, mode='mirror'): exact at the samples, C2-smooth, and the best of the cheap kernels for preserving
/// texture under sub-pixel shifts. Because the shift is uniform, the 4 weights per axis are the same for every
/// pixel, so the resampling is a separable 4-tap filter after the spline prefilter.
/// </summary>
public static class SubpixelShift
{
    /// <summary>Support of the interpolator: output at position q needs samples floor(q)-1 .. floor(q)+2.</summary>
    public const int SupportRadiusPx = 2;

    private const double IntegerTolerance = 1e-9;
    private static readonly double Pole = Math.Sqrt(3) - 2;

    /// <summary>
    /// output(p) = image(p + shift). Positions p + shift outside [0, height-1] x [0, width-1] become NaN (no
    /// extrapolation); inside, the spline uses mirror boundary conditions, so values within 2 px of the border
    /// rest partly on mirrored data (see <see cref="ValidRegion"/> for the region that rests only on real data).
    /// To move raw slice k into slice-0 coordinates, call Apply(raw_k, drift_k).
    /// </summary>
    /// <param name="maxThreads">Threads the resampling may use (<see cref="KernelThreads"/>); the pixels are the same for any.</param>
    public static Image2D<float> Apply(Image2D<float> image, Shift2D shift, Image2D<float>? output = null, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(image);
        KernelThreads.Check(maxThreads);
        if (!double.IsFinite(shift.Dy) || !double.IsFinite(shift.Dx))
            throw new ArgumentException($"shift {shift} is not finite", nameof(shift));
        int h = image.Height, w = image.Width;
        output ??= new Image2D<float>(h, w);
        if (output.Height != h || output.Width != w)
            throw new ArgumentException($"output is {output.Height}x{output.Width}, image is {h}x{w}", nameof(output));
        if (ReferenceEquals(output, image))
            throw new ArgumentException("output must not be the input image", nameof(output));

        // The coefficients and the horizontal pass are a slice's worth each, every slice: scratch from the large-array pool (a
        // fresh array of that size costs its page faults again).
        var pool = LargeArrayPool<float>.Shared;
        var (coefficients, horizontal) = (pool.Rent(h * w), pool.Rent(h * w));
        try
        {
            Prefilter(image, coefficients, maxThreads);
            Resample(coefficients, horizontal, h, w, shift, output.Pixels, maxThreads);
        }
        finally
        {
            pool.Return(coefficients);
            pool.Return(horizontal);
        }
        return output;
    }

    /// <summary>The two 4-tap passes from the spline coefficients into <paramref name="result"/>, NaN outside the image.</summary>
    private static void Resample(float[] coefficients, float[] horizontal, int h, int w, Shift2D shift, float[] result, int maxThreads)
    {
        var (iy, wy, yInteger) = Weights(shift.Dy);
        var (ix, wx, xInteger) = Weights(shift.Dx);
        // Horizontal pass into a temporary, then vertical pass into the output.
        KernelThreads.For(0, h, maxThreads, y =>
        {
            var src = coefficients.AsSpan(y * w, w);
            var dst = horizontal.AsSpan(y * w, w);
            // Output x reads b - 1 .. b + 2 (b = x + ix): the interior, where none is mirrored, runs on SIMD lanes.
            int interiorStart = Math.Clamp(1 - ix, 0, w), interiorEnd = Math.Clamp(w - 2 - ix, interiorStart, w);
            for (int x = 0; x < interiorStart; x++) dst[x] = HorizontalAt(src, x + ix, wx);
            int xv = HorizontalInterior(src, dst, interiorStart, interiorEnd, ix, wx);
            for (int x = xv; x < w; x++) dst[x] = HorizontalAt(src, x + ix, wx);
        });
        KernelThreads.For(0, h, maxThreads, y =>
        {
            int b = y + iy;
            var dst = result.AsSpan(y * w, w);
            if (!InRange(b, yInteger, h))
            {
                dst.Fill(float.NaN);
                return;
            }
            var r0 = horizontal.AsSpan(Mirror(b - 1, h) * w, w);
            var r1 = horizontal.AsSpan(Mirror(b, h) * w, w);
            var r2 = horizontal.AsSpan(Mirror(b + 1, h) * w, w);
            var r3 = horizontal.AsSpan(Mirror(b + 2, h) * w, w);
            float w0 = (float)wy[0], w1 = (float)wy[1], w2 = (float)wy[2], w3 = (float)wy[3];
            int x = 0, lanes = Vector<float>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                var (v0, v1, v2, v3) = (new Vector<float>(w0), new Vector<float>(w1), new Vector<float>(w2), new Vector<float>(w3));
                for (; x + lanes <= w; x += lanes)
                    (v0 * new Vector<float>(r0.Slice(x, lanes)) + v1 * new Vector<float>(r1.Slice(x, lanes)) + v2 * new Vector<float>(r2.Slice(x, lanes))
                        + v3 * new Vector<float>(r3.Slice(x, lanes))).CopyTo(dst.Slice(x, lanes));
            }
            for (; x < w; x++)
                dst[x] = w0 * r0[x] + w1 * r1[x] + w2 * r2[x] + w3 * r3[x];
        });
        // Columns whose sample position is outside the image.
        for (int x = 0; x < w; x++)
        {
            if (InRange(x + ix, xInteger, w)) continue;
            for (int y = 0; y < h; y++) result[y * w + x] = float.NaN;
        }
    }

    /// <summary>The horizontal pass at one output pixel whose taps start at b - 1, mirrored at the row's ends.</summary>
    private static float HorizontalAt(ReadOnlySpan<float> src, int b, double[] wx)
    {
        int w = src.Length;
        return (float)(wx[0] * src[Mirror(b - 1, w)] + wx[1] * src[Mirror(b, w)] + wx[2] * src[Mirror(b + 1, w)] + wx[3] * src[Mirror(b + 2, w)]);
    }

    /// <summary>
    /// The horizontal pass for output x in [start, end) in whole vectors, none of whose taps is mirrored: each lane widens
    /// to double and sums the four products in the scalar order before rounding to float. Returns the first x not done.
    /// </summary>
    private static int HorizontalInterior(ReadOnlySpan<float> src, Span<float> dst, int start, int end, int ix, double[] wx)
    {
        int x = start, lanes = Vector<float>.Count;
        if (!Vector.IsHardwareAccelerated) return x;
        var (w0, w1, w2, w3) = (new Vector<double>(wx[0]), new Vector<double>(wx[1]), new Vector<double>(wx[2]), new Vector<double>(wx[3]));
        for (; x + lanes <= end; x += lanes)
        {
            int b = x + ix;
            Vector.Widen(new Vector<float>(src.Slice(b - 1, lanes)), out var a0, out var b0);
            Vector.Widen(new Vector<float>(src.Slice(b, lanes)), out var a1, out var b1);
            Vector.Widen(new Vector<float>(src.Slice(b + 1, lanes)), out var a2, out var b2);
            Vector.Widen(new Vector<float>(src.Slice(b + 2, lanes)), out var a3, out var b3);
            Vector.Narrow(w0 * a0 + w1 * a1 + w2 * a2 + w3 * a3, w0 * b0 + w1 * b1 + w2 * b2 + w3 * b3).CopyTo(dst.Slice(x, lanes));
        }
        return x;
    }

    /// <summary>Sample position b + t (t in [0,1), 0 when integer) must lie within [0, n-1].</summary>
    private static bool InRange(int b, bool integer, int n) => b >= 0 && (integer ? b <= n - 1 : b < n - 1);

    /// <summary>Integer part (floor) and the 4 cubic B-spline weights for taps floor-1 .. floor+2.</summary>
    private static (int Floor, double[] Weights, bool Integer) Weights(double shift)
    {
        double rounded = Math.Round(shift);
        bool integer = Math.Abs(shift - rounded) < IntegerTolerance;
        int floor = integer ? (int)rounded : (int)Math.Floor(shift);
        double t = integer ? 0 : shift - floor;
        double u = 1 - t;
        return (floor, [u * u * u / 6, (4 - 6 * t * t + 3 * t * t * t) / 6, (4 - 6 * u * u + 3 * u * u * u) / 6, t * t * t / 6], integer);
    }

    /// <summary>Cubic B-spline coefficients of the image (rows, then columns), mirror boundaries.</summary>
    /// <remarks>
    /// Each line's recursion is sequential, so the SIMD lanes run side by side lines instead: groups of rows, and blocks of
    /// <see cref="LineGroup"/> columns, interleaved (element i of lane j at i * LineGroup + j), each lane doing
    /// <see cref="Filter1D"/>'s operations in its order, so the coefficients are the single-line recursion's bit for bit.
    /// </remarks>
    /// <param name="c">Receives the coefficients in its first height x width elements.</param>
    private static void Prefilter(Image2D<float> image, float[] c, int maxThreads)
    {
        int h = image.Height, w = image.Width;
        image.Pixels.AsSpan().CopyTo(c);
        int rowGroups = (h + LineGroup - 1) / LineGroup;
        KernelThreads.For(0, rowGroups, maxThreads, g =>
        {
            int y0 = g * LineGroup, n = Math.Min(LineGroup, h - y0);
            // 16 lines of doubles are a large object at any real width: pooled like the slice-sized scratch above.
            var lines = ArrayPool<double>.Shared.Rent(LineGroup * w);
            Array.Clear(lines, 0, LineGroup * w);
            for (int j = 0; j < n; j++)
            {
                var row = c.AsSpan((y0 + j) * w, w);
                for (int x = 0; x < w; x++) lines[x * LineGroup + j] = row[x];
            }
            FilterLines(lines, w);
            for (int j = 0; j < n; j++)
            {
                var row = c.AsSpan((y0 + j) * w, w);
                for (int x = 0; x < w; x++) row[x] = (float)lines[x * LineGroup + j];
            }
            ArrayPool<double>.Shared.Return(lines);
        });
        int blocks = (w + LineGroup - 1) / LineGroup;
        KernelThreads.For(0, blocks, maxThreads, bi =>
        {
            int x0 = bi * LineGroup, n = Math.Min(LineGroup, w - x0);
            var lines = ArrayPool<double>.Shared.Rent(LineGroup * h);
            Array.Clear(lines, 0, LineGroup * h);
            // A block's columns are side by side in each row as the lanes want them: widened and narrowed a vector at a time
            // (the same conversions as the scalar casts; the column pass was 5 % of the alignment's CPU at 1 Gvoxel).
            for (int y = 0; y < h; y++) VolumeConversions.Widen(c.AsSpan(y * w + x0, n), lines.AsSpan(y * LineGroup, n));
            FilterLines(lines, h);
            for (int y = 0; y < h; y++) VolumeConversions.Narrow(lines.AsSpan(y * LineGroup, n), c.AsSpan(y * w + x0, n));
            ArrayPool<double>.Shared.Return(lines);
        });
    }

    /// <summary>Lines filtered side by side by <see cref="FilterLines"/>: a multiple of every SIMD width of doubles in use.</summary>
    private const int LineGroup = 16;

    /// <summary>
    /// <see cref="Filter1D"/> on <see cref="LineGroup"/> interleaved lines of <paramref name="n"/> elements each (unused
    /// lanes hold zeros and stay zero), vector by vector with the scalar recursion's operations in its order.
    /// </summary>
    private static void FilterLines(double[] lines, int n)
    {
        if (!Vector.IsHardwareAccelerated || LineGroup % Vector<double>.Count != 0)
        {
            var line = new double[n];
            for (int j = 0; j < LineGroup; j++)
            {
                for (int i = 0; i < n; i++) line[i] = lines[i * LineGroup + j];
                Filter1D(line);
                for (int i = 0; i < n; i++) lines[i * LineGroup + j] = line[i];
            }
            return;
        }
        if (n < 2) return;
        for (int v = 0; v < LineGroup; v += Vector<double>.Count) FilterLane(lines, n, v);
    }

    /// <summary>One vector of lanes (starting at lane <paramref name="v"/>) of <see cref="FilterLines"/>: <see cref="Filter1D"/> per lane.</summary>
    private static void FilterLane(double[] lines, int n, int v)
    {
        Vector<double> At(int i) => new(lines, i * LineGroup + v);
        void Set(int i, Vector<double> value) => value.CopyTo(lines, i * LineGroup + v);
        double z = Pole;
        double gain = (1 - z) * (1 - 1 / z);
        var (zs, gains) = (new Vector<double>(z), new Vector<double>(gain));
        for (int i = 0; i < n; i++) Set(i, At(i) * gains);
        int horizon = (int)Math.Ceiling(Math.Log(1e-12) / Math.Log(Math.Abs(z)));
        Vector<double> sum;
        if (horizon < n)
        {
            double zn = z;
            sum = At(0);
            for (int i = 1; i < horizon; i++) { sum += new Vector<double>(zn) * At(i); zn *= z; }
        }
        else
        {
            double zn = z, iz = 1 / z, z2n = Math.Pow(z, n - 1);
            sum = At(0) + new Vector<double>(z2n) * At(n - 1);
            z2n *= z2n * iz;
            for (int i = 1; i <= n - 2; i++) { sum += new Vector<double>(zn + z2n) * At(i); zn *= z; z2n *= iz; }
            sum /= new Vector<double>(1 - zn * zn);
        }
        Set(0, sum);
        var previous = sum;
        for (int i = 1; i < n; i++) Set(i, previous = At(i) + zs * previous);
        var last = new Vector<double>(z / (z * z - 1)) * (zs * At(n - 2) + At(n - 1));
        Set(n - 1, last);
        for (int i = n - 2; i >= 0; i--) Set(i, last = zs * (last - At(i)));
    }

    /// <summary>In-place cubic B-spline prefilter (Unser 1993; causal + anticausal recursion, mirror boundaries).</summary>
    private static void Filter1D(double[] c)
    {
        int n = c.Length;
        if (n < 2) return;
        double z = Pole;
        double gain = (1 - z) * (1 - 1 / z);
        for (int i = 0; i < n; i++) c[i] *= gain;
        // Causal initialisation for the mirror-extended signal.
        int horizon = (int)Math.Ceiling(Math.Log(1e-12) / Math.Log(Math.Abs(z)));
        double sum;
        if (horizon < n)
        {
            double zn = z;
            sum = c[0];
            for (int i = 1; i < horizon; i++) { sum += zn * c[i]; zn *= z; }
        }
        else
        {
            double zn = z, iz = 1 / z, z2n = Math.Pow(z, n - 1);
            sum = c[0] + z2n * c[n - 1];
            z2n *= z2n * iz;
            for (int i = 1; i <= n - 2; i++) { sum += (zn + z2n) * c[i]; zn *= z; z2n *= iz; }
            sum /= 1 - zn * zn;
        }
        c[0] = sum;
        for (int i = 1; i < n; i++) c[i] += z * c[i - 1];
        c[n - 1] = z / (z * z - 1) * (z * c[n - 2] + c[n - 1]);
        for (int i = n - 2; i >= 0; i--) c[i] = z * (c[i + 1] - c[i]);
    }

    /// <summary>Whole-sample mirror: -1 -> 1, n -> n-2.</summary>
    private static int Mirror(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
}
