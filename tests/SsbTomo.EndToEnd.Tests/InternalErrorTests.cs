using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Phantom;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class InternalErrorTests
{
    /// <summary>
    /// A store that rejects the labels of slab 1 the way a bug would (an argument check, not an I/O error), every time,
    /// so segmentation of those slices fails through all its retries while every other slab and stage works.
    /// </summary>
    private sealed class LabelsOfSlabOneRejected(IBlobStore inner) : IBlobStore
    {
        public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default) =>
            key.StartsWith($"{JobResults.Labels}/0/1.", StringComparison.Ordinal) || key.StartsWith($"{JobResults.Labels}/0/1/", StringComparison.Ordinal)
                ? throw new ArgumentOutOfRangeException(nameof(key), key, "chunk index past the end of the array")
                : inner.WriteAsync(key, content, ct);

        public Task<byte[]?> ReadAsync(string key, CancellationToken ct = default) => inner.ReadAsync(key, ct);
        public Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default) => inner.ReadContentAsync(key, ct);
        public Task<bool> ExistsAsync(string key, CancellationToken ct = default) => inner.ExistsAsync(key, ct);
        public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
        {
            await foreach (var key in inner.ListAsync(prefix, ct)) yield return key;
        }
        public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    }

    [Fact]
    public async Task A_bug_in_one_slab_fails_the_job_naming_its_slices_and_the_log_that_holds_the_exception()
    {
        using var dir = new TempDirectory("ssbtomo-bug");
        var phantom = Path.Combine(dir.Path, "phantom");
        var run = Path.Combine(dir.Path, "run");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 24, 96, 112, 50, Seed: 3), phantom);
        Directory.CreateDirectory(run);

        var outcome = await RunCommand.ExecuteAsync(Path.Combine(phantom, "stack"), run, null, 8, verbose: false, CancellationToken.None,
                services => services.AddSingleton<IBlobStore>(new LabelsOfSlabOneRejected(new FileSystemBlobStore(run))))
            .WaitAsync(TimeSpan.FromMinutes(5));

        Assert.False(outcome.Succeeded);
        Assert.Equal("segmentation", outcome.FailedStage);
        Assert.Empty(ReadableReason.Offenders(outcome.Reason));
        Assert.StartsWith("An internal error in segmentation of slices 8–15 stopped the job.", outcome.Reason);
        Assert.Contains($"job id {outcome.JobId}", outcome.Reason);
        Assert.Contains("the log of ssbtomo", outcome.Reason);
        Assert.Contains("System.ArgumentOutOfRangeException", outcome.Detail);

        // What the CLI prints, and the log it points at: the exception is there, under the job id the reason gives.
        var printed = RunCommand.FailureLines(outcome, run);
        Assert.All(printed, line => Assert.Empty(ReadableReason.Offenders(line)));
        var logPath = Path.Combine(run, FileLogProvider.FileName);
        Assert.Equal([$"Job failed. {outcome.Reason}", $"Log of ssbtomo: {logPath}"], printed);
        var log = await File.ReadAllTextAsync(logPath);
        Assert.Contains($"Job {outcome.JobId}: segmentation of slices 8–15 threw", log);
        Assert.Contains("System.ArgumentOutOfRangeException: chunk index past the end of the array", log);
    }
}
