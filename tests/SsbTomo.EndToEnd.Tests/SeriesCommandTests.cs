using System.Text.Json;
using Spectre.Console;
using SsbTomo.Cli;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class SeriesCommandTests
{
    private static string Metrics(double voidFraction, double voidLow, double voidHigh, double loss, double lossLow, double lossHigh) => $$$$"""
        {"phase_fractions":{"nmc":0.40,"lps":0.50,"carbon":0.08,"void":{{{{voidFraction}}}}},"contact_loss_fraction":{{{{loss}}}},
         "phase_fraction_intervals":{"nmc":[0.39,0.41],"lps":[0.49,0.51],"carbon":[0.07,0.09],"void":[{{{{voidLow}}}},{{{{voidHigh}}}}]},
         "contact_loss_interval":[{{{{lossLow}}}},{{{{lossHigh}}}}],
         "phase_fraction_bootstrap":{"confidence":0.95,"intervals":{"nmc":[0.38,0.42],"lps":[0.48,0.52],"carbon":[0.075,0.085],"void":[{{{{voidLow}}}},{{{{voidHigh}}}}]}}}
        """;

    private static (IAnsiConsole Console, StringWriter Output) Capture()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Out = new AnsiConsoleOutput(writer) });
        console.Profile.Width = 1000;
        return (console, writer);
    }

    [Fact]
    public void Series_of_two_runs_writes_verdicts_csv_and_plots()
    {
        using var dir = new TempDirectory();
        var a = Directory.CreateDirectory(Path.Combine(dir.Path, "a")).FullName;
        var b = Directory.CreateDirectory(Path.Combine(dir.Path, "b")).FullName;
        File.WriteAllText(Path.Combine(a, "metrics.json"), Metrics(0.02, 0.015, 0.025, 0.05, 0.04, 0.06));
        // void moves out of its interval; contact loss moves but its intervals still share 0.06.
        File.WriteAllText(Path.Combine(b, "metrics.json"), Metrics(0.05, 0.045, 0.055, 0.07, 0.06, 0.08));
        var outDir = Path.Combine(dir.Path, "out");
        var (console, output) = Capture();

        Assert.True(SeriesCommand.Run([a, b], "pristine,50", outDir, console) == 0, output.ToString());

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "series.json")));
        var metrics = json.RootElement.GetProperty("metrics");
        JsonElement Comparison(string metric, string kind) =>
            metrics.GetProperty(metric).GetProperty("comparisons").EnumerateArray().Single(c => c.GetProperty("interval").GetString() == kind);
        var voidSeg = Comparison("void_fraction", "segmentation");
        Assert.Equal("pristine", voidSeg.GetProperty("from").GetString());
        Assert.Equal("50", voidSeg.GetProperty("to").GetString());
        Assert.Equal(0.03, voidSeg.GetProperty("difference").GetDouble(), 12);
        Assert.True(voidSeg.GetProperty("significant").GetBoolean());
        Assert.False(Comparison("contact_loss_fraction", "segmentation").GetProperty("significant").GetBoolean());
        Assert.Equal(JsonValueKind.Null, Comparison("contact_loss_fraction", "bootstrap").GetProperty("significant").ValueKind);
        Assert.Contains("disjoint", json.RootElement.GetProperty("rule").GetString());

        var csv = File.ReadAllLines(Path.Combine(outDir, "series.csv"));
        Assert.Equal("label,metric,value,segmentation_low,segmentation_high,bootstrap_low,bootstrap_high,bootstrap_confidence", csv[0]);
        Assert.Contains("50,void_fraction,0.05,0.045,0.055,0.045,0.055,0.95", csv);
        Assert.Contains("pristine,contact_loss_fraction,0.05,0.04,0.06,,,0.95", csv);
        Assert.Equal(1 + 5 * 2, csv.Length);

        foreach (var file in new[] { "void_fraction.png", "void_fraction.svg", "contact_loss.png", "contact_loss.svg" })
            Assert.True(new FileInfo(Path.Combine(outDir, file)).Length > 1000, file);
    }

    [Fact]
    public void Series_refuses_a_folder_without_metrics_or_with_malformed_metrics_naming_the_folder()
    {
        using var dir = new TempDirectory();
        var good = Directory.CreateDirectory(Path.Combine(dir.Path, "good")).FullName;
        File.WriteAllText(Path.Combine(good, "metrics.json"), Metrics(0.02, 0.015, 0.025, 0.05, 0.04, 0.06));
        var empty = Directory.CreateDirectory(Path.Combine(dir.Path, "empty")).FullName;
        var broken = Directory.CreateDirectory(Path.Combine(dir.Path, "broken")).FullName;
        File.WriteAllText(Path.Combine(broken, "metrics.json"), "{\"phase_fractions\": ");

        var (console, output) = Capture();
        Assert.Equal(2, SeriesCommand.Run([good, empty], null, Path.Combine(dir.Path, "o1"), console));
        Assert.Contains($"{empty}: no metrics.json", output.ToString());
        Assert.Equal(2, SeriesCommand.Run([good, broken], null, Path.Combine(dir.Path, "o2"), console));
        Assert.Contains(Path.Combine(broken, "metrics.json") + ": not valid JSON", output.ToString());
        Assert.Equal(2, SeriesCommand.Run([good, good], "x", Path.Combine(dir.Path, "o3"), console));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "o1")));
    }
}
