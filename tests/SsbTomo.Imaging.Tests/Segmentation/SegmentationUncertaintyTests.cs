using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class SegmentationUncertaintyTests
{
    private const int Bins = 1024;
    private const double Min = 0, Max = 65536;
    private static readonly string[] Names = ["void", "carbon", "lps", "nmc"];

    /// <summary>
    /// Histogram of Gaussian phases plus uniform-then-blurred edge voxels between two means, and the true fraction of
    /// each phase: an edge voxel belongs to the phase whose mean its noise-free value is nearer (the model's own rule).
    /// </summary>
    private static (long[] Histogram, double[] Truth) Sample(int seed, (double Mean, double Sd, int Count)[] phases, (int A, int B, double Sd, int Count)[] mixels)
    {
        var random = new Random(seed);
        var h = new long[Bins];
        var truth = new double[phases.Length];
        void Add(double v) => h[Histogram.BinOf(v, Bins, Min, Max)]++;
        for (var c = 0; c < phases.Length; c++)
        {
            for (var i = 0; i < phases[c].Count; i++) Add(phases[c].Mean + phases[c].Sd * random.NextGaussian());
            truth[c] += phases[c].Count;
        }
        foreach (var (a, b, sd, count) in mixels)
            for (var i = 0; i < count; i++)
            {
                var u = random.NextDouble();
                Add(phases[a].Mean + (phases[b].Mean - phases[a].Mean) * u + sd * random.NextGaussian());
                truth[u < 0.5 ? a : b]++;
            }
        var total = truth.Sum();
        return (h, Array.ConvertAll(truth, t => t / total));
    }

    private static readonly (int, int, double, int)[] CathodeEdges = [(2, 3, 1300, 80_000), (0, 2, 1350, 20_000), (1, 2, 1375, 30_000)];

    /// <summary>Edges between neighbouring classes only: every edge voxel's phase is one a hard threshold can give it.</summary>
    private static readonly (int, int, double, int)[] NeighbourEdges = [(2, 3, 1300, 80_000), (1, 2, 1375, 30_000)];

    private static (SegmentationUncertaintyResult Result, double[] Truth, PhaseThresholdSet Set) Run(
        int seed, (double, double, int)[] phases, (int, int, double, int)[]? edges = null)
    {
        var (h, truth) = Sample(seed, phases, edges ?? CathodeEdges);
        var set = PhaseThresholds.FromHistogram(h, 4, Min, Max);
        Assert.NotNull(set.Fit);
        return (SegmentationUncertainty.Analyse(h, Min, Max, set.Fit!, set.Thresholds), truth, set);
    }

    private static readonly (double, double, int)[] SeparatedPhases =
        [(6000, 900, 30_000), (17000, 1000, 60_000), (29000, 1100, 350_000), (47000, 1200, 400_000)];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Well_separated_phases_get_tight_intervals_that_contain_the_truth_and_no_warning(int seed)
    {
        var (r, truth, _) = Run(seed, SeparatedPhases, NeighbourEdges);
        for (var c = 0; c < 4; c++)
        {
            var (lo, hi) = r.FractionIntervals[c];
            // 0.001 pp of slack: a voxel in a Gaussian's far tail, 6 SDs out, crosses a threshold now and then.
            Assert.True(lo - 1e-5 <= truth[c] && truth[c] <= hi + 1e-5, $"{Names[c]}: truth {truth[c]:P4} outside [{lo:P4}, {hi:P4}]");
            // Edge voxels near the middle of an edge term are honestly ambiguous (≈0.4 pp for carbon, ≈1.1 pp for LPS
            // between its two edges here), so "tight" is relative: under a tenth of the fraction.
            Assert.True(hi - lo < 0.1 * truth[c], $"{Names[c]}: interval [{lo:P3}, {hi:P3}] wider than a tenth of {truth[c]:P3}");
            Assert.InRange(r.ExpectedFractions[c], truth[c] - 0.001, truth[c] + 0.001);
        }
        Assert.All(r.Overlaps, o => Assert.True(o.Largest < 0.1, $"pair {o.Darker}: {o.DarkerAmbiguousShare:P1} / {o.BrighterAmbiguousShare:P1}"));
        Assert.Empty(SegmentationUncertainty.Warnings(r.Overlaps, Names, r.HardFractions, r.FractionIntervals));
    }

    /// <summary>
    /// Pore rims in the electrolyte are grey like carbon: a hard threshold gives them to carbon (≈0.6 pp of void here),
    /// the posterior-expected fraction gives them back, so the interval, which spans both, reaches the truth (up to the
    /// fit's own noise: 0.05 pp of slack) and carbon's interval is wider by those rim voxels.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Rims_of_non_neighbouring_phases_widen_the_interval_towards_the_truth(int seed)
    {
        var (r, truth, _) = Run(seed, SeparatedPhases);
        Assert.True(r.HardFractions[0] < truth[0] - 0.004, $"hard void {r.HardFractions[0]:P3}, truth {truth[0]:P3}");
        for (var c = 0; c < 4; c++)
        {
            var (lo, hi) = r.FractionIntervals[c];
            Assert.True(lo - 0.0005 <= truth[c] && truth[c] <= hi + 0.0005, $"{Names[c]}: truth {truth[c]:P3} outside [{lo:P3}, {hi:P3}]");
        }
        Assert.Empty(SegmentationUncertainty.Warnings(r.Overlaps, Names, r.HardFractions, r.FractionIntervals));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Overlapping_void_and_carbon_get_a_wide_void_interval_containing_the_truth_and_a_warning(int seed)
    {
        // Void and carbon 2.3 SDs apart: a hard threshold misplaces a good share of either.
        (double, double, int)[] phases = [(7000, 1300, 30_000), (10000, 1300, 50_000), (27500, 1400, 350_000), (46000, 1200, 400_000)];
        var (r, truth, _) = Run(seed, phases);
        var (lo, hi) = r.FractionIntervals[0];
        Assert.True(lo <= truth[0] && truth[0] <= hi, $"void: truth {truth[0]:P3} outside [{lo:P3}, {hi:P3}]");
        Assert.True(hi - lo > 0.3 * truth[0], $"void interval [{lo:P3}, {hi:P3}] is not wide for truth {truth[0]:P3}");
        Assert.True(r.Overlaps[0].Largest > SegmentationUncertainty.WarnAmbiguousShare, $"{r.Overlaps[0]}");
        var warning = Assert.Single(SegmentationUncertainty.Warnings(r.Overlaps, Names, r.HardFractions, r.FractionIntervals));
        Assert.StartsWith("void and carbon grey levels overlap strongly", warning);
        Assert.Contains("the void fraction is uncertain", warning);
    }

    /// <summary>Two equal Gaussians of equal weight, no edge terms: the log odds are −Δ(x − mid)/σ², so odds 3:1 lie at mid ∓ ln 3·σ²/Δ.</summary>
    [Fact]
    public void Plausible_range_of_two_equal_gaussians_is_analytic()
    {
        var fit = new MixtureFit([0.5, 0.5], [20000, 30000], [2000, 2000], 0, 0, 0)
        {
            PartialVolumePairs = PartialVolumeMixture.Pairs(2),
            PartialVolumeWeights = [0],
        };
        var range = SegmentationUncertainty.PlausibleRange(fit, 0, 25000);
        var half = Math.Log(3) * 2000.0 * 2000.0 / 10000;
        Assert.Equal(25000 - half, range.Low, 1e-4);
        Assert.Equal(25000 + half, range.High, 1e-4);

        var posterior = new double[2];
        SegmentationUncertainty.Posteriors(fit, range.Low, posterior);
        Assert.Equal(0.75, posterior[0], 1e-6);
        Assert.Equal(0.25, posterior[1], 1e-6);
    }

    [Fact]
    public void Posteriors_split_an_edge_term_at_the_midpoint_of_its_classes()
    {
        // Only the edge term has weight: below the midpoint it is the dark class's, above the bright one's.
        var fit = new MixtureFit([1e-300, 1e-300], [10000, 30000], [500, 500], 1, 0, 0)
        {
            PartialVolumePairs = PartialVolumeMixture.Pairs(2),
            PartialVolumeWeights = [1],
        };
        var posterior = new double[2];
        SegmentationUncertainty.Posteriors(fit, 15000, posterior);
        Assert.True(posterior[0] > 0.999, $"{posterior[0]}");
        SegmentationUncertainty.Posteriors(fit, 25000, posterior);
        Assert.True(posterior[1] > 0.999, $"{posterior[1]}");
        SegmentationUncertainty.Posteriors(fit, 20000, posterior);
        Assert.Equal(0.5, posterior[0], 1e-9);
    }

    [Theory]
    [InlineData(4, 1.0)]
    [InlineData(5, 1.5)]
    [InlineData(6, 2.0)]
    [InlineData(7, 3.0)]
    public void Intervals_contain_the_hard_fraction_and_variant_thresholds_stay_ascending(int seed, double sdScale)
    {
        (double, double, int)[] phases =
            [(7000, 900 * sdScale, 25_000), (15000, 1000 * sdScale, 40_000), (28000, 1100 * sdScale, 300_000), (45000, 1200 * sdScale, 350_000)];
        var (r, _, set) = Run(seed, phases);
        for (var c = 0; c < 4; c++)
            Assert.InRange(r.HardFractions[c], r.FractionIntervals[c].Low, r.FractionIntervals[c].High);
        for (var k = 0; k < 3; k++)
        {
            var range = r.ThresholdRanges[k];
            Assert.Equal(set.Thresholds[k], range.Threshold);
            Assert.True(range.Low <= range.Threshold && range.Threshold <= range.High, $"{range}");
            Assert.True(range.Low >= set.Fit!.Means[k] && range.High <= set.Fit.Means[k + 1], $"{range} outside the means");
        }
        var variants = SegmentationUncertainty.Variants(r.ThresholdRanges);
        Assert.Equal(8, variants.Count);
        foreach (var v in variants)
            for (var k = 1; k < v.Thresholds.Length; k++)
                Assert.True(v.Thresholds[k] >= v.Thresholds[k - 1], $"{v.Name}: {string.Join(", ", v.Thresholds)}");
    }

    [Fact]
    public void Variants_shrink_and_grow_each_class_band()
    {
        ThresholdRange[] ranges = [new(9, 10, 11), new(19, 20, 21), new(29, 30, 31)];
        var variants = SegmentationUncertainty.Variants(ranges).ToDictionary(v => v.Name, v => v.Thresholds);
        Assert.Equal([9, 20, 30], variants["0-"]);
        Assert.Equal([11, 20, 30], variants["0+"]);
        Assert.Equal([11, 19, 30], variants["1-"]);
        Assert.Equal([9, 21, 30], variants["1+"]);
        Assert.Equal([10, 20, 31], variants["3-"]);
        Assert.Equal([10, 20, 29], variants["3+"]);
    }

    [Fact]
    public void Warning_names_the_smaller_phase_of_the_pair_and_its_interval()
    {
        PairOverlap[] overlaps = [new(0, 0.40, 0.12), new(1, 0.05, 0.01), new(2, 0.02, 0.02)];
        var warnings = SegmentationUncertainty.Warnings(overlaps, Names, [0.06, 0.08, 0.4, 0.46], [(0.041, 0.079), (0.07, 0.09), (0.39, 0.41), (0.45, 0.47)]);
        Assert.Equal(["void and carbon grey levels overlap strongly (40 % of the void voxels could as well be carbon): the void fraction is uncertain (4.1–7.9 %)."], warnings);
    }
}
