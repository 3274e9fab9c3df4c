namespace SsbTomo.Ingest;

/// <summary>What a scan sees of one acquisition folder: enough to tell whether the microscope still writes to it.</summary>
public sealed record StackFolderSnapshot(string Path, int TiffCount, long TotalBytes, DateTime NewestWriteUtc);

/// <summary>
/// Decides when an acquisition folder is complete: it holds enough slices and has not changed for a quiet
/// period (Auto Slice &amp; View writes no end marker). Each folder is reported once.
/// </summary>
public sealed class StackFolderWatch(TimeSpan quietPeriod, int minSlices)
{
    private readonly Dictionary<string, (StackFolderSnapshot Seen, DateTime StableSinceUtc)> _folders = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);

    /// <summary>Feeds one scan; returns the folders that became complete with it.</summary>
    public IReadOnlyList<string> Observe(IEnumerable<StackFolderSnapshot> scan, DateTime nowUtc)
    {
        var ready = new List<string>();
        foreach (var folder in scan)
        {
            if (_reported.Contains(folder.Path)) continue;
            if (!_folders.TryGetValue(folder.Path, out var known) || known.Seen != folder)
            {
                _folders[folder.Path] = (folder, nowUtc);
                continue;
            }
            if (folder.TiffCount >= minSlices && nowUtc - known.StableSinceUtc >= quietPeriod)
            {
                ready.Add(folder.Path);
                _reported.Add(folder.Path);
                _folders.Remove(folder.Path);
            }
        }
        return ready;
    }
}
