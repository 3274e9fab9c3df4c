using System.Text.Json;
using Spectre.Console;
using SsbTomo.Cli;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class MeasureCommandTests
{
    private const string Electrode = "/work/shared/data/taufactor/electrode.tiff";
    private static readonly NamedPhase[] TauFactorPhases = [new("pore", 0), new("nmc", 85), new("cbd", 170)];

    [Fact]
    public async Task Measure_on_TauFactors_electrode_writes_TauFactors_published_numbers()
    {
        Assert.True(File.Exists(Electrode), $"{Electrode} is missing");
        using var dir = new TempDirectory();
        var console = new CapturedConsole();
        var code = await MeasureCommand.RunAsync(Electrode, TauFactorPhases, null, dir.Path, null, 0, CancellationToken.None, console.Console);
        Assert.True(code == 0, console.Output);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "measure.json")));
        var root = json.RootElement;
        double Get(params string[] path) => path.Aggregate(root, (e, p) => e.GetProperty(p)).GetDouble();

        // SOURCE.txt: TauFactor's notebook outputs for this volume (pore 0, NMC 85, carbon-binder 170).
        Assert.Equal(0.449917, Get("volume_fractions", "values", "pore"), 6);
        Assert.Equal(0.400466, Get("volume_fractions", "values", "nmc"), 6);
        Assert.Equal(0.149616, Get("volume_fractions", "values", "cbd"), 6);
        Assert.Equal(0.30683690, Get("surface_areas", "face_count", "specific_surface", "pore"), 8);
        Assert.Equal(0.14610451, Get("surface_areas", "face_count", "specific_surface", "nmc"), 8);
        Assert.Equal(0.34222639, Get("surface_areas", "face_count", "specific_surface", "cbd"), 8);
        // Unsmoothed marching cubes with skimage's tie rule on binary data (MarchingCubes): within the 0.5 %.
        foreach (var (phase, skimage) in new[] { ("pore", 0.22268115), ("nmc", 0.10418400), ("cbd", 0.25399911) })
            Assert.Equal(skimage, Get("surface_areas", "marching_cubes", "specific_surface", phase), 0.005 * skimage);
        Assert.Equal(2.0776, Get("tortuosity", "tortuosity_factor"), 2.0776 * 0.01);
        Assert.Equal("pore", root.GetProperty("tortuosity").GetProperty("phase").GetString());
        Assert.Equal(789, Get("components", "pore", "count")); // scipy.ndimage.label, 26-connected (SOURCE.txt)
        Assert.Contains("nmc and void", root.GetProperty("contact_loss").GetProperty("left_out").GetString());
        Assert.Contains("0.30683690", console.Output);

        var csv = File.ReadAllLines(Path.Combine(dir.Path, "metrics.csv"));
        Assert.Equal("quantity,phase,value,unit,method", csv[0]);
        Assert.Contains(csv, l => l.StartsWith("specific_surface_area_face_count,pore,0.3068369", StringComparison.Ordinal));
        Assert.Contains(csv, l => l.StartsWith("tortuosity_factor_axis0,pore,2.07", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Values_no_phase_names_are_counted_and_left_unclassified_and_named_values_absent_from_the_volume_are_reported()
    {
        using var dir = new TempDirectory();
        var stack = Path.Combine(dir.Path, "stack");
        Directory.CreateDirectory(stack);
        for (var z = 0; z < 6; z++)
        {
            var image = new Image2D<byte>(8, 8);
            for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (byte)(i % 8 < 4 ? 10 : i % 8 == 7 ? 42 : 20);
            TiffSliceWriter.Write(Path.Combine(stack, $"s{z}.tif"), image, VoxelSize.Isotropic(50));
        }
        var console = new CapturedConsole();
        var code = await MeasureCommand.RunAsync(stack, [new("nmc", 10), new("lps", 20), new("void", 99)], null, Path.Combine(dir.Path, "out"), "none", 0,
            CancellationToken.None, console.Console);
        Assert.True(code == 0, console.Output);
        var output = console.Output.Replace("\n", " ");
        Assert.Contains("stack: 48 voxels hold values no phase is named for (42: 48)", output);
        Assert.Contains("left unclassified", output);
        Assert.Contains("no voxel holds 99 (void)", output);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "out", "measure.json")));
        Assert.Equal(48, json.RootElement.GetProperty("unclassified").GetProperty("voxels").GetInt64());
        Assert.Equal(4.0 / 7, json.RootElement.GetProperty("volume_fractions").GetProperty("values").GetProperty("nmc").GetDouble(), 12);
        Assert.Equal(50, json.RootElement.GetProperty("voxel_size_nm")[0].GetDouble());
    }

    [Fact]
    public async Task Bad_input_gets_a_sentence_naming_the_file_or_the_option()
    {
        using var dir = new TempDirectory();
        var text = Path.Combine(dir.Path, "labels.raw");
        File.WriteAllText(text, "not an image");
        var console = new CapturedConsole();
        Assert.Equal(2, await MeasureCommand.RunAsync(text, TauFactorPhases, null, dir.Path, null, 0, CancellationToken.None, console.Console));
        Assert.Contains("labels.raw: not a label volume SsbTomo can read", console.Output.Replace("\n", " "));

        console = new CapturedConsole();
        Assert.Equal(2, await MeasureCommand.RunAsync(Electrode, [new("pore", 0), new("nmc", 0)], null, dir.Path, null, 0, CancellationToken.None, console.Console));
        Assert.Contains("--phase-values: the value 0 is named more than once (pore, nmc)", console.Output.Replace("\n", " "));

        console = new CapturedConsole();
        Assert.Equal(2, await MeasureCommand.RunAsync(Electrode, TauFactorPhases, null, dir.Path, "lps", 0, CancellationToken.None, console.Console));
        Assert.Contains("--tortuosity-phase lps: no phase of that name in --phase-values (pore, nmc, cbd)", console.Output.Replace("\n", " "));
        Assert.False(File.Exists(Path.Combine(dir.Path, "measure.json")));
    }

    /// <summary>What the command prints, as plain text on lines wide enough that a sentence is not wrapped.</summary>
    private sealed class CapturedConsole
    {
        private readonly StringWriter _writer = new();

        public CapturedConsole()
        {
            Console = AnsiConsole.Create(new AnsiConsoleSettings { Ansi = AnsiSupport.No, Out = new AnsiConsoleOutput(_writer) });
            Console.Profile.Width = 1000;
        }

        public IAnsiConsole Console { get; }
        public string Output => _writer.ToString();
    }
}
