using System.Diagnostics;
using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// What reading a stage's windows costs alone, without the stage's work on them: a finished run's denoised.zarr in windows
/// shaped like the segmentation's (its 160-slice commands and floats widened from the decoded chunks in tiles that may cut
/// chunks; the halo of 20 slices and 10 pixels and 20 bytes a voxel are round figures near the stage's, which depend on the
/// job's fibre σ) and its labels in the metrics' windows (their halo of 10, the whole stack, both plans), each pass timed
/// (process CPU and wall) with the checksum of what it read, so two builds of the window reader can be compared. On the
/// 1-Gvoxel run (2026-12-06): segmentation 11.6-19.0 CPU-s with one window ahead, 16.3-23.4 with 2 or 8 (its chunks are
/// zstd's fast mode, so a decode is little more than a copy, and cropping the kept parts costs more than it saves);
/// the metrics' labels 14.4-18.3 → 4.1-7.5 CPU-s with eight windows ahead and a byte per voxel for each in the budget
/// (decoding 15 GB → ~3.5 GB; the smaller windows read 1308 Mvoxel instead of 1235).
/// Usage: dotnet SsbTomo.Benchmarks.dll window-read RUN_DIR [--repeats 2]
/// </summary>
internal static class WindowReadStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        var run = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? throw new ArgumentException("usage: window-read RUN_DIR [--repeats 2]");
        var repeats = args.SkipWhile(a => a != "--repeats").Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(2);
        var store = new FileSystemBlobStore(run);
        var layout = new JobLayout("");
        var budget = new SsbTomo.Hosting.SsbTomoOptions().WindowBudgetBytes;
        var denoised = await StageVolume<ushort>.OpenAsync(store, layout.Denoised);
        var labels = await StageVolume<byte>.OpenAsync(store, layout.Labels);
        for (var r = 0; r < repeats; r++)
        {
            await TimeAsync("segmentation windows (denoised, floats)", async () =>
            {
                double sum = 0;
                for (var z0 = 0; z0 < denoised.Depth; z0 += 160)
                    await foreach (var w in denoised.WindowsAsync<float>(z0, Math.Min(denoised.Depth, z0 + 160), 10, budget, 20, VolumeConversions.Widen,
                        zHalo: 20, tilesMayShareChunks: true))
                        sum += w.Data.Data[w.Data.Length / 2];
                return sum;
            });
            // The stage's own 40 bytes a voxel; WindowsAsync adds a byte per window read ahead.
            foreach (var (bytesPerVoxel, readAhead) in new[] { (40, 1), (40, 8) })
                await TimeAsync($"metrics windows (labels), {bytesPerVoxel} + {readAhead} B/voxel, {readAhead} ahead", async () =>
                {
                    double sum = 0;
                    long voxels = 0;
                    await foreach (var w in labels.WindowsAsync(0, labels.Depth, 10, budget, bytesPerVoxel, tilesMayShareChunks: true, readAheadWindows: readAhead))
                        (sum, voxels) = (sum + w.Data.Data[w.Data.Length / 2], voxels + w.Data.Length);
                    Console.Write($"  [{voxels / 1e6:0.0} Mvoxel read]");
                    return sum;
                });
        }
        return 0;
    }

    private static async Task TimeAsync(string name, Func<Task<double>> pass)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var checksum = await pass();
        clock.Stop();
        process.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-42} {clock.Elapsed.TotalSeconds,7:0.00} s wall {(process.TotalProcessorTime - cpu0).TotalSeconds,7:0.00} s CPU  checksum {checksum}"));
    }
}
