using System.Text.Json;
using System.Text.Json.Serialization;

namespace SsbTomo.Alignment;

/// <summary>alignment.json: per-slice drift (raw slice k minus raw slice 0) and the common valid crop in slice-0 coordinates.</summary>
public sealed record AlignmentReport(
    [property: JsonPropertyName("crop_yx")] int[] CropYx,
    [property: JsonPropertyName("slices")] IReadOnlyList<SliceAlignment> Slices)
{
    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, new JsonSerializerOptions { WriteIndented = true });
}

public sealed record SliceAlignment(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("drift_px")] double[] DriftPx,
    [property: JsonPropertyName("intensity_range")] double[] IntensityRange);
