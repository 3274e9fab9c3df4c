namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// The segmentation recipe, in one place for the segmentation stage and every re-run of it (the metrics' threshold
/// variants, studies): classification by the stack-wide thresholds, <see cref="PartialVolumeCleanup"/>, then
/// <see cref="ShineThroughCorrection"/> of the cleaned labels, never above the electrolyte's class mean (on stacks that show
/// shine-through: <see cref="ShineThroughEstimate.DetectionFloor"/>). Four classes dark
/// to bright: void, carbon, LPS, NMC. Given the tube filter's σ (the segmentation stage passes the voxel size's), thin
/// carbon fibres then get the width at half their depth (<see cref="FibreHalfDepth"/>). Last, on stacks whose pores shine
/// through strongly, runs along z that rise towards their back wall as a lit pore does go back to void (<see cref="LitPoreRuns"/>).
/// With the tube σ, thin gaps along the particles' surfaces that the clean-up made carbon go back to void last (<see cref="ParticleFaceGaps"/>).
/// </summary>
public static class PhaseSegmentation
{
    /// <summary>
    /// Halo a slab needs so that its owned slices equal the whole-stack result when the stack's shine-through correction is
    /// 0 (the lit pore runs do not run); <see cref="RequiredHaloSlicesWithFibres(double, double)"/> for any correction.
    /// </summary>
    public static int RequiredHaloSlices => PartialVolumeCleanup.RequiredHaloSlices() + ShineThroughCorrection.RequiredHaloSlices;

    /// <summary>
    /// Halo a slab needs when the fibres' half-depth rule runs with tube σ <paramref name="fibreSigmaVoxels"/> (0: it does
    /// not) and the shine-through correction is 0.
    /// </summary>
    public static int RequiredHaloSlicesWithFibres(double fibreSigmaVoxels) => fibreSigmaVoxels > 0
        ? Math.Max(ParticleFaceGaps.LabelReachVoxels
            + Math.Max(RequiredHaloSlices + FibreHalfDepth.NeighbourhoodVoxels(fibreSigmaVoxels), FibreHalfDepth.RequiredHaloSlices(fibreSigmaVoxels)),
            ParticleFaceGaps.RequiredHaloSlices(fibreSigmaVoxels))
        : RequiredHaloSlices;

    /// <summary>
    /// The halo for the recipe as <see cref="Segment(Volume{float}, double[], double[], double, double, SliceSpan)"/> runs it
    /// with this shine-through correction: every step's span grows by the lit pore runs' reach where they run (a positive
    /// correction), so the halo does too.
    /// </summary>
    public static int RequiredHaloSlicesWithFibres(double fibreSigmaVoxels, double shineThroughCorrection) =>
        RequiredHaloSlicesWithFibres(fibreSigmaVoxels) + (shineThroughCorrection > 0 ? LitPoreRuns.ReachBeforeSlices : 0);

    /// <summary>
    /// Halo a tile needs in y and x: the shine-through correction and the lit pore runs work along each (y, x) column alone, so sideways only
    /// the clean-up's lines reach (and the fibres' rule, <see cref="RequiredHaloPixelsWithFibres"/>).
    /// </summary>
    public static int RequiredHaloPixels => PartialVolumeCleanup.RequiredHaloSlices();

    /// <summary>The in-plane halo with the fibres' half-depth rule at tube σ <paramref name="fibreSigmaVoxels"/> (0: without it).</summary>
    public static int RequiredHaloPixelsWithFibres(double fibreSigmaVoxels) => fibreSigmaVoxels > 0
        ? Math.Max(ParticleFaceGaps.LabelReachVoxels
            + Math.Max(RequiredHaloPixels + FibreHalfDepth.NeighbourhoodVoxels(fibreSigmaVoxels), FibreHalfDepth.RequiredHaloSlices(fibreSigmaVoxels)),
            ParticleFaceGaps.RequiredHaloSlices(fibreSigmaVoxels))
        : RequiredHaloPixels;

    /// <summary>
    /// Labels of a denoised slab (read with <see cref="RequiredHaloSlices"/> halo; crop to the owned slices).
    /// <paramref name="shineThroughExcess"/>: the stack's <see cref="ShineThroughEstimate"/> (0 when not measured).
    /// <paramref name="fibreSigmaVoxels"/>: the tube filter's σ (<see cref="CarbonFibreSurvey.TubeSigmaVoxels"/>) for
    /// <see cref="FibreHalfDepth"/>, 0 to leave the fibres at the threshold's width; with it, read the slab with
    /// <see cref="RequiredHaloSlicesWithFibres"/> halo.
    /// </summary>
    /// <param name="correctShineThrough">False where the stack shows no shine-through (<see cref="ShineThroughExcess.Detected"/>): the shine-through correction is left out.</param>
    public static Volume<byte> Segment(Volume<float> denoised, double[] thresholds, double[] classMeans, double shineThroughExcess = 0, double fibreSigmaVoxels = 0,
        bool correctShineThrough = true) =>
        Segment(denoised, thresholds, classMeans, shineThroughExcess, fibreSigmaVoxels, SliceSpan.All(denoised.Depth), correctShineThrough: correctShineThrough);

    /// <summary>
    /// As above, exact on the slices of <paramref name="exact"/> only (a chunk's owned slices in its window, which carries
    /// the halo): each step computes only where the steps after it read, the lit pore runs on the span, the fibres' rule
    /// their reach beyond it, the shine-through correction a fibre box beyond that, the clean-up
    /// <see cref="ShineThroughCorrection.MaxRunSlices"/> before that (the correction reads labels behind a voxel, grey
    /// levels ahead). Slices outside the span hold intermediate results: crop them away.
    /// </summary>
    /// <param name="tubeCores">The fibres' rule's tube tests on <paramref name="denoised"/> kept from an earlier call on it with the same σ and
    /// class means (the threshold variants on one band); null: kept for this call only, so that the particle faces' gaps
    /// take the half-depth rule's tests of the voxels both look at instead of testing them again.</param>
    /// <param name="correctShineThrough">False: the shine-through correction is left out (a stack without measurable shine-through).</param>
    /// <param name="exactArea">
    /// The rows and columns of a tile's owned voxels in its window (null: all). The clean-up is then exact only where the steps
    /// after it read: the owned area, grown by the fibres' rule's and the particle faces' reach when they run (the shine-through
    /// correction and the lit pore runs read along z alone). Voxels outside hold intermediate results: crop them away.
    /// </param>
    public static Volume<byte> Segment(Volume<float> denoised, double[] thresholds, double[] classMeans, double shineThroughExcess, double fibreSigmaVoxels,
        SliceSpan exact, FibreHalfDepth.TubeCoreCache? tubeCores = null, bool correctShineThrough = true, AreaSpan? exactArea = null)
    {
        exact.CheckInside(denoised.Depth, nameof(exact));
        exactArea?.CheckInside(denoised.Height, denoised.Width, nameof(exactArea));
        var gapsRead = fibreSigmaVoxels > 0 ? exact.Grow(ParticleFaceGaps.LabelReachVoxels, ParticleFaceGaps.LabelReachVoxels, denoised.Depth) : exact;
        var runsRead = shineThroughExcess > 0 ? gapsRead.Grow(LitPoreRuns.ReachBeforeSlices, LitPoreRuns.ReachAfterSlices, denoised.Depth) : gapsRead;
        var corrected = fibreSigmaVoxels > 0
            ? runsRead.Grow(FibreHalfDepth.NeighbourhoodVoxels(fibreSigmaVoxels), FibreHalfDepth.NeighbourhoodVoxels(fibreSigmaVoxels), denoised.Depth)
            : runsRead;
        var cleaned = corrected.Grow(ShineThroughCorrection.MaxRunSlices, 0, denoised.Depth);
        // In the plane the same chain, without the steps that read along z alone.
        var fibresArea = exactArea?.Grow(fibreSigmaVoxels > 0 ? ParticleFaceGaps.LabelReachVoxels : 0, denoised.Height, denoised.Width);
        var cleanedArea = fibresArea?.Grow(fibreSigmaVoxels > 0 ? FibreHalfDepth.NeighbourhoodVoxels(fibreSigmaVoxels) : 0, denoised.Height, denoised.Width);
        using var ownTubeCores = fibreSigmaVoxels > 0 && tubeCores is null ? new FibreHalfDepth.TubeCoreCache(denoised, fibreSigmaVoxels, classMeans) : null;
        tubeCores ??= ownTubeCores;
        var labels = PhaseClassifier.Classify(denoised, thresholds, PhaseClassifier.BseDarkToBright);
        labels = PartialVolumeCleanup.Apply(labels, denoised, PhaseClassifier.BseDarkToBright, classMeans, cleaned, exactArea: cleanedArea);
        if (correctShineThrough)
            labels = ShineThroughCorrection.Apply(labels, denoised, classMeans[0], [shineThroughExcess], double.PositiveInfinity, classMeans[2], corrected,
                PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
        if (fibreSigmaVoxels > 0) labels = FibreHalfDepth.Apply(labels, denoised, classMeans, fibreSigmaVoxels, runsRead, tubeCores, fibresArea);
        LitPoreRuns.ApplyInPlace(labels, denoised, thresholds[0], classMeans, shineThroughExcess, gapsRead);
        if (fibreSigmaVoxels > 0) ParticleFaceGaps.ApplyInPlace(labels, denoised, classMeans, thresholds[1], fibreSigmaVoxels, exact, tubeCores, exactArea);
        return labels;
    }
}
