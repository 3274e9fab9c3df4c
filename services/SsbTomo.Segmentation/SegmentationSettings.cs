namespace SsbTomo.Segmentation;

/// <summary>Fixed choices of the segmentation stage, shared by its consumers.</summary>
public static class SegmentationSettings
{
    /// <summary>Light denoising: enough to tame shot noise, small against a 150 nm carbon fibre.</summary>
    public const double DenoiseSigmaVoxels = 0.8;

    /// <summary>Histogram bins over the whole uint16 range; chunk histograms add bin by bin.</summary>
    public const int HistogramBins = 1024;
    public const double HistogramMin = 0, HistogramMax = 65536;

    // What each consumer holds per voxel of its window (read, working copies, owned output), for the tile budget.
    // Denoise: uint16 window, float result and the filter's float scratch, owned float and uint16 copies.
    public const double DenoiseBytesPerVoxel = 20;

    // Survey: uint16 window and its float copy, plus per surveyed slice (one per core at a time) ~21 double planes: 3
    // along z, 6 Hessian components and the 6 in-plane passes' scratch, eigenvalue and box-extreme floats. On 2 cores and
    // the 8-slice chunks' ~20-slice window that is ~17 bytes per window voxel, and the collector needs headroom beside
    // it: with 24 an 8x768x768 stack ran a 320 MiB heap out of memory in most runs (MemoryBudgetTests at 512 MiB, 2026-12-01).
    public const double SurveyBytesPerVoxel = 36;

    // Segment: uint16 window, float copy, class labels, cleaned and corrected labels, owned labels.
    public const double SegmentBytesPerVoxel = 12;
}
