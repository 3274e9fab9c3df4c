using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Segmentation;

/// <summary>The recipe's own step: what the clean-up gives to carbon between a carbon voxel and the active material.</summary>
public class PhaseSegmentationTests
{
    private const float Void = 5000, Carbon = 15000, Lps = 28000, Nmc = 45000;
    private static readonly double[] Means = [Void, Carbon, Lps, Nmc];
    private static readonly double[] Thresholds = [10000, 21500, 36500];

    private static Volume<byte> CleanedOnly(Volume<float> intensity) =>
        PartialVolumeCleanup.Apply(PhaseClassifier.Classify(intensity, Thresholds, PhaseClassifier.BseDarkToBright), intensity, PhaseClassifier.BseDarkToBright, Means);

    [Fact]
    public void An_electrolyte_film_between_carbon_and_the_active_material_stays_electrolyte()
    {
        // Along x: carbon, one electrolyte voxel, the particle. The electrolyte voxel lies below the carbon|NMC midpoint,
        // so the clean-up alone takes it for a blurred carbon|NMC edge and gives it to carbon.
        var intensity = new Volume<float>(1, 1, 6, [Lps, Carbon, Carbon, Lps, Nmc, Nmc]);
        Assert.Equal(PhaseLabel.Carbon, CleanedOnly(intensity)[0, 0, 3]);

        var labels = PhaseSegmentation.Segment(intensity, Thresholds, Means);

        Assert.Equal([PhaseLabel.Lps, PhaseLabel.Carbon, PhaseLabel.Carbon, PhaseLabel.Lps, PhaseLabel.Nmc, PhaseLabel.Nmc], labels.Data);
    }

    [Fact]
    public void An_electrolyte_grey_voxel_between_a_lit_pore_and_the_particle_goes_to_the_pore()
    {
        // Along z: a pore whose back slices brighten towards the particle behind them (shine-through), the last one at the
        // electrolyte's grey, three carbon-grey slices in front of it (thicker than the clean-up's bands). The clean-up gives it to carbon (carbon|NMC edge), the shine-through correction then to the
        // pore with the carbon-grey slices in front of it: the move is kept, and the pore touches the particle.
        var intensity = new Volume<float>(9, 1, 1, [Lps, Void, Void, 13000, 14000, 16000, 23000, Nmc, Nmc]);
        Assert.Equal(PhaseLabel.Carbon, CleanedOnly(intensity)[6, 0, 0]);

        var labels = PhaseSegmentation.Segment(intensity, Thresholds, Means);

        Assert.Equal([PhaseLabel.Lps, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Void, PhaseLabel.Nmc, PhaseLabel.Nmc], labels.Data);
    }
}
