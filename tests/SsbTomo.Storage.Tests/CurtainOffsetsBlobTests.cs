using SsbTomo.Imaging.Alignment;
using SsbTomo.Storage.Images;

namespace SsbTomo.Storage.Tests;

public class CurtainOffsetsBlobTests
{
    private static CurtainOffsets Offsets(int height, int width, int blocks, int seed)
    {
        var random = new Random(seed);
        var values = new float[blocks * width];
        for (var i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() - 0.5) * 37f;
        values[0] = -0f;                 // the sign of zero and subnormals survive too
        values[^1] = float.Epsilon;
        return new CurtainOffsets(height, width, blocks, values);
    }

    [Fact]
    public void Offsets_round_trip_bit_for_bit_with_flat_slices_between()
    {
        CurtainOffsets?[] slices = [Offsets(300, 333, 1, 1), null, Offsets(3072, 41, 12, 2), null];
        var bytes = CurtainOffsetsBlob.Encode(16, slices);
        Assert.Equal(8 + 8 + 4 * 12 + 4 * (333 + 12 * 41), bytes.Length);

        var read = CurtainOffsetsBlob.Decode(bytes, 16, 20);
        Assert.Equal(slices.Length, read.Length);
        for (var k = 0; k < slices.Length; k++)
        {
            if (slices[k] is not { } expected)
            {
                Assert.Null(read[k]);
                continue;
            }
            var actual = read[k]!;
            Assert.Equal((expected.Height, expected.Width, expected.Blocks), (actual.Height, actual.Width, actual.Blocks));
            Assert.Equal(expected.Values.Select(BitConverter.SingleToInt32Bits), actual.Values.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void A_blob_of_other_slices_cut_short_padded_or_of_another_kind_is_refused()
    {
        var bytes = CurtainOffsetsBlob.Encode(8, [Offsets(64, 80, 2, 3), null]);
        Assert.Throws<InvalidDataException>(() => CurtainOffsetsBlob.Decode(bytes, 0, 2));
        Assert.Throws<InvalidDataException>(() => CurtainOffsetsBlob.Decode(bytes, 8, 11));
        Assert.Throws<InvalidDataException>(() => CurtainOffsetsBlob.Decode(bytes.AsSpan(0, bytes.Length - 4), 8, 10));
        Assert.Throws<InvalidDataException>(() => CurtainOffsetsBlob.Decode(bytes.AsSpan(0, 30), 8, 10));
        Assert.Throws<InvalidDataException>(() => CurtainOffsetsBlob.Decode([.. bytes, 0, 0, 0, 0], 8, 10));
        Assert.Throws<InvalidDataException>(() => CurtainOffsetsBlob.Decode("{\"Z0\":8,\"Z1\":10}"u8, 8, 10));
        Assert.Equal(2, CurtainOffsetsBlob.Decode(bytes, 8, 10).Length);
    }
}
