using System.Globalization;
using System.Text;
using SsbTomo.Phantom;

namespace SsbTomo.Cli;

/// <summary>One phantom of a sweep measured end to end: what was drawn and how the run compares with its truth.</summary>
public sealed record SweepResult(string Name, PhantomOptions Options, PhantomComparison? Comparison, string? Failure, double Seconds)
{
    /// <summary>Slices whose registration alignment did not trust (none should be, on a phantom without bad frames).</summary>
    public int UntrustedSlices => Comparison?.UntrustedSlices ?? 0;

    public bool Completed => Comparison is not null;
}

/// <summary>
/// Runs phantoms (family draws and presets) through the whole embedded pipeline and compares each with its truth:
/// the measure of how far segmentation generalises beyond one phantom (issue: segmentation that generalises).
/// </summary>
public static class FamilySweep
{
    public static async Task<SweepResult> RunOneAsync(string name, PhantomOptions options, string workDir, int chunkSlices = 16, CancellationToken ct = default)
    {
        var phantomDir = Path.Combine(workDir, name, "phantom");
        var runDir = Path.Combine(workDir, name, "run");
        var started = System.Diagnostics.Stopwatch.StartNew();
        await PhantomCommand.WriteAsync(options, phantomDir, ct);
        var exit = await RunCommand.RunAsync(Path.Combine(phantomDir, "stack"), runDir, null, chunkSlices, verbose: false, ct);
        if (exit != 0)
        {
            var log = Path.Combine(runDir, "ssbtomo.log");
            return new SweepResult(name, options, null, File.Exists(log) ? File.ReadLines(log).LastOrDefault() ?? $"exit code {exit}" : $"exit code {exit}", started.Elapsed.TotalSeconds);
        }
        var comparison = await PhantomComparison.LoadAsync(phantomDir, runDir, ct);
        return new SweepResult(name, options, comparison, null, started.Elapsed.TotalSeconds);
    }

    /// <summary>A fixed-width table, one row per phantom, then the share of phantoms inside each target.</summary>
    public static string Table(IReadOnlyList<SweepResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| phantom | drawn | void truth | void err pp | carbon err pp | NMC err pp | LPS err pp | contact loss err pp | Dice void | Dice carbon | Dice NMC | Dice LPS | drift RMS px | untrusted slices | s | denoise σ |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var drawn = Describe(r.Options);
            if (r.Comparison is not { } c)
            {
                text.AppendLine($"| {r.Name} | {drawn} | failed: {r.Failure} |");
                continue;
            }
            string Err(string phase) => F(100 * (c.PhaseFractions[phase].Measured - c.PhaseFractions[phase].Truth), "+0.00;-0.00;0.00");
            text.AppendLine(string.Join(" | ",
                $"| {r.Name}", drawn, F(100 * c.PhaseFractions["void"].Truth, "0.00"), Err("void"), Err("carbon"), Err("nmc"), Err("lps"),
                F(c.ContactLossErrorPercentPoints, "+0.00;-0.00;0.00"), F(c.Dice["void"], "0.000"), F(c.Dice["carbon"], "0.000"),
                F(c.Dice["nmc"], "0.000"), F(c.Dice["lps"], "0.000"), F(c.DriftRmsErrorPx, "0.00"), r.UntrustedSlices.ToString(CultureInfo.InvariantCulture), F(r.Seconds, "0"),
                (c.DenoiseSigma is { } sigma ? F(sigma, "0.0") : "—") + " |"));
        }
        var done = results.Where(r => r.Completed).Select(r => r.Comparison!).ToArray();
        text.AppendLine();
        text.AppendLine($"completed {done.Length}/{results.Count}");
        if (done.Length == 0) return text.ToString();
        double Share(Func<PhantomComparison, bool> inside) => (double)done.Count(inside) / results.Count;
        double Median(Func<PhantomComparison, double> of) => done.Select(of).Order().ElementAt(done.Length / 2);
        text.AppendLine($"void within ±0.5 pp: {Share(c => Math.Abs(c.VoidErrorPercentPoints) <= 0.5):P0}; within ±1.5 pp: {Share(c => Math.Abs(c.VoidErrorPercentPoints) <= 1.5):P0}");
        text.AppendLine($"contact loss within ±2 pp: {Share(c => Math.Abs(c.ContactLossErrorPercentPoints) <= 2):P0}; drift RMS ≤ 0.5 px: {Share(c => c.DriftRmsErrorPx <= 0.5):P0}");
        text.AppendLine($"median Dice: void {Median(c => c.Dice["void"]):0.000}, carbon {Median(c => c.Dice["carbon"]):0.000}, NMC {Median(c => c.Dice["nmc"]):0.000}, LPS {Median(c => c.Dice["lps"]):0.000}");
        return text.ToString();
    }

    /// <summary>The drawn parameters that matter most for segmentation, in one cell.</summary>
    public static string Describe(PhantomOptions options)
    {
        var p = options.Parameters;
        if (p is null) return options.Preset.ToString().ToLowerInvariant();
        var a = p.Appearance;
        var storage = PhantomFamily.StorageOf(a);
        return string.Create(CultureInfo.InvariantCulture,
            $"{storage} ~{PhantomFamily.OccupiedLevels(a):0} levels; grey v/c/l/n {a.VoidGrey:0}/{a.CarbonGrey:0}/{a.LpsGrey:0}/{a.NmcGrey:0}; shine {a.ShineThroughStrength:0.00}/{a.ShineThroughDecaySlices:0.0} sl; noise {a.NoiseSigma(a.NmcGrey):0.0}; blur {a.BlurSigmaPx:0.00}");
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
