using System.Text.Json.Serialization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Metrics;

public sealed partial record MetricsReport
{
    public const string TortuosityMethod =
        "tau = eps * D0 / D_eff of each conducting path (D0 = 1 in its phases, 0 elsewhere: void and outside do not conduct), steady-state " +
        "diffusion with the concentration fixed on the two faces normal to the axis (half-voxel conductance to them) and no flux through the " +
        "other four; eps = voxels of the path / all voxels (isolated pieces count); cell-centred finite volumes with the voxel spacing as " +
        "TauFactor (Cooper et al. 2016, SoftwareX 5:203, doi:10.1016/j.softx.2016.09.002); conjugate gradients preconditioned by an " +
        "aggregation-multigrid V-cycle to the relative residual `tolerance`; null factor = the path does not connect the two faces";

    [JsonPropertyName("tortuosity")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TortuosityReport? Tortuosity { get; init; }

    /// <summary>The tortuosity block: per path (keyed by its phases) and axis, and a warning for a path that does not conduct or did not converge.</summary>
    public MetricsReport WithTortuosity(IReadOnlyList<PathTortuosity> results, double tolerance)
    {
        var warnings = new List<string>();
        var paths = new Dictionary<string, TortuosityPathReport>();
        foreach (var group in results.GroupBy(r => r.Path))
        {
            var axes = new Dictionary<string, TortuosityAxisReport>();
            foreach (var (_, t, _) in group)
            {
                var axis = "zyx"[t.Axis].ToString();
                axes[axis] = new TortuosityAxisReport(double.IsFinite(t.Factor) ? t.Factor : null, t.RelativeDiffusivity, t.VolumeFraction,
                    t.PercolatingFraction, t.Percolates, t.Iterations, t.RelativeResidual, t.FluxSpread, t.Converged);
                if (!t.Percolates)
                    warnings.Add($"{group.Key.Key} does not connect the two faces normal to {axis}: no {group.Key.Carrier.Split(':')[0]} path, tortuosity factor infinite (null)");
                else if (!t.Converged)
                    warnings.Add($"the tortuosity solve of {group.Key.Key} along {axis} stopped at relative residual {t.RelativeResidual:0.0e0}, above the tolerance {tolerance:0.0e0}");
            }
            paths[group.Key.Key] = new TortuosityPathReport(group.Key.Carrier, [.. group.Key.Labels.Select(PhaseLabel.Name)], axes);
        }
        return this with
        {
            Tortuosity = new TortuosityReport(TortuosityMethod) { Tolerance = tolerance, Paths = paths },
            Warnings = warnings.Count == 0 ? Warnings : [.. Warnings ?? [], .. warnings],
        };
    }

    /// <summary>The tortuosity block measured on <paramref name="box"/> of a volume of <paramref name="volumeVoxels"/>, with <paramref name="warning"/> among the warnings.</summary>
    public MetricsReport WithTortuositySubVolume(SubVolumeBox box, long volumeVoxels, string warning) => this with
    {
        Tortuosity = Tortuosity! with
        {
            SubVolume = SubVolumeReport.Of(box, volumeVoxels),
        },
        Warnings = [.. Warnings ?? [], warning],
    };

    /// <summary>The tortuosity block with only the reason it was not measured (and that reason among the warnings when <paramref name="warn"/>).</summary>
    public MetricsReport WithTortuosityLeftOut(string reason, bool warn) => this with
    {
        Tortuosity = new TortuosityReport(TortuosityMethod) { LeftOut = reason },
        Warnings = warn ? [.. Warnings ?? [], reason] : Warnings,
    };
}

public sealed record TortuosityReport([property: JsonPropertyName("method")] string Method)
{
    [JsonPropertyName("tolerance")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Tolerance { get; init; }

    /// <summary>Per conducting path, keyed by its phases ("lps", "nmc+carbon").</summary>
    [JsonPropertyName("paths")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, TortuosityPathReport>? Paths { get; init; }

    /// <summary>The central box the solves ran on when the whole volume did not fit the memory budget (null: the whole volume).</summary>
    [JsonPropertyName("sub_volume")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SubVolumeReport? SubVolume { get; init; }

    [JsonPropertyName("left_out")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LeftOut { get; init; }
}

public sealed record TortuosityPathReport(
    [property: JsonPropertyName("carrier")] string Carrier,
    [property: JsonPropertyName("phases")] string[] Phases,
    [property: JsonPropertyName("axes")] IReadOnlyDictionary<string, TortuosityAxisReport> Axes);

public sealed record TortuosityAxisReport(
    [property: JsonPropertyName("tortuosity_factor")] double? TortuosityFactor,
    [property: JsonPropertyName("relative_diffusivity")] double RelativeDiffusivity,
    [property: JsonPropertyName("volume_fraction")] double VolumeFraction,
    [property: JsonPropertyName("percolating_fraction")] double PercolatingFraction,
    [property: JsonPropertyName("percolates")] bool Percolates,
    [property: JsonPropertyName("iterations")] int Iterations,
    [property: JsonPropertyName("relative_residual")] double RelativeResidual,
    [property: JsonPropertyName("flux_spread")] double FluxSpread,
    [property: JsonPropertyName("converged")] bool Converged);

/// <summary>A central box a whole-volume measurement ran on when the volume did not fit the memory budget.</summary>
public sealed record SubVolumeReport(
    [property: JsonPropertyName("start_zyx")] int[] StartZyx,
    [property: JsonPropertyName("shape_zyx")] int[] ShapeZyx,
    [property: JsonPropertyName("voxel_share")] double VoxelShare)
{
    public static SubVolumeReport Of(SubVolumeBox box, long volumeVoxels) =>
        new([box.Z0, box.Y0, box.X0], [box.Depth, box.Height, box.Width], (double)box.Voxels / volumeVoxels);
}
