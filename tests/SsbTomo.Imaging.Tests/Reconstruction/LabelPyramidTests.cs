using SsbTomo.Imaging.Reconstruction;

namespace SsbTomo.Imaging.Tests.Reconstruction;

public class LabelPyramidTests
{
    [Fact]
    public void Mode_of_each_block_wins_and_ties_go_to_the_smaller_label()
    {
        var labels = new Volume<byte>(2, 2, 4);
        // block x0: 5 of label 2, 3 of label 1 -> 2; block x1: 4 of 3 and 4 of 4 -> tie -> 3
        byte[] block0 = [2, 2, 2, 2, 2, 1, 1, 1];
        byte[] block1 = [3, 3, 3, 3, 4, 4, 4, 4];
        var i = 0;
        for (var z = 0; z < 2; z++)
            for (var y = 0; y < 2; y++)
                for (var x = 0; x < 2; x++, i++)
                {
                    labels[z, y, x] = block0[i];
                    labels[z, y, x + 2] = block1[i];
                }
        var down = LabelPyramid.DownsampleMode(labels);
        Assert.Equal((1, 1, 2), (down.Depth, down.Height, down.Width));
        Assert.Equal(2, down[0, 0, 0]);
        Assert.Equal(3, down[0, 0, 1]);
    }

    [Fact]
    public void Odd_sizes_round_up_and_partial_blocks_vote_with_what_they_have()
    {
        var labels = new Volume<byte>(3, 3, 3);
        labels[2, 2, 2] = 4;
        var down = LabelPyramid.DownsampleMode(labels);
        Assert.Equal((2, 2, 2), (down.Depth, down.Height, down.Width));
        Assert.Equal(4, down[1, 1, 1]);
        Assert.Equal(0, down[0, 0, 0]);
    }

    [Theory]
    [InlineData(6, 8, 10, 2)]   // even sizes, two labels: many 4–4 ties
    [InlineData(5, 7, 9, 3)]    // odd sizes: partial blocks of 1, 2 and 4 voxels
    [InlineData(7, 5, 11, 5)]
    [InlineData(3, 9, 4, 255)]  // labels up to 254
    [InlineData(5, 6, 7, 1)]    // one label: every whole block the same
    public void Every_block_gets_the_most_frequent_label_ties_to_the_smaller_as_a_count_of_every_value(int depth, int height, int width, int labelCount)
    {
        var random = new Random(depth * 1000 + height * 10 + width);
        var labels = new Volume<byte>(depth, height, width);
        for (var i = 0; i < labels.Data.Length; i++) labels.Data[i] = (byte)random.Next(labelCount);
        var down = LabelPyramid.DownsampleMode(labels);
        for (var z = 0; z < down.Depth; z++)
            for (var y = 0; y < down.Height; y++)
                for (var x = 0; x < down.Width; x++)
                {
                    var votes = new int[256];
                    for (var sz = 2 * z; sz < Math.Min(depth, 2 * z + 2); sz++)
                        for (var sy = 2 * y; sy < Math.Min(height, 2 * y + 2); sy++)
                            for (var sx = 2 * x; sx < Math.Min(width, 2 * x + 2); sx++) votes[labels[sz, sy, sx]]++;
                    Assert.Equal(Array.IndexOf(votes, votes.Max()), down[z, y, x]);
                }
    }
}
