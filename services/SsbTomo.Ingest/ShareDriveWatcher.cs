using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Storage;

namespace SsbTomo.Ingest;

/// <summary>
/// Picks acquisitions up by itself: polls the share drive's folders (read-only) and submits each completed stack
/// once (<see cref="StackFolderWatch"/> decides when). A marker blob per folder keeps a restarted watcher from
/// submitting it again.
/// </summary>
public sealed class ShareDriveWatcher(IOptions<SsbTomoOptions> options, IBlobStore store, IBus bus, TimeProvider clock,
    ILogger<ShareDriveWatcher> logger) : BackgroundService
{
    private readonly IngestSettings _settings = options.Value.Ingest;
    private readonly StackFolderWatch _watch = new(new CompletionSettings(
        TimeSpan.FromSeconds(Math.Max(0, options.Value.Ingest.QuietSeconds)), options.Value.Ingest.CadenceFactor, options.Value.Ingest.MinSlices));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrWhiteSpace(_settings.WatchRoot)) return;
        logger.LogInformation("Watching {Root} for acquisitions", _settings.WatchRoot);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, _settings.PollSeconds)), clock);
        do
        {
            try
            {
                await PollOnceAsync(stoppingToken);
            }
            catch (IOException ex)
            {
                logger.LogWarning(ex, "Could not scan {Root}; trying again at the next poll", _settings.WatchRoot);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One scan of the share drive: submits the folders that became complete with it.</summary>
    public async Task PollOnceAsync(CancellationToken ct)
    {
        var root = _settings.WatchRoot ?? throw new InvalidOperationException("SsbTomo:Ingest:WatchRoot is not set");
        foreach (var completed in _watch.Observe(Scan(root, _settings.EndMarkers), clock.GetUtcNow().UtcDateTime))
        {
            var folder = completed.Snapshot.Path;
            // Anyone who can write to the share can leave a link there that points elsewhere on this machine.
            var confined = SharePaths.Confine(Path.GetFullPath(folder), [root]);
            if (confined.IsAllowed) await SubmitOnceAsync(completed, confined.ResolvedPath!, ct);
            else logger.LogWarning("Not submitting {Folder}: {Reason} ({Root})", folder, confined.Reason, root);
        }
    }

    public static IEnumerable<StackFolderSnapshot> Scan(string root, IReadOnlyCollection<string>? endMarkers = null)
    {
        var markerPatterns = (endMarkers ?? []).Select(GlobPattern).ToArray();
        return Directory.EnumerateDirectories(root).Select(dir =>
        {
            var files = new DirectoryInfo(dir).EnumerateFiles().ToList();
            var tiffs = files
                .Where(f => f.Extension.Equals(".tif", StringComparison.OrdinalIgnoreCase) || f.Extension.Equals(".tiff", StringComparison.OrdinalIgnoreCase))
                .Select(f => new SliceFile(f.Name, f.Length, f.LastWriteTimeUtc))
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .ToList();
            var marker = files.Where(f => markerPatterns.Any(p => p.IsMatch(f.Name)))
                .OrderByDescending(f => f.LastWriteTimeUtc)
                .Select(f => new SliceFile(f.Name, f.Length, f.LastWriteTimeUtc))
                .FirstOrDefault();
            return new StackFolderSnapshot(dir, tiffs, marker);
        });
    }

    private static Regex GlobPattern(string glob) =>
        new("^" + Regex.Escape(glob).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <param name="source">The folder with links resolved: what was checked is what the stages read.</param>
    private async Task SubmitOnceAsync(CompletedFolder completed, string source, CancellationToken ct)
    {
        var folder = completed.Snapshot.Path;
        var marker = $"watch/submitted/{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(folder)))[..32]}";
        if (await store.ExistsAsync(marker, ct)) return;
        var jobId = NewId.NextGuid();
        await store.WriteAsync(marker, Encoding.UTF8.GetBytes($"{folder}\n{jobId}\n"), ct);
        await bus.Publish(new SubmitJob(jobId, source, $"jobs/{jobId}", null, options.Value.ChunkSlices)
        {
            Acquisition = new WatchedAcquisition(completed.Rule),
        }, ct);
        logger.LogInformation("Submitted {Folder} as job {JobId}: {Completion}", folder, jobId, completed.Rule.Description);
    }
}
