using SsbTomo.Imaging;

namespace SsbTomo.Imaging.Tests;

public class VolumeTests
{
    [Fact]
    public void Indexer_is_z_y_x_with_x_fastest()
    {
        var v = new Volume<byte>(2, 3, 4);
        v[1, 2, 3] = 7;
        Assert.Equal(7, v.Data[1 * 12 + 2 * 4 + 3]);
        Assert.Equal(7, v.Slice(1)[2 * 4 + 3]);
    }

    [Fact]
    public void Wrong_data_length_is_rejected_with_the_shape_in_the_message()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Volume<byte>(2, 2, 2, new byte[7]));
        Assert.Contains("2x2x2", ex.Message);
    }
}
