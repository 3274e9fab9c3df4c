using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Reference;

/// <summary>
/// SubpixelShift.Apply's 4-tap passes as they were before the horizontal pass's interior ran on SIMD lanes without
/// mirroring (every tap mirrored, one pixel at a time), frozen: the faster version must give these bits.
/// </summary>
internal static class SubpixelShiftReference
{
    public static float[] Apply(Image2D<float> image, double dy, double dx)
    {
        int h = image.Height, w = image.Width;
        var coefficients = SubpixelShift.Prefilter(image, 1);
        var (iy, wy, yInteger) = Weights(dy);
        var (ix, wx, xInteger) = Weights(dx);
        var horizontal = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var src = coefficients.AsSpan(y * w, w);
                int b = x + ix;
                horizontal[y * w + x] = (float)(wx[0] * src[Mirror(b - 1, w)] + wx[1] * src[Mirror(b, w)] + wx[2] * src[Mirror(b + 1, w)]
                    + wx[3] * src[Mirror(b + 2, w)]);
            }
        var result = new float[h * w];
        float w0 = (float)wy[0], w1 = (float)wy[1], w2 = (float)wy[2], w3 = (float)wy[3];
        for (int y = 0; y < h; y++)
        {
            int b = y + iy;
            for (int x = 0; x < w; x++)
                result[y * w + x] = !InRange(b, yInteger, h) || !InRange(x + ix, xInteger, w) ? float.NaN
                    : w0 * horizontal[Mirror(b - 1, h) * w + x] + w1 * horizontal[Mirror(b, h) * w + x]
                        + w2 * horizontal[Mirror(b + 1, h) * w + x] + w3 * horizontal[Mirror(b + 2, h) * w + x];
        }
        return result;
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

    private static int Mirror(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
}
