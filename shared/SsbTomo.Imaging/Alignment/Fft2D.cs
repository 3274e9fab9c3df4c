using System.Collections.Concurrent;
using Complex = System.Numerics.Complex;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// In-place 2D FFT (rows, then columns in blocks) for power-of-two sizes: an iterative radix-2 transform with
/// cached twiddle and bit-reversal tables (MathNet's managed transform was 5-10x slower here, and has no 2D).
/// Forward is unscaled (exp(-i...)), inverse divides by height*width.
/// </summary>
internal static class Fft2D
{
    private static readonly ConcurrentDictionary<int, (Complex[] Twiddles, int[] Reverse)> Tables = new();

    public static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;

    public static int NextPowerOfTwo(int n)
    {
        int p = 1;
        while (p < n) p <<= 1;
        return p;
    }

    public static void Forward(Complex[] data, int height, int width) => Transform(data, height, width, inverse: false);

    public static void Inverse(Complex[] data, int height, int width)
    {
        Transform(data, height, width, inverse: true);
        double scale = 1.0 / ((double)height * width);
        for (int i = 0; i < data.Length; i++) data[i] *= scale;
    }

    private static void Transform(Complex[] data, int height, int width, bool inverse)
    {
        if (!IsPowerOfTwo(height) || !IsPowerOfTwo(width))
            throw new ArgumentException($"FFT size {height}x{width} is not a power of two");
        Parallel.For(0, height, y => Transform1D(data.AsSpan(y * width, width), inverse));
        const int block = 16;
        int blocks = (width + block - 1) / block;
        Parallel.For(0, blocks, () => new Complex[block * height], (b, _, buffer) =>
        {
            int x0 = b * block, n = Math.Min(block, width - x0);
            for (int y = 0; y < height; y++)
                for (int j = 0; j < n; j++) buffer[j * height + y] = data[y * width + x0 + j];
            for (int j = 0; j < n; j++) Transform1D(buffer.AsSpan(j * height, height), inverse);
            for (int y = 0; y < height; y++)
                for (int j = 0; j < n; j++) data[y * width + x0 + j] = buffer[j * height + y];
            return buffer;
        }, _ => { });
    }

    private static void Transform1D(Span<Complex> a, bool inverse)
    {
        int n = a.Length;
        if (n < 2) return;
        var (twiddles, reverse) = Tables.GetOrAdd(n, Build);
        for (int i = 0; i < n; i++)
        {
            int j = reverse[i];
            if (j > i) (a[i], a[j]) = (a[j], a[i]);
        }
        for (int size = 2; size <= n; size <<= 1)
        {
            int half = size >> 1, step = n / size;
            for (int start = 0; start < n; start += size)
            {
                for (int k = 0; k < half; k++)
                {
                    var t = twiddles[k * step];
                    if (inverse) t = Complex.Conjugate(t);
                    var u = a[start + k];
                    var v = a[start + k + half] * t;
                    a[start + k] = u + v;
                    a[start + k + half] = u - v;
                }
            }
        }
    }

    private static (Complex[], int[]) Build(int n)
    {
        var twiddles = new Complex[n / 2];
        for (int k = 0; k < n / 2; k++) twiddles[k] = Complex.FromPolarCoordinates(1, -2 * Math.PI * k / n);
        int bits = 0;
        while ((1 << bits) < n) bits++;
        var reverse = new int[n];
        for (int i = 0; i < n; i++)
        {
            int r = 0;
            for (int b = 0; b < bits; b++) if ((i & (1 << b)) != 0) r |= 1 << (bits - 1 - b);
            reverse[i] = r;
        }
        return (twiddles, reverse);
    }
}
