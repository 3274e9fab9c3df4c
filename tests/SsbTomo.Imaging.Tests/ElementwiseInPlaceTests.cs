namespace SsbTomo.Imaging.Tests;

/// <summary>
/// The box filters' running minima, maxima and unions against the element-by-element definition, at every length from 0
/// to a few vectors past the widest register: the tail's last vector overlaps the one before and must give the elements it
/// redoes the same values.
/// </summary>
public class ElementwiseInPlaceTests
{
    [Fact]
    public void Min_max_and_or_equal_the_definition_at_every_length()
    {
        var random = new Random(3);
        for (var length = 0; length <= 100; length++)
        {
            var (bytesA, bytesB) = (new byte[length], new byte[length + 3]);
            random.NextBytes(bytesA);
            random.NextBytes(bytesB);
            var floatsA = Enumerable.Range(0, length).Select(_ => (float)random.Next(-50, 50)).ToArray();
            var floatsB = Enumerable.Range(0, length).Select(_ => (float)random.Next(-50, 50)).ToArray();
            var sbytesA = Array.ConvertAll(bytesA, b => unchecked((sbyte)b));
            var sbytesB = Array.ConvertAll(bytesB, b => unchecked((sbyte)b));

            var min = (byte[])bytesA.Clone();
            ElementwiseInPlace.Min(min.AsSpan(), bytesB.AsSpan(0, length));
            Assert.Equal(bytesA.Select((a, i) => Math.Min(a, bytesB[i])), min);
            var max = (sbyte[])sbytesA.Clone();
            ElementwiseInPlace.Max(max.AsSpan(), sbytesB.AsSpan(0, length));
            Assert.Equal(sbytesA.Select((a, i) => Math.Max(a, sbytesB[i])), max);
            var or = (byte[])bytesA.Clone();
            ElementwiseInPlace.Or(or.AsSpan(), bytesB.AsSpan(3, length));
            Assert.Equal(bytesA.Select((a, i) => (byte)(a | bytesB[i + 3])), or);
            var minFloats = (float[])floatsA.Clone();
            ElementwiseInPlace.Min(minFloats.AsSpan(), floatsB);
            Assert.Equal(floatsA.Select((a, i) => Math.Min(a, floatsB[i])), minFloats);
        }
    }

    /// <summary>Spans of one array, one shifted against the other: one by one after the whole vectors, as before.</summary>
    [Fact]
    public void Overlapping_spans_keep_the_tail_one_by_one()
    {
        var lanes = System.Numerics.Vector<byte>.Count;
        var data = Enumerable.Range(0, 3 * lanes).Select(i => (byte)(255 - i)).ToArray();
        var length = 2 * lanes + 5;
        var expected = (byte[])data.Clone();
        for (var start = 0; start < length; start += lanes)
            if (start + lanes <= length)
            {
                var chunk = Enumerable.Range(start, lanes).Select(i => Math.Min(expected[i], expected[i + 1])).ToArray();
                chunk.CopyTo(expected, start);
            }
            else
                for (var i = start; i < length; i++) expected[i] = Math.Min(expected[i], expected[i + 1]);
        ElementwiseInPlace.Min(data.AsSpan(0, length), data.AsSpan(1, length));
        Assert.Equal(expected, data);
    }
}
