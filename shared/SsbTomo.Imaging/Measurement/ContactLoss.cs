namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Voxel-face counts of the NMC surface: faces between an NMC voxel and a voxel of LPS, carbon or void.
/// NMC–NMC faces are interior; faces to Outside or the volume boundary are not surface we can judge.
/// </summary>
public readonly record struct ContactFaces(long NmcSurface, long NmcVoid)
{
    public static ContactFaces operator +(ContactFaces a, ContactFaces b) => new(a.NmcSurface + b.NmcSurface, a.NmcVoid + b.NmcVoid);

    /// <summary>Share of the NMC surface whose other side is void (face-count ratio); NaN without NMC surface.</summary>
    public double LossFraction => NmcSurface == 0 ? double.NaN : (double)NmcVoid / NmcSurface;
}

public static class ContactLoss
{
    /// <summary>
    /// Faces among the first <paramref name="ownedSlices"/> slices of <paramref name="slab"/>, plus the faces
    /// between the last owned slice and the next slice when the slab holds one. Summing over consecutive
    /// chunks (each passed with the following chunk's first slice) counts every face of the stack once.
    /// </summary>
    public static ContactFaces Count(Volume<byte> slab, int ownedSlices)
    {
        if (ownedSlices < 0 || ownedSlices > slab.Depth)
            throw new ArgumentOutOfRangeException(nameof(ownedSlices), ownedSlices, $"slab has {slab.Depth} slices");
        var (height, width) = (slab.Height, slab.Width);
        var perSlice = new ContactFaces[ownedSlices];
        Parallel.For(0, ownedSlices, z =>
        {
            long surface = 0, lost = 0;
            var slice = slab.Slice(z);
            for (var y = 0; y < height; y++)
            {
                var row = slice.Slice(y * width, width);
                for (var x = 0; x + 1 < width; x++) CountFace(row[x], row[x + 1], ref surface, ref lost);
                if (y + 1 < height)
                {
                    var next = slice.Slice((y + 1) * width, width);
                    for (var x = 0; x < width; x++) CountFace(row[x], next[x], ref surface, ref lost);
                }
            }
            if (z + 1 < slab.Depth)
            {
                var below = slab.Slice(z + 1);
                for (var i = 0; i < slice.Length; i++) CountFace(slice[i], below[i], ref surface, ref lost);
            }
            perSlice[z] = new ContactFaces(surface, lost);
        });
        var total = default(ContactFaces);
        foreach (var faces in perSlice) total += faces;
        return total;
    }

    /// <summary>All faces of a whole volume (no next slice).</summary>
    public static ContactFaces Count(Volume<byte> labels) => Count(labels, labels.Depth);

    private static void CountFace(byte a, byte b, ref long surface, ref long lost)
    {
        if (a == b) return;
        var other = a == PhaseLabel.Nmc ? b : b == PhaseLabel.Nmc ? a : PhaseLabel.Outside;
        if (other is PhaseLabel.Outside or > PhaseLabel.Void) return;
        surface++;
        if (other == PhaseLabel.Void) lost++;
    }
}
