using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Tests.Measurement;

public class LabelAgreementTests
{
    [Fact]
    public void Dice_of_overlapping_boxes_is_two_intersections_over_the_sizes()
    {
        var reference = new Volume<byte>(4, 10, 10);
        var segmented = new Volume<byte>(4, 10, 10);
        Array.Fill(reference.Data, PhaseLabel.Lps);
        Array.Fill(segmented.Data, PhaseLabel.Lps);
        // void: reference x 0..4 (200 voxels), segmentation x 2..6 (200 voxels), both x 2..4 (120 voxels)
        for (var z = 0; z < 4; z++)
            for (var y = 0; y < 10; y++)
            {
                for (var x = 0; x < 5; x++) reference[z, y, x] = PhaseLabel.Void;
                for (var x = 2; x < 7; x++) segmented[z, y, x] = PhaseLabel.Void;
            }
        var agreement = new LabelAgreement();
        agreement.Add(reference, segmented);
        Assert.Equal(2.0 * 120 / 400, agreement.Dice(PhaseLabel.Void), 12);
        Assert.Equal(80, agreement.Count(PhaseLabel.Void, PhaseLabel.Lps));
        // LPS: reference x 5..9, segmentation x 0..1 and 7..9, both x 7..9
        Assert.Equal(2.0 * 120 / 400, agreement.Dice(PhaseLabel.Lps), 12);
        Assert.True(double.IsNaN(agreement.Dice(PhaseLabel.Carbon)));
    }

    [Fact]
    public void Slabs_add_up_to_the_whole_volume()
    {
        var random = new Random(3);
        var reference = new Volume<byte>(8, 6, 7);
        var segmented = new Volume<byte>(8, 6, 7);
        for (var i = 0; i < reference.Data.Length; i++)
        {
            reference.Data[i] = (byte)random.Next(1, 5);
            segmented.Data[i] = random.NextDouble() < 0.7 ? reference.Data[i] : (byte)random.Next(1, 5);
        }
        var whole = new LabelAgreement();
        whole.Add(reference, segmented);
        var slabs = new LabelAgreement();
        foreach (var (z0, z1) in new[] { (0, 3), (3, 8) })
            slabs.Add(Slab(reference, z0, z1), Slab(segmented, z0, z1));
        for (byte phase = 1; phase <= 4; phase++)
            Assert.Equal(whole.Dice(phase), slabs.Dice(phase));
    }

    [Fact]
    public void Shapes_must_match()
    {
        var agreement = new LabelAgreement();
        Assert.Throws<ArgumentException>(() => agreement.Add(new Volume<byte>(2, 3, 4), new Volume<byte>(2, 4, 3)));
    }

    private static Volume<byte> Slab(Volume<byte> volume, int z0, int z1) =>
        new(z1 - z0, volume.Height, volume.Width, volume.Data[(z0 * volume.SliceLength)..(z1 * volume.SliceLength)]);
}
