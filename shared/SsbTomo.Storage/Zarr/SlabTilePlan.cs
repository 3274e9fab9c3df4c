using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Storage;

/// <summary>
/// The windows a stage reads for one owned slab of a volume: the slab with its z halo, cut into y/x tiles of whole
/// storage chunks (so each tile writes whole chunks of a volume chunked like this one) that fit a memory budget with
/// their halo. A stage's memory then follows the budget, not the slice size: a 3072x4096 slice is cut into tiles, a
/// small one is a single tile.
/// </summary>
public sealed record SlabTilePlan(SlabWindow Slab, IReadOnlyList<TileWindow> Tiles)
{
    /// <param name="volume">The volume the stage reads (its shape and chunk grid).</param>
    /// <param name="ownedZ0">First owned slice.</param>
    /// <param name="ownedZ1">One past the last owned slice.</param>
    /// <param name="halo">Voxels of context the stage needs on every side (z, y and x).</param>
    /// <param name="windowBudgetBytes">Memory one window may take while it is processed.</param>
    /// <param name="bytesPerVoxel">What the stage holds per voxel of the window (input, working copies, output).</param>
    /// <param name="zHalo">Slices of context along z when it differs from <paramref name="halo"/> (a 2D filter per slice needs none).</param>
    /// <param name="rowMultiple">
    /// Rows the tiles' edges must also fall on multiples of (besides the storage chunks'), for a stage whose results are
    /// taken per fixed block of rows (the survey's curtain steps): tiles are then whole multiples of both, or the whole height.
    /// </param>
    public static SlabTilePlan For<T>(ZarrArray<T> volume, int ownedZ0, int ownedZ1, int halo, long windowBudgetBytes, double bytesPerVoxel, int? zHalo = null,
        int rowMultiple = 1)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowMultiple, 1);
        return ForRowUnit(volume, ownedZ0, ownedZ1, halo, windowBudgetBytes, bytesPerVoxel, zHalo, RowUnit(volume.Shape[1], volume.Chunks[1], rowMultiple));
    }

    /// <summary>As <see cref="For{T}"/> with tiles of whole multiples of <paramref name="rowUnit"/> rows (and of the storage chunk's columns).</summary>
    private static SlabTilePlan ForRowUnit<T>(ZarrArray<T> volume, int ownedZ0, int ownedZ1, int halo, long windowBudgetBytes, double bytesPerVoxel, int? zHalo,
        int rowUnit)
        where T : unmanaged
    {
        var (depth, height, width) = (volume.Shape[0], volume.Shape[1], volume.Shape[2]);
        var slab = Halo.Expand(depth, ownedZ0, ownedZ1, zHalo ?? halo);
        var (tileHeight, tileWidth) = TileGrid.ForBudget(windowBudgetBytes, bytesPerVoxel, slab.SlabSlices, halo, height, width, rowUnit, volume.Chunks[2]);
        var chunkRows = volume.Chunks[1];
        if (rowUnit >= chunkRows || tileHeight >= height) return new SlabTilePlan(slab, TileGrid.Plan(height, width, tileHeight, tileWidth, halo));
        // Tiles that cut chunks: one row unit tall, so each lies in one band of chunk rows, and the tiles of a band's chunks
        // one after another (down the band, then across), so OwnedChunkWriter holds one band's part at a time.
        var tiles = TileGrid.Plan(height, width, rowUnit, tileWidth, halo)
            .OrderBy(t => t.OwnedY0 / chunkRows).ThenBy(t => t.OwnedX0).ThenBy(t => t.OwnedY0).ToList();
        return new SlabTilePlan(slab, tiles);
    }

    /// <summary>
    /// The plans of owned slices [<paramref name="ownedZ0"/>, <paramref name="ownedZ1"/>), one per z part: the whole range when
    /// its window at the smallest tile (<see cref="For{T}"/>'s floor of one storage chunk, or <paramref name="rowMultiple"/>
    /// rows) fits the budget, else parts of as many whole z-chunks of the volume as fit (at least one chunk each), every part
    /// read with its own z halo. A command that owns many slices (a fan-out of several slabs) then stays inside the budget
    /// however tall its slab: the budget decides the window in z as it does in y and x. Parts end on the chunk grid, so
    /// each writes whole chunks.
    /// <para>
    /// With <paramref name="tilesMayShareChunks"/> (a stage that writes its owned voxels one window after another, or writes
    /// nothing) and owned slices of whole z-chunks, tiles may also be half, a quarter, … of a storage chunk's rows (down to
    /// <see cref="FinestSharedTileRows"/>), and the plan that reads the fewest voxels wins: a deep halo along z (the
    /// segmentation's 20 slices) costs more over parts of one or two chunks than a thinner tile's extra rows of halo. Such
    /// tiles are one row unit tall and come band by band of chunk rows, a band's tiles down each chunk column in turn: a
    /// stage that writes gathers a chunk's tiles with <see cref="OwnedChunkWriter{T}"/> and writes whole chunks only.
    /// </para>
    /// </summary>
    public static IReadOnlyList<SlabTilePlan> Parts<T>(ZarrArray<T> volume, int ownedZ0, int ownedZ1, int halo, long windowBudgetBytes, double bytesPerVoxel,
        int? zHalo = null, int rowMultiple = 1, bool tilesMayShareChunks = false)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowMultiple, 1);
        var (depth, height) = (volume.Shape[0], volume.Shape[1]);
        var chunkRows = volume.Chunks[1];
        var previousUnit = RowUnit(height, chunkRows, rowMultiple);
        var wholeChunks = PartsWithRowUnit(volume, ownedZ0, ownedZ1, halo, windowBudgetBytes, bytesPerVoxel, zHalo, previousUnit);
        // Tiles that cut a storage chunk patch it one after another (read, change, write), which only this command does when
        // it owns whole z-chunks: no other command's tiles touch them.
        var chunkDepth = volume.Chunks[0];
        var ownsWholeChunks = ownedZ0 >= 0 && ownedZ0 < ownedZ1 && ownedZ1 <= depth && ownedZ0 % chunkDepth == 0 && (ownedZ1 % chunkDepth == 0 || ownedZ1 == depth);
        if (!tilesMayShareChunks || !ownsWholeChunks || wholeChunks.Count == 1) return wholeChunks;
        var (best, bestRead) = (wholeChunks, ReadVoxels(wholeChunks));
        for (var rows = chunkRows / 2; rows >= FinestSharedTileRows && chunkRows % rows == 0; rows /= 2)
        {
            var unit = RowUnit(height, rows, rowMultiple);
            if (unit >= previousUnit) break;
            previousUnit = unit;
            // A tile must not straddle two bands of chunk rows (OwnedChunkWriter gathers one band's chunks).
            if (chunkRows % unit != 0) continue;
            var plan = PartsWithRowUnit(volume, ownedZ0, ownedZ1, halo, windowBudgetBytes, bytesPerVoxel, zHalo, unit);
            var read = ReadVoxels(plan);
            if (read < bestRead) (best, bestRead) = (plan, read);
        }
        return best;
    }

    /// <summary>
    /// Rows a tile may shrink to below a storage chunk when tiles may share chunks (<see cref="Parts{T}"/>): thinner tiles
    /// would read more halo than the z parts they save, and the segmentation's sampled variant blocks are this many rows.
    /// </summary>
    public const int FinestSharedTileRows = 64;

    /// <summary>Voxels the windows of <paramref name="plans"/> read in all (owned and halo): what a plan's choice minimises.</summary>
    public static long ReadVoxels(IReadOnlyList<SlabTilePlan> plans)
    {
        ArgumentNullException.ThrowIfNull(plans);
        long voxels = 0;
        foreach (var plan in plans)
            foreach (var tile in plan.Tiles)
                voxels += (long)plan.Slab.SlabSlices * tile.ReadHeight * tile.ReadWidth;
        return voxels;
    }

    private static IReadOnlyList<SlabTilePlan> PartsWithRowUnit<T>(ZarrArray<T> volume, int ownedZ0, int ownedZ1, int halo, long windowBudgetBytes,
        double bytesPerVoxel, int? zHalo, int rowUnit)
        where T : unmanaged
    {
        var (depth, height, width) = (volume.Shape[0], volume.Shape[1], volume.Shape[2]);
        var chunkDepth = volume.Chunks[0];
        var smallestArea = (double)SmallestReadArea(volume, halo, rowUnit);
        bool Fits(int z0, int z1) => Halo.Expand(depth, z0, z1, zHalo ?? halo).SlabSlices * smallestArea * bytesPerVoxel <= windowBudgetBytes;
        if (ownedZ0 < 0 || ownedZ1 > depth || ownedZ0 >= ownedZ1 || Fits(ownedZ0, ownedZ1))
            return [ForRowUnit(volume, ownedZ0, ownedZ1, halo, windowBudgetBytes, bytesPerVoxel, zHalo, rowUnit)];
        // The most whole chunks a part may own: parts of k chunks need k chunks' slices plus the halo on both sides.
        var chunksPerPart = Math.Max(1, (ownedZ1 - ownedZ0 + chunkDepth - 1) / chunkDepth - 1);
        while (chunksPerPart > 1 && !Fits(ownedZ0, Math.Min(ownedZ1, ownedZ0 + chunksPerPart * chunkDepth))) chunksPerPart--;
        var parts = new List<SlabTilePlan>();
        for (var z0 = ownedZ0; z0 < ownedZ1;)
        {
            var z1 = Math.Min(ownedZ1, (z0 / chunkDepth + chunksPerPart) * chunkDepth);
            parts.Add(ForRowUnit(volume, z0, z1, halo, windowBudgetBytes, bytesPerVoxel, zHalo, rowUnit));
            z0 = z1;
        }
        return parts;
    }

    /// <summary>
    /// Pixels a slice of the smallest window reads: one storage chunk's columns (or the image's) and <see cref="RowUnit"/>
    /// rows, with <paramref name="halo"/> on each side, clipped to the image.
    /// </summary>
    public static int SmallestReadPixels<T>(ZarrArray<T> volume, int halo, int rowMultiple = 1) where T : unmanaged =>
        SmallestReadArea(volume, halo, RowUnit(volume.Shape[1], volume.Chunks[1], rowMultiple));

    /// <summary>Pixels a slice of a window of <paramref name="rowUnit"/> rows and one storage chunk's columns reads with its halo.</summary>
    private static int SmallestReadArea<T>(ZarrArray<T> volume, int halo, int rowUnit) where T : unmanaged =>
        Math.Min(volume.Shape[1], rowUnit + 2 * halo) * Math.Min(volume.Shape[2], volume.Chunks[2] + 2 * halo);

    /// <summary>The smallest tile height: a whole multiple of the storage chunk's height and of <paramref name="rowMultiple"/>, at most the image's.</summary>
    public static int RowUnit(int height, int chunkHeight, int rowMultiple)
    {
        var (x, y) = ((long)chunkHeight, (long)rowMultiple);
        while (y != 0) (x, y) = (y, x % y);
        return (int)Math.Min(height, chunkHeight / x * rowMultiple);
    }
}

public static class ZarrWindowReaderExtensions
{
    /// <summary>
    /// The window of <paramref name="slab"/> x <paramref name="tile"/> (owned voxels plus halo); <paramref name="next"/>, the
    /// tile read next over the same slab, if any, whose part of the decoded chunks the reader keeps.
    /// </summary>
    public static Task<Volume<T>> ReadAsync<T>(this ZarrWindowReader<T> reader, SlabWindow slab, TileWindow tile, TileWindow? next = null, CancellationToken ct = default)
        where T : unmanaged =>
        reader.ReadAsync(slab, tile, ZarrWindowReader<T>.Unconverted, next, ct);

    /// <summary>The same window converted row by row (<see cref="ZarrWindowReader{T}.ReadAsync{TOut}"/>).</summary>
    public static Task<Volume<TOut>> ReadAsync<T, TOut>(this ZarrWindowReader<T> reader, SlabWindow slab, TileWindow tile,
        ZarrWindowReader<T>.RowCopy<TOut> copy, TileWindow? next = null, CancellationToken ct = default)
        where T : unmanaged where TOut : unmanaged =>
        reader.ReadAsync(Window(slab, tile), copy, next is { } following ? [Window(slab, following)] : [], ct);

    /// <summary>
    /// The same window, given the tiles read next over the same slab in order, whose parts of the decoded chunks the reader
    /// keeps; <paramref name="into"/>, an array to reuse for it (<see cref="ZarrWindowReader{T}.ReadAsync{TOut}"/>).
    /// </summary>
    public static Task<Volume<TOut>> ReadAsync<T, TOut>(this ZarrWindowReader<T> reader, SlabWindow slab, TileWindow tile,
        ZarrWindowReader<T>.RowCopy<TOut> copy, IEnumerable<TileWindow> upcoming, CancellationToken ct = default, TOut[]? into = null)
        where T : unmanaged where TOut : unmanaged =>
        reader.ReadAsync(Window(slab, tile), copy, upcoming.Select(t => Window(slab, t)).ToArray(), ct, into);

    private static Region Window(SlabWindow slab, TileWindow tile) =>
        new(slab.SlabZ0, slab.SlabZ1, tile.ReadY0, tile.ReadY1, tile.ReadX0, tile.ReadX1);
}
