using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Metrics;

public sealed partial record MetricsReport
{
    public const string ParticlesMethod =
        "NMC particles split by a marker watershed on the Euclidean distance to the NMC surface (h-maxima markers, h = 2 voxels, " +
        "26-connected; 6-connected flood from the highest distance down); per particle: volume, equivalent diameter (6V/pi)^(1/3), " +
        "surface = voxel faces to LPS, carbon or void, contact loss = void-facing share of that surface, one-sidedness = length of the " +
        "area-weighted mean unit normal of the void-facing surface (normals from the gradient of the NMC indicator smoothed with sigma = 1 " +
        "voxel; 0 = void all round, 1 = all on one side); particles reaching the volume's edge or the region outside the crop are cut: " +
        "listed in particles.csv, left out of these statistics";

    /// <summary>Per-particle statistics over the particles not cut by the volume's edge (particles.csv lists every one).</summary>
    [JsonPropertyName("particles")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ParticlesReport? Particles { get; init; }

    public MetricsReport WithParticles(IReadOnlyList<NmcParticle> particles, string table)
    {
        var whole = particles.Where(p => !p.TouchesBorder).ToArray();
        double Median(IEnumerable<double> values)
        {
            var sorted = values.Where(double.IsFinite).Order().ToArray();
            return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
        var surface = whole.Sum(p => p.SurfaceAreaUm2);
        var withContactLoss = whole.Where(p => p.VoidContactAreaUm2 > 0).ToArray();
        return this with
        {
            Particles = new ParticlesReport(ParticlesMethod, table, particles.Count, particles.Count - whole.Length,
                Finite(Median(whole.Select(p => p.EquivalentDiameterUm))),
                Finite(surface > 0 ? whole.Sum(p => p.VoidContactAreaUm2) / surface : double.NaN),
                Finite(Median(whole.Select(p => p.ContactLossFraction))),
                withContactLoss.Length,
                Finite(Median(withContactLoss.Select(p => p.OneSidedness))),
                withContactLoss.Count(p => p.OneSidedness > 0.5)),
        };
    }

    /// <summary>The particles block split in <paramref name="box"/> of a volume of <paramref name="volumeVoxels"/>, with <paramref name="warning"/> among the warnings.</summary>
    public MetricsReport WithParticlesSubVolume(SubVolumeBox box, long volumeVoxels, string warning) => this with
    {
        Particles = Particles! with
        {
            SubVolume = SubVolumeReport.Of(box, volumeVoxels),
        },
        Warnings = [.. Warnings ?? [], warning],
    };

    /// <summary>particles.csv: one row per particle, lengths in µm, areas in µm², volumes in µm³.</summary>
    public static byte[] ParticlesCsv(IReadOnlyList<NmcParticle> particles)
    {
        var csv = new StringBuilder("id,voxels,volume_um3,equivalent_diameter_um,surface_area_um2,void_contact_area_um2,contact_loss_fraction,"
            + "one_sidedness,centroid_z_um,centroid_y_um,centroid_x_um,touches_border\n");
        foreach (var p in particles)
            csv.AppendLine(string.Join(',',
                p.Id.ToString(CultureInfo.InvariantCulture), p.Voxels.ToString(CultureInfo.InvariantCulture), Number(p.VolumeUm3),
                Number(p.EquivalentDiameterUm), Number(p.SurfaceAreaUm2), Number(p.VoidContactAreaUm2), Number(p.ContactLossFraction),
                Number(p.OneSidedness), Number(p.CentroidZyxUm[0]), Number(p.CentroidZyxUm[1]), Number(p.CentroidZyxUm[2]),
                p.TouchesBorder ? "true" : "false"));
        return Encoding.UTF8.GetBytes(csv.ToString());

        static string Number(double value) => double.IsFinite(value) ? value.ToString("G6", CultureInfo.InvariantCulture) : "";
    }
}

/// <param name="Table">particles.csv, relative to metrics.json.</param>
/// <param name="ExcludedAtBorder">Particles cut by the volume's edge or the crop, left out of the statistics.</param>
/// <param name="ContactLossFraction">Void-facing share of the whole particles' summed surface.</param>
/// <param name="ParticlesWithContactLoss">Whole particles with any void-facing surface (the one-sidedness statistics are over these).</param>
/// <param name="OneSidedParticles">Of those, how many have one-sidedness above 0.5 (their void mostly on one side).</param>
public sealed record ParticlesReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("excluded_at_border")] int ExcludedAtBorder,
    [property: JsonPropertyName("median_equivalent_diameter_um")] double? MedianEquivalentDiameterUm,
    [property: JsonPropertyName("contact_loss_fraction")] double? ContactLossFraction,
    [property: JsonPropertyName("median_particle_contact_loss")] double? MedianParticleContactLoss,
    [property: JsonPropertyName("particles_with_contact_loss")] int ParticlesWithContactLoss,
    [property: JsonPropertyName("median_one_sidedness")] double? MedianOneSidedness,
    [property: JsonPropertyName("one_sided_particles")] int OneSidedParticles)
{
    /// <summary>The central box the particles were split in when the whole volume did not fit the memory budget (null: the whole volume).</summary>
    [JsonPropertyName("sub_volume")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SubVolumeReport? SubVolume { get; init; }
}
