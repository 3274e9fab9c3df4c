using SsbTomo.Cli;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>One cycled-50 phantom (64x192x224, seed 7) through the whole embedded pipeline, shared by the assertions on it.</summary>
public sealed class PhantomRunFixture() : PhantomRun(new PhantomOptions(PhantomPreset.Cycled50, 64, 192, 224, 50, Seed: 7));

/// <summary>The acceptance stack of the walking skeleton: `ssbtomo phantom --preset cycled50 --shape 128,256,320 --seed 1`.</summary>
public sealed class AcceptanceRunFixture() : PhantomRun(new PhantomOptions(PhantomPreset.Cycled50, 128, 256, 320, 50, Seed: 1));

/// <summary>A phantom written as a share-drive stack, then `ssbtomo run` on it and the comparison with its truth.</summary>
public abstract class PhantomRun(PhantomOptions options) : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("ssbtomo-e2e");

    public string PhantomDir => Path.Combine(_dir.Path, "phantom");
    public string RunDir => Path.Combine(_dir.Path, "run");
    public int ExitCode { get; private set; }
    public PhantomComparison Comparison { get; private set; } = null!;
    public Dictionary<string, string> StackHashesBefore { get; private set; } = [];

    public async Task InitializeAsync()
    {
        await PhantomCommand.WriteAsync(options, PhantomDir);
        StackHashesBefore = StackFiles.Hashes(Path.Combine(PhantomDir, "stack"));
        ExitCode = await RunCommand.RunAsync(Path.Combine(PhantomDir, "stack"), RunDir, null, 16, verbose: false, CancellationToken.None);
        if (ExitCode == 0) Comparison = await PhantomComparison.LoadAsync(PhantomDir, RunDir);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

public static class StackFiles
{
    public static Dictionary<string, string> Hashes(string folder) =>
        Directory.GetFiles(folder).ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));
}
