using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>
/// One job on the orchestrator alone (MassTransit's test harness, no workers): the tests play the stages by publishing
/// their events, so a command nobody answers is one the broker lost. A 32-slice stack in two 16-slice chunks.
/// </summary>
internal sealed class JobRun : IAsyncDisposable
{
    public const int Slices = 32;
    public const int ChunkSlices = 16;
    public const string Prefix = "jobs/x";

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

    public static int Chunks => ChunkPlan.Count(Slices, ChunkSlices);

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

    public async Task<JobState> StoredAsync() => (await Provider.GetRequiredService<IJobStateStore>().LoadAsync(Id))!.State;

    /// <summary>
    /// The stored job once <paramref name="condition"/> holds, or as stored after 30 s. The harness counts a message as
    /// consumed before the saga repository has written the state it led to, so a read right after
    /// <see cref="PublishAndWaitAsync{T}"/> can still see the state before (seen on a loaded machine: "Segmenting" where the
    /// failure had moved the job to "Failed").
    /// </summary>
    public async Task<JobState> StoredWhenAsync(Func<JobState, bool> condition)
    {
        var giveUpAt = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var stored = await StoredAsync();
            if (condition(stored) || DateTime.UtcNow > giveUpAt) return stored;
            await Task.Delay(10);
        }
    }

    public List<T> Published<T>() where T : class, IJobMessage =>
        Harness.Published.Select<T>().Select(m => m.Context.Message).Where(m => m.JobId == Id).ToList();

    /// <summary>One watchdog scan as of <paramref name="nowUtc"/>; returns once the saga has handled what it sent.</summary>
    public async Task<IReadOnlyList<Guid>> ScanAsync(DateTime nowUtc)
    {
        var before = Saga.Consumed.Select<JobStallDetected>().Count();
        var found = await Provider.GetRequiredService<StallWatchdog>().ScanAsync(nowUtc);
        if (found.Count > 0)
            Assert.True(await Eventually.TrueAsync(() => Saga.Consumed.Select<JobStallDetected>().Count() >= before + found.Count),
                "the saga never consumed the stall finding");
        return found;
    }

    /// <summary>Returns once the saga has handled the message; the harness has no outbox, so what it published is recorded by then.</summary>
    public async Task PublishAndWaitAsync<T>(T message) where T : class
    {
        var before = Saga.Consumed.Select<T>().Count();
        await Harness.Bus.Publish(message);
        Assert.True(await Eventually.TrueAsync(() => Saga.Consumed.Select<T>().Count() > before), $"the saga never consumed the {typeof(T).Name}");
    }

    /// <summary>What MassTransit publishes when a command still throws after its retries; returns once the saga has handled it.</summary>
    public async Task PublishFaultAndWaitAsync<T>(T command) where T : class
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

    // Each event is published once the previous one has moved the job on, as the stages would.
    public async Task DriveToSegmentingAsync()
    {
        await Harness.Bus.Publish(Submit());
        Assert.NotNull(await Saga.Exists(Id, m => m.Ingesting));
        await Harness.Bus.Publish(Ingested());
        Assert.NotNull(await Saga.Exists(Id, m => m.Aligning));
        await Harness.Bus.Publish(Aligned());
        Assert.NotNull(await Saga.Exists(Id, m => m.Denoising));
        for (var i = 0; i < Chunks; i++)
            await Harness.Bus.Publish(Prepared(i));
        Assert.NotNull(await Saga.Exists(Id, m => m.Surveying));
        for (var i = 0; i < Chunks; i++)
            await Harness.Bus.Publish(Surveyed(i));
        Assert.NotNull(await Saga.Exists(Id, m => m.Segmenting));
        Assert.True(await Eventually.TrueAsync(() => Published<SegmentChunk>().Count == Chunks));
    }

    /// <summary>From the last chunk's report to Completed, the two last stages reporting as given.</summary>
    public async Task FinishAsync(VolumeReconstructed? reconstructed = null, VolumeMeasured? measured = null)
    {
        Assert.NotNull(await Saga.Exists(Id, m => m.Reconstructing));
        await Harness.Bus.Publish(reconstructed ?? new VolumeReconstructed(Id, 1));
        Assert.NotNull(await Saga.Exists(Id, m => m.Measuring));
        await Harness.Bus.Publish(measured ?? new VolumeMeasured(Id));
        Assert.NotNull(await Saga.Exists(Id, m => m.Completed));
    }

    public async Task DriveToCompletedAsync(VolumeReconstructed? reconstructed = null, VolumeMeasured? measured = null)
    {
        await DriveToSegmentingAsync();
        for (var i = 0; i < Chunks; i++)
            await Harness.Bus.Publish(new ChunkSegmented(Id, i));
        await FinishAsync(reconstructed, measured);
        Assert.True(await Eventually.TrueAsync(() => Harness.Published.Select<JobCompleted>().Any()));
    }

    public SubmitJob Submit() => new(Id, "/share/stack", Prefix, null, ChunkSlices);

    public StackIngested Ingested() => new(Id, Slices);

    public StackAligned Aligned() => new(Id, Slices, 60, 60);

    public ChunkSurveyed Surveyed(int chunk) => new(Id, chunk, new long[1024], new long[1024]);

    /// <summary>Four well-separated grey-level peaks, so the thresholds fit and the job goes on to surveying.</summary>
    public ChunkPrepared Prepared(int chunk)
    {
        var histogram = new long[1024];
        histogram[200] = 100; histogram[400] = 300; histogram[600] = 500; histogram[800] = 200;
        return new ChunkPrepared(Id, chunk, histogram, 0, 65536);
    }
}
