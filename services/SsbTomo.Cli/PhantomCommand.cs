using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Metrics;
using SsbTomo.Phantom;
using SsbTomo.Storage;

namespace SsbTomo.Cli;

/// <summary>
/// Writes a synthetic cathode acquisition with its ground truth: stack/*.tif as a FIB-SEM would,
/// truth_labels (OME-Zarr) in the slice-0 frame, and truth.json with the numbers the pipeline should find and every
/// parameter the phantom was made with (<c>phantom_parameters</c>; <c>family_seed</c> for a family member, else
/// <c>preset</c>). Slices are 8- or 16-bit TIFFs as the phantom's bit depth says.
/// </summary>
public static class PhantomCommand
{
    public const int SlabSlices = 16;

    public static Command Create()
    {
        var preset = new Option<PhantomPreset>("--preset") { Description = "pristine, cycled10 or cycled50 (the default).", DefaultValueFactory = _ => PhantomPreset.Cycled50 };
        var family = new Option<int?>("--family")
        {
            Description = "Family seed: draw the microstructure, grey levels, shine-through, artefacts, noise and bit depth from realistic ranges (instead of a preset).",
        };
        var shape = new Option<int[]>("--shape")
        {
            Description = "Slices, height, width (Z,Y,X).",
            CustomParser = r => CliParsing.ParseInts(r, 3),
            DefaultValueFactory = _ => [128, 256, 320],
        };
        var voxelNm = new Option<double>("--voxel-nm") { Description = "Isotropic voxel size in nm (slice thickness and pixel size).", DefaultValueFactory = _ => 50 };
        var seed = new Option<int>("--seed") { Description = "Random seed of a preset; the same seed gives the same bytes (a family member is seeded by its family seed).", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Output folder.", Required = true };
        var command = new Command("phantom", "Generate a synthetic FIB-SEM stack of a composite cathode with ground truth.")
        {
            preset, family, shape, voxelNm, seed, output,
        };
        command.Validators.Add(result =>
        {
            if (result.GetResult(family) is not { Implicit: false }) return;
            if (result.GetResult(preset) is { Implicit: false })
                result.AddError("--family and --preset are mutually exclusive: a family member draws its own microstructure");
            if (result.GetResult(seed) is { Implicit: false })
                result.AddError("--seed applies to presets: a family member is seeded by its family seed (--family SEED)");
        });
        command.SetAction((parse, ct) =>
        {
            int[] zyx = parse.GetValue(shape)!;
            var options = parse.GetValue(family) is { } familySeed
                ? PhantomFamily.Draw(familySeed, zyx[0], zyx[1], zyx[2], parse.GetValue(voxelNm))
                : new PhantomOptions(parse.GetValue(preset), zyx[0], zyx[1], zyx[2], parse.GetValue(voxelNm), parse.GetValue(seed));
            return WriteAsync(options, parse.GetValue(output)!, ct);
        });
        return command;
    }

    public static async Task<int> WriteAsync(PhantomOptions options, string outDir, CancellationToken ct = default)
    {
        var started = Stopwatch.StartNew();
        outDir = Path.GetFullPath(outDir);
        var stackDir = Path.Combine(outDir, "stack");
        Directory.CreateDirectory(stackDir);
        var phantom = CathodePhantom.Create(options);
        var voxelSize = VoxelSize.Isotropic(options.VoxelNm);
        var store = new FileSystemBlobStore(outDir);
        int[] shape = [options.Depth, options.Height, options.Width];
        var truthLabels = await OmeZarr.CreateImageAsync<byte>(store, "truth_labels", "truth_labels", shape,
            [SlabSlices, Math.Min(512, options.Height), Math.Min(512, options.Width)], voxelSize, ct: ct);

        var accumulator = new MicrostructureAccumulator();
        var digits = Math.Max(4, options.Depth.ToString().Length);
        for (var z0 = 0; z0 < options.Depth; z0 += SlabSlices)
        {
            var z1 = Math.Min(options.Depth, z0 + SlabSlices);
            var labels = phantom.RenderLabels(z0, z1);
            accumulator.Add(labels);
            await truthLabels.WriteRegionAsync(z0, 0, 0, labels, ct);
            Parallel.For(z0, z1, z =>
            {
                var path = Path.Combine(stackDir, $"slice_{z.ToString().PadLeft(digits, '0')}.tif");
                if (phantom.BitDepth == 16) TiffSliceWriter.Write(path, phantom.RenderSlice16(z), voxelSize);
                else TiffSliceWriter.Write(path, phantom.RenderSlice(z), voxelSize);
            });
        }

        var truth = JsonSerializer.SerializeToNode(MetricsReport.From(accumulator.Result(), voxelSize, shape), MetricsReport.Json)!.AsObject();
        if (options.FamilySeed is { } familySeed) truth["family_seed"] = familySeed;
        else if (options.Parameters is null) truth["preset"] = options.Preset.ToString().ToLowerInvariant();
        truth["seed"] = options.Seed;
        truth["bit_depth"] = phantom.BitDepth;
        truth["phantom_parameters"] = phantom.Parameters.ToJson();
        truth["artefacts"] = new JsonArray(ArtefactDescription.For(phantom.Parameters.Appearance).Select(line => (JsonNode)JsonValue.Create(line)!).ToArray());
        truth["drift_px"] = new JsonArray(Enumerable.Range(0, options.Depth)
            .Select(z => phantom.DriftPx(z))
            .Select(d => (JsonNode)new JsonArray(Math.Round(d.Dy, 4), Math.Round(d.Dx, 4)))
            .ToArray());
        await File.WriteAllTextAsync(Path.Combine(outDir, "truth.json"), truth.ToJsonString(MetricsReport.Json), ct);

        AnsiConsole.MarkupLineInterpolated(
            $"Phantom {options.Describe()} ({phantom.BitDepth}-bit) {options.Depth}x{options.Height}x{options.Width} at {options.VoxelNm} nm written to [bold]{outDir}[/] in {started.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }
}
