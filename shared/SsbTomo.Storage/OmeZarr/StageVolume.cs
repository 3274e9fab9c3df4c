using System.Runtime.CompilerServices;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Storage;

/// <summary>
/// One OME-Zarr image as a pipeline stage sees it: its full-resolution level (shape and chunk grid), its voxel size,
/// the windows a stage reads (a slab of slices with its halo, cut into y/x tiles that fit the memory budget), and an
/// output laid out like it. Every consumer reads its input and writes its output through this, so the open / plan /
/// read-with-halo / create-like-input skeleton and the voxel size live in one place rather than in each consumer.
/// </summary>
public sealed class StageVolume<T> where T : unmanaged
{
    private readonly IBlobStore _store;

    private StageVolume(IBlobStore store, string path, ZarrArray<T> level0, VoxelSize voxelSize)
    {
        _store = store;
        Path = path;
        Level0 = level0;
        VoxelSize = voxelSize;
    }

    /// <summary>The image group's path in the store.</summary>
    public string Path { get; }

    /// <summary>The array the stage reads: full resolution, unless the volume was opened at a coarser level.</summary>
    public ZarrArray<T> Level0 { get; }

    public VoxelSize VoxelSize { get; }

    public int Depth => Level0.Shape[0];
    public int Height => Level0.Shape[1];
    public int Width => Level0.Shape[2];

    /// <summary>Slices per storage chunk along z: the job's slab plan, which every volume of a job shares.</summary>
    public int SlabSlices => Level0.Chunks[0];

    public static Task<StageVolume<T>> OpenAsync(IBlobStore store, string path, CancellationToken ct = default) => OpenAsync(store, path, 0, ct);

    /// <summary>
    /// The image's pyramid level <paramref name="level"/> as a volume of its own (<see cref="Level0"/> is then that level's
    /// array, <see cref="VoxelSize"/> its voxel, 2^level times the full resolution's): for a stage that works at a coarser
    /// scale. Its voxel (0, 0, 0) is centred on the full resolution's 2^level block (<see cref="OmeZarr"/>'s translation).
    /// </summary>
    public static async Task<StageVolume<T>> OpenAsync(IBlobStore store, string path, int level, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        var array = await OmeZarr.OpenLevelAsync<T>(store, path, level, ct).ConfigureAwait(false);
        var voxelSize = await OmeZarr.ReadVoxelSizeAsync(store, path, ct).ConfigureAwait(false);
        var factor = 1 << level;
        return new StageVolume<T>(store, path, array, new VoxelSize(voxelSize.XNm * factor, voxelSize.YNm * factor, voxelSize.ZNm * factor));
    }

    /// <summary>
    /// A new image with the geometry given (<see cref="OmeZarr.CreateImageAsync{T}"/>: creating it again, as a retried
    /// stage does, rewrites the same metadata), for a stage whose output is shaped by something other than an image:
    /// ingest's raw.zarr by the TIFF stack and the job's slab plan.
    /// </summary>
    public static async Task<StageVolume<T>> CreateAsync(IBlobStore store, string path, string name, int[] shape, int[] chunks, VoxelSize voxelSize,
        ZarrCompressor compressor = ZarrCompressor.Zstd, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var level0 = await OmeZarr.CreateImageAsync<T>(store, path, name, shape, chunks, voxelSize, compressor: compressor, ct: ct).ConfigureAwait(false);
        return new StageVolume<T>(store, path, level0, voxelSize);
    }

    /// <summary>
    /// A new image with this image's slices, slab plan and voxel size but a smaller slice of
    /// <paramref name="height"/> x <paramref name="width"/> (alignment's crop); its y/x chunks are this image's, cut to the slice.
    /// </summary>
    public Task<StageVolume<TOut>> CreateCroppedAsync<TOut>(string path, string name, int height, int width,
        ZarrCompressor compressor = ZarrCompressor.Zstd, CancellationToken ct = default)
        where TOut : unmanaged =>
        StageVolume<TOut>.CreateAsync(_store, path, name, [Depth, height, width],
            [SlabSlices, Math.Min(Level0.Chunks[1], height), Math.Min(Level0.Chunks[2], width)], VoxelSize, compressor, ct);

    /// <summary>
    /// An output with this image's shape, chunk grid and voxel size, created when it is missing or partial
    /// (<see cref="OmeZarr.EnsureImageAsync{T}"/>: safe when several workers of one job call it at once).
    /// </summary>
    public async Task<StageVolume<TOut>> EnsureLikeAsync<TOut>(string path, string name, int levels = 1,
        ZarrCompressor compressor = ZarrCompressor.Zstd, CancellationToken ct = default)
        where TOut : unmanaged
    {
        var level0 = await OmeZarr.EnsureImageAsync<TOut>(_store, path, name, Level0.Shape, Level0.Chunks, VoxelSize, levels, compressor, ct: ct)
            .ConfigureAwait(false);
        return new StageVolume<TOut>(_store, path, level0, VoxelSize);
    }

    /// <summary>
    /// The windows of owned slices [<paramref name="ownedZ0"/>, <paramref name="ownedZ1"/>), each with
    /// <paramref name="halo"/> voxels of context on every side, in raster order of tiles; one window in memory at a time.
    /// Owned slices whose window would not fit the budget even at the smallest tile are read in parts of whole z-chunks,
    /// each with its own z halo (<see cref="SlabTilePlan.Parts{T}"/>).
    /// </summary>
    /// <param name="windowBudgetBytes">Memory one window may take while the stage processes it.</param>
    /// <param name="bytesPerVoxel">
    /// What the stage holds per voxel of a window (input, working copies, output). The reader's read-ahead is added here
    /// (<paramref name="readAheadWindows"/> × the stored type's size), so a stage counts only what it holds itself.
    /// </param>
    /// <param name="zHalo">Slices of context along z when it differs from <paramref name="halo"/>.</param>
    /// <param name="rowMultiple">Rows the tiles' edges must also fall on multiples of (<see cref="SlabTilePlan.For{T}"/>).</param>
    /// <param name="tilesMayShareChunks">Tiles may cut storage chunks in y when that reads fewer voxels (<see cref="SlabTilePlan.Parts{T}"/>).</param>
    /// <param name="readAheadWindows">
    /// Upcoming windows whose parts of the decoded chunks the reader keeps (<see cref="ZarrWindowReader{T}"/>): each holds up to
    /// a window of the stored type while the stage works, and the tile plan counts it (uncounted, the survey's windows ran out
    /// of memory at 1 Gvoxel, session 46).
    /// </param>
    /// <param name="reuseArrays">
    /// The caller keeps nothing of a window's voxels past its turn of the loop (no copy of the record, no volume or array in
    /// a task still running): each window's array is then taken for the next window of the same size instead of a fresh one.
    /// </param>
    public IAsyncEnumerable<StageWindow<T>> WindowsAsync(int ownedZ0, int ownedZ1, int halo, long windowBudgetBytes, double bytesPerVoxel,
        CancellationToken ct = default, int? zHalo = null, int rowMultiple = 1, bool tilesMayShareChunks = false, int readAheadWindows = 1,
        bool reuseArrays = false) =>
        WindowsAsync<T>(ownedZ0, ownedZ1, halo, windowBudgetBytes, bytesPerVoxel, ZarrWindowReader<T>.Unconverted, ct, zHalo, rowMultiple, tilesMayShareChunks,
            readAheadWindows, reuseArrays);

    /// <summary>
    /// As <see cref="WindowsAsync"/>, each window's values converted by <paramref name="copy"/> as they leave the decoded
    /// chunks (<see cref="ZarrWindowReader{T}.ReadAsync{TOut}"/>): a stage that works on floats holds no window of the
    /// stored type beside them.
    /// </summary>
    public async IAsyncEnumerable<StageWindow<TOut>> WindowsAsync<TOut>(int ownedZ0, int ownedZ1, int halo, long windowBudgetBytes, double bytesPerVoxel,
        ZarrWindowReader<T>.RowCopy<TOut> copy, [EnumeratorCancellation] CancellationToken ct = default, int? zHalo = null, int rowMultiple = 1,
        bool tilesMayShareChunks = false, int readAheadWindows = 1, bool reuseArrays = false)
        where TOut : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(readAheadWindows, 1);
        StageWindow<TOut>? previous = null;
        var heldBytesPerVoxel = bytesPerVoxel + ReadAheadBytesPerVoxel(readAheadWindows);
        foreach (var plan in SlabTilePlan.Parts(Level0, ownedZ0, ownedZ1, halo, windowBudgetBytes, heldBytesPerVoxel, zHalo, rowMultiple, tilesMayShareChunks))
        {
            var reader = new ZarrWindowReader<T>(Level0);
            for (var i = 0; i < plan.Tiles.Count; i++)
            {
                var upcoming = plan.Tiles.Skip(i + 1).Take(readAheadWindows);
                // Only the window just let go, and only for a window of its size: a spare of another size held during the
                // read would be a second window beside the one the budget counts (the iterator's locals live on in its state).
                var released = previous?.Release()?.Data;
                var spare = reuseArrays && released?.LongLength == (long)plan.Slab.SlabSlices * plan.Tiles[i].ReadHeight * plan.Tiles[i].ReadWidth
                    ? released : null;
                released = null;
                previous = new StageWindow<TOut>(plan.Slab, plan.Tiles[i],
                    await reader.ReadAsync(plan.Slab, plan.Tiles[i], copy, upcoming, ct, into: spare).ConfigureAwait(false));
                spare = null;
                yield return previous;
            }
        }
    }

    /// <summary>
    /// Bytes per window voxel the window reader keeps for <paramref name="readAheadWindows"/> upcoming windows (up to a window
    /// of the stored type each), which <see cref="WindowsAsync"/> adds to the stage's own bytes per voxel.
    /// </summary>
    public static int ReadAheadBytesPerVoxel(int readAheadWindows) => readAheadWindows * Unsafe.SizeOf<T>();

    /// <summary>Whole slices, one slab of the chunk grid at a time (for measurements that need whole slices and no halo).</summary>
    public async IAsyncEnumerable<(int Z0, Volume<T> Slab)> SlabsAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        for (var z0 = 0; z0 < Depth; z0 += SlabSlices)
            yield return (z0, await ReadSlicesAsync(z0, Math.Min(Depth, z0 + SlabSlices), ct).ConfigureAwait(false));
    }

    /// <summary>
    /// Whole slices [<paramref name="z0"/>, <paramref name="z1"/>): for stages whose algorithms need the whole field of
    /// view (alignment registers and corrects whole slices), so no y/x tiling. An empty range gives an empty volume, so a
    /// caller reading "the slices before the slab" needs no case for the first slab.
    /// </summary>
    public Task<Volume<T>> ReadSlicesAsync(int z0, int z1, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(z0);
        ArgumentOutOfRangeException.ThrowIfLessThan(z1, z0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(z1, Depth);
        return z1 == z0 ? Task.FromResult(new Volume<T>(0, Height, Width)) : Level0.ReadRegionAsync(z0, z1, 0, Height, 0, Width, ct);
    }

    /// <summary>Writes whole slices from <paramref name="z0"/> on (a slab of the job's plan, so whole chunks along z).</summary>
    public Task WriteSlicesAsync(int z0, Volume<T> slices, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(slices);
        if (slices.Height != Height || slices.Width != Width)
            throw new ArgumentException($"slices of {slices.Height}x{slices.Width} into {Path}, whose slices are {Height}x{Width}", nameof(slices));
        return Level0.WriteRegionAsync(z0, 0, 0, slices, ct);
    }

    /// <summary>Writes the owned part of a window's result (see <see cref="StageWindow{T}.CropToOwned{TOut}"/>) where it belongs.</summary>
    public Task WriteOwnedAsync<TWindow>(StageWindow<TWindow> window, Volume<T> owned, CancellationToken ct = default) where TWindow : unmanaged
    {
        ArgumentNullException.ThrowIfNull(window);
        return Level0.WriteRegionAsync(window.Slab.OwnedZ0, window.Tile.OwnedY0, window.Tile.OwnedX0, owned, ct);
    }
}

/// <summary>
/// One window a stage reads: a slab of slices with its z halo, one y/x tile of it with its halo, and the voxels. A window
/// from <see cref="StageVolume{T}.WindowsAsync"/> lets go of its voxels when the next one is read (<see cref="Release"/>);
/// a copy of the record (<c>window with { }</c>) keeps them.
/// </summary>
public sealed record StageWindow<T>(SlabWindow Slab, TileWindow Tile, Volume<T> Data) where T : unmanaged
{
    private Volume<T>? _data = Data;

    /// <summary>The window's voxels; gone once the next window of the loop has been read.</summary>
    public Volume<T> Data
    {
        get => _data ?? throw new InvalidOperationException(
            $"the window of slices {Slab.SlabZ0}-{Slab.SlabZ1 - 1} let go of its voxels when the next window was read; keep the volume, or a copy of the window (`window with {{ }}`), to use it longer");
        init => _data = value;
    }

    /// <summary>
    /// Drops this record's reference to the voxels. The windows' enumerator does it before reading the next window: an
    /// async iterator keeps the last window it yielded as its Current, so without it two windows were held during each
    /// read (the survey's windows on the 1-Gvoxel phantom ran out of memory there).
    /// </summary>
    /// <returns>The voxels let go (null when already released).</returns>
    internal Volume<T>? Release()
    {
        var data = _data;
        _data = null;
        return data;
    }

    // The record's printout reads the field, not Data: a released window in a log line or a debugger says so instead of throwing.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Slab = {Slab}, Tile = {Tile}, Data = ");
        builder.Append(_data is { } data ? $"{data.Depth}x{data.Height}x{data.Width} voxels" : "released");
        return true;
    }

    /// <summary>The part of <paramref name="result"/> (computed on the whole window) this window owns.</summary>
    public Volume<TOut> CropToOwned<TOut>(Volume<TOut> result) where TOut : unmanaged => TileGrid.CropToOwned(result, Slab, Tile);
}
