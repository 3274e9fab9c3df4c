using System.Globalization;
using System.Text.Json;
using Dapr.Client;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>
/// An in-process stand-in for a Dapr sidecar's state API (no sidecar can run here), implementing only what
/// DaprJobStateStore calls: GetStateAndETagAsync, TrySaveStateAsync, TryDeleteStateAsync.
/// <para>Dapr behaviours it reproduces:</para>
/// <list type="bullet">
/// <item>Values cross a serialisation boundary: saved as UTF-8 JSON with the client's JsonSerializerOptions
/// (JsonSerializerDefaults.Web, as DaprClientBuilder's default) and deserialised on every read, so no caller ever
/// shares an object with the store.</item>
/// <item>Every successful write gives the item a new opaque ETag (a per-store counter, as Redis/PostgreSQL stores
/// do); reads return the current ETag.</item>
/// <item>A missing key reads as (default, "") — empty value, empty ETag.</item>
/// <item>TrySave with a non-empty ETag writes only if the key exists with exactly that ETag, otherwise returns
/// false (the sidecar answers ETag mismatch with gRPC Aborted, which DaprClient.TrySave*Async turns into false).</item>
/// <item>TrySave with an empty ETag and Concurrency = FirstWrite writes only if the key does not exist
/// (insert-only); with LastWrite (or no options) it is an unconditional upsert, since Dapr skips the ETag check
/// when none is given.</item>
/// <item>TryDelete with an ETag deletes only on an exact match, otherwise false; with an empty ETag it deletes.</item>
/// <item>A null ETag is rejected with ArgumentNullException, as DaprClient does before calling the sidecar.</item>
/// <item>Each call is atomic (compare-and-set under one lock), like a store's conditional write.</item>
/// </list>
/// Not reproduced: eventual consistency and replicas, TTLs, app-id key prefixes, store-specific ETag formats,
/// bulk/transaction/query APIs, sidecar outages and gRPC errors other than ETag mismatch.
/// </summary>
public sealed partial class FakeDaprStateClient : DaprClient
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Store, string Key), (byte[] Json, string ETag)> _items = [];
    private long _nextETag;

    public override JsonSerializerOptions JsonSerializerOptions { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>Number of conditional writes refused for an ETag mismatch or an existing key (test observability).</summary>
    public int Refused { get; private set; }

    public IReadOnlyCollection<string> Keys(string store)
    {
        lock (_gate) return _items.Keys.Where(k => k.Store == store).Select(k => k.Key).ToArray();
    }

    public override Task<(TValue value, string etag)> GetStateAndETagAsync<TValue>(string storeName, string key,
        ConsistencyMode? consistencyMode = null, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_items.TryGetValue((storeName, key), out var item)) return Task.FromResult<(TValue, string)>((default!, ""));
            return Task.FromResult((JsonSerializer.Deserialize<TValue>(item.Json, JsonSerializerOptions)!, item.ETag));
        }
    }

    public override Task<bool> TrySaveStateAsync<TValue>(string storeName, string key, TValue value, string etag,
        StateOptions? stateOptions = null, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(etag);
        cancellationToken.ThrowIfCancellationRequested();
        var json = JsonSerializer.SerializeToUtf8Bytes(value, JsonSerializerOptions);
        lock (_gate)
        {
            var exists = _items.TryGetValue((storeName, key), out var current);
            var allowed = etag.Length > 0
                ? exists && current.ETag == etag
                : !(exists && stateOptions?.Concurrency == ConcurrencyMode.FirstWrite);
            if (!allowed)
            {
                Refused++;
                return Task.FromResult(false);
            }
            _items[(storeName, key)] = (json, (++_nextETag).ToString(CultureInfo.InvariantCulture));
            return Task.FromResult(true);
        }
    }

    public override Task<bool> TryDeleteStateAsync(string storeName, string key, string etag, StateOptions? stateOptions = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(etag);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var exists = _items.TryGetValue((storeName, key), out var current);
            if (etag.Length > 0 && !(exists && current.ETag == etag))
            {
                Refused++;
                return Task.FromResult(false);
            }
            _items.Remove((storeName, key));
            return Task.FromResult(true);
        }
    }
}
