using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Measurement;

public class MicrostructureAccumulatorTests
{
    private static Volume<byte> RandomLabels(int seed, int depth = 23, int height = 17, int width = 19)
    {
        var rng = new Random(seed);
        var v = new Volume<byte>(depth, height, width);
        // Blocky phases so that components span slab borders.
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    v[z, y, x] = (byte)(1 + ((x / 3 + y / 4 + z / 2 + rng.Next(3)) % 4));
        return v;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(7)]
    public void Slab_by_slab_equals_the_whole_volume(int slabSlices)
    {
        var labels = RandomLabels(slabSlices);
        var whole = new MicrostructureAccumulator();
        whole.Add(labels);
        var streamed = new MicrostructureAccumulator();
        for (var z0 = 0; z0 < labels.Depth; z0 += slabSlices)
            streamed.Add(Halo.CropZ(labels, z0, Math.Min(labels.Depth, z0 + slabSlices)));

        var (a, b) = (whole.Result(), streamed.Result());
        Assert.Equal(a.LabelCounts, b.LabelCounts);
        Assert.Equal(a.Contact, b.Contact);
        Assert.Equal(a.VoidComponents.Count, b.VoidComponents.Count);
        Assert.Equal(a.VoidComponents.SizesDescending, b.VoidComponents.SizesDescending);
        Assert.Equal(ContactLoss.Count(labels), b.Contact);
    }

    [Fact]
    public void A_cube_of_nmc_with_void_on_one_face_loses_one_sixth_of_its_contact()
    {
        var labels = new Volume<byte>(8, 8, 8);
        Array.Fill(labels.Data, PhaseLabel.Lps);
        for (var z = 2; z < 6; z++)
            for (var y = 2; y < 6; y++)
                for (var x = 2; x < 6; x++)
                    labels[z, y, x] = PhaseLabel.Nmc;
        for (var y = 2; y < 6; y++)
            for (var x = 2; x < 6; x++)
                labels[6, y, x] = PhaseLabel.Void;
        var accumulator = new MicrostructureAccumulator();
        accumulator.Add(Halo.CropZ(labels, 0, 5));
        accumulator.Add(Halo.CropZ(labels, 5, 8));
        var result = accumulator.Result();
        Assert.Equal(6 * 16, result.Contact.NmcSurface);
        Assert.Equal(16, result.Contact.NmcVoid);
        Assert.Equal(1, result.VoidComponents.Count);
        Assert.Equal(16.0 / 512, result.Fractions.Void, 12);
    }
}
