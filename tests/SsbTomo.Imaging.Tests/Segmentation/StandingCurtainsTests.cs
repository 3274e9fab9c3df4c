using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;
using Xunit;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class StandingCurtainsTests
{
    // Grey levels of void, carbon, electrolyte and NMC, 8-bit-like, with thresholds at the midpoints.
    private static readonly double[] Means = [40, 80, 120, 160];
    private static readonly double[] Thresholds = [60, 100, 140];

    /// <summary>
    /// Electrolyte with NMC spheres and carbon blobs that move from slice to slice, denoised-like noise, and curtain
    /// stripes fixed in x over every slice and phase: a narrow bright one, a wide one as deep as the class gap is wide
    /// (most of the electrolyte under it falls into the carbon band, the NMC into the electrolyte's) and a shallow one,
    /// never more than half of <see cref="StandingCurtains.TrendWindow"/> columns striped.
    /// </summary>
    private static (Volume<ushort> Volume, float[] Stripes) Striped(int depth = 24, int height = 96, int width = 128, int seed = 3)
    {
        var random = new Random(seed);
        var stripes = new float[width];
        for (var x = 20; x < 24; x++) stripes[x] = 12;
        for (var x = 50; x < 74; x++) stripes[x] = -27;
        for (var x = 110; x < 120; x++) stripes[x] = -8;
        var volume = new Volume<ushort>(depth, height, width);
        var spheres = Enumerable.Range(0, 40).Select(_ => (Z: random.NextDouble() * depth, Y: random.NextDouble() * height,
            X: random.NextDouble() * width, R: 5 + 7 * random.NextDouble(), Carbon: random.NextDouble() < 0.2)).ToArray();
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var grey = Means[2];
                    foreach (var s in spheres)
                        if ((z - s.Z) * (z - s.Z) + (y - s.Y) * (y - s.Y) + (x - s.X) * (x - s.X) < s.R * s.R)
                            grey = s.Carbon ? Means[1] : Means[3];
                    var noise = 3 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                    volume.Data[((long)z * height + y) * width + x] = (ushort)Math.Clamp(Math.Round(grey + stripes[x] + noise), 0, 65535);
                }
        return (volume, stripes);
    }

    private static float[] OffsetsOfWhole(Volume<ushort> volume, int rowBlock)
    {
        var sums = StandingCurtains.Measure(volume, new SlabWindow(0, volume.Depth, 0, volume.Depth), TileWindow.Whole(volume.Height, volume.Width),
            volume.Height, volume.Width, rowBlock);
        return StandingCurtains.Offsets(sums) ?? throw new InvalidOperationException("no offsets");
    }

    [Fact]
    public void Stripes_standing_in_every_slice_are_measured_to_a_grey_level_including_one_as_deep_as_a_class_gap()
    {
        var (volume, stripes) = Striped();
        var offsets = OffsetsOfWhole(volume, rowBlock: 32);
        // Under the -27 stripe the electrolyte (120) reads 93, in carbon's band, and the NMC (160) 133, in the electrolyte's.
        // What is left is the steps' bias from the spheres' edges, added up along x (a 40-level contrast's 5 % at most).
        for (var x = 0; x < volume.Width; x++)
            Assert.True(Math.Abs(offsets[x] - stripes[x]) <= 2, $"column {x}: offset {offsets[x]:0.0}, stripe {stripes[x]}");
    }

    [Theory]
    [InlineData(5, 32, 40, 32)]
    [InlineData(7, 96, 128, 96)]
    [InlineData(24, 32, 64, 32)]
    public void Sums_are_the_same_for_any_slabs_and_tiles_of_whole_row_blocks(int slabSlices, int tileHeight, int tileWidth, int rowBlock)
    {
        var (volume, _) = Striped(depth: 14);
        var whole = StandingCurtains.Measure(volume, new SlabWindow(0, volume.Depth, 0, volume.Depth), TileWindow.Whole(volume.Height, volume.Width),
            volume.Height, volume.Width, rowBlock);
        Assert.True(whole.Sums.Any(m => m != 0), "the test volume must have steps");

        var pieces = ColumnStepSums.Empty(volume.Width);
        for (var z0 = 0; z0 < volume.Depth; z0 += slabSlices)
        {
            var slab = Halo.Expand(volume.Depth, z0, Math.Min(volume.Depth, z0 + slabSlices), 0);
            var slabVolume = Halo.CropZ(volume, slab.SlabZ0, slab.SlabZ1);
            foreach (var tile in TileGrid.Plan(volume.Height, volume.Width, tileHeight, tileWidth, StandingCurtains.RequiredHaloPixels))
                pieces.Add(StandingCurtains.Measure(TileGrid.Crop(slabVolume, tile), slab, tile, volume.Height, volume.Width, rowBlock, maxThreads: 1));
        }
        Assert.Equal(whole.Kept, pieces.Kept);
        Assert.Equal(whole.Sums, pieces.Sums);
    }

    [Fact]
    public void A_window_without_the_right_column_or_with_rows_across_blocks_is_refused()
    {
        var (volume, _) = Striped(depth: 2);
        var slab = new SlabWindow(0, 2, 0, 2);
        var noHalo = new TileWindow(0, volume.Height, 0, 64, 0, volume.Height, 0, 64);
        Assert.Throws<ArgumentException>(() => StandingCurtains.Measure(TileGrid.Crop(volume, noHalo), slab, noHalo, volume.Height, volume.Width, 32));
        var acrossBlocks = new TileWindow(16, 64, 0, volume.Width, 16, 64, 0, volume.Width);
        Assert.Throws<ArgumentException>(() => StandingCurtains.Measure(TileGrid.Crop(volume, acrossBlocks), slab, acrossBlocks, volume.Height, volume.Width, 32));
    }

    [Fact]
    public void Offsets_are_the_running_sum_of_the_steps_less_its_median_and_a_pair_without_rows_steps_by_nothing()
    {
        const long n = 100;
        // Steps between columns 0|1 .. 6|7 (the last column has no pair): down 10 at 2|3, up 10 at 4|5, pair 5|6 unmeasured.
        long[] rows = [n, n, n, n, n, 0, n, 0];
        long[] steps = [0, 0, -10, 0, 10, 7, 0, 0];
        var offsets = StandingCurtains.Offsets(new ColumnStepSums(rows, [.. rows.Select((r, x) => r * steps[x])]));
        Assert.NotNull(offsets);
        Assert.Equal([0f, 0f, 0f, -10f, -10f, 0f, 0f, 0f], offsets);
    }

    [Fact]
    public void A_stripe_wider_than_half_the_trend_window_is_background()
    {
        const int width = 1200;
        var rows = Enumerable.Repeat(100L, width).ToArray();
        var sums = new long[width];
        // A 20-column stripe at 100 and a 600-column plateau from 600 to the edge.
        (sums[99], sums[119], sums[599]) = (100 * -12, 100 * 12, 100 * -12);
        var offsets = StandingCurtains.Offsets(new ColumnStepSums(rows, sums))!;
        Assert.All(Enumerable.Range(100, 20), x => Assert.Equal(-12f, offsets[x]));
        Assert.Equal(0f, offsets[50]);
        Assert.Equal(0f, offsets[900]);
    }

    [Fact]
    public void An_image_without_column_pairs_has_no_correction()
    {
        Assert.Null(StandingCurtains.Offsets(new ColumnStepSums([0], [0])));
        Assert.Null(StandingCurtains.Offsets(ColumnStepSums.Empty(8)));
    }

    [Fact]
    public void Subtracting_the_measured_offsets_flattens_the_electrolyte_and_restores_the_particles_under_the_deep_stripe()
    {
        var (volume, _) = Striped();
        var offsets = OffsetsOfWhole(volume, rowBlock: 96);
        var intensity = volume.ToFloat();
        var before = PhaseClassifier.Classify(intensity, Thresholds, PhaseClassifier.BseDarkToBright);
        StandingCurtains.Subtract(intensity, 0, offsets);
        var after = PhaseClassifier.Classify(intensity, Thresholds, PhaseClassifier.BseDarkToBright);
        var truth = PhaseClassifier.Classify(Unstriped(), Thresholds, PhaseClassifier.BseDarkToBright);
        Assert.True(Agreement(after, truth) > 0.99, $"after: {Agreement(after, truth):0.000}");
        Assert.True(Agreement(before, truth) < 0.85, $"before: {Agreement(before, truth):0.000}");

        static double Agreement(Volume<byte> a, Volume<byte> b) => (double)a.Data.Zip(b.Data).Count(p => p.First == p.Second) / a.Length;

        // The same draw without its stripes (same seed, so the same spheres and noise).
        static Volume<float> Unstriped()
        {
            var (striped, stripes) = Striped();
            var result = striped.ToFloat();
            for (var i = 0L; i < result.Length; i++) result.Data[i] -= stripes[(int)(i % result.Width)];
            return result;
        }
    }

    [Fact]
    public void Subtract_uses_the_offsets_of_the_window_columns()
    {
        var window = new Volume<float>(2, 2, 3);
        Array.Fill(window.Data, 10f);
        StandingCurtains.Subtract(window, 2, [0, 0, 1, 2, 3, 9]);
        Assert.Equal([9f, 8f, 7f, 9f, 8f, 7f, 9f, 8f, 7f, 9f, 8f, 7f], window.Data);
        Assert.Throws<ArgumentException>(() => StandingCurtains.Subtract(window, 4, [0, 0, 1, 2, 3, 9]));
    }

    /// <summary>
    /// The vectorised count of the differences near the noise peak keeps exactly the values that |d − centre| ≤ limit in
    /// doubles keeps, and sums them, for centres that are integers, half-integers and arbitrary doubles (the mean shift's
    /// sum / kept), limits whose ends fall on integers, and lengths with and without a scalar tail.
    /// </summary>
    [Fact]
    public void Values_near_the_noise_peak_are_those_the_plain_test_keeps()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 400; trial++)
        {
            var values = new int[random.Next(0, 700)];
            var spread = trial % 3 == 0 ? 65535 : 40;
            for (var i = 0; i < values.Length; i++) values[i] = random.Next(-spread, spread + 1);
            var centre = (trial % 4) switch
            {
                0 => random.Next(-30, 31),
                1 => random.Next(-30, 31) + 0.5,
                2 => (double)random.Next(-100000, 100000) / random.Next(1, 997),
                _ => values.Length > 0 ? values[0] : 0,
            };
            var limit = trial % 5 == 0 ? Math.Max(1, Math.Abs(centre - Math.Round(centre)) + random.Next(1, 20)) : 1 + 30 * random.NextDouble();
            long kept = 0, sum = 0;
            foreach (var d in values)
                if (Math.Abs(d - centre) <= limit) (kept, sum) = (kept + 1, sum + d);
            Assert.Equal((kept, sum), StandingCurtains.KeptWithin(values, centre, limit));
        }
        Assert.Equal((3L, 0L), StandingCurtains.KeptWithin([-1, 0, 1, 2, -2], 0, 1));
        Assert.Equal((2L, 3L), StandingCurtains.KeptWithin([1, 2, 3, 0], 1.5, 0.5));
        Assert.Equal((0L, 0L), StandingCurtains.KeptWithin([5, 6], 0, 1));
    }
}
