using System.Text.Json.Nodes;
using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

public sealed class OmeZarrTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public OmeZarrTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task CreateImage_WritesLevelsWithHalvedShapesAndClippedChunks()
    {
        var voxel = new VoxelSize(XNm: 5, YNm: 6, ZNm: 20);
        var level0 = await OmeZarr.CreateImageAsync<byte>(_store, "g", "labels", [9, 40, 33], [8, 16, 16], voxel, levels: 4);
        Assert.Equal("g/0", level0.Path);
        Assert.Equal(4, await OmeZarr.ReadLevelCountAsync(_store, "g"));
        var level3 = await OmeZarr.OpenLevelAsync<byte>(_store, "g", 3);
        Assert.Equal([2, 5, 5], level3.Shape);
        Assert.Equal([2, 5, 5], level3.Chunks);
        var level1 = await OmeZarr.OpenLevelAsync<byte>(_store, "g", 1);
        Assert.Equal([5, 20, 17], level1.Shape);
        Assert.Equal([5, 16, 16], level1.Chunks);
        Assert.Equal(voxel, await OmeZarr.ReadVoxelSizeAsync(_store, "g"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => OmeZarr.OpenLevelAsync<byte>(_store, "g", 4));
        await Assert.ThrowsAsync<InvalidDataException>(() => OmeZarr.OpenLevelAsync<ushort>(_store, "g", 0));
        Assert.Equal("{\n    \"zarr_format\": 2\n}\n", System.Text.Encoding.UTF8.GetString((await _store.ReadAsync("g/.zgroup"))!));
    }

    [Fact]
    public async Task ImageLabelAndProvenance_AreMergedIntoAttributes()
    {
        await OmeZarr.CreateImageAsync<byte>(_store, "labels.zarr", "labels", [4, 4, 4], [4, 4, 4], VoxelSize.Isotropic(10),
            extraAttributes: new Dictionary<string, JsonNode?> { ["ssbtomo"] = new JsonObject { ["job"] = "j1" } });
        var imageLabel = OmeZarr.ImageLabel([new LabelColor(4, 0, 0, 0, 0, "void"), new LabelColor(1, 200, 50, 50, Name: "nmc")]);
        await OmeZarr.MergeAttributesAsync(_store, "labels.zarr", new Dictionary<string, JsonNode?> { ["image-label"] = imageLabel });

        var attributes = await OmeZarr.ReadAttributesAsync(_store, "labels.zarr");
        Assert.Equal("j1", attributes["ssbtomo"]!["job"]!.GetValue<string>());
        Assert.NotNull(attributes["multiscales"]);
        var colors = attributes["image-label"]!["colors"]!.AsArray();
        Assert.Equal(1, colors[0]!["label-value"]!.GetValue<int>());
        Assert.Equal([200, 50, 50, 255], colors[0]!["rgba"]!.AsArray().Select(v => v!.GetValue<int>()));
        Assert.Equal("void", attributes["image-label"]!["properties"]![1]!["name"]!.GetValue<string>());
        Assert.Equal("0.4", attributes["image-label"]!["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreatingTheSameImageTwice_WritesIdenticalMetadata()
    {
        async Task<byte[][]> Create()
        {
            await OmeZarr.CreateImageAsync<ushort>(_store, "x", "raw", [7, 9, 11], [4, 4, 4], new VoxelSize(3, 4, 5), levels: 2);
            return [(await _store.ReadAsync("x/.zattrs"))!, (await _store.ReadAsync("x/0/.zarray"))!, (await _store.ReadAsync("x/1/.zarray"))!];
        }
        Assert.Equal(await Create(), await Create());
    }

    [Fact]
    public async Task GroupWithoutMultiscales_IsReportedClearly()
    {
        await _store.WriteAsync("plain/.zattrs", "{}"u8.ToArray());
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => OmeZarr.ReadVoxelSizeAsync(_store, "plain"));
        Assert.Contains("multiscales", error.Message);
    }
}
