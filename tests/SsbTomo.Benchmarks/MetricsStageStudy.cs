using System.Diagnostics;
using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Where the metrics stage's per-voxel CPU goes on a finished run's labels: each pass of
/// <c>MeasureVolumeConsumer</c> before the bounded tortuosity and particle split, timed alone (process CPU time and
/// wall), slab by slab or window by window as the stage reads them. The passes are the stage's own Imaging types, so a
/// change to one shows here before a 1-Gvoxel run.
/// It also runs the smoothed areas on the rows the stage samples on a large stack (<see cref="RowBandSample.For"/>; on a
/// smaller one every 4th band of 64 rows) and prints their errors against every row.
/// Usage: dotnet SsbTomo.Benchmarks.dll metrics-stage RUN_DIR [--window-mb 512] [--slab-windows]
/// </summary>
internal static class MetricsStageStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks metrics-stage RUN_DIR [--window-mb 512]");
            return 2;
        }
        var windowBytes = 512L << 20;
        for (var i = 1; i < args.Length; i++)
            if (args[i] == "--window-mb" && i + 1 < args.Length) windowBytes = long.Parse(args[++i], CultureInfo.InvariantCulture) << 20;
        var labels = await StageVolume<byte>.OpenAsync(new FileSystemBlobStore(args[0]), new JobLayout("").Labels);
        var voxelSize = labels.VoxelSize;
        var voxels = (long)labels.Depth * labels.Height * labels.Width;
        Console.WriteLine($"labels {labels.Depth}x{labels.Height}x{labels.Width} ({voxels / 1e6:0.0} Mvoxel), slabs of {labels.SlabSlices} slices");

        var slabs = new List<Volume<byte>>();
        await foreach (var (_, slab) in labels.SlabsAsync()) slabs.Add(slab);
        Time("microstructure (counts, contact, components)", voxels, () => { var a = new MicrostructureAccumulator(); foreach (var s in slabs) a.Add(s); a.Result(); });
        SurfaceAreas? wholeVolume = null;
        Time("surface areas (faces, marching cubes)", voxels, () => { var a = new SurfaceAreaAccumulator(voxelSize); foreach (var s in slabs) a.Add(s); wholeVolume = a.Result(); });
        Time("phase-fraction bootstrap", voxels, () => { var a = new PhaseFractionBootstrap(labels.Depth, labels.Height, labels.Width); foreach (var s in slabs) a.Add(s); a.Result(); });
        slabs.Clear();

        var nearNmcDistance = new SsbTomo.Hosting.SsbTomoOptions().Metrics.VoidNearNmcDistanceUm;
        var halo = Math.Max(SmoothedSurfaceAreaAccumulator.RequiredHalo, new VoidNearNmcAccumulator(voxelSize, nearNmcDistance).HaloVoxels);
        // As the stage cuts them (--slab-windows: one slab of the chunk grid at a time, as it did before session 44).
        var windows = new List<StageWindow<byte>>();
        if (args.Contains("--slab-windows"))
            for (var z0 = 0; z0 < labels.Depth; z0 += labels.SlabSlices)
                await foreach (var window in labels.WindowsAsync(z0, Math.Min(labels.Depth, z0 + labels.SlabSlices), halo, windowBytes, bytesPerVoxel: 40))
                    windows.Add(window with { });
        else
            await foreach (var window in labels.WindowsAsync(0, labels.Depth, halo, windowBytes, bytesPerVoxel: 40, tilesMayShareChunks: true))
                windows.Add(window with { });
        Console.WriteLine($"windows read {windows.Sum(w => (long)w.Data.Length) / 1e6:0.0} Mvoxel");
        Console.WriteLine($"{windows.Count} windows with a halo of {halo} voxels");
        var smoothed = new SmoothedSurfaceAreaAccumulator(voxelSize);
        Time("smoothed surface areas", voxels, () => { foreach (var w in windows) smoothed.Add(w.Data, w.Slab, w.Tile); });
        // every digit, so that a faster pass can be checked to give the same sums
        Console.WriteLine("   areas µm² " + string.Join(", ", smoothed.SurfaceUm2().Skip(1).Select(a => a.ToString("R", CultureInfo.InvariantCulture)))
            + ", NMC|void " + smoothed.InterfaceUm2(PhaseLabel.Nmc, PhaseLabel.Void).ToString("R", CultureInfo.InvariantCulture));
        // The stage's sample on a large stack (RowBandSample.For; its areas scaled by the voxel faces), against every row:
        // each area's relative error.
        var rows = RowBandSample.For(voxels);
        if (rows.IsAllRows) rows = new RowBandSample(RowBandSample.DefaultBandRows, RowBandSample.DefaultEvery);
        var sampled = new SmoothedSurfaceAreaAccumulator(voxelSize, rows, labels.Height, wholeVolume!);
        Time($"smoothed surface areas, every {rows.Every}th band of {rows.BandRows} rows", voxels, () => { foreach (var w in windows) sampled.Add(w.Data, w.Slab, w.Tile); });
        var (all, some) = (smoothed.SurfaceUm2(), sampled.SurfaceUm2());
        var errors = Enumerable.Range(1, PhaseLabel.Count - 1).Select(p => $"{PhaseLabel.Name((byte)p)} {100 * (some[p] / all[p] - 1):+0.00;-0.00} %").ToList();
        for (byte a = 1; a < PhaseLabel.Count; a++)
            for (var b = (byte)(a + 1); b < PhaseLabel.Count; b++)
                errors.Add($"{PhaseLabel.Name(a)}|{PhaseLabel.Name(b)} {100 * (sampled.InterfaceUm2(a, b) / smoothed.InterfaceUm2(a, b) - 1):+0.00;-0.00} %");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   sampled against every row: {string.Join(", ", errors)}; smoothed contact loss {100 * sampled.ContactLoss:0.000} % against {100 * smoothed.ContactLoss:0.000} %"));
        var nearNmc = new VoidNearNmcAccumulator(voxelSize, nearNmcDistance);
        Time("void near NMC (distance transform)", voxels, () => { foreach (var w in windows) nearNmc.Add(w.Data, w.Slab, w.Tile); });
        Console.WriteLine($"   void voxels {nearNmc.VoidVoxels}, within {nearNmcDistance} µm of NMC {nearNmc.NearVoxels}");
        // The stage runs the sampled smoothed areas and void near NMC side by side on each window.
        var (sampledBeside, nearBeside) = (new SmoothedSurfaceAreaAccumulator(voxelSize, rows, labels.Height, wholeVolume!), new VoidNearNmcAccumulator(voxelSize, nearNmcDistance));
        Time("the stage's window pass: both side by side", voxels, () =>
        {
            foreach (var w in windows)
                Task.WaitAll(Task.Run(() => sampledBeside.Add(w.Data, w.Slab, w.Tile)), Task.Run(() => nearBeside.Add(w.Data, w.Slab, w.Tile)));
        });
        Console.WriteLine($"   the same sums: {sampledBeside.SurfaceUm2().SequenceEqual(sampled.SurfaceUm2()) && nearBeside.NearVoxels == nearNmc.NearVoxels && nearBeside.VoidVoxels == nearNmc.VoidVoxels}");

        return 0;
    }

    private static void Time(string name, long voxels, Action pass)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        pass();
        clock.Stop();
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-46} {clock.Elapsed.TotalSeconds,7:0.00} s wall {cpu,7:0.00} s CPU {1e9 * cpu / voxels,6:0.0} ns CPU per voxel"));
    }
}
