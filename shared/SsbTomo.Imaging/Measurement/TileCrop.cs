using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Measurement;

internal static class TileCrop
{
    /// <summary>The read window of <paramref name="tile"/> (owned voxels plus halo) over every slice of <paramref name="slab"/>.</summary>
    public static Volume<byte> Read(Volume<byte> slab, TileWindow tile)
    {
        if (tile.ReadY0 == 0 && tile.ReadX0 == 0 && tile.ReadY1 == slab.Height && tile.ReadX1 == slab.Width) return slab;
        var (h, w) = (tile.ReadHeight, tile.ReadWidth);
        var result = new Volume<byte>(slab.Depth, h, w);
        for (var z = 0; z < slab.Depth; z++)
            for (var y = 0; y < h; y++)
                slab.Data.AsSpan((int)(((long)z * slab.Height + tile.ReadY0 + y) * slab.Width + tile.ReadX0), w)
                    .CopyTo(result.Data.AsSpan((int)(((long)z * h + y) * w), w));
        return result;
    }
}
