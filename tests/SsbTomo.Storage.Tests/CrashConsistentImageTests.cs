using System.Text.Json.Nodes;
using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

/// <summary>
/// An image whose creation stopped part-way (a killed worker, a lost connection) is never read as complete, and the
/// next <see cref="OmeZarr.EnsureImageAsync{T}"/> finishes it into exactly what an uninterrupted creation writes.
/// </summary>
public sealed class CrashConsistentImageTests : IDisposable
{
    private const string Group = "jobs/j/labels.zarr";
    private const int Levels = 3;
    private static readonly int[] Shape = [9, 40, 33];
    private static readonly int[] Chunks = [4, 16, 16];
    private static readonly VoxelSize Voxel = new(XNm: 5, YNm: 6, ZNm: 20);

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private FileSystemBlobStore NewStore(string name) => new(Path.Combine(_root.Path, name));

    private static Task<ZarrArray<byte>> Ensure(IBlobStore store) =>
        OmeZarr.EnsureImageAsync<byte>(store, Group, "labels", Shape, Chunks, Voxel, Levels);

    private static async Task<Dictionary<string, byte[]>> Blobs(IBlobStore store)
    {
        var blobs = new Dictionary<string, byte[]>();
        await foreach (var key in store.ListAsync(""))
            blobs[key] = (await store.ReadAsync(key))!;
        return blobs;
    }

    private static void AssertSameBlobs(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, bytes) in expected)
            Assert.True(bytes.AsSpan().SequenceEqual(actual[key]), $"{key} differs from an uninterrupted creation's");
    }

    [Fact]
    public async Task A_creation_interrupted_after_any_write_is_not_an_image_and_is_completed_by_the_next_ensure()
    {
        var clean = NewStore("clean");
        await Ensure(clean);
        var expected = await Blobs(clean);
        Assert.Equal(2 + Levels, expected.Count); // .zgroup, .zattrs and one .zarray per level

        for (var writesBeforeFault = 0; writesBeforeFault < expected.Count; writesBeforeFault++)
        {
            var store = NewStore($"cut-after-{writesBeforeFault}");
            var faulty = new FaultAfterWritesBlobStore(store, writesBeforeFault);
            await Assert.ThrowsAsync<IOException>(() => Ensure(faulty));

            var reason = await Assert.ThrowsAsync<InvalidDataException>(() => OmeZarr.OpenLevelAsync<byte>(store, Group, 0));
            Assert.Contains("is not an OME-Zarr image", reason.Message);

            var level0 = await Ensure(store);
            Assert.Equal(Shape, level0.Shape);
            AssertSameBlobs(expected, await Blobs(store));
        }
    }

    /// <summary>What the creation order before this one (.zgroup, .zattrs, then the levels) left when interrupted.</summary>
    public static TheoryData<string[]> PartialGroups => new()
    {
        new[] { ".zgroup" },
        new[] { ".zgroup", ".zattrs" },
        new[] { ".zgroup", ".zattrs", "0/.zarray" },
        new[] { ".zgroup", ".zattrs", "0/.zarray", "1/.zarray" },
        new[] { ".zattrs", "0/.zarray", "2/.zarray" },
    };

    [Theory]
    [MemberData(nameof(PartialGroups))]
    public async Task A_partial_group_is_repaired_not_trusted_and_keeps_its_chunks_and_other_attributes(string[] present)
    {
        var clean = NewStore("clean");
        await Ensure(clean);
        var store = NewStore("partial");
        foreach (var name in present)
            await store.WriteAsync($"{Group}/{name}", (await clean.ReadAsync($"{Group}/{name}"))!);
        var chunk = new byte[] { 1, 2, 3 };
        await store.WriteAsync($"{Group}/0/0.0.0", chunk);
        if (present.Contains(".zattrs"))
            await OmeZarr.MergeAttributesAsync(store, Group, new Dictionary<string, JsonNode?> { ["kept"] = "yes" });

        await Ensure(store);

        foreach (var level in Enumerable.Range(0, Levels))
        {
            var array = await OmeZarr.OpenLevelAsync<byte>(store, Group, level);
            Assert.Equal(OmeZarr.LevelShape(Shape, level), array.Shape);
        }
        foreach (var name in new[] { ".zgroup", "0/.zarray", "1/.zarray", "2/.zarray" })
            Assert.Equal(await clean.ReadAsync($"{Group}/{name}"), await store.ReadAsync($"{Group}/{name}"));
        var attributes = await OmeZarr.ReadAttributesAsync(store, Group);
        Assert.Equal((await OmeZarr.ReadAttributesAsync(clean, Group))["multiscales"]!.ToJsonString(), attributes["multiscales"]!.ToJsonString());
        Assert.Equal(present.Contains(".zattrs") ? "yes" : null, attributes["kept"]?.GetValue<string>());
        Assert.Equal(chunk, await store.ReadAsync($"{Group}/0/0.0.0"));
    }

    [Fact]
    public async Task Unreadable_attributes_are_written_again()
    {
        var store = NewStore("torn");
        await store.WriteAsync($"{Group}/.zattrs", "{\"multiscales\": [{\"versi"u8.ToArray());
        await Ensure(store);
        Assert.Equal(Voxel, await OmeZarr.ReadVoxelSizeAsync(store, Group));
        Assert.Equal(Levels, await OmeZarr.ReadLevelCountAsync(store, Group));
    }

    [Fact]
    public async Task A_complete_image_is_opened_without_a_single_write()
    {
        var store = NewStore("complete");
        await Ensure(store);
        await OmeZarr.MergeAttributesAsync(store, Group, new Dictionary<string, JsonNode?> { ["image-label"] = new JsonObject { ["version"] = "0.4" } });
        var before = await Blobs(store);

        var counting = new FaultAfterWritesBlobStore(store);
        var level0 = await Ensure(counting);

        Assert.Equal(0, counting.Writes);
        Assert.Equal($"{Group}/0", level0.Path);
        AssertSameBlobs(before, await Blobs(store));
    }

    [Fact]
    public async Task Creating_an_image_again_rewrites_every_blob_with_the_bytes_it_has_merged_attributes_included()
    {
        var store = NewStore("recreated");
        await OmeZarr.CreateImageAsync<ushort>(store, Group, "raw", Shape, Chunks, Voxel, Levels);
        await SourceSliceNames.WriteAsync(store, Group, [.. Enumerable.Range(0, Shape[0]).Select(z => $"slice_{z:0000}.tif")]);
        var before = await Blobs(store);

        await OmeZarr.CreateImageAsync<ushort>(store, Group, "raw", Shape, Chunks, Voxel, Levels);

        AssertSameBlobs(before, await Blobs(store));
        Assert.Equal("slice_0008.tif", (await SourceSliceNames.ReadAsync(store, Group, Shape[0]))![8]);
    }

    [Fact]
    public async Task An_image_of_another_geometry_is_written_again_as_asked()
    {
        var store = NewStore("other");
        await OmeZarr.CreateImageAsync<byte>(store, Group, "labels", [9, 40, 33], [8, 16, 16], Voxel, Levels);
        var level0 = await Ensure(store);
        Assert.Equal(Chunks, level0.Chunks);
        Assert.Equal(Chunks, (await OmeZarr.OpenLevelAsync<byte>(store, Group, 0)).Chunks);

        await OmeZarr.CreateImageAsync<byte>(store, Group, "labels", Shape, Chunks, VoxelSize.Isotropic(7), Levels);
        await Ensure(store);
        Assert.Equal(Voxel, await OmeZarr.ReadVoxelSizeAsync(store, Group));
    }

    [Fact]
    public async Task Concurrent_ensures_of_one_image_agree_with_a_single_one()
    {
        var clean = NewStore("clean");
        await Ensure(clean);
        var store = NewStore("raced");
        var arrays = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Ensure(store))));
        Assert.All(arrays, a => Assert.Equal(Chunks, a.Chunks));
        AssertSameBlobs(await Blobs(clean), await Blobs(store));
    }

    [Fact]
    public async Task A_reader_racing_rewrites_of_a_chunk_sees_one_whole_version_or_the_other()
    {
        var store = NewStore("chunks");
        var array = await ZarrArray<ushort>.CreateAsync(store, "a", [8, 64, 64], [8, 64, 64], ZarrCompressor.None);
        var versions = new[] { (ushort)1111, (ushort)2222 };
        var writes = 60;
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < writes; i++)
            {
                var volume = new Volume<ushort>(8, 64, 64);
                volume.Data.AsSpan().Fill(versions[i % 2]);
                await array.WriteChunkAsync(0, 0, 0, volume);
            }
        });
        var reads = 0;
        while (!writer.IsCompleted || reads == 0)
        {
            var chunk = await array.ReadChunkAsync(0, 0, 0);
            var first = chunk.Data[0];
            Assert.True(Array.TrueForAll(chunk.Data, v => v == first), $"read {reads} mixes values of two writes");
            Assert.Contains(first, new ushort[] { 0, versions[0], versions[1] });
            reads++;
        }
        await writer;
        Assert.True(reads > 1, "the reader never overlapped the writer");
    }
}
