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
