using System.Text.Json;
using System.Text.Json.Nodes;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Metrics;

/// <summary>
/// measure.json and metrics.csv for a label volume with user-named phases (<c>ssbtomo measure</c>). Generic over the
/// phase table, unlike <see cref="MetricsReport"/>, which is the pipeline's four-phase report.
/// </summary>
public sealed class MeasureReport
{
    public const string FractionMethod = "voxel count of the phase / voxels of any named phase";
    public const string FaceCountMethod =
        "voxel faces between two phases x face area (dy*dz, dx*dz, dx*dy by the face's axis); faces to unclassified voxels and the volume's border are no surface (Lindblad 2005, doi:10.1016/j.imavis.2004.06.012)";
    public const string MarchingCubesMethod =
        "marching cubes (Lorensen & Cline 1987, doi:10.1145/37401.37422) on each phase's binary indicator at 0.5 with the spacing, unsmoothed, skimage's tie rule on binary data (Lewiner et al. 2003, doi:10.1080/10867651.2003.10487582: inside corners of ambiguous faces joined, tunnels in cases 7.4.2 and 6.1.2, largest-area fans); interface a|b = (S_a + S_b - S_a+b)/2; within 0.4 % of skimage.measure.marching_cubes + mesh_surface_area on TauFactor's electrode";
    public const string SpecificMethod = "area / volume of the whole image (TauFactor's convention: faces / all voxels when in voxel units)";
    public const string ComponentMethod = "26-connected components (scipy.ndimage.label with a 3x3x3 structure)";
    public const string TortuosityMethod =
        "tau = eps * D0 / D_eff, steady-state diffusion in the phase, concentration fixed on the two faces normal to the axis (half-voxel conductance to them), no flux on the others; " +
        "eps = all voxels of the phase / all voxels; cell-centred finite volumes as TauFactor (Cooper et al. 2016, SoftwareX 5:203, doi:10.1016/j.softx.2016.09.002); " +
        "conjugate gradients preconditioned by an aggregation-multigrid V-cycle to the stated relative residual";
    public const string ContactLossMethod = "interface nmc|void / surface of nmc, by each estimator (Shi et al. 2020)";

    private readonly JsonObject _json;
    private readonly List<MetricRow> _rows = [];

    /// <param name="voxelSizeSource">Where the voxel size came from: "file", "override", or null for none (voxel units, 1 µm edges).</param>
    public MeasureReport(LabelVolumeMetrics m, string source, string format, string? voxelSizeSource, IReadOnlyDictionary<int, long> unclassified,
        double tortuosityTolerance, TimeSpan wall)
    {
        var phases = m.Phases.Phases;
        var labels = Enumerable.Range(1, phases.Count).Select(l => (byte)l).ToArray();
        string Name(byte l) => m.Phases.NameOf(l);
        var voxelUnits = voxelSizeSource is null;
        var (areaUnit, specificUnit) = voxelUnits ? ("voxel faces", "1/voxel") : ("um2", "1/um");
        var volume = m.TotalVolumeUm3;

        var warnings = new JsonArray();
        _json = new JsonObject
        {
            ["source"] = source,
            ["format"] = format,
            ["shape_zyx"] = new JsonArray(m.ShapeZyx.Select(s => (JsonNode)s).ToArray()),
            ["voxel_size_nm"] = new JsonArray(m.VoxelSize.XNm, m.VoxelSize.YNm, m.VoxelSize.ZNm),
            ["voxel_size_source"] = voxelSizeSource ?? "none: the file states no voxel size, so lengths are in voxels (areas in voxel faces)",
            ["phases"] = new JsonArray(labels.Select(l => (JsonNode)new JsonObject
            {
                ["name"] = Name(l), ["value"] = phases[l - 1].Value, ["voxels"] = m.Voxels[l],
            }).ToArray()),
        };
        if (unclassified.Count > 0)
        {
            var total = unclassified.Values.Sum();
            _json["unclassified"] = new JsonObject
            {
                ["voxels"] = total,
                ["values"] = new JsonObject(unclassified.Select(p => KeyValuePair.Create(p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), (JsonNode?)p.Value))),
            };
            warnings.Add(UnclassifiedSentence(source, unclassified));
        }

        var fractions = new JsonObject();
        foreach (var l in labels)
        {
            fractions[Name(l)] = Finite(m.VolumeFraction(l));
            _rows.Add(new MetricRow("volume_fraction", Name(l), m.VolumeFraction(l), "1", FractionMethod));
        }
        _json["volume_fractions"] = new JsonObject { ["method"] = FractionMethod, ["values"] = fractions };

        var s = m.Surfaces;
        _json["surface_areas"] = new JsonObject
        {
            ["unit"] = areaUnit,
            ["specific_unit"] = specificUnit,
            ["specific_method"] = SpecificMethod,
            ["face_count"] = Areas("face_count", FaceCountMethod, labels, Name, s.FaceCountSurfaceUm2, s.FaceCountInterfaceUm2, volume, areaUnit, specificUnit),
            ["marching_cubes"] = Areas("marching_cubes", MarchingCubesMethod, labels, Name, l => s.MarchingCubesSurfaceUm2[l], s.MarchingCubesInterfaceUm2,
                volume, areaUnit, specificUnit),
        };

        var components = new JsonObject { ["method"] = ComponentMethod };
        foreach (var l in labels)
        {
            var c = m.Components[l];
            components[Name(l)] = new JsonObject { ["count"] = c.Count, ["largest_voxels"] = c.LargestVoxels };
            _rows.Add(new MetricRow("components", Name(l), c.Count, "1", ComponentMethod));
        }
        _json["components"] = components;

        if (m.Tortuosity is { } t)
        {
            var name = Name(m.TortuosityPhase);
            _json["tortuosity"] = new JsonObject
            {
                ["method"] = TortuosityMethod,
                ["phase"] = name,
                ["axis"] = t.Axis,
                ["axis_name"] = "zyx"[t.Axis].ToString(),
                ["tortuosity_factor"] = double.IsFinite(t.Factor) ? t.Factor : null,
                ["percolates"] = t.Percolates,
                ["relative_diffusivity"] = t.RelativeDiffusivity,
                ["volume_fraction"] = t.VolumeFraction,
                ["percolating_fraction"] = t.PercolatingFraction,
                ["iterations"] = t.Iterations,
                ["tolerance"] = tortuosityTolerance,
                ["relative_residual"] = t.RelativeResidual,
                ["flux_spread"] = t.FluxSpread,
                ["converged"] = t.Converged,
            };
            _rows.Add(new MetricRow($"tortuosity_factor_axis{t.Axis}", name, t.Factor, "1", TortuosityMethod));
            _rows.Add(new MetricRow($"relative_diffusivity_axis{t.Axis}", name, t.RelativeDiffusivity, "1", TortuosityMethod));
            if (!t.Percolates) warnings.Add($"{name} does not connect the two faces normal to axis {t.Axis}: no flux, tortuosity factor infinite (null)");
            if (!t.Converged) warnings.Add($"the tortuosity solve stopped at relative residual {t.RelativeResidual:0.0e0}, above the tolerance {tortuosityTolerance:0.0e0}");
        }

        var (nmc, @void) = (m.Phases.LabelOf("nmc"), m.Phases.LabelOf("void"));
        if (nmc is { } n && @void is { } v)
        {
            var faceCount = Ratio(s.FaceCountInterfaceUm2(n, v), s.FaceCountSurfaceUm2(n));
            var cubes = Ratio(s.MarchingCubesInterfaceUm2(n, v), s.MarchingCubesSurfaceUm2[n]);
            _json["contact_loss"] = new JsonObject { ["method"] = ContactLossMethod, ["face_count"] = Finite(faceCount), ["marching_cubes"] = Finite(cubes) };
            _rows.Add(new MetricRow("contact_loss_face_count", "nmc|void", faceCount, "1", ContactLossMethod));
            _rows.Add(new MetricRow("contact_loss_marching_cubes", "nmc|void", cubes, "1", ContactLossMethod));
        }
        else
            _json["contact_loss"] = new JsonObject
            {
                ["left_out"] = "contact loss needs phases named nmc and void; " + (nmc is null ? "no phase is named nmc" : "no phase is named void"),
            };

        _json["warnings"] = warnings;
        _json["wall_seconds"] = Math.Round(wall.TotalSeconds, 2);
    }

    public IReadOnlyList<MetricRow> Rows => _rows;

    // Relaxed escaping: the methods' apostrophes and ampersands stay readable; the file is never embedded in HTML.
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(_json, Json);

    public string ToCsv() => MetricsCsv.Format(_rows);

    /// <summary>"electrode.tiff: 1,234 voxels hold values no phase is named for (42: 1,000; 7: 234); they are left unclassified ..."</summary>
    public static string UnclassifiedSentence(string source, IReadOnlyDictionary<int, long> unclassified) =>
        $"{Path.GetFileName(source.TrimEnd('/'))}: {unclassified.Values.Sum():N0} voxels hold values no phase is named for " +
        $"({string.Join("; ", unclassified.Take(10).Select(p => $"{p.Key}: {p.Value:N0}"))}{(unclassified.Count > 10 ? "; ..." : "")}); " +
        "they are left unclassified (no fraction, no surface, not conducting)";

    private JsonObject Areas(string estimator, string method, byte[] labels, Func<byte, string> name, Func<byte, double> surface,
        Func<byte, byte, double> interfaceArea, double volume, string areaUnit, string specificUnit)
    {
        var (surfaces, specific, interfaces) = (new JsonObject(), new JsonObject(), new JsonObject());
        foreach (var a in labels)
        {
            surfaces[name(a)] = surface(a);
            specific[name(a)] = surface(a) / volume;
            _rows.Add(new MetricRow($"surface_area_{estimator}", name(a), surface(a), areaUnit, method));
            _rows.Add(new MetricRow($"specific_surface_area_{estimator}", name(a), surface(a) / volume, specificUnit, method));
            foreach (var b in labels.Where(b => b > a))
            {
                var pair = $"{name(a)}|{name(b)}";
                interfaces[pair] = interfaceArea(a, b);
                _rows.Add(new MetricRow($"interface_area_{estimator}", pair, interfaceArea(a, b), areaUnit, method));
            }
        }
        return new JsonObject { ["method"] = method, ["phase_surface"] = surfaces, ["specific_surface"] = specific, ["interfaces"] = interfaces };
    }

    /// <summary>JSON has no NaN: a ratio without a denominator is null.</summary>
    private static JsonNode? Finite(double value) => double.IsFinite(value) ? value : null;

    private static double Ratio(double part, double whole) => whole == 0 ? double.NaN : part / whole;
}
