using System.Globalization;
using System.Text.Json.Nodes;
using ScottPlot;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Metrics;

/// <summary>The report's plots (ScottPlot, as <c>ssbtomo series</c>), as PNG bytes to embed.</summary>
public static class ReportPlots
{
    public const int Width = 640;
    public const int Height = 400;

    /// <summary>Width of a bin of the per-particle contact-loss histogram.</summary>
    public const double ContactLossBin = 0.05;

    /// <summary>
    /// The void size distribution of metrics.json (<c>void.size_distribution</c>): each size bin's share of the void
    /// volume, the bin's component count under its label; null when metrics.json has none.
    /// </summary>
    public static byte[]? VoidSizeDistribution(JsonObject metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (metrics["void"]?["size_distribution"] is not JsonObject distribution
            || distribution["bin_edges_um"] is not JsonArray edges || distribution["volume_shares"] is not JsonArray shares
            || distribution["counts"] is not JsonArray counts || shares.Count == 0)
            return null;
        var plot = new Plot();
        var positions = Enumerable.Range(0, shares.Count).Select(i => (double)i).ToArray();
        var bars = plot.Add.Bars(positions, shares.Select(s => 100 * s!.GetValue<double>()).ToArray());
        bars.Color = Color.FromHex("#d62728");
        string Edge(int i) => edges[i]!.GetValue<double>().ToString("0.##", CultureInfo.InvariantCulture);
        // Bin i is [edge i, edge i+1); the last is open.
        plot.Axes.Bottom.SetTicks(positions, positions.Select(p => (int)p)
            .Select(i => $"{(i + 1 < edges.Count ? $"{Edge(i)}–{Edge(i + 1)}" : $"≥ {Edge(i)}")}\nn={counts[i]!.GetValue<long>()}").ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.XLabel("equivalent sphere diameter (µm), void clusters per bin");
        plot.YLabel("share of the void volume (%)");
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>
    /// How many whole particles (not cut by the border) lose which share of their contact to void, in bins of 5 %; null
    /// without such particles.
    /// </summary>
    public static byte[]? ContactLossHistogram(IReadOnlyList<NmcParticle> particles)
    {
        ArgumentNullException.ThrowIfNull(particles);
        var losses = particles.Where(p => !p.TouchesBorder && !double.IsNaN(p.ContactLossFraction)).Select(p => p.ContactLossFraction).ToArray();
        if (losses.Length == 0) return null;
        var bins = (int)Math.Round(1 / ContactLossBin);
        var counts = new double[bins];
        foreach (var loss in losses) counts[Math.Min(bins - 1, (int)(loss / ContactLossBin))]++;
        var plot = new Plot();
        var bars = plot.Add.Bars(Enumerable.Range(0, bins).Select(i => 100 * (i + 0.5) * ContactLossBin).ToArray(), counts);
        foreach (var bar in bars.Bars) bar.Size = 100 * ContactLossBin * 0.9;
        bars.Color = Color.FromHex("#1f77b4");
        plot.Axes.SetLimitsX(0, 100);
        plot.Axes.Margins(bottom: 0);
        plot.XLabel($"particle surface facing void (%), {losses.Length} whole particles");
        plot.YLabel("particles");
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }
}
