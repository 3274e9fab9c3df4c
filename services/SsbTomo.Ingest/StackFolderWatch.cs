using System.Globalization;
using SsbTomo.Contracts;

namespace SsbTomo.Ingest;

/// <summary>One slice file as a scan sees it.</summary>
public sealed record SliceFile(string Name, long Bytes, DateTime WriteUtc);

/// <summary>What a scan sees of one acquisition folder: enough to tell whether the microscope still writes to it.</summary>
/// <param name="Slices">The TIFFs, in ordinal name order.</param>
/// <param name="EndMarker">The newest file matching a configured end-marker pattern, if any.</param>
public sealed record StackFolderSnapshot(string Path, IReadOnlyList<SliceFile> Slices, SliceFile? EndMarker = null)
{
    public int TiffCount => Slices.Count;
    public long TotalBytes => Slices.Sum(s => s.Bytes);
    public DateTime NewestWriteUtc => Slices.Count == 0 ? DateTime.MinValue : Slices.Max(s => s.WriteUtc);

    /// <summary>Same files with the same sizes and write times, and the same end marker.</summary>
    public bool SameAs(StackFolderSnapshot other) =>
        Path == other.Path && EndMarker == other.EndMarker && Slices.SequenceEqual(other.Slices);
}

/// <summary>A folder that became complete, and the evidence.</summary>
public sealed record CompletedFolder(StackFolderSnapshot Snapshot, CompletionRule Rule);

/// <summary>When a folder counts as a complete acquisition; see <see cref="StackFolderWatch"/>.</summary>
/// <param name="QuietFloor">The shortest quiet period, whatever the cadence.</param>
/// <param name="CadenceFactor">Quiet period in units of the median interval between slice writes.</param>
public sealed record CompletionSettings(TimeSpan QuietFloor, double CadenceFactor, int MinSlices);

/// <summary>
/// Decides when an acquisition folder is complete, from evidence of that folder: an end marker written after the
/// last slice (the folder unchanged for one poll, so that a copy in progress is not taken), or else no change for a
/// quiet period of <see cref="CompletionSettings.CadenceFactor"/> times the median interval between its slices, at
/// least <see cref="CompletionSettings.QuietFloor"/>. A folder with fewer than MinSlices slices is never complete.
/// A slow acquisition (minutes per slice) thus waits longer than a fast one, and a pause of a few slice times is not
/// taken for the end. Quiet time is measured on the watcher's clock from when it first saw the folder as it is, so a
/// share drive whose clock is off does not shorten it; the cadence uses the differences of the files' own times.
/// Each state of a folder is reported once; a folder that changes afterwards is watched again.
/// </summary>
public sealed class StackFolderWatch(CompletionSettings settings)
{
    private readonly Dictionary<string, (StackFolderSnapshot Seen, DateTime StableSinceUtc)> _folders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StackFolderSnapshot> _reported = new(StringComparer.Ordinal);

    /// <summary>Feeds one scan; returns the folders that became complete with it.</summary>
    public IReadOnlyList<CompletedFolder> Observe(IEnumerable<StackFolderSnapshot> scan, DateTime nowUtc)
    {
        var ready = new List<CompletedFolder>();
        foreach (var folder in scan)
        {
            if (_reported.TryGetValue(folder.Path, out var reported) && reported.SameAs(folder)) continue;
            if (!_folders.TryGetValue(folder.Path, out var known) || !known.Seen.SameAs(folder))
            {
                _folders[folder.Path] = (folder, nowUtc);
                continue;
            }
            if (Completion(folder, nowUtc - known.StableSinceUtc) is not { } rule) continue;
            ready.Add(new CompletedFolder(folder, rule));
            _reported[folder.Path] = folder;
            _folders.Remove(folder.Path);
        }
        return ready;
    }

    /// <summary>The rule that makes <paramref name="folder"/> complete after <paramref name="unchangedFor"/>, or null.</summary>
    public CompletionRule? Completion(StackFolderSnapshot folder, TimeSpan unchangedFor)
    {
        if (folder.TiffCount < Math.Max(1, settings.MinSlices)) return null;
        if (folder.EndMarker is { } marker && marker.WriteUtc >= folder.NewestWriteUtc)
            return new CompletionRule("end-marker",
                $"end marker {marker.Name} written after the last of {folder.TiffCount} slices", folder.TiffCount, EndMarker: marker.Name);

        var median = MedianSliceInterval(folder.Slices);
        var quiet = QuietPeriod(median);
        if (unchangedFor < quiet) return null;
        var cadence = median is { } m
            ? $"{settings.CadenceFactor.ToString(CultureInfo.InvariantCulture)} x the median {Words(m)} between slices, at least {Words(settings.QuietFloor)}"
            : $"the floor; too few slices for a cadence";
        return new CompletionRule("quiet-period",
            $"no change for {Words(quiet)} ({cadence}) after {folder.TiffCount} slices", folder.TiffCount,
            QuietSeconds: quiet.TotalSeconds, MedianSliceIntervalSeconds: median?.TotalSeconds);
    }

    public TimeSpan QuietPeriod(TimeSpan? medianSliceInterval) =>
        medianSliceInterval is { } median && median * settings.CadenceFactor > settings.QuietFloor
            ? median * settings.CadenceFactor
            : settings.QuietFloor;

    /// <summary>Median of the intervals between consecutive slice write times; null with fewer than three slices.</summary>
    public static TimeSpan? MedianSliceInterval(IReadOnlyList<SliceFile> slices)
    {
        if (slices.Count < 3) return null;
        var times = slices.Select(s => s.WriteUtc.Ticks).Order().ToArray();
        var intervals = new long[times.Length - 1];
        for (var i = 1; i < times.Length; i++) intervals[i - 1] = times[i] - times[i - 1];
        Array.Sort(intervals);
        var middle = intervals.Length / 2;
        var ticks = intervals.Length % 2 == 1 ? intervals[middle] : (intervals[middle - 1] + intervals[middle]) / 2;
        return TimeSpan.FromTicks(ticks);
    }

    private static string Words(TimeSpan span) =>
        span.TotalMinutes >= 1 ? $"{span.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)} min"
            : $"{span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s";
}
