using System.Security.Cryptography;
using System.Text.Json;
using SsbTomo.Cli;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// A real FIB-SEM acquisition as a microscope writes it: 21 slices of 256x256, 8-bit, one TIFF per slice, no pixel size
/// in the files (../shared/data/fibsem-celegans, EMPIAR-10982 via NEUBIAS; biological, not a cathode, so there is no
/// phase truth). What must hold on any real stack: the job asks for what the files lack in a sentence, runs end to end
/// once given it, warns where the data does not look like four phases, and never changes the originals.
/// </summary>
public class RealFibSemStackTests
{
    private const string Stack = "/work/shared/data/fibsem-celegans";

    private static Dictionary<string, (string Sha256, DateTime Written)> Originals() =>
        Directory.GetFiles(Stack).Order(StringComparer.Ordinal).ToDictionary(f => f,
            f => (Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), File.GetLastWriteTimeUtc(f)));

    [Fact]
    public async Task Without_a_pixel_size_the_job_fails_in_ingest_with_a_sentence_that_names_the_stack_and_the_option()
    {
        using var dir = new TempDirectory("ssbtomo-e2e-real-nosize");
        var outcome = await RunCommand.ExecuteAsync(Stack, dir.Path, null, 8, verbose: false, CancellationToken.None);

        Assert.False(outcome.Succeeded);
        Assert.Equal("ingest", outcome.FailedStage);
        Assert.Contains(Stack, outcome.Reason);
        Assert.Contains("--voxel-size-nm", outcome.Reason);
        Assert.DoesNotContain("Exception", outcome.Reason);
    }

    [Fact]
    public async Task With_its_pixel_size_the_stack_runs_end_to_end_with_warnings_and_the_originals_unchanged()
    {
        var before = Originals();
        using var dir = new TempDirectory("ssbtomo-e2e-real");
        var outcome = await RunCommand.ExecuteAsync(Stack, dir.Path, [24, 24, 24], 8, verbose: false, CancellationToken.None);

        Assert.True(outcome.Succeeded, $"failed in {outcome.FailedStage}: {outcome.Reason}");
        Assert.Equal(before, Originals());

        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "metrics.json")));
        var fractions = metrics.RootElement.GetProperty("phase_fractions").EnumerateObject().Select(p => p.Value.GetDouble()).ToArray();
        Assert.Equal(4, fractions.Length);
        Assert.All(fractions, f => Assert.InRange(f, 0, 1));
        Assert.Equal(1, fractions.Sum(), 6);
        // Cell membranes and cytoplasm are no cathode: the four classes overlap, and the metrics must say so.
        var warnings = metrics.RootElement.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToArray();
        Assert.Contains(warnings, w => w.Contains("overlap", StringComparison.Ordinal));

        using var alignment = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.Path, "alignment.json")));
        var drift = alignment.RootElement.GetProperty("slices").EnumerateArray()
            .Select(s => (Dy: s.GetProperty("drift_px")[0].GetDouble(), Dx: s.GetProperty("drift_px")[1].GetDouble())).ToArray();
        Assert.Equal(21, drift.Length);
        // Slice-to-slice registration of this stack by an independent peer (skimage phase_cross_correlation, upsample 20)
        // moves 0.1-0.5 px a slice; a step of pixels would be a registration that locked onto the wrong feature.
        for (var z = 1; z < drift.Length; z++)
            Assert.True(Math.Abs(drift[z].Dy - drift[z - 1].Dy) < 1.5 && Math.Abs(drift[z].Dx - drift[z - 1].Dx) < 1.5,
                $"slice {z} moved ({drift[z].Dy - drift[z - 1].Dy:0.00}, {drift[z].Dx - drift[z - 1].Dx:0.00}) px from slice {z - 1}");
    }
}
