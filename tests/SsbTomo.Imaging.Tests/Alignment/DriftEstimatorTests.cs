using SsbTomo.TestSupport;
using System.Diagnostics;
using SsbTomo.Imaging.Alignment;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Alignment;

public class DriftEstimatorTests(ITestOutputHelper output)
{
    /// <summary>
    /// 64 slices of one textured scene shifted by a sub-pixel random walk (0.6 px steps plus a trend), noise sigma
    /// 10/255 per slice and curtaining stripes that move with the sample. (With content that changes from slice to
    /// slice, the structure's own apparent motion adds to the error: see the report in the commit history.)
    /// </summary>
    [Fact]
    public void Random_walk_drift_over_64_noisy_curtained_slices_is_recovered_with_rms_below_0_2_px()
    {
        const int n = 64, size = 128;
        var scene = new BlobScene(1200, size, size, seed: 21);
        var rng = new Random(5);
        var stripeCentres = Enumerable.Range(0, 40).Select(_ => rng.NextDouble() * (size + 60) - 30).ToArray();
        var stripeAmplitudes = stripeCentres.Select(_ => (rng.NextDouble() - 0.5) * 0.08).ToArray();
        var truth = new Shift2D[n];
        for (int k = 1; k < n; k++)
            truth[k] = truth[k - 1] + new Shift2D(rng.NextGaussian() * 0.6 + 0.15, rng.NextGaussian() * 0.6 - 0.1);
        var estimator = new DriftEstimator();
        var estimated = new Shift2D[n];
        var sw = Stopwatch.StartNew();
        for (int k = 0; k < n; k++)
        {
            var slice = scene.Render(size, size, truth[k]);
            for (int x = 0; x < size; x++)
            {
                double s = 0;
                for (int i = 0; i < stripeCentres.Length; i++)
                {
                    double d = x - stripeCentres[i] - truth[k].Dx;
                    s += stripeAmplitudes[i] * Math.Exp(-d * d / (2 * 1.2 * 1.2));
                }
                for (int y = 0; y < size; y++) slice[y, x] += (float)s;
            }
            ImageTools.AddNoise(slice, 10 / 255.0, 100 + k);
            sw.Start();
            estimated[k] = estimator.Add(slice);
            sw.Stop();
        }
        double sum = 0, worst = 0;
        for (int k = 0; k < n; k++)
        {
            double e = (estimated[k] - truth[k]).Length;
            sum += e * e;
            worst = Math.Max(worst, e);
        }
        double rms = Math.Sqrt(sum / n);
        output.WriteLine($"final truth {truth[^1]} estimated {estimated[^1]}; RMS error {rms:F3} px, worst {worst:F3} px; {sw.ElapsedMilliseconds / (double)n:F1} ms per {size}x{size} slice");
        Assert.Equal(Shift2D.Zero, estimated[0]);
        Assert.True(rms <= 0.2, $"RMS drift error {rms:F3} px");
        Assert.Equal(n, estimator.Count);
    }

    [Fact]
    public void A_slice_of_a_different_size_is_rejected()
    {
        var estimator = new DriftEstimator(maxSizePx: 64);
        estimator.Add(new Image2D<float>(64, 64));
        Assert.Throws<ArgumentException>(() => estimator.Add(new Image2D<float>(48, 64)));
    }

}
