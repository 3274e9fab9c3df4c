namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// A y/x window of a slab: the region [Y0, Y1) x [X0, X1) read with halo, and the owned part [OwnedY0, OwnedY1) x
/// [OwnedX0, OwnedX1) whose results it contributes, all in slab coordinates.
/// </summary>
internal readonly record struct PlaneTile(int Y0, int Y1, int X0, int X1, int OwnedY0, int OwnedY1, int OwnedX0, int OwnedX1);

/// <summary>
/// Cuts a slab's slices into y/x tiles with halo so that per-voxel work that needs a neighbourhood (a Gaussian, a
/// distance transform) holds a tile at a time in its working arrays instead of whole slices: a tile's owned voxels see
/// the same neighbourhood as in the whole slab, and at the slab's own y/x borders the tile ends where the slab ends.
/// </summary>
internal static class PlaneTiles
{
    public static IEnumerable<PlaneTile> Of(int height, int width, int tile, int haloY, int haloX)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tile, 1);
        for (var y = 0; y < height; y += tile)
            for (var x = 0; x < width; x += tile)
            {
                var (y1, x1) = (Math.Min(height, y + tile), Math.Min(width, x + tile));
                yield return new PlaneTile(Math.Max(0, y - haloY), Math.Min(height, y1 + haloY), Math.Max(0, x - haloX), Math.Min(width, x1 + haloX), y, y1, x, x1);
            }
    }

    /// <summary>Copy of the tile's region (with halo) over every slice of <paramref name="slab"/>.</summary>
    public static Volume<byte> Crop(Volume<byte> slab, PlaneTile t)
    {
        if (t.Y0 == 0 && t.X0 == 0 && t.Y1 == slab.Height && t.X1 == slab.Width) return slab;
        var (h, w) = (t.Y1 - t.Y0, t.X1 - t.X0);
        var result = new Volume<byte>(slab.Depth, h, w);
        for (var z = 0; z < slab.Depth; z++)
            for (var y = 0; y < h; y++)
                slab.Data.AsSpan((int)(((long)z * slab.Height + t.Y0 + y) * slab.Width + t.X0), w)
                    .CopyTo(result.Data.AsSpan((int)(((long)z * h + y) * w), w));
        return result;
    }
}
