using SsbTomo.Cli;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>One cycled-50 phantom through the whole embedded pipeline, shared by the assertions on it.</summary>
public sealed class PhantomRunFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("ssbtomo-e2e");

    public string PhantomDir => Path.Combine(_dir.Path, "phantom");
    public string RunDir => Path.Combine(_dir.Path, "run");
    public int ExitCode { get; private set; }
    public PhantomComparison Comparison { get; private set; } = null!;
    public Dictionary<string, string> StackHashesBefore { get; private set; } = [];

    public async Task InitializeAsync()
    {
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Cycled50, 64, 192, 224, 50, Seed: 7), PhantomDir);
        StackHashesBefore = StackFiles.Hashes(Path.Combine(PhantomDir, "stack"));
        ExitCode = await RunCommand.RunAsync(Path.Combine(PhantomDir, "stack"), RunDir, null, 16, verbose: false, CancellationToken.None);
        if (ExitCode == 0) Comparison = PhantomComparison.Load(PhantomDir, RunDir);
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
