using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Orchestrator;
using static SsbTomo.Orchestrator.SeriesComparison;

namespace SsbTomo.Cli;

/// <summary>
/// <c>ssbtomo series</c>: finished runs' metrics.json side by side (pristine, 10 cycles, 50 cycles, ...), with a verdict
/// for each change of a metric that has an interval (<see cref="SeriesComparison"/>), written as series.json,
/// series.csv and error-bar plots.
/// </summary>
public static class SeriesCommand
{
    public const string JsonFile = "series.json";
    public const string CsvFile = "series.csv";

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
            series = SeriesComparison.Build(runDirs.Select((dir, i) => Load(dir, labels[i])).ToArray());
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException)
        {
            console.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return 2;
        }

        Directory.CreateDirectory(outDir);
        WriteWhole(Path.Combine(outDir, JsonFile), Encoding.UTF8.GetBytes(SeriesComparison.ToJson(series, "run").ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"));
        WriteWhole(Path.Combine(outDir, CsvFile), Encoding.UTF8.GetBytes(SeriesComparison.ToCsv(series)));
        SeriesPlots.Write(outDir, series);
        Print(console, series);
        return 0;
    }

    /// <summary>The run folders' names, or <paramref name="labelList"/>: one label per run.</summary>
    public static string[] Labels(IReadOnlyList<string> runDirs, string? labelList) =>
        SeriesComparison.Labels([.. runDirs.Select(d => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(d))))], labelList, "--labels");

    /// <summary>A run's metrics.json as a sample; a missing folder or file, or anything malformed, is a sentence naming it.</summary>
    public static Sample Load(string runDir, string label)
    {
        if (!Directory.Exists(runDir)) throw new DirectoryNotFoundException($"{runDir}: no such folder");
        var path = Path.Combine(runDir, "metrics.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"{runDir}: no metrics.json (not a finished `ssbtomo run` folder)", path);
        return SeriesComparison.Load(File.ReadAllBytes(path), label, Path.GetFullPath(runDir), path);
    }

    private static void Print(IAnsiConsole console, Series series)
    {
        var table = new Table().AddColumn("metric").AddColumn("from → to").AddColumn("interval").AddColumn("difference").AddColumn("intervals").AddColumn("significant");
        foreach (var (metric, byKind) in series.Verdicts)
            foreach (var (kind, verdicts) in byKind)
                foreach (var v in verdicts)
                    table.AddRow(Markup.Escape(metric), Markup.Escape($"{v.From.Label} → {v.To.Label}"), kind, $"{100 * v.Difference:+0.00;-0.00;0.00} pp",
                        $"{Show(v.From.Interval)} / {Show(v.To.Interval)}", v.Significant switch { true => "yes", false => "no", null => "no interval" });
        console.Write(table);
        console.MarkupLineInterpolated($"Rule: {IntervalComparison.Rule}.");
    }

    private static string Show(ValueInterval? i) => i is { } v ? $"{v.Low:P2}–{v.High:P2}" : "–";

    private static void WriteWhole(string path, byte[] bytes)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }
}
