using System.Globalization;
using System.Runtime.InteropServices;

namespace SsbTomo.Hosting;

/// <summary>
/// Asks Linux for transparent huge pages (2 MiB) on the collected heap. The stages stream windows and slabs of tens to
/// hundreds of MiB through the heap, and under the hard limit (<see cref="ProcessMemory"/>) the collector hands freed
/// regions back to the kernel and commits them again: each 4 KiB page of a fresh array then costs a page fault and a
/// zeroing on first touch (~4 M faults in a 151 Mvoxel run, most of the kernel's 14 % of its CPU). With 2 MiB pages that is one
/// fault per 512 pages and far fewer TLB misses in the kernels. Most machines run THP in "madvise" mode (the process must
/// ask for it, range by range), and the runtime's collector does not ask: it reserves one address range for its regions
/// at start-up and decommits by mapping PROT_NONE over a part of it, which drops the advice there. So the process
/// advises the whole reserved range at start and again every <see cref="RefreshInterval"/>, one madvise call each time.
/// The range is found in /proc/self/maps as the run of adjacent anonymous mappings around the heap, and found again at
/// every tenth renewal and joined to what was found before: the maps file is not read atomically, and while other threads
/// commit and decommit, a read can miss a mapping and show a gap that cuts the run short (a test once allocated an array
/// 4 MiB past the range found at start), and a collector that reserves more later extends the run.
/// Nothing changes in what the program computes; with THP "always" or "never", or on another OS, this does nothing.
/// </summary>
public static class TransparentHugePages
{
    /// <summary>How often the advice is renewed over the collector's range (ranges decommitted since have lost it).</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(100);

    private const int MadviseHugePage = 14; // MADV_HUGEPAGE, linux/mman.h

    private static readonly Lock Starting = new();
    private static Timer? _refresh;
    /// <summary>
    /// Renewals between two reads of the maps: a read takes 1.6-3 ms of kernel time in a running job (~1,300 mappings), so
    /// every tenth renewal (once a second) keeps it near 0.2 % of a core.
    /// </summary>
    private const int RenewalsPerMapsRead = 10;

    private static volatile AddressRange? _range;
    private static int _renewing;
    private static int _renewals;

    /// <summary>First and one-past-last address; a reference, so that the timer replaces both at once.</summary>
    private sealed record AddressRange(ulong Start, ulong End);

    /// <summary>The collector's reserved address range being advised, or null when this process does not advise.</summary>
    public static (nint Start, nuint Length)? AdvisedRange =>
        _refresh is null || _range is not { } range ? null : ((nint)range.Start, (nuint)(range.End - range.Start));

    /// <summary>
    /// Starts advising the collector's range when the kernel runs THP in "madvise" mode. Process-wide and idempotent; returns
    /// whether the range is advised.
    /// </summary>
    public static bool AdviseCollectedHeap()
    {
        if (_refresh is not null) return true;
        if (!OperatingSystem.IsLinux() || !IsMadviseMode()) return false;
        if (CollectedHeapRange() is not { } range) return false;
        lock (Starting)
        {
            if (_refresh is not null) return true;
            _range = range;
            if (!Advise()) return false;
            _refresh = new Timer(_ => Renew(), null, RefreshInterval, RefreshInterval);
        }
        return true;
    }

    private static bool Advise() =>
        _range is { } range && madvise((nint)range.Start, (nuint)(range.End - range.Start), MadviseHugePage) == 0;

    /// <summary>Joins the run of mappings now around the range to it (it only grows), then advises it again.</summary>
    private static void Renew()
    {
        if (Interlocked.Exchange(ref _renewing, 1) == 1) return; // the previous tick still runs
        try
        {
            if (++_renewals % RenewalsPerMapsRead == 0) JoinRunAroundRange();
            Advise();
        }
        finally { Volatile.Write(ref _renewing, 0); }
    }

    private static void JoinRunAroundRange()
    {
        var range = _range!;
        if (RunInMaps(range.Start) is { } run) _range = new AddressRange(Math.Min(range.Start, run.Start), Math.Max(range.End, run.End));
    }

    /// <summary><see cref="RunAround"/> the address in this process's maps; null when there is none or the maps cannot be read.</summary>
    private static AddressRange? RunInMaps(ulong address)
    {
        try { return RunAround(AnonymousMappings(File.ReadLines("/proc/self/maps")), address) is { } run ? new AddressRange(run.Start, run.End) : null; }
        catch (IOException) { return null; }
    }

    private static bool IsMadviseMode()
    {
        try
        {
            return File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[madvise]", StringComparison.Ordinal);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>
    /// The run of adjacent anonymous mappings around a large array's address in /proc/self/maps: the collector's
    /// reservation, split by its commits and decommits into mappings that follow each other without a gap.
    /// </summary>
    private static AddressRange? CollectedHeapRange()
    {
        var probe = new byte[1 << 20];
        var handle = GCHandle.Alloc(probe, GCHandleType.Pinned);
        ulong address;
        try { address = (ulong)handle.AddrOfPinnedObject(); }
        finally { handle.Free(); }

        var run = RunInMaps(address);
        GC.KeepAlive(probe);
        return run;
    }

    /// <summary>The run of adjacent mappings (each ending where the next begins) that holds the address, or null.</summary>
    public static (ulong Start, ulong End)? RunAround(List<(ulong Start, ulong End)> mappings, ulong address)
    {
        var at = mappings.FindIndex(m => m.Start <= address && address < m.End);
        if (at < 0) return null;
        int first = at, last = at;
        while (first > 0 && mappings[first - 1].End == mappings[first].Start) first--;
        while (last < mappings.Count - 1 && mappings[last].End == mappings[last + 1].Start) last++;
        return (mappings[first].Start, mappings[last].End);
    }

    /// <summary>
    /// Private mappings of no file ("start-end perms offset dev inode" and no path, or a name given to anonymous memory,
    /// "[anon:...]"), in address order.
    /// </summary>
    public static List<(ulong Start, ulong End)> AnonymousMappings(IEnumerable<string> mapsLines)
    {
        var mappings = new List<(ulong, ulong)>();
        foreach (var line in mapsLines)
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            var path = fields.Length == 6 ? fields[5].Trim() : "";
            if (fields.Length < 5 || fields[4] != "0" || (path.Length > 0 && !path.StartsWith("[anon:", StringComparison.Ordinal))) continue;
            if (fields[1].Length < 4 || fields[1][3] != 'p') continue;
            var dash = fields[0].IndexOf('-');
            if (dash < 0) continue;
            mappings.Add((ulong.Parse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                ulong.Parse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }
        return mappings;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int madvise(nint address, nuint length, int advice);
}
