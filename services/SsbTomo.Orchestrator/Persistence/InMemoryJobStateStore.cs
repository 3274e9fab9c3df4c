using System.Collections.Concurrent;
using System.Globalization;

namespace SsbTomo.Orchestrator.Persistence;

/// <summary>
/// The embedded default: same contract and JSON round trip as the durable stores, gone with the process.
/// </summary>
public sealed class InMemoryJobStateStore : IJobStateStore
{
    private readonly ConcurrentDictionary<Guid, (long Version, string Json)> _jobs = new();

    public Task<StoredJobState?> LoadAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_jobs.TryGetValue(jobId, out var row) ? ToStored(row) : null);

    public Task<string> InsertAsync(JobState state, CancellationToken cancellationToken = default)
    {
        if (!_jobs.TryAdd(state.CorrelationId, (1, JobStateJson.Serialize(state))))
            throw new JobStateConcurrencyException(state.CorrelationId, $"job {state.CorrelationId} already exists");
        return Task.FromResult(Format(1));
    }

    public Task<string> UpdateAsync(JobState state, string expectedVersion, CancellationToken cancellationToken = default)
    {
        var expected = Parse(expectedVersion);
        var json = JobStateJson.Serialize(state);
        // TryUpdate compares the whole (version, json) tuple: it succeeds only if nobody wrote since our read.
        if (!_jobs.TryGetValue(state.CorrelationId, out var current) || current.Version != expected
            || !_jobs.TryUpdate(state.CorrelationId, (expected + 1, json), current))
            throw new JobStateConcurrencyException(state.CorrelationId, $"job {state.CorrelationId} changed since version {expectedVersion}");
        return Task.FromResult(Format(expected + 1));
    }

    public Task DeleteAsync(Guid jobId, string expectedVersion, CancellationToken cancellationToken = default)
    {
        var expected = Parse(expectedVersion);
        if (!_jobs.TryGetValue(jobId, out var current) || current.Version != expected
            || !_jobs.TryRemove(new KeyValuePair<Guid, (long, string)>(jobId, current)))
            throw new JobStateConcurrencyException(jobId, $"job {jobId} changed since version {expectedVersion}");
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StoredJobState>> ListAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<StoredJobState>>(_jobs.Values.Select(ToStored).ToArray());

    private static StoredJobState ToStored((long Version, string Json) row) => new(JobStateJson.Deserialize(row.Json), Format(row.Version));

    private static string Format(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static long Parse(string version) =>
        long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1;
}
