using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

public sealed class ZarrArrayTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public ZarrArrayTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    public static TheoryData<ZarrCompressor> Compressors => [ZarrCompressor.Zstd, ZarrCompressor.ZstdFast, ZarrCompressor.Zlib, ZarrCompressor.None];

    [Theory]
    [MemberData(nameof(Compressors))]
    public Task RoundTrip_Byte(ZarrCompressor compressor) => RoundTrip<byte>(compressor);

    [Theory]
    [MemberData(nameof(Compressors))]
    public Task RoundTrip_UShort(ZarrCompressor compressor) => RoundTrip<ushort>(compressor);

    [Theory]
    [MemberData(nameof(Compressors))]
    public Task RoundTrip_UInt(ZarrCompressor compressor) => RoundTrip<uint>(compressor);

    [Theory]
    [MemberData(nameof(Compressors))]
    public Task RoundTrip_Float(ZarrCompressor compressor) => RoundTrip<float>(compressor);

    private async Task RoundTrip<T>(ZarrCompressor compressor) where T : unmanaged
    {
        int[] shape = [11, 13, 17];
        var created = await ZarrArray<T>.CreateAsync(_store, "a/img", shape, [4, 5, 6], compressor);
        var full = Generators.Pattern<T>(11, 13, 17);
        await created.WriteRegionAsync(0, 0, 0, full);

        var reopened = await ZarrArray<T>.OpenAsync(_store, "a/img");
        Assert.Equal(shape, reopened.Shape);
        Assert.Equal([4, 5, 6], reopened.Chunks);
        Assert.Equal([3, 3, 3], reopened.ChunkGrid);
        Assert.Equal(compressor, reopened.Compressor);
        Assert.Equal(full.Data, (await reopened.ReadRegionAsync(0, 11, 0, 13, 0, 17)).Data);

        // A region that straddles chunk borders, not aligned to anything.
        var region = await reopened.ReadRegionAsync(3, 10, 2, 12, 5, 16);
        AssertRegionMatches(region, 3, 2, 5, (z, y, x) => full[z, y, x]);

        // Partial overwrite: read-modify-write of touched chunks, neighbours untouched.
        var patch = Generators.Pattern<T>(3, 4, 7, seed: 5);
        await reopened.WriteRegionAsync(7, 9, 9, patch);
        var after = await reopened.ReadRegionAsync(0, 11, 0, 13, 0, 17);
        for (var z = 0; z < 11; z++)
            for (var y = 0; y < 13; y++)
                for (var x = 0; x < 17; x++)
                {
                    var inPatch = z is >= 7 and < 10 && y is >= 9 and < 13 && x is >= 9 and < 16;
                    Assert.Equal(inPatch ? patch[z - 7, y - 9, x - 9] : full[z, y, x], after[z, y, x]);
                }

        // 27 chunks, each a blob, plus .zarray.
        var keys = new List<string>();
        await foreach (var key in _store.ListAsync("a/img/"))
            keys.Add(key);
        Assert.Equal(28, keys.Count);
        Assert.Contains("a/img/2.2.2", keys);
    }

    private static void AssertRegionMatches<T>(Volume<T> region, int z0, int y0, int x0, Func<int, int, int, T> expected) where T : unmanaged
    {
        for (var z = 0; z < region.Depth; z++)
            for (var y = 0; y < region.Height; y++)
                for (var x = 0; x < region.Width; x++)
                    Assert.Equal(expected(z + z0, y + y0, x + x0), region[z, y, x]);
    }

    [Fact]
    public async Task MissingChunks_ReadAsZero()
    {
        var array = await ZarrArray<ushort>.CreateAsync(_store, "sparse", [10, 10, 10], [4, 4, 4]);
        var block = Generators.Pattern<ushort>(4, 4, 4);
        await array.WriteChunkAsync(1, 1, 1, block);
        var all = await array.ReadRegionAsync(0, 10, 0, 10, 0, 10);
        Assert.Equal(block.Data.Select(v => (long)v).Sum(), all.Data.Select(v => (long)v).Sum());
        Assert.Equal(block[0, 0, 0], all[4, 4, 4]);
        Assert.Equal(0, all[0, 0, 0]);
        Assert.Equal(0, all[9, 9, 9]);
        Assert.Equal(new ushort[8], (await array.ReadChunkAsync(2, 2, 2)).Data);
    }

    [Fact]
    public async Task EdgeChunks_AreStoredFullSizeAndReadBackClipped()
    {
        var array = await ZarrArray<byte>.CreateAsync(_store, "edge", [5, 5, 5], [4, 4, 4], ZarrCompressor.None);
        var edge = Generators.Pattern<byte>(1, 1, 1);
        await array.WriteChunkAsync(1, 1, 1, edge);
        var blob = await _store.ReadAsync("edge/1.1.1");
        Assert.Equal(64, blob!.Length);
        Assert.Equal(edge[0, 0, 0], blob[0]);
        Assert.All(blob.Skip(1), b => Assert.Equal(0, b));
        var readBack = await array.ReadChunkAsync(1, 1, 1);
        Assert.Equal((1, 1, 1), (readBack.Depth, readBack.Height, readBack.Width));

        // The full chunk shape is accepted too; its out-of-array part is stored as fill value regardless.
        var fullShaped = new Volume<byte>(4, 4, 4);
        fullShaped.Data.AsSpan().Fill(7);
        await array.WriteChunkAsync(1, 1, 1, fullShaped);
        blob = await _store.ReadAsync("edge/1.1.1");
        Assert.Equal(7, blob![0]);
        Assert.Equal(63, blob.Count(b => b == 0));

        await Assert.ThrowsAsync<ArgumentException>(() => array.WriteChunkAsync(1, 1, 1, new Volume<byte>(2, 2, 2)));
    }

    [Theory]
    [MemberData(nameof(Compressors))]
    public async Task SameInput_GivesByteIdenticalBlobs(ZarrCompressor compressor)
    {
        var data = Generators.Pattern<ushort>(9, 10, 11);
        async Task<Dictionary<string, byte[]>> WriteOnce(string path)
        {
            var array = await ZarrArray<ushort>.CreateAsync(_store, path, [9, 10, 11], [4, 4, 4], compressor);
            await array.WriteRegionAsync(0, 0, 0, data);
            var blobs = new Dictionary<string, byte[]>();
            await foreach (var key in _store.ListAsync(path + "/"))
                blobs[key[(path.Length + 1)..]] = (await _store.ReadAsync(key))!;
            return blobs;
        }

        var first = await WriteOnce("first");
        var second = await WriteOnce("second");
        var rewrittenFirst = await WriteOnce("first");
        Assert.Equal(first.Keys.Order(), second.Keys.Order());
        foreach (var key in first.Keys)
        {
            Assert.Equal(first[key], second[key]);
            Assert.Equal(first[key], rewrittenFirst[key]);
        }
    }

    [Fact]
    public async Task OpenWithWrongType_ExplainsTheMismatch()
    {
        await ZarrArray<ushort>.CreateAsync(_store, "u16", [2, 2, 2], [2, 2, 2]);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ZarrArray<byte>.OpenAsync(_store, "u16"));
        Assert.Contains("<u2", error.Message);
        Assert.Contains("Byte", error.Message);
        await Assert.ThrowsAsync<InvalidDataException>(() => ZarrArray<byte>.OpenAsync(_store, "nothing-here"));
    }

    [Fact]
    public async Task RegionOutsideShape_IsRejected()
    {
        var array = await ZarrArray<byte>.CreateAsync(_store, "r", [4, 4, 4], [2, 2, 2]);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => array.ReadRegionAsync(0, 5, 0, 4, 0, 4));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => array.WriteRegionAsync(3, 0, 0, new Volume<byte>(2, 1, 1)));
    }

    [Fact]
    public async Task ZarrayDocument_IsSpelledLikeNumcodecs()
    {
        await ZarrArray<float>.CreateAsync(_store, "m", [3, 4, 5], [1, 4, 5], ZarrCompressor.Zstd);
        var json = System.Text.Json.JsonDocument.Parse((await _store.ReadAsync("m/.zarray"))!).RootElement;
        Assert.Equal(2, json.GetProperty("zarr_format").GetInt32());
        Assert.Equal("<f4", json.GetProperty("dtype").GetString());
        Assert.Equal("zstd", json.GetProperty("compressor").GetProperty("id").GetString());
        Assert.Equal(1, json.GetProperty("compressor").GetProperty("level").GetInt32());
        Assert.Equal(".", json.GetProperty("dimension_separator").GetString());
        Assert.Equal("C", json.GetProperty("order").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.GetProperty("filters").ValueKind);
    }

    [Theory]
    [InlineData("{\"id\":\"zstd\",\"level\":-4}", ZarrCompressor.ZstdFast, -4)]
    [InlineData("{\"id\":\"zstd\",\"level\":-2}", ZarrCompressor.Zstd, -2)]
    [InlineData("{\"id\":\"zstd\",\"level\":0}", ZarrCompressor.Zstd, 0)]
    [InlineData("{\"id\":\"zstd\"}", ZarrCompressor.Zstd, 1)]
    [InlineData("{\"id\":\"zlib\"}", ZarrCompressor.Zlib, 5)]
    public async Task Zstd_levels_below_zero_are_read_as_written_and_a_missing_level_is_the_default(string compressorJson, ZarrCompressor expected, int level)
    {
        // numcodecs writes zstd's fast modes as negative levels; a level that is missing is the codec's default.
        var zarray = $$"""{"chunks":[2,3,4],"compressor":{{compressorJson}},"dtype":"<u2","fill_value":0,"filters":null,"order":"C","shape":[3,5,7],"zarr_format":2}""";
        await _store.WriteAsync("p/.zarray", System.Text.Encoding.UTF8.GetBytes(zarray));
        var array = await ZarrArray<ushort>.OpenAsync(_store, "p");
        Assert.Equal(expected, array.Compressor);
        Assert.Equal(level, array.Metadata.CompressionLevel);
        var data = Generators.Pattern<ushort>(3, 5, 7);
        await array.WriteRegionAsync(0, 0, 0, data);
        Assert.Equal(data.Data, (await (await ZarrArray<ushort>.OpenAsync(_store, "p")).ReadRegionAsync(0, 3, 0, 5, 0, 7)).Data);
    }

    [Fact]
    public async Task Fast_zstd_is_written_as_zstd_at_level_minus_4_and_reopens_as_it()
    {
        var created = await ZarrArray<ushort>.CreateAsync(_store, "f", [3, 4, 5], [1, 4, 5], ZarrCompressor.ZstdFast);
        var json = System.Text.Json.JsonDocument.Parse((await _store.ReadAsync("f/.zarray"))!).RootElement;
        Assert.Equal("zstd", json.GetProperty("compressor").GetProperty("id").GetString());
        Assert.Equal(-4, json.GetProperty("compressor").GetProperty("level").GetInt32());
        var reopened = await ZarrArray<ushort>.OpenAsync(_store, "f");
        Assert.Equal(ZarrCompressor.ZstdFast, reopened.Compressor);
        Assert.Equal(created.Metadata.ToJson(), reopened.Metadata.ToJson());
    }
}
