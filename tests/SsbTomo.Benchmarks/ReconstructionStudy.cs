using System.Diagnostics;
using System.Globalization;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Reconstruction;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The Reconstruction stage's cost on a label volume of the issue's size (default 256x512x512, chunks 16x512x512, as a
/// run writes them): pyramids of raw, aligned and labels, the NGFF metadata, the three slice previews, the four phases'
/// surface meshes (glb, stl) and the three 3D views. Prints the wall time and the process's peak working set (the volumes
/// are generated slab by slab so the peak is the stage's), then the meshes and 3D views alone, run again on the same store
/// (their share of the stage).
/// The process is held to a memory budget as a service is (<see cref="ProcessMemory.LimitTo"/>, default 2048 MiB, the
/// services' default; 0 = no limit) and the stage's windows get a quarter of it, as in a service.
/// With <c>--run DIR</c> the stage runs on a copy of a finished run's volumes instead (raw, aligned and labels as the
/// pipeline wrote them: real surfaces, not spheres), the copy in a temporary directory.
/// Usage: dotnet run -c Release --project tests/SsbTomo.Benchmarks -- reconstruction [--size 256,512,512 | --run DIR] [--memory-budget-mb 2048]
/// </summary>
public static class ReconstructionStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        int[] size = [256, 512, 512];
        string? run = null;
        var budgetMb = new SsbTomo.Hosting.SsbTomoOptions().MemoryBudgetMb;
        for (var i = 0; i < args.Length; i++)
            if (args[i] == "--size" && i + 1 < args.Length)
                size = [.. args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
            else if (args[i] == "--run" && i + 1 < args.Length)
                run = args[++i];
            else if (args[i] == "--memory-budget-mb" && i + 1 < args.Length)
                budgetMb = int.Parse(args[++i], CultureInfo.InvariantCulture);
        if (budgetMb > 0) ProcessMemory.LimitTo(budgetMb);
        var windowBudgetBytes = budgetMb > 0 ? (long)budgetMb * 1024 * 1024 / 4 : 512L << 20;
        using var dir = new TempDirectory("ssbtomo-recon-bench");
        var store = new FileSystemBlobStore(dir.Path);
        var layout = new JobLayout("");
        if (run is not null)
        {
            foreach (var image in new[] { layout.Raw, layout.Aligned, layout.Labels })
                CopyLevel0(Path.Combine(run, image), Path.Combine(dir.Path, image));
            size = [.. (await OmeZarr.OpenLevelAsync<byte>(store, layout.Labels, 0)).Shape];
        }
        else
        {
            int[] chunks = [16, Math.Min(512, size[1]), Math.Min(512, size[2])];
            var voxel = new VoxelSize(10, 10, 20);
            var raw = await OmeZarr.CreateImageAsync<ushort>(store, layout.Raw, "raw", size, chunks, voxel);
            var aligned = await OmeZarr.CreateImageAsync<ushort>(store, layout.Aligned, "aligned", size, chunks, voxel);
            var labels = await OmeZarr.CreateImageAsync<byte>(store, layout.Labels, JobLayout.LabelsName, size, chunks, voxel);
            for (var z0 = 0; z0 < size[0]; z0 += chunks[0])
            {
                var depth = Math.Min(chunks[0], size[0] - z0);
                var (grey, phases) = Slab(z0, depth, size[1], size[2]);
                await raw.WriteRegionAsync(z0, 0, 0, grey);
                await aligned.WriteRegionAsync(z0, 0, 0, grey);
                await labels.WriteRegionAsync(z0, 0, 0, phases);
            }
        }
        GC.Collect();
        var before = Process.GetCurrentProcess().PeakWorkingSet64;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var times = new ReconstructionTimes();
        var (levels, _) = await JobReconstruction.RunAsync(store, layout, windowBudgetBytes, times: times);
        clock.Stop();
        using var process = Process.GetCurrentProcess();
        var stageCpu = process.TotalProcessorTime - cpuBefore;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"reconstruction of {string.Join('x', size)} (raw, aligned uint16 + labels uint8; {levels} levels each; 3 previews; 4 meshes, 3 views): "
            + $"{clock.Elapsed.TotalSeconds:0.00} s on {Environment.ProcessorCount} cores ({stageCpu.TotalSeconds:0.0} s CPU: the wall time on idle cores is about CPU / cores), peak working set {process.PeakWorkingSet64 >> 20} MiB "
            + $"(before the stage: {before >> 20} MiB; memory budget {(budgetMb > 0 ? $"{budgetMb} MiB" : "none")}, windows {windowBudgetBytes >> 20} MiB)");
        Console.WriteLine(line);
        var s = times.Surfaces;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  parts (wall / CPU): pyramids + metadata {times.Pyramids}, slice previews {times.Previews}, "
            + $"meshes {times.Meshes} (smoothed field {s.Field}, marching cubes + contacts {s.MarchingCubes}, "
            + $"decimation {s.Decimation}, Taubin {s.Smoothing}, the rest reading windows), "
            + $"glb + stl files {times.MeshFiles}, 3D views {times.Views}") + "; meshed at levels "
            + string.Join(", ", Enumerable.Range(1, PhaseLabel.Count - 1).Select(label => $"{PhaseLabel.Name((byte)label)} {times.MeshLevels[label]}")));

        // What the stage wrote, hashed per directory (with the mesh files as their own group): two versions of the code
        // that print the same digests wrote the same bytes.
        foreach (var (group, digest) in OutputDigests(dir.Path))
            Console.WriteLine($"  output {group}: sha256 {digest}");

        var meshCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var meshClock = Stopwatch.StartNew();
        await JobReconstruction.WriteSurfacesAsync(store, layout, windowBudgetBytes);
        meshClock.Stop();
        var meshCpu = Process.GetCurrentProcess().TotalProcessorTime - meshCpuBefore;
        var triangles = new List<string>();
        foreach (var phase in PhaseLabel.Names)
        {
            var stl = await File.ReadAllBytesAsync(Path.Combine(dir.Path, layout.Mesh(phase, "stl")));
            triangles.Add($"{phase} {BitConverter.ToUInt32(stl, 80)}");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"of which meshes + 3D views (run again alone): {meshClock.Elapsed.TotalSeconds:0.00} s ({meshCpu.TotalSeconds:0.0} s CPU); triangles {string.Join(", ", triangles)}; "
            + $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
        return 0;
    }

    /// <summary>An image's metadata and full-resolution array (the pyramid's coarser levels are what the stage writes).</summary>
    private static void CopyLevel0(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            var first = relative.Split(Path.DirectorySeparatorChar)[0];
            if (int.TryParse(first, CultureInfo.InvariantCulture, out var level) && level > 0 || first == "labels") continue;
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static IEnumerable<(string Group, string Digest)> OutputDigests(string root)
    {
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal);
        foreach (var group in files.GroupBy(f => f.EndsWith(".glb", StringComparison.Ordinal) || f.EndsWith(".stl", StringComparison.Ordinal)
            ? "meshes" : Path.GetDirectoryName(f)!.Replace('\\', '/')))
        {
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            foreach (var file in group)
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(file));
                hash.AppendData(File.ReadAllBytes(Path.Combine(root, file)));
            }
            yield return ($"{group.Key} ({group.Count()} files)", Convert.ToHexString(hash.GetHashAndReset())[..16]);
        }
    }

    /// <summary>Spheres of the four phases on a lattice, grey levels by phase plus a ripple: cheap, deterministic, every phase present.</summary>
    private static (Volume<ushort> Grey, Volume<byte> Labels) Slab(int z0, int depth, int height, int width)
    {
        var grey = new Volume<ushort>(depth, height, width);
        var labels = new Volume<byte>(depth, height, width);
        Parallel.For(0, depth, dz =>
        {
            var z = z0 + dz;
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    int cz = z % 40 - 20, cy = y % 40 - 20, cx = x % 40 - 20;
                    var r2 = cz * cz + cy * cy + cx * cx;
                    var cell = (z / 40 + y / 40 + x / 40) % 3;
                    var label = (byte)(r2 < 225 ? 1 + cell : r2 > 380 && (x + y) % 7 == 0 ? 4 : 2);
                    labels[dz, y, x] = label;
                    grey[dz, y, x] = (ushort)(label * 12000 + (x * 31 + y * 17 + z * 7) % 900);
                }
        });
        return (grey, labels);
    }
}
