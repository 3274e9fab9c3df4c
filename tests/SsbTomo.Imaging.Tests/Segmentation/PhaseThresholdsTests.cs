using System.Globalization;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class PhaseThresholdsTests
{
    private const int Bins = 1024;
    private const double Min = 0, Max = 65536;

    private static double Gauss(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Counts of intensity samples in 1024 bins over [0, 65536): Gaussian phases plus uniform-then-blurred mixels between two means.</summary>
    private static long[] Sample(int seed, (double Mean, double Sd, int Count)[] phases, (double From, double To, double Sd, int Count)[] mixels)
    {
        var random = new Random(seed);
        var h = new long[Bins];
        void Add(double v) => h[Histogram.BinOf(v, Bins, Min, Max)]++;
        foreach (var (mean, sd, count) in phases)
            for (var i = 0; i < count; i++) Add(mean + sd * Gauss(random));
        foreach (var (from, to, sd, count) in mixels)
            for (var i = 0; i < count; i++) Add(from + (to - from) * random.NextDouble() + sd * Gauss(random));
        return h;
    }

    /// <summary>
    /// Cathode-like: small pore and carbon phases (no noisier than the electrolyte), a narrow electrolyte peak, a
    /// narrow active-material peak, a large partial-volume plateau between the last two and the blurred edges of
    /// the thin carbon fibres and the pores in the electrolyte: as many edge voxels as phase voxels, so carbon has
    /// no peak of its own above its edge term.
    /// </summary>
    private static readonly (double Mean, double Sd, int Count)[] CathodePhases =
        [(7000, 1300, 20_000), (16000, 1350, 50_000), (27500, 1400, 350_000), (46000, 1200, 400_000)];

    private static readonly (double From, double To, double Sd, int Count)[] CathodeMixels =
        [(27500, 46000, 1300, 80_000), (7000, 27500, 1350, 20_000), (16000, 27500, 1375, 50_000)];

    private static long[] Cathode(int seed) => Sample(seed, CathodePhases, CathodeMixels);

    /// <summary>The model's own boundaries for the generating parameters (edge voxels go to the phase filling more than half of them).</summary>
    private static double TrueMixelBoundary(int k)
    {
        var total = (double)(CathodePhases.Sum(p => p.Count) + CathodeMixels.Sum(m => m.Count));
        var fit = new MixtureFit(
            CathodePhases.Select(p => p.Count / total).ToArray(),
            CathodePhases.Select(p => p.Mean).ToArray(),
            CathodePhases.Select(p => p.Sd).ToArray(),
            CathodeMixels[0].Count / total, 0, 0)
        {
            PartialVolumePairs = PartialVolumeMixture.Pairs(4),
            PartialVolumeWeights = CathodeMixels.Select(m => m.Count / total).ToArray(),
        };
        return PartialVolumeMixture.BoundaryWithMixels(fit, k)!.Value;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Mixture_recovers_the_phases_their_edge_terms_and_boundaries(int seed)
    {
        var h = Cathode(seed);
        var fit = PartialVolumeMixture.Fit(h, 4, Min, Max);
        for (var k = 0; k < 4; k++)
        {
            Assert.InRange(fit.Means[k], CathodePhases[k].Mean - 0.15 * CathodePhases[k].Sd - 100, CathodePhases[k].Mean + 0.15 * CathodePhases[k].Sd + 100);
            Assert.InRange(fit.StandardDeviations[k], 0.85 * CathodePhases[k].Sd - 64, 1.15 * CathodePhases[k].Sd + 64);
        }
        Assert.InRange(fit.PartialVolumeWeight, 0.07, 0.12);
        Assert.Equal([(2, 3), (0, 2), (1, 2)], fit.PartialVolumePairs);
        for (var p = 1; p < 3; p++)
            Assert.InRange(fit.PartialVolumeWeights[p], 0.5 * CathodeMixels[p].Count / (double)h.Sum(), 1.5 * CathodeMixels[p].Count / (double)h.Sum());

        var set = PhaseThresholds.FromHistogram(h, 4, Min, Max);
        for (var k = 0; k < 3; k++)
        {
            var truth = TrueMixelBoundary(k);
            Assert.InRange(set.Thresholds[k], truth - 600, truth + 600);
        }
        // The carbon|electrolyte boundary lies near the middle of the two means, where half-carbon edge voxels are,
        // not at the foot of the electrolyte peak where a carbon Gaussian that swallowed the edge would put it.
        Assert.InRange(set.Thresholds[1], 20000, 23500);
    }

    [Fact]
    public void A_held_mean_stays_where_it_was_put_and_its_sd_is_taken_about_it()
    {
        var h = Cathode(5);
        var free = PartialVolumeMixture.Fit(h, 4, Min, Max);
        double[] start = [free.Means[0], 19000, free.Means[2], free.Means[3]];
        var held = PartialVolumeMixture.FitFrom(h, Min, Max, start, startSds: free.StandardDeviations, heldMeans: [false, true, false, false]);
        Assert.Equal(19000, held.Means[1]);
        // Held 3000 above the carbon phase's mean, the class is fitted wider than the phase (an SD about the held mean) and the
        // free classes stay on their phases.
        Assert.True(held.StandardDeviations[1] > free.StandardDeviations[1]);
        foreach (var k in new[] { 0, 2, 3 })
            Assert.InRange(held.Means[k], CathodePhases[k].Mean - 0.3 * CathodePhases[k].Sd - 100, CathodePhases[k].Mean + 0.3 * CathodePhases[k].Sd + 100);
        // Every mean held at the free fit's: the SDs and weights come out as the free fit's (the same maximum).
        var atFree = PartialVolumeMixture.FitFrom(h, Min, Max, free.Means, heldMeans: [true, true, true, true]);
        for (var k = 0; k < 4; k++)
        {
            Assert.InRange(atFree.StandardDeviations[k], 0.99 * free.StandardDeviations[k], 1.01 * free.StandardDeviations[k]);
            Assert.InRange(atFree.Weights[k], 0.99 * free.Weights[k], 1.01 * free.Weights[k]);
        }
    }

    [Fact]
    public void Fit_is_deterministic_and_depends_only_on_the_histogram()
    {
        var h = Cathode(4);
        var a = PhaseThresholds.FromHistogram(h, 4, Min, Max);
        var b = PhaseThresholds.FromHistogram((long[])h.Clone(), 4, Min, Max);
        Assert.Equal(a.Thresholds, b.Thresholds);
        Assert.Equal(a.ClassMeans, b.ClassMeans);
        // Merging chunk histograms is exact, so chunked and whole-stack runs get these same numbers.
        var half = Array.ConvertAll(h, c => c / 2);
        var rest = h.Select((c, i) => c - half[i]).ToArray();
        Assert.Equal(a.Thresholds, PhaseThresholds.FromHistogram(Histogram.Merge(half, rest), 4, Min, Max).Thresholds);
    }

    [Fact]
    public void Degenerate_histograms_fall_back_to_multi_otsu()
    {
        var spikes = new long[Bins];
        spikes[100] = 500; spikes[400] = 1000; spikes[700] = 800; spikes[900] = 300;
        var set = PhaseThresholds.FromHistogram(spikes, 4, Min, Max);
        Assert.Equal(3, set.Thresholds.Length);
        Assert.True(set.Thresholds[0] > Histogram.Centre(100, Bins, Min, Max) && set.Thresholds[0] < Histogram.Centre(400, Bins, Min, Max));
        Assert.True(set.Thresholds[1] > Histogram.Centre(400, Bins, Min, Max) && set.Thresholds[1] < Histogram.Centre(700, Bins, Min, Max));
        Assert.True(set.Thresholds[2] > Histogram.Centre(700, Bins, Min, Max) && set.Thresholds[2] < Histogram.Centre(900, Bins, Min, Max));
        var tooFew = new long[Bins];
        tooFew[10] = 5; tooFew[20] = 5;
        Assert.Throws<ArgumentException>(() => PhaseThresholds.FromHistogram(tooFew, 4, Min, Max));
    }

    /// <summary>
    /// Without a partial-volume plateau the model is a plain Gaussian mixture: it must agree with scikit-learn's
    /// GaussianMixture fitted to samples drawn from the same histogram (uniform within each bin).
    /// </summary>
    [Fact]
    public void Without_a_plateau_the_fit_matches_sklearn_gaussian_mixture()
    {
        (double Mean, double Sd, int Count)[] phases = [(10000, 1500, 40_000), (22000, 1800, 60_000), (34000, 2000, 150_000), (48000, 1800, 120_000)];
        var h = Sample(7, phases, []);
        var fit = PartialVolumeMixture.Fit(h, 4, Min, Max);
        Assert.All(fit.PartialVolumeWeights, w => Assert.True(w < 0.01, $"pv weights {string.Join(", ", fit.PartialVolumeWeights)}"));

        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "h.raw"), h);
        var output = PythonOracle.Run(OracleIo.Python("""
            from sklearn.mixture import GaussianMixture
            h = np.fromfile(sys.argv[1] + '/h.raw', dtype='<i8')
            width = 65536 / len(h)
            rng = np.random.default_rng(0)
            x = np.repeat(np.arange(len(h)) * width, h) + rng.uniform(0, width, int(h.sum()))
            g = GaussianMixture(4, means_init=np.array([[9000.], [20000.], [33000.], [47000.]]), tol=1e-6, max_iter=1000, random_state=0).fit(x[:, None])
            o = np.argsort(g.means_[:, 0])
            rows = zip(g.weights_[o], g.means_[o, 0], np.sqrt(g.covariances_[o, 0, 0]))
            print(';'.join('%.6f %.3f %.3f' % r for r in rows))
            """), dir.Path);
        var rows = output.Trim().Split(';').Select(r => r.Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        for (var k = 0; k < 4; k++)
        {
            Assert.InRange(fit.Weights[k], rows[k][0] - 0.01, rows[k][0] + 0.01);
            Assert.InRange(fit.Means[k], rows[k][1] - 100, rows[k][1] + 100);
            Assert.InRange(fit.StandardDeviations[k], rows[k][2] * 0.97 - 20, rows[k][2] * 1.03 + 20);
        }
    }

    /// <summary>
    /// Proportions far from any one sample's: 12 % pores, 8 % carbon, 30 % electrolyte, 50 % active material. The
    /// start must come from the histogram's shape (bulk peaks, dark tail), not from fixed cumulative positions, which
    /// put the carbon start inside the pore peak here.
    /// </summary>
    [Fact]
    public void Pore_rich_stacks_keep_every_phase_apart()
    {
        (double Mean, double Sd, int Count)[] phases = [(7000, 1300, 120_000), (16000, 1350, 80_000), (27500, 1400, 300_000), (46000, 1200, 500_000)];
        (double From, double To, double Sd, int Count)[] mixels = [(27500, 46000, 1300, 80_000), (7000, 27500, 1350, 40_000), (16000, 27500, 1375, 40_000)];
        var h = Sample(11, phases, mixels);
        var start = PartialVolumeMixture.StartMeans(h, 4, Min, Max);
        Assert.InRange(start[2], 26500, 28500);
        Assert.InRange(start[3], 45000, 47000);
        var set = PhaseThresholds.FromHistogram(h, 4, Min, Max);
        for (var k = 0; k < 4; k++)
            Assert.True(Math.Abs(set.ClassMeans[k] - phases[k].Mean) < 1500, $"class {k}: mean {set.ClassMeans[k]:0}, truth {phases[k].Mean}");
        for (var k = 0; k < 3; k++)
            Assert.InRange(set.Thresholds[k], phases[k].Mean, phases[k + 1].Mean);
    }

    [Fact]
    public void Without_two_separated_peaks_the_start_is_equal_count_slices()
    {
        var h = Sample(5, [(30000, 6000, 200_000)], []);
        var start = PartialVolumeMixture.StartMeans(h, 4, Min, Max);
        Assert.Equal(4, start.Length);
        Assert.True(start[0] < start[1] && start[1] < start[2] && start[2] < start[3]);
        // the centres of the four quarters of one Gaussian: about mean ± 0.32 SD and ± 1.15 SD
        Assert.InRange(start[1], 30000 - 0.32 * 6000 - 300, 30000 - 0.32 * 6000 + 300);
        Assert.InRange(start[3], 30000 + 1.15 * 6000 - 300, 30000 + 1.15 * 6000 + 300);
    }

    /// <summary>The last resort before multi-Otsu keeps each phase near its own grey level: boundaries half-way between the start means.</summary>
    [Fact]
    public void Start_mean_boundaries_lie_between_the_phases()
    {
        (double Mean, double Sd, int Count)[] phases = [(7000, 1300, 20_000), (16000, 1350, 40_000), (27500, 1400, 500_000), (46000, 1200, 300_000)];
        var set = PhaseThresholds.FromStartMeans(Sample(13, phases, []), 4, Min, Max);
        Assert.NotNull(set);
        Assert.InRange(set!.Thresholds[1], phases[1].Mean, phases[2].Mean - 2 * phases[2].Sd);
        Assert.InRange(set.Thresholds[2], phases[2].Mean + 2 * phases[2].Sd, phases[3].Mean - 2 * phases[3].Sd);
        Assert.InRange(set.Thresholds[0], 0, phases[2].Mean - 2 * phases[2].Sd);
        Assert.True(set.Thresholds[0] < set.Thresholds[1]);
        Assert.Null(set.Fit);
    }

    /// <summary>
    /// The denoised histogram of phantom family member 19 (64x192x224: 1.4 % void, 4.2 % carbon, 67 % textured
    /// electrolyte, 28 % active material 4.5 times as far from void as the electrolyte, strong noise), as `ssbtomo run`
    /// merged it. Both fits that start every class an eighth of the range wide end with carbon above the electrolyte;
    /// started at the electrolyte peak's width, carbon stays on its shoulder. The run fell back to the start means before
    /// and read void +1.29 pp (the clean-up study on the same run: +0.09 pp with the fit).
    /// </summary>
    [Fact]
    public void A_stack_whose_active_material_is_far_brighter_gets_a_fit_started_at_the_matrix_width()
    {
        var histogram = HistogramFixture("family19-denoised-histogram.txt");
        Assert.Null(PhaseThresholds.FromFit(PartialVolumeMixture.Fit(histogram, 4, Min, Max), Min, Max));
        Assert.Null(PhaseThresholds.FromFit(PartialVolumeMixture.Fit(histogram, 4, Min, Max, capDarkSds: false), Min, Max));

        var set = PhaseThresholds.FromHistogram(histogram, 4, Min, Max);

        Assert.NotNull(set.Fit);
        // Truth grey levels of the member's interior voxels in the denoised stack: carbon ~15,000, electrolyte ~19,200.
        Assert.InRange(set.ClassMeans[1], 14_000, 16_500);
        Assert.InRange(set.ClassMeans[2], 18_700, 19_700);
        Assert.InRange(set.Fit.Weights[1], 0.03, 0.06);
        Assert.True(set.Thresholds[0] < set.Thresholds[1] && set.Thresholds[1] < set.Thresholds[2]);
    }

    /// <summary>
    /// The denoised histogram of phantom family member 5 drawn at 25 nm voxels (64x384x448: 1.7 % void, 3.5 % carbon whose
    /// fibres are 5-8 voxels across, 58 % electrolyte, 37 % active material). Pores and carbon each show a mode of their
    /// own (~7,800 and ~14,000). The fit started with the dark classes spaced evenly up to the matrix put pores and carbon
    /// in one class and the carbon class on the electrolyte's flank; the run read void +2.28 pp, carbon −2.61 pp (Dice
    /// void 0.55, carbon 0.25). Started at the two modes the fit is likelier, and the same run re-segmented reads void
    /// −0.10 pp, carbon −0.22 pp (Dice 0.91 / 0.92).
    /// </summary>
    [Fact]
    public void A_stack_whose_pores_and_carbon_show_modes_of_their_own_gets_a_class_on_each()
    {
        var histogram = HistogramFixture("family5-25nm-denoised-histogram.txt");
        var firstStart = PartialVolumeMixture.Fit(histogram, 4, Min, Max);
        Assert.InRange(firstStart.Means[1], 20_000, 32_000); // the failure this start had: carbon on the electrolyte's flank

        var modes = PartialVolumeMixture.DarkPeakStartMeans(histogram, 4, Min, Max);
        var set = PhaseThresholds.FromHistogram(histogram, 4, Min, Max);

        Assert.NotNull(modes);
        Assert.InRange(modes[0], 7_000, 8_500);
        Assert.InRange(modes[1], 13_000, 15_000);
        Assert.NotNull(set.Fit);
        Assert.True(set.Fit.LogLikelihood > firstStart.LogLikelihood);
        // Pure grey levels drawn for the member, in the denoised stack's units: void ~6,500, carbon ~13,200, electrolyte ~32,000.
        Assert.InRange(set.ClassMeans[0], 6_000, 10_000);
        Assert.InRange(set.ClassMeans[1], 13_000, 16_000);
        Assert.InRange(set.ClassMeans[2], 31_000, 33_000);
        Assert.InRange(set.Thresholds[0], set.ClassMeans[0], set.ClassMeans[1]);
        Assert.InRange(set.Thresholds[1], set.ClassMeans[1], set.ClassMeans[2]);
    }

    [Fact]
    public void An_active_material_without_a_peak_of_its_own_starts_on_the_electrolytes_bright_shoulder_not_one_phase_too_dark()
    {
        // Member 323: the two peaks that a valley separates are the pores' and the electrolyte's (the active material a
        // shoulder); taken as the bulk pair they started every class one phase too dark, no mixture fitted, and the
        // thresholds half-way between those starts put the electrolyte in the active material's class (NMC +53 pp).
        var histogram = HistogramFixture("family323-denoised-histogram.txt");
        var start = PartialVolumeMixture.StartMeans(histogram, 4, Min, Max);
        var set = PhaseThresholds.FromHistogram(histogram, 4, Min, Max);

        // Medians of the truth's phases in the denoised stack: void 16,651, carbon 32,528, electrolyte 42,243, NMC 48,300.
        Assert.InRange(start[2], 41_000, 43_500);
        Assert.InRange(start[3], 45_000, 50_000);
        Assert.NotNull(set.Fit);
        Assert.InRange(set.ClassMeans[2], 41_000, 43_500);
        Assert.InRange(set.ClassMeans[3], 46_000, 50_000);
        Assert.InRange(set.Thresholds[2], 43_500, 47_000);
        Assert.InRange(set.Thresholds[0], 18_000, 30_000);
    }

    [Fact]
    public void Dark_peaks_are_the_separated_modes_below_the_matrix_and_not_its_shoulders()
    {
        static double[] Mixture(params (double Weight, double Mean, double Sd)[] phases) => Enumerable.Range(0, Bins)
            .Select(i => phases.Sum(p => 1e7 * p.Weight / p.Sd * Math.Exp(-0.5 * Math.Pow((i + 0.5 - p.Mean) / p.Sd, 2)))).ToArray();
        var matrix = (0.58, 500.0, 12.0);
        var bright = (0.37, 800.0, 12.0);

        var separated = Mixture((0.017, 120, 12), (0.035, 220, 12), matrix, bright);
        var shoulder = Mixture((0.017, 120, 12), (0.035, 470, 12), matrix, bright);
        var noDarkPhase = Mixture(matrix, bright);

        Assert.Equal([120, 220], HistogramPeaks.DarkPeaks(separated, 3, 500).Select(b => (int)Math.Round(b + 0.5)));
        Assert.Equal([120], HistogramPeaks.DarkPeaks(shoulder, 3, 500).Select(b => (int)Math.Round(b + 0.5)));
        Assert.Empty(HistogramPeaks.DarkPeaks(noDarkPhase, 3, 500));
    }

    /// <summary>A merged run histogram kept in Segmentation/Data: 1024 counts over 0-65536, '#' lines are comments.</summary>
    private static long[] HistogramFixture(string file)
    {
        var histogram = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Segmentation", "Data", file))
            .Where(line => !line.StartsWith('#'))
            .SelectMany(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(Bins, histogram.Length);
        return histogram;
    }

    [Theory]
    [InlineData(6.0)]
    [InlineData(20.0)]
    public void The_half_maximum_width_of_a_gaussian_peak_is_its_sd(double sdBins)
    {
        var counts = Enumerable.Range(0, 400).Select(i => 1e6 * Math.Exp(-0.5 * Math.Pow((i + 0.5 - 200.3) / sdBins, 2))).ToArray();

        Assert.Equal(sdBins, HistogramPeaks.HalfMaximumSd(counts, 3, 200), sdBins * 0.02);
    }
}
