using System.CommandLine;
using Spectre.Console;

namespace SsbTomo.Cli;

public static class CompareCommand
{
    public static Command Create()
    {
        var phantom = new Argument<string>("phantom") { Description = "Folder written by `ssbtomo phantom` (has truth.json)." };
        var run = new Argument<string>("run") { Description = "Folder written by `ssbtomo run` (has metrics.json, alignment.json)." };
        var command = new Command("compare", "Compare a run's metrics and drift with a phantom's truth.") { phantom, run };
        command.SetAction(async (parse, ct) => Print(await PhantomComparison.LoadAsync(parse.GetValue(phantom)!, parse.GetValue(run)!, ct)));
        return command;
    }

    private static int Print(PhantomComparison c)
    {
        var table = new Table().AddColumn("quantity").AddColumn("truth (run's crop)").AddColumn("measured").AddColumn("error").AddColumn("Dice").AddColumn("interval (truth inside?)");
        foreach (var (phase, (truth, measured)) in c.PhaseFractions)
            table.AddRow($"{phase} fraction", $"{truth:P2}", $"{measured:P2}", $"{100 * (measured - truth):+0.00;-0.00;0.00} pp", $"{c.Dice[phase]:0.000}",
                c.FractionIntervals?.TryGetValue(phase, out var interval) == true ? Interval(interval, truth) : "");
        table.AddRow("contact loss", $"{c.ContactLoss.Truth:P2}", $"{c.ContactLoss.Measured:P2}", $"{c.ContactLossErrorPercentPoints:+0.00;-0.00;0.00} pp", "",
            c.ContactLossInterval is { } loss ? Interval(loss, c.ContactLoss.Truth) : "");
        table.AddRow("void components", $"{c.VoidComponents.Truth}", $"{c.VoidComponents.Measured}", "");
        table.AddRow("drift RMS error", "", "", $"{c.DriftRmsErrorPx:0.000} px (max {c.DriftMaxErrorPx:0.000})");
        AnsiConsole.Write(table);
        foreach (var warning in c.Warnings) AnsiConsole.MarkupLineInterpolated($"[yellow]warning:[/] {warning}");
        return 0;
    }

    private static string Interval((double Low, double High) interval, double truth) =>
        $"{interval.Low:P2}–{interval.High:P2} ({(interval.Low <= truth && truth <= interval.High ? "yes" : "no")})";
}
