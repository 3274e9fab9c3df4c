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
        var labels = new Option<string?>("--labels")
        {
            Description = "A segmented microstructure (multi-page TIFF of integer labels, milled along its pages) to image instead of drawn shapes: "
                + "a real cathode's segmentation from another project. Needs --phase-values; --preset or --family then give the look, artefacts and drift.",
        };
        var phases = new Option<NamedPhase[]?>("--phase-values")
        {
            Description = "With --labels: the phases as name=value pairs, e.g. lps=0,nmc=85,carbon=170 (phases nmc, lps, carbon, void; every value in the file needs one).",
            CustomParser = MeasureCommand.ParsePhases,
        };
        var voidPercent = new Option<double?>("--void-percent")
        {
            Description = "With --labels: carve pores into the electrolyte until this share of the volume is void (default: the preset's or family draw's void fraction when no label is void, else none).",
        };
        var upsample = new Option<int>("--upsample")
        {
            Description = "With --labels: phantom voxels per label voxel along each axis (2: the microstructure imaged at half its segmentation's voxel size).",
            DefaultValueFactory = _ => 1,
        };
        upsample.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 8) r.AddError("--upsample must be 1 to 8");
        });
        var command = new Command("phantom", "Generate a synthetic FIB-SEM stack of a composite cathode with ground truth.")
        {
            preset, family, shape, voxelNm, seed, output, labels, phases, voidPercent, upsample,
        };
        command.Validators.Add(result =>
        {
            var hasLabels = result.GetResult(labels) is { Implicit: false };
            if (hasLabels != result.GetResult(phases) is { Implicit: false })
                result.AddError("--labels and --phase-values go together: the file's label values need their phases (e.g. --phase-values lps=0,nmc=85,carbon=170)");
            if (!hasLabels && result.GetResult(voidPercent) is { Implicit: false })
                result.AddError("--void-percent applies to --labels: a drawn phantom's void comes from its preset or family draw");
            if (!hasLabels && result.GetResult(upsample) is { Implicit: false })
                result.AddError("--upsample applies to --labels");
        });
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
            if (parse.GetValue(labels) is not { } labelFile) return WriteAsync(options, parse.GetValue(output)!, ct);
            var shapeGiven = parse.GetResult(shape) is { Implicit: false };
            return FromLabelsOrSayWhyAsync(labelFile, parse.GetValue(phases)!, parse.GetValue(voidPercent), parse.GetValue(upsample),
                shapeGiven ? zyx : null, options, parse.GetValue(output)!, ct);
        });
        return command;
    }

    public static Task<int> WriteAsync(PhantomOptions options, string outDir, CancellationToken ct = default) =>
        WriteAsync(CathodePhantom.Create(options), outDir, new JsonObject(), ct);

    /// <summary>A label file that cannot be imaged is the user's to fix: its sentence, exit code 2, no stack trace.</summary>
    private static async Task<int> FromLabelsOrSayWhyAsync(string labelFile, NamedPhase[] phaseMap, double? voidPercent, int upsample, int[]? shape,
        PhantomOptions look, string outDir, CancellationToken ct)
    {
        try
        {
            return await WriteFromLabelsAsync(labelFile, phaseMap, voidPercent, upsample, shape, look, outDir, ct);
        }
        catch (Exception e) when (e is ArgumentException or TiffStackException or InvalidDataException or IOException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return 2;
        }
    }

    /// <summary>
    /// A phantom of a given microstructure (<see cref="CathodePhantom.FromLabels"/>): the label file's values mapped to
    /// phases by <paramref name="phaseMap"/>, pores carved into its electrolyte (<see cref="LabelSpecimen.CarvePores"/>, radii
    /// and share at the particles as <see cref="LabelSpecimen.PoreMinRadiusVoxels"/> and its neighbours say) when asked or when no label is void, each label voxel
    /// <paramref name="upsample"/>³ phantom voxels, and the look of <paramref name="look"/>. Without <paramref name="shape"/> the
    /// whole file: its slices but the last ones that the deepest pores show through, its field inside the drift's margin;
    /// with it, that many slices from the first and a centred field of about that size (whole label voxels; the file must
    /// hold it and the margin).
    /// </summary>
    public static async Task<int> WriteFromLabelsAsync(string labelFile, IReadOnlyList<NamedPhase> phaseMap, double? voidPercent, int upsample, int[]? shape,
        PhantomOptions look, string outDir, CancellationToken ct = default)
    {
        labelFile = Path.GetFullPath(labelFile);
        var mapping = LabelFileSpecimen.PhasesOf(phaseMap);
        var values = (await LabelVolumeReader.ReadAsync(labelFile, ct)).Values;
        var shine = look.Resolved.Appearance.ShineThroughDepth + 2;
        var depth = Math.Min(shape?[0] ?? int.MaxValue, values.Depth * upsample - shine);
        if (depth < 1)
            throw new ArgumentException($"{labelFile} has {values.Depth} slices; the stack needs more than the {shine} its pores show through");
        var margin = CathodePhantom.MarginFor(look with { Depth = depth });
        var (fullHeight, fullWidth) = (values.Height * upsample, values.Width * upsample);
        var (height, width) = shape is null ? (fullHeight - 2 * margin, fullWidth - 2 * margin) : (shape[1], shape[2]);
        if (height + 2 * margin > fullHeight || width + 2 * margin > fullWidth || height < 8 || width < 8)
            throw new ArgumentException($"{labelFile} is {values.Height}x{values.Width} label voxels ({fullHeight}x{fullWidth} phantom voxels at --upsample {upsample}): "
                + $"a {height}x{width} field needs {height + 2 * margin}x{width + 2 * margin} with this stack's drift margin of {margin} px");
        int LabelVoxels(int phantomVoxels, int available) => Math.Min(available, (phantomVoxels + upsample - 1) / upsample);
        var specimenLabels = LabelFileSpecimen.Crop(values, labelFile, mapping, LabelVoxels(depth + shine, values.Depth),
            LabelVoxels(height + 2 * margin, values.Height), LabelVoxels(width + 2 * margin, values.Width));
        var carvedPercent = voidPercent ?? (mapping.ContainsValue(PhaseLabel.Void) ? 0 : 100 * look.Resolved.Microstructure.VoidFraction);
        var reached = carvedPercent > 0
            ? LabelSpecimen.CarvePores(specimenLabels, carvedPercent / 100, LabelSpecimen.PoreMinRadiusVoxels, LabelSpecimen.PoreMaxRadiusVoxels,
                LabelSpecimen.PoresAtParticlesShare, look.FamilySeed ?? look.Seed)
            : 0;
        var phantom = CathodePhantom.FromLabels(new LabelSpecimen(specimenLabels, margin, upsample), look with { Depth = depth });
        var specimen = new JsonObject
        {
            ["labels"] = labelFile,
            ["phase_values"] = string.Join(",", phaseMap.Select(p => $"{p.Name}={p.Value}")),
            ["upsample"] = upsample,
            ["void_percent_carved"] = Math.Round(100 * reached, 4),
        };
        return await WriteAsync(phantom, outDir, new JsonObject { ["specimen"] = specimen }, ct);
    }

    private static async Task<int> WriteAsync(CathodePhantom phantom, string outDir, JsonObject extra, CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        var options = phantom.Options;
        outDir = Path.GetFullPath(outDir);
        var stackDir = Path.Combine(outDir, "stack");
        Directory.CreateDirectory(stackDir);
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
        foreach (var (key, value) in extra) truth[key] = value?.DeepClone();
        await File.WriteAllTextAsync(Path.Combine(outDir, "truth.json"), truth.ToJsonString(MetricsReport.Json), ct);

        AnsiConsole.MarkupLineInterpolated(
            $"Phantom {options.Describe()} ({phantom.BitDepth}-bit) {options.Depth}x{options.Height}x{options.Width} at {options.VoxelNm} nm written to [bold]{outDir}[/] in {started.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }
}
