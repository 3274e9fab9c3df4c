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
}
