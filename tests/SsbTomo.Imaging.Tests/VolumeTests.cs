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

    [Fact]
    public void Float_to_uint16_rounds_halves_to_even_clamps_and_maps_nan_to_zero()
    {
        var v = new Volume<float>(1, 1, 8, [0.5f, 1.5f, 2.49f, -3f, 65535.4f, 70000f, float.NaN, 17f]);
        Assert.Equal(new ushort[] { 0, 2, 2, 0, 65535, 65535, 0, 17 }, v.ToUInt16().Data);
    }

    /// <summary>
    /// The vectorised conversion gives the plain definition's value for every float: halves (even and odd), values just
    /// beside them, negatives and −0, the range's ends and beyond, infinities and NaN, and a length with a scalar tail.
    /// </summary>
    [Fact]
    public void Float_to_uint16_sixteen_at_a_time_equals_the_plain_definition()
    {
        var random = new Random(9);
        var special = new[] { 0.5f, 1.5f, 2.5f, -0.5f, -0f, 65534.5f, 65535.5f, 65536f, -1f, float.PositiveInfinity, float.NegativeInfinity, float.NaN,
            BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(0.5f) + 1), BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(0.5f) - 1) };
        var values = new float[3 * 1007];
        for (var i = 0; i < values.Length; i++)
            values[i] = i % 5 == 0 ? special[random.Next(special.Length)] : i % 5 == 1 ? random.Next(-10, 70000) + 0.5f : (float)(80000 * random.NextDouble() - 8000);
        var volume = new Volume<float>(3, 1, 1007, values);
        var expected = values.Select(v => float.IsNaN(v) ? (ushort)0 : (ushort)Math.Clamp(Math.Round(v), 0, 65535)).ToArray();
        Assert.Equal(expected, volume.ToUInt16().Data);
    }

    [Fact]
    public void Uint16_to_float_keeps_every_value_and_the_shape()
    {
        var v = new Volume<ushort>(2, 1, 2, [0, 1, 40000, 65535]);
        var f = v.ToFloat();
        Assert.Equal((2, 1, 2), (f.Depth, f.Height, f.Width));
        Assert.Equal(new float[] { 0, 1, 40000, 65535 }, f.Data);
    }

    [Fact]
    public void One_slice_to_float_is_that_slice_only_as_an_image_of_the_slice_shape()
    {
        var v = new Volume<ushort>(2, 2, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 40000, 11, 65535]);
        var slice = v.SliceToFloat(1);
        Assert.Equal((2, 3), (slice.Height, slice.Width));
        Assert.Equal(new float[] { 7, 8, 9, 40000, 11, 65535 }, slice.Pixels);
        Assert.Throws<ArgumentOutOfRangeException>(() => v.SliceToFloat(2));
    }

    /// <summary>
    /// Volumes take their arrays from LargeArrays: zeroed, of the shape's length, small or large-object sized; a length
    /// beyond an array's reach is refused before anything is allocated.
    /// </summary>
    [Fact]
    public void Large_arrays_are_zeroed_and_of_the_asked_length_and_an_impossible_length_is_refused()
    {
        var large = new Volume<float>(3, 200, 300);
        Assert.Equal(180_000, large.Data.Length);
        Assert.All(large.Data, v => Assert.Equal(0f, v));
        Assert.Equal(7, LargeArrays.New<ushort>(7).Length);
        Assert.Equal(100_000, LargeArrays.Uninitialized<double>(100_000).Length);
        Assert.Throws<OverflowException>(() => LargeArrays.New<byte>(1L << 32));
    }
}
