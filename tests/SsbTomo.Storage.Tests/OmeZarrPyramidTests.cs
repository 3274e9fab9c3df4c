using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Storage.Images;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

/// <summary>Pyramids written one output chunk at a time equal the whole-volume downsampling, for odd shapes and chunkings.</summary>
public sealed class OmeZarrPyramidTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public OmeZarrPyramidTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(9, 40, 33, 8, 16, 16, 3)]
    [InlineData(5, 17, 70, 2, 5, 7, 4)]
    [InlineData(1, 1, 9, 1, 1, 4, 3)]
    [InlineData(12, 30, 30, 12, 30, 30, 2)]
    [InlineData(7, 11, 13, 2, 2, 4, 3)] // even chunks, odd extents: every output chunk from its source chunks one at a time
    public async Task Chunk_by_chunk_levels_equal_whole_volume_downsampling(int depth, int height, int width, int cz, int cy, int cx, int levels)
    {
        var voxel = new VoxelSize(XNm: 5, YNm: 6, ZNm: 20);
        var grey = await OmeZarr.CreateImageAsync<ushort>(_store, "img", "img", [depth, height, width], [cz, cy, cx], voxel);
        var labels = await OmeZarr.CreateImageAsync<byte>(_store, "img/labels/phases", "phases", [depth, height, width], [cz, cy, cx], voxel);
        var random = new Random(depth * 1000 + width);
        var greyData = new Volume<ushort>(depth, height, width, [.. Enumerable.Range(0, depth * height * width).Select(_ => (ushort)random.Next(65536))]);
        var labelData = new Volume<byte>(depth, height, width, [.. Enumerable.Range(0, depth * height * width).Select(_ => (byte)random.Next(5))]);
        await grey.WriteRegionAsync(0, 0, 0, greyData);
        await labels.WriteRegionAsync(0, 0, 0, labelData);
        Assert.Equal(1, await OmeZarr.ReadLevelCountAsync(_store, "img"));

        await OmeZarr.WritePyramidAsync<ushort>(_store, "img", levels, ImagePyramid.DownsampleMean, maxParallel: 3);
        await OmeZarr.WritePyramidAsync<byte>(_store, "img/labels/phases", levels, LabelPyramid.DownsampleMode, maxParallel: 3);

        Assert.Equal(levels, await OmeZarr.ReadLevelCountAsync(_store, "img"));
        Assert.Equal(voxel, await OmeZarr.ReadVoxelSizeAsync(_store, "img"));
        var (expectedGrey, expectedLabels) = (greyData, labelData);
        for (var level = 1; level < levels; level++)
        {
            expectedGrey = ImagePyramid.DownsampleMean(expectedGrey);
            expectedLabels = LabelPyramid.DownsampleMode(expectedLabels);
            var g = await OmeZarr.OpenLevelAsync<ushort>(_store, "img", level);
            var l = await OmeZarr.OpenLevelAsync<byte>(_store, "img/labels/phases", level);
            Assert.Equal(OmeZarr.LevelShape([depth, height, width], level), g.Shape);
            Assert.Equal(expectedGrey.Data, (await g.ReadRegionAsync(0, g.Shape[0], 0, g.Shape[1], 0, g.Shape[2])).Data);
            Assert.Equal(expectedLabels.Data, (await l.ReadRegionAsync(0, l.Shape[0], 0, l.Shape[1], 0, l.Shape[2])).Data);
        }

        // Written again (a redelivered reconstruction), every blob keeps its bytes.
        var before = await SnapshotAsync();
        await OmeZarr.WritePyramidAsync<ushort>(_store, "img", levels, ImagePyramid.DownsampleMean);
        await OmeZarr.WritePyramidAsync<byte>(_store, "img/labels/phases", levels, LabelPyramid.DownsampleMode);
        Assert.Equal(before, await SnapshotAsync());
        // A stage that ensures its full-resolution output afterwards (a redelivered segmentation chunk) keeps the pyramid.
        await OmeZarr.EnsureImageAsync<byte>(_store, "img/labels/phases", "phases", [depth, height, width], [cz, cy, cx], voxel);
        Assert.Equal(before, await SnapshotAsync());

        await OmeZarr.WriteLabelsGroupAsync(_store, "img", ["phases"]);
        await OmeZarr.MergeAttributesAsync(_store, "img/labels/phases", new Dictionary<string, System.Text.Json.Nodes.JsonNode?>
        {
            ["image-label"] = OmeZarr.ImageLabel([new LabelColor(0, 0, 0, 0, 0, "outside"), new LabelColor(1, 31, 119, 180, Name: "nmc")], "../../"),
        });
        // Checked and read by zarr-python: one line per level of the image and of its label image.
        var lines = NgffOracle.Inspect(Path.Combine(_root.Path, "img")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 * levels, lines.Length);
    }

    [Theory]
    [InlineData(9, 40, 33, 8, 16, 16, 4)]
    [InlineData(5, 17, 70, 2, 5, 7, 18)] // 5-row chunks cut the rows: a 2x2 block may straddle two, so the region is read whole
    [InlineData(1, 1, 9, 1, 1, 4, 4)] // an odd chunk that is the whole axis cuts nothing
    public async Task An_output_chunk_holds_one_source_chunk_at_a_time_where_the_chunk_boundaries_are_even(int depth, int height, int width,
        int cz, int cy, int cx, int expected)
    {
        var array = await OmeZarr.CreateImageAsync<ushort>(_store, "m", "m", [depth, height, width], [cz, cy, cx], VoxelSize.Isotropic(10));
        Assert.Equal(expected, OmeZarr.PyramidChunksPerOutputChunk(array));
    }

    private async Task<SortedDictionary<string, string>> SnapshotAsync()
    {
        var blobs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await foreach (var key in _store.ListAsync("img/"))
            blobs[key] = Convert.ToHexString((await _store.ReadAsync(key))!);
        return blobs;
    }

    [Fact]
    public async Task Orthogonal_slices_are_the_planes_of_the_volume()
    {
        var array = await OmeZarr.CreateImageAsync<ushort>(_store, "s", "s", [5, 7, 9], [2, 3, 4], VoxelSize.Isotropic(10));
        var data = new Volume<ushort>(5, 7, 9, [.. Enumerable.Range(0, 5 * 7 * 9).Select(i => (ushort)i)]);
        await array.WriteRegionAsync(0, 0, 0, data);
        var xy = await OrthogonalSlice.ReadAsync(array, SlicePlane.Xy, 3);
        var xz = await OrthogonalSlice.ReadAsync(array, SlicePlane.Xz, 6);
        var yz = await OrthogonalSlice.ReadAsync(array, SlicePlane.Yz, 8);
        Assert.Equal((7, 9), (xy.Height, xy.Width));
        Assert.Equal((5, 9), (xz.Height, xz.Width));
        Assert.Equal((5, 7), (yz.Height, yz.Width));
        Assert.Equal(data[3, 4, 5], xy[4, 5]);
        Assert.Equal(data[2, 6, 5], xz[2, 5]);
        Assert.Equal(data[4, 1, 8], yz[4, 1]);
        Assert.Equal(2, OrthogonalSlice.MiddleIndex(array, SlicePlane.Xy));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => OrthogonalSlice.ReadAsync(array, SlicePlane.Yz, 9));
    }

    [Fact]
    public void Rgb_png_decodes_in_pillow_to_the_same_pixels()
    {
        var random = new Random(3);
        var rgb = new byte[3 * 5 * 7];
        random.NextBytes(rgb);
        var path = Path.Combine(_root.Path, "rgb.png");
        File.WriteAllBytes(path, PngImage.EncodeRgb(rgb, 5, 7));
        var decoded = PythonOracle.Run("""
            import sys
            from PIL import Image
            im = Image.open(sys.argv[1]); print(im.mode, im.size[0], im.size[1]); print(' '.join(map(str, im.tobytes())))
            """, path).Split('\n');
        Assert.Equal("RGB 7 5", decoded[0]);
        Assert.Equal(rgb, decoded[1].Split(' ').Select(byte.Parse).ToArray());
        Assert.Throws<ArgumentException>(() => PngImage.EncodeRgb(rgb, 5, 8));
    }
}
