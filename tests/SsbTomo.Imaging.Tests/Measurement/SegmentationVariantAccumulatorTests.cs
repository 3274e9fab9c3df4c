using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Measurement;

public class SegmentationVariantAccumulatorTests
{
    private static readonly double[] Means = [5000, 15000, 28000, 45000];

    /// <summary>Random blocks of the four phases' grey levels, blurred a little so that clean-up has skins to remove, plus noise.</summary>
    private static Volume<float> Intensity(int seed, int depth, int height, int width)
    {
        var random = new Random(seed);
        var v = new Volume<ushort>(depth, height, width);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var cell = ((z / 3) * 7 + (y / 4) * 3 + (x / 5) * 5 + seed) % 4;
                    v[z, y, x] = (ushort)Math.Clamp(Means[cell] + 1500 * random.NextGaussian(), 0, 65535);
                }
        return Denoise.Gaussian(v, 0.8);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(11)]
    public void Slab_by_slab_tallies_equal_the_whole_volume_segmented_at_once(int slabSlices)
    {
        var intensity = Intensity(1, 23, 20, 24);
        ThresholdRange[] ranges = [new(9000, 10000, 11500), new(20000, 21500, 23000), new(35000, 36500, 38000)];
        var variants = SegmentationUncertainty.Variants(ranges);
        var accumulator = new SegmentationVariantAccumulator(variants, Means);
        for (var z0 = 0; z0 < intensity.Depth; z0 += slabSlices)
        {
            var window = Halo.Expand(intensity.Depth, z0, Math.Min(intensity.Depth, z0 + slabSlices), SegmentationVariantAccumulator.RequiredHaloSlices);
            accumulator.Add(Halo.CropZ(intensity, window.SlabZ0, window.SlabZ1), window);
        }
        var tallies = accumulator.Result();
        Assert.Equal(variants.Select(v => v.Name), tallies.Select(t => t.Name));
        var distinct = new HashSet<long>();
        for (var i = 0; i < variants.Count; i++)
        {
            var whole = PhaseSegmentation.Segment(intensity, variants[i].Thresholds, Means);
            Assert.Equal(PhaseFractions.Count(whole), tallies[i].LabelCounts);
            Assert.Equal(ContactLoss.Count(whole), tallies[i].Contact);
            distinct.Add(tallies[i].LabelCounts[PhaseLabel.Void]);
        }
        // The variants really move voxels between phases.
        Assert.True(distinct.Count > 1);
    }

    [Theory]
    [InlineData(4, 7)]
    [InlineData(9, 13)]
    public void Tile_windows_in_any_order_give_the_whole_volumes_tallies(int slabSlices, int tile)
    {
        var intensity = Intensity(2, 21, 22, 26);
        ThresholdRange[] ranges = [new(9000, 10000, 11500), new(20000, 21500, 23000), new(35000, 36500, 38000)];
        var variants = SegmentationUncertainty.Variants(ranges);
        var halo = SegmentationVariantAccumulator.RequiredHaloSlices;
        var windows = new List<(SlabWindow Slab, TileWindow Tile)>();
        for (var z0 = 0; z0 < intensity.Depth; z0 += slabSlices)
            foreach (var t in TileGrid.Plan(intensity.Height, intensity.Width, tile, tile, halo))
                windows.Add((Halo.Expand(intensity.Depth, z0, Math.Min(intensity.Depth, z0 + slabSlices), halo), t));
        var accumulator = new SegmentationVariantAccumulator(variants, Means);
        foreach (var (slab, t) in windows.OrderBy(w => (w.Slab.OwnedZ0 * 31 + w.Tile.OwnedX0 * 7 + w.Tile.OwnedY0) % 11))
        {
            accumulator.Add(TileGrid.Crop(Halo.CropZ(intensity, slab.SlabZ0, slab.SlabZ1), t), slab, t);
        }
        var tallies = accumulator.Result();
        for (var i = 0; i < variants.Count; i++)
        {
            var whole = PhaseSegmentation.Segment(intensity, variants[i].Thresholds, Means);
            Assert.Equal(PhaseFractions.Count(whole), tallies[i].LabelCounts);
            Assert.Equal(ContactLoss.Count(whole), tallies[i].Contact);
        }
    }
}
