using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Measurement;

public class PhaseFractionBootstrapTests
{
    private static FractionIntervals Intervals(Volume<byte> v, int slabSlices, int blocksPerAxis = 4)
    {
        var bootstrap = new PhaseFractionBootstrap(v.Depth, v.Height, v.Width, blocksPerAxis);
        for (var z0 = 0; z0 < v.Depth; z0 += slabSlices) bootstrap.Add(Halo.CropZ(v, z0, Math.Min(v.Depth, z0 + slabSlices)));
        return bootstrap.Result();
    }

    [Fact]
    public void Independent_voxels_give_the_binomial_interval_width()
    {
        var random = new Random(3);
        var v = new Volume<byte>(40, 40, 40);
        for (var i = 0; i < v.Data.Length; i++) v.Data[i] = random.NextDouble() < 0.3 ? PhaseLabel.Nmc : PhaseLabel.Lps;
        var p = v.Data.Count(l => l == PhaseLabel.Nmc) / (double)v.Data.Length;
        var interval = Intervals(v, 40).Intervals[PhaseLabel.Nmc];
        var binomialWidth = 2 * 1.96 * Math.Sqrt(p * (1 - p) / v.Data.Length);
        Assert.InRange(interval[1] - interval[0], 0.75 * binomialWidth, 1.25 * binomialWidth);
        Assert.InRange(p, interval[0], interval[1]);
    }

    [Fact]
    public void Blocks_keep_spatial_correlation_so_block_sized_features_widen_the_interval()
    {
        // Each 10^3 block is all NMC or all LPS: 64 independent draws, not 64000.
        var random = new Random(5);
        var v = new Volume<byte>(40, 40, 40);
        var nmcBlocks = 0;
        for (var bz = 0; bz < 4; bz++)
            for (var by = 0; by < 4; by++)
                for (var bx = 0; bx < 4; bx++)
                {
                    var phase = random.NextDouble() < 0.3 ? PhaseLabel.Nmc : PhaseLabel.Lps;
                    if (phase == PhaseLabel.Nmc) nmcBlocks++;
                    for (var z = 0; z < 10; z++)
                        for (var y = 0; y < 10; y++)
                            for (var x = 0; x < 10; x++)
                                v[bz * 10 + z, by * 10 + y, bx * 10 + x] = phase;
                }
        var p = nmcBlocks / 64.0;
        var interval = Intervals(v, 7).Intervals[PhaseLabel.Nmc];
        var blockWidth = 2 * 1.96 * Math.Sqrt(p * (1 - p) / 64);
        Assert.InRange(interval[1] - interval[0], 0.75 * blockWidth, 1.25 * blockWidth);
        Assert.InRange(p, interval[0], interval[1]);
    }

    [Fact]
    public void Slab_streaming_gives_the_same_intervals_and_outside_voxels_do_not_count()
    {
        var random = new Random(8);
        var v = new Volume<byte>(23, 17, 19);
        for (var i = 0; i < v.Data.Length; i++) v.Data[i] = (byte)random.Next(0, 5);
        var whole = Intervals(v, v.Depth, 3);
        foreach (var slab in new[] { 1, 3, 7 })
        {
            var streamed = Intervals(v, slab, 3);
            Assert.Equal(whole.BlocksZyx, streamed.BlocksZyx);
            for (var p = 1; p < PhaseLabel.Count; p++) Assert.Equal(whole.Intervals[p], streamed.Intervals[p]);
        }
        var fractions = PhaseFractions.FromCounts(PhaseFractions.Count(v));
        Assert.InRange(fractions.Void, whole.Intervals[PhaseLabel.Void][0], whole.Intervals[PhaseLabel.Void][1]);
        Assert.Equal([3, 3, 3], whole.BlocksZyx);
    }

    [Theory]
    [InlineData(9, 7, 13, 4)]
    [InlineData(5, 3, 2, 4)]
    [InlineData(6, 11, 37, 3)]
    public void Counts_runs_of_columns_as_the_voxel_by_voxel_rule_does(int depth, int height, int width, int blocksPerAxis)
    {
        // Uneven blocks (13 columns in 4 blocks), axes shorter than the grid, every label and the Outside label.
        var random = new Random(depth * 1000 + width);
        var v = new Volume<byte>(depth, height, width);
        for (var i = 0; i < v.Data.Length; i++) v.Data[i] = (byte)random.Next(PhaseLabel.Count);
        var actual = Intervals(v, 2, blocksPerAxis);

        // The reference: each voxel into its block by BlockOf along every axis, then the same draws as Result.
        int[] blocks = [Math.Min(blocksPerAxis, depth), Math.Min(blocksPerAxis, height), Math.Min(blocksPerAxis, width)];
        var counts = new long[blocks[0] * blocks[1] * blocks[2], PhaseLabel.Count];
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var block = ((z * blocks[0] / depth) * blocks[1] + y * blocks[1] / height) * blocks[2] + x * blocks[2] / width;
                    counts[block, v[z, y, x]]++;
                }
        var random2 = new Random(0);
        var draws = new double[PhaseLabel.Count][];
        for (var p = 1; p < PhaseLabel.Count; p++) draws[p] = new double[2000];
        for (var r = 0; r < 2000; r++)
        {
            var sum = new long[PhaseLabel.Count];
            for (var k = 0; k < counts.GetLength(0); k++)
            {
                var b = random2.Next(counts.GetLength(0));
                for (var p = 1; p < PhaseLabel.Count; p++) sum[p] += counts[b, p];
            }
            var valid = sum[1] + sum[2] + sum[3] + sum[4];
            for (var p = 1; p < PhaseLabel.Count; p++) draws[p][r] = (double)sum[p] / valid;
        }
        for (var p = 1; p < PhaseLabel.Count; p++)
        {
            var sorted = draws[p].Order().ToArray();
            Assert.Equal(sorted[(int)Math.Floor(0.025 * 1999)] + (0.025 * 1999 % 1) * (sorted[(int)Math.Floor(0.025 * 1999) + 1] - sorted[(int)Math.Floor(0.025 * 1999)]),
                actual.Intervals[p][0], 12);
            Assert.Equal(sorted[(int)Math.Floor(0.975 * 1999)] + (0.975 * 1999 % 1) * (sorted[(int)Math.Floor(0.975 * 1999) + 1] - sorted[(int)Math.Floor(0.975 * 1999)]),
                actual.Intervals[p][1], 12);
        }
    }

    [Fact]
    public void A_label_that_is_no_phase_is_refused_with_its_value()
    {
        var v = new Volume<byte>(2, 3, 9);
        Array.Fill(v.Data, PhaseLabel.Lps);
        v[1, 2, 7] = 9;
        var bootstrap = new PhaseFractionBootstrap(2, 3, 9);
        var error = Assert.Throws<ArgumentException>(() => bootstrap.Add(v));
        Assert.Contains("labels contain 9", error.Message);
    }
}
