using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Segmentation;

/// <summary>Fixed choices of the segmentation stage, shared by its consumers.</summary>
public static class SegmentationSettings
{
    /// <summary>
    /// Light denoising: enough to tame shot noise, small against a 150 nm carbon fibre. A job's stack is denoised with the
    /// σ the orchestrator chose for its noise (<see cref="NoiseLevel.DenoiseSigmaFor"/>, carried by PrepareChunk); this
    /// one where nothing was chosen.
    /// </summary>
    public const double DenoiseSigmaVoxels = NoiseLevel.DefaultDenoiseSigma;

    /// <summary>Histogram bins over the whole uint16 range; chunk histograms add bin by bin.</summary>
    public const int HistogramBins = 1024;
    public const double HistogramMin = 0, HistogramMax = 65536;

    // What each consumer holds per voxel of its window (read, working copies, owned output), for the tile budget.
    // Denoise: uint16 window, float result and the filter's float scratch, owned float and uint16 copies.
    public const double DenoiseBytesPerVoxel = 20;

    // Survey: the uint16 window and what the survey allocates beside it (each thread's scratch planes, no float copy:
    // CarbonFibreSurvey.WorkingBytesPerVoxel), spread over the window's slices: an 8-slice stack's window on 2 cores needs
    // 10 bytes a voxel (two surveyed slices at 32 bytes a pixel each; 44 before the survey read the uint16 window directly).
    // The next window's part of the decoded chunks that the window reader keeps meanwhile (up to another uint16 window) is
    // StageVolume.WindowsAsync's to count, not the stage's.
    public static double SurveyBytesPerVoxel(int windowSlices, int surveyedSlices, int parallelism) =>
        sizeof(ushort) + CarbonFibreSurvey.WorkingBytesPerVoxel(windowSlices, surveyedSlices, parallelism);


    /// <summary>
    /// Slices the survey of one window may process at once: one per core, no more than it surveys, and no more than the
    /// window budget holds with the smallest tile (one storage chunk and its halo), so a many-core worker with a small
    /// budget narrows its loop instead of running out of memory. The counts do not depend on it.
    /// </summary>
    public static int SurveyParallelism(long windowBudgetBytes, int windowSlices, int surveyedSlices, int smallestReadPixels, int processors)
    {
        var parallelism = Math.Max(1, Math.Min(processors, surveyedSlices));
        while (parallelism > 1 && (double)windowSlices * smallestReadPixels * (SurveyBytesPerVoxel(windowSlices, surveyedSlices, parallelism) + Storage.StageVolume<ushort>.ReadAheadBytesPerVoxel(1))
               > windowBudgetBytes)
            parallelism--;
        return parallelism;
    }

    // Segment: the float window (read as floats, SegmentChunkConsumer: no uint16 window beside it), class labels, cleaned and corrected labels, owned labels, and what is shared per
    // slice pixel by the window's slices: each running clean-up block's box planes (one per core), the shine-through
    // correction's two run-length planes and the lit pore runs' run starts (LitPoreRuns relabels in place) (four int/float planes before it looked up the wall only where a voxel could be
    // given back). A flat 12 missed the per-slice part: an 8-slice window on 2 cores allocates 16.
    // With the fibres' half-depth rule: its result and core marks per voxel, and one slice of scratch per core (the Hessian's
    // planes, box planes). The threshold variants segment the same window one after another (two at once on sampled blocks,
    // each a few dozen rows and at most a storage tile's columns of it, a crop copied out of it): their garbage is the same again per variant, but no more is live at once than for one
    // segmentation, beside the fibres' tube tests (FibreHalfDepth.TubeCoreCache, a byte a voxel), which the reported segmentation keeps for its particle faces' gaps and the variants share. The particle
    // faces' gaps run with the fibres' rule, after it: their reach mask and its second buffer (then their flags) per voxel (counted beside the
    // fibres' arrays, which may not be collected yet), and their per-core slice scratch instead of the fibres'.
    public static double SegmentBytesPerVoxel(int windowSlices, int processors, bool fibreHalfDepth) =>
        10 + (fibreHalfDepth ? FibreHalfDepth.BytesPerVoxel + FibreHalfDepth.TubeCoreCache.BytesPerVoxel + ParticleFaceGaps.BytesPerVoxel : 0)
        + (double)(processors * (PartialVolumeCleanup.ScratchBytesPerSlicePixel()
                + (fibreHalfDepth ? Math.Max(FibreHalfDepth.ScratchBytesPerSlicePixel, ParticleFaceGaps.ScratchBytesPerSlicePixel) : 0))
            + ShineThroughCorrection.ScratchBytesPerSlicePixel + LitPoreRuns.ScratchBytesPerSlicePixel) / Math.Max(1, windowSlices);
}
