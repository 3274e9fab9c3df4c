using SsbTomo.Imaging.Alignment;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>A bad frame inside a good stack: flagged, not used as a measurement, and the other slices keep their drift.</summary>
public class RegistrationTrustTests(ITestOutputHelper output)
{
    private const int Slices = 40, Size = 128;

    private static (Image2D<float>[] Stack, Shift2D[] Truth) DriftingStack(int seed)
    {
        var scene = new BlobScene(1200, Size, Size, seed: seed);
        var rng = new Random(seed + 1);
        var truth = new Shift2D[Slices];
        for (int k = 1; k < Slices; k++)
            truth[k] = truth[k - 1] + new Shift2D(rng.NextGaussian() * 0.6 + 0.2, rng.NextGaussian() * 0.6 - 0.1);
        var stack = new Image2D<float>[Slices];
        for (int k = 0; k < Slices; k++)
        {
            stack[k] = scene.Render(Size, Size, truth[k]);
            ImageTools.AddNoise(stack[k], 10 / 255.0, 100 + k);
        }
        return (stack, truth);
    }

    private static Image2D<float> Noise(int seed)
    {
        var frame = new Image2D<float>(Size, Size);
        for (var i = 0; i < frame.Pixels.Length; i++) frame.Pixels[i] = 0.5f;
        ImageTools.AddNoise(frame, 0.2, seed);
        return frame;
    }

    private static Image2D<float> Constant(float value)
    {
        var frame = new Image2D<float>(Size, Size);
        Array.Fill(frame.Pixels, value);
        return frame;
    }

    public static TheoryData<string, int[]> BadFrames => new()
    {
        { "noise", [17] },
        { "blank", [17] },
        { "saturated", [9] },
        { "noise+blank", [9, 26] },
        { "two blank in a row", [20, 21] },
        { "last slice noise", [Slices - 1] },
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public void A_bad_frame_is_untrusted_and_the_others_keep_their_drift(string kind, int[] bad)
    {
        var (stack, truth) = DriftingStack(21);
        for (var b = 0; b < bad.Length; b++)
            stack[bad[b]] = kind switch
            {
                "saturated" => Constant(1f),
                "noise+blank" => b == 0 ? Noise(bad[b]) : Constant(0f),
                _ when kind.Contains("blank") => Constant(0f),
                _ => Noise(bad[b]),
            };
        var estimator = new AnchoredDriftEstimator();
        foreach (var slice in stack) estimator.Add(slice, slice);
        var drift = estimator.Finish().Drift;

        var flagged = Enumerable.Range(0, Slices).Where(k => !estimator.Trusted[k]).ToArray();
        output.WriteLine($"{kind}: untrusted {string.Join(",", flagged)}; peak ratios {string.Join(" ", estimator.PeakRatios.Select(r => r.ToString("0.0")))}");
        Assert.Equal(bad, flagged);
        double worst = 0;
        for (var k = 0; k < Slices; k++)
        {
            if (bad.Contains(k)) continue;
            worst = Math.Max(worst, (drift[k] - truth[k]).Length);
        }
        output.WriteLine($"worst error of the good slices {worst:0.000} px");
        Assert.True(worst <= 0.5, $"worst drift error of the good slices {worst:0.000} px");
        // A bad frame between good ones is placed between its neighbours, not wherever its registration fell.
        foreach (var k in bad.Where(k => k > 0 && k < Slices - 1 && !bad.Contains(k - 1) && !bad.Contains(k + 1)))
            Assert.True((drift[k] - truth[k]).Length < 1.5, $"slice {k} placed {drift[k]} for truth {truth[k]}");
    }

    [Fact]
    public void A_blank_first_slice_leaves_the_origin_to_the_first_slice_with_structure()
    {
        var (stack, truth) = DriftingStack(22);
        stack[0] = Constant(0f);
        var estimator = new AnchoredDriftEstimator();
        foreach (var slice in stack) estimator.Add(slice, slice);
        var drift = estimator.Finish().Drift;
        Assert.False(estimator.Trusted[0]);
        Assert.All(Enumerable.Range(1, Slices - 1), k => Assert.True(estimator.Trusted[k], $"slice {k} untrusted"));
        for (var k = 1; k < Slices; k++)
        {
            var relative = drift[k] - drift[1];
            var expected = truth[k] - truth[1];
            Assert.True((relative - expected).Length <= 0.5, $"slice {k}: {relative} for {expected}");
        }
    }

    [Fact]
    public void The_peak_ratio_separates_matching_slices_from_noise_and_blank_frames()
    {
        var (stack, _) = DriftingStack(23);
        var matching = PhaseCorrelation.Estimate(stack[3], stack[4], 4, polish: false);
        var noise = PhaseCorrelation.Estimate(stack[3], Noise(1), 4, polish: false);
        var blank = PhaseCorrelation.Estimate(stack[3], Constant(0f), 4, polish: false);
        output.WriteLine($"matching {matching.PeakRatio:0.00}, noise {noise.PeakRatio:0.00}, blank {blank.PeakRatio:0.00}");
        Assert.True(matching.PeakRatio >= 2 * DriftEstimator.MinPeakRatio, $"matching pair ratio {matching.PeakRatio:0.00}");
        Assert.InRange(noise.PeakRatio, 0, DriftEstimator.MinPeakRatio);
        Assert.Equal(0, blank.PeakRatio);
        Assert.Equal(Shift2D.Zero, blank.Shift);
    }
}
