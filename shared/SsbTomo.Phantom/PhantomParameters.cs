using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace SsbTomo.Phantom;

/// <summary>
/// Everything that decides what a phantom looks like: the specimen (<see cref="Microstructure"/>) and how the
/// simulated FIB-SEM images it (<see cref="Appearance"/>). The presets are fixed values
/// (<see cref="ForPreset"/>); <see cref="PhantomFamily.Draw"/> draws both from realistic ranges.
/// </summary>
public sealed record PhantomParameters(MicrostructureParameters Microstructure, PhantomAppearance Appearance)
{
    /// <summary>snake_case names and enum names as strings, as in the other JSON files SsbTomo writes.</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
    };

    public static PhantomParameters ForPreset(PhantomPreset preset) => new(MicrostructureParameters.ForPreset(preset), new PhantomAppearance());

    /// <summary>Every parameter (and the derived void morphology, blur radius and stored maximum), for truth.json.</summary>
    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, Json)!.AsObject();

    public static PhantomParameters FromJson(string json) =>
        JsonSerializer.Deserialize<PhantomParameters>(json, Json) ?? throw new JsonException("no phantom parameters");
}

/// <summary>How the void of a phantom is made (see <see cref="MicrostructureParameters.VoidMorphology"/>).</summary>
public enum VoidMorphology
{
    /// <summary>At most a tenth of the void is cracks: pores between LPS grains (pristine-like).</summary>
    Pores,

    /// <summary>Between a tenth and 60 % of the void is cracks.</summary>
    Mixed,

    /// <summary>At least 60 % of the void is one-sided cracks next to NMC particles and flakes (cycled-like).</summary>
    Cracks,
}

/// <summary>
/// The specimen: phase fraction targets and object shapes, sizes in micrometres. Volume fractions are targets over
/// the field of view: generation adds objects until the truth labels reach them (see <see cref="SpecimenBuilder"/>).
/// The defaults are the microstructure shared by the presets (paper: NMC/LPS/CNF 60:35:5 by weight → ~38 % NMC,
/// ~6.5 % carbon by volume), with the pristine void; crack shapes of the cycled presets were calibrated by measuring
/// truth labels (void fraction and face-counted contact loss), never a segmentation.
/// </summary>
public sealed record MicrostructureParameters
{
    public double NmcFraction { get; init; } = 0.38;
    public double CarbonFraction { get; init; } = 0.065;

    /// <summary>All void: cracks, flakes and pores.</summary>
    public double VoidFraction { get; init; } = 0.028;

    /// <summary>The part of <see cref="VoidFraction"/> made of cracks and their flakes; pores make up the rest.</summary>
    public double CrackVoidFraction { get; init; }

    public VoidMorphology VoidMorphology => VoidFraction <= 0 || CrackVoidFraction <= 0.1 * VoidFraction ? VoidMorphology.Pores
        : CrackVoidFraction >= 0.6 * VoidFraction ? VoidMorphology.Cracks : VoidMorphology.Mixed;

    /// <summary>NMC diameters are log-normal (median, σ of ln d), truncated to [min, max].</summary>
    public double NmcMedianDiameterUm { get; init; } = 3.5;
    public double NmcLogSigma { get; init; } = 0.35;
    public double NmcMinDiameterUm { get; init; } = 2.0;
    public double NmcMaxDiameterUm { get; init; } = 7.0;

    /// <summary>How far two particles may interpenetrate, as a share of the smaller radius (pressed secondary particles).</summary>
    public double NmcContactOverlap { get; init; } = 0.02;

    /// <summary>Volume of the diameter pool drawn for random sequential addition, as a share of the specimen box.</summary>
    public double NmcPoolFraction { get; init; } = 0.40;

    /// <summary>The NMC fraction of the field of view is brought to within this of the target when the particles allow.</summary>
    public double FractionTolerance { get; init; } = 0.004;

    /// <summary>
    /// Take back an NMC particle or a pore that would push its phase more than <see cref="FractionTolerance"/> past
    /// the target, and try smaller ones: large objects in a small field of view otherwise overshoot by whole
    /// particles. Off for the presets, whose bytes predate it.
    /// </summary>
    public bool UndoOvershoot { get; init; }

    public double FibreMinDiameterUm { get; init; } = 0.15;
    public double FibreMaxDiameterUm { get; init; } = 0.25;
    public double FibreMinLengthUm { get; init; } = 2.0;
    public double FibreMaxLengthUm { get; init; } = 6.0;
    public double FibreSegmentUm { get; init; } = 0.75;

    /// <summary>Pores are spheroids: radius in the equatorial plane, half-thickness = radius × aspect.</summary>
    public double PoreMinRadiusUm { get; init; } = 0.1;
    public double PoreMaxRadiusUm { get; init; } = 0.4;
    public double PoreMinAspect { get; init; } = 0.35;
    public double PoreMaxAspect { get; init; } = 0.8;

    /// <summary>Share of candidate pores touching NMC that are dropped: cold pressing leaves voids mostly between LPS grains.</summary>
    public double NmcAdjacentPoreRejection { get; init; } = 0.7;

    /// <summary>Crescent crack: cone half-angle (degrees) and the largest thickness at its axis.</summary>
    public double CrackConeMinDeg { get; init; }
    public double CrackConeMaxDeg { get; init; }
    public double CrackMaxThicknessMinUm { get; init; }
    public double CrackMaxThicknessMaxUm { get; init; }

    /// <summary>Flakes per crack: one, a second one with <see cref="SecondFlakeProbability"/>, never more than this.</summary>
    public int FlakesMax { get; init; }
    public double SecondFlakeProbability { get; init; } = 0.35;
    public double FlakeRadiusMinUm { get; init; }
    public double FlakeRadiusMaxUm { get; init; }
    public double FlakeHalfThicknessMinUm { get; init; }
    public double FlakeHalfThicknessMaxUm { get; init; }

    public static MicrostructureParameters ForPreset(PhantomPreset preset) => preset switch
    {
        PhantomPreset.Pristine => new(),
        PhantomPreset.Cycled10 => new()
        {
            VoidFraction = 0.0325, CrackVoidFraction = 0.0010,
            CrackConeMinDeg = 20, CrackConeMaxDeg = 35, CrackMaxThicknessMinUm = 0.20, CrackMaxThicknessMaxUm = 0.40,
        },
        PhantomPreset.Cycled50 => new()
        {
            VoidFraction = 0.095, CrackVoidFraction = 0.064,
            CrackConeMinDeg = 18, CrackConeMaxDeg = 32, CrackMaxThicknessMinUm = 0.8, CrackMaxThicknessMaxUm = 1.5,
            FlakesMax = 2, FlakeRadiusMinUm = 2.5, FlakeRadiusMaxUm = 4.5, FlakeHalfThicknessMinUm = 0.2, FlakeHalfThicknessMaxUm = 0.4,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(preset)),
    };

    internal void Validate()
    {
        if (NmcFraction < 0 || CarbonFraction < 0 || VoidFraction < 0 || CrackVoidFraction < 0 || CrackVoidFraction > VoidFraction
            || NmcFraction + CarbonFraction + VoidFraction > 0.9)
            throw new ArgumentException($"phase fractions must be non-negative, cracks within the void and leave LPS at least 10 % (NMC {NmcFraction}, carbon {CarbonFraction}, void {VoidFraction}, cracks {CrackVoidFraction})");
        Ordered(NmcMinDiameterUm, NmcMaxDiameterUm, "NMC diameter");
        Ordered(FibreMinDiameterUm, FibreMaxDiameterUm, "fibre diameter");
        Ordered(FibreMinLengthUm, FibreMaxLengthUm, "fibre length");
        Ordered(PoreMinRadiusUm, PoreMaxRadiusUm, "pore radius");
        Ordered(PoreMinAspect, PoreMaxAspect, "pore aspect");
        if (!(NmcMedianDiameterUm >= NmcMinDiameterUm && NmcMedianDiameterUm <= NmcMaxDiameterUm))
            throw new ArgumentException($"NMC median diameter {NmcMedianDiameterUm} µm outside [{NmcMinDiameterUm}, {NmcMaxDiameterUm}]");
        if (NmcLogSigma < 0 || FibreSegmentUm <= 0 || NmcContactOverlap is < 0 or > 0.5)
            throw new ArgumentException("NMC log-σ must be non-negative, fibre segments positive, contact overlap within 0..0.5");
        if (CrackVoidFraction > 0)
        {
            Ordered(CrackConeMinDeg, CrackConeMaxDeg, "crack cone");
            Ordered(CrackMaxThicknessMinUm, CrackMaxThicknessMaxUm, "crack thickness");
            if (CrackConeMaxDeg >= 90) throw new ArgumentException("a one-sided crack's cone half-angle must stay below 90°");
        }
        if (FlakesMax > 0)
        {
            Ordered(FlakeRadiusMinUm, FlakeRadiusMaxUm, "flake radius");
            Ordered(FlakeHalfThicknessMinUm, FlakeHalfThicknessMaxUm, "flake half-thickness");
        }
    }

    private static void Ordered(double min, double max, string what)
    {
        if (!(min > 0 && min <= max)) throw new ArgumentException($"{what}: need 0 < min <= max (got {min}, {max})");
    }
}

/// <summary>
/// How the simulated FIB-SEM renders the specimen. Grey levels, artefact amplitudes and noise are on an
/// "8-bit-like" signal scale (the presets' 0..255); the detector then maps the signal to the stored integers:
/// stored = <see cref="OutputOffset"/> + <see cref="OutputGain"/> · signal, rounded and clipped to
/// 0..2^<see cref="BitDepth"/>−1. The defaults are the presets' values.
/// </summary>
public sealed record PhantomAppearance
{
    /// <summary>Mean BSE grey of each phase before artefacts; void &lt; carbon &lt; LPS &lt; NMC.</summary>
    public double VoidGrey { get; init; } = 25;
    public double CarbonGrey { get; init; } = 65;
    public double LpsGrey { get; init; } = 120;
    public double NmcGrey { get; init; } = 195;

    /// <summary>Each NMC particle's grey is offset by a uniform draw in ±this (composition/orientation contrast).</summary>
    public double NmcParticleOffset { get; init; } = 5;

    /// <summary>Value-noise texture amplitude of NMC and LPS, feature size <see cref="TextureScaleUm"/>.</summary>
    public double NmcTexture { get; init; } = 4;
    public double LpsTexture { get; init; } = 3;
    public double TextureScaleUm { get; init; } = 0.3;

    /// <summary>
    /// Shine-through in voids: the first solid k = 1..<see cref="ShineThroughDepth"/> slices behind the face adds
    /// α_k = <see cref="ShineThroughStrength"/>·exp(−(k−1)/<see cref="ShineThroughDecaySlices"/>) of its contrast over
    /// the void grey. The specimen box extends this many slices beyond the last one.
    /// </summary>
    public double ShineThroughStrength { get; init; } = 0.25;
    public double ShineThroughDecaySlices { get; init; } = 1.2;
    public int ShineThroughDepth { get; init; } = 6;

    /// <summary>In-plane Gaussian blur (beam spot + interaction volume); the kernel reaches ceil(3σ) pixels.</summary>
    public double BlurSigmaPx { get; init; } = 0.9;

    /// <summary>Curtaining stripes: each stripe's amplitude is uniform in [min, max] with a random sign.</summary>
    public double CurtainAmplitudeMin { get; init; } = 6;
    public double CurtainAmplitudeMax { get; init; } = 10;

    /// <summary>Charging: amplitude of the tilted plane (per axis) and of the broad bump.</summary>
    public double ChargingPlaneMin { get; init; } = 3;
    public double ChargingPlaneMax { get; init; } = 6;
    public double ChargingBumpMin { get; init; } = 4;
    public double ChargingBumpMax { get; init; } = 7;

    /// <summary>Detector gain drift: 1 + a₁ sin(slow) + a₂ sin(slower), a₁, a₂ uniform in these ranges.</summary>
    public double GainDriftSlowMin { get; init; } = 0.025;
    public double GainDriftSlowMax { get; init; } = 0.04;
    public double GainDriftFastMin { get; init; } = 0.015;
    public double GainDriftFastMax { get; init; } = 0.025;

    /// <summary>Gaussian noise on the signal scale: σ² = <see cref="NoiseVariance"/> + <see cref="NoiseSignalVariance"/>·signal (shot noise grows with the signal).</summary>
    public double NoiseVariance { get; init; } = 36;
    public double NoiseSignalVariance { get; init; } = 0.3;

    /// <summary>8 or 16 bits per stored pixel.</summary>
    public int BitDepth { get; init; } = 8;
    public double OutputGain { get; init; } = 1;
    public double OutputOffset { get; init; }

    /// <summary>
    /// When positive, the detector digitises the noisy signal in steps of this size (signal scale) before the gain
    /// stretches it: the stored histogram is a comb of occupied levels with empty ones between them.
    /// </summary>
    public double AdcStep { get; init; }

    public int BlurRadius => (int)Math.Ceiling(3 * BlurSigmaPx);

    public int MaxStoredValue => BitDepth == 16 ? ushort.MaxValue : byte.MaxValue;

    /// <summary>Noise σ (signal scale) at a signal level.</summary>
    public double NoiseSigma(double signal) => Math.Sqrt(NoiseVariance + NoiseSignalVariance * Math.Max(0, signal));

    internal void Validate()
    {
        if (!(VoidGrey < CarbonGrey && CarbonGrey < LpsGrey && LpsGrey < NmcGrey))
            throw new ArgumentException($"grey levels must follow the BSE order void < carbon < LPS < NMC (got {VoidGrey}, {CarbonGrey}, {LpsGrey}, {NmcGrey})");
        if (BitDepth is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(BitDepth), BitDepth, "8 or 16");
        if (ShineThroughDepth is < 0 or > 64) throw new ArgumentOutOfRangeException(nameof(ShineThroughDepth), ShineThroughDepth, "0..64 slices");
        if (!(ShineThroughDecaySlices > 0)) throw new ArgumentOutOfRangeException(nameof(ShineThroughDecaySlices));
        if (!(BlurSigmaPx > 0 && BlurSigmaPx <= 5)) throw new ArgumentOutOfRangeException(nameof(BlurSigmaPx), BlurSigmaPx, "0..5 px");
        if (!(OutputGain > 0)) throw new ArgumentOutOfRangeException(nameof(OutputGain));
        if (NoiseVariance < 0 || NoiseSignalVariance < 0) throw new ArgumentOutOfRangeException(nameof(NoiseVariance), "noise variances must not be negative");
    }
}
