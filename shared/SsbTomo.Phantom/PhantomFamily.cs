namespace SsbTomo.Phantom;

/// <summary>A closed interval [Min, Max].</summary>
public readonly record struct ParameterRange(double Min, double Max)
{
    public bool Contains(double v) => v >= Min && v <= Max;

    internal double Draw(Rng rng) => rng.Uniform(Min, Max);

    public override string ToString() => $"{Min}..{Max}";
}

/// <summary>
/// A family of phantoms: one seed draws a whole <see cref="PhantomParameters"/> (microstructure, grey levels,
/// shine-through, artefacts, noise, detector) from <see cref="Ranges"/>, so that a test of segmentation sweeps many
/// cathodes and many microscopes instead of one point. Deterministic for the seed; the geometry of the specimen is
/// then seeded by the same seed.
/// </summary>
public static class PhantomFamily
{
    /// <summary>
    /// Where the family's parameters come from, all in one place. The ranges are what composite cathodes and
    /// FIB-SEM acquisitions of them show, not what is easy to segment:
    /// <list type="bullet">
    /// <item>Phase fractions: NMC 25–55 vol % spans cathode loadings from electrolyte-rich research cells to dense
    /// commercial-like composites; carbon 1–10 vol % covers carbon-free to conductive-additive-rich mixes; void
    /// 1–15 % spans cold-pressed pristine cathodes (a few %) to heavily cycled ones (Shi, Zhang et al. 2020: 9.5 %
    /// after 50 cycles), as pores between LPS grains, as cracks next to NMC (one-sided crescents plus flakes) or
    /// both.</item>
    /// <item>Sizes: NMC secondary particles of 2–6 µm median diameter with a log-normal spread (σ 0.15–0.45, i.e.
    /// narrow single-crystal to broad polycrystalline batches); carbon nanofibres 0.1–0.35 µm thick, 1–8 µm long;
    /// pores 0.08–1.2 µm.</item>
    /// <item>Grey levels on an 8-bit-like signal scale, BSE order void &lt; carbon &lt; LPS &lt; NMC (mean atomic number)
    /// with contrasts that can be small enough for noise and blur to overlap the phases' tails; per-particle NMC
    /// offsets (grain orientation/composition contrast) and a material texture.</item>
    /// <item>Shine-through (the SEM sees into a pore through its open face): strength 0–0.6 of the contrast of the
    /// material behind, decay length 1–10 slices (thin slices of a low-Z electrolyte are nearly transparent to the
    /// interaction volume), looked for ceil(3·decay)+1 slices deep, at most 31.</item>
    /// <item>Noise σ 2–14 grey levels at the NMC level (fast scans to slow integrated scans), in-plane blur σ 0.6–1.5 px
    /// (beam spot and interaction volume at 10–50 nm pixels), curtaining 0–12, charging 0–10 grey levels, detector
    /// gain drift 0–8 % over the stack.</item>
    /// <item>Storage: half 16-bit (gain 40–250 from the signal scale and an offset, as Atlas/Auto Slice &amp; View write
    /// 16-bit TIFFs), half 8-bit: a full range (150–200 occupied levels), a narrow range (50–70 levels: a low detector
    /// contrast setting) or a comb (low noise, digitised in 60–120 steps then stretched, so empty levels lie between
    /// occupied ones).</item>
    /// </list>
    /// </summary>
    public static class Ranges
    {
        public static readonly ParameterRange NmcFraction = new(0.25, 0.55);
        public static readonly ParameterRange CarbonFraction = new(0.01, 0.10);
        public static readonly ParameterRange VoidFraction = new(0.01, 0.15);

        /// <summary>Share of the void that is cracks, by morphology (pores: none in half the draws).</summary>
        public static readonly ParameterRange CrackShareOfPores = new(0, 0.10);
        public static readonly ParameterRange CrackShareOfMixed = new(0.30, 0.60);
        public static readonly ParameterRange CrackShareOfCracks = new(0.65, 0.90);

        public static readonly ParameterRange NmcMedianDiameterUm = new(2, 6);
        public static readonly ParameterRange NmcLogSigma = new(0.15, 0.45);

        /// <summary>The truncation of the diameter distribution, as multiples of the median.</summary>
        public static readonly ParameterRange NmcMinDiameterOfMedian = new(0.45, 0.65);
        public static readonly ParameterRange NmcMaxDiameterOfMedian = new(1.7, 2.2);

        /// <summary>Interpenetration of pressed particles (share of the smaller radius); dense loadings need more.</summary>
        public static readonly ParameterRange NmcContactOverlap = new(0.02, 0.25);

        public static readonly ParameterRange FibreMinDiameterUm = new(0.10, 0.20);
        public static readonly ParameterRange FibreDiameterSpreadUm = new(0.03, 0.15);
        public static readonly ParameterRange FibreMaxDiameterUm = new(0.13, 0.35);
        public static readonly ParameterRange FibreMinLengthUm = new(1, 3);
        public static readonly ParameterRange FibreLengthSpreadUm = new(1, 5);

        public static readonly ParameterRange PoreMinRadiusUm = new(0.08, 0.3);
        public static readonly ParameterRange PoreRadiusRatio = new(1.5, 4);
        public static readonly ParameterRange PoreMaxRadiusUm = new(0.12, 1.2);
        public static readonly ParameterRange PoreMinAspect = new(0.35, 0.8);
        public static readonly ParameterRange PoreAspectSpread = new(0.1, 0.4);
        public static readonly ParameterRange NmcAdjacentPoreRejection = new(0.3, 0.9);

        public static readonly ParameterRange CrackConeMinDeg = new(12, 25);
        public static readonly ParameterRange CrackConeSpreadDeg = new(8, 18);
        public static readonly ParameterRange CrackMaxThicknessMinUm = new(0.15, 1.2);
        public static readonly ParameterRange CrackMaxThicknessMaxUm = new(0.3, 2.4);
        public static readonly ParameterRange FlakeRadiusMinUm = new(1.5, 3);
        public static readonly ParameterRange FlakeRadiusSpreadUm = new(1, 2);
        public static readonly ParameterRange FlakeHalfThicknessMinUm = new(0.12, 0.3);
        public static readonly ParameterRange FlakeHalfThicknessSpreadUm = new(0.1, 0.2);
        public static readonly ParameterRange SecondFlakeProbability = new(0.2, 0.6);

        public static readonly ParameterRange VoidGrey = new(5, 60);
        public static readonly ParameterRange CarbonAboveVoid = new(15, 70);
        public static readonly ParameterRange LpsAboveCarbon = new(20, 80);
        public static readonly ParameterRange NmcAboveLps = new(30, 110);
        public static readonly ParameterRange NmcParticleOffset = new(0, 15);
        public static readonly ParameterRange NmcTexture = new(0, 8);
        public static readonly ParameterRange LpsTexture = new(0, 6);
        public static readonly ParameterRange TextureScaleUm = new(0.15, 0.6);

        public static readonly ParameterRange ShineThroughStrength = new(0, 0.6);
        public static readonly ParameterRange ShineThroughDecaySlices = new(1, 10);
        public const int MaxShineThroughDepth = 31;

        public static readonly ParameterRange BlurSigmaPx = new(0.6, 1.5);
        public static readonly ParameterRange CurtainAmplitude = new(0, 12);
        public static readonly ParameterRange ChargingAmplitude = new(0, 10);
        public static readonly ParameterRange GainDrift = new(0, 0.08);

        /// <summary>Total noise σ at the NMC grey level, and the share of its variance that grows with the signal.</summary>
        public static readonly ParameterRange NoiseSigmaAtNmc = new(2, 14);
        public static readonly ParameterRange NoiseSigmaAtNmcComb = new(2, 4);
        public static readonly ParameterRange SignalDependentNoiseShare = new(0, 0.8);

        public static readonly ParameterRange OutputGain16 = new(40, 250);
        public static readonly ParameterRange Levels8Full = new(150, 200);
        public static readonly ParameterRange Levels8Narrow = new(50, 70);
        public static readonly ParameterRange AdcStepsComb = new(60, 120);

        /// <summary>Probabilities of the storage modes: 16-bit; else 8-bit full, narrow or comb.</summary>
        public const double P16Bit = 0.5, P8Full = 0.4, P8Narrow = 0.3;

        /// <summary>Probabilities of the void morphologies: pores, mixed, else cracks.</summary>
        public const double PPores = 1.0 / 3, PMixed = 1.0 / 3;
    }

    /// <summary>How an 8-bit family member's grey levels are stored (16-bit members are <see cref="Bits16"/>).</summary>
    public enum StorageMode { Bits16, Full8, Narrow8, Comb8 }

    /// <summary>The storage mode a drawn appearance was made with (from its bit depth, ADC step and gain).</summary>
    public static StorageMode StorageOf(PhantomAppearance a) =>
        a.BitDepth == 16 ? StorageMode.Bits16 : a.AdcStep > 0 ? StorageMode.Comb8 : OccupiedLevels(a) < 110 ? StorageMode.Narrow8 : StorageMode.Full8;

    /// <summary>
    /// Options for family member <paramref name="familySeed"/> at this shape and voxel size: the drawn
    /// <see cref="PhantomOptions.Parameters"/>, <see cref="PhantomOptions.FamilySeed"/>, and Seed = the family seed
    /// for the geometry, drift and noise. Pass them to <see cref="CathodePhantom.Create"/>.
    /// </summary>
    public static PhantomOptions Draw(int familySeed, int depth, int height, int width, double voxelNm = 50) =>
        new(PhantomPreset.Pristine, depth, height, width, voxelNm, familySeed)
        {
            Parameters = DrawParameters(familySeed),
            FamilySeed = familySeed,
        };

    /// <summary>The drawn parameters of family member <paramref name="familySeed"/> (independent of the shape).</summary>
    public static PhantomParameters DrawParameters(int familySeed)
    {
        var rng = Rng.For(familySeed, Stream.Family);
        var microstructure = DrawMicrostructure(rng);
        var appearance = DrawAppearance(rng);
        return new PhantomParameters(microstructure, appearance);
    }

    private static MicrostructureParameters DrawMicrostructure(Rng rng)
    {
        double nmc = Ranges.NmcFraction.Draw(rng);
        double carbon = Ranges.CarbonFraction.Draw(rng);
        double voidFraction = Ranges.VoidFraction.Draw(rng);
        double m = rng.NextDouble();
        double crackShare = m < Ranges.PPores ? (rng.NextDouble() < 0.5 ? 0 : Ranges.CrackShareOfPores.Draw(rng))
            : m < Ranges.PPores + Ranges.PMixed ? Ranges.CrackShareOfMixed.Draw(rng)
            : Ranges.CrackShareOfCracks.Draw(rng);
        double crack = voidFraction * crackShare;

        double median = Ranges.NmcMedianDiameterUm.Draw(rng);
        double logSigma = Ranges.NmcLogSigma.Draw(rng);
        double minD = median * Ranges.NmcMinDiameterOfMedian.Draw(rng);
        double maxD = median * Ranges.NmcMaxDiameterOfMedian.Draw(rng);
        // random sequential addition of hard spheres jams near 38 %; denser loadings are pressed particles that
        // interpenetrate a little (the overlap grows with the target, plus some scatter)
        double overlapMin = Ranges.NmcContactOverlap.Min + (Ranges.NmcContactOverlap.Max - Ranges.NmcContactOverlap.Min)
            * Math.Clamp((nmc - 0.35) / (Ranges.NmcFraction.Max - 0.35), 0, 1) * 0.8;
        double overlap = rng.Uniform(overlapMin, Math.Min(Ranges.NmcContactOverlap.Max, overlapMin + 0.05));

        double fibreMin = Ranges.FibreMinDiameterUm.Draw(rng);
        double fibreMax = Math.Min(Ranges.FibreMaxDiameterUm.Max, fibreMin + Ranges.FibreDiameterSpreadUm.Draw(rng));
        double lengthMin = Ranges.FibreMinLengthUm.Draw(rng);
        double lengthMax = lengthMin + Ranges.FibreLengthSpreadUm.Draw(rng);

        double poreMin = Ranges.PoreMinRadiusUm.Draw(rng);
        double poreMax = Math.Min(Ranges.PoreMaxRadiusUm.Max, poreMin * Ranges.PoreRadiusRatio.Draw(rng));
        double aspectMin = Ranges.PoreMinAspect.Draw(rng);
        double aspectMax = Math.Min(1, aspectMin + Ranges.PoreAspectSpread.Draw(rng));
        double rejection = Ranges.NmcAdjacentPoreRejection.Draw(rng);

        // Crack size follows how much crack void each particle must carry (one crack per particle): the Cycled50
        // preset carries 0.064 crack void on 0.38 NMC with 0.8–1.5 µm crescents and two flakes of 2.5–4.5 µm.
        double severity = Math.Clamp(crack / nmc / (0.064 / 0.38), 0, 2);
        double coneMin = Ranges.CrackConeMinDeg.Draw(rng);
        double coneMax = coneMin + Ranges.CrackConeSpreadDeg.Draw(rng);
        double tMin = Math.Clamp(0.8 * severity * rng.Uniform(0.8, 1.2), Ranges.CrackMaxThicknessMinUm.Min, Ranges.CrackMaxThicknessMinUm.Max);
        double tMax = Math.Clamp(tMin * rng.Uniform(1.5, 2), Ranges.CrackMaxThicknessMaxUm.Min, Ranges.CrackMaxThicknessMaxUm.Max);
        int flakesMax = severity >= 0.25 ? 2 : 0;
        double flakeMin = Ranges.FlakeRadiusMinUm.Draw(rng);
        double flakeMax = flakeMin + Ranges.FlakeRadiusSpreadUm.Draw(rng);
        double flakeHalfMin = Ranges.FlakeHalfThicknessMinUm.Draw(rng);
        double flakeHalfMax = flakeHalfMin + Ranges.FlakeHalfThicknessSpreadUm.Draw(rng);
        double secondFlake = Ranges.SecondFlakeProbability.Draw(rng);

        return new MicrostructureParameters
        {
            NmcFraction = nmc,
            CarbonFraction = carbon,
            VoidFraction = voidFraction,
            CrackVoidFraction = crack,
            NmcMedianDiameterUm = median,
            NmcLogSigma = logSigma,
            NmcMinDiameterUm = minD,
            NmcMaxDiameterUm = maxD,
            NmcContactOverlap = overlap,
            // the pool must hold more than the target so that jamming, not the pool, stops the first placement
            NmcPoolFraction = Math.Max(0.40, nmc + 0.05),
            UndoOvershoot = true,
            FibreMinDiameterUm = fibreMin,
            FibreMaxDiameterUm = fibreMax,
            FibreMinLengthUm = lengthMin,
            FibreMaxLengthUm = lengthMax,
            PoreMinRadiusUm = poreMin,
            PoreMaxRadiusUm = poreMax,
            PoreMinAspect = aspectMin,
            PoreMaxAspect = aspectMax,
            NmcAdjacentPoreRejection = rejection,
            CrackConeMinDeg = coneMin,
            CrackConeMaxDeg = coneMax,
            CrackMaxThicknessMinUm = tMin,
            CrackMaxThicknessMaxUm = tMax,
            FlakesMax = flakesMax,
            SecondFlakeProbability = secondFlake,
            FlakeRadiusMinUm = flakeMin,
            FlakeRadiusMaxUm = flakeMax,
            FlakeHalfThicknessMinUm = flakeHalfMin,
            FlakeHalfThicknessMaxUm = flakeHalfMax,
        };
    }

    private static PhantomAppearance DrawAppearance(Rng rng)
    {
        double voidGrey = Ranges.VoidGrey.Draw(rng);
        double carbon = voidGrey + Ranges.CarbonAboveVoid.Draw(rng);
        double lps = carbon + Ranges.LpsAboveCarbon.Draw(rng);
        double nmc = lps + Ranges.NmcAboveLps.Draw(rng);

        double decay = Ranges.ShineThroughDecaySlices.Draw(rng);
        var a = new PhantomAppearance
        {
            VoidGrey = voidGrey,
            CarbonGrey = carbon,
            LpsGrey = lps,
            NmcGrey = nmc,
            NmcParticleOffset = Ranges.NmcParticleOffset.Draw(rng),
            NmcTexture = Ranges.NmcTexture.Draw(rng),
            LpsTexture = Ranges.LpsTexture.Draw(rng),
            TextureScaleUm = Ranges.TextureScaleUm.Draw(rng),
            ShineThroughStrength = Ranges.ShineThroughStrength.Draw(rng),
            ShineThroughDecaySlices = decay,
            // α falls below 5 % of A after 3 decay lengths
            ShineThroughDepth = Math.Min(Ranges.MaxShineThroughDepth, (int)Math.Ceiling(3 * decay) + 1),
            BlurSigmaPx = Ranges.BlurSigmaPx.Draw(rng),
        };

        double curtain = Ranges.CurtainAmplitude.Draw(rng);
        double charging = Ranges.ChargingAmplitude.Draw(rng);
        double gainDrift = Ranges.GainDrift.Draw(rng);
        // the presets' shapes of these ranges (stripes 0.6–1 of the largest, plane 0.5–1 and bump 0.57–1 of the
        // charging amplitude, the slow sinusoid 0.6 of the gain drift), scaled to the drawn amplitudes
        a = a with
        {
            CurtainAmplitudeMin = 0.6 * curtain,
            CurtainAmplitudeMax = curtain,
            ChargingPlaneMin = 0.5 * charging,
            ChargingPlaneMax = charging,
            ChargingBumpMin = 0.57 * charging,
            ChargingBumpMax = charging,
            GainDriftSlowMin = 0.6 * 0.62 * gainDrift,
            GainDriftSlowMax = 0.62 * gainDrift,
            GainDriftFastMin = 0.6 * 0.38 * gainDrift,
            GainDriftFastMax = 0.38 * gainDrift,
        };

        double u = rng.NextDouble();
        var mode = u < Ranges.P16Bit ? StorageMode.Bits16
            : u < Ranges.P16Bit + (1 - Ranges.P16Bit) * Ranges.P8Full ? StorageMode.Full8
            : u < Ranges.P16Bit + (1 - Ranges.P16Bit) * (Ranges.P8Full + Ranges.P8Narrow) ? StorageMode.Narrow8
            : StorageMode.Comb8;

        double sigmaNmc = (mode == StorageMode.Comb8 ? Ranges.NoiseSigmaAtNmcComb : Ranges.NoiseSigmaAtNmc).Draw(rng);
        double share = Ranges.SignalDependentNoiseShare.Draw(rng);
        a = a with
        {
            NoiseVariance = (1 - share) * sigmaNmc * sigmaNmc,
            NoiseSignalVariance = share * sigmaNmc * sigmaNmc / nmc,
        };

        var (lo, hi) = SignalSpan(a);
        switch (mode)
        {
            case StorageMode.Bits16:
            {
                double gain = Math.Min(Ranges.OutputGain16.Draw(rng), 0.95 * ushort.MaxValue / (hi - lo));
                double room = ushort.MaxValue - gain * (hi - lo);
                a = a with { BitDepth = 16, OutputGain = gain, OutputOffset = -gain * lo + rng.Uniform(0.05, 0.6) * room };
                break;
            }
            case StorageMode.Full8:
            case StorageMode.Narrow8:
            {
                double levels = (mode == StorageMode.Full8 ? Ranges.Levels8Full : Ranges.Levels8Narrow).Draw(rng);
                double gain = levels / (hi - lo);
                a = a with { BitDepth = 8, OutputGain = gain, OutputOffset = -gain * lo + rng.Uniform(0.1, 0.9) * (255 - levels) };
                break;
            }
            default:
            {
                double steps = Ranges.AdcStepsComb.Draw(rng);
                double adc = (hi - lo) / steps;
                // stretch the digitised steps over most of the 8-bit range: 2–4 stored levels per step
                double gain = rng.Uniform(0.8, 0.95) * 255 / (hi - lo);
                a = a with { BitDepth = 8, AdcStep = adc, OutputGain = gain, OutputOffset = -gain * lo + rng.Uniform(0.2, 0.8) * (255 - gain * (hi - lo)) };
                break;
            }
        }
        return a;
    }

    /// <summary>
    /// The signal interval (signal scale) where a stack's grey values lie: void to the bright NMC particles, widened
    /// by the gain drift, half the largest artefact excursion and 2.5 noise σ (the rarer extremes of a stack of a
    /// few million pixels reach a little beyond). The detector's gain and offset map it onto the stored range, so
    /// the number of distinct stored values is close to <see cref="OccupiedLevels"/>.
    /// </summary>
    public static (double Lo, double Hi) SignalSpan(PhantomAppearance a)
    {
        double drift = a.GainDriftSlowMax + a.GainDriftFastMax;
        double artefacts = 0.5 * (a.CurtainAmplitudeMax + 2 * a.ChargingPlaneMax + a.ChargingBumpMax);
        double lo = (1 - drift) * a.VoidGrey - artefacts - 2.5 * a.NoiseSigma(a.VoidGrey);
        double top = (1 + drift) * (a.NmcGrey + 0.7 * a.NmcParticleOffset + 0.5 * a.NmcTexture + artefacts);
        double hi = top + 2.5 * a.NoiseSigma(top);
        return (lo, hi);
    }

    /// <summary>How many stored levels the signal span covers (the expected number of distinct grey values).</summary>
    public static double OccupiedLevels(PhantomAppearance a)
    {
        var (lo, hi) = SignalSpan(a);
        return a.AdcStep > 0 ? (hi - lo) / a.AdcStep : a.OutputGain * (hi - lo);
    }
}
