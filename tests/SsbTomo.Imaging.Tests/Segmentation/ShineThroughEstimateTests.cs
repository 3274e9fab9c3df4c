using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class ShineThroughEstimateTests
{
    private const double Void = 5000, Carbon = 15000, Lps = 28000, Nmc = 45000;
    private static readonly double[] Means = [Void, Carbon, Lps, Nmc];

    /// <summary>
    /// Columns along z: an NMC front wall, a pore of <paramref name="poreSlices"/> voxels, an LPS back wall. A pore voxel k
    /// slices in front of its back wall shows α_k = strength·exp(−(k−1)/decay) of the wall's contrast (the phantom's
    /// model, after Prill et al. 2013).
    /// </summary>
    private static Volume<ushort> PoreColumns(double strength, double decay, int poreSlices, int columns = 300)
    {
        var depth = poreSlices + 4;
        var volume = new Volume<ushort>(depth, 1, columns);
        for (var x = 0; x < columns; x++)
        {
            volume[0, 0, x] = (ushort)Nmc;
            volume[1, 0, x] = (ushort)Nmc;
            for (var z = 2; z < 2 + poreSlices; z++)
            {
                var k = 2 + poreSlices - z;
                volume[z, 0, x] = (ushort)Math.Round(Void + strength * Math.Exp(-(k - 1) / decay) * (Lps - Void));
            }
            volume[depth - 2, 0, x] = (ushort)Lps;
            volume[depth - 1, 0, x] = (ushort)Lps;
        }
        return volume;
    }

    private static long[] CountWhole(Volume<ushort> volume) =>
        ShineThroughEstimate.CountRuns(volume, new SlabWindow(0, volume.Depth, 0, volume.Depth), TileWindow.Whole(volume.Height, volume.Width), Means);

    [Fact]
    public void Pores_without_shine_through_give_no_excess()
    {
        var estimate = ShineThroughEstimate.Estimate(CountWhole(PoreColumns(0, 3, 10)));
        Assert.Equal(0, estimate.Excess);
        // A 10-voxel run pairs distinct front and back voxels up to distance 4.
        Assert.Equal([300, 300, 300, 300, 300, 0], estimate.RunsPerDistance);
        Assert.All(estimate.MedianPerDistance.Take(5), median => Assert.Equal(0, median, 1e-12));
    }

    [Theory]
    [InlineData(0.2, 2.0)]
    [InlineData(0.35, 5.0)]
    public void The_excess_is_the_shine_through_next_to_the_back_wall_minus_what_the_front_shows(double strength, double decay)
    {
        const int poreSlices = 10;
        var estimate = ShineThroughEstimate.Estimate(CountWhole(PoreColumns(strength, decay, poreSlices)));
        // Distance 0: the back voxel shows α_1 = strength, the front voxel α_10; both as a share of the LPS wall's contrast,
        // the front one measured against the NMC wall: (α_10·(LPS − void)) / (NMC − void).
        var expected = strength - strength * Math.Exp(-(poreSlices - 1) / decay) * (Lps - Void) / (Nmc - Void);
        Assert.InRange(estimate.MedianPerDistance[0], expected - 0.011, expected + 0.011);
        Assert.InRange(estimate.Excess, expected - 0.011, expected + 0.011);
        // The correction acts on what the midpoint rule does not already recover.
        Assert.Equal(Math.Max(0, estimate.Excess - ShineThroughEstimate.RecoveredByMidpoint), estimate.Correction, 1e-12);
    }

    [Fact]
    public void Shine_through_is_detected_from_the_floor_up()
    {
        Assert.False(ShineThroughEstimate.Estimate(CountWhole(PoreColumns(0, 3, 10))).Detected);
        Assert.True(ShineThroughEstimate.Estimate(CountWhole(PoreColumns(0.35, 5.0, 10))).Detected);
        Assert.False(new ShineThroughExcess(ShineThroughEstimate.DetectionFloor - 1e-9, 0, [], []).Detected);
        Assert.True(new ShineThroughExcess(ShineThroughEstimate.DetectionFloor, 0, [], []).Detected);
    }

    [Fact]
    public void A_run_without_a_dark_voxel_is_not_a_pore()
    {
        // A carbon fibre between two electrolyte voxels: below the solid level, never dark.
        var volume = new Volume<ushort>(6, 1, 300);
        for (var x = 0; x < 300; x++)
        {
            foreach (var z in new[] { 0, 1, 4, 5 }) volume[z, 0, x] = (ushort)Lps;
            volume[2, 0, x] = (ushort)Carbon;
            volume[3, 0, x] = (ushort)(Carbon + 3000);
        }
        Assert.All(CountWhole(volume), count => Assert.Equal(0, count));
    }

    [Fact]
    public void Too_few_runs_leave_the_excess_at_zero()
    {
        var estimate = ShineThroughEstimate.Estimate(CountWhole(PoreColumns(0.3, 3, 8, columns: 50)));
        Assert.Equal(0, estimate.Excess);
        Assert.True(estimate.MedianPerDistance[0] > 0.2);
    }

    [Theory]
    [InlineData(5, 64)]
    [InlineData(8, 9)]
    [InlineData(16, 30)]
    public void Slab_and_tile_windows_with_the_halo_count_every_run_once(int slabSlices, int tile)
    {
        // Random pores of random depth in a random solid, with shine-through: the counts must not depend on the chunking.
        var random = new Random(11);
        var volume = new Volume<ushort>(41, 23, 37);
        for (var y = 0; y < volume.Height; y++)
            for (var x = 0; x < volume.Width; x++)
            {
                var z = 0;
                while (z < volume.Depth)
                {
                    var solid = random.Next(1, 6);
                    var wall = random.Next(2) == 0 ? Lps : Nmc;
                    for (var i = 0; i < solid && z < volume.Depth; i++, z++) volume[z, y, x] = (ushort)(wall + 500 * random.NextGaussian());
                    var pore = random.Next(1, 15);
                    for (var i = 0; i < pore && z < volume.Depth; i++, z++)
                        volume[z, y, x] = (ushort)(Void + 0.3 * Math.Exp(-(pore - i - 1) / 3.0) * (wall - Void) + 500 * random.NextGaussian());
                }
            }
        var whole = CountWhole(volume);
        Assert.True(whole.Sum() > 1000, "the test volume must have pore runs");

        var pieces = new long[whole.Length];
        for (var z0 = 0; z0 < volume.Depth; z0 += slabSlices)
        {
            var window = Halo.Expand(volume.Depth, z0, Math.Min(volume.Depth, z0 + slabSlices), ShineThroughEstimate.RequiredHaloSlices);
            var slab = Halo.CropZ(volume, window.SlabZ0, window.SlabZ1);
            foreach (var t in TileGrid.Plan(volume.Height, volume.Width, tile, tile, ShineThroughEstimate.RequiredHaloSlices))
            {
                var counts = ShineThroughEstimate.CountRuns(TileGrid.Crop(slab, t), window, t, Means);
                for (var i = 0; i < counts.Length; i++) pieces[i] += counts[i];
            }
        }
        Assert.Equal(whole, pieces);
    }

    [Fact]
    public void Isotropic_blurred_pores_without_shine_through_measure_near_zero_and_with_it_clearly_above()
    {
        // Spherical pores in an LPS/NMC block matrix under a symmetric 3D blur: any front/back asymmetry comes from shine-through only.
        static Volume<ushort> Render(double strength)
        {
            var random = new Random(5);
            var (depth, height, width) = (48, 64, 64);
            var phase = new byte[depth * height * width]; // 0 void, 1 LPS, 2 NMC
            for (var z = 0; z < depth; z++)
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                        phase[(z * height + y) * width + x] = (byte)(((z / 12) + (y / 16) + (x / 16)) % 2 + 1);
            for (var p = 0; p < 60; p++)
            {
                var (cz, cy, cx, r) = (random.NextDouble() * depth, random.NextDouble() * height, random.NextDouble() * width, 2 + 3 * random.NextDouble());
                for (var z = 0; z < depth; z++)
                    for (var y = 0; y < height; y++)
                        for (var x = 0; x < width; x++)
                            if ((z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) phase[(z * height + y) * width + x] = 0;
            }
            var grey = new Volume<ushort>(depth, height, width);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    for (var z = 0; z < depth; z++)
                    {
                        var i = (z * height + y) * width + x;
                        if (phase[i] != 0)
                        {
                            grey.Data[i] = (ushort)(phase[i] == 1 ? Lps : Nmc);
                            continue;
                        }
                        var k = 1;
                        while (z + k < depth && phase[((z + k) * height + y) * width + x] == 0) k++;
                        var wall = z + k < depth ? (phase[((z + k) * height + y) * width + x] == 1 ? Lps : Nmc) : Void;
                        grey.Data[i] = (ushort)(Void + strength * Math.Exp(-(k - 1) / 3.0) * (wall - Void));
                    }
            var blurred = Denoise.Gaussian(grey, 1.0);
            return new Volume<ushort>(depth, height, width, Array.ConvertAll(blurred.Data, v => (ushort)Math.Round(v)));
        }

        var none = ShineThroughEstimate.Estimate(CountWhole(Render(0)));
        var strong = ShineThroughEstimate.Estimate(CountWhole(Render(0.45)));
        Assert.True(none.RunsPerDistance[0] >= ShineThroughEstimate.MinimumRuns, $"{none.RunsPerDistance[0]} runs");
        Assert.InRange(none.Excess, 0, 0.02);
        Assert.Equal(0, none.Correction);
        Assert.InRange(strong.Excess, 0.1, ShineThroughEstimate.MaximumExcess);
    }
}
