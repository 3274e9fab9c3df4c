using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.TestSupport;

/// <summary>What a stage reads from storage for one window, taken from an in-memory volume, for tiling tests.</summary>
public static class VolumeWindows
{
    /// <summary>The voxels of <paramref name="slab"/> x <paramref name="tile"/> (owned plus halo) of <paramref name="volume"/>.</summary>
    public static Volume<T> Read<T>(Volume<T> volume, SlabWindow slab, TileWindow tile) where T : unmanaged
    {
        var window = new Volume<T>(slab.SlabSlices, tile.ReadHeight, tile.ReadWidth);
        for (var z = 0; z < window.Depth; z++)
            for (var y = 0; y < window.Height; y++)
                volume.Data.AsSpan(((slab.SlabZ0 + z) * volume.Height + tile.ReadY0 + y) * volume.Width + tile.ReadX0, window.Width)
                    .CopyTo(window.Data.AsSpan((z * window.Height + y) * window.Width, window.Width));
        return window;
    }
}
