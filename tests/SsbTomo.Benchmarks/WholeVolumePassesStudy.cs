using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The metrics stage's two passes that hold their whole volume at once, on a finished run's labels at the default budget's
/// boxes (<c>MeasureVolumeConsumer</c>: the tortuosity's six solves on 80 % of a window's quarter, the particle split and
/// its view on 80 % of half the budget): one after the other, then side by side, alternated, wall and process CPU time.
/// Usage: dotnet SsbTomo.Benchmarks.dll whole-volume-passes RUN_DIR [--repeats 2]
/// </summary>
internal static class WholeVolumePassesStudy
{
    private const long BudgetBytes = 2048L << 20;
    private const long ParticleBytesPerVoxel = 48;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks whole-volume-passes RUN_DIR [--repeats 2]");
            return 2;
        }
        var repeats = 2;
        for (var i = 1; i < args.Length; i++)
            if (args[i] == "--repeats" && i + 1 < args.Length) repeats = int.Parse(args[++i], CultureInfo.InvariantCulture);
        var labels = await StageVolume<byte>.OpenAsync(new FileSystemBlobStore(args[0]), new JobLayout("").Labels);
        var voxelSize = labels.VoxelSize;
        int[] axes = [0, 1, 2];
        var tortuosityBox = await BoxAsync(labels, (d, h, w) => CathodeTortuosity.BytesNeeded(d, h, w, voxelSize, axes), BudgetBytes / 4);
        var particleBox = await BoxAsync(labels, (d, h, w) => (long)d * h * w * ParticleBytesPerVoxel, BudgetBytes / 2);
        Console.WriteLine($"tortuosity on {tortuosityBox.Depth}x{tortuosityBox.Height}x{tortuosityBox.Width}, particles on {particleBox.Depth}x{particleBox.Height}x{particleBox.Width}");

        IReadOnlyList<PathTortuosity> Tortuosity() => CathodeTortuosity.Measure(tortuosityBox, voxelSize, CathodeTortuosity.Paths, axes);
        int Particles()
        {
            var separated = NmcParticles.Separate(particleBox, voxelSize);
            var particles = NmcParticles.Measure(particleBox, separated, voxelSize);
            var found = SurfaceViews.ParticleSurroundings(particleBox, separated, particles, voxelSize, new SurfaceOptions());
            if (found is { } f) SurfaceViews.RenderParticle(f.ParticleMesh, f.VoidMesh);
            return particles.Count;
        }
        for (var r = 0; r < repeats; r++)
        {
            LargeArrays.CompactHeap();
            var (factors, tortuosityWall, tortuosityCpu) = Measure.Once(Tortuosity);
            // every digit, so that a faster solver can be checked to give the same results
            foreach (var (path, result, _) in factors)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"   {path.Key} along {"zyx"[result.Axis]}: tau {result.Factor:R}, {result.Iterations} iterations, residual {result.RelativeResidual:R}, flux spread {result.FluxSpread:R}"));
            var (_, particlesWall, particlesCpu) = Measure.Once(Particles);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  one after the other {tortuosityWall + particlesWall,7:0.00} s wall {tortuosityCpu + particlesCpu,7:0.00} s CPU"
                + $" (tortuosity {tortuosityWall:0.00} s wall {tortuosityCpu:0.00} s CPU, particles {particlesWall:0.00} s wall {particlesCpu:0.00} s CPU)"));
            LargeArrays.CompactHeap();
            var (_, wall, cpu) = Measure.Once(() =>
            {
                var tortuosity = Task.Run(Tortuosity);
                var particles = Task.Run(Particles);
                return (tortuosity.Result, particles.Result);
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  side by side        {wall,7:0.00} s wall {cpu,7:0.00} s CPU"));
        }
        return 0;
    }

    /// <summary>The whole labels when <paramref name="bytesNeeded"/> of them fit, else the central box the stage takes (80 % of the allowance).</summary>
    internal static async Task<Volume<byte>> BoxAsync(StageVolume<byte> labels, Func<int, int, int, long> bytesNeeded, long allowedBytes)
    {
        if (bytesNeeded(labels.Depth, labels.Height, labels.Width) <= allowedBytes) return await labels.ReadSlicesAsync(0, labels.Depth);
        var box = CentralSubVolume.Largest(labels.Depth, labels.Height, labels.Width, labels.VoxelSize, bytesNeeded, allowedBytes * 80 / 100, 32)
            ?? throw new InvalidOperationException("no box fits");
        return await labels.Level0.ReadRegionAsync(box.Z0, box.Z0 + box.Depth, box.Y0, box.Y0 + box.Height, box.X0, box.X0 + box.Width);
    }
}
