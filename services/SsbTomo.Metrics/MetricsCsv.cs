using System.Globalization;
using System.Text;

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
}
