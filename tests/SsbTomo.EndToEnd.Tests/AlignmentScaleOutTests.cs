using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Alignment;
using SsbTomo.Cli;
using SsbTomo.Hosting;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// Alignment is measured and shifted in chunks by competing workers, and solved once: the aligned stack, alignment.json
/// and the labels are the same bytes for one worker or several, and for slabs of 8 slices or of 5 (smaller than the
/// registration's 8-slice halo, so a halo spans chunks), whatever threads each worker's kernels use (one worker gets all
/// the cores, three share them, and the third run sets SsbTomo:AlignmentKernelThreads itself), and whether a chunk
/// continues from the registration of the chunk before it or prepares its halo again.
/// </summary>
public sealed class AlignmentScaleOutTests : IDisposable
{
    private readonly TempDirectory _dir = new("ssbtomo-align-scaleout");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task One_worker_several_workers_and_another_slab_size_give_the_same_aligned_stack_and_labels()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        // Room for every chunk's registration history: a chunk measured after the one before it continues from it, whatever
        // order the chunks are taken in (the bus prefetches two, so one of 0, 1 and 2 always follows its neighbour).
        var kept = new RegistrationHistoryCache(capacity: 8, maxBytes: long.MaxValue);
        var one = await RunAsync(stack, "one-worker", chunkSlices: 8, workers: 1, histories: kept);
        Assert.True(kept.Hits > 0, "no chunk continued from the registration of the chunk before it");
        var haloEveryChunk = await RunAsync(stack, "halo-every-chunk", chunkSlices: 8, workers: 1, histories: new RegistrationHistoryCache(0, 0));
        var three = await RunAsync(stack, "three-workers", chunkSlices: 8, workers: 3);
        var smallSlabs = await RunAsync(stack, "five-slice-slabs", chunkSlices: 5, workers: 2, kernelThreads: 3);

        Assert.Null(JobResults.Difference(await JobResults.ReadAsync(one), await JobResults.ReadAsync(three)));
        foreach (var other in new[] { haloEveryChunk, three, smallSlabs })
        {
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(one, "alignment.json")), await File.ReadAllTextAsync(Path.Combine(other, "alignment.json")));
            Assert.Equal(await VoxelsAsync<ushort>(one, "aligned.zarr"), await VoxelsAsync<ushort>(other, "aligned.zarr"));
            Assert.Equal(await VoxelsAsync<byte>(one, JobResults.Labels), await VoxelsAsync<byte>(other, JobResults.Labels));
        }
        var slabs = await OmeZarr.OpenLevelAsync<ushort>(new FileSystemBlobStore(smallSlabs), "aligned.zarr", 0);
        Assert.Equal(5, slabs.Chunks[0]);
    }

    /// <summary>
    /// A job measured by a version that stored no curtain offsets (resumed after an upgrade), or whose stored offsets are
    /// unreadable, is shifted by filtering its slices again: the same aligned stack and labels as with the offsets.
    /// </summary>
    [Fact]
    public async Task Shift_chunks_without_usable_curtain_offsets_filter_again_to_the_same_aligned_stack_and_labels()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        var stored = await RunAsync(stack, "offsets-stored", chunkSlices: 8, workers: 1);
        var curtainBlobs = Directory.GetFiles(Path.Combine(stored, "alignment"), "*.curtains");
        Assert.Equal(3, curtainBlobs.Length); // 24 slices in slabs of 8: the shift chunks had offsets to read
        var none = await RunAsync(stack, "no-offsets", chunkSlices: 8, workers: 1, root => new CurtainBlobs(new FileSystemBlobStore(root), corrupt: false));
        var corrupt = await RunAsync(stack, "corrupt-offsets", chunkSlices: 8, workers: 1, root => new CurtainBlobs(new FileSystemBlobStore(root), corrupt: true));

        Assert.Empty(Directory.GetFiles(Path.Combine(none, "alignment"), "*.curtains"));
        Assert.Equal(3, Directory.GetFiles(Path.Combine(corrupt, "alignment"), "*.curtains").Length);
        foreach (var other in new[] { none, corrupt })
        {
            Assert.Equal(await VoxelsAsync<ushort>(stored, "aligned.zarr"), await VoxelsAsync<ushort>(other, "aligned.zarr"));
            Assert.Equal(await VoxelsAsync<byte>(stored, JobResults.Labels), await VoxelsAsync<byte>(other, JobResults.Labels));
        }
    }

    /// <summary>Drops every curtain offsets blob as an earlier version never wrote one, or writes it cut short.</summary>
    private sealed class CurtainBlobs(IBlobStore inner, bool corrupt) : IBlobStore
    {
        public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default) =>
            !key.EndsWith(".curtains", StringComparison.Ordinal) ? inner.WriteAsync(key, content, ct)
            : corrupt ? inner.WriteAsync(key, content[..(content.Length / 2)], ct)
            : Task.CompletedTask;

        public Task<byte[]?> ReadAsync(string key, CancellationToken ct = default) => inner.ReadAsync(key, ct);
        public Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default) => inner.ReadContentAsync(key, ct);
        public Task<bool> ExistsAsync(string key, CancellationToken ct = default) => inner.ExistsAsync(key, ct);
        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
        public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    }

    private static async Task<T[]> VoxelsAsync<T>(string root, string image) where T : unmanaged
    {
        var level = await OmeZarr.OpenLevelAsync<T>(new FileSystemBlobStore(root), image, 0);
        return (await level.ReadRegionAsync(0, level.Shape[0], 0, level.Shape[1], 0, level.Shape[2])).Data;
    }

    private async Task<string> RunAsync(string stack, string name, int chunkSlices, int workers, Func<string, IBlobStore>? store = null, int? kernelThreads = null,
        RegistrationHistoryCache? histories = null)
    {
        var root = Path.Combine(_dir.Path, name);
        var outcome = await RunCommand.ExecuteAsync(stack, root, null, chunkSlices, verbose: false, CancellationToken.None,
                services =>
                {
                    services.Configure<SsbTomoOptions>(o =>
                    {
                        o.AlignmentWorkers = workers;
                        o.AlignmentKernelThreads = kernelThreads;
                    });
                    if (store is not null) services.AddSingleton(store(root));
                    if (histories is not null) services.AddSingleton(histories);
                })
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(outcome.Succeeded, outcome.Reason);
        return root;
    }
}
