using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>
/// A finished job stays as it finished: a failure or a duplicate that arrives late (a redelivered command's fault, a
/// slow worker's StageFailed, a redelivered event of an earlier stage) never turns a completed job into a failed one.
/// The failure events are shown to fail a running job, so their quiet arrival at a completed one is the saga's doing.
/// </summary>
public class FinishedJobTests
{
    private const int Slices = 32;
    private const int ChunkSlices = 16;

    public static TheoryData<string> FailureEvents => ["StageFailed", "Fault<IngestStack>", "Fault<SegmentChunk>", "Fault<MeasureVolume>"];

    public static TheoryData<string> LateEvents =>
    [
        "StageFailed", "Fault<IngestStack>", "Fault<SegmentChunk>", "Fault<MeasureVolume>",
        "SubmitJob", "StackIngested", "StackAligned", "ChunkPrepared", "ChunkSurveyed", "ChunkSegmented", "VolumeReconstructed", "VolumeMeasured",
    ];

    [Theory]
    [MemberData(nameof(LateEvents))]
    public async Task A_late_event_leaves_a_completed_job_completed(string lateEvent)
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToCompletedAsync();

        await job.PublishAndWaitUntilConsumedAsync(lateEvent);

        var stored = (await job.Provider.GetRequiredService<IJobStateStore>().LoadAsync(job.Id))!.State;
        Assert.Equal(JobStates.Completed, stored.CurrentState);
        Assert.Null(stored.FailedStage);
        Assert.Null(stored.FailureReason);
        Assert.Empty(job.Harness.Published.Select<JobFailed>());
        Assert.Single(job.Harness.Published.Select<JobCompleted>());
        Assert.DoesNotContain(job.Harness.Published.Select<JobProgressed>(), p => p.Context.Message.State == JobStates.Failed);
    }

    [Theory]
    [MemberData(nameof(FailureEvents))]
    public async Task The_same_failure_fails_a_running_job(string failureEvent)
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToSegmentingAsync();

        await job.PublishAndWaitUntilConsumedAsync(failureEvent);

        var stored = (await job.Provider.GetRequiredService<IJobStateStore>().LoadAsync(job.Id))!.State;
        Assert.Equal(JobStates.Failed, stored.CurrentState);
        Assert.NotNull(stored.FailureReason);
        Assert.True(await Eventually.TrueAsync(() => job.Harness.Published.Select<JobFailed>().Any()));
    }

    [Fact]
    public async Task A_late_failure_after_a_failure_keeps_the_first_reason()
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToSegmentingAsync();
        await job.Harness.Bus.Publish(new StageFailed(job.Id, "segmentation", "slices 0–15: first reason"));
        Assert.NotNull(await job.Saga.Exists(job.Id, m => m.Failed));

        await job.PublishAndWaitUntilConsumedAsync("Fault<MeasureVolume>");
        await job.PublishAndWaitUntilConsumedAsync("VolumeMeasured");

        var stored = (await job.Provider.GetRequiredService<IJobStateStore>().LoadAsync(job.Id))!.State;
        Assert.Equal(JobStates.Failed, stored.CurrentState);
        Assert.Equal("slices 0–15: first reason", stored.FailureReason);
        Assert.Empty(job.Harness.Published.Select<JobCompleted>());
    }

    [Fact]
    public void The_saga_states_are_the_published_state_names()
    {
        var names = new JobStateMachine().States.Select(s => s.Name).Except(["Initial", "Final"]);
        Assert.Equal(JobStates.InOrder.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
    }

    private sealed class JobRun : IAsyncDisposable
    {
        private JobRun(ServiceProvider provider, ITestHarness harness)
        {
            Provider = provider;
            Harness = harness;
            Saga = harness.GetSagaStateMachineHarness<JobStateMachine, JobState>();
        }

        public Guid Id { get; } = NewId.NextGuid();
        public ServiceProvider Provider { get; }
        public ITestHarness Harness { get; }
        public ISagaStateMachineTestHarness<JobStateMachine, JobState> Saga { get; }

        public static async Task<JobRun> StartAsync()
        {
            var provider = new ServiceCollection()
                .AddMassTransitTestHarness(bus => bus.AddOrchestrator())
                .BuildServiceProvider(true);
            var harness = provider.GetRequiredService<ITestHarness>();
            await harness.Start();
            return new JobRun(provider, harness);
        }

        public ValueTask DisposeAsync() => Provider.DisposeAsync();

        // Each event is published once the previous one has moved the job on, as the stages would.
        public async Task DriveToSegmentingAsync()
        {
            await Harness.Bus.Publish(new SubmitJob(Id, "/share/stack", "jobs/x", null, ChunkSlices));
            Assert.NotNull(await Saga.Exists(Id, m => m.Ingesting));
            await Harness.Bus.Publish(Ingested());
            Assert.NotNull(await Saga.Exists(Id, m => m.Aligning));
            await Harness.Bus.Publish(Aligned());
            Assert.NotNull(await Saga.Exists(Id, m => m.Denoising));
            for (var i = 0; i < ChunkPlan.Count(Slices, ChunkSlices); i++)
                await Harness.Bus.Publish(Prepared(i));
            Assert.NotNull(await Saga.Exists(Id, m => m.Surveying));
            for (var i = 0; i < ChunkPlan.Count(Slices, ChunkSlices); i++)
                await Harness.Bus.Publish(Surveyed(i));
            Assert.NotNull(await Saga.Exists(Id, m => m.Segmenting));
        }

        public async Task DriveToCompletedAsync()
        {
            await DriveToSegmentingAsync();
            for (var i = 0; i < ChunkPlan.Count(Slices, ChunkSlices); i++)
                await Harness.Bus.Publish(new ChunkSegmented(Id, i));
            Assert.NotNull(await Saga.Exists(Id, m => m.Reconstructing));
            await Harness.Bus.Publish(new VolumeReconstructed(Id, 1));
            Assert.NotNull(await Saga.Exists(Id, m => m.Measuring));
            await Harness.Bus.Publish(new VolumeMeasured(Id, "jobs/x/metrics.json"));
            Assert.NotNull(await Saga.Exists(Id, m => m.Completed));
            Assert.True(await Eventually.TrueAsync(() => Harness.Published.Select<JobCompleted>().Any()));
        }

        public Task PublishAndWaitUntilConsumedAsync(string eventName) => eventName switch
        {
            "StageFailed" => PublishAndWaitAsync(new StageFailed(Id, "segmentation", "slices 16–31: a worker gave up late")),
            "Fault<IngestStack>" => PublishFaultAndWaitAsync(new IngestStack(Id, "/share/stack", "jobs/x", null, 8)),
            "Fault<SegmentChunk>" => PublishFaultAndWaitAsync(new SegmentChunk(Id, "jobs/x", 1, 16, 32, [1, 2, 3], [0, 1, 2, 3])),
            "Fault<MeasureVolume>" => PublishFaultAndWaitAsync(new MeasureVolume(Id, "jobs/x")),
            "SubmitJob" => PublishAndWaitAsync(new SubmitJob(Id, "/share/stack", "jobs/x", null, ChunkSlices)),
            "StackIngested" => PublishAndWaitAsync(Ingested()),
            "StackAligned" => PublishAndWaitAsync(Aligned()),
            "ChunkPrepared" => PublishAndWaitAsync(Prepared(1)),
            "ChunkSurveyed" => PublishAndWaitAsync(Surveyed(1)),
            "ChunkSegmented" => PublishAndWaitAsync(new ChunkSegmented(Id, 1)),
            "VolumeReconstructed" => PublishAndWaitAsync(new VolumeReconstructed(Id, 1)),
            "VolumeMeasured" => PublishAndWaitAsync(new VolumeMeasured(Id, "jobs/x/metrics.json")),
            _ => throw new ArgumentOutOfRangeException(nameof(eventName), eventName, null),
        };

        /// <summary>Returns once the saga has handled the message; the harness has no outbox, so what it published is recorded by then.</summary>
        private async Task PublishAndWaitAsync<T>(T message) where T : class
        {
            var before = Saga.Consumed.Select<T>().Count();
            await Harness.Bus.Publish(message);
            Assert.True(await Eventually.TrueAsync(() => Saga.Consumed.Select<T>().Count() > before), $"the saga never consumed the {typeof(T).Name}");
        }

        /// <summary>What MassTransit publishes when a command still throws after its retries.</summary>
        private async Task PublishFaultAndWaitAsync<T>(T command) where T : class
        {
            var before = Saga.Consumed.Select<Fault<T>>().Count();
            await Harness.Bus.Publish<Fault<T>>(new
            {
                FaultId = NewId.NextGuid(),
                FaultedMessageId = NewId.NextGuid(),
                Timestamp = DateTime.UtcNow,
                Exceptions = new[] { new { ExceptionType = "System.IO.IOException", Message = "connection reset", StackTrace = "at Store.WriteAsync", Source = "SsbTomo" } },
                FaultMessageTypes = new[] { MessageUrn.ForTypeString<T>() },
                Message = command,
            });
            Assert.True(await Eventually.TrueAsync(() => Saga.Consumed.Select<Fault<T>>().Count() > before), $"the saga never consumed the Fault<{typeof(T).Name}>");
        }

        private StackIngested Ingested() => new(Id, "jobs/x/raw.zarr", Slices, 64, 64, 8, new VoxelSizeNm(50, 50, 50));

        private StackAligned Aligned() => new(Id, "jobs/x/aligned.zarr", Slices, 60, 60, [0, 60, 0, 60], 2.0);

        private ChunkSurveyed Surveyed(int chunk) => new(Id, chunk, new long[1024], new long[1024]);

        private ChunkPrepared Prepared(int chunk)
        {
            var histogram = new long[1024];
            histogram[200] = 100; histogram[400] = 300; histogram[600] = 500; histogram[800] = 200;
            return new ChunkPrepared(Id, chunk, histogram, 0, 65536);
        }
    }
}
