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
}
