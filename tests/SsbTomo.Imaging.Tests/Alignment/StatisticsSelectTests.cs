using SsbTomo.Imaging.Alignment;
using Xunit;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>The branch-free quickselect gives the sorted order statistic and leaves the span partitioned around it.</summary>
public class StatisticsSelectTests
{
    [Theory]
    [InlineData(1000, 0)]   // distinct values
    [InlineData(3, 1)]      // few distinct values: long runs equal to the pivot
    [InlineData(1, 2)]      // all equal
    public void SelectGivesTheSortedOrderStatisticAndPartitionsAroundIt(int distinct, int seed)
    {
        var random = new Random(seed);
        foreach (var n in new[] { 1, 2, 15, 16, 17, 18, 33, 100, 256, 1000 })
            for (var trial = 0; trial < 20; trial++)
            {
                var values = Enumerable.Range(0, n).Select(_ => (float)random.Next(distinct) - distinct / 2f).ToArray();
                var sorted = values.Order().ToArray();
                var k = random.Next(n);
                var span = values.ToArray();
                var selected = Statistics.Select(span.AsSpan(), k);
                Assert.Equal(sorted[k], selected);
                Assert.Equal(sorted, span.Order().ToArray()); // a permutation of the input
                Assert.All(span[..k], v => Assert.True(v <= selected));
                Assert.All(span[(k + 1)..], v => Assert.True(v >= selected));
            }
    }

    [Fact]
    public void MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo()
    {
        Assert.Equal(2.5f, Statistics.Median([4f, 1f, 3f, 2f]));
        var random = new Random(3);
        var values = Enumerable.Range(0, 256).Select(_ => (float)random.NextDouble()).ToArray();
        var sorted = values.Order().ToArray();
        Assert.Equal(0.5f * (sorted[127] + sorted[128]), Statistics.Median(values.AsSpan()));
    }

    [Fact]
    public void SelectEndsOnNotANumber()
    {
        // Nothing compares with NaN: a NaN pivot gives no partition, and the selection must still end.
        var values = Enumerable.Repeat(float.NaN, 40).Concat(Enumerable.Range(0, 40).Select(i => (float)i)).ToArray();
        _ = Statistics.Select(values.AsSpan(), 20);
        _ = Statistics.Select(Enumerable.Repeat(float.NaN, 40).ToArray().AsSpan(), 7);
    }
}
