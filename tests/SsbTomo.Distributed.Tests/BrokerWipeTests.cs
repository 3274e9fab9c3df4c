using System.Net.Http.Json;
using System.Text.Json;
using RabbitMQ.Client;
using SsbTomo.Distributed.Tests.Infrastructure;

namespace SsbTomo.Distributed.Tests;

/// <summary>
/// A broker that loses queued messages (a wiped or rebuilt broker, a purged queue) must not leave a job waiting for
/// good: the segmentation commands still queued are purged in the middle of the segmentation round, so only the
/// Orchestrator's stall detection can bring them back. It re-sends them after the stall timeout (30 s here instead of
/// 10 minutes) and the job completes byte-identical to the embedded run, re-driven.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class BrokerWipeTests(SmallStackReference reference, ITestOutputHelper output)
{
    private const string SegmentQueue = "segment-chunk";

    [Fact]
    public async Task Segment_commands_lost_from_the_broker_are_re_driven_and_the_job_completes()
    {
        await using var cluster = await Cluster.StartAsync(nameof(BrokerWipeTests), segmentationWorkers: 1, SmallStackReference.ChunkSlices, output,
            new Dictionary<string, string> { ["SsbTomo__Stall__FloorSeconds"] = "30", ["SsbTomo__Stall__ScanSeconds"] = "1" });

        var jobId = await cluster.SubmitAsync(reference.Run.StackDir);
        await cluster.WaitForAsync(jobId, j => j.State == "Segmenting", TimeSpan.FromMinutes(3), pollMs: 20);
        // One worker takes two at a time (prefetch): most of the round's twelve commands are still queued.
        var purged = await PurgeAsync(cluster.VirtualHost, SegmentQueue);
        var atPurge = await cluster.GetJobAsync(jobId);
        cluster.Log($"purged {purged} segment commands with the job at {atPurge}");
        Assert.True(purged > 0, $"nothing was queued to purge (job at {atPurge}): the test lost nothing");

        var done = await cluster.WaitCompletedAsync(jobId, TimeSpan.FromMinutes(3));
        Assert.Equal(done.ChunksTotal, done.ChunksDone);
        var view = await cluster.Api.GetFromJsonAsync<JsonElement>($"api/jobs/{jobId}");
        var stall = view.GetProperty("stall");
        Assert.True(stall.GetProperty("redrives").GetInt32() >= 1, $"completed without a re-drive: {view}");
        Assert.Contains("to be segmented", stall.GetProperty("lastRedrive").GetString());
        Same.Blobs(reference.Run.Files(ReferenceRun.Labels), await cluster.DownloadAsync(jobId, ReferenceRun.Labels), "labels.zarr");
        Same.Json(reference.Run.ReadFile("metrics.json"), await cluster.ReadJobBlobAsync(jobId, "metrics.json"), "metrics.json");
        await cluster.AssertNoFaultedMessagesAsync();
    }

    /// <summary>AMQP queue.purge: drops every ready message and says how many; deliveries a consumer holds stay.</summary>
    private static async Task<uint> PurgeAsync(string virtualHost, string queue)
    {
        var factory = new ConnectionFactory
        {
            HostName = Infra.RabbitHost, Port = Infra.RabbitPort, VirtualHost = virtualHost, UserName = Infra.RabbitUser, Password = Infra.RabbitPassword,
        };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return await channel.QueuePurgeAsync(queue);
    }
}
