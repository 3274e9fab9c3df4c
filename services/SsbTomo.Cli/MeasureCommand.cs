using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Metrics;
using SsbTomo.Storage;

namespace SsbTomo.Cli;

/// <summary><c>ssbtomo measure</c>: the metrics of an existing label volume, without the other stages.</summary>
public static class MeasureCommand
{
    public static Command Create()
    {
        var labels = new Argument<string>("labels") { Description = "OME-Zarr label image (e.g. a run's aligned.zarr/labels/phases), multi-page TIFF, or folder of TIFF slices." };
        var phases = new Option<NamedPhase[]?>("--phase-values")
        {
            Description = "The phases as name=value pairs, e.g. nmc=1,lps=2,carbon=3,void=4 or pore=0,nmc=85,cbd=170 (0 is a phase when named). At most 4.",
            Required = true,
            CustomParser = ParsePhases,
        };
        var voxelSize = new Option<double[]?>("--voxel-size-nm")
        {
            Description = "Voxel size X,Y,Z in nm; overrides the file's. Without either, lengths are in voxels.",
            CustomParser = r => CliParsing.ParseDoubles(r, 3),
        };
        var output = new Option<string>("--out") { Description = "Output folder: measure.json and metrics.csv.", Required = true };
        var tortuosityPhase = new Option<string?>("--tortuosity-phase")
        {
            Description = "Phase whose tortuosity factor is solved (default: the phase named pore or void, if any; 'none' skips it).",
        };
        var axis = new Option<int>("--axis") { Description = "Transport axis of the tortuosity: 0 = z (slices), 1 = y, 2 = x.", DefaultValueFactory = _ => 0 };
        axis.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 2) r.AddError("--axis must be 0 (z), 1 (y) or 2 (x)");
        });
        var command = new Command("measure", "Measure an existing label volume (phase fractions, surface and interface areas, components, tortuosity).")
        {
            labels, phases, voxelSize, output, tortuosityPhase, axis,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(labels)!, parse.GetValue(phases)!, parse.GetValue(voxelSize), parse.GetValue(output)!,
            parse.GetValue(tortuosityPhase), parse.GetValue(axis), ct));
        return command;
    }

    public static async Task<int> RunAsync(string source, NamedPhase[] named, double[]? voxelSizeNm, string outDir, string? tortuosityPhase, int axis,
        CancellationToken ct, IAnsiConsole? console = null)
    {
        console ??= AnsiConsole.Console;
        int Fail(string sentence)
        {
            console.MarkupLineInterpolated($"[red]{sentence}[/]");
            return 2;
        }
        var clock = Stopwatch.StartNew();
        PhaseTable table;
        try
        {
            table = new PhaseTable(named);
        }
        catch (ArgumentException e)
        {
            return Fail($"--phase-values: {e.Message.Split(" (Parameter")[0]}");
        }
        byte tortuosityLabel = 0;
        if (tortuosityPhase is null)
            tortuosityLabel = table.LabelOf("pore") ?? table.LabelOf("void") ?? 0;
        else if (!string.Equals(tortuosityPhase, "none", StringComparison.OrdinalIgnoreCase))
            tortuosityLabel = table.LabelOf(tortuosityPhase) ?? 0;
        if (tortuosityPhase is not null && tortuosityLabel == 0 && !string.Equals(tortuosityPhase, "none", StringComparison.OrdinalIgnoreCase))
            return Fail($"--tortuosity-phase {tortuosityPhase}: no phase of that name in --phase-values ({string.Join(", ", named.Select(p => p.Name))})");

        LabelVolumeFile file;
        try
        {
            file = await LabelVolumeReader.ReadAsync(source, ct);
        }
        catch (TiffStackException e)
        {
            return Fail(e.Message);
        }
        var (mapped, unclassified) = table.Map(file.Values);
        if (unclassified.Count > 0) console.MarkupLineInterpolated($"[yellow]warning:[/] {MeasureReport.UnclassifiedSentence(source, unclassified)}");
        var voxelSize = voxelSizeNm is { Length: 3 } v ? new VoxelSize(v[0], v[1], v[2]) : file.VoxelSize ?? VoxelSize.Isotropic(1000);
        var voxelSource = voxelSizeNm is { Length: 3 } ? "override (--voxel-size-nm)" : file.VoxelSize is not null ? $"file ({file.Format})" : null;

        var metrics = LabelVolumeMeasurement.Measure(mapped, table, voxelSize, tortuosityLabel, axis);
        foreach (var p in named.Where(p => metrics.Voxels[table.LabelOf(p.Name)!.Value] == 0))
            console.MarkupLineInterpolated($"[yellow]warning:[/] {Path.GetFileName(source.TrimEnd('/'))}: no voxel holds {p.Value} ({p.Name}); is --phase-values right for this volume?");
        var report = new MeasureReport(metrics, Path.GetFullPath(source), file.Format, voxelSource, unclassified, Tortuosity.DefaultTolerance, clock.Elapsed);
        Directory.CreateDirectory(outDir);
        await File.WriteAllBytesAsync(Path.Combine(outDir, "measure.json"), report.ToJsonBytes(), ct);
        await File.WriteAllTextAsync(Path.Combine(outDir, "metrics.csv"), report.ToCsv(), ct);
        Print(console, metrics, voxelSource is null, clock.Elapsed);
        console.MarkupLineInterpolated($"wrote {Path.Combine(outDir, "measure.json")} and metrics.csv");
        return 0;
    }

    private static void Print(IAnsiConsole console, LabelVolumeMetrics m, bool voxelUnits, TimeSpan wall)
    {
        var unit = voxelUnits ? "/voxel" : "/µm";
        var table = new Table().AddColumn("phase").AddColumn("volume fraction").AddColumn($"specific surface, face count ({unit})")
            .AddColumn($"specific surface, marching cubes ({unit})").AddColumn("components (26-conn.)");
        for (byte l = 1; l <= m.Phases.Phases.Count; l++)
            table.AddRow(m.Phases.NameOf(l), F(m.VolumeFraction(l), "0.000000"), F(m.Surfaces.FaceCountSurfaceUm2(l) / m.TotalVolumeUm3, "0.00000000"),
                F(m.Surfaces.MarchingCubesSurfaceUm2[l] / m.TotalVolumeUm3, "0.00000000"), $"{m.Components[l].Count}");
        console.Write(table);
        if (m.Tortuosity is { } t)
            console.MarkupLineInterpolated(
                $"tortuosity factor of {m.Phases.NameOf(m.TortuosityPhase)} along axis {t.Axis} ({"zyx"[t.Axis]}): {F(t.Factor, "0.0000")} (D_eff/D0 {F(t.RelativeDiffusivity, "0.00000")}, {t.Iterations} iterations, relative residual {t.RelativeResidual:0.0e0})");
        console.MarkupLineInterpolated($"measured in {wall.TotalSeconds:0.0} s");
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>"pore=0,nmc=85,cbd=170" as named phases.</summary>
    public static NamedPhase[]? ParsePhases(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(",", result.Tokens.Select(t => t.Value));
        var phases = new List<NamedPhase>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pair = part.Split('=', StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || pair[0].Length == 0 || !int.TryParse(pair[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                result.AddError($"--phase-values '{part}': expected name=value, e.g. pore=0");
                return null;
            }
            phases.Add(new NamedPhase(pair[0], value));
        }
        if (phases.Count == 0) result.AddError("--phase-values: name at least one phase, e.g. pore=0,nmc=85,cbd=170");
        return [.. phases];
    }
}
