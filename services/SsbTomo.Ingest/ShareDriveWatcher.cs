using System.Security.Cryptography;
using System.Text;
using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Storage;

namespace SsbTomo.Ingest;

/// <summary>
/// Picks acquisitions up by itself: polls the share drive's folders (read-only) and submits each completed stack
/// once. A marker blob per folder keeps a restarted watcher from submitting it again.
/// </summary>
public sealed class ShareDriveWatcher(IOptions<SsbTomoOptions> options, IBlobStore store, IBus bus, ILogger<ShareDriveWatcher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Ingest;
        if (string.IsNullOrWhiteSpace(settings.WatchRoot)) return;
        var watch = new StackFolderWatch(TimeSpan.FromSeconds(settings.QuietSeconds), settings.MinSlices);
        logger.LogInformation("Watching {Root} for acquisitions", settings.WatchRoot);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, settings.PollSeconds)));
        do
        {
            try
            {
                foreach (var folder in watch.Observe(Scan(settings.WatchRoot), DateTime.UtcNow))
                {
                    // Anyone who can write to the share can leave a link there that points elsewhere on this machine.
                    var confined = SharePaths.Confine(Path.GetFullPath(folder), [settings.WatchRoot]);
                    if (confined.IsAllowed) await SubmitOnceAsync(folder, confined.ResolvedPath!, stoppingToken);
                    else logger.LogWarning("Not submitting {Folder}: {Reason} ({Root})", folder, confined.Reason, settings.WatchRoot);
                }
            }
            catch (IOException ex)
            {
                logger.LogWarning(ex, "Could not scan {Root}; trying again at the next poll", settings.WatchRoot);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public static IEnumerable<StackFolderSnapshot> Scan(string root) =>
        Directory.EnumerateDirectories(root).Select(dir =>
        {
            var tiffs = new DirectoryInfo(dir).EnumerateFiles()
                .Where(f => f.Extension.Equals(".tif", StringComparison.OrdinalIgnoreCase) || f.Extension.Equals(".tiff", StringComparison.OrdinalIgnoreCase))
                .ToList();
            return new StackFolderSnapshot(dir, tiffs.Count, tiffs.Sum(f => f.Length),
                tiffs.Count == 0 ? DateTime.MinValue : tiffs.Max(f => f.LastWriteTimeUtc));
        });

    /// <param name="folder">As scanned: names the marker, so that a restarted watcher recognises it.</param>
    /// <param name="source">The folder with links resolved: what was checked is what the stages read.</param>
    private async Task SubmitOnceAsync(string folder, string source, CancellationToken ct)
    {
        var marker = $"watch/submitted/{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(folder)))[..32]}";
        if (await store.ExistsAsync(marker, ct)) return;
        var jobId = NewId.NextGuid();
        await store.WriteAsync(marker, Encoding.UTF8.GetBytes($"{folder}\n{jobId}\n"), ct);
        await bus.Publish(new SubmitJob(jobId, source, $"jobs/{jobId}", null, options.Value.ChunkSlices), ct);
        logger.LogInformation("Submitted {Folder} as job {JobId}", folder, jobId);
    }
}
