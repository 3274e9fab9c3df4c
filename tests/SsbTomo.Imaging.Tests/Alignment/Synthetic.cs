using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// Analytic test scenes: sums of Gaussian blobs at continuous positions, so an image shifted by any sub-pixel
/// amount is known exactly (no interpolation in the ground truth).
/// </summary>
internal sealed class BlobScene
{
    private readonly double[] _y, _x, _z, _sigma, _amplitude;

    public BlobScene(int count, double heightPx, double widthPx, int seed, double minSigmaPx = 1.5, double maxSigmaPx = 4, double depthSlices = 0)
    {
        var rng = new Random(seed);
        _y = new double[count]; _x = new double[count]; _z = new double[count];
        _sigma = new double[count]; _amplitude = new double[count];
        for (int i = 0; i < count; i++)
        {
            _y[i] = rng.NextDouble() * (heightPx + 80) - 40;
            _x[i] = rng.NextDouble() * (widthPx + 80) - 40;
            _z[i] = depthSlices > 0 ? rng.NextDouble() * (depthSlices + 40) - 20 : 0;
            _sigma[i] = minSigmaPx + rng.NextDouble() * (maxSigmaPx - minSigmaPx);
            _amplitude[i] = rng.NextDouble() * 2 - 0.6;
        }
    }

    /// <summary>Renders the scene so that a feature at p appears at p + shift; slice selects blobs by depth (sigma 8 slices).</summary>
    public Image2D<float> Render(int height, int width, Shift2D shift, double slice = 0, double background = 0.5)
    {
        var img = new Image2D<float>(height, width);
        var pixels = img.Pixels;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                pixels[y * width + x] = (float)background;
        for (int i = 0; i < _y.Length; i++)
        {
            double a = _amplitude[i] * 0.25;
            if (_z[i] != 0 || slice != 0)
            {
                double dz = (slice - _z[i]) / 8.0;
                if (Math.Abs(dz) > 3) continue;
                a *= Math.Exp(-0.5 * dz * dz);
            }
            double cy = _y[i] + shift.Dy, cx = _x[i] + shift.Dx, s = _sigma[i];
            int r = (int)Math.Ceiling(4 * s);
            int y0 = Math.Max(0, (int)cy - r), y1 = Math.Min(height - 1, (int)cy + r);
            int x0 = Math.Max(0, (int)cx - r), x1 = Math.Min(width - 1, (int)cx + r);
            double inv = -0.5 / (s * s);
            for (int y = y0; y <= y1; y++)
            {
                double ey = (y - cy) * (y - cy);
                for (int x = x0; x <= x1; x++)
                    pixels[y * width + x] += (float)(a * Math.Exp(inv * (ey + (x - cx) * (x - cx))));
            }
        }
        return img;
    }
}

internal static class ImageTools
{
    /// <summary>
    /// The scene as square slices that drift by a random walk (σ 0.8 px per slice and axis, from <paramref name="driftSeed"/>)
    /// with noise of 10/255 (slice k's from <paramref name="noiseSeed"/> + k): a stack to register.
    /// </summary>
    public static Image2D<float>[] DriftingStack(BlobScene scene, int slices, int size, int driftSeed, int noiseSeed)
    {
        var rng = new Random(driftSeed);
        var drift = Shift2D.Zero;
        var stack = new Image2D<float>[slices];
        for (var k = 0; k < slices; k++)
        {
            drift += new Shift2D(rng.NextGaussian() * 0.8, rng.NextGaussian() * 0.8);
            stack[k] = scene.Render(size, size, drift);
            AddNoise(stack[k], 10 / 255.0, noiseSeed + k);
        }
        return stack;
    }

    public static void AddNoise(Image2D<float> image, double sigma, int seed)
    {
        var rng = new Random(seed);
        var p = image.Pixels;
        for (int i = 0; i < p.Length; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            p[i] += (float)(sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
    }

    /// <summary>Vertical stripes: a per-column offset, constant along y.</summary>
    public static float[] StripeProfile(int width, double amplitude, int seed)
    {
        var rng = new Random(seed);
        var profile = new float[width];
        int x = 0;
        while (x < width)
        {
            int run = 1 + rng.Next(5);
            float v = (float)((rng.NextDouble() * 2 - 1) * amplitude);
            if (rng.NextDouble() < 0.3) v = 0;
            for (int i = 0; i < run && x < width; i++, x++) profile[x] = v;
        }
        return profile;
    }

    public static void AddStripes(Image2D<float> image, float[] profile)
    {
        for (int y = 0; y < image.Height; y++)
        {
            var row = image.Row(y);
            for (int x = 0; x < image.Width; x++) row[x] += profile[x];
        }
    }

    public static void WriteRaw(string path, Image2D<float> image)
    {
        var bytes = new byte[image.Pixels.Length * 4];
        Buffer.BlockCopy(image.Pixels, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(path, bytes);
    }

    public static Image2D<float> ReadRaw(string path, int height, int width)
    {
        var bytes = File.ReadAllBytes(path);
        var pixels = new float[height * width];
        Buffer.BlockCopy(bytes, 0, pixels, 0, bytes.Length);
        return new Image2D<float>(height, width, pixels);
    }

    public static double[] ParseDoubles(string text) =>
        text.Split((char[])[' ', '\n', '\r', '\t', ','], StringSplitOptions.RemoveEmptyEntries)
            .Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
