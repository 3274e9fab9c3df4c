using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The metrics stage's particle split on a finished run's labels, part by part (distance transform, h-maxima markers,
/// flood, unreached parts, per-particle measurement, the particle view's meshes and rendering), wall and process CPU time, on the central box the stage splits at
/// the default budget (half of 2048 MiB at 48 bytes a voxel, 80 % of it; <c>MeasureVolumeConsumer</c>), or the whole
/// volume when it fits. The split runs at one core for most of its time, at the end of the stage, so its wall time is the
/// run's. Usage: dotnet SsbTomo.Benchmarks.dll particle-split RUN_DIR [--repeats 2]
/// </summary>
internal static class ParticleSplitStudy
{
    private const long ParticleBytesPerVoxel = 48;
    private const long DefaultBudgetBytes = 2048L << 20;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks particle-split RUN_DIR [--repeats 2]");
            return 2;
        }
        var repeats = 2;
        for (var i = 1; i < args.Length; i++)
            if (args[i] == "--repeats" && i + 1 < args.Length) repeats = int.Parse(args[++i], CultureInfo.InvariantCulture);
        var labels = await StageVolume<byte>.OpenAsync(new FileSystemBlobStore(args[0]), new JobLayout("").Labels);
        var voxelSize = labels.VoxelSize;
        var volume = await WholeVolumePassesStudy.BoxAsync(labels, (d, h, w) => (long)d * h * w * ParticleBytesPerVoxel, DefaultBudgetBytes / 2);
        var nmc = volume.Data.Count(l => l == PhaseLabel.Nmc);
        Console.WriteLine($"box {volume.Depth}x{volume.Height}x{volume.Width} ({volume.Data.Length / 1e6:0.0} Mvoxel, NMC {100.0 * nmc / volume.Data.Length:0.0} %)");
        for (var r = 0; r < repeats; r++)
        {
            var (depth, height, width) = (volume.Depth, volume.Height, volume.Width);
            var squared = Time("distance transform", () => DistanceTransform.SquaredNm2(volume, label => label != PhaseLabel.Nmc, voxelSize));
            var mask = new bool[squared.Length];
            var distance = new float[squared.Length];
            for (var i = 0; i < squared.Length; i++)
            {
                mask[i] = volume.Data[i] == PhaseLabel.Nmc;
                distance[i] = mask[i] ? (float)Math.Sqrt(squared[i]) : 0f;
            }
            var h = (float)(NmcParticles.DefaultHVoxels * Math.Max(voxelSize.XNm, Math.Max(voxelSize.YNm, voxelSize.ZNm)));
            var (markers, count) = Time("h-maxima markers", () => MarkerWatershed.HMaximaMarkers(distance, mask, depth, height, width, h));
            var ids = Time("flood", () => MarkerWatershed.Flood(distance, mask, markers, depth, height, width));
            var total = Time("unreached parts", () => MarkerWatershed.NumberUnreached(ids, mask, depth, height, width, count));
            var separated = new NmcParticleLabels(ids, total);
            var particles = Time("measure", () => NmcParticles.Measure(volume, separated, voxelSize));
            var view = Time("particle view", () =>
            {
                var found = SurfaceViews.ParticleSurroundings(volume, separated, particles, voxelSize, new SurfaceOptions());
                return found is { } f ? SurfaceViews.RenderParticle(f.ParticleMesh, f.VoidMesh) : null;
            });
            // every id's checksum, so that a faster split can be checked to give the same particles
            var checksum = ids.Aggregate(17L, (s, id) => unchecked(s * 31 + id));
            Console.WriteLine($"  {count} markers, {total} particles, {particles.Count} measured, ids checksum {checksum}");
        }
        return 0;
    }

    private static T Time<T>(string name, Func<T> part)
    {
        var (result, wall, cpu) = Measure.Once(part);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-20} {wall,7:0.00} s wall {cpu,7:0.00} s CPU"));
        return result;
    }
}
