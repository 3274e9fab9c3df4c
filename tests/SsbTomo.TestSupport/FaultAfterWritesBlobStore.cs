using System.Runtime.CompilerServices;
using SsbTomo.Storage;

namespace SsbTomo.TestSupport;

/// <summary>
/// A store that lets the first <c>writesBeforeFault</c> writes through and fails the next one the way a lost
/// connection or a killed process would: the caller gets an <see cref="IOException"/>, and the write is lost or, with
/// <c>faultedWriteLands</c>, landed before the failure was reported (a timeout after the service committed it). Every
/// later write goes through again, as after a reconnect or a restart. With no fault it only counts writes.
/// </summary>
public sealed class FaultAfterWritesBlobStore(IBlobStore inner, int? writesBeforeFault = null, bool faultedWriteLands = false) : IBlobStore
{
    private int _writes;
    private string? _faultedKey;

    /// <summary>Writes asked for so far, the failed one included.</summary>
    public int Writes => Volatile.Read(ref _writes);

    /// <summary>The key of the write that failed, or null while none has.</summary>
    public string? FaultedKey => Volatile.Read(ref _faultedKey);

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        var attempt = Interlocked.Increment(ref _writes);
        if (attempt - 1 != writesBeforeFault)
        {
            await inner.WriteAsync(key, content, ct).ConfigureAwait(false);
            return;
        }
        if (faultedWriteLands)
            await inner.WriteAsync(key, content, ct).ConfigureAwait(false);
        Volatile.Write(ref _faultedKey, key);
        throw new IOException($"injected fault: write {attempt} ('{key}') {(faultedWriteLands ? "landed, but the caller was told it failed" : "lost")}");
    }

    public Task<byte[]?> ReadAsync(string key, CancellationToken ct = default) => inner.ReadAsync(key, ct);

    public Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default) => inner.ReadContentAsync(key, ct);

    public Task<bool> ExistsAsync(string key, CancellationToken ct = default) => inner.ExistsAsync(key, ct);

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var key in inner.ListAsync(prefix, ct).ConfigureAwait(false))
            yield return key;
    }

    public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
}
