using System.Text.Json;
using System.Text.Json.Serialization;

namespace SsbTomo.Alignment;

/// <summary>
/// alignment.json: per-slice drift (raw slice k minus raw slice 0), the common valid crop in slice-0 coordinates, and
/// how the drift was anchored (so an operator can see when a stack had no whole particles to anchor on).
/// </summary>
public sealed record AlignmentReport(
    [property: JsonPropertyName("crop_yx")] int[] CropYx,
    [property: JsonPropertyName("drift_anchoring")] DriftAnchoring Anchoring,
    [property: JsonPropertyName("slices")] IReadOnlyList<SliceAlignment> Slices)
{
    /// <summary>Edge in pixels of the centred crop each slice was registered on (null: the chunks used more than one, which the job's warnings name).</summary>
    [JsonPropertyName("registration_crop_px")]
    public int? RegistrationCropPx { get; init; }

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, new JsonSerializerOptions { WriteIndented = true });
}

/// <param name="ParticleTracks">Whole particle sections followed through the stack and used as anchors (0: registration alone).</param>
/// <param name="AnchoredSlices">Slices with at least one tracked section.</param>
/// <param name="StepSigmaPx">Scatter (y, x) of the registered slice-to-slice steps about the anchored drift.</param>
/// <param name="CentroidSigmaPx">Scatter (y, x) of the section centroids about their particles' paths.</param>
/// <param name="SlideSigmaPxPerSlice">Spread (y, x) of the particles' own centroid slides; ~0 when the particles are round enough to hold the drift still.</param>
public sealed record DriftAnchoring(
    [property: JsonPropertyName("particle_tracks")] int ParticleTracks,
    [property: JsonPropertyName("anchored_slices")] int AnchoredSlices,
    [property: JsonPropertyName("step_sigma_px")] double[] StepSigmaPx,
    [property: JsonPropertyName("centroid_sigma_px")] double[] CentroidSigmaPx,
    [property: JsonPropertyName("slide_sigma_px_per_slice")] double[] SlideSigmaPxPerSlice);

/// <param name="DriftPx">The drift used, [dy, dx].</param>
/// <param name="RegisteredDriftPx">Slice-to-slice registration alone, before anchoring, [dy, dx] (an untrusted slice: interpolated).</param>
/// <param name="RegistrationTrusted">False when the slice matched no trusted slice: its drift is interpolated, not measured.</param>
/// <param name="RegistrationPeakRatio">Phase-correlation peak over its highest rival for the pair that decided the trust (null for the reference slice).</param>
/// <param name="Warnings">What alignment could not estimate on this slice and what it did instead.</param>
public sealed record SliceAlignment(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("drift_px")] double[] DriftPx,
    [property: JsonPropertyName("registered_drift_px")] double[] RegisteredDriftPx,
    [property: JsonPropertyName("intensity_range")] double[] IntensityRange,
    [property: JsonPropertyName("registration_trusted")] bool RegistrationTrusted,
    [property: JsonPropertyName("registration_peak_ratio")] double? RegistrationPeakRatio,
    [property: JsonPropertyName("warnings")] IReadOnlyList<string> Warnings);
