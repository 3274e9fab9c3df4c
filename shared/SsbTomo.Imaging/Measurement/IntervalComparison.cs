namespace SsbTomo.Imaging.Measurement;

/// <summary>A closed interval [Low, High] around a measured value.</summary>
public readonly record struct ValueInterval(double Low, double High)
{
    public bool IsValid => double.IsFinite(Low) && double.IsFinite(High) && Low <= High;
}

/// <summary>One sample's value of one metric and its interval (null: the run gives none for this metric).</summary>
public sealed record SeriesPoint(string Label, double Value, ValueInterval? Interval);

/// <summary>
/// One comparison of two samples: <see cref="Difference"/> = <c>To.Value − From.Value</c>; <see cref="Significant"/> is
/// true when the two intervals are disjoint, false when they share at least one point, null when either interval is
/// missing or invalid (no verdict rather than a guess).
/// </summary>
public sealed record IntervalVerdict(SeriesPoint From, SeriesPoint To, double Difference, bool? Significant);

/// <summary>
/// Significance of differences along a series of samples from their intervals alone: two values differ significantly
/// when their intervals are disjoint (<see cref="Rule"/>).
/// </summary>
/// <remarks>
/// Method: the overlap test for two confidence intervals (Schenker &amp; Gentleman 2001, "On judging the significance of
/// differences by examining the overlap between confidence intervals", The American Statistician 55:182,
/// doi:10.1198/000313001317097960). For two independent estimates with 95 % intervals, disjoint intervals reject
/// equality at a level well below 5 % (≈ 0.6 % for equal standard errors; Payton, Greenstone &amp; Schenker 2003,
/// J. Insect Science 3:34), so the test is conservative: "not significant" means "not shown", not "equal". It is used
/// because metrics.json keeps only each run's interval, not its resamples, so no paired or pooled test is possible.
/// For a segmentation-variant interval (the range over threshold choices, not a confidence interval) disjoint means no
/// threshold choice within the plausible ranges makes the two samples agree.
/// Touching intervals (one's High equal to the other's Low) share a point and count as overlapping.
/// </remarks>
public static class IntervalComparison
{
    public const string Rule = "significant when the two intervals are disjoint (no shared point); a conservative test " +
        "(Schenker & Gentleman 2001): for 95 % intervals it rejects at well below 5 %";

    /// <summary>True when the intervals share no point.</summary>
    public static bool Disjoint(ValueInterval a, ValueInterval b) => a.High < b.Low || b.High < a.Low;

    /// <summary>The verdict for one pair; null when either side has no valid interval.</summary>
    public static IntervalVerdict Compare(SeriesPoint from, SeriesPoint to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        bool? significant = from.Interval is { IsValid: true } a && to.Interval is { IsValid: true } b ? Disjoint(a, b) : null;
        return new IntervalVerdict(from, to, to.Value - from.Value, significant);
    }

    /// <summary>
    /// Each consecutive pair (0→1, 1→2, ...) and, when there are more than two samples, first → last (the overall
    /// change, which consecutive steps that each stay inside their intervals can hide).
    /// </summary>
    public static IReadOnlyList<IntervalVerdict> Series(IReadOnlyList<SeriesPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var verdicts = new List<IntervalVerdict>();
        for (var i = 1; i < points.Count; i++) verdicts.Add(Compare(points[i - 1], points[i]));
        if (points.Count > 2) verdicts.Add(Compare(points[0], points[^1]));
        return verdicts;
    }
}
