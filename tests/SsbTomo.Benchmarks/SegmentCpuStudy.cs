using System.Diagnostics;
using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Benchmarks;

/// <summary>
/// What the fibres' half-depth rule costs the segment step, in CPU seconds of this process (all threads, GC included) and
/// wall seconds: each finished run's denoised volume is segmented as the stage does (<see cref="PhaseSegmentation.Segment"/>
/// with the run's thresholds, class means and shine-through correction) without and with the rule, alternating, after one
/// three warm-ups of each. On a shared machine CPU time is the figure to compare; wall time and the load average are printed beside it.
/// Usage: `-- segment-cpu [--repeats 3] [--parts] PHANTOM_DIR RUN_DIR [PHANTOM_DIR RUN_DIR ...]`; `--parts` also times the
/// recipe's steps one by one (classification, clean-up, shine-through correction, half-depth rule, lit pore runs, particle face gaps); `--owned-span H`
/// instead compares the recipe with the rule on the whole volume against the same recipe exact only on [H, depth − H)
/// (<see cref="SliceSpan"/>: a chunk's owned slices in a window with H slices of halo each side), checking that those slices agree;
/// `--variant-bands` times the uncertainty's nine segmentations of one 84-row band with each testing its own tube cores against
/// all sharing <see cref="FibreHalfDepth.TubeCoreCache"/>; `--slabs 32,64,96` the stage's CPU per owned voxel for an interior
/// slab of each depth (its z halo on both sides, a tile of every row and 512 columns), the labels and the variants apart.
/// </summary>
internal static class SegmentCpuStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        var repeats = 3;
        if (args.Length >= 2 && args[0] == "--repeats")
        {
            repeats = int.Parse(args[1], CultureInfo.InvariantCulture);
            args = args[2..];
        }
        var parts = args.Length >= 1 && args[0] == "--parts";
        if (parts) args = args[1..];
        // --variant-bands: the uncertainty's segmentations of one band with and without shared tube tests.
        var variantBands = args.Length >= 1 && args[0] == "--variant-bands";
        if (variantBands) args = args[1..];
        // --owned-span H: the recipe with the rule on the whole window against the same recipe exact only on the slices
        // [H, depth − H) (a chunk's owned slices inside its halo, as the segmentation stage runs it).
        int? ownedSpanHalo = null;
        // --slabs N1,N2,...: the stage's CPU per owned voxel for slabs of N slices (an interior slab, halo both sides, one y/x tile).
        int[]? slabDepths = null;
        if (args.Length >= 2 && args[0] == "--slabs")
        {
            slabDepths = args[1].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            args = args[2..];
        }
        if (args.Length >= 2 && args[0] == "--owned-span")
        {
            ownedSpanHalo = int.Parse(args[1], CultureInfo.InvariantCulture);
            args = args[2..];
        }
        if (args.Length == 0 || args.Length % 2 != 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks segment-cpu [--repeats N] PHANTOM_DIR RUN_DIR [...]");
            return 2;
        }
        var sigma = CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(50)); // the family phantoms are 50 nm unless swept with --voxel-nm
        double cpuWithout = 0, cpuWith = 0, wallWithout = 0, wallWith = 0, voxels = 0;
        for (var i = 0; i < args.Length; i += 2)
        {
            var run = await FinishedRun.LoadAsync(args[i], args[i + 1]);
            if (run.Decide(sigma) is not { } decided) { Console.WriteLine($"{args[i + 1]}: no thresholds"); continue; }
            var (thresholds, means, correction) = (decided.Carbon.Thresholds, decided.Carbon.ClassMeans, decided.Shine.Correction);
            var owned = ownedSpanHalo is { } h ? new SliceSpan(h, run.Intensity.Depth - h) : SliceSpan.All(run.Intensity.Depth);
            Volume<byte> Without() => ownedSpanHalo is null
                ? PhaseSegmentation.Segment(run.Intensity, thresholds, means, correction)
                : PhaseSegmentation.Segment(run.Intensity, thresholds, means, correction, sigma);
            Volume<byte> With() => PhaseSegmentation.Segment(run.Intensity, thresholds, means, correction, sigma, owned);
            if (ownedSpanHalo is not null)
            {
                var plane = run.Intensity.SliceLength;
                var (whole, spanned) = (Without(), With());
                if (!whole.Data.AsSpan(owned.Start * plane, owned.Length * plane).SequenceEqual(spanned.Data.AsSpan(owned.Start * plane, owned.Length * plane)))
                    throw new InvalidOperationException($"{args[i + 1]}: the owned span's labels differ from the whole window's");
            }
            if (slabDepths is not null)
            {
                SlabCosts(run, slabDepths, thresholds, means, correction, sigma, repeats);
                continue;
            }
            // Warm-up: the JIT's tiers settle over the first calls.
            for (var w = 0; w < 3; w++)
            {
                Without();
                With();
            }
            if (variantBands)
            {
                // The uncertainty's nine segmentations of one sampled band (84 rows: 64 and the halo), each testing its own tube
                // cores or all sharing FibreHalfDepth.TubeCoreCache, one after another, CPU seconds, alternated.
                var band = TileGrid.Crop(run.Intensity, new TileWindow(0, 84, 0, run.Intensity.Width, 0, 84, 0, run.Intensity.Width));
                var step = 0.05 * (means[2] - means[0]);
                var variantThresholds = SegmentationUncertainty.Variants(thresholds.Select(t => new ThresholdRange(t - step, t, t + step)).ToArray())
                    .Select(v => v.Thresholds).Append(thresholds).ToArray();
                var span = new SliceSpan(0, band.Depth);
                Volume<byte> Nine(bool shared)
                {
                    var cache = shared ? new FibreHalfDepth.TubeCoreCache(band, sigma, means) : null;
                    Volume<byte> last = null!;
                    foreach (var t in variantThresholds) last = PhaseSegmentation.Segment(band, t, means, correction, sigma, span, cache);
                    return last;
                }
                for (var w = 0; w < 2; w++) { Nine(false); Nine(true); }
                var (own, kept) = (new List<double>(), new List<double>());
                for (var r = 0; r < repeats; r++)
                {
                    own.Add(Cost(() => Nine(false)).CpuSeconds);
                    kept.Add(Cost(() => Nine(true)).CpuSeconds);
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{args[i + 1]}: {variantThresholds.Length} segmentations of a {band.Depth}x{band.Height}x{band.Width} band, CPU s each repeat: own tube tests {string.Join(" / ", own.Select(c => c.ToString("0.000")))}, shared {string.Join(" / ", kept.Select(c => c.ToString("0.000")))}; load {Load()}"));
                continue;
            }
            if (parts)
            {
                // The recipe's steps one by one (PhaseSegmentation.Segment's order), CPU seconds each, median of the repeats.
                var timings = new Dictionary<string, List<double>>();
                for (var r = 0; r < repeats + 1; r++)
                {
                    Volume<byte> classified = null!, cleaned = null!, corrected = null!;
                    void Time(string step, Func<Volume<byte>> work)
                    {
                        var (c, _) = Cost(work);
                        if (r > 0) (timings.TryGetValue(step, out var l) ? l : timings[step] = []).Add(c);
                    }
                    Time("classify", () => classified = PhaseClassifier.Classify(run.Intensity, thresholds, PhaseClassifier.BseDarkToBright));
                    Time("clean-up", () => cleaned = PartialVolumeCleanup.Apply(classified, run.Intensity, PhaseClassifier.BseDarkToBright, means));
                    Time("shine-through", () => corrected = ShineThroughCorrection.Apply(cleaned, run.Intensity, means[0], [correction], double.PositiveInfinity, means[2],
                        PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps));
                    Volume<byte> fibres = null!;
                    Time("half-depth", () => fibres = FibreHalfDepth.Apply(corrected, run.Intensity, means, sigma));
                    Time("lit pore runs", () => { LitPoreRuns.ApplyInPlace(fibres, run.Intensity, thresholds[0], means, correction, SliceSpan.All(fibres.Depth)); return fibres; });
                    Time("particle face gaps", () => { ParticleFaceGaps.ApplyInPlace(fibres, run.Intensity, means, thresholds[1], sigma, SliceSpan.All(fibres.Depth)); return fibres; });
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{args[i + 1]}: steps (CPU s, median of {repeats}): {string.Join(", ", timings.Select(t => $"{t.Key} {t.Value.Order().ElementAt(t.Value.Count / 2):0.000}"))}; load {Load()}"));
            }
            double runCpuWithout = 0, runCpuWith = 0;
            for (var r = 0; r < repeats; r++)
            {
                var (c0, w0) = Cost(Without);
                var (c1, w1) = Cost(With);
                (runCpuWithout, runCpuWith) = (runCpuWithout + c0, runCpuWith + c1);
                (wallWithout, wallWith) = (wallWithout + w0, wallWith + w1);
            }
            (cpuWithout, cpuWith) = (cpuWithout + runCpuWithout, cpuWith + runCpuWith);
            voxels += (double)run.Intensity.Length * repeats;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{args[i + 1]}: {run.Intensity.Depth}x{run.Intensity.Height}x{run.Intensity.Width}, CPU {runCpuWithout / repeats:0.000} s {(ownedSpanHalo is null ? "without" : "whole window")}, {runCpuWith / repeats:0.000} s {(ownedSpanHalo is null ? "with the rule" : $"exact on [{owned.Start}, {owned.End})")} ({runCpuWith / runCpuWithout:0.00}x); load {Load()}"));
        }
        if (variantBands) return 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"segment step, all runs: CPU {cpuWithout:0.00} s without, {cpuWith:0.00} s with the rule: {cpuWith / cpuWithout:0.00}x; "
            + $"{voxels / cpuWithout / 1e6:0.00} vs {voxels / cpuWith / 1e6:0.00} Mvox per CPU second; wall {wallWithout:0.00} vs {wallWith:0.00} s ({wallWith / wallWithout:0.00}x); "
            + $"{Environment.ProcessorCount} cores, load {Load()}"));
        return 0;
    }

    /// <summary>
    /// The segmentation stage's work per owned voxel for slabs of each depth: one interior slab (the halo the stage reads on
    /// both sides) by a tile of every row (less the in-plane halo) and 512 columns of the run's volume, segmented exact on its owned slices, and
    /// the threshold variants on the rows the stack's size samples; CPU seconds per owned Mvoxel, median of the repeats.
    /// </summary>
    private static void SlabCosts(FinishedRun run, int[] slabDepths, double[] thresholds, double[] means, double correction, double sigma, int repeats)
    {
        var volume = run.Intensity;
        var halo = Imaging.Measurement.SegmentationVariantAccumulator.RequiredHaloSlicesWithFibres(sigma, correction);
        var haloPx = Imaging.Measurement.SegmentationVariantAccumulator.RequiredHaloPixelsWithFibres(sigma);
        var (rows, tile, y0, x0) = (volume.Height - 2 * haloPx, Math.Min(512, volume.Width - 2 * haloPx), haloPx, haloPx);
        var step = 0.05 * (means[2] - means[0]);
        var model = thresholds.Select(t => new ThresholdRange(t - step, t, t + step)).ToArray();
        var sample = Imaging.Measurement.VariantBlockSample.For(volume.Depth, volume.Height, volume.Width);
        foreach (var n in slabDepths)
        {
            var depth = n + 2 * halo;
            if (depth > volume.Depth) { Console.WriteLine($"slab {n}: needs {depth} slices, the volume has {volume.Depth}"); continue; }
            var z0 = (volume.Depth - depth) / 2;
            var window = new Volume<float>(depth, rows + 2 * haloPx, tile + 2 * haloPx);
            for (var z = 0; z < depth; z++)
                for (var y = 0; y < window.Height; y++)
                    volume.Data.AsSpan(((z0 + z) * volume.Height + y0 - haloPx + y) * volume.Width + x0 - haloPx, window.Width)
                        .CopyTo(window.Data.AsSpan((z * window.Height + y) * window.Width, window.Width));
            var slab = new SlabWindow(z0, z0 + depth, z0 + halo, z0 + halo + n);
            var tileWindow = new TileWindow(y0 - haloPx, y0 + rows + haloPx, x0 - haloPx, x0 + tile + haloPx, y0, y0 + rows, x0, x0 + tile);
            var owned = new SliceSpan(halo, halo + n);
            var (recipe, variants) = (new List<double>(), new List<double>());
            for (var r = 0; r < repeats + 1; r++)
            {
                var c0 = Cost(() => PhaseSegmentation.Segment(window, thresholds, means, correction, sigma, owned)).CpuSeconds;
                var accumulator = new Imaging.Measurement.SegmentationVariantAccumulator(SegmentationUncertainty.Variants(model), means, correction, sigma, sample, thresholds);
                var c1 = Cost(() => { accumulator.Add(window, slab, tileWindow); return window.Depth > 0 ? new Volume<byte>(1, 1, 1) : null!; }).CpuSeconds;
                if (r == 0) continue;
                recipe.Add(c0);
                variants.Add(c1);
            }
            var ownedMvox = n * (double)rows * tile / 1e6;
            double Median(List<double> l) => l.Order().ElementAt(l.Count / 2);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"slab {n} (+{halo} each side, tile {rows}x{tile}+{haloPx}): recipe {Median(recipe) / ownedMvox:0.000} CPU-s per owned Mvoxel, variants (one block in {sample.Every}) {Median(variants) / ownedMvox:0.000}, sum {(Median(recipe) + Median(variants)) / ownedMvox:0.000}; load {Load()}"));
        }
    }

    private static (double CpuSeconds, double WallSeconds) Cost(Func<Volume<byte>> segment)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var cpu = Environment.CpuUsage.TotalTime;
        var wall = Stopwatch.StartNew();
        GC.KeepAlive(segment());
        return ((Environment.CpuUsage.TotalTime - cpu).TotalSeconds, wall.Elapsed.TotalSeconds);
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
