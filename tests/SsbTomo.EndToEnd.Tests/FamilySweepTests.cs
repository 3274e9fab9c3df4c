using System.CommandLine;
using System.Text.Json;
using SsbTomo.Cli;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// One family member per way a FIB-SEM stores its slices (16-bit; 8-bit full range, narrow range, comb), each drawn
/// with its own phase fractions, grey levels, shine-through, noise and blur, through the whole embedded pipeline.
/// </summary>
public sealed class FamilySweepFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("ssbtomo-family");

    public IReadOnlyList<SweepResult> Results { get; private set; } = [];

    /// <summary>The first family seed drawn with each storage mode (the draw is deterministic, so these never change).</summary>
    public static int FirstSeedWith(PhantomFamily.StorageMode mode) =>
        Enumerable.Range(1, 500).First(seed => PhantomFamily.StorageOf(PhantomFamily.DrawParameters(seed).Appearance) == mode);

    public async Task InitializeAsync()
    {
        var results = new List<SweepResult>();
        foreach (var mode in Enum.GetValues<PhantomFamily.StorageMode>())
        {
            var seed = FirstSeedWith(mode);
            results.Add(await FamilySweep.RunOneAsync($"{mode}-seed{seed}", PhantomFamily.Draw(seed, 40, 160, 192), _dir.Path));
        }
        Results = results;
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

public class FamilySweepTests(FamilySweepFixture sweep, ITestOutputHelper output) : IClassFixture<FamilySweepFixture>
{
    [Fact]
    public void Every_storage_mode_runs_end_to_end()
    {
        output.WriteLine(FamilySweep.Table(sweep.Results));
        Assert.All(sweep.Results, r => Assert.True(r.Completed, $"{r.Name}: {r.Failure}"));
    }

    /// <summary>
    /// The bright active material is the phase grey levels identify on any stack; its Dice guards the alignment and
    /// the classifier on every storage mode. (The thin phases' targets of the segmentation issue are not met yet:
    /// the sweep benchmark reports them per draw.)
    /// </summary>
    [Fact]
    public void Nmc_is_segmented_on_every_member()
    {
        Assert.All(sweep.Results.Where(r => r.Completed), r =>
            Assert.True(r.Comparison!.Dice["nmc"] >= 0.9, $"{r.Name}: NMC Dice {r.Comparison.Dice["nmc"]:0.000}"));
    }

    /// <summary>
    /// The registration trust threshold (peak-to-rival ratio 2, rivals outside 8 px) was set on preset phantoms: on
    /// members with other grey levels, noise, blur and bit depths, no clean slice may be flagged untrusted.
    /// </summary>
    [Fact]
    public void No_clean_slice_is_flagged_untrusted()
    {
        Assert.All(sweep.Results.Where(r => r.Completed), r => Assert.True(r.UntrustedSlices == 0, $"{r.Name}: {r.UntrustedSlices} untrusted slices"));
    }

    [Fact]
    public void Void_fraction_is_within_two_percentage_points_on_every_member()
    {
        Assert.All(sweep.Results.Where(r => r.Completed), r =>
            Assert.InRange(r.Comparison!.VoidErrorPercentPoints, -2, 2));
    }
}

public class FamilyPhantomCommandTests
{
    [Fact]
    public async Task Phantom_family_writes_the_drawn_bit_depth_and_parameters()
    {
        using var dir = new TempDirectory("ssbtomo-family-cli");
        var seed = FamilySweepFixture.FirstSeedWith(PhantomFamily.StorageMode.Bits16);
        var root = new RootCommand { PhantomCommand.Create() };
        var exit = await root.Parse(["phantom", "--family", seed.ToString(), "--shape", "4,64,72", "--out", dir.Path]).InvokeAsync();
        Assert.Equal(0, exit);
        using var truth = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "truth.json")));
        Assert.Equal(seed, truth.RootElement.GetProperty("family_seed").GetInt32());
        Assert.Equal(16, truth.RootElement.GetProperty("bit_depth").GetInt32());
        Assert.True(truth.RootElement.TryGetProperty("phantom_parameters", out _));
        var slices = Directory.GetFiles(Path.Combine(dir.Path, "stack"), "*.tif");
        Assert.Equal(4, slices.Length);
        using var tiff = BitMiracle.LibTiff.Classic.Tiff.Open(slices[0], "r");
        Assert.Equal(16, tiff.GetField(BitMiracle.LibTiff.Classic.TiffTag.BITSPERSAMPLE)[0].ToInt());
    }

    [Fact]
    public async Task Family_and_preset_together_are_refused()
    {
        using var dir = new TempDirectory("ssbtomo-family-cli");
        var root = new RootCommand { PhantomCommand.Create() };
        var exit = await root.Parse(["phantom", "--family", "3", "--preset", "pristine", "--shape", "4,64,72", "--out", dir.Path]).InvokeAsync();
        Assert.NotEqual(0, exit);
        Assert.False(File.Exists(Path.Combine(dir.Path, "truth.json")));
    }
}

/// <summary>
/// Family member 4 (blur 1.38 px, carbon fibres blurred to two thirds of the way to the electrolyte): the grey-level
/// mixture puts its carbon class on the pores' blurred rims (void −3.1 pp at 64x192x224 before the fibre survey).
/// </summary>
public class CarbonFibreSurveyEndToEndTests
{
    [Fact]
    public async Task A_carbon_class_on_the_pores_rims_is_replaced_by_the_fibre_level_and_void_comes_out_right()
    {
        using var dir = new TempDirectory("ssbtomo-fibre-survey");
        var result = await FamilySweep.RunOneAsync("family-4", PhantomFamily.Draw(4, 40, 160, 192), dir.Path);
        Assert.True(result.Completed, result.Failure);

        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "family-4", "run", "metrics.json")));
        var carbon = metrics.RootElement.GetProperty("uncertainty").GetProperty("carbon_level");
        Assert.True(carbon.GetProperty("replaced").GetBoolean(), carbon.ToString());
        Assert.True(carbon.GetProperty("fibre_core_level").GetDouble() > carbon.GetProperty("fit_carbon_mean").GetDouble());
        Assert.Contains(metrics.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("carbon fibres"));
        Assert.InRange(result.Comparison!.VoidErrorPercentPoints, -1, 1);
        // A quiet stack (noise ~2 % of the void-to-electrolyte contrast): denoised with the smaller σ.
        Assert.Equal(NoiseLevel.QuietDenoiseSigma, result.Comparison.DenoiseSigma);
    }
}

/// <summary>
/// Family member 135 (50 nm, 64x192x224 as in the sweep) carries curtain stripes wider than the alignment's running
/// median passes: they stand in the aligned stack and pushed part of its electrolyte into carbon's band (carbon +1.73 pp,
/// Dice carbon 0.614 without the standing-curtain correction; −0.13 pp and 0.704 with it).
/// </summary>
public class StandingCurtainsEndToEndTests
{
    [Fact]
    public async Task Stripes_that_survive_the_alignment_are_subtracted_and_the_carbon_comes_out_right()
    {
        using var dir = new TempDirectory("ssbtomo-standing-curtains");
        var result = await FamilySweep.RunOneAsync("family-135", PhantomFamily.Draw(135, 64, 192, 224), dir.Path);
        Assert.True(result.Completed, result.Failure);

        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "family-135", "run", "metrics.json")));
        var curtains = metrics.RootElement.GetProperty("uncertainty").GetProperty("standing_curtains");
        Assert.True(curtains.GetProperty("striped_columns").GetInt32() > 0, curtains.ToString());
        var (truth, measured) = result.Comparison!.PhaseFractions["carbon"];
        Assert.InRange(100 * (measured - truth), -0.75, 0.75);
        Assert.True(result.Comparison.Dice["carbon"] >= 0.67, $"Dice carbon {result.Comparison.Dice["carbon"]:0.000}");
    }
}
