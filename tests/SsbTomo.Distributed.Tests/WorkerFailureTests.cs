using SsbTomo.Contracts;
using SsbTomo.Distributed.Tests.Infrastructure;

namespace SsbTomo.Distributed.Tests;

/// <summary>
/// A segmentation worker SIGKILLed in the middle of the fan-out: its unacknowledged chunks go back to the queue,
/// the other worker takes them, and the job ends exactly as the embedded run does.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class WorkerFailureTests(SmallStackReference reference, ITestOutputHelper output)
{
    [Fact]
    public async Task A_segmentation_worker_killed_mid_fan_out_loses_no_chunk_and_counts_none_twice()
    {
        await using var cluster = await Cluster.StartAsync(nameof(WorkerFailureTests), segmentationWorkers: 2,
            SmallStackReference.ChunkSlices, output);
        var victim = cluster.SegmentationWorkers[0];

        var jobId = await cluster.SubmitAsync(reference.Run.StackDir);
        var atKill = await cluster.WaitForAsync(jobId,
            j => j.State is "Denoising" or "Segmenting" && j.ChunksDone >= 1 && j.ChunksDone < j.ChunksTotal, TimeSpan.FromMinutes(3));
        victim.Kill();
        cluster.Log($"SIGKILLed {victim.Name} (pid {victim.Pid}) at {atKill.State} {atKill.ChunksDone}/{atKill.ChunksTotal}");

        var seen = new List<JobProgressed>();
        var done = await cluster.WaitCompletedAsync(jobId, TimeSpan.FromMinutes(3), seen.Add);

        Assert.True(victim.HasExited);
        Assert.Equal(SmallStackReference.ExpectedChunks, done.ChunksTotal);
        Assert.Equal(done.ChunksTotal, done.ChunksDone);
        Assert.All(seen, j => Assert.InRange(j.ChunksDone, 0, j.ChunksTotal));
        Same.Blobs(reference.Run.Files(ReferenceRun.Labels), await cluster.DownloadAsync(jobId, ReferenceRun.Labels), "labels.zarr");
        Same.Json(reference.Run.ReadFile("metrics.json"), await cluster.ReadJobBlobAsync(jobId, "metrics.json"), "metrics.json");
        await cluster.AssertNoFaultedMessagesAsync();
    }
}
