using SsbTomo.Imaging;
using R = SsbTomo.Phantom.PhantomFamily.Ranges;

namespace SsbTomo.Phantom.Tests;

public class PhantomFamilyTests
{
    private const int Draws = 200;

    private static IEnumerable<(int Seed, PhantomParameters P)> Family(int count = Draws) =>
        Enumerable.Range(1, count).Select(s => (s, PhantomFamily.DrawParameters(s)));

    [Fact]
    public void A_family_seed_gives_the_same_parameters_and_bytes_and_another_seed_differs()
    {
        Assert.Equal(PhantomFamily.DrawParameters(17), PhantomFamily.DrawParameters(17));
        Assert.NotEqual(PhantomFamily.DrawParameters(17), PhantomFamily.DrawParameters(18));
        Assert.NotEqual(PhantomFamily.DrawParameters(17).Microstructure, PhantomFamily.DrawParameters(18).Microstructure);
        Assert.NotEqual(PhantomFamily.DrawParameters(17).Appearance, PhantomFamily.DrawParameters(18).Appearance);

        var o = PhantomFamily.Draw(17, 8, 48, 64);
        Assert.Equal(17, o.FamilySeed);
        Assert.Equal(17, o.Seed);
        Assert.Equal(o, PhantomFamily.Draw(17, 8, 48, 64));
        string a = PresetPinTests.StackHash(CathodePhantom.Create(o));
        Assert.Equal(a, PresetPinTests.StackHash(CathodePhantom.Create(PhantomFamily.Draw(17, 8, 48, 64))));
        Assert.NotEqual(a, PresetPinTests.StackHash(CathodePhantom.Create(PhantomFamily.Draw(18, 8, 48, 64))));
    }

    [Fact]
    public void Every_drawn_parameter_lies_in_its_documented_range()
    {
        foreach (var (seed, p) in Family())
        {
            var m = p.Microstructure;
            var a = p.Appearance;
            void In(ParameterRange range, double v, string what) =>
                Assert.True(range.Contains(v), $"family {seed}: {what} = {v} outside {range}");

            In(R.NmcFraction, m.NmcFraction, "NMC fraction");
            In(R.CarbonFraction, m.CarbonFraction, "carbon fraction");
            In(R.VoidFraction, m.VoidFraction, "void fraction");
            double crackShare = m.CrackVoidFraction / m.VoidFraction;
            In(m.VoidMorphology switch
            {
                VoidMorphology.Pores => R.CrackShareOfPores,
                VoidMorphology.Mixed => R.CrackShareOfMixed,
                _ => R.CrackShareOfCracks,
            }, crackShare, $"crack share of {m.VoidMorphology} void");

            In(R.NmcMedianDiameterUm, m.NmcMedianDiameterUm, "NMC median diameter");
            In(R.NmcLogSigma, m.NmcLogSigma, "NMC log sigma");
            In(R.NmcMinDiameterOfMedian, m.NmcMinDiameterUm / m.NmcMedianDiameterUm, "NMC min diameter / median");
            In(R.NmcMaxDiameterOfMedian, m.NmcMaxDiameterUm / m.NmcMedianDiameterUm, "NMC max diameter / median");
            In(R.NmcContactOverlap, m.NmcContactOverlap, "NMC contact overlap");
            In(R.FibreMinDiameterUm, m.FibreMinDiameterUm, "fibre min diameter");
            In(R.FibreMaxDiameterUm, m.FibreMaxDiameterUm, "fibre max diameter");
            Assert.True(m.FibreMaxDiameterUm > m.FibreMinDiameterUm);
            In(R.FibreMinLengthUm, m.FibreMinLengthUm, "fibre min length");
            In(R.FibreLengthSpreadUm, m.FibreMaxLengthUm - m.FibreMinLengthUm, "fibre length spread");
            In(R.PoreMinRadiusUm, m.PoreMinRadiusUm, "pore min radius");
            In(R.PoreMaxRadiusUm, m.PoreMaxRadiusUm, "pore max radius");
            Assert.True(m.PoreMaxRadiusUm > m.PoreMinRadiusUm);
            In(R.PoreMinAspect, m.PoreMinAspect, "pore min aspect");
            Assert.InRange(m.PoreMaxAspect, m.PoreMinAspect, 1.0);
            In(R.NmcAdjacentPoreRejection, m.NmcAdjacentPoreRejection, "pore rejection next to NMC");
            In(R.CrackConeMinDeg, m.CrackConeMinDeg, "crack cone min");
            In(R.CrackConeSpreadDeg, m.CrackConeMaxDeg - m.CrackConeMinDeg, "crack cone spread");
            In(R.CrackMaxThicknessMinUm, m.CrackMaxThicknessMinUm, "crack thickness min");
            In(R.CrackMaxThicknessMaxUm, m.CrackMaxThicknessMaxUm, "crack thickness max");
            Assert.True(m.CrackMaxThicknessMaxUm >= m.CrackMaxThicknessMinUm);
            In(R.FlakeRadiusMinUm, m.FlakeRadiusMinUm, "flake radius min");
            In(R.FlakeHalfThicknessMinUm, m.FlakeHalfThicknessMinUm, "flake half-thickness min");
            In(R.SecondFlakeProbability, m.SecondFlakeProbability, "second flake probability");
            Assert.True(m.UndoOvershoot);

            In(R.VoidGrey, a.VoidGrey, "void grey");
            In(R.CarbonAboveVoid, a.CarbonGrey - a.VoidGrey, "carbon - void grey");
            In(R.LpsAboveCarbon, a.LpsGrey - a.CarbonGrey, "LPS - carbon grey");
            In(R.NmcAboveLps, a.NmcGrey - a.LpsGrey, "NMC - LPS grey");
            Assert.True(a.VoidGrey < a.CarbonGrey && a.CarbonGrey < a.LpsGrey && a.LpsGrey < a.NmcGrey);
            In(R.NmcParticleOffset, a.NmcParticleOffset, "NMC particle offset");
            In(R.NmcTexture, a.NmcTexture, "NMC texture");
            In(R.LpsTexture, a.LpsTexture, "LPS texture");
            In(R.TextureScaleUm, a.TextureScaleUm, "texture scale");
            In(R.ShineThroughStrength, a.ShineThroughStrength, "shine-through strength");
            In(R.ShineThroughDecaySlices, a.ShineThroughDecaySlices, "shine-through decay");
            Assert.Equal(Math.Min(R.MaxShineThroughDepth, (int)Math.Ceiling(3 * a.ShineThroughDecaySlices) + 1), a.ShineThroughDepth);
            In(R.BlurSigmaPx, a.BlurSigmaPx, "blur sigma");
            In(R.CurtainAmplitude, a.CurtainAmplitudeMax, "curtaining");
            Assert.True(a.CurtainAmplitudeMin <= a.CurtainAmplitudeMax);
            In(R.ChargingAmplitude, a.ChargingPlaneMax, "charging plane");
            In(R.ChargingAmplitude, a.ChargingBumpMax, "charging bump");
            In(R.GainDrift, a.GainDriftSlowMax + a.GainDriftFastMax, "gain drift");
            In(R.NoiseSigmaAtNmc, a.NoiseSigma(a.NmcGrey), "noise sigma at NMC");
            Assert.True(a.NoiseSigma(a.VoidGrey) <= a.NoiseSigma(a.NmcGrey) + 1e-9);
            Assert.True(a.NoiseVariance >= 0 && a.NoiseSignalVariance >= 0);

            // the detector maps the bulk of the signal into the stored range
            var (lo, hi) = PhantomFamily.SignalSpan(a);
            Assert.InRange(a.OutputOffset + a.OutputGain * lo, -1e-6, a.MaxStoredValue);
            Assert.InRange(a.OutputOffset + a.OutputGain * hi, 0, a.MaxStoredValue + 1e-6);
            switch (PhantomFamily.StorageOf(a))
            {
                case PhantomFamily.StorageMode.Bits16:
                    Assert.Equal(16, a.BitDepth);
                    In(R.OutputGain16, a.OutputGain, "16-bit gain");
                    break;
                case PhantomFamily.StorageMode.Full8:
                    In(R.Levels8Full, PhantomFamily.OccupiedLevels(a), "8-bit full-range levels");
                    break;
                case PhantomFamily.StorageMode.Narrow8:
                    In(R.Levels8Narrow, PhantomFamily.OccupiedLevels(a), "8-bit narrow-range levels");
                    break;
                case PhantomFamily.StorageMode.Comb8:
                    In(R.AdcStepsComb, PhantomFamily.OccupiedLevels(a), "8-bit comb steps");
                    In(R.NoiseSigmaAtNmcComb, a.NoiseSigma(a.NmcGrey), "comb noise sigma");
                    Assert.InRange(a.OutputGain * a.AdcStep, 1.5, 4.5); // stored levels per digitised step: empty levels between
                    break;
            }
        }
    }

    [Fact]
    public void The_family_covers_every_storage_mode_and_void_morphology()
    {
        var modes = Family().GroupBy(f => PhantomFamily.StorageOf(f.P.Appearance)).ToDictionary(g => g.Key, g => g.Count());
        var voids = Family().GroupBy(f => f.P.Microstructure.VoidMorphology).ToDictionary(g => g.Key, g => g.Count());
        // half 16-bit; the 8-bit half split 40/30/30; a third of each void morphology (binomial spread over 200 draws)
        Assert.InRange(modes[PhantomFamily.StorageMode.Bits16], 75, 125);
        Assert.InRange(modes[PhantomFamily.StorageMode.Full8], 20, 60);
        Assert.InRange(modes[PhantomFamily.StorageMode.Narrow8], 12, 50);
        Assert.InRange(modes[PhantomFamily.StorageMode.Comb8], 12, 50);
        foreach (var v in Enum.GetValues<VoidMorphology>()) Assert.InRange(voids[v], 40, 95);
        // the draws really spread over their ranges, not a corner of them
        Assert.True(Family().Any(f => f.P.Microstructure.NmcFraction > 0.52) && Family().Any(f => f.P.Microstructure.NmcFraction < 0.28));
        Assert.True(Family().Any(f => f.P.Appearance.ShineThroughDecaySlices > 9) && Family().Any(f => f.P.Appearance.ShineThroughStrength < 0.05));
    }

    [Fact]
    public void Parameters_round_trip_through_the_truth_json()
    {
        foreach (int seed in new[] { 1, 2, 3, 4 })
        {
            var p = PhantomFamily.DrawParameters(seed);
            var json = p.ToJson();
            Assert.Equal(p, PhantomParameters.FromJson(json.ToJsonString()));
            Assert.Equal(p.Appearance.BitDepth, (int)json["appearance"]!["bit_depth"]!);
            Assert.Equal(p.Microstructure.VoidMorphology.ToString().ToLowerInvariant(), (string)json["microstructure"]!["void_morphology"]!);
        }
    }

    public static TheoryData<int> FractionSeeds()
    {
        // a few ordinary members and the most extreme of the first 400: densest NMC with the most void
        var data = new TheoryData<int> { 1, 2, 3, 4 };
        data.Add(Enumerable.Range(1, 400).MaxBy(s =>
        {
            var m = PhantomFamily.DrawParameters(s).Microstructure;
            return m.NmcFraction + m.VoidFraction;
        }));
        return data;
    }

    /// <summary>
    /// The truth labels of a member land on its drawn targets. Tolerances (measured over family seeds 1..40 at this
    /// size: |ΔNMC| ≤ 0.4 pp, |Δcarbon| ≤ 0.1 pp, void ≤ +0.5 pp): NMC ± 1 pp, carbon ± 0.5 pp, void −0.2..+0.8 pp (a
    /// crack may overshoot its share by half a point; pores stop at the target). Fields of view holding only a few
    /// 5-µm particles (32x128x144 at 50 nm) can miss NMC by several points: the stack is then a few particles.
    /// </summary>
    [Theory]
    [MemberData(nameof(FractionSeeds))]
    public void Truth_fractions_land_on_the_drawn_targets(int seed)
    {
        var o = PhantomFamily.Draw(seed, 48, 160, 192);
        var t = TruthCounter.Measure(CathodePhantom.Create(o).RenderLabels(0, o.Depth));
        var m = o.Parameters!.Microstructure;
        Assert.InRange(t.Nmc, m.NmcFraction - 0.01, m.NmcFraction + 0.01);
        Assert.InRange(t.Carbon, m.CarbonFraction - 0.005, m.CarbonFraction + 0.005);
        Assert.InRange(t.Void, m.VoidFraction - 0.002, m.VoidFraction + 0.008);
    }

    /// <summary>
    /// Every microstructure fraction at the top of its range and cracks for 90 % of the void. Measured: 55.2 % NMC
    /// with 3-µm particles; with 6-µm particles 53.8 % at 48x160x192 (50 nm: a 2.4 µm thick field of view holds
    /// slices of a few dozen particles), 55.2 % at 64x192x224; carbon and void on target to 0.1 pp.
    /// </summary>
    [Theory]
    [InlineData(3.0)]
    [InlineData(6.0)]
    public void The_densest_draw_with_the_most_void_terminates_near_target(double medianUm)
    {
        var o = PhantomFamily.Draw(5, 48, 160, 192);
        o = o with
        {
            Parameters = o.Parameters! with
            {
                Microstructure = o.Parameters.Microstructure with
                {
                    NmcFraction = 0.55, CarbonFraction = 0.10, VoidFraction = 0.15, CrackVoidFraction = 0.135,
                    NmcMedianDiameterUm = medianUm, NmcMinDiameterUm = 0.45 * medianUm, NmcMaxDiameterUm = 2.2 * medianUm,
                    NmcContactOverlap = 0.2, NmcPoolFraction = 0.6, CrackConeMinDeg = 20, CrackConeMaxDeg = 35,
                    CrackMaxThicknessMinUm = 1.2, CrackMaxThicknessMaxUm = 2.4, FlakesMax = 2,
                    FlakeRadiusMinUm = 2.5, FlakeRadiusMaxUm = 4.5, FlakeHalfThicknessMinUm = 0.2, FlakeHalfThicknessMaxUm = 0.4,
                },
            },
        };
        var t = TruthCounter.Measure(CathodePhantom.Create(o).RenderLabels(0, o.Depth));
        Assert.InRange(t.Nmc, 0.535, 0.56);
        Assert.InRange(t.Carbon, 0.095, 0.105);
        Assert.InRange(t.Void, 0.148, 0.158);
    }

    private static int FirstSeed(PhantomFamily.StorageMode mode, int skip = 0) =>
        Enumerable.Range(1, 1000).Where(s => PhantomFamily.StorageOf(PhantomFamily.DrawParameters(s).Appearance) == mode).Skip(skip).First();

    private static long[] Histogram(CathodePhantom ph)
    {
        var hist = new long[65536];
        for (int z = 0; z < ph.Options.Depth; z++)
            foreach (var v in ph.RenderSlice16(z).Pixels) hist[v]++;
        return hist;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Narrow_8bit_members_have_about_50_to_70_grey_levels(int which)
    {
        var ph = CathodePhantom.Create(PhantomFamily.Draw(FirstSeed(PhantomFamily.StorageMode.Narrow8, which), 16, 128, 160));
        Assert.Equal(8, ph.BitDepth);
        int levels = Histogram(ph).Count(n => n > 0);
        Assert.InRange(levels, 45, 75);
        Assert.Equal(ph.RenderSlice16(3).Pixels.Select(v => checked((byte)v)), ph.RenderSlice(3).Pixels);
    }

    [Fact]
    public void Full_8bit_members_use_most_of_the_range_and_comb_members_leave_empty_levels_between_occupied_ones()
    {
        var full = Histogram(CathodePhantom.Create(PhantomFamily.Draw(FirstSeed(PhantomFamily.StorageMode.Full8), 16, 128, 160)));
        Assert.InRange(full.Count(n => n > 0), 130, 215);

        var comb = Histogram(CathodePhantom.Create(PhantomFamily.Draw(FirstSeed(PhantomFamily.StorageMode.Comb8), 16, 128, 160)));
        int lo = Array.FindIndex(comb, n => n > 0), hi = Array.FindLastIndex(comb, n => n > 0);
        int occupied = comb.Count(n => n > 0), empty = hi - lo + 1 - occupied;
        Assert.True(empty > occupied, $"comb: {occupied} occupied and {empty} empty levels in {lo}..{hi}");
        Assert.InRange(occupied, 45, 125);
    }

    [Fact]
    public void Sixteen_bit_members_really_are_16_bit()
    {
        foreach (int which in new[] { 0, 1 })
        {
            var ph = CathodePhantom.Create(PhantomFamily.Draw(FirstSeed(PhantomFamily.StorageMode.Bits16, which), 8, 96, 128));
            Assert.Equal(16, ph.BitDepth);
            Assert.Throws<InvalidOperationException>(() => ph.RenderSlice(0));
            var hist = Histogram(ph);
            int levels = hist.Count(n => n > 0), max = Array.FindLastIndex(hist, n => n > 0);
            Assert.True(max > 2000, $"largest value {max}");
            Assert.True(levels > 1000, $"{levels} distinct values");
            Assert.True(hist[0] + hist[65535] < 0.001 * 8 * 96 * 128, "clipping");
        }
    }

    public static TheoryData<int> ShineSeeds()
    {
        // members with strong shine-through and plenty of void, one with a short and one with a long decay
        var strong = Enumerable.Range(1, 400).Select(s => (s, p: PhantomFamily.DrawParameters(s)))
            .Where(t => t.p.Appearance.ShineThroughStrength >= 0.3 && t.p.Microstructure.VoidFraction >= 0.05).ToList();
        return [strong.First(t => t.p.Appearance.ShineThroughDecaySlices < 3).s, strong.First(t => t.p.Appearance.ShineThroughDecaySlices > 6).s];
    }

    /// <summary>
    /// Shine-through, checked against its definition: with noise, artefacts and texture switched off and a blur too
    /// narrow to mix in the neighbours (σ 0.2 px: 1.5e-5 of the weight off the centre pixel), a pixel whose four
    /// sub-samples are void on the face and see the same phase first at the same depth k has the grey
    /// void + A·exp(−(k−1)/decay)·(solid − void), mapped by the detector; A and decay are the drawn ones.
    /// </summary>
    [Theory]
    [MemberData(nameof(ShineSeeds))]
    public void A_void_pixel_shows_the_solid_behind_it_by_the_drawn_strength_and_decay(int seed)
    {
        var drawn = PhantomFamily.Draw(seed, 12, 160, 192);
        var look = drawn.Parameters!.Appearance with
        {
            NmcTexture = 0, LpsTexture = 0, NmcParticleOffset = 0,
            CurtainAmplitudeMin = 0, CurtainAmplitudeMax = 0, ChargingPlaneMin = 0, ChargingPlaneMax = 0,
            ChargingBumpMin = 0, ChargingBumpMax = 0, GainDriftSlowMin = 0, GainDriftSlowMax = 0,
            GainDriftFastMin = 0, GainDriftFastMax = 0, NoiseVariance = 0, NoiseSignalVariance = 0,
            BlurSigmaPx = 0.2, AdcStep = 0,
        };
        var o = drawn with { Parameters = drawn.Parameters with { Appearance = look } };
        var ph = CathodePhantom.Create(o);
        var raw = ph.RenderSlice16(0); // slice 0 has no drift
        double Solid(byte label) => label switch
        {
            PhaseLabel.Nmc => look.NmcGrey,
            PhaseLabel.Lps => look.LpsGrey,
            PhaseLabel.Carbon => look.CarbonGrey,
            _ => throw new InvalidOperationException(),
        };

        double tolerance = 0.51 + 350 * 1.5e-5 * look.OutputGain;
        int checkedPixels = 0, darkPixels = 0;
        var depthsSeen = new HashSet<int>();
        for (int y = 1; y < o.Height - 1; y++)
            for (int x = 1; x < o.Width - 1; x++)
            {
                (byte Label, int K)? behind = null;
                bool uniform = true;
                for (int s = 0; s < 4 && uniform; s++)
                {
                    double yy = y + (s >> 1 == 0 ? 0.25 : 0.75), xx = x + ((s & 1) == 0 ? 0.25 : 0.75);
                    if (ph.LabelAt(0.5, yy, xx) != PhaseLabel.Void) { uniform = false; break; }
                    (byte, int) first = (PhaseLabel.Void, 0); // nothing solid within the look-behind depth
                    for (int k = 1; k <= look.ShineThroughDepth; k++)
                    {
                        byte l = ph.LabelAt(0.5 + k, yy, xx);
                        if (l != PhaseLabel.Void) { first = (l, k); break; }
                    }
                    behind ??= first;
                    if (behind != first) uniform = false;
                }
                if (!uniform || behind is not { } b) continue;
                double signal = look.VoidGrey;
                if (b.K > 0)
                {
                    double alpha = look.ShineThroughStrength * Math.Exp(-(b.K - 1) / look.ShineThroughDecaySlices);
                    signal += alpha * (Solid(b.Label) - look.VoidGrey);
                    depthsSeen.Add(b.K);
                    checkedPixels++;
                }
                else darkPixels++;
                double expected = look.OutputOffset + look.OutputGain * signal;
                Assert.True(Math.Abs(raw[y, x] - expected) <= tolerance,
                    $"pixel ({y},{x}): {raw[y, x]}, expected {expected:F2} (solid {b.Label} at k = {b.K})");
            }
        Assert.True(checkedPixels >= 50, $"only {checkedPixels} void pixels with one solid behind");
        Assert.True(depthsSeen.Count >= 3, $"solids behind seen only at depths {string.Join(",", depthsSeen)}");
    }

    [Fact]
    public void The_specimen_extends_behind_the_last_slice_as_deep_as_shine_through_looks()
    {
        var o = PhantomFamily.Draw(12, 16, 64, 80);
        var ph = CathodePhantom.Create(o);
        Assert.True(ph.SpecimenHi.Z >= o.Depth + o.Parameters!.Appearance.ShineThroughDepth + 0.5);
        Assert.Equal(30, o.Parameters.Appearance.ShineThroughDepth);
    }

    [Fact]
    public void The_artefact_description_states_the_drawn_numbers()
    {
        var a = PhantomFamily.DrawParameters(3).Appearance;
        var text = string.Join("\n", ArtefactDescription.For(a));
        Assert.Contains($"k = 1..{a.ShineThroughDepth}", text);
        Assert.Contains($"{a.BitDepth}-bit", text);
        Assert.Contains("void 25, carbon 65, LPS 120, NMC 195", string.Join("\n", ArtefactDescription.Items));
    }
}
