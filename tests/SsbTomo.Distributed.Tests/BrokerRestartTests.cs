using System.Diagnostics;
using SsbTomo.Distributed.Tests.Infrastructure;
using SsbTomo.Storage;

namespace SsbTomo.Distributed.Tests;

/// <summary>
/// The broker goes away in the middle of a job (rabbitmqctl stop_app) and comes back (start_app) with its
/// durable queues and persistent messages: every service reconnects on its own and the job completes,
/// byte-identical to the embedded run.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class BrokerRestartTests(SmallStackReference reference, ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    /// <summary>Set by the soak script: stop the broker this many milliseconds after the job is submitted.</summary>
    public const string RestartAfterMsVariable = "SSBTOMO_SOAK_RESTART_AFTER_MS";

    [Fact]
    public async Task A_job_completes_after_RabbitMQ_restarts_in_the_middle_of_it()
    {
        await using var cluster = await Cluster.StartAsync(nameof(BrokerRestartTests), segmentationWorkers: 2,
            SmallStackReference.ChunkSlices, output);

        var jobId = await cluster.SubmitAsync(reference.Run.StackDir);
        // The soak (infra/scripts/soak-broker-restart.sh) picks the moment: milliseconds after submission.
        if (int.TryParse(Environment.GetEnvironmentVariable(RestartAfterMsVariable), out var restartAfterMs))
            await Task.Delay(restartAfterMs);
        else
            await cluster.WaitForAsync(jobId, j => j.State is "Denoising" or "Segmenting", TimeSpan.FromMinutes(3));
        await RestartBrokerAndCompleteAsync(cluster, jobId);
    }

    /// <summary>
    /// The moment the soak found (session 7): the broker stops while Ingest is writing raw.zarr, so that Ingest hands its
    /// result over (publish StackIngested, acknowledge IngestStack) on a dying connection. RabbitMQ.Client can then wait
    /// for ever for a publisher confirm, and the service never reconnects; its bus watchdog exits it (code 75) and the
    /// test's supervisor, like Kubernetes, starts it again. Whether the hang happens depends on timing: the test holds
    /// the outcome (completed, identical) either way and logs whether the watchdog had to act.
    /// </summary>
    [Fact]
    public async Task A_job_completes_when_RabbitMQ_stops_while_ingest_hands_its_result_over()
    {
        await using var cluster = await Cluster.StartAsync(nameof(BrokerRestartTests) + "Ingest", segmentationWorkers: 1,
            SmallStackReference.ChunkSlices, output,
            new Dictionary<string, string>
            {
                ["SsbTomo__BusWatchdog__SettleTimeoutSeconds"] = "15",
                // A command lost with a wedged service's connection is sent again by the saga (a redelivered event) or,
                // for a one-step stage, by the stall watchdog: soon enough for the test's no-progress wait. At 45 s the
                // watchdog failed the job at a load average of ~55 while the restarted Ingest was still finishing (its
                // StackIngested arrived after the failure): a restarted service needs tens of seconds on a loaded machine.
                ["SsbTomo__Stall__FloorSeconds"] = "90",
                ["SsbTomo__Stall__ScanSeconds"] = "2",
            });

        var jobId = await cluster.SubmitAsync(reference.Run.StackDir);
        var raw = JobLayout.ForJob(jobId).Raw + "/";
        var clock = Stopwatch.StartNew();
        while (!await cluster.Store.ListAsync(raw).AnyAsync())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"Ingest wrote nothing under {raw} in 2 minutes{Environment.NewLine}{cluster.Diagnostics()}");
            await Task.Delay(5);
        }
        cluster.Log($"ingest began writing raw.zarr {clock.Elapsed.TotalMilliseconds:0} ms after submission");
        await RestartBrokerAndCompleteAsync(cluster, jobId);
        cluster.Log($"the Ingest service was started again {cluster.Service("ingest").Restarts} time(s) by its bus watchdog");
    }

    private async Task RestartBrokerAndCompleteAsync(Cluster cluster, Guid jobId)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await Broker.StopAppAsync();
            cluster.Log($"RabbitMQ stopped (stop_app, {clock.Elapsed.TotalSeconds:0.0} s)");
            try
            {
                var atStop = await cluster.GetJobAsync(jobId);
                cluster.Log($"the job at {atStop}");
                Assert.NotEqual("Completed", atStop?.State);
            }
            catch (HttpRequestException e) when (!cluster.Orchestrator.IsGone)
            {
                // The orchestrator's own bus watchdog may be restarting it: the job cannot have completed meanwhile.
                cluster.Log($"the orchestrator did not answer while the broker was down: {e.Message}");
            }
            await Task.Delay(Outage);
        }
        finally
        {
            await Broker.StartAppAsync();
        }
        cluster.Log($"RabbitMQ back (start_app) after {clock.Elapsed.TotalSeconds:0.0} s");

        // Two stall rounds (re-send, then fail) of the 90 s floor fit in the no-progress wait.
        var done = await cluster.WaitCompletedAsync(jobId, TimeSpan.FromMinutes(4));
        cluster.Log($"job completed {clock.Elapsed.TotalSeconds:0.0} s after the broker went down");

        Assert.Equal(SmallStackReference.ExpectedChunks, done.ChunksTotal);
        Assert.Equal(done.ChunksTotal, done.ChunksDone);
        Same.Blobs(reference.Run.Files(ReferenceRun.Labels), await cluster.DownloadAsync(jobId, ReferenceRun.Labels), "labels.zarr");
        Same.Json(reference.Run.ReadFile("metrics.json"), await cluster.ReadJobBlobAsync(jobId, "metrics.json"), "metrics.json");
        await cluster.AssertNoFaultedMessagesAsync();
    }
}
