using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Persistence;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>The unchanged JobStateMachine over the SQLite job store, through MassTransit's test harness.</summary>
public sealed class PersistentJobStateMachineTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _temp = new("ssbtomo-saga");

    public void Dispose() => _temp.Dispose();

    private string DbPath => Path.Combine(_temp.Path, "jobs.db");

    /// <summary>A whole Orchestrator: configuration selects the SQLite store, as SsbTomo:JobStore=Sqlite would.</summary>
    private async Task<(ServiceProvider Provider, ITestHarness Harness, CountingStore Store)> StartAsync(int readDelayMs = 0)
    {
        var store = new CountingStore(new SqliteJobStateStore(DbPath), readDelayMs);
        var services = new ServiceCollection();
        services.Configure<SsbTomoOptions>(o =>
        {
            o.JobStore = JobStoreKind.Sqlite;
            o.SqlitePath = DbPath;
        });
        services.AddSingleton<IJobStateStore>(store); // the configured SQLite store, wrapped to count conflicts
        services.AddMassTransitTestHarness(bus => bus.AddOrchestrator());
        var provider = services.BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        harness.TestTimeout = TimeSpan.FromSeconds(60);
        await harness.Start();
        return (provider, harness, store);
    }

    private static long[] Histogram()
    {
        var histogram = new long[1024];
        histogram[200] = 100; histogram[400] = 300; histogram[600] = 500; histogram[800] = 200;
        return histogram;
    }

    private static async Task DriveToSegmentingAsync(ITestHarness harness, Guid jobId, int slices, int chunkSlices)
    {
        var saga = harness.GetSagaStateMachineHarness<JobStateMachine, JobState>();
        await harness.Bus.Publish(new SubmitJob(jobId, "/share/stack", "jobs/x", null, chunkSlices));
        Assert.NotNull(await saga.Exists(jobId, m => m.Ingesting));
        await harness.Bus.Publish(new StackIngested(jobId, slices));
        Assert.NotNull(await saga.Exists(jobId, m => m.Aligning));
        await harness.Bus.Publish(new StackAligned(jobId, slices, 60, 60));
        Assert.NotNull(await saga.Exists(jobId, m => m.Denoising));
        var chunks = ChunkPlan.Count(slices, chunkSlices);
        // The fan-in of ChunkPrepared races too: all at once.
        await Task.WhenAll(Enumerable.Range(0, chunks).Select(i => harness.Bus.Publish(new ChunkPrepared(jobId, i, Histogram(), 0, 65536))));
        Assert.NotNull(await saga.Exists(jobId, m => m.Surveying));
        // And that of ChunkSurveyed.
        await Task.WhenAll(Enumerable.Range(0, chunks).Select(i => harness.Bus.Publish(new ChunkSurveyed(jobId, i, new long[1024], new long[1024]))));
        Assert.NotNull(await saga.Exists(jobId, m => m.Segmenting));
    }

    [Fact]
    public async Task A_job_resumes_after_an_orchestrator_restart_and_reconstructs_once()
    {
        var jobId = NewId.NextGuid();
        var (provider, harness, _) = await StartAsync();
        await using (provider)
        {
            await DriveToSegmentingAsync(harness, jobId, slices: 48, chunkSlices: 16);
            await harness.Bus.Publish(new ChunkSegmented(jobId, 0));
            await harness.Bus.Publish(new ChunkSegmented(jobId, 0));
            var saga = harness.GetSagaStateMachineHarness<JobStateMachine, JobState>();
            Assert.NotNull(await saga.Exists(x => x.CorrelationId == jobId && x.SegmentedChunks.Count == 1, m => m.Segmenting));
            Assert.True(await Eventually.TrueAsync(() => saga.Consumed.Select<ChunkSegmented>().Count() >= 2)); // both copies handled
            Assert.False(harness.Published.Select<ReconstructVolume>().Any());
            await harness.Stop();
        } // the whole Orchestrator (bus, container, store) is gone

        var (provider2, harness2, store2) = await StartAsync();
        await using (provider2)
        {
            var saga = harness2.GetSagaStateMachineHarness<JobStateMachine, JobState>();
            Assert.NotNull(await saga.Exists(jobId, m => m.Segmenting));
            var resumed = (await store2.LoadAsync(jobId))!.State;
            Assert.Equal([0], resumed.SegmentedChunks);
            Assert.Equal(3, resumed.ChunksTotal);
            Assert.Equal(3, resumed.Thresholds!.Length);

            // A redelivery of chunk 0 from before the restart, then chunk 1: not done yet.
            await harness2.Bus.Publish(new ChunkSegmented(jobId, 0));
            await harness2.Bus.Publish(new ChunkSegmented(jobId, 1));
            Assert.NotNull(await saga.Exists(x => x.CorrelationId == jobId && x.SegmentedChunks.Count == 2, m => m.Segmenting));
            Assert.False(harness2.Published.Select<ReconstructVolume>().Any(), "a duplicate across the restart must not count twice");

            await harness2.Bus.Publish(new ChunkSegmented(jobId, 2));
            await harness2.Bus.Publish(new ChunkSegmented(jobId, 2));
            Assert.NotNull(await saga.Exists(jobId, m => m.Reconstructing));
            Assert.True(await Eventually.TrueAsync(() => harness2.Published.Select<ReconstructVolume>().Any()));
            Assert.True(await Eventually.TrueAsync(() => saga.Consumed.Select<ChunkSegmented>().Count() >= 4)); // the late copy of chunk 2 too
            await harness2.InactivityTask;
            Assert.Single(harness2.Published.Select<ReconstructVolume>());
            var final = (await store2.LoadAsync(jobId))!.State;
            Assert.Equal(nameof(JobStateMachine.Reconstructing), final.CurrentState);
            Assert.Equal([0, 1, 2], final.SegmentedChunks.Order());
        }
    }

    [Fact]
    public async Task Thirty_two_concurrent_chunk_events_for_one_job_are_all_counted()
    {
        // MassTransit's in-memory queue hands one message at a time to an endpoint, so the race comes from two
        // Orchestrator replicas on one SQLite file (as two pods competing on one queue would), each given half the
        // events at once; the store wrapper's small read delay widens every read-modify-write window.
        const int chunks = 32;
        var jobId = NewId.NextGuid();
        var (providerA, harnessA, storeA) = await StartAsync(readDelayMs: 2);
        await using var _ = providerA;
        await DriveToSegmentingAsync(harnessA, jobId, slices: chunks * 2, chunkSlices: 2);
        Assert.True(await Eventually.TrueAsync(() => harnessA.Published.Select<SegmentChunk>().Count() == chunks));
        var (providerB, harnessB, storeB) = await StartAsync(readDelayMs: 2);
        await using var __ = providerB;

        await Task.WhenAll(Enumerable.Range(0, chunks).Select(i =>
            (i % 2 == 0 ? harnessA : harnessB).Bus.Publish(new ChunkSegmented(jobId, i))));

        Assert.NotNull(await harnessA.GetSagaStateMachineHarness<JobStateMachine, JobState>().Exists(jobId, m => m.Reconstructing));
        Assert.True(await Eventually.TrueAsync(() =>
            harnessA.Published.Select<ReconstructVolume>().Count() + harnessB.Published.Select<ReconstructVolume>().Count() >= 1));
        await Task.WhenAll(harnessA.InactivityTask, harnessB.InactivityTask);
        var stored = (await storeA.LoadAsync(jobId))!.State;
        Assert.Equal(Enumerable.Range(0, chunks), stored.SegmentedChunks.Order());
        Assert.Equal(chunks, stored.PreparedChunks.Count);
        Assert.Equal(1, harnessA.Published.Select<ReconstructVolume>().Count() + harnessB.Published.Select<ReconstructVolume>().Count());
        Assert.Single(harnessA.Published.Select<SegmentChunk>(), m => m.Context.Message.ChunkIndex == 0); // fan-out once, too
        var conflicts = storeA.Conflicts + storeB.Conflicts;
        output.WriteLine($"optimistic-concurrency conflicts retried: {conflicts}");
        Assert.True(conflicts > 0, "the replicas were meant to race on the job's version; none did, so this test proved nothing");
    }

    /// <summary>Passes through to the real store; counts the writes that lost a race (and were retried).</summary>
    private sealed class CountingStore(IJobStateStore inner, int readDelayMs) : IJobStateStore
    {
        private int _conflicts;

        public int Conflicts => Volatile.Read(ref _conflicts);

        public async Task<StoredJobState?> LoadAsync(Guid jobId, CancellationToken cancellationToken = default)
        {
            var job = await inner.LoadAsync(jobId, cancellationToken);
            if (readDelayMs > 0) await Task.Delay(readDelayMs, cancellationToken);
            return job;
        }

        public Task<string> InsertAsync(JobState state, CancellationToken cancellationToken = default) => Count(inner.InsertAsync(state, cancellationToken));

        public Task<string> UpdateAsync(JobState state, string expectedVersion, CancellationToken cancellationToken = default) =>
            Count(inner.UpdateAsync(state, expectedVersion, cancellationToken));

        public Task DeleteAsync(Guid jobId, string expectedVersion, CancellationToken cancellationToken = default) =>
            inner.DeleteAsync(jobId, expectedVersion, cancellationToken);

        public Task<IReadOnlyList<StoredJobState>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

        private async Task<string> Count(Task<string> write)
        {
            try
            {
                return await write;
            }
            catch (JobStateConcurrencyException)
            {
                Interlocked.Increment(ref _conflicts);
                throw;
            }
        }
    }
}
