using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The label-volume metrics (<c>ssbtomo measure</c>) against their peers, in one run on the same volume: TauFactor's
/// electrode.tiff (pore 0, NMC 85, carbon-binder 170), an n³ corner of it (default the whole 256³).
/// <list type="bullet">
/// <item>26-connected components of each phase vs scipy.ndimage.label(mask, np.ones((3, 3, 3))): counts and ids;</item>
/// <item>the Euclidean distance transform to NMC, z spacing ×2, vs scipy.ndimage.distance_transform_edt: max |Δ|;</item>
/// <item>unsmoothed marching-cubes areas of each phase vs skimage.measure.marching_cubes(mask, 0.5) + mesh_surface_area;</item>
/// <item>the pore tortuosity factor along axis 0 vs scipy.sparse.linalg.cg (Jacobi) on the same finite-volume system,
/// same relative-residual tolerance (as <see cref="TortuosityStudy"/>).</item>
/// </list>
/// Then, with <c>--stages</c>, the stages of <see cref="LabelVolumeMeasurement"/> timed one by one on the volume
/// mirrored to 256×512×512 (the issue's "512x512x256" budget case).
/// Usage: dotnet run -c Release --project tests/SsbTomo.Benchmarks -- metrics [--size 256] [--repeats 1] [--no-tortuosity] [--stages]
/// </summary>
public static class MetricsStudy
{
    private const string Electrode = "/work/shared/data/taufactor/electrode.tiff";

    private const string PeerScript = """
        import sys, json, time
        import numpy as np
        from scipy import ndimage
        from skimage import measure
        d, n, repeats, tortuosity, tol = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1', float(sys.argv[5])
        labels = np.fromfile(d + '/labels.u8', np.uint8).reshape(n, n, n)
        def timed(f):
            f()
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t0)
            return sorted(ts)[len(ts) // 2] * 1000.0, r
        out = {}
        def label_all():
            res = []
            for p in (1, 2, 3):
                ids, count = ndimage.label(labels == p, structure=np.ones((3, 3, 3)))
                res.append((ids, count))
            return res
        ms, res = timed(label_all)
        for p, (ids, count) in zip((1, 2, 3), res):
            ids.astype('<i4').tofile(d + f'/peer_ids{p}.i4')
        out['label'] = {'ms': ms, 'counts': [int(c) for _, c in res]}
        ms, e = timed(lambda: ndimage.distance_transform_edt(labels != 2, sampling=(2.0, 1.0, 1.0)))
        e.astype('<f8').tofile(d + '/peer_edt.f8')
        out['edt'] = {'ms': ms}
        def mc():
            areas = []
            for p in (1, 2, 3):
                v, f, _, _ = measure.marching_cubes((labels == p).astype(np.uint8), 0.5)
                areas.append(float(measure.mesh_surface_area(v, f)))
            return areas
        ms, a = timed(mc)
        out['mc'] = {'ms': ms, 'areas': a}
        if tortuosity:
            start = time.perf_counter()
            tau, iterations = scipy_tau(labels == 1, tol)
            out['tortuosity'] = {'ms': (time.perf_counter() - start) * 1000.0, 'tau': tau, 'iterations': iterations}
        print(json.dumps(out))
        """;

    public static int Run(string[] args)
    {
        var (size, repeats, tortuosity, stages) = (256, 1, true, false);
        for (var i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--size" when i + 1 < args.Length: size = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--repeats" when i + 1 < args.Length: repeats = Math.Max(1, int.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                case "--no-tortuosity": tortuosity = false; break;
                case "--stages": stages = true; break;
                default:
                    Console.Error.WriteLine("usage: SsbTomo.Benchmarks metrics [--size N (≤ 256)] [--repeats N] [--no-tortuosity] [--stages]");
                    return 2;
            }
        using var dir = new TempDirectory("ssbtomo-metrics");
        // Measurement labels: 1 pore, 2 NMC, 3 carbon-binder (the order of ssbtomo measure --phase-values pore=0,nmc=85,cbd=170).
        PythonOracle.Run("""
            import sys, numpy as np, tifffile
            n = int(sys.argv[2])
            a = tifffile.imread(sys.argv[1])[:n, :n, :n]
            m = np.zeros(a.shape, np.uint8)
            m[a == 0], m[a == 85], m[a == 170] = 1, 2, 3
            m.tofile(sys.argv[3] + '/labels.u8')
            """, Electrode, $"{size}", dir.Path);
        var volume = new Volume<byte>(size, size, size, File.ReadAllBytes(Path.Combine(dir.Path, "labels.u8")));
        Console.WriteLine($"metrics vs peers on electrode.tiff[:{size},:{size},:{size}] (1 pore, 2 NMC, 3 carbon-binder), median of {repeats} after one warm-up, " +
                          $"{Environment.ProcessorCount} cores, .NET {Environment.Version}");

        ComponentLabels[] ids = [];
        var tLabel = Measure.Run(() => ids = [.. Enumerable.Range(1, 3).Select(p => ConnectedComponents.Label(volume, (byte)p))], repeats);
        double[] edt = [];
        var tEdt = Measure.Run(() => edt = DistanceTransform.SquaredNm2(volume, l => l == 2, new VoxelSize(1, 1, 2)), repeats);
        SurfaceAreas areas = null!;
        var tMc = Measure.Run(() =>
        {
            var accumulator = new SurfaceAreaAccumulator(VoxelSize.Isotropic(1000));
            accumulator.Add(volume);
            areas = accumulator.Result();
        }, repeats);
        TortuosityResult? tau = null;
        Timing? tTau = null;
        if (tortuosity)
        {
            // One run, setup included (as the peer's one run of assembly and solve).
            var clock = Stopwatch.StartNew();
            tau = Tortuosity.Compute(volume, 1, 0, VoxelSize.Isotropic(1));
            tTau = new Timing(clock.Elapsed.TotalMilliseconds, double.NaN, double.NaN);
        }

        var peer = System.Text.Json.JsonDocument.Parse(PythonOracle.Run(ScipyTortuosity.Function + PeerScript, dir.Path, $"{size}", $"{repeats}", tortuosity ? "1" : "0",
            Tortuosity.DefaultTolerance.ToString("R", CultureInfo.InvariantCulture))).RootElement;
        double PeerMs(string op) => peer.GetProperty(op).GetProperty("ms").GetDouble();

        var counts = peer.GetProperty("label").GetProperty("counts").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var idsEqual = Enumerable.Range(1, 3).All(p =>
            MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(Path.Combine(dir.Path, $"peer_ids{p}.i4"))).SequenceEqual(ids[p - 1].Ids));
        var peerEdt = MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(Path.Combine(dir.Path, "peer_edt.f8"))).ToArray();
        var edtDiff = 0.0;
        for (var i = 0; i < peerEdt.Length; i++) edtDiff = Math.Max(edtDiff, Math.Abs(Math.Sqrt(edt[i]) - peerEdt[i]));
        var peerMc = peer.GetProperty("mc").GetProperty("areas").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var mcRatios = Enumerable.Range(1, 3).Select(p => areas.MarchingCubesSurfaceUm2[p] / peerMc[p - 1]).ToArray();
        var voxels = volume.Data.LongLength;

        var rows = new List<string[]>
        {
            Row("26-connected components, 3 phases", voxels, tLabel, PeerMs("label"),
                $"{string.Join('/', ids.Select(c => c.Count))} vs {string.Join('/', counts)}, ids {(idsEqual ? "identical" : "DIFFER")}"),
            Row("Euclidean distance transform to NMC, z×2", voxels, tEdt, PeerMs("edt"), $"max |Δ| = {edtDiff:G3} voxels{(edtDiff <= 1e-9 ? "" : " DIFFER")}"),
            Row("marching-cubes areas, 3 phases (binary)", voxels, tMc, PeerMs("mc"),
                $"ours/skimage {string.Join(' ', mcRatios.Select(r => r.ToString("F4", CultureInfo.InvariantCulture)))}" +
                $"{(mcRatios.All(r => Math.Abs(r - 1) <= 0.005) ? "" : " DIFFER > 0.5 %")} (+ face counts, 6 unions)"),
        };
        if (tortuosity && tau is not null)
        {
            var p = peer.GetProperty("tortuosity");
            var peerTau = p.GetProperty("tau").GetDouble();
            rows.Add(Row($"tortuosity, pore, axis 0, rel. residual {Tortuosity.DefaultTolerance:0e0}", voxels, tTau!, p.GetProperty("ms").GetDouble(),
                $"τ {tau.Factor:0.00000} ({tau.Iterations} it.) vs {peerTau:0.00000} ({p.GetProperty("iterations").GetInt32()} it.), " +
                $"Δ {Math.Abs(tau.Factor - peerTau) / peerTau:0.0e0}{(Math.Abs(tau.Factor - peerTau) / peerTau <= 0.01 ? "" : " DIFFER > 1 %")}"));
        }
        string[] header = ["operation", "voxels", "SsbTomo ms", "peer ms", "peer/ours", "alloc MB", "peak MB", "agreement"];
        ResultTable.Print(header, rows, 1, 6);
        Console.WriteLine("peer/ours > 1: SsbTomo is faster (tortuosity: one run each, setup included; scipy's Jacobi-PCG stops further from the solution at the same residual).");
        if (stages) Stages(volume);
        return rows.Any(r => r[^1].Contains("DIFFER", StringComparison.Ordinal)) ? 1 : 0;
    }

    /// <summary>Each stage of <see cref="LabelVolumeMeasurement.Measure"/> on the volume mirrored to 256×512×512, 50×50×100 nm.</summary>
    private static void Stages(Volume<byte> electrode)
    {
        var (d, h, w) = (electrode.Depth, 2 * electrode.Height, 2 * electrode.Width);
        var big = new Volume<byte>(d, h, w);
        for (var z = 0; z < d; z++)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                    big[z, y, x] = electrode[z, y < electrode.Height ? y : h - 1 - y, x < electrode.Width ? x : w - 1 - x];
        var voxel = new VoxelSize(50, 50, 100);
        var phases = new PhaseTable([new("pore", 0), new("nmc", 85), new("cbd", 170)]);
        Console.WriteLine($"stages of LabelVolumeMeasurement on {d}x{h}x{w}, voxel 50x50x100 nm:");
        void Time(string name, Action action)
        {
            var clock = Stopwatch.StartNew();
            action();
            Console.WriteLine($"  {name,-40} {clock.Elapsed.TotalSeconds,7:0.00} s");
        }
        Time("surfaces (faces + marching cubes)", () =>
        {
            var s = new SurfaceAreaAccumulator(voxel);
            for (var z0 = 0; z0 < d; z0 += 32) s.Add(Halo.CropZ(big, z0, Math.Min(d, z0 + 32)));
            s.Result();
        });
        Time("components, 3 phases", () =>
        {
            for (byte p = 1; p <= 3; p++)
            {
                var c = new ComponentAccumulator(p);
                for (var z0 = 0; z0 < d; z0 += 32) c.Add(Halo.CropZ(big, z0, Math.Min(d, z0 + 32)));
                c.Result();
            }
        });
        Time("phase counts", () => PhaseFractions.Count(big));
        Time("tortuosity, pore, axis 0", () => Tortuosity.Compute(big, 1, 0, voxel));
        Time("LabelVolumeMeasurement.Measure (all)", () => LabelVolumeMeasurement.Measure(big, phases, voxel, 1, 0));
    }

    private static string[] Row(string operation, long voxels, Timing ours, double peerMs, string agreement) =>
    [
        operation, voxels.ToString("N0", CultureInfo.InvariantCulture), ours.MedianMs.ToString("F0", CultureInfo.InvariantCulture),
        peerMs.ToString("F0", CultureInfo.InvariantCulture), (peerMs / ours.MedianMs).ToString("F1", CultureInfo.InvariantCulture) + "x",
        double.IsNaN(ours.AllocatedMb) ? "-" : ours.AllocatedMb.ToString("F0", CultureInfo.InvariantCulture),
        double.IsNaN(ours.PeakHeapMb) ? "-" : ours.PeakHeapMb.ToString("F0", CultureInfo.InvariantCulture), agreement,
    ];
}
