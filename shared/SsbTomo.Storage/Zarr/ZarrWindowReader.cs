using SsbTomo.Imaging;

namespace SsbTomo.Storage;

/// <summary>
/// Reads overlapping windows (a tile plus its halo) of one Zarr array in raster order. A window with a halo overlaps
/// its neighbours' chunks, so reading each window on its own would decode every chunk up to nine times per slab; this
/// reader keeps the decoded chunks of the windows' current row of chunks and drops those the windows have moved past
/// (left of the window, or in other chunk rows), so that along a row each chunk is decoded once. Memory: the chunks
/// one window overlaps while it is read, then only the last two columns of them, never a whole slice.
/// </summary>
public sealed class ZarrWindowReader<T>(ZarrArray<T> array) where T : unmanaged
{
    private readonly Dictionary<(int Z, int Y, int X), Volume<T>> _decoded = [];

    public ZarrArray<T> Array => array;

    /// <summary>Chunks this reader has decoded so far (tests check that a row of windows decodes each chunk once).</summary>
    public long ChunksDecoded { get; private set; }

    /// <summary>The half-open region [z0,z1) x [y0,y1) x [x0,x1), as <see cref="ZarrArray{T}.ReadRegionAsync"/> would return it.</summary>
    public Task<Volume<T>> ReadAsync(int z0, int z1, int y0, int y1, int x0, int x1, CancellationToken ct = default) =>
        ReadAsync<T>(z0, z1, y0, y1, x0, x1, static (source, target) => source.CopyTo(target), ct);

    /// <summary>Copies one row of a chunk's values into the window's type.</summary>
    public delegate void RowCopy<TOut>(ReadOnlySpan<T> source, Span<TOut> target);

    /// <summary>
    /// The same region with every value converted by <paramref name="copy"/> as it leaves the decoded chunks, so a stage that
    /// works on another type (segmentation on floats) holds no window of the stored type beside its own.
    /// </summary>
    public async Task<Volume<TOut>> ReadAsync<TOut>(int z0, int z1, int y0, int y1, int x0, int x1, RowCopy<TOut> copy, CancellationToken ct = default)
        where TOut : unmanaged
    {
        var shape = array.Shape;
        if (z0 < 0 || y0 < 0 || x0 < 0 || z1 > shape[0] || y1 > shape[1] || x1 > shape[2] || z0 >= z1 || y0 >= y1 || x0 >= x1)
            throw new ArgumentOutOfRangeException(nameof(z0), $"region [{z0},{z1})x[{y0},{y1})x[{x0},{x1}) is empty or outside {string.Join('x', shape)}");
        var (cd, ch, cw) = (array.Chunks[0], array.Chunks[1], array.Chunks[2]);
        var (cz0, cz1) = (z0 / cd, (z1 - 1) / cd);
        var (cy0, cy1) = (y0 / ch, (y1 - 1) / ch);
        var (cx0, cx1) = (x0 / cw, (x1 - 1) / cw);

        foreach (var key in _decoded.Keys.Where(k => k.Z < cz0 || k.Z > cz1 || k.Y < cy0 || k.Y > cy1 || k.X < cx0).ToArray())
            _decoded.Remove(key);
        var missing = new List<(int Z, int Y, int X)>();
        for (var cz = cz0; cz <= cz1; cz++)
            for (var cy = cy0; cy <= cy1; cy++)
                for (var cx = cx0; cx <= cx1; cx++)
                    if (!_decoded.ContainsKey((cz, cy, cx))) missing.Add((cz, cy, cx));
        var loaded = new Volume<T>[missing.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, missing.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, array.MaxConcurrency), CancellationToken = ct },
            async (i, token) => loaded[i] = await array.ReadChunkAsync(missing[i].Z, missing[i].Y, missing[i].X, token).ConfigureAwait(false))
            .ConfigureAwait(false);
        for (var i = 0; i < missing.Count; i++) _decoded[missing[i]] = loaded[i];
        ChunksDecoded += missing.Count;

        var result = new Volume<TOut>(z1 - z0, y1 - y0, x1 - x0);
        foreach (var ((cz, cy, cx), chunk) in _decoded)
        {
            // The chunk's box in array coordinates, intersected with the region.
            var (bz0, by0, bx0) = (cz * cd, cy * ch, cx * cw);
            var (oz0, oz1) = (Math.Max(z0, bz0), Math.Min(z1, bz0 + chunk.Depth));
            var (oy0, oy1) = (Math.Max(y0, by0), Math.Min(y1, by0 + chunk.Height));
            var (ox0, ox1) = (Math.Max(x0, bx0), Math.Min(x1, bx0 + chunk.Width));
            if (oz0 >= oz1 || oy0 >= oy1 || ox0 >= ox1) continue;
            for (var z = oz0; z < oz1; z++)
                for (var y = oy0; y < oy1; y++)
                    copy(chunk.Data.AsSpan(((z - bz0) * chunk.Height + (y - by0)) * chunk.Width + (ox0 - bx0), ox1 - ox0),
                        result.Data.AsSpan(((z - z0) * result.Height + (y - y0)) * result.Width + (ox0 - x0), ox1 - ox0));
        }
        // The next window of the row reads from at most one chunk column before this one's last (its halo reaches back
        // across the owned edge): drop the columns before that now, not at the next read, so that they are not held while
        // the stage works on this window (with one-chunk tiles 3 of the 9 chunks a window's halo touches).
        foreach (var key in _decoded.Keys.Where(k => k.X < cx1 - 1).ToArray())
            _decoded.Remove(key);
        return result;
    }
}
