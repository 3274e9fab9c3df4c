using System.Diagnostics;
using SsbTomo.Cli;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.Distributed.Tests.Infrastructure;

/// <summary>
/// A phantom stack and the embedded run of it (`ssbtomo run STACK --out DIR`: the same consumers in one process,
/// in-memory transport, filesystem store, job prefix ""): what every distributed run of that stack must reproduce
/// byte for byte.
/// </summary>
public sealed class ReferenceRun : IDisposable
{
    private readonly TempDirectory _dir;

    private ReferenceRun(TempDirectory dir, int chunkSlices, TimeSpan elapsed)
    {
        _dir = dir;
        ChunkSlices = chunkSlices;
        Elapsed = elapsed;
    }

    public string StackDir => Path.Combine(_dir.Path, "phantom", "stack");
    public string RunDir => Path.Combine(_dir.Path, "run");
    public int ChunkSlices { get; }
    public TimeSpan Elapsed { get; }

    public static async Task<string> WritePhantomAsync(string dir, int depth, int height, int width, int seed)
    {
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Cycled50, depth, height, width, 50, Seed: seed), dir);
        return Path.Combine(dir, "stack");
    }

    public static async Task<ReferenceRun> CreateAsync(int depth, int height, int width, int seed, int chunkSlices)
    {
        var dir = new TempDirectory("ssbtomo-distributed-ref");
        try
        {
            var stack = await WritePhantomAsync(Path.Combine(dir.Path, "phantom"), depth, height, width, seed);
            var clock = Stopwatch.StartNew();
            var outcome = await RunCommand.ExecuteAsync(stack, Path.Combine(dir.Path, "run"), null, chunkSlices, false, CancellationToken.None);
            if (!outcome.Succeeded)
                throw new InvalidOperationException($"the embedded reference run failed in {outcome.FailedStage}: {outcome.Reason}");
            return new ReferenceRun(dir, chunkSlices, clock.Elapsed);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>Every file under RunDir/{artefact}, keyed by its '/'-separated path below that folder.</summary>
    /// <summary>The label image's folder, relative to the job (<see cref="SsbTomo.Storage.JobLayout.Labels"/>).</summary>
    public static readonly string Labels = new SsbTomo.Storage.JobLayout("").Labels;

    public SortedDictionary<string, byte[]> Files(string artefact)
    {
        var root = Path.Combine(RunDir, artefact);
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            files[Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/')] = File.ReadAllBytes(file);
        return files;
    }

    public byte[] ReadFile(string name) => File.ReadAllBytes(Path.Combine(RunDir, name));

    public void Dispose() => _dir.Dispose();
}

/// <summary>The stack every distributed test runs: 48x160x192 cycled-50, seed 3, 4 slices per chunk (12 chunks).</summary>
public sealed class SmallStackReference : IAsyncLifetime
{
    public const int ChunkSlices = 4;
    public const int ExpectedChunks = 12;

    public ReferenceRun Run { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Infra.EnsureRunningAsync();
        Run = await ReferenceRun.CreateAsync(48, 160, 192, seed: 3, ChunkSlices);
    }

    public Task DisposeAsync()
    {
        Run?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Every distributed test in one collection: they run one after another (each starts eight processes on a
/// two-core machine, and the broker-restart test takes the broker away from everyone).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DistributedCollection : ICollectionFixture<SmallStackReference>
{
    public const string Name = "distributed";
}
