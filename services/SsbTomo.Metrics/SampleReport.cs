using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SsbTomo.Contracts;

namespace SsbTomo.Metrics;

/// <summary>One preview image for the report: its caption and PNG bytes.</summary>
public sealed record ReportImage(string Caption, byte[] Png);

/// <summary>
/// report.html: one self-contained page per sample for a person — the headline metrics with their intervals, every number
/// of metrics.json, the previews (embedded as data URIs), and the provenance (source files and checksums, parameters,
/// timings per stage). No script, no external resource: it opens from a file or an e-mail attachment. Every value is
/// HTML-encoded (sample and file names come from the share drive).
/// </summary>
public static class SampleReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <param name="metrics">metrics.json.</param>
    /// <param name="provenance">provenance.json, when the job has one.</param>
    /// <param name="previews">The preview PNGs in display order.</param>
    /// <param name="stages">The job's stages and their durations, as the orchestrator sent them.</param>
    /// <param name="segmentation">The segmentation model (thresholds, class means), when one was fitted.</param>
    /// <param name="views">The 3D views of the surface meshes in display order.</param>
    /// <param name="plots">The plots (void size distribution, per-particle contact loss).</param>
    /// <param name="figureNotes">Why a view or plot is missing, one sentence each.</param>
    public static string Render(JsonObject metrics, JsonObject? provenance, IReadOnlyList<ReportImage> previews,
        IReadOnlyList<StageDuration>? stages, SegmentationModel? segmentation, IReadOnlyList<ReportImage>? views = null, IReadOnlyList<ReportImage>? plots = null,
        IReadOnlyList<string>? figureNotes = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(previews);
        var title = provenance?["sample"]?.GetValue<string>() ?? provenance?["source"]?.GetValue<string>() ?? "SsbTomo sample";
        var html = new StringBuilder();
        html.Append(Invariant, $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{E(title)} — SsbTomo report</title>
            <style>
            body{"{"}font-family:sans-serif;margin:2em;max-width:80em{"}"}
            table{"{"}border-collapse:collapse;margin:.5em 0 1.5em{"}"}td,th{"{"}padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top{"}"}
            td.n{"{"}text-align:right;font-variant-numeric:tabular-nums{"}"}
            figure{"{"}display:inline-block;margin:0 1em 1em 0;vertical-align:top{"}"}img{"{"}max-width:40em;image-rendering:pixelated;border:1px solid #ccc{"}"}
            .swatch{"{"}display:inline-block;width:1em;height:1em;vertical-align:middle;margin-right:.3em{"}"}
            .warning{"{"}color:#a40{"}"}code{"{"}font-size:90%{"}"}
            </style></head><body>
            <h1>{E(title)}</h1>
            """);
        if (provenance?["source"] is { } source)
            html.Append(Invariant, $"<p>Source <code>{E(source.ToString())}</code></p>");

        Headline(html, metrics);
        if (metrics["warnings"] is JsonArray { Count: > 0 } warnings)
            html.Append("<h2>Warnings</h2><ul>").AppendJoin("", warnings.Select(w => $"<li class=\"warning\">{E(w?.ToString())}</li>")).Append("</ul>");

        html.Append("<h2 id=\"previews\">Previews</h2><p>Orthogonal slices through the middle of the aligned stack, phases laid over the grey levels: ");
        html.AppendJoin(", ", Enumerable.Range(1, Imaging.PhaseLabel.Count - 1).Select(l =>
        {
            var c = Imaging.PhaseLabel.Colours[l]!.Value;
            return $"<span class=\"swatch\" style=\"background:rgb({c.R},{c.G},{c.B})\"></span>{E(Imaging.PhaseLabel.Name((byte)l))}";
        })).Append(".</p>");
        Figures(html, previews);
        if (views is { Count: > 0 })
        {
            html.Append("<h2 id=\"views\">3D views</h2><p>The phases' surface meshes (marching cubes on the smoothed phase indicators, Taubin-smoothed, "
                + "decimated; files in <code>meshes/</code>, µm), rendered from above the first milled slice.</p>");
            Figures(html, views, "view");
        }
        if (plots is { Count: > 0 })
        {
            html.Append("<h2 id=\"plots\">Plots</h2>");
            Figures(html, plots, "plot");
        }
        foreach (var note in figureNotes ?? [])
            html.Append(Invariant, $"<p class=\"note\">{E(note)}</p>");

        AllNumbers(html, metrics);
        Provenance(html, provenance, stages, segmentation);
        return html.Append("</body></html>\n").ToString();
    }

    private static void Figures(StringBuilder html, IReadOnlyList<ReportImage> images, string? cssClass = null)
    {
        foreach (var image in images)
            html.Append(Invariant, $"<figure{(cssClass is null ? "" : $" class=\"{cssClass}\"")}><img alt=\"{E(image.Caption)}\"{DisplayWidth(image.Png)} "
                + $"src=\"data:image/png;base64,{Convert.ToBase64String(image.Png)}\"><figcaption>{E(image.Caption)}</figcaption></figure>");
    }

    /// <summary>The paper's headline numbers with both intervals metrics.json gives (threshold variants, block bootstrap).</summary>
    private static void Headline(StringBuilder html, JsonObject metrics)
    {
        var bootstrap = metrics["phase_fraction_bootstrap"]?["intervals"] as JsonObject;
        var confidence = metrics["phase_fraction_bootstrap"]?["confidence"]?.GetValue<double>();
        var boundaryVoxels = metrics["uncertainty"]?["boundary_placement"]?["boundary_voxels"]?.GetValue<double>();
        html.Append("<h2 id=\"metrics\">Phase fractions and contact loss</h2><table class=\"metrics\"><tr><th>quantity</th><th>value</th>")
            .Append(Invariant, $"<th>segmentation interval (threshold variants{(boundaryVoxels is { } b ? $"; fractions also boundaries ± {b:0.##} voxel" : "")})</th>")
            .Append(Invariant, $"<th>bootstrap interval{(confidence is { } c ? $" ({c:P0})" : "")}</th></tr>");
        if (metrics["phase_fractions"] is JsonObject fractions)
            foreach (var (phase, value) in fractions)
                html.Append(Invariant, $"<tr><td>{E(phase)} volume fraction</td><td class=\"n\">{Percent(value)}</td>"
                    + $"<td class=\"n\">{Interval(metrics["phase_fraction_intervals"]?[phase])}</td><td class=\"n\">{Interval(bootstrap?[phase])}</td></tr>");
        html.Append(Invariant, $"<tr><td>contact loss (NMC surface facing void)</td><td class=\"n\">{Percent(metrics["contact_loss_fraction"])}</td>"
            + $"<td class=\"n\">{Interval(metrics["contact_loss_interval"])}</td><td class=\"n\">{Interval(bootstrap?["contact_loss"])}</td></tr>");
        if (metrics["void"] is JsonObject voids)
            html.Append(Invariant, $"<tr><td>void clusters ({E(voids["connectivity"]?.ToString())})</td><td class=\"n\">{E(voids["components"]?.ToString())}</td><td></td><td></td></tr>"
                + $"<tr><td>largest void cluster, share of void</td><td class=\"n\">{Percent(voids["largest_fraction_of_void"])}</td><td></td><td></td></tr>");
        html.Append("</table>");
        if (metrics["voxel_size_nm"] is JsonArray voxel && metrics["valid_shape_zyx"] is JsonArray shape)
            html.Append(Invariant, $"<p>Voxel size (x, y, z) {E(string.Join(" × ", voxel.Select(v => v?.ToString())))} nm; "
                + $"valid region (z, y, x) {E(string.Join(" × ", shape.Select(v => v?.ToString())))} voxels.</p>");
    }

    /// <summary>Every scalar of metrics.json by its path; each list of records (variants, largest clusters) as a table of its own.</summary>
    private static void AllNumbers(StringBuilder html, JsonObject metrics)
    {
        var records = new List<(string Path, JsonArray Rows)>();
        html.Append("<h2 id=\"all-metrics\">Every number in metrics.json</h2><table class=\"all-metrics\"><tr><th>metric</th><th>value</th></tr>");
        foreach (var (path, value) in Leaves(metrics, "", records))
            html.Append(Invariant, $"<tr><td><code>{E(path)}</code></td><td class=\"n\">{E(value)}</td></tr>");
        html.Append("</table>");
        foreach (var (path, rows) in records)
        {
            var columns = rows.OfType<JsonObject>().SelectMany(r => r.Select(p => p.Key)).Distinct().ToArray();
            html.Append(Invariant, $"<h3><code>{E(path)}</code></h3><table class=\"records\"><tr>")
                .AppendJoin("", columns.Select(c => $"<th>{E(c)}</th>")).Append("</tr>");
            foreach (var row in rows.OfType<JsonObject>())
                html.Append("<tr>").AppendJoin("", columns.Select(c => $"<td class=\"n\">{E(Cell(row[c]))}</td>")).Append("</tr>");
            html.Append("</table>");
        }
    }

    private static string Cell(JsonNode? node) => node switch
    {
        JsonArray array when array.All(a => a is JsonValue or null) => "[" + string.Join(", ", array.Select(Scalar)) + "]",
        JsonObject or JsonArray => string.Join("; ", Leaves(node, "", null).Select(l => $"{l.Path}: {l.Value}")),
        _ => Scalar(node),
    };

    private static void Provenance(StringBuilder html, JsonObject? provenance, IReadOnlyList<StageDuration>? stages, SegmentationModel? segmentation)
    {
        html.Append("<h2 id=\"provenance\">Provenance</h2>");
        if (stages is { Count: > 0 })
        {
            html.Append("<h3>Timings per stage</h3><table class=\"stages\"><tr><th>stage</th><th>started (UTC)</th><th>seconds</th></tr>");
            foreach (var stage in stages)
                html.Append(Invariant, $"<tr><td>{E(stage.Stage)}</td><td>{stage.StartedUtc:yyyy-MM-dd HH:mm:ss}</td><td class=\"n\">{stage.Seconds:0.0}</td></tr>");
            html.Append("</table><p>The metrics stage, which writes this page, is not included.</p>");
        }
        if (segmentation is not null)
        {
            html.Append("<h3>Segmentation parameters</h3><table class=\"parameters\">");
            Row(html, "thresholds (dark to bright)", Numbers(segmentation.Thresholds));
            Row(html, "threshold plausible ranges", string.Join("; ", segmentation.ThresholdLows.Select((low, k) => $"{low:0.###}–{segmentation.ThresholdHighs[k]:0.###}")));
            Row(html, "class means (dark to bright)", Numbers(segmentation.ClassMeans));
            if (segmentation.FibreCoreLevel is { } fibre) Row(html, "carbon fibre core level", fibre.ToString("0.###", Invariant));
            html.Append("</table>");
        }
        if (provenance is null)
        {
            html.Append("<p>This job has no provenance.json.</p>");
            return;
        }
        html.Append("<h3>Input</h3><table class=\"provenance\">");
        foreach (var (path, value) in Leaves(provenance, "", null).Where(l => !l.Path.StartsWith("files", StringComparison.Ordinal)))
            Row(html, path, value);
        html.Append("</table>");
        if (provenance["files"] is JsonArray files)
        {
            html.Append(Invariant, $"<h3>Source files ({files.Count}, {E(provenance["hash_algorithm"]?.ToString())})</h3><table class=\"files\"><tr><th>file</th><th>bytes</th><th>modified (UTC)</th><th>checksum</th></tr>");
            foreach (var file in files.OfType<JsonObject>())
                html.Append(Invariant, $"<tr><td>{E(file["name"]?.ToString())}</td><td class=\"n\">{E(file["bytes"]?.ToString())}</td>"
                    + $"<td>{E(file["modified_utc"]?.ToString())}</td><td><code>{E(file["sha256"]?.ToString())}</code></td></tr>");
            html.Append("</table>");
        }
    }

    /// <summary>Small previews shown at twice their size (pixels stay sharp), so a thin xz cut of a short stack is legible.</summary>
    private static string DisplayWidth(byte[] png)
    {
        if (png.Length < 24) return "";
        var width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16));
        return width is > 0 and < 400 ? $" width=\"{2 * width}\"" : "";
    }

    private static void Row(StringBuilder html, string name, string value) =>
        html.Append(Invariant, $"<tr><td>{E(name)}</td><td>{E(value)}</td></tr>");

    /// <summary>
    /// Every scalar (and list of scalars) of a JSON tree with its dotted path, in document order; a list of records goes
    /// to <paramref name="records"/> when one is given.
    /// </summary>
    private static IEnumerable<(string Path, string Value)> Leaves(JsonNode? node, string path, List<(string, JsonArray)>? records)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj)
                    foreach (var leaf in Leaves(child, path.Length == 0 ? key : $"{path}.{key}", records))
                        yield return leaf;
                break;
            case JsonArray array when array.All(a => a is JsonValue or null):
                yield return (path, "[" + string.Join(", ", array.Select(Scalar)) + "]");
                break;
            case JsonArray array when records is not null && array.All(a => a is JsonObject):
                records.Add((path, array));
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                    foreach (var leaf in Leaves(array[i], $"{path}[{i}]", records))
                        yield return leaf;
                break;
            default:
                yield return (path, Scalar(node));
                break;
        }
    }

    private static string Scalar(JsonNode? node) => node switch
    {
        null => "—",
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>().ToString("G6", Invariant),
        _ => node.ToString(),
    };

    private static string Percent(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? (100 * v.GetValue<double>()).ToString("0.00", Invariant) + " %" : "—";

    private static string Interval(JsonNode? node) =>
        node is JsonArray { Count: 2 } pair && pair.All(p => p is JsonValue) ? $"{Percent(pair[0])} – {Percent(pair[1])}" : "—";

    private static string Numbers(double[] values) => string.Join(", ", values.Select(v => v.ToString("0.###", Invariant)));

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
}
