using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Tests.Measurement;

public class IntervalComparisonSeriesTests
{
    private static SeriesPoint P(string label, double value, double low, double high) => new(label, value, new ValueInterval(low, high));

    [Theory]
    [InlineData(0.10, 0.20, 0.21, 0.30, true)]   // a below b
    [InlineData(0.21, 0.30, 0.10, 0.20, true)]   // a above b
    [InlineData(0.10, 0.20, 0.20, 0.30, false)]  // touching: one shared point
    [InlineData(0.10, 0.25, 0.20, 0.30, false)]  // partial overlap
    [InlineData(0.10, 0.40, 0.20, 0.30, false)]  // nested
    [InlineData(0.15, 0.15, 0.15, 0.15, false)]  // identical points
    public void Disjoint_intervals_are_significant_and_any_shared_point_is_not(double aLow, double aHigh, double bLow, double bHigh, bool expected)
    {
        Assert.Equal(expected, IntervalComparison.Disjoint(new ValueInterval(aLow, aHigh), new ValueInterval(bLow, bHigh)));
        Assert.Equal(expected, IntervalComparison.Compare(P("a", (aLow + aHigh) / 2, aLow, aHigh), P("b", (bLow + bHigh) / 2, bLow, bHigh)).Significant);
    }

    [Fact]
    public void A_series_compares_consecutive_samples_and_first_with_last_with_signed_differences()
    {
        // void fraction rising slowly: each step overlaps its neighbour, the whole change does not.
        var points = new[] { P("pristine", 0.020, 0.015, 0.025), P("10", 0.028, 0.023, 0.033), P("50", 0.036, 0.031, 0.041) };
        var verdicts = IntervalComparison.Series(points);

        Assert.Equal(3, verdicts.Count);
        Assert.Equal(("pristine", "10"), (verdicts[0].From.Label, verdicts[0].To.Label));
        Assert.Equal(("10", "50"), (verdicts[1].From.Label, verdicts[1].To.Label));
        Assert.Equal(("pristine", "50"), (verdicts[2].From.Label, verdicts[2].To.Label));
        Assert.Equal(0.008, verdicts[0].Difference, 12);
        Assert.Equal(0.016, verdicts[2].Difference, 12);
        Assert.Equal([false, false, true], verdicts.Select(v => v.Significant));
    }

    [Fact]
    public void A_decrease_has_a_negative_difference()
    {
        var verdict = IntervalComparison.Compare(P("a", 0.30, 0.29, 0.31), P("b", 0.10, 0.09, 0.11));
        Assert.Equal(-0.20, verdict.Difference, 12);
        Assert.True(verdict.Significant);
    }

    [Fact]
    public void Two_samples_give_one_comparison_not_a_repeated_first_versus_last()
    {
        var verdicts = IntervalComparison.Series([P("a", 1, 0, 2), P("b", 5, 4, 6)]);
        Assert.Single(verdicts);
        Assert.True(verdicts[0].Significant);
        Assert.Empty(IntervalComparison.Series([P("a", 1, 0, 2)]));
    }

    [Fact]
    public void A_missing_or_invalid_interval_gives_no_verdict()
    {
        var good = P("a", 0.1, 0.05, 0.15);
        Assert.Null(IntervalComparison.Compare(good, new SeriesPoint("b", 0.9, null)).Significant);
        Assert.Null(IntervalComparison.Compare(good, P("b", 0.9, double.NaN, 0.95)).Significant);
        Assert.Null(IntervalComparison.Compare(P("b", 0.9, 0.95, 0.85), good).Significant); // low above high
        Assert.Equal(0.8, IntervalComparison.Compare(good, new SeriesPoint("b", 0.9, null)).Difference, 12);
    }
}
