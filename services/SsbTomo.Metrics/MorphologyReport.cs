using System.Text.Json.Serialization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Metrics;

public sealed partial record MetricsReport
{
    public const string FaceCountMethod =
        "voxel-face count: faces between two phases (Outside and the volume border excluded), each face weighted by its area " +
        "(dy*dz, dx*dz, dx*dy for faces between x-, y-, z-neighbours); overstates smooth surfaces ~1.5x";

    public const string MarchingCubesMethod =
        "marching cubes (Lorensen & Cline 1987) on each phase's binary indicator at 0.5 with the voxel spacing, unsmoothed, with skimage's tie rule " +
        "on binary data (Lewiner et al. 2003: ambiguous faces keep inside corners joined, tunnels in cases 7.4.2 and 6.1.2, largest-area fans); " +
        "cubes touching Outside excluded; interface a|b = (S_a + S_b - S_a+b)/2. Follows the staircase: ~8 % over a sphere's area; " +
        "within 0.4 % of skimage.measure.marching_cubes + mesh_surface_area on TauFactor's electrode";

    public const string SmoothedMarchingCubesMethod =
        "marching cubes at 0.5 on each phase's indicator after a Gaussian of sigma = 1 voxel per axis (scipy-style reflect, 4 sigma); " +
        "within 1 % of a sphere's area for r >= 20 voxels; interface a|b = (S_a + S_b - S_a+b)/2; thin features lose area";

    public const string SpecificSurfaceDefinition = "area / valid volume (phase labels 1-4), 1/um";

    /// <summary>Surface and interface areas by the three estimators, and contact loss by each.</summary>
    public MetricsReport WithSurfaces(SurfaceAreas areas, SmoothedSurfaceAreaAccumulator smoothed)
    {
        var volume = areas.ValidVolumeUm3;
        var phases = new[] { PhaseLabel.Nmc, PhaseLabel.Lps, PhaseLabel.Carbon, PhaseLabel.Void };
        var pairs = phases.SelectMany((a, i) => phases.Skip(i + 1).Select(b => (a, b))).ToArray();
        string Pair((byte A, byte B) p) => $"{PhaseLabel.Name(p.A)}|{PhaseLabel.Name(p.B)}";
        SurfaceEstimateReport Estimate(string method, Func<byte, double> surface, Func<byte, byte, double> interfaceArea) => new(
            method,
            phases.ToDictionary(PhaseLabel.Name, p => surface(p)),
            phases.ToDictionary(PhaseLabel.Name, p => Finite(surface(p) / volume)),
            pairs.ToDictionary(Pair, p => interfaceArea(p.a, p.b)),
            pairs.ToDictionary(Pair, p => Finite(interfaceArea(p.a, p.b) / volume)));
        var smoothedSurface = smoothed.SurfaceUm2();
        return this with
        {
            SurfaceAreas = new SurfaceAreasReport(volume, SpecificSurfaceDefinition,
                Estimate(FaceCountMethod, areas.FaceCountSurfaceUm2, areas.FaceCountInterfaceUm2),
                Estimate(MarchingCubesMethod, p => areas.MarchingCubesSurfaceUm2[p], areas.MarchingCubesInterfaceUm2),
                Estimate(smoothed.CountedRows.IsAllRows ? SmoothedMarchingCubesMethod : SmoothedMarchingCubesMethod + SampledRowsNote(smoothed.CountedRows),
                    p => smoothedSurface[p], smoothed.InterfaceUm2)),
            ContactLoss = new ContactLossReport(
                "NMC surface whose other side is void / NMC surface facing any other phase (LPS, carbon, void)",
                new EstimateValue(Finite(areas.FaceCountContactLoss), "face count, area-weighted (equals contact_loss_fraction for cubic voxels)"),
                new EstimateValue(Finite(areas.MarchingCubesContactLoss), "marching cubes: interface nmc|void / NMC surface"),
                new EstimateValue(Finite(smoothed.ContactLoss), "smoothed marching cubes: interface nmc|void / NMC surface")),
        };
    }

    /// <summary>How the smoothed areas of a large stack were counted (<see cref="SmoothedSurfaceAreaAccumulator"/>).</summary>
    private static string SampledRowsNote(RowBandSample rows) => FormattableString.Invariant(
        $"; counted on every {rows.Every}th band of {rows.BandRows} rows (from row 0), each area scaled to the volume by the voxel faces between its phases on every row over those on the rows counted (a ratio estimator)");

    /// <summary>Size distribution, percolation, void near NMC and component shapes on the <c>void</c> block.</summary>
    public MetricsReport WithVoidMorphology(VoidMorphology morphology, VoidNearNmcAccumulator nearNmc, int listedComponents = 100) => this with
    {
        Void = Void with
        {
            SizeDistribution = new VoidSizeDistributionReport(
                "26-connected components; equivalent sphere diameter (6V/pi)^(1/3) in um; bins [edge_i, edge_i+1), last open; quantiles by number (nearest rank)",
                morphology.BinEdgesUm, morphology.CountPerBin, morphology.VolumeSharePerBin,
                Finite(morphology.NumberQuantilesUm[0]), Finite(morphology.NumberQuantilesUm[1]), Finite(morphology.NumberQuantilesUm[2]),
                Finite(morphology.VolumeMedianUm)),
            Percolation = new PercolationReport(
                "true when one 26-connected void component touches both opposite faces of the volume along that axis",
                morphology.Percolates[2], morphology.Percolates[1], morphology.Percolates[0]),
            NearNmc = new NearNmcReport(
                "void voxels whose centre lies within distance_um of an NMC voxel centre (exact anisotropic Euclidean distance " +
                "transform, Felzenszwalb & Huttenlocher 2012) / all void voxels",
                nearNmc.DistanceUm, Finite(nearNmc.Share), nearNmc.VoidVoxels, nearNmc.NearVoxels),
            Shape = new VoidShapeReport(
                "principal axes from the eigenvalues l1>=l2>=l3 of the covariance of the component's voxels (boxes) in um; " +
                "flatness = 1 - sqrt(l3/l2) (1 - S/I), elongation = 1 - sqrt(l2/l1) (1 - I/L); flake-like when S/I < 2/3 " +
                $"(Zingg 1935 disc and blade classes) and at least {ComponentShapes.MinShapeVoxels} voxels; axes_um = 2*sqrt(5*l) " +
                "(the ellipsoid with the same second moments)",
                morphology.FlakeLikeVolumeShare,
                morphology.Components.Count(c => c.FlakeLike),
                morphology.Components.Count,
                morphology.Components.Take(listedComponents).Select(c => new VoidComponentReport(
                    c.Voxels, c.VolumeUm3, c.EquivalentDiameterUm, c.CentroidUm, c.AxesUm, c.Flatness, c.Elongation, c.FlakeLike,
                    [c.Percolates[2], c.Percolates[1], c.Percolates[0]])).ToArray()),
        },
    };

    public const string BootstrapMethod =
        "block bootstrap: the volume cut into a grid of non-overlapping blocks (blocks_zyx), blocks drawn with replacement as many " +
        "times as there are blocks, fraction = sum of phase voxels / sum of valid voxels per draw, percentile interval " +
        "(Carlstein 1986; Efron & Tibshirani 1993); sampling uncertainty of this volume as a sample of the electrode, " +
        "honest when a block is larger than a particle; segmentation uncertainty is phase_fraction_intervals";

    /// <summary>Sampling intervals of the phase fractions.</summary>
    public MetricsReport WithBootstrap(FractionIntervals intervals) => this with
    {
        PhaseFractionBootstrap = new BootstrapReport(BootstrapMethod, intervals.BlocksZyx, intervals.Resamples, intervals.Confidence,
            new[] { PhaseLabel.Nmc, PhaseLabel.Lps, PhaseLabel.Carbon, PhaseLabel.Void }.ToDictionary(PhaseLabel.Name,
                p => intervals.Intervals[p].Select(Finite).ToArray())),
    };

    [JsonPropertyName("phase_fraction_bootstrap")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BootstrapReport? PhaseFractionBootstrap { get; init; }

    [JsonPropertyName("surface_areas")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SurfaceAreasReport? SurfaceAreas { get; init; }

    [JsonPropertyName("contact_loss")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ContactLossReport? ContactLoss { get; init; }

    /// <summary>JSON has no NaN: an undefined ratio (no NMC surface, no void) is written as null.</summary>
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}

public sealed record BootstrapReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("blocks_zyx")] int[] BlocksZyx,
    [property: JsonPropertyName("resamples")] int Resamples,
    [property: JsonPropertyName("confidence")] double Confidence,
    [property: JsonPropertyName("intervals")] IReadOnlyDictionary<string, double?[]> Intervals);

public sealed record SurfaceAreasReport(
    [property: JsonPropertyName("valid_volume_um3")] double ValidVolumeUm3,
    [property: JsonPropertyName("specific_definition")] string SpecificDefinition,
    [property: JsonPropertyName("face_count")] SurfaceEstimateReport FaceCount,
    [property: JsonPropertyName("marching_cubes")] SurfaceEstimateReport MarchingCubes,
    [property: JsonPropertyName("marching_cubes_smoothed")] SurfaceEstimateReport MarchingCubesSmoothed);

public sealed record SurfaceEstimateReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("phase_surface_um2")] IReadOnlyDictionary<string, double> PhaseSurfaceUm2,
    [property: JsonPropertyName("specific_surface_per_um")] IReadOnlyDictionary<string, double?> SpecificSurfacePerUm,
    [property: JsonPropertyName("interface_um2")] IReadOnlyDictionary<string, double> InterfaceUm2,
    [property: JsonPropertyName("specific_interface_per_um")] IReadOnlyDictionary<string, double?> SpecificInterfacePerUm);

public sealed record ContactLossReport(
    [property: JsonPropertyName("definition")] string Definition,
    [property: JsonPropertyName("face_count")] EstimateValue FaceCount,
    [property: JsonPropertyName("marching_cubes")] EstimateValue MarchingCubes,
    [property: JsonPropertyName("marching_cubes_smoothed")] EstimateValue MarchingCubesSmoothed);

public sealed record EstimateValue(
    [property: JsonPropertyName("value")] double? Value,
    [property: JsonPropertyName("method")] string Method);

public sealed record VoidSizeDistributionReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("bin_edges_um")] double[] BinEdgesUm,
    [property: JsonPropertyName("counts")] long[] Counts,
    [property: JsonPropertyName("volume_shares")] double[] VolumeShares,
    [property: JsonPropertyName("d10_um")] double? D10Um,
    [property: JsonPropertyName("d50_um")] double? D50Um,
    [property: JsonPropertyName("d90_um")] double? D90Um,
    [property: JsonPropertyName("volume_median_um")] double? VolumeMedianUm);

public sealed record PercolationReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("x")] bool X,
    [property: JsonPropertyName("y")] bool Y,
    [property: JsonPropertyName("z")] bool Z);

public sealed record NearNmcReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("distance_um")] double DistanceUm,
    [property: JsonPropertyName("share_of_void")] double? ShareOfVoid,
    [property: JsonPropertyName("void_voxels")] long VoidVoxels,
    [property: JsonPropertyName("near_voxels")] long NearVoxels);

public sealed record VoidShapeReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("flake_like_volume_share")] double FlakeLikeVolumeShare,
    [property: JsonPropertyName("flake_like_components")] int FlakeLikeComponents,
    [property: JsonPropertyName("components")] int Components,
    [property: JsonPropertyName("largest_components")] VoidComponentReport[] LargestComponents);

/// <summary>One void component; vectors in z, y, x order except <c>percolates_xyz</c>.</summary>
public sealed record VoidComponentReport(
    [property: JsonPropertyName("voxels")] long Voxels,
    [property: JsonPropertyName("volume_um3")] double VolumeUm3,
    [property: JsonPropertyName("equivalent_diameter_um")] double EquivalentDiameterUm,
    [property: JsonPropertyName("centroid_um_zyx")] double[] CentroidUmZyx,
    [property: JsonPropertyName("axes_um")] double[] AxesUm,
    [property: JsonPropertyName("flatness")] double Flatness,
    [property: JsonPropertyName("elongation")] double Elongation,
    [property: JsonPropertyName("flake_like")] bool FlakeLike,
    [property: JsonPropertyName("percolates_xyz")] bool[] PercolatesXyz);
