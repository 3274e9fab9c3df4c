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

    /// <summary>A zstd array of random bytes, so a value copied from the wrong place shows.</summary>
    private async Task<ZarrArray<T>> RandomArrayAsync<T>(string path, int[] shape, int[] chunks, int seed) where T : unmanaged
    {
        var array = await ZarrArray<T>.CreateAsync(_store, path, shape, chunks, ZarrCompressor.Zstd);
        var volume = new Volume<T>(shape[0], shape[1], shape[2]);
        new Random(seed).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(volume.Data.AsSpan()));
        await array.WriteRegionAsync(0, 0, 0, volume);
        return array;
    }

    [Fact]
    public async Task Windows_read_in_raster_order_equal_region_reads_and_decode_each_chunk_once_per_row_of_tiles()
    {
        int[] shape = [11, 37, 45];
        var array = await RandomArrayAsync<ushort>("v", shape, [4, 8, 8], seed: 5);

        var slab = Halo.Expand(shape[0], 4, 8, haloSlices: 3);
        var reader = new ZarrWindowReader<ushort>(array);
        var tiles = TileGrid.Plan(shape[1], shape[2], 16, 16, halo: 3);
        for (var i = 0; i < tiles.Count; i++)
        {
            var tile = tiles[i];
            TileWindow? next = i + 1 < tiles.Count ? tiles[i + 1] : null;
            var expected = await array.ReadRegionAsync(slab.SlabZ0, slab.SlabZ1, tile.ReadY0, tile.ReadY1, tile.ReadX0, tile.ReadX1);
            Assert.Equal(expected.Data, (await reader.ReadAsync(slab, tile, next)).Data);
            // Between reads it holds no more than the next window's part of what it decoded, nothing after the last.
            var nextVoxels = next is { } n ? (long)slab.SlabSlices * n.ReadHeight * n.ReadWidth : 0;
            Assert.InRange(reader.HeldVoxels, 0, nextVoxels);
        }
        Assert.Equal(0, reader.HeldVoxels);
        // Slices 1..10 touch 3 z-chunks; the three rows of tiles (with their halo) touch chunk rows 0-2, 1-4 and 3-4, and
        // all 6 chunk columns: at most 3 x 6 x (3 + 4 + 2) decodes when each chunk is decoded once per row of tiles,
        // where reading each window on its own decodes every chunk it overlaps.
        var separately = tiles.Sum(t => 3 * ((t.ReadY1 - 1) / 8 - t.ReadY0 / 8 + 1) * ((t.ReadX1 - 1) / 8 - t.ReadX0 / 8 + 1));
        Assert.InRange(reader.ChunksDecoded, 3 * 5 * 6, 3 * 6 * (3 + 4 + 2));
        Assert.True(reader.ChunksDecoded < separately * 2 / 3, $"{reader.ChunksDecoded} decodes, {separately} reading windows separately");
    }

    [Fact]
    public async Task Tiles_walking_down_a_chunk_column_with_two_windows_ahead_decode_each_chunk_once_and_hold_no_more_than_those()
    {
        // Tiles half a chunk tall with a halo, down one column of chunks (as segmentation and metrics walk tiles that cut
        // chunks in y): each chunk row is read by four windows in a row (two own it, two reach it with their halo).
        int[] shape = [6, 64, 24];
        var array = await RandomArrayAsync<byte>("c", shape, [4, 16, 24], seed: 7);
        var slab = new SlabWindow(0, 6, 0, 6);
        const int rows = 8, halo = 2;
        var tiles = Enumerable.Range(0, shape[1] / rows).Select(k => new TileWindow(Math.Max(0, k * rows - halo), Math.Min(shape[1], (k + 1) * rows + halo), 0, shape[2],
            k * rows, (k + 1) * rows, 0, shape[2])).ToArray();
        var reader = new ZarrWindowReader<byte>(array);
        for (var i = 0; i < tiles.Length; i++)
        {
            var upcoming = tiles.Skip(i + 1).Take(2).ToArray();
            var expected = await array.ReadRegionAsync(0, 6, tiles[i].ReadY0, tiles[i].ReadY1, 0, shape[2]);
            Assert.Equal(expected.Data, (await reader.ReadAsync(slab, tiles[i], ZarrWindowReader<byte>.Unconverted, upcoming)).Data);
            Assert.InRange(reader.HeldVoxels, 0, upcoming.Sum(t => 6L * t.ReadHeight * t.ReadWidth));
        }
        // 2 z-chunks x 4 chunk rows, each decoded once; each window decoding every chunk it reaches makes 28.
        var separately = tiles.Sum(t => 2 * ((t.ReadY1 - 1) / 16 - t.ReadY0 / 16 + 1));
        Assert.Equal(28, separately);
        Assert.Equal(2 * 4, reader.ChunksDecoded);
    }

    [Fact]
    public async Task Reading_ahead_a_band_of_tiles_decodes_each_chunk_about_twice_and_holds_no_more_than_the_upcoming_windows()
    {
        // Tiles that cut chunks in y, as the stages order them: band by band of chunk rows, down each chunk column in turn,
        // two tiles to a chunk; each reads a halo of 2 into the chunks around it.
        int[] shape = [6, 64, 48];
        var array = await RandomArrayAsync<byte>("b", shape, [4, 16, 16], seed: 3);
        var slab = new SlabWindow(0, 6, 0, 6);
        const int rows = 8, columns = 16, halo = 2;
        var tiles = (from band in Enumerable.Range(0, 4) from column in Enumerable.Range(0, 3) from half in Enumerable.Range(0, 2)
                     let y0 = band * 16 + half * rows
                     let x0 = column * columns
                     select new TileWindow(Math.Max(0, y0 - halo), Math.Min(shape[1], y0 + rows + halo), Math.Max(0, x0 - halo), Math.Min(shape[2], x0 + columns + halo),
                         y0, y0 + rows, x0, x0 + columns)).ToArray();
        async Task<long> WalkAsync(int readAhead)
        {
            var reader = new ZarrWindowReader<byte>(array);
            for (var i = 0; i < tiles.Length; i++)
            {
                var upcoming = tiles.Skip(i + 1).Take(readAhead).ToArray();
                var expected = await array.ReadRegionAsync(0, 6, tiles[i].ReadY0, tiles[i].ReadY1, tiles[i].ReadX0, tiles[i].ReadX1);
                Assert.Equal(expected.Data, (await reader.ReadAsync(slab, tiles[i], ZarrWindowReader<byte>.Unconverted, upcoming)).Data);
                Assert.InRange(reader.HeldVoxels, 0, upcoming.Sum(t => 6L * t.ReadHeight * t.ReadWidth));
            }
            Assert.Equal(0, reader.HeldVoxels);
            return reader.ChunksDecoded;
        }
        // 2 x 4 x 3 chunks; each window decoding every chunk it reaches would make 2 x 60.
        var separately = tiles.Sum(t => 2 * ((t.ReadY1 - 1) / 16 - t.ReadY0 / 16 + 1) * ((t.ReadX1 - 1) / 16 - t.ReadX0 / 16 + 1));
        var (nextOnly, bandAhead) = (await WalkAsync(1), await WalkAsync(6));
        // One window ahead keeps only the rest of a chunk's columns (for a row of tiles): down a column it saves nothing here.
        Assert.InRange(nextOnly, 1, separately);
        // A band's tiles ahead: a chunk is decoded for the band above's halo and once more for its own band at most.
        Assert.InRange(bandAhead, 24, 2 * 24);
        Assert.True(bandAhead < nextOnly, $"{bandAhead} decodes with a band ahead, {nextOnly} with one window");
    }

    [Fact]
    public async Task Windows_read_without_a_next_one_or_out_of_order_are_the_region_reads_and_nothing_is_held_for_a_window_that_does_not_come()
    {
        int[] shape = [9, 30, 41];
        var array = await RandomArrayAsync<ushort>("w", shape, [4, 8, 8], seed: 11);
        var slab = Halo.Expand(shape[0], 2, 7, haloSlices: 2);
        var tiles = TileGrid.Plan(shape[1], shape[2], 16, 16, halo: 2);
        var reader = new ZarrWindowReader<ushort>(array);
        // A next window announced and then not read (the caller reads another): the values held for it must not leak into
        // another window, and a window read with no next one leaves nothing held.
        var order = new[] { 3, 0, 2, 1, 5, 4 }.Where(i => i < tiles.Count).ToArray();
        for (var k = 0; k < order.Length; k++)
        {
            var tile = tiles[order[k]];
            TileWindow? announced = k % 2 == 0 ? tiles[(order[k] + 1) % tiles.Count] : null;
            var expected = await array.ReadRegionAsync(slab.SlabZ0, slab.SlabZ1, tile.ReadY0, tile.ReadY1, tile.ReadX0, tile.ReadX1);
            Assert.Equal(expected.Data, (await reader.ReadAsync(slab, tile, announced)).Data);
            if (announced is null) Assert.Equal(0, reader.HeldVoxels);
        }
        var floats = await reader.ReadAsync<ushort, float>(slab, tiles[0], static (source, target) => { for (var i = 0; i < source.Length; i++) target[i] = source[i]; });
        var region = await array.ReadRegionAsync(slab.SlabZ0, slab.SlabZ1, tiles[0].ReadY0, tiles[0].ReadY1, tiles[0].ReadX0, tiles[0].ReadX1);
        Assert.Equal(region.Data.Select(v => (float)v), floats.Data);
    }
}
