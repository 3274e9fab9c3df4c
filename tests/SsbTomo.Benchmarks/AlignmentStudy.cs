using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using SsbTomo.Imaging;
using SsbTomo.Cli;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Where the alignment stage's CPU goes, per kernel, on one chunk of a Cycled50 phantom: the measurement pass as
/// MeasureAlignmentChunkConsumer runs it (the <see cref="PairwiseRegistration"/> halo slices first, then per slice the
/// background fit, the registration against the reference offsets, the correction, the ranges and the particle
/// sections; the curtaining filter also gives the offsets it subtracted, which the chunk stores) and the shift pass as
/// ShiftAlignmentChunkConsumer runs it (the stored fit and curtain offsets applied, not fitted or filtered again). Each kernel is timed by wall clock and by the
/// process's CPU time (<see cref="Environment.CpuUsage"/>, user + system) around it; the kernels run one after another,
/// so the CPU time of a kernel that spreads over the cores is attributed to it. The registration is then split (spectra,
/// band images, coarse phase correlation, patch consensus) by replaying its parts on the same slices.
/// The nearest Python peers (numpy rfft2, scikit-image phase_cross_correlation, scipy median_filter along rows,
/// scipy ndimage.shift) run on one slice of the same stack in the same run.
/// Usage: `-- alignment [--size 16,1024,1024] [--seed 3] [--no-peer]`.
/// </summary>
internal static class AlignmentStudy
{
    public static int Run(string[] args)
    {
        int[] size = [16, 1024, 1024];
        var seed = 3;
        var peer = true;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--size" when i + 1 < args.Length: size = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--seed" when i + 1 < args.Length: seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-peer": peer = false; break;
                default:
                    Console.Error.WriteLine("usage: SsbTomo.Benchmarks alignment [--size D,H,W] [--seed N] [--no-peer]");
                    return 2;
            }
        }
        var (depth, height, width) = (size[0], size[1], size[2]);
        var halo = PairwiseRegistration.DefaultOffsets[^1];
        var watch = Stopwatch.StartNew();
        // The chunk and the halo before it, as a chunk that is not the stack's first reads them.
        var phantom = CathodePhantom.Create(new PhantomOptions(PhantomPreset.Cycled50, halo + depth, height, width, 50, seed));
        var stack = new Volume<ushort>(halo + depth, height, width);
        Parallel.For(0, halo + depth, z => phantom.RenderSlice16(z).Pixels.CopyTo(stack.Slice(z)));
        Console.WriteLine($"alignment study: one chunk of {depth} slices of {height}x{width} after {halo} halo slices, Cycled50 seed {seed}, " +
            $"{Environment.ProcessorCount} cores, .NET {Environment.Version} (phantom {watch.ElapsedMilliseconds} ms)");
        Console.WriteLine($"load average: {LoadAverage()}");

        var clock = new KernelClock();
        var total = clock.Start();
        // --- measurement pass ---
        var registration = new PairwiseRegistration();
        for (var z = 0; z < halo; z++)
        {
            var reference = clock.Time("halo: to float", () => stack.SliceToFloat(z));
            clock.Time("halo: registration prepare + link", () => registration.AddReference(reference));
        }
        var corrections = new SliceCorrection[depth];
        var curtains = new CurtainOffsets?[depth];
        for (var k = 0; k < depth; k++)
        {
            var slice = clock.Time("to float", () => stack.SliceToFloat(halo + k));
            var rawRange = clock.Time("raw range (5/95 %)", () => SliceIntensityRanges.Measure(slice));
            var flat = SliceIntensityRanges.IsEmpty(rawRange);
            var fit = flat ? null : clock.Time("background fit", () => IntensityNormalization.FitBackground(slice));
            corrections[k] = new SliceCorrection(fit, flat);
            clock.Time("registration (4 offsets)", () => registration.Add(slice));
            if (flat) continue;
            var flattened = fit is null ? slice : clock.Time("background removal", () => IntensityNormalization.RemoveBackground(slice, fit));
            var corrected = clock.Time("curtaining filter", () => CurtainingFilter.Remove(flattened, out curtains[k]));
            // As the measurement consumer: one 1-px blur for the smoothed bulk peaks and the particle sections.
            var smoothed = clock.Time("1-px blur (brightness and sections)", () => SmoothedSlice.Of(corrected, SliceIntensityRanges.PeakImageSmoothingPx));
            clock.Time("corrected ranges + brightness", () => SliceIntensityRanges.MeasureWithBrightness(corrected, smoothed));
            clock.Time("particle sections", () => ParticleSections.Detect(corrected, smoothed, ParticleDetectionOptions.ForDrift));
        }
        var measureTotal = total.Stop();

        // --- shift pass (a made-up sub-pixel drift: the cost does not depend on it) ---
        total = clock.Start();
        var shifted = new Image2D<float>(height, width);
        var output = new ushort[height * width];
        var range = new IntensityRange(20000, 40000);
        for (var k = 0; k < depth; k++)
        {
            var slice = clock.Time("shift: to float", () => stack.SliceToFloat(halo + k));
            var corrected = clock.Time("shift: correction (background + stored curtain offsets)", () => corrections[k].Replay(slice, curtains[k]));
            clock.Time("shift: subpixel shift", () => SubpixelShift.Apply(corrected, new Shift2D(0.37 * k, -0.21 * k), shifted));
            clock.Time("shift: to uint16", () => SliceIntensityRanges.ToUInt16(shifted, range, (0, height, 0, width), output));
        }
        var shiftTotal = total.Stop();

        // --- the registration's parts, replayed on the same slices ---
        var parts = new KernelClock();
        var maxSize = PairwiseRegistration.DefaultCropPx;
        var history = new List<(Spectrum Spectrum, BandImage Band)>();
        for (var z = 0; z < halo + depth; z++)
        {
            var slice = stack.SliceToFloat(z);
            var spectrum = parts.Time("spectrum (crop, window, FFT, smoothed crop)", () => Spectrum.Of(slice, maxSize));
            var band = parts.Time("band image (2 normalised Gaussians)", () => BandImage.Of(slice, maxSize, PatchConsensusOptions.Default));
            if (z >= halo)
            {
                foreach (var offset in PairwiseRegistration.DefaultOffsets)
                {
                    var (rs, rb) = history[z - offset];
                    var coarse = parts.Time("coarse phase correlation (per pair)", () => PhaseCorrelation.Estimate(rs, spectrum, 4, polish: false));
                    parts.Time("patch consensus (per pair)", () => PatchConsensus.Estimate(rb, band, coarse.Shift, PatchConsensusOptions.Default));
                }
            }
            history.Add((spectrum, band));
        }

        var megapixels = height * (double)width / 1e6;
        Console.WriteLine();
        Console.WriteLine($"| kernel | calls | wall ms | CPU ms | CPU ms per slice | CPU ms per Mpx | share of stage CPU | page faults per call |");
        Console.WriteLine($"|---|---|---|---|---|---|---|---|");
        var stageCpu = measureTotal.CpuMs + shiftTotal.CpuMs;
        foreach (var (name, entry) in clock.Entries)
            Console.WriteLine($"| {name} | {entry.Calls} | {entry.WallMs:F0} | {entry.CpuMs:F0} | {entry.CpuMs / depth:F1} | {entry.CpuMs / depth / megapixels:F1} | {100 * entry.CpuMs / stageCpu:F1} % | {entry.Faults / Math.Max(1, entry.Calls)} |");
        Console.WriteLine($"| **measurement pass** | | {measureTotal.WallMs:F0} | {measureTotal.CpuMs:F0} | {measureTotal.CpuMs / depth:F1} | {measureTotal.CpuMs / depth / megapixels:F1} | |");
        Console.WriteLine($"| **shift pass** | | {shiftTotal.WallMs:F0} | {shiftTotal.CpuMs:F0} | {shiftTotal.CpuMs / depth:F1} | {shiftTotal.CpuMs / depth / megapixels:F1} | |");
        var voxels = depth * height * (double)width;
        var stageWall = measureTotal.WallMs + shiftTotal.WallMs;
        Console.WriteLine($"stage (measure + shift, no I/O): {voxels / 1e6 / (stageWall / 1000):F2} Mvoxel/s wall, {voxels / 1e6 / (stageCpu / 1000):F2} Mvoxel per CPU-second");
        Console.WriteLine();
        Console.WriteLine("registration split (replayed on the same slices):");
        Console.WriteLine("| part | calls | wall ms | CPU ms | CPU ms per call | page faults per call |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, entry) in parts.Entries)
            Console.WriteLine($"| {name} | {entry.Calls} | {entry.WallMs:F0} | {entry.CpuMs:F0} | {entry.CpuMs / entry.Calls:F1} | {entry.Faults / Math.Max(1, entry.Calls)} |");

        if (peer) ComparePeers(stack, halo, clock, parts);
        Console.WriteLine($"load average at the end: {LoadAverage()}");
        return 0;
    }

    private static void ComparePeers(Volume<ushort> stack, int halo, KernelClock clock, KernelClock parts)
    {
        using var dir = new TempDirectory("ssbtomo-alignment-bench");
        var (height, width) = (stack.Height, stack.Width);
        var reference = stack.SliceToFloat(halo);
        var moving = stack.SliceToFloat(halo + 1);
        File.WriteAllBytes(Path.Combine(dir.Path, "ref.f32"), MemoryMarshal.AsBytes(reference.Pixels.AsSpan()).ToArray());
        File.WriteAllBytes(Path.Combine(dir.Path, "mov.f32"), MemoryMarshal.AsBytes(moving.Pixels.AsSpan()).ToArray());
        var json = PythonOracle.Run(PeerScript, dir.Path, height.ToString(CultureInfo.InvariantCulture), width.ToString(CultureInfo.InvariantCulture),
            PhaseCorrelation.DefaultMaxSizePx.ToString(CultureInfo.InvariantCulture));
        using var doc = JsonDocument.Parse(json);
        double Peer(string name) => doc.RootElement.GetProperty(name).GetDouble();
        // Ours, timed the same way as the peer (median of 3 after one warm-up, wall clock, on the same two slices).
        var maxSize = PhaseCorrelation.DefaultMaxSizePx;
        var ourSpectrum = Measure.Run(() => Spectrum.Of(reference, maxSize), 3).MedianMs;
        var ourPcc = Measure.Run(() => PhaseCorrelation.Estimate(reference, moving, 20, polish: false), 3).MedianMs;
        var ourMedian = Measure.Run(() => CurtainingFilter.Remove(reference), 3).MedianMs;
        var ourShift = Measure.Run(() => SubpixelShift.Apply(reference, new Shift2D(0.37, -0.21)), 3).MedianMs;
        Console.WriteLine();
        Console.WriteLine("nearest Python peers (one slice, median of 3 after a warm-up, wall ms, same run):");
        Console.WriteLine("| ours | ms | peer | ms | peer / ours |");
        Console.WriteLine("|---|---|---|---|---|");
        Console.WriteLine($"| Spectrum.Of (crop {maxSize}², mean, window, real FFT) | {ourSpectrum:F1} | numpy.fft.rfft2 of the windowed crop | {Peer("rfft2"):F1} | {Peer("rfft2") / ourSpectrum:F2} |");
        Console.WriteLine($"| PhaseCorrelation.Estimate (2 FFTs, upsample 20, no polish) | {ourPcc:F1} | skimage phase_cross_correlation(upsample_factor=20) | {Peer("pcc"):F1} | {Peer("pcc") / ourPcc:F2} |");
        Console.WriteLine($"| CurtainingFilter.Remove (3 passes of a 25-px row median + column block medians) | {ourMedian:F1} | 3 x scipy median_filter(size=(1, 25)) | {3 * Peer("median"):F1} | {3 * Peer("median") / ourMedian:F2} |");
        Console.WriteLine($"| SubpixelShift.Apply (cubic B-spline) | {ourShift:F1} | scipy.ndimage.shift(order=3, mode='mirror') | {Peer("shift"):F1} | {Peer("shift") / ourShift:F2} |");
    }

    private const string PeerScript = """
        import sys, json, time
        import numpy as np
        from scipy import ndimage
        from skimage.registration import phase_cross_correlation
        d, h, w, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        ref = np.fromfile(d + '/ref.f32', dtype='<f4').reshape(h, w)
        mov = np.fromfile(d + '/mov.f32', dtype='<f4').reshape(h, w)
        ch, cw = min(h, m), min(w, m)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        def timed(f):
            f()
            ts = []
            for _ in range(3):
                t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
            return sorted(ts)[1] * 1000.0
        def window(n):
            t = 0.5 * (n - 1) / 2
            d = np.minimum(np.arange(n), n - 1 - np.arange(n))
            return np.where(d >= t, 1.0, 0.5 * (1 - np.cos(np.pi * d / t)))
        wy, wx = window(ch), window(cw)
        def spectrum():
            c = ref[y0:y0 + ch, x0:x0 + cw].astype(np.float64)
            return np.fft.rfft2((c - c.mean()) * wy[:, None] * wx[None, :])
        out = {}
        out['rfft2'] = timed(spectrum)
        out['pcc'] = timed(lambda: phase_cross_correlation(ref[y0:y0 + ch, x0:x0 + cw], mov[y0:y0 + ch, x0:x0 + cw], upsample_factor=20))
        out['median'] = timed(lambda: ndimage.median_filter(ref, size=(1, 25), mode='mirror'))
        out['shift'] = timed(lambda: ndimage.shift(ref, (0.37, -0.21), order=3, mode='mirror'))
        print(json.dumps(out))
        """;

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Wall and process CPU time (user + system) per named kernel, in the order they were first timed.</summary>
    private sealed class KernelClock
    {
        private readonly Dictionary<string, Entry> _entries = [];
        private readonly List<string> _order = [];

        public sealed class Entry
        {
            public int Calls;
            public double WallMs;
            public double CpuMs;
            public long Faults;
        }

        public IEnumerable<(string Name, Entry Entry)> Entries => _order.Select(name => (name, _entries[name]));

        public T Time<T>(string name, Func<T> kernel)
        {
            var faultsBefore = StageProfiler.ProcessMinorFaults();
            var span = Start();
            var result = kernel();
            var (wall, cpu) = span.Stop();
            var faults = StageProfiler.ProcessMinorFaults() - faultsBefore;
            if (!_entries.TryGetValue(name, out var entry))
            {
                _entries[name] = entry = new Entry();
                _order.Add(name);
            }
            entry.Calls++;
            entry.WallMs += wall;
            entry.CpuMs += cpu;
            entry.Faults += faults;
            return result;
        }

        public void Time(string name, Action kernel) => Time(name, () => { kernel(); return 0; });

        public Lap Start() => new(Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime);

        public readonly record struct Lap(long StartTimestamp, TimeSpan StartCpu)
        {
            public (double WallMs, double CpuMs) Stop() =>
                (Stopwatch.GetElapsedTime(StartTimestamp).TotalMilliseconds, (Environment.CpuUsage.TotalTime - StartCpu).TotalMilliseconds);
        }
    }
}
