using SsbTomo.Imaging.Alignment;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Alignment;

public class IntensityNormalizationTests(ITestOutputHelper output)
{
    [Fact]
    public void A_plane_added_to_a_constant_image_is_removed_exactly()
    {
        var image = new Image2D<float>(120, 160);
        for (int y = 0; y < 120; y++)
            for (int x = 0; x < 160; x++)
                image[y, x] = 0.4f + 0.001f * y - 0.0007f * x;
        var flat = IntensityNormalization.FlattenBackground(image, gridCells: 8, polynomialDegree: 1);
        float first = flat.Pixels[0];
        Assert.All(flat.Pixels, p => Assert.InRange(Math.Abs(p - first), 0, 1e-5));
    }

    [Fact]
    public void A_quadratic_gradient_under_large_bright_particles_is_removed_to_a_small_error()
    {
        const int h = 256, w = 256;
        var clean = new Image2D<float>(h, w);
        var rng = new Random(8);
        // Background 0.4 (electrolyte) with large bright particles (0.8) covering ~20 % of the slice.
        var centres = Enumerable.Range(0, 6).Select(_ => (Y: rng.NextDouble() * h, X: rng.NextDouble() * w, R: 18 + rng.NextDouble() * 14)).ToArray();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                clean[y, x] = centres.Any(c => (y - c.Y) * (y - c.Y) + (x - c.X) * (x - c.X) < c.R * c.R) ? 0.8f : 0.4f;
        var charged = new Image2D<float>(h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double u = 2.0 * x / (w - 1) - 1, v = 2.0 * y / (h - 1) - 1;
                charged[y, x] = clean[y, x] + (float)(0.12 * u + 0.05 * v + 0.08 * u * u - 0.04 * u * v);
            }
        var flat = IntensityNormalization.FlattenBackground(charged);
        double offset = flat.Pixels.Zip(clean.Pixels, (a, b) => (double)a - b).Average();
        double rms = Math.Sqrt(flat.Pixels.Zip(clean.Pixels, (a, b) => (a - b - offset) * (a - b - offset)).Average());
        double rmsBefore = Math.Sqrt(charged.Pixels.Zip(clean.Pixels, (a, b) => (double)(a - b)).Select(d => d - 0).Select(d => d * d).Average());
        output.WriteLine($"RMS error vs clean (up to a constant): {rms:F4} (gradient alone RMS {rmsBefore:F4})");
        Assert.True(rms < 0.01, $"RMS {rms}");
    }

    [Fact]
    public void Robust_range_matches_numpy_percentile()
    {
        var image = new Image2D<float>(50, 70);
        var rng = new Random(2);
        for (int i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (float)(rng.NextDouble() * rng.NextDouble());
        image.Pixels[17] = float.NaN;
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "img.bin");
        ImageTools.WriteRaw(path, image);
        var expected = ImageTools.ParseDoubles(PythonOracle.Run("""
            import sys, numpy as np
            a = np.fromfile(sys.argv[1], np.float32).astype(np.float64)
            a = a[np.isfinite(a)]
            print(np.percentile(a, 1), np.percentile(a, 99))
            """, path));
        var range = IntensityNormalization.RobustRange(image);
        Assert.Equal(expected[0], range.Low, 6);
        Assert.Equal(expected[1], range.High, 6);
    }

    [Fact]
    public void Percentile_stretch_maps_one_range_onto_another()
    {
        var image = new Image2D<float>(1, 4, [0.1f, 0.3f, 0.5f, float.NaN]);
        var stretched = IntensityNormalization.PercentileStretch(image, new IntensityRange(0.1, 0.5), new IntensityRange(10, 20));
        Assert.Equal(10f, stretched.Pixels[0], 4);
        Assert.Equal(15f, stretched.Pixels[1], 4);
        Assert.Equal(20f, stretched.Pixels[2], 4);
        Assert.True(float.IsNaN(stretched.Pixels[3]));
        Assert.Throws<ArgumentException>(() => IntensityNormalization.PercentileStretch(image, new IntensityRange(1, 1), new IntensityRange(0, 1)));
    }
}
