using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The segmentation stage's per-chunk work, with and without the steps that find and shape the carbon fibres (issue 7:
/// the full path may cost at most 3x the CPU of the path without them). <see cref="Without"/> and <see cref="With"/> are
/// what the main benchmark's two "segmentation chunk path" rows time; `-- --chunk-path` times only these, and the extra
/// steps one by one (CPU of this process, all threads, median of the repeats after one warm-up).
/// </summary>
internal static class ChunkPathStudy
{
    private static readonly double TubeSigma = CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(50));

    /// <summary>The stage's thresholds for the benchmark data: 4-class multi-Otsu of the raw histogram.</summary>
    public static double[] Thresholds(BenchData data) =>
        MultiOtsu.ToIntensities(MultiOtsu.Thresholds(Histogram.Compute(data.Raw, 1024, 0, 65536), 4), 1024, 0, 65536);

    /// <summary>Denoise σ 0.8, classify, clean up: the figure a new segmentation method is held against.</summary>
    public static void Without(BenchData data, double[] thresholds)
    {
        var denoised = Denoise.Gaussian(data.Raw, 0.8);
        PartialVolumeCleanup.Apply(PhaseClassifier.Classify(denoised, thresholds, BenchData.DarkToBright), denoised, BenchData.DarkToBright, data.ClassMeans);
    }

    /// <summary>
    /// The path as it runs now: denoise, the survey between the two passes (carbon-fibre cores by the Hessian at the tube σ
    /// on every 4th slice, pore runs along z for the shine-through estimate, the curtain steps between columns), then the
    /// standing curtains' subtraction, classification, clean-up and the
    /// shine-through correction (<see cref="PhaseSegmentation"/>) with the estimated correction, and the fibres' half-depth rule.
    /// </summary>
    public static void With(BenchData data, double[] thresholds)
    {
        var denoised = Denoise.Gaussian(data.Raw, 0.8);
        var quantized = Quantize(denoised);
        var whole = new SlabWindow(0, quantized.Depth, 0, quantized.Depth);
        CarbonFibreSurvey.Survey(quantized, whole, thresholds, data.ClassMeans, 1024, 0, 65536, TubeSigma);
        var shine = ShineThroughEstimate.Estimate(ShineThroughEstimate.CountRuns(quantized, whole, TileWindow.Whole(quantized.Height, quantized.Width), data.ClassMeans));
        if (StandingCurtains.Offsets(CurtainSteps(quantized)) is { } offsets) StandingCurtains.Subtract(denoised, 0, offsets);
        PhaseSegmentation.Segment(denoised, thresholds, data.ClassMeans, shine.Correction, TubeSigma);
    }

    private static ColumnStepSums CurtainSteps(Volume<ushort> quantized) => StandingCurtains.Measure(quantized,
        new SlabWindow(0, quantized.Depth, 0, quantized.Depth), TileWindow.Whole(quantized.Height, quantized.Width), quantized.Height, quantized.Width, StandingCurtains.RowBlock);

    private static Volume<ushort> Quantize(Volume<float> denoised) => new(denoised.Depth, denoised.Height, denoised.Width,
        Array.ConvertAll(denoised.Data, v => (ushort)Math.Clamp(MathF.Round(v), 0, 65535)));

    public static int Run(BenchData data, int repeats)
    {
        var thresholds = Thresholds(data);
        var voxels = data.Raw.Length;
        // Alternate the two paths so that load changes hit both alike.
        var without = new List<double>();
        var with = new List<double>();
        for (var r = 0; r < repeats + 1; r++)
        {
            var c0 = Cpu(() => Without(data, thresholds));
            var c1 = Cpu(() => With(data, thresholds));
            if (r == 0) continue; // warm-up
            without.Add(c0);
            with.Add(c1);
        }
        var (cpuWithout, cpuWith) = (Median(without), Median(with));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"segmentation chunk path: CPU {cpuWithout:0} ms without, {cpuWith:0} ms with the fibre survey, shine-through and half-depth: {cpuWith / cpuWithout:0.00}x its CPU ({voxels / cpuWith / 1000:0.00} Mvox per CPU-s); load {Load()}"));

        // The extra steps one by one, on the same inputs.
        var denoised = Denoise.Gaussian(data.Raw, 0.8);
        var quantized = Quantize(denoised);
        var whole = new SlabWindow(0, quantized.Depth, 0, quantized.Depth);
        var tile = TileWindow.Whole(quantized.Height, quantized.Width);
        var means = data.ClassMeans;
        var shine = ShineThroughEstimate.Estimate(ShineThroughEstimate.CountRuns(quantized, whole, tile, means));
        var cleaned = PartialVolumeCleanup.Apply(PhaseClassifier.Classify(denoised, thresholds, BenchData.DarkToBright), denoised, BenchData.DarkToBright, means);
        var corrected = ShineThroughCorrection.Apply(cleaned, denoised, means[0], [shine.Correction], double.PositiveInfinity, means[2],
            PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
        (string Step, Action Work)[] steps =
        [
            ("quantize", () => Quantize(denoised)),
            ("fibre survey", () => CarbonFibreSurvey.Survey(quantized, whole, thresholds, means, 1024, 0, 65536, TubeSigma)),
            ("pore runs", () => ShineThroughEstimate.CountRuns(quantized, whole, tile, means)),
            ("curtain steps", () => CurtainSteps(quantized)),
            ("shine-through", () => ShineThroughCorrection.Apply(cleaned, denoised, means[0], [shine.Correction], double.PositiveInfinity, means[2],
                PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps)),
            ("half-depth", () => FibreHalfDepth.Apply(corrected, denoised, means, TubeSigma)),
        ];
        var costs = steps.Select(s => (s.Step, Cpu: new List<double>())).ToArray();
        for (var r = 0; r < repeats + 1; r++)
            for (var s = 0; s < steps.Length; s++)
            {
                var c = Cpu(steps[s].Work);
                if (r > 0) costs[s].Cpu.Add(c);
            }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"extra steps (CPU ms, median of {repeats}): {string.Join(", ", costs.Select(c => $"{c.Step} {Median(c.Cpu):0}"))}; load {Load()}"));
        return 0;
    }

    private static double Cpu(Action work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = Environment.CpuUsage.TotalTime;
        work();
        return (Environment.CpuUsage.TotalTime - before).TotalMilliseconds;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
