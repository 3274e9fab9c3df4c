using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Storage;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// A job whose store loses one write (a dropped connection, a killed worker) at any point still completes through the
/// retries, with the labels of an undisturbed run, byte for byte, and no message left in an error queue.
/// </summary>
public sealed class StorageFaultSweepTests(ITestOutputHelper output) : IDisposable
{
    private const int ChunkSlices = 8;
    private readonly TempDirectory _dir = new("ssbtomo-faults");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_write_lost_at_any_point_of_a_job_is_retried_to_the_same_labels_with_nothing_in_an_error_queue()
    {
        var (stack, clean, expected) = await CleanRunAsync();
        // One run per write: a bigger job would need a sample of the write positions to stay within ~90 s on two cores.
        // Alignment's per-chunk measurements, their curtain offsets and its solution are blobs of their own (3 + 3 + 1 for
        // this job's 3 slabs).
        // The reconstruction's meshes (9 files) and 3D views (3) are written one after another by one consumer from
        // memory, so losing any of them is the same failure: the sweep loses the first mesh file and the first view only.
        Assert.InRange(clean.WrittenKeys.Count, 30, 60);
        var sameAsFirstOfItsKind = new HashSet<int>();
        foreach (var kind in new[] { "meshes/", "previews/3d-" })
            sameAsFirstOfItsKind.UnionWith(clean.WrittenKeys.Select((key, index) => (key, index))
                .Where(w => w.key.Contains(kind, StringComparison.Ordinal)).Skip(1).Select(w => w.index));
        Assert.InRange(sameAsFirstOfItsKind.Count, 10, 14);
        await SweepAsync(stack, clean, expected, Enumerable.Range(0, clean.WrittenKeys.Count).Where(i => !sameAsFirstOfItsKind.Contains(i)),
            faultedWriteLands: false);
    }

    /// <summary>
    /// The write lands but its caller hears it failed (a timeout after the service committed it), so the retry finds it
    /// done. Run at every write that is not a chunk, where a landed write changes what a retry sees (an image's metadata,
    /// alignment.json, metrics.json); a landed chunk is rewritten with the same bytes.
    /// </summary>
    [Fact]
    public async Task A_write_that_lands_but_is_reported_failed_is_retried_to_the_same_labels_with_nothing_in_an_error_queue()
    {
        var (stack, clean, expected) = await CleanRunAsync();
        var notChunks = clean.WrittenKeys.Select((key, index) => (key, index))
            .Where(w => Path.GetFileName(w.key).StartsWith('.') || w.key.EndsWith(".json", StringComparison.Ordinal))
            .Select(w => w.index)
            .ToArray();
        // The reconstruction's metadata (pyramid levels, the labels group, image-label) counts too.
        Assert.InRange(notChunks.Length, 10, 32);
        await SweepAsync(stack, clean, expected, notChunks, faultedWriteLands: true);
    }

    private async Task<(string Stack, Run Clean, Dictionary<string, byte[]> Expected)> CleanRunAsync()
    {
        var stack = await WritePhantomAsync();
        var clean = await RunAsync(stack, "clean", writesBeforeFault: null, faultedWriteLands: false);
        Assert.True(clean.Outcome.Succeeded, clean.Outcome.Reason);
        Assert.Empty(clean.Faults);
        var expected = await JobResults.ReadAsync(clean.Root);
        Assert.Contains($"{JobResults.Labels}/.zattrs", expected.Keys);
        Assert.Contains("metrics.json", expected.Keys);
        return (stack, clean, expected);
    }

    private async Task SweepAsync(string stack, Run clean, Dictionary<string, byte[]> expected, IEnumerable<int> writesBeforeFault, bool faultedWriteLands)
    {
        var failures = new List<string>();
        foreach (var n in writesBeforeFault)
        {
            var faulted = await RunAsync(stack, $"fault-after-{n}", n, faultedWriteLands);
            var where = $"write {n + 1} of {clean.WrittenKeys.Count} ('{faulted.FaultedKey}')";
            var failure = await FailureAsync(faulted, expected);
            if (failure is not null)
                failures.Add($"{where}: {failure}");
            output.WriteLine($"fault at {where}: {failure ?? "completed, same labels and metrics"} ({faulted.Elapsed.TotalSeconds:0.0} s)");
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task A_write_that_keeps_failing_is_seen_by_the_fault_observer()
    {
        // The sweep's "nothing in an error queue" rests on this observer; here a command exhausts its retries.
        var stack = await WritePhantomAsync();
        var root = Path.Combine(_dir.Path, "broken");
        var faults = new FaultLog();
        var outcome = await RunCommand.ExecuteAsync(stack, root, null, ChunkSlices, verbose: false, CancellationToken.None,
                services =>
                {
                    services.AddSingleton<IBlobStore>(new AlignedNeverWritten(new FileSystemBlobStore(root)));
                    services.AddReceiveObserver(_ => faults);
                })
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.False(outcome.Succeeded);
        Assert.Contains(faults.Entries, f => f.Contains("SolveAlignment", StringComparison.Ordinal));
    }

    private static async Task<string?> FailureAsync(Run faulted, Dictionary<string, byte[]> expected)
    {
        if (faulted.FaultedKey is null)
            return "the fault never fired";
        if (!faulted.Outcome.Succeeded)
            return $"job failed in {faulted.Outcome.FailedStage}: {faulted.Outcome.Reason}";
        if (faulted.Faults.Count > 0)
            return string.Join("; ", faulted.Faults);
        return JobResults.Difference(expected, await JobResults.ReadAsync(faulted.Root)) is { } difference
            ? $"labels or metrics differ from the clean run's: {difference}"
            : null;
    }

    private Task<string> WritePhantomAsync() => JobResults.WriteSmallPhantomAsync(_dir.Path);

    private sealed record Run(string Root, JobOutcome Outcome, IReadOnlyList<string> WrittenKeys, string? FaultedKey, IReadOnlyList<string> Faults, TimeSpan Elapsed);

    private async Task<Run> RunAsync(string stack, string name, int? writesBeforeFault, bool faultedWriteLands)
    {
        var root = Path.Combine(_dir.Path, name);
        var store = new KeyRecordingBlobStore(new FileSystemBlobStore(root));
        var faulty = new FaultAfterWritesBlobStore(store, writesBeforeFault, faultedWriteLands);
        var faults = new FaultLog();
        var clock = Stopwatch.StartNew();
        var outcome = await RunCommand.ExecuteAsync(stack, root, null, ChunkSlices, verbose: false, CancellationToken.None,
                services =>
                {
                    services.AddSingleton<IBlobStore>(faulty);
                    JobResults.WithoutTortuosity(services);
                    services.AddReceiveObserver(_ => faults);
                })
            .WaitAsync(TimeSpan.FromMinutes(2));
        return new Run(root, outcome, store.Keys, faulty.FaultedKey, faults.Entries, clock.Elapsed);
    }

    /// <summary>The keys of the writes that landed, in the order they landed.</summary>
    private sealed class KeyRecordingBlobStore(IBlobStore inner) : IBlobStore
    {
        private readonly ConcurrentQueue<string> _keys = new();

        public IReadOnlyList<string> Keys => [.. _keys];

        public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default)
        {
            await inner.WriteAsync(key, content, ct);
            _keys.Enqueue(key);
        }

        public Task<byte[]?> ReadAsync(string key, CancellationToken ct = default) => inner.ReadAsync(key, ct);
        public Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default) => inner.ReadContentAsync(key, ct);
        public Task<bool> ExistsAsync(string key, CancellationToken ct = default) => inner.ExistsAsync(key, ct);
        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
        public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    }

    private sealed class AlignedNeverWritten(IBlobStore inner) : IBlobStore
    {
        public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default) =>
            key.StartsWith("aligned.zarr/", StringComparison.Ordinal)
                ? Task.FromException(new IOException($"'{key}': connection reset"))
                : inner.WriteAsync(key, content, ct);

        public Task<byte[]?> ReadAsync(string key, CancellationToken ct = default) => inner.ReadAsync(key, ct);
        public Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default) => inner.ReadContentAsync(key, ct);
        public Task<bool> ExistsAsync(string key, CancellationToken ct = default) => inner.ExistsAsync(key, ct);
        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
        public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    }
}
