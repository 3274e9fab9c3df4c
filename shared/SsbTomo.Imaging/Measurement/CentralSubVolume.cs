namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// A box of a volume: its first voxel and its size, z, y, x.
/// </summary>
public readonly record struct SubVolumeBox(int Z0, int Y0, int X0, int Depth, int Height, int Width)
{
    public long Voxels => (long)Depth * Height * Width;
}

/// <summary>
/// The largest box, centred in a volume, that a measurement needing the whole box at once can afford: for a stack too
/// large for the memory budget, an intensive property (a tortuosity factor, a volume fraction) is estimated on a
/// representative volume element instead of not at all. The box is as close to a cube in physical units as the volume
/// allows (an edge the volume is thinner than is taken whole, the others share what is left), because a transport
/// property measured along one axis needs length along every axis to average over the microstructure (the
/// representative-volume-element argument of Cooper et al. 2016, SoftwareX 5:203, doi:10.1016/j.softx.2016.09.002,
/// TauFactor's REV analysis).
/// </summary>
public static class CentralSubVolume
{
    /// <summary>
    /// The largest centred box whose <paramref name="bytesNeeded"/> (depth, height, width) is at most
    /// <paramref name="allowedBytes"/>, each edge at least <paramref name="minimumEdgeVoxels"/> or the volume's whole edge
    /// when that is shorter; null when even that box does not fit. <paramref name="bytesNeeded"/> must grow with each edge.
    /// </summary>
    public static SubVolumeBox? Largest(int depth, int height, int width, VoxelSize voxelSize, Func<int, int, int, long> bytesNeeded,
        long allowedBytes, int minimumEdgeVoxels)
    {
        ArgumentNullException.ThrowIfNull(bytesNeeded);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumEdgeVoxels, 1);
        if (depth <= 0 || height <= 0 || width <= 0) return null;
        double[] spacing = [voxelSize.ZNm, voxelSize.YNm, voxelSize.XNm];
        int[] extent = [depth, height, width];

        // The box at physical edge L: each axis gets L / spacing voxels, at least the minimum, at most the whole axis.
        int[] BoxAt(double edgeNm) => [.. Enumerable.Range(0, 3).Select(a =>
            Math.Min(extent[a], Math.Max(Math.Min(minimumEdgeVoxels, extent[a]), (int)Math.Floor(edgeNm / spacing[a]))))];
        bool Fits(int[] box) => bytesNeeded(box[0], box[1], box[2]) <= allowedBytes;

        var smallest = BoxAt(0);
        if (!Fits(smallest)) return null;
        // Bisection on the edge: the box only grows with it, and 60 halvings of the largest extent are below a voxel.
        var (low, high) = (0.0, Enumerable.Range(0, 3).Max(a => extent[a] * spacing[a]));
        if (Fits(BoxAt(high))) low = high;
        else
            for (var i = 0; i < 60; i++)
            {
                var middle = 0.5 * (low + high);
                if (Fits(BoxAt(middle))) low = middle;
                else high = middle;
            }
        var size = BoxAt(low);
        return new SubVolumeBox((depth - size[0]) / 2, (height - size[1]) / 2, (width - size[2]) / 2, size[0], size[1], size[2]);
    }
}
