using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SsbTomo.Imaging;
using SsbTomo.Contracts;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Metrics;

/// <summary>The numbers of the paper's Fig. 3/4 for one volume, as written to metrics.json (and truth.json).</summary>
public sealed partial record MetricsReport(
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

    /// <summary>Per phase [low, high] of the fraction over the segmentation variants (and the reported value).</summary>
    [JsonPropertyName("phase_fraction_intervals")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double[]>? PhaseFractionIntervals { get; init; }

    [JsonPropertyName("contact_loss_interval")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[]? ContactLossInterval { get; init; }

    [JsonPropertyName("uncertainty")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public UncertaintyReport? Uncertainty { get; init; }

    /// <summary>The job's provenance.json (source files and their checksums), relative to metrics.json.</summary>
    [JsonPropertyName("provenance")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Provenance { get; init; }

    /// <summary>Sentences for a person: phases whose grey levels overlap so much that a number is not trustworthy.</summary>
    [JsonPropertyName("warnings")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Warnings { get; init; }

    public static readonly string DenoisingMethod =
        FormattableString.Invariant($"3D Gaussian on the aligned stack; sigma (voxels) {NoiseLevel.QuietDenoiseSigma} where the noise is below {NoiseLevel.QuietShare} of the ")
        + FormattableString.Invariant($"void-to-electrolyte contrast, {NoiseLevel.NoisyDenoiseSigma} above {NoiseLevel.NoisyShare}, else {NoiseLevel.DefaultDenoiseSigma} (and where ")
        + "either could not be measured); noise_sigma = median |g - mean of the 4 in-plane neighbours| / (0.6745 sqrt 1.25) over the aligned "
        + "stack, in its grey levels; the contrast from the grey-level mixture fit of the aligned stack's histogram";

    public const string CarbonLevelMethod =
        "median denoised grey level of carbon fibre cores (dark tubes by the Hessian at sigma = a 75 nm fibre radius in voxels, no void-class voxel within 3, " +
        "darker than the electrolyte interior by 2.5 SD; every 4th slice, on stacks over 256 Mvoxel every n-th, n = voxels / 64 M rounded up); replaces the fit's carbon mean when they differ by more than " +
        "0.2 of the void-to-electrolyte contrast";

    public const string ShineThroughMethod =
        "label-free: for pore runs along z (voxels below the carbon|electrolyte midpoint between two solid voxels, one of them darker than a " +
        "quarter of the way from void to electrolyte, at most 12 slices), the grey j slices before the back wall minus j slices after the front " +
        "wall, each as a share of the way from void to that wall; the largest median over j = 0..5 (at least 200 runs). The " +
        "shine-through correction gives a pore the voxels behind it below void + (0.5 + correction) of the way to the wall, correction = " +
        "excess - 0.1 (what the midpoint already recovers), within [0, 0.4]; below an excess of 0.05 (no measurable shine-through) " +
        "the correction is not run";

    public static readonly string StandingCurtainsMethod = string.Create(CultureInfo.InvariantCulture,
        $"curtain stripes that stand still in the aligned stack: per pair of neighbouring columns and per slice and block of {StandingCurtains.RowBlock} rows, " +
        $"the grey-level differences around their noise peak (from their median, {StandingCurtains.MeanShiftRounds} times the mean of those within " +
        $"{StandingCurtains.KeptDeviations} robust SD, 1.4826 MAD), summed over the stack into one step per pair; the steps' running sum less its " +
        $"running median over {StandingCurtains.TrendWindow} columns is each column's offset, subtracted from the denoised grey before classification");

    public const string BoundaryPlacementMethod =
        "each phase's interval also widened by a layer of boundary_voxels over the phase's marching-cubes surface (half_widths): the " +
        "segmented boundaries may lie that far from the true ones (blur spreads an edge over several voxels; lit pore rims, thin " +
        "layers and fibres move it by a fraction of one), which the threshold variants do not show; the contact loss interval is " +
        "the variants' only (where it misses on the phantom family, whole lit pore columns in front of a particle are not void, " +
        "beyond any boundary shift)";

    public const string UncertaintyMethod =
        "segmentation re-run with the segmentation stage's own recipe (classification, partial-volume clean-up, shine-through correction and, unless turned off, the fibres' half-depth rule) on denoised.zarr with each phase's band shrunk and grown: " +
        "every threshold moved to the ends of its plausible range, where the fitted mixture gives the two neighbouring phases 3:1 odds; " +
        "interval = range over these 8 variants and the reported segmentation (threshold sensitivity, not a sampling confidence interval); " +
        "on stacks of 32 Mvoxel or more the variants are counted on blocks of 32 slices x 64 rows x 512 columns, one in every N in raster order with N " +
        "as large as still counts 16 Mvoxel, and each variant's difference from the reported segmentation there is scaled to the volume (variant_voxel_share)";

    /// <summary>
    /// Adds the intervals and warnings: the range of each number over the reported segmentation and the variants. Without a
    /// threshold model (multi-Otsu fallback) there is nothing to move the thresholds within: a warning says so.
    /// </summary>
    /// <param name="trainedClassifier">The labels came from a trained pixel classifier: threshold variants do not describe them.</param>
    /// <summary>What metrics.json says when the labels came from a trained pixel classifier.</summary>
    public const string TrainedClassifierWarning = "segmented by the trained pixel classifier stored with the job (model/model.json), not by grey-level "
        + "thresholds: no segmentation-uncertainty intervals (they vary the thresholds); the bootstrap intervals still apply";

    /// <summary>
    /// Adds a warning when the pixels are too coarse for the carbon fibres: wider than a fibre's radius
    /// (<see cref="CarbonFibreSurvey.FibreRadiusNm"/>), a fibre is under two pixels across and mostly partial volume, so thin
    /// carbon reads as electrolyte or void whatever the segmentation (the phantom family at 100 nm: carbon 2-6 pp low, median
    /// Dice 0.30 against 0.73 at 50 nm and 0.89 at 25 nm; README "At other voxel sizes").
    /// </summary>
    public MetricsReport WithFibreResolution()
    {
        var pixelNm = 0.5 * (VoxelSizeNm[0] + VoxelSizeNm[1]);
        if (!(pixelNm > CarbonFibreSurvey.FibreRadiusNm)) return this;
        return this with
        {
            Warnings = [.. Warnings ?? [], string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"the pixels are {pixelNm:0.#} nm: carbon fibres in these cathodes (~{2 * CarbonFibreSurvey.FibreRadiusNm:0} nm across) are under two pixels wide, so thin carbon reads as electrolyte or void and the carbon fraction is likely too low; image at 50 nm pixels or finer to resolve them")],
        };
    }

    /// <summary>Says in the uncertainty report which carbon the segmentation's fibre rules assumed (none without a fitted model).</summary>
    public MetricsReport WithCarbonShape(bool fibreRules) => Uncertainty is null ? this : this with
    {
        Uncertainty = Uncertainty with
        {
            CarbonShape = fibreRules
                ? "fibres: thin carbon given its width at half its depth, dark layers along a particle's face that are no fibre read as delamination gaps (void)"
                : "particles: no fibre rules (carbon black or binder films; a dark layer on a particle's face stays carbon)",
        },
    };

    /// <param name="variantVoxelShare">Share of the voxels the variants were counted on (1: all; see <see cref="VariantBlockSample"/>).</param>
    /// <param name="boundaries">Widens each fraction's interval by a layer over the phase's surface (after the overlap warnings,
    /// which judge the thresholds alone); null: the variants' range only.</param>
    public MetricsReport WithUncertainty(SegmentationModel? model, IReadOnlyList<VariantTally>? variants, bool trainedClassifier = false,
        double variantVoxelShare = 1, BoundaryPlacement? boundaries = null)
    {
        if (trainedClassifier)
            return this with { Warnings = [TrainedClassifierWarning] };
        if (model is null)
            return this with { Warnings = ["the grey-level mixture model did not fit (thresholds from multi-Otsu): no uncertainty intervals"] };
        if (variants is null)
            return this with { Warnings = ["the segmentation workers sent no counts per threshold variant (a worker older than this metrics service?): no uncertainty intervals"] };
        var names = PhaseClassifier.BseDarkToBright.Select(PhaseLabel.Name).ToArray();
        var intervals = new Dictionary<string, double[]>();
        foreach (var name in names)
        {
            var values = variants.Select(v => Fraction(v.Fractions, name)).Append(PhaseFractions[name]).ToArray();
            intervals[name] = [values.Min(), values.Max()];
        }
        var losses = variants.Select(v => v.Contact.LossFraction).Append(ContactLossFraction).Where(double.IsFinite).ToArray();
        var overlaps = model.DarkerAmbiguousShares.Select((d, k) => new PairOverlap(k, d, model.BrighterAmbiguousShares[k])).ToArray();
        var warnings = SegmentationUncertainty.Warnings(overlaps, names,
            names.Select(n => PhaseFractions[n]).ToArray(), names.Select(n => (intervals[n][0], intervals[n][1])).ToArray());
        if (model.CarbonReplacedByFibreLevel)
            warnings = [.. warnings, "the grey-level fit's carbon class was not the carbon fibres (it sat on the pores' blurred rims or on part " +
                "of the electrolyte): the phases were separated at the fibre cores' grey level instead; the void and carbon intervals span both answers"];
        var layers = boundaries is null ? null : PhaseClassifier.BseDarkToBright.ToDictionary(PhaseLabel.Name, boundaries.HalfWidth);
        if (layers is not null)
            foreach (var name in names)
                intervals[name] = [Math.Max(0, intervals[name][0] - layers[name]), Math.Min(1, intervals[name][1] + layers[name])];
        return this with
        {
            PhaseFractionIntervals = intervals,
            ContactLossInterval = losses.Length == 0 ? null : [losses.Min(), losses.Max()],
            Warnings = warnings,
            Uncertainty = new UncertaintyReport(UncertaintyMethod,
                names.Select((n, k) => k < model.Thresholds.Length ? $"{n}|{names[k + 1]}" : null).OfType<string>()
                    .Select((pair, k) => new ThresholdReport(pair, model.Thresholds[k], [model.ThresholdLows[k], model.ThresholdHighs[k]],
                        model.DarkerAmbiguousShares[k], model.BrighterAmbiguousShares[k])).ToArray(),
                names.Select((n, k) => (n, model.ExpectedFractions[k])).ToDictionary(p => p.n, p => p.Item2),
                variants.Select(v => new VariantReport(DescribeVariant(v.Name, names), v.Thresholds,
                    names.ToDictionary(n => n, n => Fraction(v.Fractions, n)), v.Contact.LossFraction)).ToArray())
            {
                VariantVoxelShare = variantVoxelShare,
                BoundaryPlacement = boundaries is null ? null : new BoundaryPlacementReport(BoundaryPlacementMethod, boundaries.Voxels, layers!),
                CarbonLevel = model.FitCarbonMean is { } fitCarbon
                    ? new CarbonLevelReport(CarbonLevelMethod, fitCarbon, model.FibreCoreLevel, model.FibreCoreVoxels, model.CarbonReplacedByFibreLevel)
                    : null,
                ShineThrough = new ShineThroughReport(ShineThroughMethod, model.ShineThroughExcess, model.ShineThroughCorrection, model.ShineThroughRuns, model.ShineThroughCorrected),
                Denoising = model.DenoiseSigma > 0 ? new DenoisingReport(DenoisingMethod, model.DenoiseSigma, model.NoiseSigma, model.NoiseShare) : null,
                StandingCurtains = model.StandingCurtainLargestOffset is { } largest
                    ? new StandingCurtainsReport(StandingCurtainsMethod, largest, model.StandingCurtainColumns)
                    : null,
            },
        };
    }

    private static double Fraction(PhaseFractionSet f, string name) => name switch
    {
        "nmc" => f.Nmc,
        "lps" => f.Lps,
        "carbon" => f.Carbon,
        "void" => f.Void,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a phase"),
    };

    /// <summary>"2-" (class 2 shrunk) as "lps shrunk".</summary>
    private static string DescribeVariant(string name, string[] namesDarkToBright) =>
        $"{namesDarkToBright[name[0] - '0']} {(name[1] == '+' ? "grown" : "shrunk")}";

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);
}

public sealed record UncertaintyReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("thresholds")] ThresholdReport[] Thresholds,
    [property: JsonPropertyName("mixture_expected_fractions")] IReadOnlyDictionary<string, double> MixtureExpectedFractions,
    [property: JsonPropertyName("variants")] VariantReport[] Variants)
{
    /// <summary>Share of the voxels the variants were counted on; their fractions are estimates scaled to the volume below 1.</summary>
    [JsonPropertyName("variant_voxel_share")]
    public double VariantVoxelShare { get; init; } = 1;

    [JsonPropertyName("carbon_level")]
    public CarbonLevelReport? CarbonLevel { get; init; }

    /// <summary>Which carbon the segmentation's rules took the stack's to be (<c>SsbTomo:FibreHalfDepth</c>, <c>ssbtomo run --carbon</c>).</summary>
    [JsonPropertyName("carbon_shape")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CarbonShape { get; init; }

    [JsonPropertyName("boundary_placement")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BoundaryPlacementReport? BoundaryPlacement { get; init; }

    [JsonPropertyName("shine_through")]
    public ShineThroughReport? ShineThrough { get; init; }

    [JsonPropertyName("standing_curtains")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public StandingCurtainsReport? StandingCurtains { get; init; }

    [JsonPropertyName("denoising")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DenoisingReport? Denoising { get; init; }
}

/// <summary>The denoising Gaussian's σ and the noise it was chosen from.</summary>
public sealed record DenoisingReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("sigma_voxels")] double SigmaVoxels,
    [property: JsonPropertyName("noise_sigma")] double? NoiseSigma,
    [property: JsonPropertyName("noise_share")] double? NoiseShare);

/// <summary>How far the segmented boundaries may lie from the true ones, and what that adds to each fraction's interval.</summary>
public sealed record BoundaryPlacement(SurfaceAreas Areas, double Voxels)
{
    /// <summary>Half-width added to <paramref name="phase"/>'s fraction interval: a layer of <see cref="Voxels"/> over its surface.</summary>
    public double HalfWidth(byte phase) => Areas.LayerShare(phase, Voxels);
}

public sealed record BoundaryPlacementReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("boundary_voxels")] double BoundaryVoxels,
    [property: JsonPropertyName("half_widths")] IReadOnlyDictionary<string, double> HalfWidths);

/// <summary>The stack's measured shine-through excess, which the segmentation's shine-through correction used, and whether the correction ran.</summary>
public sealed record ShineThroughReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("excess")] double Excess,
    [property: JsonPropertyName("correction")] double Correction,
    [property: JsonPropertyName("pore_runs")] long PoreRuns,
    [property: JsonPropertyName("corrected")] bool Corrected);

/// <summary>The curtain stripes the segmentation subtracted: the largest column offset and the columns beyond a tenth of the electrolyte-to-NMC contrast.</summary>
public sealed record StandingCurtainsReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("largest_offset")] double LargestOffset,
    [property: JsonPropertyName("striped_columns")] int StripedColumns);

/// <summary>The grey-level fit's carbon mean against the surveyed fibre cores' level, and which one segmented the stack.</summary>
public sealed record CarbonLevelReport(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("fit_carbon_mean")] double FitCarbonMean,
    [property: JsonPropertyName("fibre_core_level")] double? FibreCoreLevel,
    [property: JsonPropertyName("fibre_core_voxels")] long FibreCoreVoxels,
    [property: JsonPropertyName("replaced")] bool Replaced);

/// <summary>A threshold, its plausible range and the share of each neighbour's voxels (by the mixture) inside that range.</summary>
public sealed record ThresholdReport(
    [property: JsonPropertyName("between")] string Between,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("plausible_range")] double[] PlausibleRange,
    [property: JsonPropertyName("darker_ambiguous_share")] double DarkerAmbiguousShare,
    [property: JsonPropertyName("brighter_ambiguous_share")] double BrighterAmbiguousShare);

public sealed record VariantReport(
    [property: JsonPropertyName("variant")] string Variant,
    [property: JsonPropertyName("thresholds")] double[] Thresholds,
    [property: JsonPropertyName("phase_fractions")] IReadOnlyDictionary<string, double> PhaseFractions,
    [property: JsonPropertyName("contact_loss_fraction")] double ContactLossFraction);

public sealed record ContactFacesReport(
    [property: JsonPropertyName("nmc_surface")] long NmcSurface,
    [property: JsonPropertyName("nmc_void")] long NmcVoid,
    [property: JsonPropertyName("method")] string Method);

public sealed record VoidReport(
    [property: JsonPropertyName("components")] int Components,
    [property: JsonPropertyName("largest_voxels")] long LargestVoxels,
    [property: JsonPropertyName("largest_fraction_of_void")] double LargestFractionOfVoid,
    [property: JsonPropertyName("connectivity")] string Connectivity)
{
    [JsonPropertyName("size_distribution")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public VoidSizeDistributionReport? SizeDistribution { get; init; }

    [JsonPropertyName("percolation")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PercolationReport? Percolation { get; init; }

    [JsonPropertyName("near_nmc")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public NearNmcReport? NearNmc { get; init; }

    [JsonPropertyName("shape")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public VoidShapeReport? Shape { get; init; }
}
