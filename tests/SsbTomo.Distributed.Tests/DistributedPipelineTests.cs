using SsbTomo.Distributed.Tests.Infrastructure;

namespace SsbTomo.Distributed.Tests;

/// <summary>
/// Six service processes plus a second segmentation worker over RabbitMQ and Azurite reproduce the embedded
/// run of the same stack byte for byte.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class DistributedPipelineTests(SmallStackReference reference, ITestOutputHelper output)
{
    [Fact]
    public async Task Two_segmentation_workers_produce_the_embedded_labels_and_metrics()
    {
        await using var cluster = await Cluster.StartAsync(nameof(DistributedPipelineTests), segmentationWorkers: 2,
            SmallStackReference.ChunkSlices, output);

        var jobId = await cluster.SubmitAsync(reference.Run.StackDir);
        var done = await cluster.WaitCompletedAsync(jobId, TimeSpan.FromMinutes(3));

        Assert.Equal(SmallStackReference.ExpectedChunks, done.ChunksTotal);
        Assert.Equal(done.ChunksTotal, done.ChunksDone);
        var labels = await cluster.DownloadAsync(jobId, ReferenceRun.Labels);
        Same.Blobs(reference.Run.Files(ReferenceRun.Labels), labels, "labels.zarr");
        Assert.True(Same.ChunkCount(labels) >= SmallStackReference.ExpectedChunks);
        Same.Json(reference.Run.ReadFile("metrics.json"), await cluster.ReadJobBlobAsync(jobId, "metrics.json"), "metrics.json");
        await cluster.AssertNoFaultedMessagesAsync();

        var dashboard = await cluster.Api.GetStringAsync("/");
        Assert.Contains(jobId.ToString(), dashboard);
        Assert.Contains("Completed", dashboard);
        Same.Json(reference.Run.ReadFile("alignment.json"), await cluster.ReadJobBlobAsync(jobId, "alignment.json"), "alignment.json");
    }
}
