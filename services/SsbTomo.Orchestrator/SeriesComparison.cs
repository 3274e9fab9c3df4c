using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Orchestrator;

/// <summary>
/// Finished runs' metrics.json side by side (pristine, 10 cycles, 50 cycles, ...), with a verdict for each change of a
/// metric that has an interval (<see cref="IntervalComparison"/>): series.json and series.csv, for <c>ssbtomo series</c>
/// (run folders) and <c>GET /api/series</c> (job ids) alike.
/// </summary>
public static class SeriesComparison
{
    /// <summary>The two kinds of interval metrics.json carries: threshold variants and the block bootstrap.</summary>
    public static readonly string[] IntervalKinds = ["segmentation", "bootstrap"];

    /// <summary>Metric name → (phase_fractions key or null for contact loss). Phase fractions first, the paper's order.</summary>
    private static readonly (string Metric, string? Phase)[] Metrics =
    [
        ("nmc_fraction", "nmc"), ("lps_fraction", "lps"), ("carbon_fraction", "carbon"), ("void_fraction", "void"), ("contact_loss_fraction", null),
    ];

    /// <summary>One sample: its label, where it came from (a run folder or a job id), and per metric the value and each kind of interval it has.</summary>
    public sealed record Sample(string Label, string Source, double? BootstrapConfidence,
        IReadOnlyDictionary<string, (double Value, IReadOnlyDictionary<string, ValueInterval?> Intervals)> Values);

    public sealed record Series(IReadOnlyList<Sample> Samples,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<IntervalVerdict>>> Verdicts);

    /// <summary>
    /// The labels, one per sample: <paramref name="labelList"/> (comma-separated) or the defaults; refuses fewer than two
    /// samples, a count that does not match, an empty label or one given twice (<paramref name="option"/> names where they came from).
    /// </summary>
    public static string[] Labels(IReadOnlyList<string> defaults, string? labelList, string option)
    {
        if (defaults.Count < 2) throw new ArgumentException($"a series needs at least two samples, got {defaults.Count}");
        var labels = labelList is null ? [.. defaults] : labelList.Split(',', StringSplitOptions.TrimEntries);
        if (labels.Length != defaults.Count)
            throw new ArgumentException($"{option} '{labelList}': {labels.Length} labels for {defaults.Count} samples");
        if (labels.Any(string.IsNullOrEmpty)) throw new ArgumentException($"{option} '{labelList}': a label is empty");
        var repeated = labels.GroupBy(l => l).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"label '{repeated.Key}' is given to more than one sample{(labelList is null ? $" (the defaults; give {option})" : "")}");
        return labels;
    }

    /// <summary>Reads what the series needs from a metrics.json; anything missing or malformed is an <see cref="InvalidDataException"/> naming <paramref name="where"/>.</summary>
    public static Sample Load(byte[] metricsJson, string label, string source, string where)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(metricsJson);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: not valid JSON ({e.Message})");
        }
        try
        {
            if (root is not JsonObject m) throw new InvalidDataException("not a JSON object");
            var fractions = m["phase_fractions"] as JsonObject ?? throw new InvalidDataException("no phase_fractions object");
            var bootstrap = m["phase_fraction_bootstrap"] as JsonObject;
            var bootstrapIntervals = bootstrap?["intervals"] as JsonObject;
            var segmentation = m["phase_fraction_intervals"] as JsonObject;
            var values = new Dictionary<string, (double, IReadOnlyDictionary<string, ValueInterval?>)>();
            foreach (var (metric, phase) in Metrics)
            {
                var value = phase is null ? Number(m["contact_loss_fraction"], "contact_loss_fraction") : Number(fractions[phase], $"phase_fractions.{phase}");
                var key = phase ?? "contact_loss";
                values[metric] = (value, new Dictionary<string, ValueInterval?>
                {
                    ["segmentation"] = Interval(phase is null ? m["contact_loss_interval"] : segmentation?[phase], phase is null ? "contact_loss_interval" : $"phase_fraction_intervals.{phase}"),
                    // The bootstrap resamples phase fractions only; a contact_loss entry is used if a later metrics.json adds one.
                    ["bootstrap"] = Interval(bootstrapIntervals?[key], $"phase_fraction_bootstrap.intervals.{key}"),
                });
            }
            return new Sample(label, source, bootstrap?["confidence"] is JsonValue c && c.TryGetValue<double>(out var confidence) ? confidence : null, values);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{where}: {e.Message}");
        }
    }

    /// <summary>Verdicts per metric and interval kind; <see cref="IntervalComparison.Series"/> decides.</summary>
    public static Series Build(IReadOnlyList<Sample> samples) =>
        new(samples, Metrics.ToDictionary(m => m.Metric, m => (IReadOnlyDictionary<string, IReadOnlyList<IntervalVerdict>>)IntervalKinds.ToDictionary(
            kind => kind,
            kind => IntervalComparison.Series(samples.Select(s => new SeriesPoint(s.Label, s.Values[m.Metric].Value, s.Values[m.Metric].Intervals[kind])).ToArray()))));

    /// <summary>series.json; each sample names its source under <paramref name="sourceKey"/> ("run" for a folder, "job" for a job id).</summary>
    public static JsonObject ToJson(Series series, string sourceKey)
    {
        var metrics = new JsonObject();
        foreach (var (metric, byKind) in series.Verdicts)
        {
            var comparisons = new JsonArray();
            foreach (var (kind, verdicts) in byKind)
                foreach (var v in verdicts)
                    comparisons.Add(new JsonObject
                    {
                        ["from"] = v.From.Label,
                        ["to"] = v.To.Label,
                        ["interval"] = kind,
                        ["difference"] = v.Difference,
                        ["from_interval"] = Pair(v.From.Interval),
                        ["to_interval"] = Pair(v.To.Interval),
                        ["significant"] = v.Significant,
                    });
            metrics[metric] = new JsonObject
            {
                ["values"] = new JsonArray(series.Samples.Select(s => (JsonNode)new JsonObject
                {
                    ["label"] = s.Label,
                    ["value"] = s.Values[metric].Value,
                    ["intervals"] = new JsonObject(s.Values[metric].Intervals.Select(i => KeyValuePair.Create(i.Key, (JsonNode?)Pair(i.Value)))),
                }).ToArray()),
                ["comparisons"] = comparisons,
            };
        }
        return new JsonObject
        {
            ["rule"] = IntervalComparison.Rule,
            ["method"] = "overlap of intervals (Schenker & Gentleman 2001, doi:10.1198/000313001317097960); pairs: each consecutive pair of samples "
                + "and, with more than two samples, first vs last; difference = to − from; significant null = an interval is missing",
            ["intervals"] = new JsonObject
            {
                ["segmentation"] = "metrics.json phase_fraction_intervals / contact_loss_interval: range over the segmentation threshold variants "
                    + "(the fractions' widened by the boundary-placement layer, uncertainty.boundary_placement)",
                ["bootstrap"] = "metrics.json phase_fraction_bootstrap.intervals: block-bootstrap percentile interval at bootstrap_confidence",
            },
            ["samples"] = new JsonArray(series.Samples.Select(s => (JsonNode)new JsonObject
            {
                ["label"] = s.Label,
                [sourceKey] = s.Source,
                ["bootstrap_confidence"] = s.BootstrapConfidence,
            }).ToArray()),
            ["metrics"] = metrics,
        };
    }

    /// <summary>One row per sample and metric; an interval the run does not have is left empty.</summary>
    public static string ToCsv(Series series)
    {
        var csv = new StringBuilder("label,metric,value,segmentation_low,segmentation_high,bootstrap_low,bootstrap_high,bootstrap_confidence\n");
        foreach (var (metric, _) in Metrics)
            foreach (var s in series.Samples)
            {
                var (value, intervals) = s.Values[metric];
                csv.Append(CultureInfo.InvariantCulture, $"{Csv(s.Label)},{metric},{F(value)},{F(intervals["segmentation"]?.Low)},{F(intervals["segmentation"]?.High)},")
                    .Append(CultureInfo.InvariantCulture, $"{F(intervals["bootstrap"]?.Low)},{F(intervals["bootstrap"]?.High)},{F(s.BootstrapConfidence)}\n");
            }
        return csv.ToString();
    }

    private static double Number(JsonNode? node, string name) =>
        node is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : throw new InvalidDataException($"{name} is missing or not a number");

    /// <summary>Absent or null (an undefined ratio is written as null) is no interval; anything else must be [low, high].</summary>
    private static ValueInterval? Interval(JsonNode? node, string name)
    {
        if (node is null) return null;
        if (node is JsonArray { Count: 2 } a && (a[0] is null || a[1] is null)) return null;
        if (node is JsonArray { Count: 2 } pair && pair[0] is JsonValue l && l.TryGetValue<double>(out var low) && pair[1] is JsonValue h && h.TryGetValue<double>(out var high))
        {
            var interval = new ValueInterval(low, high);
            return interval.IsValid ? interval : throw new InvalidDataException($"{name} [{low}, {high}] is not an interval (low above high)");
        }
        throw new InvalidDataException($"{name} is not [low, high]");
    }

    private static JsonArray? Pair(ValueInterval? i) => i is { } v ? new JsonArray(v.Low, v.High) : null;

    private static string F(double? v) => v is { } d ? d.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Csv(string text) => text.IndexOfAny([',', '"', '\n', '\r']) < 0 ? text : $"\"{text.Replace("\"", "\"\"")}\"";
}
