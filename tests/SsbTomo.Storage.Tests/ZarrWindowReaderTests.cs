using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

public sealed class ZarrWindowReaderTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public ZarrWindowReaderTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Windows_read_in_raster_order_equal_region_reads_and_decode_each_chunk_once_per_row_of_tiles()
    {
        int[] shape = [11, 37, 45];
        var array = await ZarrArray<ushort>.CreateAsync(_store, "v", shape, [4, 8, 8], ZarrCompressor.Zstd);
        var random = new Random(5);
        var volume = new Volume<ushort>(shape[0], shape[1], shape[2]);
        for (var i = 0; i < volume.Data.Length; i++) volume.Data[i] = (ushort)random.Next(65536);
        await array.WriteRegionAsync(0, 0, 0, volume);

        var slab = Halo.Expand(shape[0], 4, 8, haloSlices: 3);
        var reader = new ZarrWindowReader<ushort>(array);
        var tiles = TileGrid.Plan(shape[1], shape[2], 16, 16, halo: 3);
        foreach (var tile in tiles)
        {
            var expected = await array.ReadRegionAsync(slab.SlabZ0, slab.SlabZ1, tile.ReadY0, tile.ReadY1, tile.ReadX0, tile.ReadX1);
            Assert.Equal(expected.Data, (await reader.ReadAsync(slab, tile)).Data);
        }
        // Slices 1..10 touch 3 z-chunks; the three rows of tiles (with their halo) touch chunk rows 0-2, 1-4 and 3-4, and
        // all 6 chunk columns: at most 3 x 6 x (3 + 4 + 2) decodes when each chunk is decoded once per row of tiles,
        // where reading each window on its own decodes every chunk it overlaps.
        var separately = tiles.Sum(t => 3 * ((t.ReadY1 - 1) / 8 - t.ReadY0 / 8 + 1) * ((t.ReadX1 - 1) / 8 - t.ReadX0 / 8 + 1));
        Assert.InRange(reader.ChunksDecoded, 3 * 5 * 6, 3 * 6 * (3 + 4 + 2));
        Assert.True(reader.ChunksDecoded < separately * 2 / 3, $"{reader.ChunksDecoded} decodes, {separately} reading windows separately");
    }
}
