namespace SsbTomo.Storage;

/// <summary>
/// A flat key → bytes store. Keys use '/' separators (e.g. "jobs/42/raw.zarr/0/0.0.0").
/// One chunk is one blob; implementations must make a write all-or-nothing: a reader racing an overwrite gets the old
/// blob or the new one, never a mix or a prefix, and a write that fails or is cancelled leaves the old blob (or none).
/// BlobStoreContractTests (tests/SsbTomo.Storage.Tests) is the behaviour every implementation passes.
/// </summary>
public interface IBlobStore
{
    /// <remarks>
    /// <paramref name="content"/> is only valid until the returned task completes (callers pass pooled buffers and reuse
    /// them afterwards): an implementation that keeps the bytes must copy them.
    /// </remarks>
    Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default);

    /// <returns>The blob's bytes, or null if there is no blob with that key.</returns>
    Task<byte[]?> ReadAsync(string key, CancellationToken ct = default);

    /// <summary>
    /// Like <see cref="ReadAsync"/>, for bulk reads such as Zarr chunks: a store may hand back a pooled buffer instead of a
    /// fresh array, so dispose the result as soon as its bytes are consumed.
    /// </summary>
    /// <returns>The blob's bytes, or null if there is no blob with that key.</returns>
    async Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default) =>
        await ReadAsync(key, ct).ConfigureAwait(false) is { } bytes ? BlobContent.Owned(bytes) : null;

    Task<bool> ExistsAsync(string key, CancellationToken ct = default);

    /// <summary>Keys that start with <paramref name="prefix"/>, in ordinal order.</summary>
    IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken ct = default);

    /// <summary>Deletes the blob; deleting an absent blob is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken ct = default);
}
