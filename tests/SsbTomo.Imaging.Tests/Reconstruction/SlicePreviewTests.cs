using SsbTomo.Imaging.Reconstruction;

namespace SsbTomo.Imaging.Tests.Reconstruction;

public class SlicePreviewTests
{
    private static readonly Rgb?[] Colours = [null, new Rgb(255, 0, 0), new Rgb(0, 0, 255)];

    [Fact]
    public void Labelled_pixels_blend_their_colour_and_unlabelled_ones_stay_grey()
    {
        var grey = new Image2D<ushort>(1, 3, [100, 200, 300]);
        var labels = new Image2D<byte>(1, 3, [0, 1, 2]);
        var (rgb, height, width) = SlicePreview.Render(grey, labels, Colours, alpha: 0.5);
        Assert.Equal((1, 3), (height, width));
        // The stretch runs over the labelled pixels (200 and 300): 100 clips to black, 200 is black, 300 white.
        Assert.Equal(new byte[] { 0, 0, 0, 128, 0, 0, 128, 128, 255 }, rgb);
    }

    [Fact]
    public void Rows_repeat_so_that_thick_slices_keep_their_physical_aspect()
    {
        var grey = new Image2D<ushort>(2, 1, [0, 10]);
        var labels = new Image2D<byte>(2, 1, [0, 0]);
        var (rgb, height, width) = SlicePreview.Render(grey, labels, Colours, alpha: 0.5, rowToColumnSize: 2);
        Assert.Equal((4, 1), (height, width));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255 }, rgb);
    }

    [Fact]
    public void A_flat_slice_is_mid_grey_and_mismatched_sizes_fail()
    {
        var (rgb, _, _) = SlicePreview.Render(new Image2D<ushort>(1, 2, [7, 7]), new Image2D<byte>(1, 2), Colours, 0.5);
        Assert.All(rgb, v => Assert.Equal(128, v));
        Assert.Throws<ArgumentException>(() => SlicePreview.Render(new Image2D<ushort>(1, 2), new Image2D<byte>(2, 1), Colours, 0.5));
    }
}
