using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Measurement;

/// <summary>Phase counts (index = label) and NMC contact faces of one segmentation variant over the whole volume.</summary>
public sealed record VariantTally(string Name, double[] Thresholds, long[] LabelCounts, ContactFaces Contact)
{
    public PhaseFractionSet Fractions => PhaseFractions.FromCounts(LabelCounts);
}

/// <summary>
/// Re-segments the denoised volume, slab by slab, with each <see cref="ThresholdVariant"/> exactly as the segmentation
/// stage does (<see cref="PhaseSegmentation"/> with its halo), and counts phases and NMC contact
/// faces per variant. Cleanup runs again for every variant on purpose: moving a threshold turns blurred NMC|void edges
/// into fresh intermediate skins, which relabelling voxels alone would keep (inflating the interval) and the real
/// segmentation removes. Pass slabs read with <see cref="RequiredHaloSlices"/> of halo, in z order; sums equal the
/// whole-volume answer.
/// </summary>
public sealed class SegmentationVariantAccumulator
{
    private readonly IReadOnlyList<ThresholdVariant> _variants;
    private readonly double[] _classMeans;
    private readonly long[][] _counts;
    private readonly ContactFaces[] _contact;
    private readonly Volume<byte>?[] _previousLastSlice;

    /// <param name="classMeansDarkToBright">Means of void, carbon, LPS and NMC, as the segmentation stage used them.</param>
    public SegmentationVariantAccumulator(IReadOnlyList<ThresholdVariant> variants, double[] classMeansDarkToBright)
    {
        if (classMeansDarkToBright.Length != PhaseClassifier.BseDarkToBright.Length)
            throw new ArgumentException("one class mean per phase (void, carbon, LPS, NMC) is needed", nameof(classMeansDarkToBright));
        _variants = variants;
        _classMeans = classMeansDarkToBright;
        _counts = variants.Select(_ => new long[PhaseLabel.Count]).ToArray();
        _contact = new ContactFaces[variants.Count];
        _previousLastSlice = new Volume<byte>?[variants.Count];
    }

    public static int RequiredHaloSlices => PhaseSegmentation.RequiredHaloSlices;

    /// <summary>One slab of denoised intensities read through <paramref name="window"/> (owned slices plus halo).</summary>
    public void Add(Volume<float> intensitySlab, SlabWindow window)
    {
        for (var v = 0; v < _variants.Count; v++)
        {
            var owned = Halo.CropToOwned(PhaseSegmentation.Segment(intensitySlab, _variants[v].Thresholds, _classMeans), window);
            if (_previousLastSlice[v] is { } previous) _contact[v] += MicrostructureAccumulator.FacesBetween(previous, owned);
            _contact[v] += ContactLoss.Count(owned);
            var counts = PhaseFractions.Count(owned);
            for (var i = 0; i < counts.Length; i++) _counts[v][i] += counts[i];
            _previousLastSlice[v] = Halo.CropZ(owned, owned.Depth - 1, owned.Depth);
        }
    }

    public IReadOnlyList<VariantTally> Result() =>
        _variants.Select((variant, v) => new VariantTally(variant.Name, variant.Thresholds, (long[])_counts[v].Clone(), _contact[v])).ToArray();
}
