namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// The segmentation recipe, in one place for the segmentation stage and every re-run of it (the metrics' threshold
/// variants, studies): classification by the stack-wide thresholds, <see cref="PartialVolumeCleanup"/>, then
/// <see cref="ShineThroughCorrection"/> of the cleaned labels, never above the electrolyte's class mean. Four classes dark
/// to bright: void, carbon, LPS, NMC.
/// </summary>
public static class PhaseSegmentation
{
    /// <summary>Halo a slab needs so that its owned slices equal the whole-stack result.</summary>
    public static int RequiredHaloSlices => PartialVolumeCleanup.RequiredHaloSlices() + ShineThroughCorrection.RequiredHaloSlices;

    /// <summary>
    /// Labels of a denoised slab (read with <see cref="RequiredHaloSlices"/> halo; crop to the owned slices).
    /// <paramref name="shineThroughExcess"/>: the stack's <see cref="ShineThroughEstimate"/> (0 when not measured).
    /// </summary>
    public static Volume<byte> Segment(Volume<float> denoised, double[] thresholds, double[] classMeans, double shineThroughExcess = 0)
    {
        var labels = PhaseClassifier.Classify(denoised, thresholds, PhaseClassifier.BseDarkToBright);
        labels = PartialVolumeCleanup.Apply(labels, denoised, PhaseClassifier.BseDarkToBright, classMeans);
        return ShineThroughCorrection.Apply(labels, denoised, classMeans[0], [shineThroughExcess], double.PositiveInfinity, classMeans[2],
            PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
    }
}
