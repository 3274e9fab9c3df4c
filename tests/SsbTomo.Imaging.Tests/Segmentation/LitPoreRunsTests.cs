using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class LitPoreRunsTests
{
    private const float Void = 5000, Carbon = 22000, Lps = 36000, Nmc = 50000;
    private const double VoidCarbonThreshold = 13500;
    private static readonly double[] ClassMeans = [Void, Carbon, Lps, Nmc];
    private static readonly double[] Thresholds = [VoidCarbonThreshold, 29000, 43000];

    /// <summary>One (y, x) column along z, labelled by the thresholds.</summary>
    private static (Volume<byte> Labels, Volume<float> Intensity) Column(params float[] greys)
    {
        var intensity = new Volume<float>(greys.Length, 1, 1, greys);
        return (PhaseClassifier.Classify(intensity, Thresholds, PhaseClassifier.BseDarkToBright), intensity);
    }

    private static byte[] Relabelled(double correction, params float[] greys)
    {
        var (labels, intensity) = Column(greys);
        LitPoreRuns.ApplyInPlace(labels, intensity, VoidCarbonThreshold, ClassMeans, correction, SliceSpan.All(labels.Depth));
        return labels.Data;
    }

    /// <summary>
    /// A pore 8 slices deep in front of an electrolyte wall, lit at 0.7·exp(−(k−1)/8) of the wall's contrast k slices in
    /// front of it: every voxel reads carbon, from 0.29 of the way from void to the wall at its front to 0.7 next to it.
    /// </summary>
    private static float[] LitPoreInFrontOf(float wall)
    {
        var pore = Enumerable.Range(1, 8).Reverse().Select(k => (float)(Void + 0.7 * Math.Exp(-(k - 1) / 8.0) * (wall - Void)));
        return [Lps, Lps, .. pore, wall, wall];
    }

    [Fact]
    public void A_pore_lit_into_carbons_range_from_front_to_back_is_void_on_a_stack_with_strong_shine_through()
    {
        var greys = LitPoreInFrontOf(Lps);
        var (labels, _) = Column(greys);
        Assert.All(labels.Data[2..10], label => Assert.Equal(PhaseLabel.Carbon, label));

        var relabelled = Relabelled(0.2, greys);

        Assert.Equal([PhaseLabel.Lps, PhaseLabel.Lps, .. Enumerable.Repeat(PhaseLabel.Void, 8), PhaseLabel.Lps, PhaseLabel.Lps], relabelled);
    }

    [Fact]
    public void Nothing_changes_where_the_stack_measured_no_shine_through_beyond_the_midpoint_rule()
    {
        var greys = LitPoreInFrontOf(Lps);
        Assert.Equal(Column(greys).Labels.Data, Relabelled(0, greys));
    }

    [Fact]
    public void A_thick_fibre_crossed_along_z_stays_carbon_though_its_grey_creeps_up()
    {
        // Deep enough to pass the darkest-voxel test and rising by a few grey levels a slice: blur rounds both of a fibre's
        // edges alike, so its interior does not climb towards the wall as a lit pore's does.
        float[] greys = [Lps, Lps, 25000, 15500, 15600, 15700, 15800, 15900, 25000, Lps, Lps];
        Assert.Equal(Column(greys).Labels.Data, Relabelled(0.2, greys));
    }

    [Fact]
    public void A_dip_that_never_reaches_below_half_way_to_carbon_is_not_a_pore()
    {
        // The same rising profile lifted by 8000: its darkest voxel (~22,000) is above half-way from the void|carbon
        // threshold (13,500) to carbon (22,000), where a fibre's shallow dip lies.
        var greys = LitPoreInFrontOf(Lps).Select((g, z) => z is >= 2 and < 10 ? g + 8000 : g).ToArray();
        Assert.Equal(Column(greys).Labels.Data, Relabelled(0.2, greys));
    }

    [Fact]
    public void A_run_shorter_than_the_rise_needs_is_left_alone()
    {
        // Four dark voxels: the darkest one and three rising ones, without room for the wall-adjacent voxel's blur.
        float[] greys = [Lps, Lps, 12000, 17000, 22000, 27000, Lps, Lps];
        Assert.Equal(Column(greys).Labels.Data, Relabelled(0.2, greys));
    }

    [Fact]
    public void A_run_that_darkens_towards_its_wall_is_not_a_lit_pore()
    {
        // The lit pore's profile reversed: the milling enters the dip at its bright end, the wall is behind its dark end.
        var greys = LitPoreInFrontOf(Lps);
        float[] reversed = [Lps, Lps, .. greys[2..10].Reverse(), Lps, Lps];
        Assert.Equal(Column(reversed).Labels.Data, Relabelled(0.2, reversed));
    }

    [Fact]
    public void Slabs_with_the_reach_as_halo_give_the_whole_volumes_labels_on_their_owned_slices()
    {
        // Columns of lit pores of random depths and walls, fibres and electrolyte, so that runs cross every slab boundary.
        const int depth = 70, height = 9, width = 11;
        var random = new Random(7);
        var greys = new float[depth * height * width];
        for (var column = 0; column < height * width; column++)
        {
            var z = 0;
            while (z < depth)
            {
                var kind = random.Next(3);
                var length = 3 + random.Next(12);
                var wall = random.Next(2) == 0 ? Lps : Nmc;
                for (var k = 0; k < length && z < depth; k++, z++)
                {
                    var fromWall = length - k;
                    greys[z * height * width + column] = kind switch
                    {
                        0 => (float)(Void + 0.5 * Math.Exp(-(fromWall - 1) / 6.0) * (wall - Void)) + random.Next(-400, 400),
                        1 => Carbon + random.Next(-1500, 1500),
                        _ => Lps + random.Next(-800, 800),
                    };
                }
                for (var k = 0; k < 2 && z < depth; k++, z++) greys[z * height * width + column] = wall;
            }
        }
        var intensity = new Volume<float>(depth, height, width, greys);
        var whole = PhaseClassifier.Classify(intensity, Thresholds, PhaseClassifier.BseDarkToBright);
        var before = whole.Data.ToArray();
        LitPoreRuns.ApplyInPlace(whole, intensity, VoidCarbonThreshold, ClassMeans, 0.2, SliceSpan.All(depth));
        Assert.NotEqual(before, whole.Data);

        var halo = LitPoreRuns.ReachBeforeSlices;
        foreach (var (z0, z1) in new[] { (0, 20), (20, 37), (37, 70), (13, 14) })
        {
            var window = Halo.Expand(depth, z0, z1, halo);
            var slab = Halo.CropZ(intensity, window.SlabZ0, window.SlabZ1);
            var labels = PhaseClassifier.Classify(slab, Thresholds, PhaseClassifier.BseDarkToBright);
            LitPoreRuns.ApplyInPlace(labels, slab, VoidCarbonThreshold, ClassMeans, 0.2, new SliceSpan(z0 - window.SlabZ0, z1 - window.SlabZ0));
            var plane = height * width;
            Assert.Equal(whole.Data.AsSpan(z0 * plane, (z1 - z0) * plane).ToArray(), labels.Data.AsSpan((z0 - window.SlabZ0) * plane, (z1 - z0) * plane).ToArray());
        }
    }
}
