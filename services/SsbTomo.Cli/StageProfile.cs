using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SsbTomo.Cli;

/// <summary>One stage of an embedded run: its wall time, the process's CPU time while it ran, and the largest resident memory sampled.</summary>
public sealed record StageTiming(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("wall_seconds")] double WallSeconds,
    [property: JsonPropertyName("cpu_seconds")] double CpuSeconds,
    [property: JsonPropertyName("peak_resident_mib")] double PeakResidentMib)
{
    /// <summary>
    /// The process's minor page faults while the stage ran: each first touch of a 4 KiB page the collector had handed back
    /// to the kernel (0 where the OS does not count them). On a virtual machine with shadow page tables a fault costs
    /// ~15 µs of CPU (session 43: 2.7 M faults were 7.5 % of a 1-Gvoxel run's CPU samples), so this says which stage's
    /// fresh arrays cost more than their arithmetic.
    /// </summary>
    [JsonPropertyName("minor_page_faults")]
    public long MinorPageFaults { get; init; }

    /// <summary>
    /// Time the garbage collector held the process's threads while the stage ran (<see cref="GC.GetTotalPauseDuration"/>):
    /// a blocking collection of a heap near its budget stops every core, so this is wall time no kernel used.
    /// </summary>
    [JsonPropertyName("gc_pause_seconds")]
    public double GcPauseSeconds { get; init; }

    /// <summary>Full (generation 2) collections during the stage, the process's own compactions between messages among them.</summary>
    [JsonPropertyName("gen2_collections")]
    public int Gen2Collections { get; init; }

    /// <summary>Cores the stage kept busy on average (CPU over wall).</summary>
    [JsonPropertyName("cores_busy")]
    public double CoresBusy => WallSeconds > 0 ? CpuSeconds / WallSeconds : 0;
}

/// <summary>
/// Splits an embedded run's wall and CPU time by the job's states as its progress reports them. In one process every
/// stage's work is this process's CPU time, so the split is exact up to the delay of a progress message (milliseconds);
/// resident memory is sampled (<see cref="Sample"/>), so a stage's peak can miss a spike shorter than the sampling period.
/// The clocks are passed in so that the arithmetic is testable without a run.
/// </summary>
public sealed class StageProfiler(Func<TimeSpan> wallClock, Func<TimeSpan> cpuClock, Func<long> residentBytes, Func<long>? minorFaults = null,
    Func<(TimeSpan Pause, int Gen2)>? collector = null)
{
    private readonly List<StageTiming> _finished = [];
    private readonly object _gate = new();
    private readonly Func<long> _minorFaults = minorFaults ?? (() => 0);
    private readonly Func<(TimeSpan Pause, int Gen2)> _collector = collector ?? (() => (TimeSpan.Zero, 0));
    private string? _stage;
    private TimeSpan _wallAtEntry, _cpuAtEntry;
    private long _peakBytes, _faultsAtEntry;
    private (TimeSpan Pause, int Gen2) _collectorAtEntry;

    /// <summary>This process's clocks: a stopwatch, its user + system CPU time, its resident set, its minor page faults, its collector's pauses.</summary>
    public static StageProfiler ForThisProcess()
    {
        var wall = Stopwatch.StartNew();
        var process = Process.GetCurrentProcess();
        return new StageProfiler(() => wall.Elapsed, () => process.TotalProcessorTime, () =>
        {
            process.Refresh();
            return process.WorkingSet64;
        }, ProcessMinorFaults, () => (GC.GetTotalPauseDuration(), GC.CollectionCount(2)));
    }

    /// <summary>
    /// This process's minor page faults so far, from /proc/self/stat (field 10, minflt); 0 where there is no such file.
    /// The fields after the command name, which is in parentheses and may hold spaces, are counted from its closing one.
    /// </summary>
    public static long ProcessMinorFaults()
    {
        try
        {
            return MinorFaultsFromStat(File.ReadAllText("/proc/self/stat"));
        }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    /// <summary>minflt from the text of a /proc/PID/stat file; 0 when the text does not have it.</summary>
    public static long MinorFaultsFromStat(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 > stat.Length) return 0;
        // After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt ...
        var fields = stat[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 7 && long.TryParse(fields[7], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var faults)
            ? faults : 0;
    }

    /// <summary>The job reports <paramref name="state"/>: a new state closes the one before it; the same state again only samples.</summary>
    public void Enter(string state)
    {
        lock (_gate)
        {
            if (state == _stage)
            {
                SampleLocked();
                return;
            }
            CloseLocked();
            (_stage, _wallAtEntry, _cpuAtEntry, _peakBytes, _faultsAtEntry, _collectorAtEntry) =
                (state, wallClock(), cpuClock(), residentBytes(), _minorFaults(), _collector());
        }
    }

    /// <summary>Records the resident memory now against the current stage.</summary>
    public void Sample()
    {
        lock (_gate) SampleLocked();
    }

    /// <summary>Closes the current stage and returns every stage in the order they ran (a state entered twice is listed twice).</summary>
    public IReadOnlyList<StageTiming> Finish()
    {
        lock (_gate)
        {
            CloseLocked();
            return _finished.ToArray();
        }
    }

    private void SampleLocked()
    {
        if (_stage is not null) _peakBytes = Math.Max(_peakBytes, residentBytes());
    }

    private void CloseLocked()
    {
        if (_stage is null) return;
        SampleLocked();
        var (pause, gen2) = _collector();
        _finished.Add(new StageTiming(_stage, (wallClock() - _wallAtEntry).TotalSeconds, (cpuClock() - _cpuAtEntry).TotalSeconds,
            _peakBytes / (1024.0 * 1024))
        {
            MinorPageFaults = _minorFaults() - _faultsAtEntry,
            GcPauseSeconds = (pause - _collectorAtEntry.Pause).TotalSeconds,
            Gen2Collections = gen2 - _collectorAtEntry.Gen2,
        });
        _stage = null;
    }
}

/// <summary>What <c>ssbtomo run --profile</c> writes beside metrics.json: the stages and the voxels they worked on.</summary>
public sealed record RunProfile(
    [property: JsonPropertyName("stack_voxels")] long StackVoxels,
    [property: JsonPropertyName("stages")] IReadOnlyList<StageTiming> Stages)
{
    public const string FileName = "profile.json";

    /// <summary>Slices per slab the run was cut into (given or chosen, <c>RunCommand</c>).</summary>
    [JsonPropertyName("chunk_slices")]
    public int ChunkSlices { get; init; }

    /// <summary>Alignment workers the run measured and shifted with at once (given or chosen).</summary>
    [JsonPropertyName("alignment_workers")]
    public int AlignmentWorkers { get; init; }

    /// <summary>Slices per command of denoising, survey and segmentation (whole slabs; <c>SubmitJob.FanOutSlices</c>).</summary>
    [JsonPropertyName("fan_out_slices")]
    public int FanOutSlices { get; init; }

    [JsonPropertyName("wall_seconds")]
    public double WallSeconds => Stages.Sum(s => s.WallSeconds);

    [JsonPropertyName("cpu_seconds")]
    public double CpuSeconds => Stages.Sum(s => s.CpuSeconds);

    /// <summary>Stack voxels per second of the whole run's wall time, in millions.</summary>
    [JsonPropertyName("mvoxels_per_second")]
    public double MegavoxelsPerSecond => WallSeconds > 0 ? StackVoxels / WallSeconds / 1e6 : 0;

    /// <summary>Stack voxels per CPU-second (all cores), in millions: the figure that does not depend on the machine's load.</summary>
    [JsonPropertyName("mvoxels_per_cpu_second")]
    public double MegavoxelsPerCpuSecond => CpuSeconds > 0 ? StackVoxels / CpuSeconds / 1e6 : 0;

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}
