namespace SsbTomo.Imaging.Measurement;

/// <summary>Everything metrics.json reports about one label volume.</summary>
public sealed record MicrostructureSummary(long[] LabelCounts, PhaseFractionSet Fractions, ContactFaces Contact, ComponentSummary VoidComponents)
{
    public long ValidVoxels => Fractions.ValidVoxels;
}

/// <summary>
/// Measures a label volume fed as consecutive z-slabs, keeping only the previous slab's last slice, so
/// memory is one slab whatever the stack size. Sums equal the whole-volume answer exactly.
/// </summary>
public sealed class MicrostructureAccumulator
{
    private readonly long[] _counts = new long[PhaseLabel.Count];
    private readonly ComponentAccumulator _voids = new(PhaseLabel.Void);
    private ContactFaces _contact;
    private Volume<byte>? _previousLastSlice;

    public void Add(Volume<byte> slab)
    {
        if (slab.Depth == 0) return;
        if (_previousLastSlice is { } previous)
        {
            if (previous.Height != slab.Height || previous.Width != slab.Width)
                throw new ArgumentException($"slab is {slab.Height}x{slab.Width}, the previous one was {previous.Height}x{previous.Width}");
            _contact += FacesBetween(previous, slab);
        }
        _contact += ContactLoss.Count(slab, slab.Depth);
        var counts = PhaseFractions.Count(slab);
        for (var i = 0; i < _counts.Length; i++) _counts[i] += counts[i];
        _voids.Add(slab);
        _previousLastSlice = new Volume<byte>(1, slab.Height, slab.Width, slab.Slice(slab.Depth - 1).ToArray());
    }

    /// <summary>Every void component's moments, merged across slabs (for <see cref="VoidMorphology"/>).</summary>
    public IReadOnlyList<ComponentMoments> VoidComponentMoments() => _voids.Components();

    public MicrostructureSummary Result() =>
        new((long[])_counts.Clone(), PhaseFractions.FromCounts(_counts), _contact, _voids.Result());

    /// <summary>Faces across the slab border only: (previous last + next first) minus the previous slice's own in-plane faces.</summary>
    internal static ContactFaces FacesBetween(Volume<byte> previousLastSlice, Volume<byte> slab)
    {
        var pair = new Volume<byte>(2, slab.Height, slab.Width);
        previousLastSlice.Slice(0).CopyTo(pair.Slice(0));
        slab.Slice(0).CopyTo(pair.Slice(1));
        var withBorder = ContactLoss.Count(pair, 1);
        var inPlane = ContactLoss.Count(previousLastSlice, 1);
        return new ContactFaces(withBorder.NmcSurface - inPlane.NmcSurface, withBorder.NmcVoid - inPlane.NmcVoid);
    }
}
