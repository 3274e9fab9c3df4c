namespace SsbTomo.Segmentation;

/// <summary>Fixed choices of the segmentation stage, shared by its two consumers.</summary>
public static class SegmentationSettings
{
    /// <summary>Light denoising: enough to tame shot noise, small against a 150 nm carbon fibre.</summary>
    public const double DenoiseSigmaVoxels = 0.8;

    /// <summary>Histogram bins over the whole uint16 range; chunk histograms add bin by bin.</summary>
    public const int HistogramBins = 1024;
    public const double HistogramMin = 0, HistogramMax = 65536;
}
