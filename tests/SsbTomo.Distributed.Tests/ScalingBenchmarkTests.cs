using System.Diagnostics;
using System.Globalization;
using SsbTomo.Contracts;
using SsbTomo.Distributed.Tests.Infrastructure;
using SsbTomo.TestSupport;

namespace SsbTomo.Distributed.Tests;

/// <summary>
/// Throughput of the segmentation fan-out (denoise + segment, the work the segmentation workers share) with one
/// and with two competing segmentation worker processes, on the same 96x256x320 stack. Prints chunks/s and
/// wall time of the segmentation phase for both and their ratio (also to out/distributed-scaling.txt); asserts
/// only that both runs complete and agree byte for byte (speed depends on the machine and its load).
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class ScalingBenchmarkTests(ITestOutputHelper output)
{
    private const int ChunkSlices = 8;

    [Fact]
    public async Task Segmentation_throughput_with_one_and_two_workers()
    {
        using var dir = new TempDirectory("ssbtomo-scaling");
        var stack = await ReferenceRun.WritePhantomAsync(Path.Combine(dir.Path, "phantom"), 96, 256, 320, seed: 5);

        await using var cluster = await Cluster.StartAsync(nameof(ScalingBenchmarkTests), segmentationWorkers: 1, ChunkSlices, output);
        var one = await RunAsync(cluster, stack);
        // The second worker joins after the first run; it starts cold (JIT), which counts against two workers.
        await cluster.AddSegmentationWorkerAsync();
        var two = await RunAsync(cluster, stack);

        foreach (var run in new[] { one, two })
            Assert.True(run.Final.ChunksDone == run.Final.ChunksTotal && run.Final.ChunksTotal == 12, $"{run.Final}");
        Same.Blobs(await cluster.DownloadAsync(one.JobId, ReferenceRun.Labels), await cluster.DownloadAsync(two.JobId, ReferenceRun.Labels), "labels.zarr, 1 vs 2 workers");
        Same.Json(await cluster.ReadJobBlobAsync(one.JobId, "metrics.json"), await cluster.ReadJobBlobAsync(two.JobId, "metrics.json"), "metrics.json, 1 vs 2 workers");
        await cluster.AssertNoFaultedMessagesAsync();

        var report = string.Join(Environment.NewLine,
            $"Distributed segmentation scaling: cycled-50 phantom 96x256x320, {ChunkSlices} slices/chunk, {one.Final.ChunksTotal} chunks, " +
            $"{Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}",
            "workers  denoise s  segment s  seg.phase s  chunks/s  job wall s",
            one.Row(1), two.Row(2),
            string.Create(CultureInfo.InvariantCulture,
                $"speed-up 2 vs 1 worker: {one.PhaseSeconds / two.PhaseSeconds:0.00}x (segmentation phase), {one.JobSeconds / two.JobSeconds:0.00}x (whole job)"));
        output.WriteLine(report);
        var outDir = Path.Combine(Infra.RepoRoot, "out");
        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(Path.Combine(outDir, "distributed-scaling.txt"), report + Environment.NewLine);
    }

    private static async Task<Timing> RunAsync(Cluster cluster, string stack)
    {
        var clock = Stopwatch.StartNew();
        var jobId = await cluster.SubmitAsync(stack);
        TimeSpan? denoising = null, segmenting = null, after = null;
        void Observe(JobProgressed job)
        {
            switch (job.State)
            {
                case "Denoising": denoising ??= clock.Elapsed; break;
                case "Segmenting": segmenting ??= clock.Elapsed; break;
                case "Reconstructing" or "Measuring" or "Completed": after ??= clock.Elapsed; break;
            }
        }
        var final = await cluster.WaitForAsync(jobId, j => j.State == "Completed", TimeSpan.FromMinutes(4), Observe, pollMs: 25);
        Assert.True(denoising is not null && segmenting is not null && after is not null, "did not see every phase of the fan-out");
        return new Timing(jobId, final, (segmenting!.Value - denoising!.Value).TotalSeconds, (after!.Value - segmenting.Value).TotalSeconds,
            clock.Elapsed.TotalSeconds);
    }

    private sealed record Timing(Guid JobId, JobProgressed Final, double DenoiseSeconds, double SegmentSeconds, double JobSeconds)
    {
        public double PhaseSeconds => DenoiseSeconds + SegmentSeconds;

        public string Row(int workers) => string.Create(CultureInfo.InvariantCulture,
            $"{workers,7}  {DenoiseSeconds,9:0.00}  {SegmentSeconds,9:0.00}  {PhaseSeconds,11:0.00}  {Final.ChunksTotal / PhaseSeconds,8:0.00}  {JobSeconds,10:0.0}");
    }
}
