using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Cli;

/// <summary>
/// <c>ssbtomo series</c>: finished runs' metrics.json side by side (pristine, 10 cycles, 50 cycles, ...), with a verdict
/// for each change of a metric that has an interval (<see cref="IntervalComparison"/>), written as series.json,
/// series.csv and error-bar plots.
/// </summary>
public static class SeriesCommand
{
    public const string JsonFile = "series.json";
    public const string CsvFile = "series.csv";

    /// <summary>The two kinds of interval metrics.json carries: threshold variants and the block bootstrap.</summary>
    public static readonly string[] IntervalKinds = ["segmentation", "bootstrap"];

    /// <summary>Metric name → (phase_fractions key or null for contact loss). Phase fractions first, the paper's order.</summary>
    private static readonly (string Metric, string? Phase)[] Metrics =
    [
        ("nmc_fraction", "nmc"), ("lps_fraction", "lps"), ("carbon_fraction", "carbon"), ("void_fraction", "void"), ("contact_loss_fraction", null),
    ];

    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Folders written by `ssbtomo run` (each has metrics.json), in series order.", Arity = ArgumentArity.OneOrMore };
        var labels = new Option<string?>("--labels") { Description = "One label per run, comma-separated, e.g. pristine,10,50 (default: the folder names)." };
        var output = new Option<string>("--out") { Description = "Output folder: series.json, series.csv, void_fraction.png/.svg, contact_loss.png/.svg.", Required = true };
        var command = new Command("series", "Line up finished runs' metrics and say which changes are significant (disjoint intervals).") { runs, labels, output };
        command.SetAction(parse => Run(parse.GetValue(runs)!, parse.GetValue(labels), parse.GetValue(output)!));
        return command;
    }

    /// <summary>Bad input (no metrics.json, malformed JSON, labels that do not match the runs) ends with one sentence naming it and exit code 2.</summary>
    public static int Run(IReadOnlyList<string> runDirs, string? labelList, string outDir, IAnsiConsole? console = null)
    {
        console ??= AnsiConsole.Console;
        Series series;
        try
        {
            var labels = Labels(runDirs, labelList);
            series = Build(runDirs.Select((dir, i) => Load(dir, labels[i])).ToArray());
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException)
        {
            console.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return 2;
        }

        Directory.CreateDirectory(outDir);
        WriteWhole(Path.Combine(outDir, JsonFile), Encoding.UTF8.GetBytes(ToJson(series).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"));
        WriteWhole(Path.Combine(outDir, CsvFile), Encoding.UTF8.GetBytes(ToCsv(series)));
        SeriesPlots.Write(outDir, series);
        Print(console, series);
        return 0;
    }

    /// <summary>One sample: its label, folder, and per metric the value and each kind of interval it has.</summary>
    public sealed record Sample(string Label, string RunDir, double? BootstrapConfidence,
        IReadOnlyDictionary<string, (double Value, IReadOnlyDictionary<string, ValueInterval?> Intervals)> Values);

    public sealed record Series(IReadOnlyList<Sample> Samples,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<IntervalVerdict>>> Verdicts);

    public static string[] Labels(IReadOnlyList<string> runDirs, string? labelList)
    {
        if (runDirs.Count < 2) throw new ArgumentException($"series needs at least two runs, got {runDirs.Count}");
        var labels = labelList is null
            ? runDirs.Select(d => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(d)))).ToArray()
            : labelList.Split(',', StringSplitOptions.TrimEntries);
        if (labels.Length != runDirs.Count)
            throw new ArgumentException($"--labels '{labelList}': {labels.Length} labels for {runDirs.Count} runs");
        if (labels.Any(string.IsNullOrEmpty)) throw new ArgumentException($"--labels '{labelList}': a label is empty");
        var repeated = labels.GroupBy(l => l).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
            throw new ArgumentException($"label '{repeated.Key}' is given to more than one run{(labelList is null ? " (folder names; give --labels)" : "")}");
        return labels;
    }

    /// <summary>Reads what the series needs from a run's metrics.json; anything missing or malformed is a sentence naming the folder.</summary>
    public static Sample Load(string runDir, string label)
    {
        if (!Directory.Exists(runDir)) throw new DirectoryNotFoundException($"{runDir}: no such folder");
        var path = Path.Combine(runDir, "metrics.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"{runDir}: no metrics.json (not a finished `ssbtomo run` folder)", path);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})");
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
            return new Sample(label, runDir, bootstrap?["confidence"] is JsonValue c && c.TryGetValue<double>(out var confidence) ? confidence : null, values);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: {e.Message}");
        }
    }

    /// <summary>Verdicts per metric and interval kind; <see cref="IntervalComparison.Series"/> decides.</summary>
    public static Series Build(IReadOnlyList<Sample> samples) =>
        new(samples, Metrics.ToDictionary(m => m.Metric, m => (IReadOnlyDictionary<string, IReadOnlyList<IntervalVerdict>>)IntervalKinds.ToDictionary(
            kind => kind,
            kind => IntervalComparison.Series(samples.Select(s => new SeriesPoint(s.Label, s.Values[m.Metric].Value, s.Values[m.Metric].Intervals[kind])).ToArray()))));

    public static JsonObject ToJson(Series series)
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
                ["segmentation"] = "metrics.json phase_fraction_intervals / contact_loss_interval: range over the segmentation threshold variants",
                ["bootstrap"] = "metrics.json phase_fraction_bootstrap.intervals: block-bootstrap percentile interval at bootstrap_confidence",
            },
            ["samples"] = new JsonArray(series.Samples.Select(s => (JsonNode)new JsonObject
            {
                ["label"] = s.Label,
                ["run"] = Path.GetFullPath(s.RunDir),
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

    private static void Print(IAnsiConsole console, Series series)
    {
        var table = new Table().AddColumn("metric").AddColumn("from → to").AddColumn("interval").AddColumn("difference").AddColumn("intervals").AddColumn("significant");
        foreach (var (metric, byKind) in series.Verdicts)
            foreach (var (kind, verdicts) in byKind)
                foreach (var v in verdicts)
                    table.AddRow(Markup.Escape(metric), Markup.Escape($"{v.From.Label} → {v.To.Label}"), kind, $"{100 * v.Difference:+0.00;-0.00} pp",
                        $"{Show(v.From.Interval)} / {Show(v.To.Interval)}", v.Significant switch { true => "yes", false => "no", null => "no interval" });
        console.Write(table);
        console.MarkupLineInterpolated($"Rule: {IntervalComparison.Rule}.");
    }

    private static string Show(ValueInterval? i) => i is { } v ? $"{v.Low:P2}–{v.High:P2}" : "–";

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

    private static void WriteWhole(string path, byte[] bytes)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }
}
