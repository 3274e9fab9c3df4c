using System.Text.Json;
using System.Text.Json.Serialization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Metrics;

/// <summary>The numbers of the paper's Fig. 3/4 for one volume, as written to metrics.json (and truth.json).</summary>
public sealed record MetricsReport(
    [property: JsonPropertyName("phase_fractions")] IReadOnlyDictionary<string, double> PhaseFractions,
    [property: JsonPropertyName("contact_loss_fraction")] double ContactLossFraction,
    [property: JsonPropertyName("contact_faces")] ContactFacesReport ContactFaces,
    [property: JsonPropertyName("void")] VoidReport Void,
    [property: JsonPropertyName("voxel_size_nm")] double[] VoxelSizeNm,
    [property: JsonPropertyName("valid_shape_zyx")] int[] ValidShapeZyx,
    [property: JsonPropertyName("valid_voxels")] long ValidVoxels)
{
    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static MetricsReport From(MicrostructureSummary summary, VoxelSize voxelSize, int[] shapeZyx)
    {
        var fractions = summary.Fractions;
        return new MetricsReport(
            new Dictionary<string, double>
            {
                ["nmc"] = fractions.Nmc,
                ["lps"] = fractions.Lps,
                ["carbon"] = fractions.Carbon,
                ["void"] = fractions.Void,
            },
            summary.Contact.LossFraction,
            new ContactFacesReport(summary.Contact.NmcSurface, summary.Contact.NmcVoid,
                "voxel-face count: NMC faces touching void over NMC faces touching any other phase"),
            new VoidReport(summary.VoidComponents.Count, summary.VoidComponents.LargestVoxels,
                summary.VoidComponents.TotalVoxels == 0 ? 0 : (double)summary.VoidComponents.LargestVoxels / summary.VoidComponents.TotalVoxels,
                "26-connected"),
            [voxelSize.XNm, voxelSize.YNm, voxelSize.ZNm],
            shapeZyx,
            summary.ValidVoxels);
    }

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);
}

public sealed record ContactFacesReport(
    [property: JsonPropertyName("nmc_surface")] long NmcSurface,
    [property: JsonPropertyName("nmc_void")] long NmcVoid,
    [property: JsonPropertyName("method")] string Method);

public sealed record VoidReport(
    [property: JsonPropertyName("components")] int Components,
    [property: JsonPropertyName("largest_voxels")] long LargestVoxels,
    [property: JsonPropertyName("largest_fraction_of_void")] double LargestFractionOfVoid,
    [property: JsonPropertyName("connectivity")] string Connectivity);
