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
/// segmentation removes. Pass windows (slab and y/x tile) read with <see cref="RequiredHaloSlices"/> of halo, in any
/// order; sums equal the whole-volume answer. The halo is the segmentation's plus one voxel: a window counts the faces
/// from its owned voxels to the next voxel along each axis, so that voxel's label must be exact too.
/// </summary>
public sealed class SegmentationVariantAccumulator
{
    private readonly IReadOnlyList<ThresholdVariant> _variants;
    private readonly double[] _classMeans;
    private readonly double _shineThroughExcess;
    private readonly double _fibreSigmaVoxels;
    private readonly long[][] _counts;
    private readonly ContactFaces[] _contact;

    /// <param name="classMeansDarkToBright">Means of void, carbon, LPS and NMC, as the segmentation stage used them.</param>
    /// <param name="shineThroughExcess">The stack's <see cref="ShineThroughEstimate"/>, as the segmentation stage used it.</param>
    /// <param name="fibreSigmaVoxels">The tube σ of <see cref="FibreHalfDepth"/>, as the segmentation stage used it (0: off).</param>
    public SegmentationVariantAccumulator(IReadOnlyList<ThresholdVariant> variants, double[] classMeansDarkToBright, double shineThroughExcess = 0,
        double fibreSigmaVoxels = 0)
    {
        if (classMeansDarkToBright.Length != PhaseClassifier.BseDarkToBright.Length)
            throw new ArgumentException("one class mean per phase (void, carbon, LPS, NMC) is needed", nameof(classMeansDarkToBright));
        _variants = variants;
        _classMeans = classMeansDarkToBright;
        _shineThroughExcess = shineThroughExcess;
        _fibreSigmaVoxels = fibreSigmaVoxels;
        _counts = variants.Select(_ => new long[PhaseLabel.Count]).ToArray();
        _contact = new ContactFaces[variants.Count];
    }

    public static int RequiredHaloSlices => PhaseSegmentation.RequiredHaloSlices + 1;

    /// <summary>The halo with the fibres' half-depth rule at tube σ <paramref name="fibreSigmaVoxels"/> (0: without it).</summary>
    public static int RequiredHaloSlicesWithFibres(double fibreSigmaVoxels) => PhaseSegmentation.RequiredHaloSlicesWithFibres(fibreSigmaVoxels) + 1;

    /// <summary>One slab of whole slices of denoised intensities read through <paramref name="window"/> (owned slices plus halo).</summary>
    public void Add(Volume<float> intensitySlab, SlabWindow window) =>
        Add(intensitySlab, window, TileWindow.Whole(intensitySlab.Height, intensitySlab.Width));

    /// <summary>One window of denoised intensities: the slab <paramref name="window"/> x the y/x <paramref name="tile"/>, both with halo.</summary>
    public void Add(Volume<float> intensityWindow, SlabWindow window, TileWindow tile)
    {
        if (intensityWindow.Depth != window.SlabSlices || intensityWindow.Height != tile.ReadHeight || intensityWindow.Width != tile.ReadWidth)
            throw new ArgumentException($"window is {intensityWindow.Depth}x{intensityWindow.Height}x{intensityWindow.Width}, "
                + $"expected {window.SlabSlices}x{tile.ReadHeight}x{tile.ReadWidth}", nameof(intensityWindow));
        var (z0, (y0, x0)) = (window.OwnedStartInSlab, tile.OwnedStartInRead);
        var (z1, y1, x1) = (z0 + window.OwnedSlices, y0 + tile.OwnedHeight, x0 + tile.OwnedWidth);
        for (var v = 0; v < _variants.Count; v++)
        {
            var labels = PhaseSegmentation.Segment(intensityWindow, _variants[v].Thresholds, _classMeans, _shineThroughExcess, _fibreSigmaVoxels);
            _contact[v] += ContactLoss.CountFrom(labels, z0, z1, y0, y1, x0, x1);
            var counts = PhaseFractions.Count(TileGrid.CropToOwned(labels, window, tile));
            for (var i = 0; i < counts.Length; i++) _counts[v][i] += counts[i];
        }
    }

    public IReadOnlyList<VariantTally> Result() =>
        _variants.Select((variant, v) => new VariantTally(variant.Name, variant.Thresholds, (long[])_counts[v].Clone(), _contact[v])).ToArray();
}
