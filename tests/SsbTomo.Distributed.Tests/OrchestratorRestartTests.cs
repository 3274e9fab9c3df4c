using SsbTomo.Distributed.Tests.Infrastructure;

namespace SsbTomo.Distributed.Tests;

/// <summary>
/// The Orchestrator SIGKILLed in the middle of the fan-out and started again on the same SQLite job store: events
/// that arrived meanwhile wait in its queue, the new process loads each job's state and the job resumes.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class OrchestratorRestartTests(SmallStackReference reference, ITestOutputHelper output)
{
    [Fact]
    public async Task A_job_completes_after_the_orchestrator_is_killed_mid_fan_out()
    {
        await using var cluster = await Cluster.StartAsync(nameof(OrchestratorRestartTests), segmentationWorkers: 1,
            SmallStackReference.ChunkSlices, output);

        var jobId = await cluster.SubmitAsync(reference.Run.StackDir);
        var atKill = await cluster.WaitForAsync(jobId,
            j => j.State is "Denoising" or "Segmenting" && j.ChunksDone >= 1 && j.ChunksDone < j.ChunksTotal, TimeSpan.FromMinutes(3));
        cluster.Log($"killing the orchestrator at {atKill.State} {atKill.ChunksDone}/{atKill.ChunksTotal}");
        await cluster.RestartOrchestratorAsync(TimeSpan.FromSeconds(3));

        var done = await cluster.WaitCompletedAsync(jobId, TimeSpan.FromMinutes(3));

        Assert.Equal(SmallStackReference.ExpectedChunks, done.ChunksTotal);
        Assert.Equal(done.ChunksTotal, done.ChunksDone);
        Same.Blobs(reference.Run.Files(ReferenceRun.Labels), await cluster.DownloadAsync(jobId, ReferenceRun.Labels), "labels.zarr");
        Same.Json(reference.Run.ReadFile("metrics.json"), await cluster.ReadJobBlobAsync(jobId, "metrics.json"), "metrics.json");
        await cluster.AssertNoFaultedMessagesAsync();
    }
}
