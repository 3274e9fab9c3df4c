namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Where a chunk's slab starts and ends in the stack: the owned slices [OwnedZ0, OwnedZ1) plus up to
/// <c>haloSlices</c> extra slices each side, fewer at the stack ends.
/// </summary>
public readonly record struct SlabWindow(int SlabZ0, int SlabZ1, int OwnedZ0, int OwnedZ1)
{
    /// <summary>Index of the first owned slice inside the slab.</summary>
    public int OwnedStartInSlab => OwnedZ0 - SlabZ0;

    public int OwnedSlices => OwnedZ1 - OwnedZ0;

    public int SlabSlices => SlabZ1 - SlabZ0;

    /// <summary>The owned slices as indices into the slab.</summary>
    public SliceSpan OwnedInSlab => new(OwnedStartInSlab, OwnedStartInSlab + OwnedSlices);
}

/// <summary>
/// Slices [Start, End) of a window whose result a step must give exactly (the rest of its output is scratch): a chunk's
/// window carries the halo of every step of a recipe, but each step needs exact output only where the steps after it
/// read, so it computes there alone. The later the step, the narrower its span, down to the owned slices.
/// </summary>
public readonly record struct SliceSpan(int Start, int End)
{
    public static SliceSpan All(int depth) => new(0, depth);

    public int Length => Math.Max(0, End - Start);

    /// <summary>This span widened by <paramref name="before"/> and <paramref name="after"/> slices, clipped to [0, <paramref name="depth"/>).</summary>
    public SliceSpan Grow(int before, int after, int depth) => new(Math.Max(0, Start - before), Math.Min(depth, End + after));

    /// <summary>Throws unless the span is a range inside [0, <paramref name="depth"/>) (an empty one included).</summary>
    public void CheckInside(int depth, string parameterName)
    {
        if (Start < 0 || End > depth || Start > End)
            throw new ArgumentOutOfRangeException(parameterName, $"slices [{Start},{End}) are not a range inside a depth of {depth}");
    }
}

/// <summary>
/// Halo bookkeeping for chunked processing. A filter applied to a slab that carries enough halo, then
/// cropped to the owned slices, gives the same bytes as the filter applied to the whole stack: interior
/// chunks see real neighbours, and a chunk at a stack end sees the slab end exactly where the stack ends,
/// so the boundary rule (reflect, or "nothing there") is applied at the same place.
/// </summary>
public static class Halo
{
    /// <summary>Kernel radius of <see cref="Denoise.Gaussian"/> (scipy: int(truncate·σ + 0.5), truncate 4).</summary>
    public static int RequiredSlices(double sigmaVoxels) => Denoise.GaussianRadiusVoxels(sigmaVoxels);

    /// <summary>The slab to read for owned slices [ownedZ0, ownedZ1) of a stack of <paramref name="stackDepth"/> slices.</summary>
    public static SlabWindow Expand(int stackDepth, int ownedZ0, int ownedZ1, int haloSlices)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(haloSlices);
        if (ownedZ0 < 0 || ownedZ1 > stackDepth || ownedZ0 >= ownedZ1)
            throw new ArgumentOutOfRangeException(nameof(ownedZ0), $"owned slices [{ownedZ0},{ownedZ1}) are not a non-empty range inside a stack of {stackDepth}");
        return new SlabWindow(Math.Max(0, ownedZ0 - haloSlices), Math.Min(stackDepth, ownedZ1 + haloSlices), ownedZ0, ownedZ1);
    }

    /// <summary>Copy of slices [z0, z1) of <paramref name="volume"/>.</summary>
    public static Volume<T> CropZ<T>(Volume<T> volume, int z0, int z1) where T : unmanaged
    {
        if (z0 < 0 || z1 > volume.Depth || z0 > z1)
            throw new ArgumentOutOfRangeException(nameof(z0), $"[{z0},{z1}) is not inside depth {volume.Depth}");
        var result = new Volume<T>(z1 - z0, volume.Height, volume.Width);
        volume.Data.AsSpan((int)((long)z0 * volume.SliceLength), result.Data.Length).CopyTo(result.Data);
        return result;
    }

    /// <summary>The owned slices of a slab read through <paramref name="window"/>.</summary>
    public static Volume<T> CropToOwned<T>(Volume<T> slab, SlabWindow window) where T : unmanaged
    {
        if (slab.Depth != window.SlabSlices)
            throw new ArgumentException($"slab has {slab.Depth} slices, window expects {window.SlabSlices}", nameof(slab));
        return CropZ(slab, window.OwnedStartInSlab, window.OwnedStartInSlab + window.OwnedSlices);
    }
}

/// <summary>
/// Rows [Y0, Y1) and columns [X0, X1) of every slice: the in-plane counterpart of <see cref="SliceSpan"/>, where a step must be
/// exact (a tile's owned voxels and what the steps after it read around them) while its window also holds a halo.
/// </summary>
public readonly record struct AreaSpan(int Y0, int Y1, int X0, int X1)
{
    public static AreaSpan All(int height, int width) => new(0, height, 0, width);

    /// <summary>The area grown by <paramref name="by"/> on every side, clipped to a slice of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public AreaSpan Grow(int by, int height, int width) =>
        new(Math.Max(0, Y0 - by), Math.Min(height, Y1 + by), Math.Max(0, X0 - by), Math.Min(width, X1 + by));

    public bool IsEmpty => Y1 <= Y0 || X1 <= X0;

    /// <summary>
    /// The area's voxels in a slice of <paramref name="width"/> columns as runs of consecutive indices (start, length): one run
    /// when the area spans whole rows, else one per row.
    /// </summary>
    public IEnumerable<(int Start, int Length)> RunsInSlice(int width)
    {
        if (IsEmpty) yield break;
        if (X0 == 0 && X1 == width)
        {
            yield return (Y0 * width, (Y1 - Y0) * width);
            yield break;
        }
        for (var y = Y0; y < Y1; y++) yield return (y * width + X0, X1 - X0);
    }

    public void CheckInside(int height, int width, string parameterName)
    {
        if (Y0 < 0 || X0 < 0 || Y1 > height || X1 > width || Y0 > Y1 || X0 > X1)
            throw new ArgumentOutOfRangeException(parameterName, $"rows {Y0}-{Y1}, columns {X0}-{X1} are not inside a {height}x{width} slice");
    }
}

/// <summary>
/// One y/x tile of a slab: rows [OwnedY0, OwnedY1) and columns [OwnedX0, OwnedX1) are owned, rows [ReadY0, ReadY1) and
/// columns [ReadX0, ReadX1) are read (the owned tile plus the halo, fewer at the image's edges).
/// </summary>
public readonly record struct TileWindow(int ReadY0, int ReadY1, int ReadX0, int ReadX1, int OwnedY0, int OwnedY1, int OwnedX0, int OwnedX1)
{
    public int ReadHeight => ReadY1 - ReadY0;
    public int ReadWidth => ReadX1 - ReadX0;
    public int OwnedHeight => OwnedY1 - OwnedY0;
    public int OwnedWidth => OwnedX1 - OwnedX0;

    /// <summary>First owned row and column inside the read window.</summary>
    public (int Y, int X) OwnedStartInRead => (OwnedY0 - ReadY0, OwnedX0 - ReadX0);

    /// <summary>The owned rows and columns in the read window's coordinates.</summary>
    public AreaSpan OwnedInRead => new(OwnedY0 - ReadY0, OwnedY1 - ReadY0, OwnedX0 - ReadX0, OwnedX1 - ReadX0);

    /// <summary>The whole image as one tile (nothing to read beyond it).</summary>
    public static TileWindow Whole(int height, int width) => new(0, height, 0, width, 0, height, 0, width);
}

/// <summary>
/// Cuts a slab into y/x tiles so that memory follows the tile, not the slice. The same halo argument as in z holds in
/// y and x: every filter of the segmentation (Gaussian, Hessian, partial-volume clean-up, box extremes) looks at most its
/// halo away, and a tile at the image's edge sees the edge where the image ends, so owned voxels equal the whole-slice
/// result byte for byte.
/// </summary>
public static class TileGrid
{
    /// <summary>
    /// Tiles of <paramref name="tileHeight"/> x <paramref name="tileWidth"/> owned pixels (the last row and column of tiles
    /// smaller) in raster order, each read with <paramref name="halo"/> pixels around it.
    /// </summary>
    public static IReadOnlyList<TileWindow> Plan(int height, int width, int tileHeight, int tileWidth, int halo)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tileHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(tileWidth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(halo);
        var tiles = new List<TileWindow>();
        for (var y0 = 0; y0 < height; y0 += tileHeight)
            for (var x0 = 0; x0 < width; x0 += tileWidth)
            {
                var (y1, x1) = (Math.Min(height, y0 + tileHeight), Math.Min(width, x0 + tileWidth));
                tiles.Add(new TileWindow(Math.Max(0, y0 - halo), Math.Min(height, y1 + halo), Math.Max(0, x0 - halo), Math.Min(width, x1 + halo),
                    y0, y1, x0, x1));
            }
        return tiles;
    }

    /// <summary>
    /// The largest tile, in whole storage chunks (<paramref name="chunkHeight"/> x <paramref name="chunkWidth"/>, so that
    /// each tile writes whole chunks and no two tiles share one; a stage whose tiles may share chunks passes a fraction of a
    /// chunk's rows as <paramref name="chunkHeight"/>), whose read window of <paramref name="slabSlices"/>
    /// slices with <paramref name="halo"/> around it fits <paramref name="budgetBytes"/> at
    /// <paramref name="bytesPerVoxel"/>; at least one chunk, at most the whole image.
    /// </summary>
    public static (int Height, int Width) ForBudget(long budgetBytes, double bytesPerVoxel, int slabSlices, int halo,
        int height, int width, int chunkHeight, int chunkWidth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkWidth, 1);
        var (rows, columns) = ((height + chunkHeight - 1) / chunkHeight, (width + chunkWidth - 1) / chunkWidth);
        var best = 1;
        for (var k = 2; k <= Math.Max(rows, columns); k++)
        {
            var readHeight = Math.Min(height, k * chunkHeight + 2 * halo);
            var readWidth = Math.Min(width, k * chunkWidth + 2 * halo);
            if ((double)slabSlices * readHeight * readWidth * bytesPerVoxel > budgetBytes) break;
            best = k;
        }
        return (Math.Min(height, best * chunkHeight), Math.Min(width, best * chunkWidth));
    }

    /// <summary>
    /// The read window of <paramref name="tile"/> (owned voxels plus halo) over every slice of <paramref name="slab"/>, a
    /// volume of whole slices; the slab itself when the tile is the whole image.
    /// </summary>
    public static Volume<T> Crop<T>(Volume<T> slab, TileWindow tile) where T : unmanaged
    {
        if (tile.ReadY0 == 0 && tile.ReadX0 == 0 && tile.ReadY1 == slab.Height && tile.ReadX1 == slab.Width) return slab;
        return Crop(slab, 0, slab.Depth, tile);
    }

    /// <summary>
    /// The read window of <paramref name="tile"/> over slices [<paramref name="z0"/>, <paramref name="z1"/>) of
    /// <paramref name="slab"/>, in one copy (a copy of the slices first would hold their whole area).
    /// </summary>
    public static Volume<T> Crop<T>(Volume<T> slab, int z0, int z1, TileWindow tile) where T : unmanaged
    {
        if (z0 < 0 || z1 > slab.Depth || z0 > z1)
            throw new ArgumentOutOfRangeException(nameof(z0), $"[{z0},{z1}) is not inside depth {slab.Depth}");
        if (tile.ReadY0 < 0 || tile.ReadX0 < 0 || tile.ReadY1 > slab.Height || tile.ReadX1 > slab.Width)
            throw new ArgumentOutOfRangeException(nameof(tile), $"tile [{tile.ReadY0},{tile.ReadY1})x[{tile.ReadX0},{tile.ReadX1}) is not inside {slab.Height}x{slab.Width}");
        var (h, w) = (tile.ReadHeight, tile.ReadWidth);
        var result = new Volume<T>(z1 - z0, h, w);
        for (var z = z0; z < z1; z++)
            for (var y = 0; y < h; y++)
                slab.Data.AsSpan((int)(((long)z * slab.Height + tile.ReadY0 + y) * slab.Width + tile.ReadX0), w)
                    .CopyTo(result.Data.AsSpan((int)(((long)(z - z0) * h + y) * w), w));
        return result;
    }

    /// <summary>
    /// <see cref="CropToOwned{T}(Volume{T}, SlabWindow, TileWindow)"/> and <see cref="VolumeConversions.ToUInt16"/> in one
    /// pass, slices in parallel (the same values): the denoising stage cropped and converted each window one after the
    /// other, the crop on one thread, into a window-sized array each.
    /// </summary>
    public static Volume<ushort> CropToOwnedUInt16(Volume<float> window, SlabWindow slab, TileWindow tile) =>
        CropToOwnedUInt16(window.Data, window.Depth, window.Height, window.Width, slab, tile);

    /// <summary>
    /// <see cref="CropToOwnedUInt16(Volume{float}, SlabWindow, TileWindow)"/> of a window held in the first
    /// depth·height·width values of <paramref name="window"/> (a reused array may be longer).
    /// </summary>
    internal static Volume<ushort> CropToOwnedUInt16(float[] window, int depth, int height, int width, SlabWindow slab, TileWindow tile)
    {
        if (depth != slab.SlabSlices || height != tile.ReadHeight || width != tile.ReadWidth)
            throw new ArgumentException(
                $"window is {depth}x{height}x{width}, expected {slab.SlabSlices}x{tile.ReadHeight}x{tile.ReadWidth}", nameof(window));
        if (window.LongLength < (long)depth * height * width)
            throw new ArgumentException($"window holds {window.LongLength} values, {depth}x{height}x{width} needs {(long)depth * height * width}", nameof(window));
        var (y0, x0) = tile.OwnedStartInRead;
        var result = new Volume<ushort>(slab.OwnedSlices, tile.OwnedHeight, tile.OwnedWidth);
        var plane = (long)height * width;
        Parallel.For(0, result.Depth, z =>
        {
            var source = window.AsSpan((int)((slab.OwnedStartInSlab + z) * plane), (int)plane);
            var target = result.Slice(z);
            for (var y = 0; y < result.Height; y++)
                VolumeConversions.Narrow(source.Slice((y0 + y) * width + x0, result.Width), target.Slice(y * result.Width, result.Width));
        });
        return result;
    }

    /// <summary>The owned voxels of a window read through <paramref name="slab"/> and <paramref name="tile"/>.</summary>
    public static Volume<T> CropToOwned<T>(Volume<T> window, SlabWindow slab, TileWindow tile) where T : unmanaged
    {
        if (window.Depth != slab.SlabSlices || window.Height != tile.ReadHeight || window.Width != tile.ReadWidth)
            throw new ArgumentException(
                $"window is {window.Depth}x{window.Height}x{window.Width}, expected {slab.SlabSlices}x{tile.ReadHeight}x{tile.ReadWidth}", nameof(window));
        var (y0, x0) = tile.OwnedStartInRead;
        var result = new Volume<T>(slab.OwnedSlices, tile.OwnedHeight, tile.OwnedWidth);
        for (var z = 0; z < result.Depth; z++)
        {
            var source = window.Slice(slab.OwnedStartInSlab + z);
            var target = result.Slice(z);
            for (var y = 0; y < result.Height; y++)
                source.Slice((y0 + y) * window.Width + x0, result.Width).CopyTo(target.Slice(y * result.Width, result.Width));
        }
        return result;
    }
}
