using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class ShineThroughCorrectionTests
{
    private const float Void = 5000, Carbon = 15000, Lps = 28000, Nmc = 45000;

    /// <summary>One (y, x) column along z, labelled as the thresholds would (void &lt; 10000 &lt; carbon &lt; 21500 &lt; LPS &lt; 36500 &lt; NMC).</summary>
    private static (Volume<byte> Labels, Volume<float> Intensity) Column(params float[] greys)
    {
        var intensity = new Volume<float>(greys.Length, 1, 1, greys);
        var labels = PhaseClassifier.Classify(intensity, [10000, 21500, 36500], PhaseClassifier.BseDarkToBright);
        return (labels, intensity);
    }

    private static byte[] Corrected(params float[] greys) => CorrectedWithExcess(0, greys);

    private static byte[] CorrectedWithExcess(double shineThroughExcess, params float[] greys)
    {
        var (labels, intensity) = Column(greys);
        return ShineThroughCorrection.Apply(labels, intensity, Void, shineThroughExcess, PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps).Data;
    }

    [Fact]
    public void A_pore_brightening_towards_its_nmc_wall_is_void_up_to_the_midpoint()
    {
        // Pore slices 1-5 see the NMC wall at slice 6 through them: 0.1, 0.2, 0.35, 0.5 (> LPS!) and ... of its contrast.
        float Shine(double a) => (float)(Void + a * (Nmc - Void));
        var labels = Corrected(Lps, Void, Shine(0.1), Shine(0.2), Shine(0.35), Shine(0.45), Nmc, Nmc, Nmc);
        // Slices 2-5 were carbon, carbon, LPS, LPS by grey level; all lie below the void-to-wall midpoint (0.5).
        Assert.Equal([PhaseLabel.Lps, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void,
            PhaseLabel.Nmc, PhaseLabel.Nmc, PhaseLabel.Nmc], labels);
    }

    /// <summary>
    /// The recipe leaves the correction out on a stack without measurable shine-through: the lit column keeps its classes,
    /// and with the correction the same column goes to the pore.
    /// </summary>
    [Fact]
    public void The_recipe_leaves_the_correction_out_where_no_shine_through_was_measured()
    {
        float Shine(double a) => (float)(Void + a * (Nmc - Void));
        // A pore lit over six slices by the NMC wall behind it: longer than the clean-up's thin bands.
        var greys = new[] { Lps, Lps, Lps, Void, Void, Shine(0.15), Shine(0.2), Shine(0.25), Shine(0.3), Shine(0.35), Shine(0.4), Nmc, Nmc, Nmc, Nmc, Nmc };
        var intensity = new Volume<float>(greys.Length, 1, 1, greys);
        double[] thresholds = [10000, 21500, 36500];
        double[] means = [Void, Carbon, Lps, Nmc];
        var corrected = PhaseSegmentation.Segment(intensity, thresholds, means).Data;
        var without = PhaseSegmentation.Segment(intensity, thresholds, means, correctShineThrough: false).Data;
        var expected = PartialVolumeCleanup.Apply(PhaseClassifier.Classify(intensity, thresholds, PhaseClassifier.BseDarkToBright), intensity,
            PhaseClassifier.BseDarkToBright, means).Data;
        Assert.Equal(expected, without);
        Assert.True(corrected.Count(l => l == PhaseLabel.Void) > without.Count(l => l == PhaseLabel.Void));
    }

    [Theory]
    [InlineData(Lps)]
    [InlineData(Lps + 2000)]
    public void Electrolyte_between_a_pore_and_a_much_brighter_nmc_wall_stays_electrolyte_under_the_electrolyte_ceiling(float electrolyte)
    {
        // NMC 2.4 times the void-to-LPS contrast: the void-to-wall midpoint (36200) lies above the electrolyte's level.
        const float brightNmc = Void + 2.4f * (Lps - Void);
        var (labels, intensity) = Column(Lps, Void, Void, electrolyte, electrolyte, brightNmc, brightNmc);
        Volume<byte> Corrected(double ceiling) => ShineThroughCorrection.Apply(labels, intensity, Void, [0.0], double.PositiveInfinity, ceiling,
            PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);

        Assert.Equal([PhaseLabel.Lps, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Lps, PhaseLabel.Lps, PhaseLabel.Nmc, PhaseLabel.Nmc],
            Corrected(ceiling: Lps).Data);
        // Without the ceiling the electrolyte layer is taken for the pore's lit back and the pore touches the particle.
        Assert.Equal([PhaseLabel.Lps, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Nmc, PhaseLabel.Nmc],
            Corrected(ceiling: double.PositiveInfinity).Data);
    }

    [Fact]
    public void A_shine_lit_pore_voxel_below_the_electrolyte_ceiling_is_still_given_back()
    {
        const float brightNmc = Void + 2.4f * (Lps - Void);
        var (labels, intensity) = Column(Lps, Void, Lps - 3000, brightNmc, brightNmc);
        var corrected = ShineThroughCorrection.Apply(labels, intensity, Void, [0.0], double.PositiveInfinity, Lps,
            PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
        Assert.Equal([PhaseLabel.Lps, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Nmc, PhaseLabel.Nmc], corrected.Data);
    }

    [Fact]
    public void A_voxel_above_the_midpoint_to_its_wall_stays_solid()
    {
        // 0.6 of the way to the LPS wall (carbon by grey level): the z-blurred wall itself, not a pore; 0.4 of the way is pore.
        Assert.Equal(PhaseLabel.Carbon, Corrected(Lps, Void, Void + 0.6f * (Lps - Void), Lps, Lps)[2]);
        Assert.Equal(PhaseLabel.Void, Corrected(Lps, Void, Void + 0.4f * (Lps - Void), Lps, Lps)[2]);
    }

    [Fact]
    public void A_measured_shine_through_excess_raises_the_point_up_to_which_a_pore_takes_the_voxels_behind_it()
    {
        // 0.55 of the way to the NMC wall: above the midpoint, so solid without an estimate; a pore on a stack whose pores
        // measurably show their back walls (excess 0.1); still solid with a blurred wall at 0.65.
        float Towards(double a) => (float)(Void + a * (Nmc - Void));
        Assert.Equal(PhaseLabel.Lps, CorrectedWithExcess(0, Lps, Void, Towards(0.3), Towards(0.55), Nmc, Nmc)[3]);
        Assert.Equal(PhaseLabel.Void, CorrectedWithExcess(0.1, Lps, Void, Towards(0.3), Towards(0.55), Nmc, Nmc)[3]);
        Assert.Equal(PhaseLabel.Lps, CorrectedWithExcess(0.1, Lps, Void, Towards(0.3), Towards(0.65), Nmc, Nmc)[3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => CorrectedWithExcess(ShineThroughEstimate.MaximumExcess + 0.01, Lps, Void, Nmc));
    }

    [Fact]
    public void An_excess_per_distance_is_taken_at_the_distance_of_the_first_solid_voxel_behind()
    {
        // The voxel at 0.55 of the way to the NMC wall has its first solid voxel right behind it (distance 0): the
        // excess at distance 0 decides, not the one at distance 1.
        float Towards(double a) => (float)(Void + a * (Nmc - Void));
        byte At(double[] excess)
        {
            var (labels, intensity) = Column(Lps, Void, Towards(0.3), Towards(0.55), Nmc, Nmc);
            return ShineThroughCorrection.Apply(labels, intensity, Void, excess, 0.5 * (Carbon + Lps), PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps)[3, 0, 0];
        }
        Assert.Equal(PhaseLabel.Void, At([0.1, 0]));
        Assert.Equal(PhaseLabel.Lps, At([0, 0.1]));
    }

    [Fact]
    public void A_carbon_fibre_behind_a_pore_that_does_not_brighten_stays_carbon()
    {
        // Void, then a fibre at its own grey level darker than the voxel in front of it (the pore's shine-through), then LPS.
        var labels = Corrected(Lps, Void, Void + 0.45f * (Carbon - Void) + 8000, Carbon, Carbon, Lps, Lps, Lps);
        Assert.Equal(PhaseLabel.Carbon, labels[3]);
        Assert.Equal(PhaseLabel.Carbon, labels[4]);
    }

    [Fact]
    public void Nothing_in_front_of_a_pore_changes_and_nmc_is_never_given_to_it()
    {
        // Deeper is +z: carbon-grey voxels in front of (before) the pore are not its shine-through.
        var labels = Corrected(Lps, Carbon, Carbon, Void, Void, Nmc, Nmc);
        Assert.Equal([PhaseLabel.Lps, PhaseLabel.Carbon, PhaseLabel.Carbon, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Nmc, PhaseLabel.Nmc], labels);
    }

    [Theory]
    [InlineData(4, 0.0)]
    [InlineData(7, 0.0)]
    [InlineData(16, 0.0)]
    [InlineData(5, 0.2)]
    [InlineData(16, 0.2)]
    public void Slabs_with_the_segmentation_halo_give_the_whole_stack_bytes(int slabSlices, double correction)
    {
        // Pores whose back halves brighten towards the next phase along z, in a random block structure.
        var random = new Random(3);
        double[] means = [Void, Carbon, Lps, Nmc];
        // Deep enough that windows with the lit pore runs' reach (25 slices of halo) still cut the stack.
        var grey = new Volume<ushort>(80, 14, 16);
        for (var z = 0; z < grey.Depth; z++)
            for (var y = 0; y < grey.Height; y++)
                for (var x = 0; x < grey.Width; x++)
                {
                    var cell = ((z / 6) * 7 + (y / 4) * 3 + (x / 5) * 5) % 4;
                    var value = means[cell];
                    if (cell == 0) value += (z % 6) / 6.0 * 0.5 * (means[((z / 6 + 1) * 7 + (y / 4) * 3 + (x / 5) * 5) % 4] - Void);
                    grey[z, y, x] = (ushort)Math.Clamp(value + 900 * random.NextGaussian(), 0, 65535);
                }
        var intensity = Denoise.Gaussian(grey, 0.8);
        double[] thresholds = [10000, 21500, 36500];
        var whole = PhaseSegmentation.Segment(intensity, thresholds, means, correction);
        var changed = whole.Data.Zip(PartialVolumeCleanup.Apply(PhaseClassifier.Classify(intensity, thresholds, PhaseClassifier.BseDarkToBright),
            intensity, PhaseClassifier.BseDarkToBright, means).Data).Count(p => p.First != p.Second);
        Assert.True(changed > 0, "the test volume must have shine-through to correct");
        if (correction > 0)
        {
            // The lit pore runs act on this volume too, so their reach is part of what the slabs check.
            var withoutRuns = ShineThroughCorrection.Apply(PartialVolumeCleanup.Apply(PhaseClassifier.Classify(intensity, thresholds, PhaseClassifier.BseDarkToBright),
                intensity, PhaseClassifier.BseDarkToBright, means), intensity, means[0], [correction], double.PositiveInfinity, means[2],
                PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
            Assert.True(whole.Data.Zip(withoutRuns.Data).Count(p => p.First != p.Second) > 0, "the lit pore runs must change some voxel here");
        }

        var pieces = new List<byte>();
        var spanned = new List<byte>();
        for (var z0 = 0; z0 < intensity.Depth; z0 += slabSlices)
        {
            var window = Halo.Expand(intensity.Depth, z0, Math.Min(intensity.Depth, z0 + slabSlices), PhaseSegmentation.RequiredHaloSlicesWithFibres(0, correction));
            var read = Halo.CropZ(intensity, window.SlabZ0, window.SlabZ1);
            pieces.AddRange(Halo.CropToOwned(PhaseSegmentation.Segment(read, thresholds, means, correction), window).Data);
            // Each step only where the later ones read, as the segmentation stage runs it.
            spanned.AddRange(Halo.CropToOwned(PhaseSegmentation.Segment(read, thresholds, means, correction, 0, window.OwnedInSlab), window).Data);
        }
        Assert.Equal(whole.Data, pieces.ToArray());
        Assert.Equal(whole.Data, spanned.ToArray());
    }

    [Fact]
    public void Every_span_of_slices_gets_the_whole_walks_bytes()
    {
        // Pores twelve slices deep whose back eight brighten step by step: runs given back up to the longest allowed.
        var random = new Random(11);
        var intensity = new Volume<float>(30, 9, 11);
        for (var i = 0; i < intensity.Data.Length; i++)
        {
            var (z, column) = (i / intensity.SliceLength, i % intensity.SliceLength);
            var inPore = (column * 7 + (z + column) / 12 * 3) % 4 == 0;
            var depthInPore = (z + column) % 12;
            intensity.Data[i] = (inPore ? Void + depthInPore * 1500 : (column % 3 == 0 ? Lps : Carbon)) + 600 * (float)(random.NextDouble() - 0.5);
        }
        var labels = PhaseClassifier.Classify(intensity, [10000, 21500, 36500], PhaseClassifier.BseDarkToBright);
        Volume<byte> Walk(SliceSpan span) =>
            ShineThroughCorrection.Apply(labels, intensity, Void, [0.2], double.PositiveInfinity, Nmc, span, PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
        var whole = Walk(SliceSpan.All(labels.Depth));
        var longestRun = 0;
        for (var column = 0; column < labels.SliceLength; column++)
            for (int z = 0, run = 0; z < labels.Depth; z++)
            {
                var i = z * labels.SliceLength + column;
                run = whole.Data[i] != labels.Data[i] ? run + 1 : 0;
                longestRun = Math.Max(longestRun, run);
            }
        Assert.Equal(ShineThroughCorrection.MaxRunSlices, longestRun);

        var plane = labels.SliceLength;
        for (var start = 0; start < labels.Depth; start++)
            foreach (var end in new[] { start + 1, Math.Min(labels.Depth, start + 7), labels.Depth })
            {
                var spanned = Walk(new SliceSpan(start, end));
                Assert.Equal(whole.Data.AsSpan(start * plane, (end - start) * plane).ToArray(), spanned.Data.AsSpan(start * plane, (end - start) * plane).ToArray());
            }
    }

    [Theory]
    [InlineData(1, 1, 0.0, false)]
    [InlineData(37, 23, 0.0, false)]
    [InlineData(41, 29, 0.15, true)]
    [InlineData(5, 3, 0.4, true)]
    [InlineData(64, 70, 0.15, true)]
    [InlineData(50, 97, 0.0, false)]
    public void The_column_blocks_give_the_sequential_pass_byte_for_byte(int height, int width, double excess, bool perDistance)
    {
        // Pores whose columns brighten towards their walls, electrolyte and active material of every kind around them, noise:
        // plane sizes that the column blocks do not divide evenly.
        var random = new Random(height * 1000 + width);
        var intensity = new Volume<float>(30, height, width);
        for (var i = 0; i < intensity.Data.Length; i++)
        {
            var z = i / intensity.SliceLength;
            float[] levels = [Void, Carbon, Lps, Nmc];
            var cell = (i % intensity.SliceLength * 7 + z / 12 * 3) % 4;
            intensity.Data[i] = levels[cell] + (cell == 0 ? z % 12 * 1500 : 0) + 2000 * (float)(random.NextDouble() - 0.5);
        }
        var labels = PhaseClassifier.Classify(intensity, [10000, 21500, 36500], PhaseClassifier.BseDarkToBright);
        IReadOnlyList<double> excesses = perDistance ? [0.0, excess, excess / 2, 0.05] : [excess];
        var solid = perDistance ? 21500 : double.PositiveInfinity;

        var fast = ShineThroughCorrection.Apply(labels, intensity, Void, excesses, solid, Lps, PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
        var reference = Reference.ShineThroughCorrectionReference.Apply(labels, intensity, Void, excesses, solid, Lps, PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);

        Assert.Equal(reference.Data, fast.Data);
        Assert.True(fast.Data.Zip(labels.Data).Any(p => p.First != p.Second), "the volume must have voxels to give back");
    }
}
