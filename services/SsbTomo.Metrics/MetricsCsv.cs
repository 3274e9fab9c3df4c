using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SsbTomo.Metrics;

/// <summary>One number of a report as a metrics.csv row: what it is, of which phase (or pair "a|b"), its unit and method.</summary>
public sealed record MetricRow(string Quantity, string Phase, double Value, string Unit, string Method);

/// <summary>metrics.csv: one row per number, long format, so a spreadsheet or pandas can pivot it (RFC 4180 quoting).</summary>
public static class MetricsCsv
{
    public const string Header = "quantity,phase,value,unit,method";

    public static string Format(IEnumerable<MetricRow> rows)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var r in rows)
            text.Append(Quote(r.Quantity)).Append(',').Append(Quote(r.Phase)).Append(',')
                .Append(r.Value.ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(Quote(r.Unit)).Append(',').Append(Quote(r.Method)).Append('\n');
        return text.ToString();
    }

    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : $"\"{field.Replace("\"", "\"\"")}\"";

    /// <summary>
    /// The rows of a JSON report (metrics.json): every number, with its path as the quantity ("surface_areas.face_count.
    /// interface_um2.nmc|void"), the path's phase, phase pair or union ("nmc+carbon") among <paramref name="phases"/>, and the "method" of its
    /// nearest enclosing object. Units are in the field names (_um2, _per_um, _um). Lists of objects (per-component
    /// shapes, variants) are left out: one row per item belongs in a table of its own.
    /// </summary>
    public static IReadOnlyList<MetricRow> FromJson(JsonNode report, IReadOnlyCollection<string> phases)
    {
        var rows = new List<MetricRow>();
        void Walk(JsonNode? node, string path, string phase, string method)
        {
            switch (node)
            {
                case JsonObject o:
                    var own = o["method"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : method;
                    foreach (var (key, child) in o)
                        Walk(child, path.Length == 0 ? key : $"{path}.{key}", IsPhase(key) ? key : phase, own);
                    break;
                case JsonArray a when a.All(e => e is JsonValue):
                    for (var i = 0; i < a.Count; i++) Walk(a[i], $"{path}.{i}", phase, method);
                    break;
                case JsonValue v when v.GetValueKind() == JsonValueKind.Number:
                    rows.Add(new MetricRow(path, phase, v.GetValue<double>(), "", method));
                    break;
            }
        }
        // A phase, a pair "a|b", or a union "a+b" (a conducting path).
        bool IsPhase(string key) => phases.Contains(key) || (key.Split('|') is [var a, var b] && phases.Contains(a) && phases.Contains(b))
            || (key.Contains('+') && key.Split('+').All(phases.Contains));
        Walk(report, "", "", "");
        return rows;
    }
}
