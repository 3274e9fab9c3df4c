using SsbTomo.Imaging.Alignment;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Alignment;

public class SubpixelShiftTests(ITestOutputHelper output)
{
    [Fact]
    public void Matches_scipy_ndimage_shift_order_3_mirror_where_defined()
    {
        var scene = new BlobScene(600, 90, 120, seed: 11);
        var image = scene.Render(90, 120, Shift2D.Zero);
        ImageTools.AddNoise(image, 0.02, 4);
        var shift = new Shift2D(2.37, -4.61);
        var ours = SubpixelShift.Apply(image, shift);
        using var dir = new TempDirectory();
        ImageTools.WriteRaw(Path.Combine(dir.Path, "in.bin"), image);
        const string script = """
            import sys, numpy as np
            from scipy import ndimage
            a = np.fromfile(sys.argv[1], np.float32).reshape(90, 120).astype(np.float64)
            out = ndimage.shift(a, (-float(sys.argv[3]), -float(sys.argv[4])), order=3, mode='mirror')
            out.astype(np.float32).tofile(sys.argv[2])
            """;
        var outPath = Path.Combine(dir.Path, "out.bin");
        PythonOracle.Run(script, Path.Combine(dir.Path, "in.bin"), outPath, "2.37", "-4.61");
        var scipy = ImageTools.ReadRaw(outPath, 90, 120);
        double maxDiff = 0;
        int defined = 0;
        for (int y = 0; y < 90; y++)
            for (int x = 0; x < 120; x++)
            {
                bool inside = y + 2.37 <= 89 && x - 4.61 >= 0;
                Assert.Equal(inside, float.IsFinite(ours[y, x]));
                if (!inside) continue;
                defined++;
                maxDiff = Math.Max(maxDiff, Math.Abs(ours[y, x] - scipy[y, x]));
            }
        output.WriteLine($"max |ours - scipy| = {maxDiff:E2} over {defined} pixels");
        Assert.True(maxDiff < 1e-4, $"max difference {maxDiff}");
    }

    [Fact]
    public void Integer_shift_moves_pixels_exactly()
    {
        var image = new Image2D<float>(20, 30);
        var rng = new Random(1);
        for (int i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (float)rng.NextDouble();
        var shifted = SubpixelShift.Apply(image, new Shift2D(3, -2));
        Assert.Equal(image[13, 5], shifted[10, 7], 5);
        Assert.True(float.IsNaN(shifted[17, 7]));
        Assert.True(float.IsNaN(shifted[10, 1]));
        Assert.Equal(image[19, 0], shifted[16, 2], 5);
    }

    [Fact]
    public void Subpixel_shift_of_a_smooth_scene_matches_the_analytic_scene()
    {
        var scene = new BlobScene(800, 128, 128, seed: 2, minSigmaPx: 2.5, maxSigmaPx: 5);
        var raw = scene.Render(128, 128, new Shift2D(1.3, -2.7));
        var aligned = SubpixelShift.Apply(raw, new Shift2D(1.3, -2.7));
        var truth = scene.Render(128, 128, Shift2D.Zero);
        double maxErr = 0;
        for (int y = 5; y < 120; y++)
            for (int x = 5; x < 120; x++)
                maxErr = Math.Max(maxErr, Math.Abs(aligned[y, x] - truth[y, x]));
        output.WriteLine($"max error vs analytic {maxErr:E2}");
        Assert.True(maxErr < 5e-3, $"max error {maxErr}");
    }
}
