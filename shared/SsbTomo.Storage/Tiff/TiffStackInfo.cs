using SsbTomo.Imaging;

namespace SsbTomo.Storage;

public enum VoxelSizeSource
{
    None,
    /// <summary>FEI/ThermoFisher private tag 34682, [Scan] PixelWidth/PixelHeight.</summary>
    FeiMetadata,
    /// <summary>
    /// FEI/ThermoFisher [Scan] pixel size of a cross-section imaged at the 52° stage tilt without the microscope's
    /// tilt correction: the face is seen foreshortened by sin 52°, so a pixel spans PixelHeight / sin 52° of it in y.
    /// </summary>
    FeiMetadataCrossSectionCorrected,
    /// <summary>Zeiss private tag 34118 (CZ_SEM), "Image Pixel Size".</summary>
    ZeissMetadata,
    /// <summary>Standard XResolution/YResolution with an inch or centimetre ResolutionUnit.</summary>
    TiffResolution,
}

/// <summary>
/// What <see cref="TiffStackReader.Probe"/> learnt about a stack. <see cref="DetectedVoxelSize"/> has Z = X because a
/// single TIFF does not record the milled slice thickness; the caller supplies the real Z. <see cref="Height"/> is the
/// scanned image; <see cref="DataBarRows"/> more rows below it in each file hold the microscope's data bar and are
/// never read as specimen. <see cref="InstrumentMetadata"/> holds the vendor keys of the first slice worth keeping with
/// the job's provenance (<see cref="MicroscopeMetadata.FeiProvenance"/>, <see cref="MicroscopeMetadata.ZeissProvenance"/>).
/// </summary>
public sealed record TiffStackInfo(
    IReadOnlyList<string> Files,
    bool IsMultiPage,
    int SliceCount,
    int Height,
    int Width,
    int BitsPerSample,
    VoxelSize? DetectedVoxelSize,
    VoxelSizeSource VoxelSizeSource,
    int DataBarRows = 0,
    IReadOnlyDictionary<string, string>? InstrumentMetadata = null);
