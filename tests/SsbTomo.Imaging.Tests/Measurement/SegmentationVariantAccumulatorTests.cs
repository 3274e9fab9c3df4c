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

    [Theory]
    [InlineData(4, 7)]
    [InlineData(23, 26)]
    public void Sampled_blocks_give_the_whole_volumes_counts_on_those_blocks_in_any_window_order(int slabSlices, int tile)
    {
        var intensity = Intensity(3, 21, 22, 26);
        ThresholdRange[] ranges = [new(9000, 10000, 11500), new(20000, 21500, 23000), new(35000, 36500, 38000)];
        double[] reported = [10000, 21500, 36500];
        var variants = SegmentationUncertainty.Variants(ranges);
        // Blocks of 5 x 3 x 4 voxels, one in three: they cut across the slabs and the tiles.
        var sample = new VariantBlockSample(Every: 3, intensity.Height, intensity.Width, BlockSlices: 5, BlockRows: 3, BlockColumns: 4);
        var halo = SegmentationVariantAccumulator.RequiredHaloSlices;
        var windows = new List<(SlabWindow Slab, TileWindow Tile)>();
        for (var z0 = 0; z0 < intensity.Depth; z0 += slabSlices)
            foreach (var t in TileGrid.Plan(intensity.Height, intensity.Width, tile, tile, halo))
                windows.Add((Halo.Expand(intensity.Depth, z0, Math.Min(intensity.Depth, z0 + slabSlices), halo), t));
        var accumulator = new SegmentationVariantAccumulator(variants, Means, sample: sample, reportedThresholds: reported);
        foreach (var (slab, t) in windows.OrderBy(w => (w.Slab.OwnedZ0 * 17 + w.Tile.OwnedX0 * 5 + w.Tile.OwnedY0 * 3) % 7))
            accumulator.Add(TileGrid.Crop(Halo.CropZ(intensity, slab.SlabZ0, slab.SlabZ1), t), slab, t);
        var tallies = accumulator.Result();

        Assert.Equal([.. variants.Select(v => v.Name), VariantBlockSample.SampledBaseName], tallies.Select(t => t.Name));
        var blocks = sample.Blocks(0, intensity.Depth, 0, intensity.Height, 0, intensity.Width).ToList();
        // 5 x 8 x 7 blocks numbered in raster order, every third: the first ones step across the columns and down the rows.
        Assert.Equal([(0, 5, 0, 3, 0, 4), (0, 5, 0, 3, 12, 16), (0, 5, 0, 3, 24, 26), (0, 5, 3, 6, 8, 12)], blocks.Take(4));
        Assert.Equal((5 * 8 * 7 + 2) / 3, blocks.Count);
        var thresholds = variants.Select(v => v.Thresholds).Append(reported).ToList();
        for (var i = 0; i < thresholds.Count; i++)
        {
            var whole = PhaseSegmentation.Segment(intensity, thresholds[i], Means);
            var counts = new long[PhaseLabel.Count];
            var faces = default(ContactFaces);
            foreach (var (z0, z1, y0, y1, x0, x1) in blocks)
            {
                var block = TileGrid.Crop(Halo.CropZ(whole, z0, z1), new TileWindow(y0, y1, x0, x1, y0, y1, x0, x1));
                var blockCounts = PhaseFractions.Count(block);
                for (var k = 0; k < counts.Length; k++) counts[k] += blockCounts[k];
                faces += ContactLoss.CountFrom(whole, z0, z1, y0, y1, x0, x1);
            }
            Assert.Equal(counts, tallies[i].LabelCounts);
            Assert.Equal(faces, tallies[i].Contact);
        }
    }

    [Fact]
    public void A_sampled_variant_is_the_whole_volume_plus_its_scaled_difference_on_the_sampled_rows()
    {
        // 1000 voxels in all, 250 sampled: the variant has 10 more void and 10 fewer LPS voxels and 4 more NMC|void faces there.
        VariantTally[] sampled =
        [
            new("0+", [0, 0, 0], [0, 50, 100, 40, 60], new ContactFaces(80, 14)),
            new(VariantBlockSample.SampledBaseName, [0, 0, 0], [0, 50, 110, 40, 50], new ContactFaces(80, 10)),
        ];
        long[] whole = [0, 200, 440, 160, 200];

        var estimated = Assert.Single(VariantBlockSample.Estimate(sampled, whole, new ContactFaces(320, 40)));

        Assert.Equal("0+", estimated.Name);
        Assert.Equal([0, 200, 400, 160, 240], estimated.LabelCounts);
        Assert.Equal(new ContactFaces(320, 56), estimated.Contact);
        Assert.Throws<ArgumentException>(() => VariantBlockSample.Estimate(sampled[..1], whole, default));
    }

    [Fact]
    public void Only_large_stacks_are_sampled()
    {
        Assert.True(VariantBlockSample.For(1, 1, (int)VariantBlockSample.SampleFromVoxels - 1).IsAllVoxels);
        Assert.Equal(1, VariantBlockSample.For(10, 100, 100).VoxelShare(10));
        Assert.False(VariantBlockSample.For(50, 1000, 1000).IsAllVoxels);
    }

    [Theory]
    [InlineData(64, 1024, 1024, 3)]     // 67 Mvoxel: 4 shares a factor with the 16 rows of blocks
    [InlineData(20, 3072, 4096, 13)]    // 252 Mvoxel
    [InlineData(320, 1536, 2048, 61)]   // 1 Gvoxel: 16 Mvoxel counted instead of the bands' 63
    [InlineData(2000, 3072, 4096, 1571)] // 25 Gvoxel: the bands' sparsest sample counted 1.6 Gvoxel
    public void Larger_stacks_count_fewer_blocks_spread_over_every_column_and_row(int depth, int height, int width, int every)
    {
        var sample = VariantBlockSample.For(depth, height, width);
        Assert.Equal(every, sample.Every);
        var voxels = (long)depth * height * width;
        var counted = sample.VoxelShare(depth) * voxels;
        Assert.InRange(counted, 0.9 * VariantBlockSample.TargetSampledVoxels, 2.0 * VariantBlockSample.TargetSampledVoxels);
        var blocks = sample.Blocks(0, depth, 0, height, 0, width).ToList();
        // Every column of blocks and most rows of blocks hold a counted block, and so do most slabs of 32 slices.
        Assert.Equal((width + 511) / 512, blocks.Select(b => b.X0).Distinct().Count());
        Assert.True(blocks.Select(b => b.Y0).Distinct().Count() >= Math.Min(blocks.Count, (height + 63) / 64) / 2);
        Assert.True(blocks.Select(b => b.Z0).Distinct().Count() >= Math.Min(blocks.Count, (depth + 31) / 32) / 2);
    }
}
