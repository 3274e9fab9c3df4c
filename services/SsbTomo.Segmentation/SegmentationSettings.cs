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

    // Survey: uint16 window and its float copy (the Hessian and box planes are per surveyed slice).
    public const double SurveyBytesPerVoxel = 8;

    // Segment: uint16 window, float copy, class labels, cleaned and corrected labels, owned labels.
    public const double SegmentBytesPerVoxel = 12;
}
