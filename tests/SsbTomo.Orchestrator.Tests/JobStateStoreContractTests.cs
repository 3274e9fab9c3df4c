using Microsoft.Extensions.DependencyInjection;
using Dapr.Client;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator.Persistence;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>The <see cref="IJobStateStore"/> contract; each store runs the same tests.</summary>
public abstract class JobStateStoreContractTests : IDisposable
{
    protected TempDirectory Temp { get; } = new("ssbtomo-jobstore");

    protected abstract IJobStateStore CreateStore();

    public void Dispose()
    {
        Temp.Dispose();
        GC.SuppressFinalize(this);
    }

    internal static JobState SampleJob(Guid? id = null) => new()
    {
        CorrelationId = id ?? Guid.NewGuid(),
        CurrentState = "Segmenting",
        SourcePath = "/share/stack",
        JobPrefix = "jobs/x",
        VoxelSizeOverride = new VoxelSizeNm(5.5, 6.25, 20),
        ChunkSlices = 16,
        Slices = 40, Height = 60, Width = 70,
        ChunksTotal = 3,
        PreparedChunks = [0, 1, 2],
        SegmentedChunks = [2, 0],
        Histogram = [0, 1, long.MaxValue, 3],
        HistogramMin = -1.5,
        HistogramMax = 65535,
        Thresholds = [0.1, 1.0 / 3.0, 12345.678901234567],
        ClassMeans = [double.Epsilon, 2.5, 1e300, -0.0],
        SubmittedUtc = new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc),
        UpdatedUtc = new DateTime(2026, 11, 25, 10, 5, 3, 123, DateTimeKind.Utc),
    };

    [Fact]
    public async Task Insert_then_load_round_trips_every_field()
    {
        var store = CreateStore();
        var job = SampleJob();
        var version = await store.InsertAsync(job);
        var loaded = await store.LoadAsync(job.CorrelationId);

        Assert.NotNull(loaded);
        Assert.Equal(version, loaded.Version);
        var s = loaded.State;
        Assert.Equal(job.CorrelationId, s.CorrelationId);
        Assert.Equal(job.CurrentState, s.CurrentState);
        Assert.Equal(job.VoxelSizeOverride, s.VoxelSizeOverride);
        Assert.Equal((job.Slices, job.Height, job.Width, job.ChunksTotal, job.ChunkSlices), (s.Slices, s.Height, s.Width, s.ChunksTotal, s.ChunkSlices));
        Assert.Equal(job.PreparedChunks, s.PreparedChunks);
        Assert.Equal(job.SegmentedChunks, s.SegmentedChunks);
        Assert.IsType<HashSet<int>>(s.SegmentedChunks);
        Assert.Equal(job.Histogram, s.Histogram);
        Assert.Equal((job.HistogramMin, job.HistogramMax), (s.HistogramMin, s.HistogramMax));
        Assert.Equal(job.Thresholds, s.Thresholds); // exact: doubles round-trip bit for bit
        Assert.Equal(job.ClassMeans!.Select(BitConverter.DoubleToInt64Bits), s.ClassMeans!.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(job.SubmittedUtc, s.SubmittedUtc);
        Assert.Equal(job.UpdatedUtc, s.UpdatedUtc);
        Assert.Equal(DateTimeKind.Utc, s.UpdatedUtc.Kind);
        Assert.Null(s.FailureReason);
    }

    [Fact]
    public async Task Missing_job_loads_as_null()
    {
        Assert.Null(await CreateStore().LoadAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Inserting_an_existing_job_is_a_concurrency_failure_and_keeps_the_first()
    {
        var store = CreateStore();
        var job = SampleJob();
        await store.InsertAsync(job);
        var second = SampleJob(job.CorrelationId);
        second.CurrentState = "Failed";
        await Assert.ThrowsAsync<JobStateConcurrencyException>(() => store.InsertAsync(second));
        Assert.Equal("Segmenting", (await store.LoadAsync(job.CorrelationId))!.State.CurrentState);
    }

    [Fact]
    public async Task Update_changes_the_version_and_the_old_version_no_longer_writes()
    {
        var store = CreateStore();
        var job = SampleJob();
        var v1 = await store.InsertAsync(job);
        job.SegmentedChunks.Add(1);
        var v2 = await store.UpdateAsync(job, v1);
        Assert.NotEqual(v1, v2);
        var loaded = await store.LoadAsync(job.CorrelationId);
        Assert.Equal(v2, loaded!.Version);
        Assert.Equal([0, 1, 2], loaded.State.SegmentedChunks.Order());

        job.CurrentState = "Reconstructing";
        await Assert.ThrowsAsync<JobStateConcurrencyException>(() => store.UpdateAsync(job, v1));
        Assert.Equal("Segmenting", (await store.LoadAsync(job.CorrelationId))!.State.CurrentState);
        var v3 = await store.UpdateAsync(job, v2);
        Assert.Equal(v3, (await store.LoadAsync(job.CorrelationId))!.Version);
    }

    [Fact]
    public async Task Two_updates_from_the_same_version_exactly_one_wins()
    {
        var store = CreateStore();
        var job = SampleJob();
        var v1 = await store.InsertAsync(job);
        var a = (await store.LoadAsync(job.CorrelationId))!;
        var b = (await store.LoadAsync(job.CorrelationId))!;
        a.State.SegmentedChunks.Add(1);
        b.State.FailureReason = "b";

        var results = await Task.WhenAll(Attempt(store, a.State, v1), Attempt(store, b.State, v1));
        Assert.Equal(1, results.Count(ok => ok));
        var stored = (await store.LoadAsync(job.CorrelationId))!.State;
        Assert.True(stored.SegmentedChunks.Contains(1) ^ stored.FailureReason == "b", "exactly one writer's change is stored");
    }

    [Fact]
    public async Task Many_concurrent_updates_from_one_version_exactly_one_wins()
    {
        var store = CreateStore();
        var job = SampleJob();
        var v1 = await store.InsertAsync(job);
        var tries = Enumerable.Range(0, 16).Select(i =>
        {
            var copy = JobStateJson.Clone(job);
            copy.FailureReason = $"writer {i}";
            return Task.Run(() => Attempt(store, copy, v1));
        });
        Assert.Equal(1, (await Task.WhenAll(tries)).Count(ok => ok));
    }

    [Fact]
    public async Task Delete_needs_the_current_version()
    {
        var store = CreateStore();
        var job = SampleJob();
        var v1 = await store.InsertAsync(job);
        var v2 = await store.UpdateAsync(job, v1);
        await Assert.ThrowsAsync<JobStateConcurrencyException>(() => store.DeleteAsync(job.CorrelationId, v1));
        Assert.NotNull(await store.LoadAsync(job.CorrelationId));
        await store.DeleteAsync(job.CorrelationId, v2);
        Assert.Null(await store.LoadAsync(job.CorrelationId));
        Assert.DoesNotContain(await store.ListAsync(), j => j.State.CorrelationId == job.CorrelationId);
        await Assert.ThrowsAsync<JobStateConcurrencyException>(() => store.UpdateAsync(job, v2));
    }

    [Fact]
    public async Task List_returns_every_job_with_its_current_version()
    {
        var store = CreateStore();
        var jobs = Enumerable.Range(0, 5).Select(_ => SampleJob()).ToArray();
        await Task.WhenAll(jobs.Select(j => store.InsertAsync(j)));
        var v = (await store.LoadAsync(jobs[2].CorrelationId))!.Version;
        jobs[2].CurrentState = "Completed";
        var v2 = await store.UpdateAsync(jobs[2], v);

        var listed = await store.ListAsync();
        Assert.Equal(jobs.Select(j => j.CorrelationId).Order(), listed.Select(j => j.State.CorrelationId).Order());
        var third = listed.Single(j => j.State.CorrelationId == jobs[2].CorrelationId);
        Assert.Equal(("Completed", v2), (third.State.CurrentState, third.Version));
    }

    private static async Task<bool> Attempt(IJobStateStore store, JobState state, string version)
    {
        try
        {
            await store.UpdateAsync(state, version);
            return true;
        }
        catch (JobStateConcurrencyException)
        {
            return false;
        }
    }
}

public sealed class InMemoryJobStateStoreTests : JobStateStoreContractTests
{
    protected override IJobStateStore CreateStore() => new InMemoryJobStateStore();
}

public sealed class SqliteJobStateStoreTests : JobStateStoreContractTests
{
    protected override IJobStateStore CreateStore() => new SqliteJobStateStore(Path.Combine(Temp.Path, $"jobs-{Guid.NewGuid():N}.db"));

    [Fact]
    public async Task State_survives_a_new_store_on_the_same_file_and_the_file_is_in_WAL_mode()
    {
        var path = Path.Combine(Temp.Path, "sub", "jobs.db");
        var job = SampleJob();
        var version = await new SqliteJobStateStore(path).InsertAsync(job);

        var reopened = new SqliteJobStateStore(path);
        var loaded = await reopened.LoadAsync(job.CorrelationId);
        Assert.Equal(version, loaded!.Version);
        Assert.Equal(job.SegmentedChunks, loaded.State.SegmentedChunks);

        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public void Default_path_is_next_to_the_blob_root_and_configuration_overrides_it()
    {
        var options = new SsbTomo.Hosting.SsbTomoOptions { BlobRoot = Path.Combine(Temp.Path, "data") + "/" };
        Assert.Equal(Path.Combine(Temp.Path, "ssbtomo-jobs.db"), JobStoreFactory.SqlitePath(options));
        options.SqlitePath = Path.Combine(Temp.Path, "elsewhere.db");
        Assert.Equal(options.SqlitePath, JobStoreFactory.SqlitePath(options));
    }

    /// <summary>
    /// A distributed deployment that sets nothing must not lose its jobs when the Orchestrator restarts: with the
    /// RabbitMQ transport the default store is the SQLite file; in memory stays the one-process default.
    /// </summary>
    [Fact]
    public async Task The_default_store_is_durable_whenever_the_transport_is_not_in_memory()
    {
        var options = new SsbTomo.Hosting.SsbTomoOptions
        {
            Transport = SsbTomo.Hosting.TransportKind.RabbitMq, BlobRoot = Path.Combine(Temp.Path, "data"),
        };
        var services = new ServiceCollection().BuildServiceProvider();
        Assert.IsType<SqliteJobStateStore>(JobStoreFactory.Create(options, services));
        var job = new JobState { CorrelationId = Guid.NewGuid(), CurrentState = "Aligning", SourcePath = "/share/a" };
        await JobStoreFactory.Create(options, services).InsertAsync(job);
        // "Restart": a new store from the same settings sees the job.
        Assert.NotNull(await JobStoreFactory.Create(options, services).LoadAsync(job.CorrelationId));

        Assert.IsType<InMemoryJobStateStore>(JobStoreFactory.Create(new SsbTomo.Hosting.SsbTomoOptions(), services));
        options.JobStore = SsbTomo.Hosting.JobStoreKind.InMemory;
        Assert.IsType<InMemoryJobStateStore>(JobStoreFactory.Create(options, services));
    }
}

/// <summary>The Dapr store against <see cref="FakeDaprStateClient"/> (no sidecar here): same contract, plus its key index.</summary>
public sealed class DaprJobStateStoreTests : JobStateStoreContractTests
{
    private readonly FakeDaprStateClient _dapr = new();

    protected override IJobStateStore CreateStore() => new DaprJobStateStore(_dapr, "jobstore");

    [Fact]
    public async Task Jobs_live_one_key_each_plus_the_index_and_other_stores_are_separate()
    {
        var store = CreateStore();
        var job = SampleJob();
        await store.InsertAsync(job);
        Assert.Equal(new[] { DaprJobStateStore.IndexKey, $"ssbtomo-job-{job.CorrelationId:D}" }.Order(StringComparer.Ordinal), _dapr.Keys("jobstore").Order(StringComparer.Ordinal));
        Assert.Empty(await new DaprJobStateStore(_dapr, "other").ListAsync());
    }

    [Fact]
    public async Task An_index_entry_without_its_job_is_skipped_and_the_id_can_still_be_inserted()
    {
        var store = CreateStore();
        var job = SampleJob();
        // As if a process died after adding the id to the index and before saving the job.
        var (_, etag) = await _dapr.GetStateAndETagAsync<Guid[]?>("jobstore", DaprJobStateStore.IndexKey);
        Assert.True(await _dapr.TrySaveStateAsync("jobstore", DaprJobStateStore.IndexKey, new[] { job.CorrelationId }, etag,
            new StateOptions { Concurrency = ConcurrencyMode.FirstWrite }));
        Assert.Empty(await store.ListAsync());

        await store.InsertAsync(job);
        Assert.Single(await store.ListAsync());
    }

    [Fact]
    public async Task Concurrent_inserts_of_different_jobs_all_reach_the_index()
    {
        var store = CreateStore();
        var jobs = Enumerable.Range(0, 24).Select(_ => SampleJob()).ToArray();
        await Task.WhenAll(jobs.Select(j => Task.Run(() => store.InsertAsync(j))));
        Assert.Equal(jobs.Select(j => j.CorrelationId).Order(), (await store.ListAsync()).Select(j => j.State.CorrelationId).Order());
    }

    [Fact]
    public async Task The_fake_follows_Dapr_etag_rules()
    {
        var options = new StateOptions { Concurrency = ConcurrencyMode.FirstWrite };
        Assert.Equal((null, ""), await _dapr.GetStateAndETagAsync<string?>("s", "k"));
        Assert.False(await _dapr.TrySaveStateAsync("s", "k", "v0", "1", options)); // an ETag for a missing key
        Assert.True(await _dapr.TrySaveStateAsync("s", "k", "v1", "", options)); // first write of a new key
        Assert.False(await _dapr.TrySaveStateAsync("s", "k", "v2", "", options)); // first-write: key exists
        var (value, etag) = await _dapr.GetStateAndETagAsync<string>("s", "k");
        Assert.Equal("v1", value);
        Assert.True(await _dapr.TrySaveStateAsync("s", "k", "v3", etag, options));
        Assert.False(await _dapr.TrySaveStateAsync("s", "k", "v4", etag, options)); // stale ETag
        Assert.False(await _dapr.TryDeleteStateAsync("s", "k", etag)); // stale ETag
        Assert.True(await _dapr.TrySaveStateAsync("s", "k", "v5", "", new StateOptions { Concurrency = ConcurrencyMode.LastWrite }));
        var (_, current) = await _dapr.GetStateAndETagAsync<string>("s", "k");
        Assert.True(await _dapr.TryDeleteStateAsync("s", "k", current));
        await Assert.ThrowsAsync<ArgumentNullException>(() => _dapr.TrySaveStateAsync("s", "k", "v", null!));
    }
}
