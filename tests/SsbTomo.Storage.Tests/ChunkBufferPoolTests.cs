using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ChunkBufferPoolCollection
{
    /// <summary>The pools are process-wide: these tests run alone, after the parallel ones.</summary>
    public const string Name = "pooled chunk buffers";
}

/// <summary>
/// The chunk buffers a Zarr read or write works in (decoded values, the file's bytes, the encoded bytes) come from
/// <see cref="LargeArrayPool{T}"/>, so the compaction before each message lets them go: under a memory budget a stage must
/// not begin with the previous stage's buffers (on the 1-Gvoxel phantom they were 300-870 MiB in the shared ArrayPool).
/// </summary>
[Collection(ChunkBufferPoolCollection.Name)]
public sealed class ChunkBufferPoolTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public ChunkBufferPoolTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Reading_and_writing_chunks_pools_their_buffers_in_the_pool_that_a_compaction_empties()
    {
        var array = await ZarrArray<uint>.CreateAsync(_store, "pooled", [6, 40, 40], [4, 16, 16], ZarrCompressor.Zstd);
        var values = Generators.Pattern<uint>(6, 40, 40);
        await array.WriteRegionAsync(0, 0, 0, values);
        LargeArrays.CompactHeap();
        Assert.Equal(0, LargeArrayPool<uint>.Shared.HeldElements);
        Assert.Equal(0, LargeArrayPool<byte>.Shared.HeldElements);

        // A region that cuts chunks decodes them through a chunk buffer; the file's bytes are read into a pooled buffer.
        var region = await array.ReadRegionAsync(1, 5, 3, 37, 5, 33);
        Assert.Equal(values[1, 3, 5], region[0, 0, 0]);
        Assert.True(LargeArrayPool<uint>.Shared.HeldElements >= 4 * 16 * 16);
        Assert.True(LargeArrayPool<byte>.Shared.HeldElements > 0);

        LargeArrays.CompactHeap();
        Assert.Equal(0, LargeArrayPool<uint>.Shared.HeldElements);
        Assert.Equal(0, LargeArrayPool<byte>.Shared.HeldElements);
    }
}
