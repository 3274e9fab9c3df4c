using System.Globalization;
using System.Text.Json;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// How well the stack's noise as a share of its void-to-electrolyte contrast is read from the aligned stack alone
/// (<see cref="NoiseLevel"/>: the residual against the four in-plane neighbours; the contrast from the grey-level fit of
/// the aligned histogram and of the run's denoised one), against the phantom's drawn noise and greys, and which denoising
/// σ each would pick. Usage: `-- noise-level KEEP_DIR [KEEP_DIR ...]` (each as `-- sweep --keep` leaves it); `-- noise-level
/// --time`: what the count costs the alignment's shift pass per voxel (a 16x1536x2048 slab of noise, best of 5).
/// </summary>
internal static class NoiseLevelStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args is ["--time", ..]) return Time();
        Console.WriteLine("member            drawn r   r (aligned fit)   r (denoised fit)   σ noise   σ picked (drawn r / aligned fit)");
        foreach (var keep in args)
            foreach (var member in Directory.GetDirectories(keep).Order(StringComparer.Ordinal))
            {
                var (phantom, run) = (Path.Combine(member, "phantom"), Path.Combine(member, "run"));
                if (!File.Exists(Path.Combine(run, "metrics.json"))) continue;
                var aligned = await OmeZarr.OpenLevelAsync<ushort>(new FileSystemBlobStore(run), "aligned.zarr", 0);
                var residuals = new long[NoiseLevel.Bins];
                var greys = new long[1024];
                for (var z0 = 0; z0 < aligned.Shape[0]; z0 += 16)
                {
                    var slab = await aligned.ReadRegionAsync(z0, Math.Min(aligned.Shape[0], z0 + 16), 0, aligned.Shape[1], 0, aligned.Shape[2]);
                    NoiseLevel.AddResiduals(slab, residuals);
                    var h = Histogram.Compute(slab, 1024, 0, 65536);
                    for (var b = 0; b < h.Length; b++) greys[b] += h[b];
                }
                var noise = NoiseLevel.Sigma(residuals);
                var alignedFit = PhaseThresholds.FromHistogram(greys, 4, 0, 65536);
                var denoised = await OmeZarr.OpenLevelAsync<ushort>(new FileSystemBlobStore(run), "denoised.zarr", 0);
                var dh = new long[1024];
                for (var z0 = 0; z0 < denoised.Shape[0]; z0 += 16)
                {
                    var slab = await denoised.ReadRegionAsync(z0, Math.Min(denoised.Shape[0], z0 + 16), 0, denoised.Shape[1], 0, denoised.Shape[2]);
                    var h = Histogram.Compute(slab, 1024, 0, 65536);
                    for (var b = 0; b < h.Length; b++) dh[b] += h[b];
                }
                var denoisedFit = PhaseThresholds.FromHistogram(dh, 4, 0, 65536);
                using var truth = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(phantom, "truth.json")));
                var a = truth.RootElement.GetProperty("phantom_parameters").GetProperty("appearance");
                double A(string n) => a.GetProperty(n).GetDouble();
                var drawn = Math.Sqrt(A("noise_variance") + A("noise_signal_variance") * A("lps_grey")) / (A("lps_grey") - A("void_grey"));
                var rAligned = noise / (alignedFit.ClassMeans[2] - alignedFit.ClassMeans[0]);
                var rDenoised = noise / (denoisedFit.ClassMeans[2] - denoisedFit.ClassMeans[0]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{Path.GetFileName(member),-16} {drawn,8:0.000} {rAligned,17:0.000} {rDenoised,18:0.000} {noise,9:0} {NoiseLevel.DenoiseSigmaFor(drawn, 1),10:0.0} / {NoiseLevel.DenoiseSigmaFor(noise, alignedFit.ClassMeans[2] - alignedFit.ClassMeans[0]):0.0}"));
            }
        return 0;
    }

    private static int Time()
    {
        var random = new Random(1);
        var slab = new SsbTomo.Imaging.Volume<ushort>(16, 1536, 2048);
        for (long i = 0; i < slab.Data.LongLength; i++) slab.Data[i] = (ushort)(20000 + random.Next(4000));
        double Best(Action run)
        {
            var best = double.MaxValue;
            for (var r = 0; r < 5; r++)
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                run();
                best = Math.Min(best, watch.Elapsed.TotalSeconds);
            }
            return best * 1e9 / slab.Data.LongLength;
        }
        var residuals = Best(() => NoiseLevel.AddResiduals(slab, new long[NoiseLevel.Bins], maxThreads: 1));
        var residualsAll = Best(() => NoiseLevel.AddResiduals(slab, new long[NoiseLevel.Bins]));
        var greys = Best(() => Histogram.Compute(slab, 1024, 0, 65536));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"noise residuals {residuals:0.00} ns per voxel on one thread, {residualsAll:0.00} wall on every core; grey histogram {greys:0.00} ns per voxel"));
        return 0;
    }
}
