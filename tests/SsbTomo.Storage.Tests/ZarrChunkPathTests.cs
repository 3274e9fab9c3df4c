using System.Runtime.InteropServices;
using SsbTomo.Imaging;
using SsbTomo.TestSupport;
using ZstdSharp;

namespace SsbTomo.Storage.Tests;

/// <summary>
/// The chunk fast paths: chunks encoded straight from (and decoded straight into) the caller's array when they lie
/// contiguously in it, pooled buffers and zstd contexts reused across chunks and threads, and chunks written in parallel.
/// Every path must store the same bytes as the slow one and never let a reused buffer's old contents through.
/// </summary>
public sealed class ZarrChunkPathTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public ZarrChunkPathTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    public static TheoryData<ZarrCompressor> Compressors => [ZarrCompressor.Zstd, ZarrCompressor.ZstdFast, ZarrCompressor.Zlib, ZarrCompressor.None];

    [Theory]
    [MemberData(nameof(Compressors))]
    public async Task ParallelWrites_GiveTheSameBlobsAsOneChunkAtATime(ZarrCompressor compressor)
    {
        // Whole-slab chunks (encoded in place) and narrower ones (copied), with clipped edge chunks in every axis.
        foreach (int[] chunks in new[] { new[] { 3, 21, 23 }, [3, 8, 7] })
        {
            var data = Generators.Pattern<ushort>(14, 21, 23, seed: 4);
            var serial = await WriteAsync($"serial-{chunks[1]}", chunks, compressor, data, maxConcurrency: 1);
            var parallel = await WriteAsync($"parallel-{chunks[1]}", chunks, compressor, data, maxConcurrency: 4 * Environment.ProcessorCount);
            Assert.Equal(serial.Keys.Order(), parallel.Keys.Order());
            foreach (var (key, blob) in serial)
                Assert.True(blob.AsSpan().SequenceEqual(parallel[key]), $"chunk {key} differs between serial and parallel writes");
        }
    }

    [Fact]
    public async Task ZstdChunks_AreWhatAFreshContextWritesAtTheArraysLevel_EvenAfterOtherLevelsOnTheSameThreads()
    {
        var data = Generators.Pattern<ushort>(4, 16, 16, seed: 9);
        var atDefault = await ZarrArray<ushort>.CreateAsync(_store, "default", [4, 16, 16], [4, 16, 16]);
        // An array zarr-python created at another level keeps that level for our writes.
        var metadata = atDefault.Metadata with { CompressionLevel = 7 };
        await _store.WriteAsync("level7/.zarray", metadata.ToJson());
        var atSeven = await ZarrArray<ushort>.OpenAsync(_store, "level7");

        for (var round = 0; round < 3; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                await atDefault.WriteRegionAsync(0, 0, 0, data);
                await atSeven.WriteRegionAsync(0, 0, 0, data);
            })));
            var raw = MemoryMarshal.AsBytes(data.Data.AsSpan()).ToArray();
            Assert.Equal(FreshZstdFrame(raw, 1), await _store.ReadAsync("default/0.0.0"));
            Assert.Equal(FreshZstdFrame(raw, 7), await _store.ReadAsync("level7/0.0.0"));
        }
    }

    [Fact]
    public void NativeAndManagedZstd_ReadEachOthersFrames()
    {
        // Debian and Ubuntu always have libzstd1 (apt depends on it); without it the managed port is used and this
        // test says so instead of passing on one implementation only.
        Assert.True(NativeZstd.IsAvailable, "libzstd.so.1 did not load: apt-get install libzstd1");
        Assert.True(ZarrCodec.NativeZstdInUse);
        var raw = MemoryMarshal.AsBytes(Generators.Pattern<float>(6, 32, 32, seed: 5).Data.AsSpan()).ToArray();
        foreach (var level in new[] { 1, 3, 9 })
        {
            var native = FreshZstdFrame(raw, level);
            using var compressor = new Compressor(level);
            var managed = compressor.Wrap(raw).ToArray();
            using var decompressor = new Decompressor();
            Assert.Equal(raw, decompressor.Unwrap(native).ToArray());
            var decoded = new byte[raw.Length];
            using var context = new NativeZstd.DecompressionContext();
            Assert.Equal(raw.Length, NativeZstd.Decompress(context, managed, decoded));
            Assert.Equal(raw, decoded);
            // Both record the content size, which numcodecs needs to size its output.
            Assert.Equal((ulong)raw.Length, Decompressor.GetDecompressedSize(native));
            Assert.Equal((ulong)raw.Length, Decompressor.GetDecompressedSize(managed));
        }
    }

    [Fact]
    public async Task ChunksFromTheManagedZstd_ReadTheSameInCSharpAndZarrPython()
    {
        // A worker without libzstd writes with the managed port; everyone else must read its chunks unchanged.
        var data = Generators.Pattern<ushort>(5, 6, 7, seed: 6);
        var array = await ZarrArray<ushort>.CreateAsync(_store, "managed", [5, 6, 7], [5, 6, 7]);
        using (var compressor = new Compressor(array.Metadata.CompressionLevel))
            await _store.WriteAsync("managed/0.0.0", compressor.Wrap(MemoryMarshal.AsBytes(data.Data.AsSpan())).ToArray());
        Assert.Equal(data.Data, (await array.ReadRegionAsync(0, 5, 0, 6, 0, 7)).Data);
        var output = PythonOracle.Run("""
            import sys, zarr, numpy as np
            a = zarr.open_array(sys.argv[1] + "/managed", mode="r")[...]
            print(int(a.astype(np.uint64).sum()), int(a[4, 5, 6]))
            """, _root.Path);
        Assert.Equal($"{data.Data.Sum(v => (long)v)} {data[4, 5, 6]}", output.Trim());
    }

    /// <summary>What the zstd implementation this process writes with produces from a brand-new context.</summary>
    private static byte[] FreshZstdFrame(byte[] raw, int level)
    {
        if (!ZarrCodec.NativeZstdInUse)
        {
            using var compressor = new Compressor(level);
            return compressor.Wrap(raw).ToArray();
        }
        using var context = new NativeZstd.CompressionContext();
        var frame = new byte[NativeZstd.CompressBound(raw.Length)];
        return frame[..NativeZstd.Compress(context, raw, frame, level)];
    }

    [Theory]
    [MemberData(nameof(Compressors))]
    public async Task WholeSlabChunks_RoundTripThroughEveryRegionShape(ZarrCompressor compressor)
    {
        // Chunks span whole slices, so full-width regions decode straight into the result; the rest go through a buffer.
        var data = Generators.Pattern<float>(9, 6, 5, seed: 2);
        var array = await ZarrArray<float>.CreateAsync(_store, "slabs", [9, 6, 5], [2, 6, 5], compressor);
        await array.WriteRegionAsync(0, 0, 0, data);
        (int Z0, int Z1, int Y0, int Y1, int X0, int X1)[] regions =
        [
            (0, 9, 0, 6, 0, 5),  // everything: whole chunks in place, the last (clipped) one through a buffer
            (2, 6, 0, 6, 0, 5),  // chunk-aligned slab
            (1, 8, 0, 6, 0, 5),  // straddles chunk borders in z
            (4, 5, 2, 3, 0, 5),  // one row
            (3, 9, 1, 5, 2, 4),  // interior box
            (8, 9, 0, 6, 0, 5),  // only the clipped edge chunk
        ];
        foreach (var (z0, z1, y0, y1, x0, x1) in regions)
        {
            var region = await array.ReadRegionAsync(z0, z1, y0, y1, x0, x1);
            for (var z = z0; z < z1; z++)
                for (var y = y0; y < y1; y++)
                    for (var x = x0; x < x1; x++)
                        Assert.Equal(data[z, y, x], region[z - z0, y - y0, x - x0]);
        }
        for (var cz = 0; cz < 5; cz++)
        {
            var chunk = await array.ReadChunkAsync(cz, 0, 0);
            Assert.Equal(cz < 4 ? 2 : 1, chunk.Depth);
            for (var z = 0; z < chunk.Depth; z++)
                Assert.Equal(data[cz * 2 + z, 5, 4], chunk[z, 5, 4]);
        }
    }

    [Fact]
    public async Task ReusedBuffers_NeverLeakIntoStoredChunks()
    {
        // Dirty the pooled buffers with large values first, at the chunk size used below.
        var noise = new Volume<ushort>(8, 8, 8);
        noise.Data.AsSpan().Fill(0xBEEF);
        var dirty = await ZarrArray<ushort>.CreateAsync(_store, "dirty", [8, 8, 8], [4, 4, 4], ZarrCompressor.None);
        for (var i = 0; i < 4; i++)
        {
            await dirty.WriteRegionAsync(0, 0, 0, noise);
            await dirty.ReadRegionAsync(0, 8, 0, 8, 0, 8);
        }

        // Edge chunks and a partly covered fresh chunk: everything the data does not cover is stored as the fill value 0.
        var array = await ZarrArray<ushort>.CreateAsync(_store, "clean", [5, 5, 5], [4, 4, 4], ZarrCompressor.None);
        var patch = new Volume<ushort>(1, 2, 3);
        patch.Data.AsSpan().Fill(3);
        await array.WriteRegionAsync(1, 1, 1, patch);
        await array.WriteRegionAsync(4, 4, 4, new Volume<ushort>(1, 1, 1, [5]));
        var partial = MemoryMarshal.Cast<byte, ushort>((await _store.ReadAsync("clean/0.0.0"))!).ToArray();
        Assert.Equal(6, partial.Count(v => v == 3));
        Assert.Equal(58, partial.Count(v => v == 0));
        var edge = MemoryMarshal.Cast<byte, ushort>((await _store.ReadAsync("clean/1.1.1"))!).ToArray();
        Assert.Equal(5, edge[0]);
        Assert.All(edge.Skip(1), v => Assert.Equal(0, v));

        var back = await array.ReadRegionAsync(0, 5, 0, 5, 0, 5);
        Assert.Equal(6 * 3 + 5, back.Data.Sum(v => v));
    }

    [Fact]
    public async Task NeverWrittenChunks_ReadAsTheFillValue_AndPartlyWrittenOnesKeepIt()
    {
        // zarr-python arrays may have a non-zero fill_value; reads allocate their result without zeroing it, so every
        // value must come from a chunk or from the fill value.
        var created = await ZarrArray<ushort>.CreateAsync(_store, "filled", [40, 40, 40], [16, 16, 16]);
        await _store.WriteAsync("filled/.zarray", (created.Metadata with { FillValue = 7 }).ToJson());
        var array = await ZarrArray<ushort>.OpenAsync(_store, "filled");
        var patch = Generators.Pattern<ushort>(3, 4, 5, seed: 1);
        await array.WriteRegionAsync(20, 30, 35, patch);

        var all = await array.ReadRegionAsync(0, 40, 0, 40, 0, 40);
        for (var z = 0; z < 40; z++)
            for (var y = 0; y < 40; y++)
                for (var x = 0; x < 40; x++)
                {
                    var inPatch = z is >= 20 and < 23 && y is >= 30 and < 34 && x >= 35;
                    Assert.Equal(inPatch ? patch[z - 20, y - 30, x - 35] : (ushort)7, all[z, y, x]);
                }
        Assert.All((await array.ReadChunkAsync(0, 0, 0)).Data, v => Assert.Equal(7, v));
        Assert.Equal(7, (await array.ReadChunkAsync(1, 1, 2))[0, 0, 0]);
    }

    [Fact]
    public async Task CorruptChunk_IsReportedWithItsKey_AndTheNextReadOnTheSameThreadStillWorks()
    {
        var array = await ZarrArray<ushort>.CreateAsync(_store, "c", [4, 4, 4], [4, 4, 4]);
        var data = Generators.Pattern<ushort>(4, 4, 4);
        await array.WriteRegionAsync(0, 0, 0, data);
        var good = (await _store.ReadAsync("c/0.0.0"))!;

        await _store.WriteAsync("c/0.0.0", good[..(good.Length / 2)]);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => array.ReadRegionAsync(0, 4, 0, 4, 0, 4));
        Assert.Contains("c/0.0.0", error.Message);

        // A frame of a larger chunk must not overrun the destination either.
        var bigger = await ZarrArray<ushort>.CreateAsync(_store, "big", [4, 4, 8], [4, 4, 8]);
        await bigger.WriteRegionAsync(0, 0, 0, Generators.Pattern<ushort>(4, 4, 8));
        await _store.WriteAsync("c/0.0.0", (await _store.ReadAsync("big/0.0.0"))!);
        await Assert.ThrowsAsync<InvalidDataException>(() => array.ReadChunkAsync(0, 0, 0));

        await _store.WriteAsync("c/0.0.0", good);
        Assert.Equal(data.Data, (await array.ReadRegionAsync(0, 4, 0, 4, 0, 4)).Data);
    }

    private async Task<Dictionary<string, byte[]>> WriteAsync(string path, int[] chunks, ZarrCompressor compressor, Volume<ushort> data, int maxConcurrency)
    {
        var array = await ZarrArray<ushort>.CreateAsync(_store, path, [data.Depth, data.Height, data.Width], chunks, compressor);
        array.MaxConcurrency = maxConcurrency;
        await array.WriteRegionAsync(0, 0, 0, data);
        // A partly covered region too: read-modify-write of the chunks it touches.
        await array.WriteRegionAsync(1, 2, 3, Generators.Pattern<ushort>(5, 9, 11, seed: 8));
        var blobs = new Dictionary<string, byte[]>();
        await foreach (var key in _store.ListAsync(path + "/"))
            blobs[key[(path.Length + 1)..]] = (await _store.ReadAsync(key))!;
        return blobs;
    }
}
