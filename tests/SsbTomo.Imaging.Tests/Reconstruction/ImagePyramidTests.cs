using SsbTomo.Imaging.Reconstruction;

namespace SsbTomo.Imaging.Tests.Reconstruction;

public class ImagePyramidTests
{
    [Theory]
    [InlineData(64, 192, 224, 1)]
    [InlineData(256, 256, 256, 1)]
    [InlineData(256, 512, 512, 2)]
    [InlineData(24, 160, 300, 2)]
    [InlineData(16, 3072, 4096, 5)] // 4096 → 2048 → 1024 → 512 → 256
    [InlineData(1000, 100, 100, 3)] // z counts too: 1000 → 500 → 250
    public void Levels_halve_until_no_side_exceeds_256(int depth, int height, int width, int expected)
    {
        Assert.Equal(expected, ImagePyramid.LevelCount(depth, height, width));
    }

    [Fact]
    public void Block_means_round_half_up_and_an_edge_block_averages_the_voxels_it_has()
    {
        // 2 x 2 x 3: one full block of eight and an edge block of two x columns (four voxels).
        var image = new Volume<ushort>(2, 2, 3, [
            1, 2, 10,
            3, 4, 11,
            5, 6, 12,
            7, 9, 14]);
        var mean = ImagePyramid.DownsampleMean(image);
        Assert.Equal((1, 1, 2), (mean.Depth, mean.Height, mean.Width));
        Assert.Equal(5, mean[0, 0, 0]); // 37 / 8 = 4.625
        Assert.Equal(12, mean[0, 0, 1]); // 47 / 4 = 11.75
        Assert.Equal(3, ImagePyramid.DownsampleMean(new Volume<ushort>(1, 1, 2, [2, 3]))[0, 0, 0]); // 2.5 rounds up
        Assert.Equal(ushort.MaxValue, ImagePyramid.DownsampleMean(new Volume<ushort>(2, 2, 2, [.. Enumerable.Repeat(ushort.MaxValue, 8)]))[0, 0, 0]);
    }

    [Theory]
    [InlineData(4, 6, 8)]
    [InlineData(5, 7, 9)]   // odd: edge blocks on every axis
    [InlineData(3, 2, 11)]
    public void Every_block_mean_is_its_voxels_sum_over_their_count_rounded_half_up(int depth, int height, int width)
    {
        var random = new Random(depth * 100 + height * 10 + width);
        var image = new Volume<ushort>(depth, height, width);
        for (var i = 0; i < image.Data.Length; i++) image.Data[i] = (ushort)random.Next(65536);
        var mean = ImagePyramid.DownsampleMean(image);
        for (var z = 0; z < mean.Depth; z++)
            for (var y = 0; y < mean.Height; y++)
                for (var x = 0; x < mean.Width; x++)
                {
                    var voxels = new List<long>();
                    for (var sz = 2 * z; sz < Math.Min(depth, 2 * z + 2); sz++)
                        for (var sy = 2 * y; sy < Math.Min(height, 2 * y + 2); sy++)
                            for (var sx = 2 * x; sx < Math.Min(width, 2 * x + 2); sx++) voxels.Add(image[sz, sy, sx]);
                    Assert.Equal((ushort)Math.Floor((double)voxels.Sum() / voxels.Count + 0.5), mean[z, y, x]);
                }
    }
}
