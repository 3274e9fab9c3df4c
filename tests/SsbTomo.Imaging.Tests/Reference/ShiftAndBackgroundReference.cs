using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Reference;

// The cubic B-spline shift's two passes and the background removal as scalar loops
// with the spline prefilter line by line (before their SIMD lanes, session 28), kept as the reference.

internal static class SubpixelShiftReference
{
    public static Image2D<float> Apply(Image2D<float> image, Shift2D shift)
    {
        int h = image.Height, w = image.Width;
        var output = new Image2D<float>(h, w);
        var coefficients = Prefilter(image);
        var (iy, wy, yInteger) = Weights(shift.Dy);
        var (ix, wx, xInteger) = Weights(shift.Dx);
        var horizontal = new float[h * w];
        for (int y = 0; y < h; y++)
        {
            var src = coefficients.AsSpan(y * w, w);
            var dst = horizontal.AsSpan(y * w, w);
            for (int x = 0; x < w; x++)
            {
                int b = x + ix;
                dst[x] = (float)(wx[0] * src[Mirror(b - 1, w)] + wx[1] * src[Mirror(b, w)] + wx[2] * src[Mirror(b + 1, w)] + wx[3] * src[Mirror(b + 2, w)]);
            }
        }
        var result = output.Pixels;
        for (int y = 0; y < h; y++)
        {
            int b = y + iy;
            var dst = result.AsSpan(y * w, w);
            if (!InRange(b, yInteger, h))
            {
                dst.Fill(float.NaN);
                continue;
            }
            var r0 = horizontal.AsSpan(Mirror(b - 1, h) * w, w);
            var r1 = horizontal.AsSpan(Mirror(b, h) * w, w);
            var r2 = horizontal.AsSpan(Mirror(b + 1, h) * w, w);
            var r3 = horizontal.AsSpan(Mirror(b + 2, h) * w, w);
            float w0 = (float)wy[0], w1 = (float)wy[1], w2 = (float)wy[2], w3 = (float)wy[3];
            for (int x = 0; x < w; x++)
                dst[x] = w0 * r0[x] + w1 * r1[x] + w2 * r2[x] + w3 * r3[x];
        }
        for (int x = 0; x < w; x++)
        {
            if (InRange(x + ix, xInteger, w)) continue;
            for (int y = 0; y < h; y++) result[y * w + x] = float.NaN;
        }
        return output;
    }

    private static bool InRange(int b, bool integer, int n) => b >= 0 && (integer ? b <= n - 1 : b < n - 1);

    private static (int Floor, double[] Weights, bool Integer) Weights(double shift)
    {
        double rounded = Math.Round(shift);
        bool integer = Math.Abs(shift - rounded) < 1e-9;
        int floor = integer ? (int)rounded : (int)Math.Floor(shift);
        double t = integer ? 0 : shift - floor;
        double u = 1 - t;
        return (floor, [u * u * u / 6, (4 - 6 * t * t + 3 * t * t * t) / 6, (4 - 6 * u * u + 3 * u * u * u) / 6, t * t * t / 6], integer);
    }

    private static readonly double Pole = Math.Sqrt(3) - 2;

    /// <summary>Cubic B-spline coefficients of the image (rows, then columns), mirror boundaries.</summary>
    private static float[] Prefilter(Image2D<float> image)
    {
        int h = image.Height, w = image.Width;
        var c = (float[])image.Pixels.Clone();
        var line = new double[w];
        for (int y = 0; y < h; y++)
        {
            var row = c.AsSpan(y * w, w);
            for (int x = 0; x < w; x++) line[x] = row[x];
            Filter1D(line);
            for (int x = 0; x < w; x++) row[x] = (float)line[x];
        }
        const int block = 16;
        int blocks = (w + block - 1) / block;
        var lines = new double[block][];
        for (int bi = 0; bi < blocks; bi++)
        {
            int x0 = bi * block, n = Math.Min(block, w - x0);
            for (int j = 0; j < n; j++) lines[j] ??= new double[h];
            for (int y = 0; y < h; y++)
                for (int j = 0; j < n; j++) lines[j][y] = c[y * w + x0 + j];
            for (int j = 0; j < n; j++) Filter1D(lines[j]);
            for (int y = 0; y < h; y++)
                for (int j = 0; j < n; j++) c[y * w + x0 + j] = (float)lines[j][y];
        }
        return c;
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

    private static int Mirror(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
}

internal static class BackgroundRemovalReference
{
    public static Image2D<float> Remove(Image2D<float> image, int degree, double[] coefficients, double level, BackgroundModel model)
    {
        int h = image.Height, w = image.Width;
        var output = new Image2D<float>(h, w);
        var (src, dst) = (image.Pixels, output.Pixels);
        var inU = new double[degree + 1];
        for (int y = 0; y < h; y++)
        {
            double vy = Normalised(y, h);
            Array.Clear(inU);
            int index = 0;
            for (int total = 0; total <= degree; total++)
                for (int q = 0; q <= total; q++, index++)
                    inU[total - q] += coefficients[index] * Math.Pow(vy, q);
            for (int x = 0; x < w; x++)
            {
                double ux = Normalised(x, w);
                double background = 0;
                for (int p = degree; p >= 0; p--) background = background * ux + inU[p];
                int i = y * w + x;
                dst[i] = model == BackgroundModel.Subtract ? (float)(src[i] - background + level) : (float)(src[i] * level / background);
            }
        }
        return output;
    }

    private static double Normalised(int i, int n) => n == 1 ? 0 : 2.0 * i / (n - 1) - 1;
}
