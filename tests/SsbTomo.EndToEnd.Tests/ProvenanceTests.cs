using System.Diagnostics;
using System.Text.Json;
using SsbTomo.Cli;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class ProvenanceTests
{
    /// <summary>sha256sum's own answer for each file, the independent computation.</summary>
    private static Dictionary<string, string> Sha256Sum(IEnumerable<string> files)
    {
        var psi = new ProcessStartInfo("sha256sum") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var file in files) psi.ArgumentList.Add(file);
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split("  ", 2))
            .ToDictionary(parts => Path.GetFileName(parts[1]), parts => parts[0]);
    }

    [Fact]
    public async Task Run_writes_provenance_json_with_every_slices_sha256_and_leaves_the_originals_unchanged()
    {
        using var dir = new TempDirectory("ssbtomo-provenance");
        var phantom = Path.Combine(dir.Path, "phantom");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 24, 96, 112, 50, Seed: 3), phantom);
        var stack = Path.Combine(phantom, "stack");
        var slices = Directory.GetFiles(stack, "*.tif").Order(StringComparer.Ordinal).ToArray();
        var timesBefore = slices.ToDictionary(f => Path.GetFileName(f), File.GetLastWriteTimeUtc);
        var expected = Sha256Sum(slices);
        var run = Path.Combine(dir.Path, "run");

        var exitCode = await RunCommand.RunAsync(stack, run, null, 16, verbose: false, CancellationToken.None);

        Assert.Equal(0, exitCode);
        using var provenance = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(run, "provenance.json")));
        var root = provenance.RootElement;
        Assert.Equal(stack, root.GetProperty("source").GetString());
        Assert.Equal("SHA-256", root.GetProperty("hash_algorithm").GetString());
        Assert.Equal("api-or-cli", root.GetProperty("submitted_by").GetString());
        Assert.Equal(24, root.GetProperty("slices").GetInt32());
        Assert.Equal([50.0, 50.0, 50.0], root.GetProperty("voxel_size_nm").EnumerateArray().Select(v => Math.Round(v.GetDouble(), 6)));
        Assert.Equal("FeiMetadata", root.GetProperty("voxel_size_source").GetString());
        Assert.True(root.GetProperty("instrument").TryGetProperty("[Scan] PixelWidth", out _));

        var files = root.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(slices.Select(Path.GetFileName), files.Select(f => f.GetProperty("name").GetString()));
        foreach (var file in files)
        {
            var name = file.GetProperty("name").GetString()!;
            Assert.Equal(expected[name], file.GetProperty("sha256").GetString());
            Assert.Equal(new FileInfo(Path.Combine(stack, name)).Length, file.GetProperty("bytes").GetInt64());
            Assert.Equal(timesBefore[name], file.GetProperty("modified_utc").GetDateTime().ToUniversalTime());
        }

        Assert.Equal(expected, Sha256Sum(slices));
        Assert.Equal(timesBefore, slices.ToDictionary(f => Path.GetFileName(f), File.GetLastWriteTimeUtc));
        Assert.Equal(slices, Directory.GetFiles(stack).Order(StringComparer.Ordinal));

        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(run, "metrics.json")));
        Assert.Equal("provenance.json", metrics.RootElement.GetProperty("provenance").GetString());
    }
}
