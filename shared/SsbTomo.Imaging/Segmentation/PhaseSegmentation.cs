namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// The segmentation recipe, in one place for the segmentation stage and every re-run of it (the metrics' threshold
/// variants, studies): classification by the stack-wide thresholds, <see cref="PartialVolumeCleanup"/>, then
/// <see cref="ShineThroughCorrection"/> of the cleaned labels, never above the electrolyte's class mean. Four classes dark
/// to bright: void, carbon, LPS, NMC. Given the tube filter's σ (the segmentation stage passes the voxel size's), thin
/// carbon fibres then get the width at half their depth (<see cref="FibreHalfDepth"/>).
/// </summary>
public static class PhaseSegmentation
{
    /// <summary>Halo a slab needs so that its owned slices equal the whole-stack result.</summary>
    public static int RequiredHaloSlices => PartialVolumeCleanup.RequiredHaloSlices() + ShineThroughCorrection.RequiredHaloSlices;

    /// <summary>Halo a slab needs when the fibres' half-depth rule runs with tube σ <paramref name="fibreSigmaVoxels"/> (0: it does not).</summary>
    public static int RequiredHaloSlicesWithFibres(double fibreSigmaVoxels) => fibreSigmaVoxels > 0
        ? Math.Max(RequiredHaloSlices + FibreHalfDepth.NeighbourhoodVoxels(fibreSigmaVoxels), FibreHalfDepth.RequiredHaloSlices(fibreSigmaVoxels))
        : RequiredHaloSlices;

    /// <summary>
    /// Halo a tile needs in y and x: the shine-through correction works along each (y, x) column alone, so sideways only
    /// the clean-up's lines reach (and the fibres' rule, <see cref="RequiredHaloPixelsWithFibres"/>).
    /// </summary>
    public static int RequiredHaloPixels => PartialVolumeCleanup.RequiredHaloSlices();

    /// <summary>The in-plane halo with the fibres' half-depth rule at tube σ <paramref name="fibreSigmaVoxels"/> (0: without it).</summary>
    public static int RequiredHaloPixelsWithFibres(double fibreSigmaVoxels) => fibreSigmaVoxels > 0
        ? Math.Max(RequiredHaloPixels + FibreHalfDepth.NeighbourhoodVoxels(fibreSigmaVoxels), FibreHalfDepth.RequiredHaloSlices(fibreSigmaVoxels))
        : RequiredHaloPixels;

    /// <summary>
    /// Labels of a denoised slab (read with <see cref="RequiredHaloSlices"/> halo; crop to the owned slices).
    /// <paramref name="shineThroughExcess"/>: the stack's <see cref="ShineThroughEstimate"/> (0 when not measured).
    /// <paramref name="fibreSigmaVoxels"/>: the tube filter's σ (<see cref="CarbonFibreSurvey.TubeSigmaVoxels"/>) for
    /// <see cref="FibreHalfDepth"/>, 0 to leave the fibres at the threshold's width; with it, read the slab with
    /// <see cref="RequiredHaloSlicesWithFibres"/> halo.
    /// </summary>
    public static Volume<byte> Segment(Volume<float> denoised, double[] thresholds, double[] classMeans, double shineThroughExcess = 0, double fibreSigmaVoxels = 0)
    {
        var labels = PhaseClassifier.Classify(denoised, thresholds, PhaseClassifier.BseDarkToBright);
        labels = PartialVolumeCleanup.Apply(labels, denoised, PhaseClassifier.BseDarkToBright, classMeans);
        labels = ShineThroughCorrection.Apply(labels, denoised, classMeans[0], [shineThroughExcess], double.PositiveInfinity, classMeans[2],
            PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
        return fibreSigmaVoxels > 0 ? FibreHalfDepth.Apply(labels, denoised, classMeans, fibreSigmaVoxels) : labels;
    }
}
