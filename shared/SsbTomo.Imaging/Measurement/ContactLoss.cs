using System.Numerics;
using System.Runtime.Intrinsics;

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
        return CountFrom(slab, 0, ownedSlices, 0, slab.Height, 0, slab.Width);
    }

    /// <summary>
    /// Faces from each voxel of the box [z0,z1) x [y0,y1) x [x0,x1) of <paramref name="window"/> to its next voxel along z, y
    /// and x, where the window holds that voxel. Windows that tile a volume (each owning its box, read with at least one
    /// voxel beyond it where the volume goes on) count every face of the volume once, in any order.
    /// </summary>
    public static ContactFaces CountFrom(Volume<byte> window, int z0, int z1, int y0, int y1, int x0, int x1)
    {
        if (z0 < 0 || z1 > window.Depth || z0 > z1 || y0 < 0 || y1 > window.Height || y0 > y1 || x0 < 0 || x1 > window.Width || x0 > x1)
            throw new ArgumentOutOfRangeException(nameof(z0), $"box [{z0},{z1})x[{y0},{y1})x[{x0},{x1}) is not inside {window.Depth}x{window.Height}x{window.Width}");
        var width = window.Width;
        var perSlice = new ContactFaces[z1 - z0];
        Parallel.For(z0, z1, z =>
        {
            long surface = 0, lost = 0;
            var slice = window.Slice(z);
            var below = z + 1 < window.Depth ? window.Slice(z + 1) : default;
            for (var y = y0; y < y1; y++)
            {
                var row = slice.Slice(y * width, width);
                var alongX = Math.Min(x1, width - 1) - x0;
                if (alongX > 0) CountFaces(row.Slice(x0, alongX), row.Slice(x0 + 1, alongX), ref surface, ref lost);
                if (y + 1 < window.Height) CountFaces(row[x0..x1], slice.Slice((y + 1) * width + x0, x1 - x0), ref surface, ref lost);
                if (!below.IsEmpty) CountFaces(row[x0..x1], below.Slice(y * width + x0, x1 - x0), ref surface, ref lost);
            }
            perSlice[z - z0] = new ContactFaces(surface, lost);
        });
        var total = default(ContactFaces);
        foreach (var faces in perSlice) total += faces;
        return total;
    }

    /// <summary>All faces of a whole volume (no next slice).</summary>
    public static ContactFaces Count(Volume<byte> labels) => Count(labels, labels.Depth);

    /// <summary>
    /// The faces between <paramref name="first"/>[i] and <paramref name="second"/>[i] for every i: 32 pairs at a time on vector
    /// lanes (an NMC voxel against a label of LPS, carbon or void is surface, against void also lost), the rest one by one.
    /// </summary>
    private static void CountFaces(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ref long surface, ref long lost)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var (nmc, voidLabel, lps, span) = (Vector256.Create(PhaseLabel.Nmc), Vector256.Create(PhaseLabel.Void), Vector256.Create(PhaseLabel.Lps),
                Vector256.Create((byte)(PhaseLabel.Void - PhaseLabel.Lps)));
            for (; i + Vector256<byte>.Count <= first.Length; i += Vector256<byte>.Count)
            {
                var (a, b) = (Vector256.Create(first.Slice(i, Vector256<byte>.Count)), Vector256.Create(second.Slice(i, Vector256<byte>.Count)));
                var (aNmc, bNmc) = (Vector256.Equals(a, nmc), Vector256.Equals(b, nmc));
                // LPS, carbon or void: label − LPS ≤ void − LPS, unsigned (Outside and NMC wrap around above it).
                var (aOther, bOther) = (Vector256.LessThanOrEqual(a - lps, span), Vector256.LessThanOrEqual(b - lps, span));
                var faces = (aNmc & bOther) | (bNmc & aOther);
                var voidFaces = (aNmc & Vector256.Equals(b, voidLabel)) | (bNmc & Vector256.Equals(a, voidLabel));
                surface += BitOperations.PopCount(faces.ExtractMostSignificantBits());
                lost += BitOperations.PopCount(voidFaces.ExtractMostSignificantBits());
            }
        }
        for (; i < first.Length; i++) CountFace(first[i], second[i], ref surface, ref lost);
    }

    private static void CountFace(byte a, byte b, ref long surface, ref long lost)
    {
        if (a == b) return;
        var other = a == PhaseLabel.Nmc ? b : b == PhaseLabel.Nmc ? a : PhaseLabel.Outside;
        if (other is PhaseLabel.Outside or > PhaseLabel.Void) return;
        surface++;
        if (other == PhaseLabel.Void) lost++;
    }
}
