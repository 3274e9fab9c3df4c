using System.Text.Json;
using Dapr.Client;

namespace SsbTomo.Orchestrator.Persistence;

/// <summary>
/// Job state in a Dapr state store (through the sidecar), one key per job, with Dapr's optimistic concurrency:
/// reads return the ETag, writes pass it back with <see cref="ConcurrencyMode.FirstWrite"/> and fail (TrySave
/// returns false) if the item changed since. A new job is saved with an empty ETag and FirstWrite, which the
/// ETag-capable stores treat as insert-only.
/// <para>
/// Listing uses a key index (one key holding every job id, itself updated by ETag compare-and-set) rather than
/// Dapr's state query API: the query API is alpha, works only on a few stores (and only for JSON values with the
/// right content type), and is not consistent with the writes we just made; the index needs nothing but ETags,
/// which every store we would deploy on supports. The index is written before the job (an idempotent set add),
/// so a crash between the two leaves at worst an id without a job, which listing skips and a later insert of
/// the same id reuses; never a job missing from the list.
/// </para>
/// </summary>
public sealed class DaprJobStateStore(DaprClient dapr, string storeName) : IJobStateStore
{
    public const string IndexKey = "ssbtomo-jobs-index";
    private const int IndexAttempts = 200;

    private static readonly StateOptions FirstWrite = new() { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong };

    public string StoreName { get; } = storeName;

    public async Task<StoredJobState?> LoadAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        var (value, etag) = await dapr.GetStateAndETagAsync<JsonElement?>(StoreName, Key(jobId), ConsistencyMode.Strong,
            cancellationToken: cancellationToken);
        return value is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } json && !string.IsNullOrEmpty(etag)
            ? new StoredJobState(JobStateJson.Deserialize(json), etag)
            : null;
    }

    public async Task<string> InsertAsync(JobState state, CancellationToken cancellationToken = default)
    {
        var jobId = state.CorrelationId;
        await UpdateIndexAsync(ids => ids.Add(jobId), cancellationToken);
        var written = JobStateJson.SerializeToElement(state);
        if (!await dapr.TrySaveStateAsync(StoreName, Key(jobId), written, "", FirstWrite,
                cancellationToken: cancellationToken))
            throw new JobStateConcurrencyException(jobId, $"job {jobId} already exists");
        return await ReadBackETagAsync(jobId, written, cancellationToken);
    }

    public async Task<string> UpdateAsync(JobState state, string expectedVersion, CancellationToken cancellationToken = default)
    {
        var jobId = state.CorrelationId;
        var written = JobStateJson.SerializeToElement(state);
        // An empty ETag would turn the conditional write into an insert: never a valid "expected version".
        if (string.IsNullOrEmpty(expectedVersion)
            || !await dapr.TrySaveStateAsync(StoreName, Key(jobId), written, expectedVersion, FirstWrite, cancellationToken: cancellationToken))
            throw new JobStateConcurrencyException(jobId, $"job {jobId} changed since ETag {expectedVersion}");
        return await ReadBackETagAsync(jobId, written, cancellationToken);
    }

    /// <summary>
    /// TrySaveState does not return the new ETag, so read it back. If another writer already replaced our value,
    /// its ETag is not ours to name: return an empty version, with which every later conditional write fails.
    /// </summary>
    private async Task<string> ReadBackETagAsync(Guid jobId, JsonElement written, CancellationToken cancellationToken)
    {
        var (value, etag) = await dapr.GetStateAndETagAsync<JsonElement?>(StoreName, Key(jobId), ConsistencyMode.Strong,
            cancellationToken: cancellationToken);
        return value is { } json && JsonElement.DeepEquals(json, written) ? etag ?? "" : "";
    }

    public async Task DeleteAsync(Guid jobId, string expectedVersion, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(expectedVersion)
            || !await dapr.TryDeleteStateAsync(StoreName, Key(jobId), expectedVersion, FirstWrite, cancellationToken: cancellationToken))
            throw new JobStateConcurrencyException(jobId, $"job {jobId} changed since ETag {expectedVersion}");
        await UpdateIndexAsync(ids => ids.Remove(jobId), cancellationToken);
    }

    public async Task<IReadOnlyList<StoredJobState>> ListAsync(CancellationToken cancellationToken = default)
    {
        var (ids, _) = await dapr.GetStateAndETagAsync<Guid[]?>(StoreName, IndexKey, ConsistencyMode.Strong, cancellationToken: cancellationToken);
        var jobs = new List<StoredJobState>();
        foreach (var id in ids ?? [])
            if (await LoadAsync(id, cancellationToken) is { } job)
                jobs.Add(job);
        return jobs;
    }

    /// <summary>Read-modify-write of the id index by ETag compare-and-set, retried when another writer got there first.</summary>
    private async Task UpdateIndexAsync(Func<HashSet<Guid>, bool> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < IndexAttempts; attempt++)
        {
            var (ids, etag) = await dapr.GetStateAndETagAsync<Guid[]?>(StoreName, IndexKey, ConsistencyMode.Strong,
                cancellationToken: cancellationToken);
            var set = new HashSet<Guid>(ids ?? []);
            if (!change(set)) return; // already as wanted
            if (await dapr.TrySaveStateAsync(StoreName, IndexKey, set.Order().ToArray(), etag ?? "", FirstWrite,
                    cancellationToken: cancellationToken))
                return;
            await Task.Delay(Random.Shared.Next(1, 5 + attempt), cancellationToken);
        }
        throw new TimeoutException($"could not update the Dapr job index '{IndexKey}' in store '{StoreName}' after {IndexAttempts} attempts");
    }

    private static string Key(Guid jobId) => $"ssbtomo-job-{jobId:D}";
}
