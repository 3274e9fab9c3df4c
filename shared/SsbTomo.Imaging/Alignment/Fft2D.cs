using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Writes row <c>y</c> of a real image (all <c>row.Length</c> samples, zeros for padding) into <c>row</c>. Called from
/// worker threads while they hold their per-thread scratch, so it must not start FFTs or wait on other work itself.
/// </summary>
internal delegate void RealRowSource(int y, Span<double> row);

/// <summary>
/// 2D FFT of real images for power-of-two sizes, kept as the non-redundant half spectrum: <c>height</c> rows of
/// <c>width/2 + 1</c> frequencies (0..width/2), real and imaginary parts in separate arrays, row-major.
/// The full spectrum follows from F[ky, width - kx] = conj(F[(height - ky) mod height, kx]).
/// <para>
/// Why hand-written rather than a library: MathNet's managed FFT (the only maintained FFT on our package list) was
/// 5-10x slower here and has no 2D or batched transform. Speed comes from (1) real input: two real rows are
/// transformed as one complex row and separated, so a real image costs half a complex one; (2) batching: every 1D
/// transform works on <see cref="Lanes"/> independent rows or columns at once, interleaved so each butterfly is a
/// few SIMD instructions over the lanes with one broadcast twiddle, and the interleaving copy is the transpose
/// the column pass needs anyway; (3) radix-4 passes; (4) cached twiddles and bit-reversal tables, and per-thread
/// scratch so a transform allocates nothing. Hot loops are marked AggressiveOptimization: each runs only a few
/// times per registration, so under tiered JIT the first registrations of a stack would run unoptimised code.
/// </para>
/// Forward is unscaled with exp(-i...); <see cref="InverseReal"/> is unscaled with exp(+i...), i.e. it returns
/// height * width times the inverse DFT.
/// </summary>
internal static class Fft2D
{
    /// <summary>Independent transforms done together: a multiple of every SIMD width, small enough that the interleaved scratch of a 1024-point transform (256 KB) stays in L2.</summary>
    private const int Lanes = 16;

    private static readonly ConcurrentDictionary<int, Plan> Plans = new();

    [ThreadStatic] private static double[]? _scratchRe;
    [ThreadStatic] private static double[]? _scratchIm;
    [ThreadStatic] private static double[]? _rowBuffer;

    public static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;

    public static int NextPowerOfTwo(int n)
    {
        int p = 1;
        while (p < n) p <<= 1;
        return p;
    }

    /// <summary>Number of stored frequencies per row of the half spectrum of a real image <paramref name="width"/> wide.</summary>
    public static int HalfWidth(int width) => width / 2 + 1;

    /// <summary>
    /// Half spectrum of the real <paramref name="height"/> x <paramref name="width"/> image whose rows
    /// <paramref name="source"/> writes; rows at or beyond <paramref name="sourceRows"/> are zero and not asked for.
    /// <paramref name="re"/> and <paramref name="im"/> receive height x <see cref="HalfWidth"/> values.
    /// <paramref name="maxThreads"/> 1 runs on the calling thread only (for callers that run transforms side by side);
    /// the spectrum is the same for any count (<see cref="KernelThreads"/>).
    /// </summary>
    public static void ForwardReal(int height, int width, int sourceRows, RealRowSource source, double[] re, double[] im, int maxThreads = KernelThreads.All)
    {
        CheckSize(height, width);
        int halfWidth = HalfWidth(width);
        if (re.Length < height * halfWidth || im.Length < height * halfWidth)
            throw new ArgumentException("output arrays are smaller than the half spectrum");
        var plan = PlanFor(width);
        int pairs = height / 2;
        int blocks = (pairs + Lanes - 1) / Lanes;
        KernelThreads.For(0, blocks, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (block) =>
        {
            int firstRow = 2 * block * Lanes;
            int lanesUsed = Math.Min(Lanes, pairs - block * Lanes);
            if (firstRow >= sourceRows)
            {
                // Zero padding below the image: its spectrum rows are zero, no transform needed.
                re.AsSpan(firstRow * halfWidth, 2 * lanesUsed * halfWidth).Clear();
                im.AsSpan(firstRow * halfWidth, 2 * lanesUsed * halfWidth).Clear();
                return;
            }
            var (sRe, sIm) = Scratch(width);
            var row = RowBuffer(width);
            var reverse = plan.BitReverse;
            for (int lane = 0; lane < Lanes; lane++)
            {
                // Row pair (a, b) becomes the complex row a + i b, written in bit-reversed order for the transform.
                int a = firstRow + 2 * lane;
                if (lane < lanesUsed && a < sourceRows)
                {
                    source(a, row);
                    for (int x = 0; x < width; x++) sRe[reverse[x] * Lanes + lane] = row[x];
                    if (a + 1 < sourceRows)
                    {
                        source(a + 1, row);
                        for (int x = 0; x < width; x++) sIm[reverse[x] * Lanes + lane] = row[x];
                    }
                    else
                    {
                        for (int x = 0; x < width; x++) sIm[x * Lanes + lane] = 0;
                    }
                }
                else
                {
                    for (int x = 0; x < width; x++) sRe[x * Lanes + lane] = sIm[x * Lanes + lane] = 0;
                }
            }
            TransformLanes(sRe, sIm, plan, inverse: false);
            for (int lane = 0; lane < lanesUsed; lane++)
            {
                // Z = A + iB with A, B the spectra of real rows: A[k] = (Z[k] + conj Z[-k]) / 2, B[k] = (Z[k] - conj Z[-k]) / 2i.
                int outA = (firstRow + 2 * lane) * halfWidth, outB = outA + halfWidth;
                for (int k = 0; k < halfWidth; k++)
                {
                    int m = (width - k) & (width - 1);
                    double zr = sRe[k * Lanes + lane], zi = sIm[k * Lanes + lane];
                    double mr = sRe[m * Lanes + lane], mi = sIm[m * Lanes + lane];
                    re[outA + k] = 0.5 * (zr + mr);
                    im[outA + k] = 0.5 * (zi - mi);
                    re[outB + k] = 0.5 * (zi + mi);
                    im[outB + k] = 0.5 * (mr - zr);
                }
            }
        });
        TransformColumns(re, im, re, im, height, halfWidth, inverse: false, maxThreads);
    }

    /// <summary>
    /// Real image (height x width, row-major, into <paramref name="output"/>) whose half spectrum is
    /// (<paramref name="re"/>, <paramref name="im"/>), unscaled: height * width times the inverse DFT. The half spectrum
    /// is read, not changed; the imaginary parts the DC and Nyquist columns should not have are ignored, which is the
    /// real part of the full inverse transform. <paramref name="workRe"/>/<paramref name="workIm"/> hold height x HalfWidth.
    /// </summary>
    public static void InverseReal(int height, int width, double[] re, double[] im, double[] workRe, double[] workIm, double[] output, int maxThreads = KernelThreads.All)
    {
        CheckSize(height, width);
        int halfWidth = HalfWidth(width);
        if (output.Length < height * width) throw new ArgumentException("output is smaller than the image", nameof(output));
        TransformColumns(re, im, workRe, workIm, height, halfWidth, inverse: true, maxThreads);
        var plan = PlanFor(width);
        int pairs = height / 2;
        int blocks = (pairs + Lanes - 1) / Lanes;
        KernelThreads.For(0, blocks, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (block) =>
        {
            int firstRow = 2 * block * Lanes;
            int lanesUsed = Math.Min(Lanes, pairs - block * Lanes);
            var (sRe, sIm) = Scratch(width);
            var reverse = plan.BitReverse;
            int nyquist = width / 2;
            for (int lane = 0; lane < Lanes; lane++)
            {
                if (lane >= lanesUsed)
                {
                    for (int x = 0; x < width; x++) sRe[x * Lanes + lane] = sIm[x * Lanes + lane] = 0;
                    continue;
                }
                // Rows a, b are real, so their transforms along x are Hermitian: Z = A + iB is their sum, extended to all k.
                int inA = (firstRow + 2 * lane) * halfWidth, inB = inA + halfWidth;
                sRe[reverse[0] * Lanes + lane] = workRe[inA];
                sIm[reverse[0] * Lanes + lane] = workRe[inB];
                sRe[reverse[nyquist] * Lanes + lane] = workRe[inA + nyquist];
                sIm[reverse[nyquist] * Lanes + lane] = workRe[inB + nyquist];
                for (int k = 1; k < nyquist; k++)
                {
                    double ar = workRe[inA + k], ai = workIm[inA + k], br = workRe[inB + k], bi = workIm[inB + k];
                    int p = reverse[k] * Lanes + lane, q = reverse[width - k] * Lanes + lane;
                    sRe[p] = ar - bi;
                    sIm[p] = ai + br;
                    sRe[q] = ar + bi;
                    sIm[q] = br - ai;
                }
            }
            TransformLanes(sRe, sIm, plan, inverse: true);
            for (int lane = 0; lane < lanesUsed; lane++)
            {
                int outA = (firstRow + 2 * lane) * width, outB = outA + width;
                for (int x = 0; x < width; x++)
                {
                    output[outA + x] = sRe[x * Lanes + lane];
                    output[outB + x] = sIm[x * Lanes + lane];
                }
            }
        });
    }

    private static void CheckSize(int height, int width)
    {
        if (!IsPowerOfTwo(height) || !IsPowerOfTwo(width) || height < 2 || width < 2)
            throw new ArgumentException($"FFT size {height}x{width} is not a power of two of at least 2");
    }

    /// <summary>1D transforms along y of every column of a height x columns array, from source to destination (may be the same arrays).</summary>
    private static void TransformColumns(double[] sourceRe, double[] sourceIm, double[] destinationRe, double[] destinationIm, int height, int columns, bool inverse, int maxThreads)
    {
        var plan = PlanFor(height);
        int blocks = (columns + Lanes - 1) / Lanes;
        KernelThreads.For(0, blocks, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (block) =>
        {
            int x0 = block * Lanes, count = Math.Min(Lanes, columns - x0);
            var (sRe, sIm) = Scratch(height);
            var reverse = plan.BitReverse;
            for (int y = 0; y < height; y++)
            {
                int to = reverse[y] * Lanes;
                sourceRe.AsSpan(y * columns + x0, count).CopyTo(sRe.AsSpan(to, count));
                sourceIm.AsSpan(y * columns + x0, count).CopyTo(sIm.AsSpan(to, count));
                if (count < Lanes)
                {
                    sRe.AsSpan(to + count, Lanes - count).Clear();
                    sIm.AsSpan(to + count, Lanes - count).Clear();
                }
            }
            TransformLanes(sRe, sIm, plan, inverse);
            for (int y = 0; y < height; y++)
            {
                sRe.AsSpan(y * Lanes, count).CopyTo(destinationRe.AsSpan(y * columns + x0, count));
                sIm.AsSpan(y * Lanes, count).CopyTo(destinationIm.AsSpan(y * columns + x0, count));
            }
        });
    }

    /// <summary>
    /// <see cref="Lanes"/> interleaved complex transforms of length plan.Length (element k of lane j at k * Lanes + j),
    /// input in bit-reversed order, output in natural order: iterative radix-2 decimation in time, with stages done
    /// two at a time (radix-4 passes) so the scratch is read and written half as often and the second stage's odd
    /// twiddle is the even one times -i (one complex multiply fewer per four points).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformLanes(double[] re, double[] im, Plan plan, bool inverse)
    {
        int n = plan.Length;
        if (re.Length < n * Lanes || im.Length < n * Lanes) throw new ArgumentException("scratch is too small");
        int width = Vector<double>.Count;
        ref double r0 = ref MemoryMarshal.GetArrayDataReference(re);
        ref double i0 = ref MemoryMarshal.GetArrayDataReference(im);
        int firstHalf = 1;
        if ((BitOperations.Log2((uint)n) & 1) == 1)
        {
            // An odd number of stages: the length-2 stage alone first (twiddle 1, no multiplications).
            for (int start = 0; start < n; start += 2)
            {
                nuint p = (nuint)(start * Lanes), q = p + Lanes;
                for (nuint l = 0; l < Lanes; l += (nuint)width)
                {
                    var ur = Vector.LoadUnsafe(ref r0, p + l); var ui = Vector.LoadUnsafe(ref i0, p + l);
                    var vr = Vector.LoadUnsafe(ref r0, q + l); var vi = Vector.LoadUnsafe(ref i0, q + l);
                    (ur + vr).StoreUnsafe(ref r0, p + l); (ui + vi).StoreUnsafe(ref i0, p + l);
                    (ur - vr).StoreUnsafe(ref r0, q + l); (ui - vi).StoreUnsafe(ref i0, q + l);
                }
            }
            firstHalf = 2;
        }
        var twiddleRe = plan.TwiddleRe;
        var twiddleIm = plan.TwiddleIm;
        double direction = inverse ? -1 : 1;
        for (int half = firstHalf; half < n; half <<= 2)
        {
            // Stage A joins points `half` apart (twiddle wa), stage B points 2*half apart (wb, and wb * -i for the
            // odd ones; +i when inverse, which swaps where the two results of that butterfly go).
            // Stage tables are stored one after another: the stage with butterflies h apart starts at h - 1.
            nuint quarter = (nuint)(half * Lanes);
            nuint oddPlus = inverse ? 3 * quarter : quarter, oddMinus = inverse ? quarter : 3 * quarter;
            for (int k = 0; k < half; k++)
            {
                var war = new Vector<double>(twiddleRe[half - 1 + k]);
                var wai = new Vector<double>(direction * twiddleIm[half - 1 + k]);
                var wbr = new Vector<double>(twiddleRe[2 * half - 1 + k]);
                var wbi = new Vector<double>(direction * twiddleIm[2 * half - 1 + k]);
                for (int start = k; start < n; start += 4 * half)
                {
                    nuint p = (nuint)(start * Lanes);
                    for (nuint l = p; l < p + Lanes; l += (nuint)width)
                    {
                        var a0r = Vector.LoadUnsafe(ref r0, l); var a0i = Vector.LoadUnsafe(ref i0, l);
                        var a1r = Vector.LoadUnsafe(ref r0, l + quarter); var a1i = Vector.LoadUnsafe(ref i0, l + quarter);
                        var a2r = Vector.LoadUnsafe(ref r0, l + 2 * quarter); var a2i = Vector.LoadUnsafe(ref i0, l + 2 * quarter);
                        var a3r = Vector.LoadUnsafe(ref r0, l + 3 * quarter); var a3i = Vector.LoadUnsafe(ref i0, l + 3 * quarter);
                        var tr = a1r * war - a1i * wai; var ti = a1r * wai + a1i * war;
                        var b0r = a0r + tr; var b0i = a0i + ti; var b1r = a0r - tr; var b1i = a0i - ti;
                        tr = a3r * war - a3i * wai; ti = a3r * wai + a3i * war;
                        var b2r = a2r + tr; var b2i = a2i + ti; var b3r = a2r - tr; var b3i = a2i - ti;
                        tr = b2r * wbr - b2i * wbi; ti = b2r * wbi + b2i * wbr;
                        (b0r + tr).StoreUnsafe(ref r0, l); (b0i + ti).StoreUnsafe(ref i0, l);
                        (b0r - tr).StoreUnsafe(ref r0, l + 2 * quarter); (b0i - ti).StoreUnsafe(ref i0, l + 2 * quarter);
                        // u = b3 * wb; b3 * wb * (-i) = (u.im, -u.re).
                        var ur = b3r * wbr - b3i * wbi; var ui = b3r * wbi + b3i * wbr;
                        (b1r + ui).StoreUnsafe(ref r0, l + oddPlus); (b1i - ur).StoreUnsafe(ref i0, l + oddPlus);
                        (b1r - ui).StoreUnsafe(ref r0, l + oddMinus); (b1i + ur).StoreUnsafe(ref i0, l + oddMinus);
                    }
                }
            }
        }
    }

    private static (double[] Re, double[] Im) Scratch(int length)
    {
        int needed = length * Lanes;
        if (_scratchRe is null || _scratchRe.Length < needed)
        {
            _scratchRe = new double[needed];
            _scratchIm = new double[needed];
        }
        return (_scratchRe, _scratchIm!);
    }

    private static double[] RowBuffer(int length)
    {
        if (_rowBuffer is null || _rowBuffer.Length != length) _rowBuffer = new double[length];
        return _rowBuffer;
    }

    private static Plan PlanFor(int n) => Plans.GetOrAdd(n, static length => new Plan(length));

    /// <summary>Tables for one transform length: exp(-2 pi i k / size) per stage, and the bit-reversal permutation.</summary>
    private sealed class Plan
    {
        public Plan(int length)
        {
            Length = length;
            // Stage with butterflies `half` apart uses exp(-2 pi i k / (2 half)), k < half, at offset half - 1.
            TwiddleRe = new double[Math.Max(length - 1, 1)];
            TwiddleIm = new double[Math.Max(length - 1, 1)];
            for (int half = 1; half < length; half <<= 1)
            {
                for (int k = 0; k < half; k++)
                {
                    var (sin, cos) = Math.SinCos(-Math.PI * k / half);
                    TwiddleRe[half - 1 + k] = cos;
                    TwiddleIm[half - 1 + k] = sin;
                }
            }
            int bits = BitOperations.Log2((uint)length);
            BitReverse = new int[length];
            for (int i = 0; i < length; i++)
                BitReverse[i] = bits == 0 ? 0 : (int)(ReverseBits((uint)i) >> (32 - bits));
        }

        public int Length { get; }
        public double[] TwiddleRe { get; }
        public double[] TwiddleIm { get; }
        public int[] BitReverse { get; }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint ReverseBits(uint value)
        {
            value = ((value >> 1) & 0x55555555u) | ((value & 0x55555555u) << 1);
            value = ((value >> 2) & 0x33333333u) | ((value & 0x33333333u) << 2);
            value = ((value >> 4) & 0x0F0F0F0Fu) | ((value & 0x0F0F0F0Fu) << 4);
            value = ((value >> 8) & 0x00FF00FFu) | ((value & 0x00FF00FFu) << 8);
            return (value >> 16) | (value << 16);
        }
    }
}
