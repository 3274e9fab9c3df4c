using System.Text.RegularExpressions;
using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Storage;

namespace SsbTomo.Ingest;

/// <summary>
/// Picks acquisitions up by itself: polls the share drive's folders (read-only) and submits each completed stack
/// (<see cref="StackFolderWatch"/> decides when). A marker blob per folder (<see cref="SubmittedFolder"/>) records the
/// job and the files it was submitted with, so a restarted watcher does not submit an unchanged folder again. A folder
/// whose files change after its job was submitted is watched again: once complete, it is compared with what that job
/// read (its provenance.json); if that differs, the whole stack is submitted as a new job and the earlier job is told
/// it is superseded (a warning on it), so that no short result goes unremarked. One folder that cannot be read or
/// submitted is tried again at the next poll and holds up no other.
/// </summary>
public sealed class ShareDriveWatcher(IOptions<SsbTomoOptions> options, IBlobStore store, IBus bus, TimeProvider clock,
    ILogger<ShareDriveWatcher> logger) : BackgroundService
{
    private readonly IngestSettings _settings = options.Value.Ingest;
    private readonly Dictionary<string, SubmittedFolder?> _submitted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PendingSubmission> _retry = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PlannedJob> _planned = new(StringComparer.Ordinal);
    private readonly FolderNamePatterns _folderNames = new(options.Value.Ingest.FolderPatterns);
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
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A share drive that is away, a store that is down: the next poll may find them back, and a stopped
                // watcher would leave every later acquisition unprocessed without anyone noticing.
                logger.LogWarning(ex, "Could not scan {Root}; trying again at the next poll", _settings.WatchRoot);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One scan of the share drive: submits the folders that became complete with it.</summary>
    public async Task PollOnceAsync(CancellationToken ct)
    {
        var root = _settings.WatchRoot ?? throw new InvalidOperationException("SsbTomo:Ingest:WatchRoot is not set");
        var changed = new List<StackFolderSnapshot>();
        var retries = new List<CompletedFolder>();
        foreach (var folder in Scan(root, _settings.EndMarkers, (path, ex) =>
                     logger.LogWarning(ex, "Could not read folder {Folder}; trying it again at the next poll", path)))
        {
            if (_retry.TryGetValue(folder.Path, out var retry))
            {
                // Unchanged since it completed: submit what completed. Changed: the watch decides anew when it is complete.
                if (retry.Completed.Snapshot.SameAs(folder)) retries.Add(retry.Completed);
                else _retry.Remove(folder.Path);
            }
            try
            {
                if (!_submitted.TryGetValue(folder.Path, out var submitted))
                    _submitted[folder.Path] = submitted = await SubmittedFolder.ReadAsync(store, folder.Path, ct);
                if (submitted is null || !submitted.Covers(folder)) changed.Add(folder);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                // Not cached, so the marker is read again at the next poll; the folder is not watched until it is known.
                logger.LogWarning(ex, "Could not read the submission marker of {Folder}; trying it again at the next poll", folder.Path);
            }
        }
        foreach (var completed in retries.Concat(_watch.Observe(changed, clock.GetUtcNow().UtcDateTime)))
        {
            var folder = completed.Snapshot.Path;
            // Anyone who can write to the share can leave a link there that points elsewhere on this machine.
            var confined = SharePaths.Confine(Path.GetFullPath(folder), [root]);
            if (!confined.IsAllowed)
            {
                logger.LogWarning("Not submitting {Folder}: {Reason} ({Root})", folder, confined.Reason, root);
                continue;
            }
            // The watch reports a state of a folder once, so the folder is kept in _retry until its submission is settled.
            var pending = _retry.GetValueOrDefault(folder);
            try
            {
                if (await SubmitOnceAsync(completed, confined.ResolvedPath!, pending?.AwaitingProvenanceSinceUtc, ct)) _retry.Remove(folder);
                else _retry[folder] = new PendingSubmission(completed, pending?.AwaitingProvenanceSinceUtc ?? clock.GetUtcNow().UtcDateTime);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                _retry[folder] = new PendingSubmission(completed, pending?.AwaitingProvenanceSinceUtc);
                logger.LogWarning(ex, "Could not submit {Folder}; trying it again at the next poll", folder);
            }
        }
    }

    /// <param name="unreadable">
    /// Told of a folder that cannot be read (permission denied, vanished or changing under the scan), which is then left
    /// out of this scan; without it the scan fails.
    /// </param>
    public static IEnumerable<StackFolderSnapshot> Scan(string root, IReadOnlyCollection<string>? endMarkers = null,
        Action<string, Exception>? unreadable = null)
    {
        var markerPatterns = (endMarkers ?? []).Select(GlobPattern).ToArray();
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            StackFolderSnapshot snapshot;
            try
            {
                snapshot = ScanFolder(dir, markerPatterns);
            }
            catch (Exception ex) when (unreadable is not null && ex is IOException or UnauthorizedAccessException)
            {
                unreadable(dir, ex);
                continue;
            }
            yield return snapshot;
        }
    }

    private static StackFolderSnapshot ScanFolder(string dir, Regex[] markerPatterns)
    {
        var files = new DirectoryInfo(dir).EnumerateFiles().ToList();
        var tiffs = files
            .Where(f => f.Extension.Equals(".tif", StringComparison.OrdinalIgnoreCase) || f.Extension.Equals(".tiff", StringComparison.OrdinalIgnoreCase))
            // Like the stack reader: macOS "._name.tif" resource forks and other hidden files are not slices.
            .Where(f => !f.Name.StartsWith('.'))
            .Select(f => new SliceFile(f.Name, f.Length, f.LastWriteTimeUtc))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        var marker = files.Where(f => markerPatterns.Any(p => p.IsMatch(f.Name)))
            .OrderByDescending(f => f.LastWriteTimeUtc)
            .Select(f => new SliceFile(f.Name, f.Length, f.LastWriteTimeUtc))
            .FirstOrDefault();
        return new StackFolderSnapshot(dir, tiffs, marker);
    }

    /// <summary>
    /// What the earlier job read of the folder, from its provenance.json (names, sizes, times), and whether that is the
    /// folder as it is now, SHA-256 for SHA-256. Same is null when that cannot be told yet: no provenance.json (the job
    /// has not been ingested) or a slice that could not be read or changed while it was hashed.
    /// </summary>
    private async Task<(bool? Same, IReadOnlyList<SliceFile>? Read)> CompareWithJobAsync(SubmittedFolder earlier, StackFolderSnapshot snapshot,
        CancellationToken ct)
    {
        var json = await store.ReadAsync(new JobLayout(JobPrefix(earlier.JobId)).Provenance, ct);
        if (json is null || StackProvenance.FromJson(json) is not { } provenance) return (null, null);
        var read = provenance.Files.Select(f => new SliceFile(f.Name, f.Bytes, f.ModifiedUtc)).ToList();
        if (!read.Select(f => (f.Name, f.Bytes)).SequenceEqual(snapshot.Slices.Select(s => (s.Name, s.Bytes)))) return (false, read);
        var recorded = provenance.Files.ToDictionary(f => f.Name, f => f.Sha256, StringComparer.Ordinal);
        try
        {
            foreach (var slice in snapshot.Slices)
            {
                var now = await StackProvenance.HashAsync(Path.Combine(snapshot.Path, slice.Name), ct);
                if (recorded[slice.Name] != now.Sha256) return (false, read);
            }
            return (true, read);
        }
        catch (InvalidInputException ex)
        {
            logger.LogInformation("Could not compare {Folder} with job {JobId}: {Reason}", snapshot.Path, earlier.JobId, ex.Message);
            return (null, read);
        }
    }

    private static string JobPrefix(Guid jobId) => JobLayout.ForJob(jobId).Prefix;

    private static Regex GlobPattern(string glob) =>
        new("^" + Regex.Escape(glob).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <param name="source">The folder with links resolved: what was checked is what the stages read.</param>
    /// <param name="awaitingProvenanceSinceUtc">When the folder began to wait for its earlier job's provenance.json, if it does.</param>
    /// <returns>False while the folder waits for the earlier job's provenance.json; true once it is settled.</returns>
    private async Task<bool> SubmitOnceAsync(CompletedFolder completed, string source, DateTime? awaitingProvenanceSinceUtc, CancellationToken ct)
    {
        var snapshot = completed.Snapshot;
        var folder = snapshot.Path;
        // Read again rather than trust the cache: the marker is what keeps a folder from running twice.
        var earlier = await SubmittedFolder.ReadAsync(store, folder, ct);
        // The marker of a job went in but the job was not published: rather than take the marker's word that the folder
        // was submitted, publish that job now under the marker's job id; or, if the folder changed since, forget the job
        // that never was, so that the new one supersedes the job before it and not a job nobody ran.
        if (_planned.Remove(folder, out var planned) && earlier?.JobId == planned.Submitted.JobId)
        {
            if (planned.Submitted.Covers(snapshot))
            {
                _planned[folder] = planned;
                await PublishAsync(completed, source, planned, ct);
                _planned.Remove(folder);
                return true;
            }
            earlier = planned.Earlier;
        }
        if (earlier is not null && earlier.Covers(snapshot))
        {
            _submitted[folder] = earlier;
            return true;
        }
        // The folder differs from the marker, but the earlier job may have read it as it is now: slices that landed
        // between the submission and the Ingest stage, or the same bytes touched or copied again. Its provenance.json
        // says; until it is written, the folder waits (a follow-up submitted now could duplicate the earlier job),
        // though never longer than ProvenanceWaitSeconds, since a job that fails before ingesting never writes one.
        var changeFrom = earlier;
        if (earlier is not null)
        {
            var (same, read) = await CompareWithJobAsync(earlier, snapshot, ct);
            if (same == true)
            {
                var updated = earlier with { Slices = snapshot.Slices };
                await updated.WriteAsync(store, ct);
                _submitted[folder] = updated;
                logger.LogInformation("Folder {Folder} changed after job {JobId} was submitted, but that job read the {Slices} slices as they are now; not submitted again",
                    folder, earlier.JobId, snapshot.TiffCount);
                return true;
            }
            var waitedFor = clock.GetUtcNow().UtcDateTime - (awaitingProvenanceSinceUtc ?? clock.GetUtcNow().UtcDateTime);
            if (same is null && waitedFor < TimeSpan.FromSeconds(Math.Max(0, _settings.ProvenanceWaitSeconds)))
            {
                if (awaitingProvenanceSinceUtc is null)
                    logger.LogInformation("Folder {Folder} changed after job {JobId} was submitted; waiting for that job's provenance.json to tell whether it read the whole stack",
                        folder, earlier.JobId);
                return false;
            }
            if (same is null)
                logger.LogWarning("Folder {Folder}: job {JobId} has not recorded what it read after {Waited}; submitting the whole stack again",
                    folder, earlier.JobId, waitedFor);
            if (read is not null) changeFrom = earlier with { Slices = read };
        }
        var jobId = NewId.NextGuid();
        var submitted = new SubmittedFolder(folder, jobId, clock.GetUtcNow().UtcDateTime, snapshot.Slices)
        {
            EarlierJobs = earlier is null ? [] : [.. earlier.EarlierJobs, earlier.JobId],
        };
        var job = new PlannedJob(submitted, earlier, changeFrom?.DescribeChange(snapshot));
        // Planned before the marker is written: a write reported as failed may still have landed.
        _planned[folder] = job;
        await submitted.WriteAsync(store, ct);
        _submitted[folder] = submitted;
        await PublishAsync(completed, source, job, ct);
        _planned.Remove(folder);
        return true;
    }

    private async Task PublishAsync(CompletedFolder completed, string source, PlannedJob job, CancellationToken ct)
    {
        var folder = completed.Snapshot.Path;
        var (jobId, earlier) = (job.Submitted.JobId, job.Earlier);
        var labels = _folderNames.Match(Path.GetFileName(folder));
        await bus.Publish(new SubmitJob(jobId, source, JobPrefix(jobId), null, options.Value.ChunkSlices)
        {
            FanOutSlices = options.Value.FanOutSlices,
            RegistrationCropPx = options.Value.RegistrationCropPx,
            Acquisition = new WatchedAcquisition(completed.Rule, earlier?.JobId, labels?.Sample, labels?.Series) { FolderLabels = labels?.Values },
        }, ct);
        if (earlier is null)
        {
            logger.LogInformation("Submitted {Folder} as job {JobId}: {Completion}", folder, jobId, completed.Rule.Description);
            return;
        }
        var change = job.Change;
        await bus.Publish(new JobSuperseded(earlier.JobId, jobId,
            $"Superseded: the folder {folder} changed after this job was submitted ({change}), so this job's results may " +
            $"cover only part of the stack. Job {jobId} processes the whole stack of {completed.Snapshot.TiffCount} slices; use its results."), ct);
        logger.LogWarning("Folder {Folder} changed after job {EarlierJob} was submitted ({Change}); submitted the whole stack as job {JobId}: {Completion}",
            folder, earlier.JobId, change, jobId, completed.Rule.Description);
    }
}

/// <summary>A folder that completed but whose submission is not settled: it failed, or it waits for the earlier job's provenance.json.</summary>
internal sealed record PendingSubmission(CompletedFolder Completed, DateTime? AwaitingProvenanceSinceUtc);

/// <summary>
/// A job the watcher decided on: its marker, the folder's earlier submission it supersedes, and what changed since.
/// Kept until the job is published, since its marker may be written (a write reported as failed may have landed) while
/// the job was never sent.
/// </summary>
internal sealed record PlannedJob(SubmittedFolder Submitted, SubmittedFolder? Earlier, string? Change);
