using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;

namespace SsbTomo.Storage;

/// <summary>One plane through a (z, y, x) Zarr array, read from the chunks that plane crosses only.</summary>
public static class OrthogonalSlice
{
    /// <summary>The middle plane of <paramref name="plane"/>'s kind: slice z = depth/2, row y = height/2 or column x = width/2.</summary>
    public static int MiddleIndex<T>(ZarrArray<T> array, SlicePlane plane) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(array);
        return plane switch
        {
            SlicePlane.Xy => array.Shape[0] / 2,
            SlicePlane.Xz => array.Shape[1] / 2,
            _ => array.Shape[2] / 2,
        };
    }

    /// <summary>
    /// The plane as an image: xy has rows y and columns x; xz rows z and columns x; yz rows z and columns y. Memory is the
    /// plane and the chunks it crosses, decoded a few at a time.
    /// </summary>
    public static async Task<Image2D<T>> ReadAsync<T>(ZarrArray<T> array, SlicePlane plane, int index, CancellationToken ct = default)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(array);
        var (depth, height, width) = (array.Shape[0], array.Shape[1], array.Shape[2]);
        var extent = plane switch { SlicePlane.Xy => depth, SlicePlane.Xz => height, _ => width };
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, extent);
        // A one-voxel-thick region of a C-ordered (z, y, x) array is laid out exactly as the image's rows.
        return plane switch
        {
            SlicePlane.Xy => new Image2D<T>(height, width, (await array.ReadRegionAsync(index, index + 1, 0, height, 0, width, ct).ConfigureAwait(false)).Data),
            SlicePlane.Xz => new Image2D<T>(depth, width, (await array.ReadRegionAsync(0, depth, index, index + 1, 0, width, ct).ConfigureAwait(false)).Data),
            _ => new Image2D<T>(depth, height, (await array.ReadRegionAsync(0, depth, 0, height, index, index + 1, ct).ConfigureAwait(false)).Data),
        };
    }
}
