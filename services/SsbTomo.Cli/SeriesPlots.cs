using SsbTomo.Orchestrator;
using ScottPlot;

namespace SsbTomo.Cli;

/// <summary>The void fraction and contact loss of each sample with both kinds of interval as error bars, PNG and SVG.</summary>
public static class SeriesPlots
{
    public const int Width = 720;
    public const int Height = 480;

    /// <summary>File stem → (metric, axis title). The two numbers the paper tracks over cycling.</summary>
    public static readonly (string Stem, string Metric, string Title)[] Plots =
    [
        ("void_fraction", "void_fraction", "void volume fraction (%)"),
        ("contact_loss", "contact_loss_fraction", "contact loss: NMC surface facing void (%)"),
    ];

    public static void Write(string outDir, SeriesComparison.Series series)
    {
        foreach (var (stem, metric, title) in Plots)
        {
            var plot = Draw(series, metric, title);
            plot.SavePng(Path.Combine(outDir, stem + ".png"), Width, Height);
            plot.SaveSvg(Path.Combine(outDir, stem + ".svg"), Width, Height);
        }
    }

    private static Plot Draw(SeriesComparison.Series series, string metric, string title)
    {
        var plot = new Plot();
        var n = series.Samples.Count;
        // The two interval kinds side by side, a little left and right of the sample, so neither hides the other.
        var offsets = new Dictionary<string, double> { ["segmentation"] = -0.08, ["bootstrap"] = 0.08 };
        var names = new Dictionary<string, string> { ["segmentation"] = "segmentation variants", ["bootstrap"] = "block bootstrap" };
        var values = plot.Add.Scatter(Enumerable.Range(0, n).Select(i => (double)i).ToArray(),
            series.Samples.Select(s => 100 * s.Values[metric].Value).ToArray());
        values.LineWidth = 0;
        values.MarkerSize = 9;
        values.LegendText = "value";
        foreach (var kind in SeriesComparison.IntervalKinds)
        {
            var points = series.Samples.Select((s, i) => (X: i + offsets[kind], s.Values[metric].Value, Interval: s.Values[metric].Intervals[kind]))
                .Where(p => p.Interval is not null).ToArray();
            if (points.Length == 0) continue;
            var xs = points.Select(p => p.X).ToArray();
            var ys = points.Select(p => 100 * p.Value).ToArray();
            var bars = plot.Add.ErrorBar(xs, ys, points.Select(_ => 0.0).ToArray());
            // An interval need not be symmetric about the value (percentiles, threshold extremes): each side on its own.
            bars.YErrorPositive = points.Select(p => 100 * (p.Interval!.Value.High - p.Value)).ToArray();
            bars.YErrorNegative = points.Select(p => 100 * (p.Value - p.Interval!.Value.Low)).ToArray();
            bars.LegendText = names[kind];
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, n).Select(i => (double)i).ToArray(), series.Samples.Select(s => s.Label).ToArray());
        plot.Axes.SetLimitsX(-0.5, n - 0.5);
        plot.YLabel(title);
        plot.XLabel("sample");
        plot.ShowLegend();
        return plot;
    }
}
