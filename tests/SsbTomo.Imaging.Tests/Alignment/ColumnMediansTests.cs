using SsbTomo.Imaging.Alignment;
using Xunit;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>The lane-per-column bisection gives each column's median of its finite values, as a selection per column does.</summary>
public class ColumnMediansTests
{
    [Theory]
    [InlineData(100000, 0, 0.0)] // distinct values, both signs
    [InlineData(5, 1, 0.0)]      // few distinct values: ties across the middle
    [InlineData(100000, 2, 0.2)] // a fifth of the pixels NaN or infinite: counts differ per column, odd and even
    [InlineData(3, 3, 0.6)]
    public void Each_lane_is_the_median_of_its_columns_finite_values(int distinct, int seed, double nonFinite)
    {
        var random = new Random(seed);
        var lanes = ColumnMedians.Lanes;
        foreach (var rows in new[] { 0, 1, 2, 3, 16, 255, 256, 257 })
        {
            var width = lanes + 3;
            var image = new float[(rows + 5) * width];
            for (var i = 0; i < image.Length; i++)
            {
                var u = random.NextDouble();
                image[i] = u < nonFinite / 3 ? float.NaN : u < nonFinite * 2 / 3 ? float.PositiveInfinity : u < nonFinite ? float.NegativeInfinity
                    : (random.Next(distinct) - distinct / 2) * 0.37f * (random.Next(2) == 0 ? 1e-3f : 1e3f);
            }
            // Both zeros among the values.
            if (rows > 2) (image[2 * width + 3], image[width + 4]) = (-0f, -0f);
            const int y0 = 2, x0 = 3;
            var medians = new float[lanes];
            ColumnMedians.Of(image, width, y0, y0 + rows, x0, medians, new int[ColumnMedians.ScratchLength(rows)]);
            for (var j = 0; j < lanes; j++)
            {
                var column = Enumerable.Range(y0, rows).Select(y => image[y * width + x0 + j]).Where(float.IsFinite).ToArray();
                var expected = column.Length == 0 ? 0f : Statistics.Median(column.AsSpan());
                Assert.Equal(expected, medians[j]);
                Assert.False(float.IsNegative(medians[j]) && medians[j] == 0, "a zero median is +0");
            }
        }
    }

    [Fact]
    public void Extreme_finite_values_are_ordered_exactly()
    {
        var lanes = ColumnMedians.Lanes;
        float[] values = [float.MaxValue, -float.MaxValue, float.Epsilon, -float.Epsilon, 1f, -1f, float.MaxValue];
        var image = new float[values.Length * lanes];
        for (var r = 0; r < values.Length; r++)
            for (var j = 0; j < lanes; j++) image[r * lanes + j] = values[(r + j) % values.Length];
        var medians = new float[lanes];
        ColumnMedians.Of(image, lanes, 0, values.Length, 0, medians, new int[ColumnMedians.ScratchLength(values.Length)]);
        Assert.All(medians, m => Assert.Equal(float.Epsilon, m));
    }
}
