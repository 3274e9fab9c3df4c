using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

public sealed class StageVolumeTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public StageVolumeTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    private async Task<Volume<ushort>> WriteImageAsync(int[] shape, int[] chunks, VoxelSize voxelSize)
    {
        var array = await OmeZarr.CreateImageAsync<ushort>(_store, "input", "input", shape, chunks, voxelSize);
        var random = new Random(11);
        var volume = new Volume<ushort>(shape[0], shape[1], shape[2]);
        for (var i = 0; i < volume.Data.Length; i++) volume.Data[i] = (ushort)random.Next(65536);
        await array.WriteRegionAsync(0, 0, 0, volume);
        return volume;
    }

    [Fact]
    public async Task An_output_made_like_the_input_has_its_shape_chunk_grid_and_voxel_size()
    {
        var voxelSize = new VoxelSize(XNm: 10, YNm: 12.7, ZNm: 20);
        await WriteImageAsync([9, 30, 41], [4, 16, 16], voxelSize);

        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        var output = await input.EnsureLikeAsync<byte>("output", "output", levels: 2);
        var reopened = await StageVolume<byte>.OpenAsync(_store, "output");

        Assert.Equal((9, 30, 41, 4), (input.Depth, input.Height, input.Width, input.SlabSlices));
        Assert.Equal(input.Level0.Shape, reopened.Level0.Shape);
        Assert.Equal(input.Level0.Chunks, reopened.Level0.Chunks);
        Assert.Equal(voxelSize, reopened.VoxelSize);
        Assert.Equal(voxelSize, output.VoxelSize);
        Assert.Equal(2, await OmeZarr.ReadLevelCountAsync(_store, "output"));
    }

    [Fact]
    public async Task Windows_carry_their_halo_and_writing_each_owned_part_rebuilds_the_slab_exactly()
    {
        int[] shape = [10, 45, 50];
        var volume = await WriteImageAsync(shape, [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        var output = await input.EnsureLikeAsync<ushort>("copy", "copy");

        // A budget that forces several tiles per slab: 3 slab slices x (16 + 2 x 2)² voxels x (8 + 2 read ahead) bytes is 12 kB.
        var windows = 0;
        await foreach (var window in input.WindowsAsync(4, 8, halo: 2, windowBudgetBytes: 10_000, bytesPerVoxel: 8))
        {
            windows++;
            Assert.Equal((2, 10), (window.Slab.SlabZ0, window.Slab.SlabZ1));
            var expected = await input.Level0.ReadRegionAsync(window.Slab.SlabZ0, window.Slab.SlabZ1, window.Tile.ReadY0, window.Tile.ReadY1,
                window.Tile.ReadX0, window.Tile.ReadX1);
            Assert.Equal(expected.Data, window.Data.Data);
            await output.WriteOwnedAsync(window, window.CropToOwned(window.Data));
        }
        Assert.True(windows > 1, $"{windows} window(s): the budget should have cut the slab into tiles");

        var copied = await output.Level0.ReadRegionAsync(4, 8, 0, shape[1], 0, shape[2]);
        var original = await input.Level0.ReadRegionAsync(4, 8, 0, shape[1], 0, shape[2]);
        Assert.Equal(original.Data, copied.Data);
        Assert.Equal(volume.Data.AsSpan(4 * 45 * 50, 4 * 45 * 50).ToArray(), copied.Data);
    }

    /// <summary>
    /// Reading the next window drops the enumerator's reference to the one before (an async iterator keeps the last window
    /// it yielded as its Current), so a stage that kept nothing of a window holds one window, not two, during each read.
    /// </summary>
    [Fact]
    public async Task Reading_the_next_window_drops_the_previous_windows_voxels()
    {
        await WriteImageAsync([10, 45, 50], [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        StageWindow<ushort>? previous = null;
        var windows = 0;
        await foreach (var window in input.WindowsAsync(4, 8, halo: 2, windowBudgetBytes: 10_000, bytesPerVoxel: 8))
        {
            windows++;
            if (previous is not null)
            {
                var released = Assert.Throws<InvalidOperationException>(() => previous.Data);
                Assert.Contains("let go of its voxels when the next window was read", released.Message);
                Assert.EndsWith("Data = released }", previous.ToString());
            }
            Assert.NotEmpty(window.Data.Data);
            Assert.EndsWith($"Data = {window.Data.Depth}x{window.Data.Height}x{window.Data.Width} voxels }}", window.ToString());
            previous = window;
        }
        Assert.True(windows > 2, $"{windows} window(s)");
    }

    /// <summary>
    /// A command that owns several z-chunks whose window would not fit the budget even at one storage chunk in y and x is
    /// read in parts of whole z-chunks, each with its own halo, and the owned parts still rebuild the slab exactly; with
    /// budget for the whole window it stays one part.
    /// </summary>
    [Fact]
    public async Task Owned_slices_too_tall_for_the_budget_are_read_in_parts_of_whole_chunks_each_with_its_halo()
    {
        int[] shape = [20, 16, 16];
        var volume = await WriteImageAsync(shape, [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        var output = await input.EnsureLikeAsync<ushort>("parts", "parts");

        // Owned 4-16 with a halo of 2, at the smallest tile (one 8x8 chunk and its halo, 12x12): the whole range reads 16
        // slices (23 kB at 10 bytes a voxel: the stage's 8 and the reader's next uint16 window), two chunks 12 (17.3 kB), one
        // chunk 8 (11.5 kB). A budget of 14 kB: one chunk a part.
        var slabs = new List<(int, int, int, int)>();
        await foreach (var window in input.WindowsAsync(4, 16, halo: 2, windowBudgetBytes: 14_000, bytesPerVoxel: 8))
        {
            slabs.Add((window.Slab.SlabZ0, window.Slab.SlabZ1, window.Slab.OwnedZ0, window.Slab.OwnedZ1));
            await output.WriteOwnedAsync(window, window.CropToOwned(window.Data));
        }
        Assert.Equal([(2, 10, 4, 8), (6, 14, 8, 12), (10, 18, 12, 16)], slabs.Distinct());
        var copied = await output.Level0.ReadRegionAsync(4, 16, 0, shape[1], 0, shape[2]);
        Assert.Equal(volume.Data.AsSpan(4 * 16 * 16, 12 * 16 * 16).ToArray(), copied.Data);

        // Budget for two chunks a part (12 window slices: 17.3 kB), not for three (16: 23 kB).
        var twoChunkParts = new List<(int, int)>();
        await foreach (var window in input.WindowsAsync(4, 16, halo: 2, windowBudgetBytes: 18_000, bytesPerVoxel: 8))
            twoChunkParts.Add((window.Slab.OwnedZ0, window.Slab.OwnedZ1));
        Assert.Equal([(4, 12), (12, 16)], twoChunkParts.Distinct());

        // The same stage reading two windows ahead holds another uint16 window (12 bytes a voxel: 12 slices take 20.7 kB),
        // and the plan counts it: one chunk a part again.
        var twoAhead = new List<(int, int)>();
        await foreach (var window in input.WindowsAsync(4, 16, halo: 2, windowBudgetBytes: 18_000, bytesPerVoxel: 8, readAheadWindows: 2))
            twoAhead.Add((window.Slab.OwnedZ0, window.Slab.OwnedZ1));
        Assert.Equal([(4, 8), (8, 12), (12, 16)], twoAhead.Distinct());

        var whole = new List<(int, int)>();
        await foreach (var window in input.WindowsAsync(4, 16, halo: 2, windowBudgetBytes: 1 << 20, bytesPerVoxel: 8))
            whole.Add((window.Slab.OwnedZ0, window.Slab.OwnedZ1));
        Assert.Equal([(4, 16)], whole);
    }

    /// <summary>
    /// A stage whose tiles may share storage chunks gets the whole owned range in one part of half-chunk tiles when that reads
    /// fewer voxels than parts of whole chunks, and writing each owned part (patching the shared chunks tile after tile)
    /// still rebuilds the slab exactly. Owned slices that do not start on the chunk grid keep whole-chunk tiles.
    /// </summary>
    [Fact]
    public async Task Tiles_may_share_chunks_when_that_reads_fewer_voxels_and_still_rebuild_the_slab_exactly()
    {
        int[] shape = [20, 128, 16];
        var volume = await WriteImageAsync(shape, [4, 128, 16], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        await input.EnsureLikeAsync<ushort>("shared", "shared");

        // Owned 4-16, halo 2, 10 bytes a voxel (the stage's 8 and the reader's next uint16 window), 180 kB: whole chunks (128x16 pixels a slice) fit one z-chunk a part (8
        // slices, 164 kB; three parts reading 49,152 voxels), half-chunk tiles of 64 rows (68x16 with the halo) the whole
        // range (16 slices, 174 kB; two tiles reading 33,792).
        const long budget = 180_000;
        var windows = new List<(SlabWindow, TileWindow)>();
        var writes = new CountingStore(_store);
        var output = await StageVolume<ushort>.OpenAsync(writes, "shared");
        var writer = new OwnedChunkWriter<ushort>(output);
        await foreach (var window in input.WindowsAsync(4, 16, halo: 2, windowBudgetBytes: budget, bytesPerVoxel: 8, tilesMayShareChunks: true))
        {
            windows.Add((window.Slab, window.Tile));
            await writer.AddAsync(window, window.CropToOwned(window.Data));
        }
        writer.Complete();
        Assert.Equal([new SlabWindow(2, 18, 4, 16)], windows.Select(w => w.Item1).Distinct());
        Assert.Equal([(0, 64), (64, 128)], windows.Select(w => (w.Item2.OwnedY0, w.Item2.OwnedY1)));
        var copied = await output.Level0.ReadRegionAsync(4, 16, 0, shape[1], 0, shape[2]);
        Assert.Equal(volume.Data.AsSpan(4 * 128 * 16, 12 * 128 * 16).ToArray(), copied.Data);
        // Each of the three z-chunks written once, whole: never patched from a half-written chunk.
        Assert.Equal(3, writes.Writes.Count);
        Assert.All(writes.Writes.Values, n => Assert.Equal(1, n));

        var wholeChunks = SlabTilePlan.Parts(input.Level0, 4, 16, 2, budget, 10);
        Assert.Equal([(4, 8), (8, 12), (12, 16)], wholeChunks.Select(p => (p.Slab.OwnedZ0, p.Slab.OwnedZ1)));
        Assert.Equal(49_152, SlabTilePlan.ReadVoxels(wholeChunks));
        Assert.Equal(33_792, SlabTilePlan.ReadVoxels(SlabTilePlan.Parts(input.Level0, 4, 16, 2, budget, 10, tilesMayShareChunks: true)));
        // Slices 5-16 share a z-chunk with another command's: whole-chunk tiles only.
        Assert.All(SlabTilePlan.Parts(input.Level0, 5, 16, 2, budget, 10, tilesMayShareChunks: true), p => Assert.Equal(128, p.Tiles[0].OwnedHeight));
    }

    /// <summary>Windows read as floats (segmentation's) are the stored windows widened, window for window.</summary>
    [Fact]
    public async Task Windows_read_as_floats_are_the_stored_windows_widened()
    {
        await WriteImageAsync([10, 45, 50], [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        var stored = new List<StageWindow<ushort>>();
        // A copy of each window record keeps its voxels (the loop lets the window itself go when it reads the next).
        await foreach (var window in input.WindowsAsync(4, 8, halo: 2, windowBudgetBytes: 10_000, bytesPerVoxel: 8)) stored.Add(window with { });
        var floats = new List<StageWindow<float>>();
        await foreach (var window in input.WindowsAsync<float>(4, 8, halo: 2, windowBudgetBytes: 10_000, bytesPerVoxel: 8, VolumeConversions.Widen))
            floats.Add(window with { });
        Assert.True(stored.Count > 1);
        Assert.Equal(stored.Select(w => (w.Slab, w.Tile)), floats.Select(w => (w.Slab, w.Tile)));
        for (var i = 0; i < stored.Count; i++) Assert.Equal(stored[i].Data.ToFloat().Data, floats[i].Data.Data);
    }

    /// <summary>
    /// With <c>reuseArrays</c> each window holds the stored voxels as without, and every window of the size of the one before
    /// it is read into that one's array (which the loop overwrites here, so a stale voxel would show).
    /// </summary>
    [Fact]
    public async Task Windows_read_into_the_array_of_the_window_before_of_their_size_hold_their_own_voxels()
    {
        await WriteImageAsync([10, 45, 50], [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        var (windows, sameSizeAsBefore, reused, sizes) = (0, 0, 0, new HashSet<long>());
        float[]? before = null;
        await foreach (var window in input.WindowsAsync<float>(4, 8, halo: 2, windowBudgetBytes: 10_000, bytesPerVoxel: 8, VolumeConversions.Widen,
            reuseArrays: true))
        {
            windows++;
            var data = window.Data.Data;
            sizes.Add(data.LongLength);
            var expected = await input.Level0.ReadRegionAsync(window.Slab.SlabZ0, window.Slab.SlabZ1, window.Tile.ReadY0, window.Tile.ReadY1,
                window.Tile.ReadX0, window.Tile.ReadX1);
            Assert.Equal(expected.ToFloat().Data, data);
            if (before?.LongLength == data.LongLength) sameSizeAsBefore++;
            if (ReferenceEquals(before, data)) reused++;
            Array.Fill(data, float.NaN);
            before = data;
        }
        Assert.True(windows > 2 && sizes.Count > 1 && sameSizeAsBefore > 0, $"{windows} windows of {sizes.Count} sizes, {sameSizeAsBefore} after one of their size");
        Assert.Equal(sameSizeAsBefore, reused);
    }

    [Fact]
    public async Task Windows_with_a_row_multiple_start_and_end_on_it_and_on_the_chunks_or_at_the_image_edge()
    {
        await WriteImageAsync([10, 45, 50], [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        var rows = new List<(int, int)>();
        await foreach (var window in input.WindowsAsync(4, 8, halo: 2, windowBudgetBytes: 10_000, bytesPerVoxel: 8, rowMultiple: 12))
            rows.Add((window.Tile.OwnedY0, window.Tile.OwnedY1));
        // Multiples of lcm(8, 12) = 24 rows: one tile row of 24, then the 21 left.
        Assert.Equal([(0, 24), (24, 45)], rows.Distinct());
        Assert.Equal(24, SlabTilePlan.RowUnit(3072, 8, 12));
        Assert.Equal(128, SlabTilePlan.RowUnit(3072, 32, 128));
        Assert.Equal(512, SlabTilePlan.RowUnit(3072, 512, 128));
        Assert.Equal(192, SlabTilePlan.RowUnit(192, 192, 128));
        Assert.Equal(3072, SlabTilePlan.RowUnit(3072, 100, 128));
    }

    [Fact]
    public async Task Slabs_follow_the_chunk_grid_and_cover_every_slice_once()
    {
        var volume = await WriteImageAsync([9, 12, 13], [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");

        var slabs = new List<(int Z0, int Depth)>();
        var joined = new List<ushort>();
        await foreach (var (z0, slab) in input.SlabsAsync())
        {
            slabs.Add((z0, slab.Depth));
            joined.AddRange(slab.Data);
        }
        Assert.Equal([(0, 4), (4, 4), (8, 1)], slabs);
        Assert.Equal(volume.Data, joined);
    }

    [Fact]
    public async Task Whole_slices_read_across_chunks_and_an_empty_range_gives_no_slices()
    {
        var volume = await WriteImageAsync([9, 12, 13], [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");

        var slices = await input.ReadSlicesAsync(3, 6);
        Assert.Equal((3, 12, 13), (slices.Depth, slices.Height, slices.Width));
        Assert.Equal(volume.Data.AsSpan(3 * 12 * 13, 3 * 12 * 13).ToArray(), slices.Data);
        var none = await input.ReadSlicesAsync(0, 0);
        Assert.Equal((0, 12, 13), (none.Depth, none.Height, none.Width));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => input.ReadSlicesAsync(5, 10));
    }

    [Fact]
    public async Task Whole_slices_written_into_an_output_read_back_and_slices_of_another_size_are_refused()
    {
        await WriteImageAsync([8, 12, 13], [4, 8, 8], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        var output = await input.EnsureLikeAsync<ushort>("output", "output");

        var slab = await input.ReadSlicesAsync(4, 8);
        await output.WriteSlicesAsync(4, slab);
        Assert.Equal(slab.Data, (await output.ReadSlicesAsync(4, 8)).Data);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => output.WriteSlicesAsync(0, new Volume<ushort>(4, 12, 12)));
        Assert.Contains("12x12", ex.Message);
    }

    [Fact]
    public async Task A_cropped_output_keeps_the_slab_plan_and_voxel_size_and_cuts_its_tiles_to_the_smaller_slice()
    {
        var voxelSize = new VoxelSize(XNm: 10, YNm: 12.7, ZNm: 20);
        await WriteImageAsync([9, 30, 41], [4, 16, 16], voxelSize);
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");

        await input.CreateCroppedAsync<ushort>("cropped", "cropped", height: 12, width: 37);
        var reopened = await StageVolume<ushort>.OpenAsync(_store, "cropped");

        Assert.Equal([9, 12, 37], reopened.Level0.Shape);
        Assert.Equal([4, 12, 16], reopened.Level0.Chunks);
        Assert.Equal(voxelSize, reopened.VoxelSize);
    }
    /// <summary>
    /// Tiles that cut chunks come a band of chunk rows at a time, down each chunk column in turn, so the writer holds one
    /// band's part; a tile out of that order is refused rather than written as a patch.
    /// </summary>
    [Fact]
    public async Task Shared_tiles_come_down_each_chunk_column_and_the_writer_refuses_them_out_of_order()
    {
        int[] shape = [16, 256, 32];
        await WriteImageAsync(shape, [8, 128, 16], new VoxelSize(10, 10, 10));
        var input = await StageVolume<ushort>.OpenAsync(_store, "input");
        // Two z-chunks, a halo of 2: whole-chunk tiles need a part per z-chunk (10 slices each, reading 187,200 voxels);
        // 64-row tiles of one chunk column (16 x 68 x 20 x 10 bytes = 218 kB) fit all 16 slices in one part (154,368).
        var plans = SlabTilePlan.Parts(input.Level0, 0, 16, 2, 220_000, 10, tilesMayShareChunks: true);
        Assert.Equal(187_200, SlabTilePlan.ReadVoxels(SlabTilePlan.Parts(input.Level0, 0, 16, 2, 220_000, 10)));
        Assert.Equal(154_368, SlabTilePlan.ReadVoxels(plans));
        var owned = plans.SelectMany(p => p.Tiles).Select(t => (t.OwnedY0, t.OwnedX0)).ToList();
        Assert.Equal([(0, 0), (64, 0), (0, 16), (64, 16), (128, 0), (192, 0), (128, 16), (192, 16)], owned);

        var output = await input.EnsureLikeAsync<ushort>("ordered", "ordered");
        var writer = new OwnedChunkWriter<ushort>(output);
        var windows = new List<StageWindow<ushort>>();
        await foreach (var window in input.WindowsAsync(0, 16, 2, 220_000, 8, tilesMayShareChunks: true)) windows.Add(window with { });
        await writer.AddAsync(windows[0], windows[0].CropToOwned(windows[0].Data));
        await Assert.ThrowsAsync<InvalidOperationException>(() => writer.AddAsync(windows[2], windows[2].CropToOwned(windows[2].Data)));
        Assert.Throws<InvalidOperationException>(writer.Complete);
    }

    /// <summary>Counts the writes of each key, the rest passed through.</summary>
    private sealed class CountingStore(IBlobStore inner) : IBlobStore
    {
        public System.Collections.Concurrent.ConcurrentDictionary<string, int> Writes { get; } = new();

        public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default)
        {
            if (!key.EndsWith(".zarray", StringComparison.Ordinal) && !key.EndsWith(".zattrs", StringComparison.Ordinal) && !key.EndsWith(".zgroup", StringComparison.Ordinal))
                Writes.AddOrUpdate(key, 1, (_, n) => n + 1);
            return inner.WriteAsync(key, content, ct);
        }

        public Task<byte[]?> ReadAsync(string key, CancellationToken ct = default) => inner.ReadAsync(key, ct);
        public Task<bool> ExistsAsync(string key, CancellationToken ct = default) => inner.ExistsAsync(key, ct);
        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
        public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    }
}
