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
/// <para>
/// With a <see cref="VariantBlockSample"/> that is not every voxel, each window segments only the parts of the sampled
/// blocks it owns (each read with the same halo in z, y and x, so their voxels are exact), with every variant and with the
/// reported thresholds, and <see cref="Result"/> ends with the reported segmentation's tally on those voxels
/// (<see cref="VariantBlockSample.SampledBaseName"/>) for <see cref="VariantBlockSample.Estimate"/>.
/// </para>
/// </summary>
public sealed class SegmentationVariantAccumulator
{
    private readonly IReadOnlyList<ThresholdVariant> _variants;
    private readonly double[] _classMeans;
    private readonly double _shineThroughExcess;
    private readonly double _fibreSigmaVoxels;
    private readonly bool _correctShineThrough;
    private readonly VariantBlockSample _sample;
    private readonly long[][] _counts;
    private readonly ContactFaces[] _contact;

    /// <param name="classMeansDarkToBright">Means of void, carbon, LPS and NMC, as the segmentation stage used them.</param>
    /// <param name="shineThroughExcess">The stack's <see cref="ShineThroughEstimate"/>, as the segmentation stage used it.</param>
    /// <param name="fibreSigmaVoxels">The tube σ of <see cref="FibreHalfDepth"/>, as the segmentation stage used it (0: off).</param>
    /// <param name="sample">Voxels to count on (null: all); when not all, <paramref name="reportedThresholds"/> are needed for the sampled base.</param>
    /// <param name="reportedThresholds">The thresholds of the reported segmentation.</param>
    /// <param name="correctShineThrough">Whether the segmentation stage ran the shine-through correction (<see cref="ShineThroughExcess.Detected"/>).</param>
    public SegmentationVariantAccumulator(IReadOnlyList<ThresholdVariant> variants, double[] classMeansDarkToBright, double shineThroughExcess = 0,
        double fibreSigmaVoxels = 0, VariantBlockSample? sample = null, double[]? reportedThresholds = null, bool correctShineThrough = true)
    {
        if (classMeansDarkToBright.Length != PhaseClassifier.BseDarkToBright.Length)
            throw new ArgumentException("one class mean per phase (void, carbon, LPS, NMC) is needed", nameof(classMeansDarkToBright));
        _sample = sample ?? VariantBlockSample.AllVoxels;
        if (!_sample.IsAllVoxels)
            variants = [.. variants, new ThresholdVariant(VariantBlockSample.SampledBaseName,
                reportedThresholds ?? throw new ArgumentNullException(nameof(reportedThresholds), "a sampled tally needs the reported thresholds"))];
        _variants = variants;
        _classMeans = classMeansDarkToBright;
        _shineThroughExcess = shineThroughExcess;
        _fibreSigmaVoxels = fibreSigmaVoxels;
        _correctShineThrough = correctShineThrough;
        _counts = variants.Select(_ => new long[PhaseLabel.Count]).ToArray();
        _contact = new ContactFaces[variants.Count];
    }

    /// <summary>The halo for a shine-through correction of 0 (<see cref="PhaseSegmentation.RequiredHaloSlices"/> plus the faces' voxel).</summary>
    public static int RequiredHaloSlices => PhaseSegmentation.RequiredHaloSlices + 1;

    /// <summary>The halo with the fibres' half-depth rule at tube σ <paramref name="fibreSigmaVoxels"/> (0: without it), correction 0.</summary>
    public static int RequiredHaloSlicesWithFibres(double fibreSigmaVoxels) => PhaseSegmentation.RequiredHaloSlicesWithFibres(fibreSigmaVoxels) + 1;

    /// <summary>As <see cref="PhaseSegmentation.RequiredHaloSlicesWithFibres(double, double)"/> plus the faces' voxel.</summary>
    public static int RequiredHaloSlicesWithFibres(double fibreSigmaVoxels, double shineThroughCorrection) =>
        PhaseSegmentation.RequiredHaloSlicesWithFibres(fibreSigmaVoxels, shineThroughCorrection) + 1;

    /// <summary>The halo in y and x (<see cref="PhaseSegmentation.RequiredHaloPixelsWithFibres"/> plus the faces' voxel).</summary>
    public static int RequiredHaloPixelsWithFibres(double fibreSigmaVoxels) => PhaseSegmentation.RequiredHaloPixelsWithFibres(fibreSigmaVoxels) + 1;

    /// <summary>One slab of whole slices of denoised intensities read through <paramref name="window"/> (owned slices plus halo).</summary>
    public void Add(Volume<float> intensitySlab, SlabWindow window) =>
        Add(intensitySlab, window, TileWindow.Whole(intensitySlab.Height, intensitySlab.Width));

    /// <summary>One window of denoised intensities: the slab <paramref name="window"/> x the y/x <paramref name="tile"/>, both with halo.</summary>
    public void Add(Volume<float> intensityWindow, SlabWindow window, TileWindow tile)
    {
        if (intensityWindow.Depth != window.SlabSlices || intensityWindow.Height != tile.ReadHeight || intensityWindow.Width != tile.ReadWidth)
            throw new ArgumentException($"window is {intensityWindow.Depth}x{intensityWindow.Height}x{intensityWindow.Width}, "
                + $"expected {window.SlabSlices}x{tile.ReadHeight}x{tile.ReadWidth}", nameof(intensityWindow));
        if (_sample.IsAllVoxels)
        {
            CountOwned(intensityWindow, window, tile);
            return;
        }
        // Each sampled block's owned part with the recipe's halo (the window was read with at least that much; clipped where
        // the window ends: there the stack ends).
        var (zHalo, halo) = (RequiredHaloSlicesWithFibres(_fibreSigmaVoxels, _shineThroughExcess), RequiredHaloPixelsWithFibres(_fibreSigmaVoxels));
        foreach (var b in _sample.Blocks(window.OwnedZ0, window.OwnedZ1, tile.OwnedY0, tile.OwnedY1, tile.OwnedX0, tile.OwnedX1))
        {
            var (readZ0, readZ1) = (Math.Max(window.SlabZ0, b.Z0 - zHalo), Math.Min(window.SlabZ1, b.Z1 + zHalo));
            var (readY0, readY1) = (Math.Max(tile.ReadY0, b.Y0 - halo), Math.Min(tile.ReadY1, b.Y1 + halo));
            var (readX0, readX1) = (Math.Max(tile.ReadX0, b.X0 - halo), Math.Min(tile.ReadX1, b.X1 + halo));
            var inWindow = new TileWindow(readY0 - tile.ReadY0, readY1 - tile.ReadY0, readX0 - tile.ReadX0, readX1 - tile.ReadX0,
                readY0 - tile.ReadY0, readY1 - tile.ReadY0, readX0 - tile.ReadX0, readX1 - tile.ReadX0);
            var block = TileGrid.Crop(intensityWindow, readZ0 - window.SlabZ0, readZ1 - window.SlabZ0, inWindow);
            CountOwned(block, new SlabWindow(readZ0, readZ1, b.Z0, b.Z1), new TileWindow(readY0, readY1, readX0, readX1, b.Y0, b.Y1, b.X0, b.X1),
                VariantsAtOnceOnBlocks);
        }
    }

    /// <summary>
    /// Variants segmented at once on a sampled block. A block is a few dozen rows: each segmentation's steps split it by slices
    /// over the cores but leave one idle in their serial parts (the counts, the crops, the steps' set-up), so on 2 cores the
    /// variants took 1.6 cores (64x1024x1024, every 4th band of rows, the blocks' forerunner). Two at a time hold two blocks'
    /// working copies, each a small part of a window; whole windows (every voxel counted) stay one at a time, since the
    /// window is what the budget sizes. A tuning of the schedule (measured on these 2-core machines), not of any result: the
    /// tallies are the same for any value.
    /// </summary>
    public const int VariantsAtOnceOnBlocks = 2;

    private void CountOwned(Volume<float> intensityWindow, SlabWindow window, TileWindow tile, int variantsAtOnce = 1)
    {
        var (z0, (y0, x0)) = (window.OwnedStartInSlab, tile.OwnedStartInRead);
        var (z1, y1, x1) = (z0 + window.OwnedSlices, y0 + tile.OwnedHeight, x0 + tile.OwnedWidth);
        // The faces reach one voxel beyond the owned slices; in the plane one voxel beyond the owned rows and columns suffices too
        // (a sampled block's halo is most of its voxels, and the steps then compute only where the counts read).
        var exact = window.OwnedInSlab.Grow(0, 1, intensityWindow.Depth);
        var exactArea = tile.OwnedInRead.Grow(1, intensityWindow.Height, intensityWindow.Width);
        // The variants differ in thresholds only, so the fibres' rule tests a voxel for a tube core once for all of them.
        using var tubeCores = _fibreSigmaVoxels > 0 ? new FibreHalfDepth.TubeCoreCache(intensityWindow, _fibreSigmaVoxels, _classMeans) : null;
        // Each variant adds to its own tallies only: the sums do not depend on the order.
        Parallel.For(0, _variants.Count, new ParallelOptions { MaxDegreeOfParallelism = variantsAtOnce }, v =>
        {
            var labels = PhaseSegmentation.Segment(intensityWindow, _variants[v].Thresholds, _classMeans, _shineThroughExcess, _fibreSigmaVoxels, exact, tubeCores, _correctShineThrough,
                exactArea);
            _contact[v] += ContactLoss.CountFrom(labels, z0, z1, y0, y1, x0, x1);
            var counts = PhaseFractions.Count(TileGrid.CropToOwned(labels, window, tile));
            for (var i = 0; i < counts.Length; i++) _counts[v][i] += counts[i];
        });
    }

    public IReadOnlyList<VariantTally> Result() =>
        _variants.Select((variant, v) => new VariantTally(variant.Name, variant.Thresholds, (long[])_counts[v].Clone(), _contact[v])).ToArray();
}
