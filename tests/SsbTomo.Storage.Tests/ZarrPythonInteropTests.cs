using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

/// <summary>zarr-python 2.13 + numcodecs (Debian python3-zarr) as the independent reader and writer.</summary>
public sealed class ZarrPythonInteropTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public ZarrPythonInteropTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    private const string ReadOmeZarrScript = """
        import json, sys, zarr, numpy as np
        group = zarr.open_group(sys.argv[1], mode="r")
        ms = group.attrs["multiscales"][0]
        level0 = group[ms["datasets"][0]["path"]]
        data = level0[...]
        print(json.dumps({
            "version": ms["version"],
            "axes": [a["name"] + ":" + a["unit"] for a in ms["axes"]],
            "scales": [d["coordinateTransformations"][0]["scale"] for d in ms["datasets"]],
            "paths": [d["path"] for d in ms["datasets"]],
            "level1_shape": list(group["1"].shape),
            "compressor": level0.compressor.codec_id,
            "dtype": str(data.dtype),
            "shape": list(data.shape),
            "sum": int(data.astype(np.uint64).sum()),
            "v_0_0_0": int(data[0, 0, 0]),
            "v_last": int(data[-1, -1, -1]),
            "v_mid": int(data[5, 7, 9]),
            "ssbtomo": group.attrs["ssbtomo"],
        }))
        """;

    [Theory]
    [InlineData(ZarrCompressor.Zstd)]
    [InlineData(ZarrCompressor.ZstdFast)]
    [InlineData(ZarrCompressor.Zlib)]
    [InlineData(ZarrCompressor.BloscZstd)]
    public async Task OmeZarrWrittenInCSharp_OpensInZarrPython(ZarrCompressor compressor)
    {
        var voxel = new VoxelSize(XNm: 10, YNm: 12, ZNm: 30);
        var extra = new Dictionary<string, JsonNode?> { ["ssbtomo"] = new JsonObject { ["stage"] = "ingest" } };
        var level0 = await OmeZarr.CreateImageAsync<ushort>(_store, "jobs/j1/raw.zarr", "raw", [11, 13, 17], [4, 8, 8], voxel,
            levels: 2, compressor: compressor, extraAttributes: extra);
        var data = Generators.Pattern<ushort>(11, 13, 17);
        await level0.WriteRegionAsync(0, 0, 0, data);

        var output = PythonOracle.Run(ReadOmeZarrScript, Path.Combine(_root.Path, "jobs/j1/raw.zarr"));
        var result = JsonDocument.Parse(output).RootElement;

        Assert.Equal("0.4", result.GetProperty("version").GetString());
        Assert.Equal(["z:micrometer", "y:micrometer", "x:micrometer"], result.GetProperty("axes").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(["0", "1"], result.GetProperty("paths").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal([0.03, 0.012, 0.01], result.GetProperty("scales")[0].EnumerateArray().Select(a => a.GetDouble()));
        Assert.Equal([0.06, 0.024, 0.02], result.GetProperty("scales")[1].EnumerateArray().Select(a => a.GetDouble()));
        Assert.Equal([6, 7, 9], result.GetProperty("level1_shape").EnumerateArray().Select(a => a.GetInt32()));
        Assert.Equal(compressor switch { ZarrCompressor.Zlib => "zlib", ZarrCompressor.BloscZstd => "blosc", _ => "zstd" }, result.GetProperty("compressor").GetString());
        Assert.Equal("uint16", result.GetProperty("dtype").GetString());
        Assert.Equal([11, 13, 17], result.GetProperty("shape").EnumerateArray().Select(a => a.GetInt32()));
        Assert.Equal(data.Data.Sum(v => (long)v), result.GetProperty("sum").GetInt64());
        Assert.Equal(data[0, 0, 0], result.GetProperty("v_0_0_0").GetInt32());
        Assert.Equal(data[10, 12, 16], result.GetProperty("v_last").GetInt32());
        Assert.Equal(data[5, 7, 9], result.GetProperty("v_mid").GetInt32());
        Assert.Equal("ingest", result.GetProperty("ssbtomo").GetProperty("stage").GetString());
    }

    [Fact]
    public async Task FloatAndByteArraysWrittenInCSharp_MatchZarrPythonValues()
    {
        var floats = await ZarrArray<float>.CreateAsync(_store, "f", [5, 6, 7], [2, 4, 3]);
        var floatData = Generators.Pattern<float>(5, 6, 7);
        await floats.WriteRegionAsync(0, 0, 0, floatData);
        var bytes = await ZarrArray<byte>.CreateAsync(_store, "b", [5, 6, 7], [3, 3, 3], ZarrCompressor.Zlib);
        var byteData = Generators.Pattern<byte>(5, 6, 7);
        await bytes.WriteRegionAsync(0, 0, 0, byteData);
        var uints = await ZarrArray<uint>.CreateAsync(_store, "u", [5, 6, 7], [5, 6, 7], ZarrCompressor.None);
        var uintData = Generators.Pattern<uint>(5, 6, 7);
        await uints.WriteRegionAsync(0, 0, 0, uintData);

        var output = PythonOracle.Run("""
            import sys, zarr, numpy as np
            root = sys.argv[1]
            f = zarr.open_array(root + "/f", mode="r")[...]
            b = zarr.open_array(root + "/b", mode="r")[...]
            u = zarr.open_array(root + "/u", mode="r")[...]
            print(f.dtype, b.dtype, u.dtype)
            print(repr(float(f.astype(np.float64).sum())), int(b.astype(np.int64).sum()), int(u.astype(np.uint64).sum()))
            print(repr(float(f[4, 5, 6])), int(b[4, 5, 6]), int(u[4, 5, 6]))
            """, _root.Path);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("float32 uint8 uint32", lines[0].Trim());
        var sums = lines[1].Split(' ');
        Assert.Equal(floatData.Data.Sum(v => (double)v), double.Parse(sums[0], CultureInfo.InvariantCulture), 6);
        Assert.Equal(byteData.Data.Sum(v => (long)v), long.Parse(sums[1], CultureInfo.InvariantCulture));
        Assert.Equal(uintData.Data.Aggregate(0UL, (acc, v) => acc + v), ulong.Parse(sums[2], CultureInfo.InvariantCulture));
        var corner = lines[2].Split(' ');
        Assert.Equal(floatData[4, 5, 6], float.Parse(corner[0], CultureInfo.InvariantCulture));
        Assert.Equal(byteData[4, 5, 6], byte.Parse(corner[1], CultureInfo.InvariantCulture));
        Assert.Equal(uintData[4, 5, 6], uint.Parse(corner[2], CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("zlib")]
    [InlineData("blosc")]
    public async Task ArraysWrittenByZarrPython_ReadInCSharp(string codec)
    {
        PythonOracle.Run("""
            import sys, zarr, numpy as np, numcodecs
            root, codec = sys.argv[1], sys.argv[2]
            compressor = {"zstd": numcodecs.Zstd(level=5), "zlib": numcodecs.Zlib(level=1),
                          "blosc": numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)}[codec]
            z, y, x = np.meshgrid(np.arange(9), np.arange(10), np.arange(11), indexing="ij")
            u16 = ((z * 1000 + y * 37 + x * 3) % 65521).astype(np.uint16)
            zarr.open_array(root + "/u16", mode="w", shape=u16.shape, chunks=(4, 4, 4), dtype="<u2", compressor=compressor)[...] = u16
            f32 = (z * 0.5 + y * 0.25 - x * 0.125).astype(np.float32)
            zarr.open_array(root + "/f32", mode="w", shape=f32.shape, chunks=(3, 5, 4), dtype="<f4", compressor=compressor)[...] = f32
            u8 = ((z + y + x) % 256).astype(np.uint8)
            a = zarr.open_array(root + "/u8", mode="w", shape=u8.shape, chunks=(2, 3, 20), dtype="|u1", compressor=compressor)
            a[2:7, 1:9, 0:11] = u8[2:7, 1:9, 0:11]
            """, _root.Path, codec);

        var u16 = await ZarrArray<ushort>.OpenAsync(_store, "u16");
        Assert.Equal(codec switch { "zstd" => ZarrCompressor.Zstd, "blosc" => ZarrCompressor.BloscZstd, _ => ZarrCompressor.Zlib }, u16.Compressor);
        var u16Values = await u16.ReadRegionAsync(0, 9, 0, 10, 0, 11);
        var f32Values = await (await ZarrArray<float>.OpenAsync(_store, "f32")).ReadRegionAsync(1, 8, 2, 10, 3, 11);
        var u8Values = await (await ZarrArray<byte>.OpenAsync(_store, "u8")).ReadRegionAsync(0, 9, 0, 10, 0, 11);
        for (var z = 0; z < 9; z++)
            for (var y = 0; y < 10; y++)
                for (var x = 0; x < 11; x++)
                {
                    Assert.Equal((ushort)((z * 1000 + y * 37 + x * 3) % 65521), u16Values[z, y, x]);
                    if (z is >= 1 and < 8 && y >= 2 && x >= 3)
                        Assert.Equal((float)(z * 0.5 + y * 0.25 - x * 0.125), f32Values[z - 1, y - 2, x - 3]);
                    var written = z is >= 2 and < 7 && y is >= 1 and < 9;
                    Assert.Equal(written ? (byte)((z + y + x) % 256) : (byte)0, u8Values[z, y, x]);
                }
    }
}
