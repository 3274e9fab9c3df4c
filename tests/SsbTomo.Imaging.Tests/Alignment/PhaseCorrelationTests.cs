using System.Diagnostics;
using SsbTomo.Imaging.Alignment;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Alignment;

public class PhaseCorrelationTests(ITestOutputHelper output)
{
    private static readonly BlobScene Scene = new(1500, 256, 320, seed: 7);

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(5.0, -12.0)]
    [InlineData(-17.0, 3.0)]
    public void Integer_shift_is_recovered_exactly(double dy, double dx)
    {
        var reference = Scene.Render(256, 320, Shift2D.Zero);
        var moving = Scene.Render(256, 320, new Shift2D(dy, dx));
        var result = PhaseCorrelation.Estimate(reference, moving);
        Assert.InRange(result.Shift.Dy - dy, -0.05, 0.05);
        Assert.InRange(result.Shift.Dx - dx, -0.05, 0.05);
        Assert.InRange(result.PeakCorrelation, 0.3, 1.01);
    }

    [Theory]
    [InlineData(3.37, -5.81)]
    [InlineData(-0.52, 0.25)]
    [InlineData(11.9, 7.45)]
    public void Subpixel_shift_of_a_noisy_image_is_recovered_within_five_hundredths(double dy, double dx)
    {
        var reference = Scene.Render(256, 320, Shift2D.Zero);
        var moving = Scene.Render(256, 320, new Shift2D(dy, dx));
        ImageTools.AddNoise(reference, 10 / 255.0, 1);
        ImageTools.AddNoise(moving, 10 / 255.0, 2);
        var result = PhaseCorrelation.Estimate(reference, moving);
        output.WriteLine($"true ({dy}, {dx}) estimated ({result.Shift.Dy:F4}, {result.Shift.Dx:F4}) peak {result.PeakCorrelation:F3}");
        Assert.InRange(result.Shift.Dy - dy, -0.05, 0.05);
        Assert.InRange(result.Shift.Dx - dx, -0.05, 0.05);
    }

    [Fact]
    public void Agrees_with_scikit_image_phase_cross_correlation_within_five_hundredths()
    {
        // Moving images are made by scipy's exact Fourier shift (periodic), the case where skimage's unwindowed
        // phase correlation is itself accurate; a sharp, mildly noisy scene.
        var sharp = new BlobScene(3000, 256, 320, seed: 9, minSigmaPx: 0.8, maxSigmaPx: 2);
        using var dir = new TempDirectory();
        var truths = new[] { new Shift2D(3.37, -5.81), new Shift2D(-8.14, 2.66), new Shift2D(0.48, 0.0) };
        var reference = sharp.Render(256, 320, Shift2D.Zero);
        ImageTools.AddNoise(reference, 3 / 255.0, 10);
        ImageTools.WriteRaw(Path.Combine(dir.Path, "ref.bin"), reference);
        const string script = """
            import sys, os, numpy as np
            from scipy import ndimage
            from skimage.registration import phase_cross_correlation
            d = sys.argv[1]
            r = np.fromfile(os.path.join(d, "ref.bin"), np.float32).reshape(256, 320)
            rng = np.random.default_rng(0)
            vals = [float(v) for v in sys.argv[2:]]
            for i in range(len(vals) // 2):
                m = np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(r), (vals[2*i], vals[2*i+1]))).real
                m = (m + rng.normal(0, 3 / 255, m.shape)).astype(np.float32)
                m.tofile(os.path.join(d, f"mov{i}.bin"))
                s, _, _ = phase_cross_correlation(r, m, upsample_factor=20)
                print(s[0], s[1])
            """;
        var args = new List<string> { dir.Path };
        foreach (var t in truths) { args.Add(t.Dy.ToString("R", System.Globalization.CultureInfo.InvariantCulture)); args.Add(t.Dx.ToString("R", System.Globalization.CultureInfo.InvariantCulture)); }
        var oracle = ImageTools.ParseDoubles(PythonOracle.Run(script, [.. args]));
        for (int i = 0; i < truths.Length; i++)
        {
            var moving = ImageTools.ReadRaw(Path.Combine(dir.Path, $"mov{i}.bin"), 256, 320);
            var ours = PhaseCorrelation.Estimate(reference, moving).Shift;
            // scikit-image reports the shift that registers moving onto reference: the negative of ours.
            double skDy = -oracle[2 * i], skDx = -oracle[2 * i + 1];
            output.WriteLine($"true {truths[i]} ours ({ours.Dy:F4}, {ours.Dx:F4}) skimage ({skDy:F4}, {skDx:F4})");
            Assert.InRange(ours.Dy - truths[i].Dy, -0.05, 0.05);
            Assert.InRange(ours.Dx - truths[i].Dx, -0.05, 0.05);
            Assert.InRange(ours.Dy - skDy, -0.05, 0.05);
            Assert.InRange(ours.Dx - skDx, -0.05, 0.05);
        }
    }

    [Fact]
    public void Non_power_of_two_sizes_and_a_centred_crop_work()
    {
        var scene = new BlobScene(3000, 300, 450, seed: 3);
        var truth = new Shift2D(-6.23, 9.71);
        var reference = scene.Render(300, 450, Shift2D.Zero);
        var moving = scene.Render(300, 450, truth);
        var full = PhaseCorrelation.Estimate(reference, moving, maxSizePx: 1024);
        var cropped = PhaseCorrelation.Estimate(reference, moving, maxSizePx: 200);
        output.WriteLine($"full ({full.Shift.Dy:F4}, {full.Shift.Dx:F4}) crop ({cropped.Shift.Dy:F4}, {cropped.Shift.Dx:F4})");
        Assert.InRange((full.Shift - truth).Length, 0, 0.05);
        Assert.InRange((cropped.Shift - truth).Length, 0, 0.05);
    }

    [Fact]
    public void Different_sizes_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => PhaseCorrelation.Estimate(new Image2D<float>(32, 32), new Image2D<float>(32, 33)));
    }

    [Fact]
    public void Images_too_small_to_register_are_rejected_with_an_argument_exception()
    {
        // The two spectra are computed concurrently: the error must still be the plain ArgumentException.
        Assert.Throws<ArgumentException>(() => PhaseCorrelation.Estimate(new Image2D<float>(7, 32), new Image2D<float>(7, 32)));
    }

    [Fact]
    public void Timing_of_a_1024_square_registration_is_reported()
    {
        var scene = new BlobScene(20000, 1024, 1024, seed: 5);
        var reference = scene.Render(1024, 1024, Shift2D.Zero);
        var moving = scene.Render(1024, 1024, new Shift2D(2.3, -4.6));
        PhaseCorrelation.Estimate(reference, moving);
        var sw = Stopwatch.StartNew();
        var result = PhaseCorrelation.Estimate(reference, moving);
        output.WriteLine($"1024x1024 registration: {sw.ElapsedMilliseconds} ms, shift ({result.Shift.Dy:F4}, {result.Shift.Dx:F4})");
        Assert.InRange((result.Shift - new Shift2D(2.3, -4.6)).Length, 0, 0.05);
    }
}
