using System.Globalization;
using SsbTomo.Contracts;
using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator;

/// <summary>
/// When a running job counts as stalled and what it waits for, in one place for the watchdog, the saga's re-drive and
/// failure, the API and the dashboard. A job moves when it enters a state or a chunk reports; it is stalled once it has
/// not moved (or not since its last re-drive) for its stage's timeout (<see cref="StallSettings"/>).
/// </summary>
public static class StallPolicy
{
    /// <summary>What a stalled state waits for, and who would answer.</summary>
    /// <param name="Stage">The stage's short name, as in <see cref="JobFailed.Stage"/>.</param>
    /// <param name="WaitedFor">e.g. "chunks 3, 7 of 12 (slices 48–63, 112–127) to be segmented".</param>
    /// <param name="Plural">Whether <paramref name="WaitedFor"/> names several commands ("them") or one ("it").</param>
    /// <param name="Worker">The kind of worker that answers, e.g. "segmentation".</param>
    /// <param name="Service">The service that runs that worker, e.g. "ssbtomo-segmentation".</param>
    public sealed record Waiting(string Stage, string WaitedFor, bool Plural, string Worker, string Service);

    public static bool IsFanOut(string state) => state is JobStates.Aligning or JobStates.Denoising or JobStates.Surveying or JobStates.Segmenting;

    /// <summary>The chunks the current fan-out state has, or null for a state that is one message per job.</summary>
    public static IReadOnlySet<int>? DoneChunks(JobState job) => job.CurrentState switch
    {
        JobStates.Aligning => job.AlignmentSolution is null ? job.AlignmentMeasuredChunks : job.AlignmentShiftedChunks,
        JobStates.Denoising => job.PreparedChunks,
        JobStates.Surveying => job.SurveyedChunks,
        JobStates.Segmenting => job.SegmentedChunks,
        _ => null,
    };

    public static IReadOnlyList<(int Index, int Z0, int Z1)> MissingChunks(JobState job) =>
        DoneChunks(job) is { } done && job.ChunkSlices > 0 ? job.SlabsOfCurrentState().Where(s => !done.Contains(s.Index)).ToList() : [];

    /// <summary>When the job last moved; a job stored before stall detection existed has only its last update.</summary>
    public static DateTime LastMovedUtc(JobState job) => job.ProgressUtc == default ? job.UpdatedUtc : job.ProgressUtc;

    /// <summary>Where the stall clock runs from: the last re-drive of this stall, else the last move.</summary>
    public static DateTime ClockStartUtc(JobState job) => job.RedrivenUtc ?? LastMovedUtc(job);

    public static bool IsStalled(JobState job, DateTime nowUtc, StallSettings settings) =>
        JobStates.Running.Contains(job.CurrentState) && nowUtc - ClockStartUtc(job) >= Timeout(job, settings);

    /// <summary>
    /// The state's own setting if there is one; else, for a fan-out state, <see cref="StallSettings.ChunkFactor"/> times
    /// the mean time between its chunks so far (before the first, the previous fan-out state's), for a one-step state
    /// <see cref="StallSettings.SecondsPerSlice"/> times the slices; never below <see cref="StallSettings.FloorSeconds"/>.
    /// </summary>
    public static TimeSpan Timeout(JobState job, StallSettings settings)
    {
        if (settings.StageSeconds.TryGetValue(job.CurrentState, out var fixedSeconds) && fixedSeconds > 0)
            return TimeSpan.FromSeconds(fixedSeconds);
        var floor = TimeSpan.FromSeconds(Math.Max(0, settings.FloorSeconds));
        TimeSpan derived;
        if (IsFanOut(job.CurrentState))
        {
            var done = DoneChunks(job)!.Count;
            var current = job.Stages.LastOrDefault(s => s.State == job.CurrentState);
            var previous = job.Stages.LastOrDefault(s => IsFanOut(s.State) && s.State != job.CurrentState && s.EndedUtc is not null);
            derived = done > 0 && current is not null
                ? (LastMovedUtc(job) - current.StartedUtc) / done * settings.ChunkFactor
                : previous is not null && job.ChunksTotal > 0
                    ? (previous.EndedUtc!.Value - previous.StartedUtc) / job.ChunksTotal * settings.ChunkFactor
                    : TimeSpan.Zero;
        }
        else
            derived = TimeSpan.FromSeconds(settings.SecondsPerSlice * Math.Max(0, job.Slices));
        return derived > floor ? derived : floor;
    }

    public static Waiting WaitingFor(JobState job)
    {
        const string segmentation = "segmentation", segmentationService = "ssbtomo-segmentation";
        return job.CurrentState switch
        {
            JobStates.Ingesting => new("ingest", "the stack to be read into raw.zarr", false, "ingest", "ssbtomo-ingest"),
            JobStates.Aligning when job.AlignmentSolution is null && job.AlignmentMeasuredChunks.Count < job.ChunksTotal =>
                new("alignment", $"{Chunks(job)} to be measured for alignment", true, "alignment", "ssbtomo-alignment"),
            JobStates.Aligning when job.AlignmentSolution is null =>
                new("alignment", "the drift to be solved from every chunk's measurements", false, "alignment", "ssbtomo-alignment"),
            JobStates.Aligning when job.AlignmentShiftedChunks.Count < job.ChunksTotal =>
                new("alignment", $"{Chunks(job)} to be shifted into aligned.zarr", true, "alignment", "ssbtomo-alignment"),
            JobStates.Aligning => new("alignment", "the aligned stack to be announced", false, "alignment", "ssbtomo-orchestrator"),
            JobStates.Denoising => new("denoise", $"{Chunks(job)} to be denoised", true, segmentation, segmentationService),
            JobStates.Surveying => new("segmentation", $"{Chunks(job)} to be surveyed for carbon fibres", true, segmentation, segmentationService),
            JobStates.Segmenting => new("segmentation", $"{Chunks(job)} to be segmented", true, segmentation, segmentationService),
            JobStates.Reconstructing => new("reconstruction", "the label pyramid to be built", false, "reconstruction", "ssbtomo-reconstruction"),
            JobStates.Measuring => new("metrics", "the metrics to be measured", false, "metrics", "ssbtomo-metrics"),
            _ => new("unknown", "nothing", false, "any", "ssbtomo"),
        };
    }

    /// <summary>"chunks 3, 7 of 12 (slices 48–63, 112–127)"; a long list is cut after ten.</summary>
    public static string Chunks(JobState job)
    {
        var missing = MissingChunks(job);
        const int shown = 10;
        var head = missing.Take(shown).ToList();
        var more = missing.Count > shown ? $", … ({missing.Count} in all)" : "";
        var noun = missing.Count == 1 ? "chunk" : "chunks";
        return $"{noun} {string.Join(", ", head.Select(c => c.Index))}{more} of {job.ChunksTotal} "
            + $"({(head.Count == 1 && head[0].Z1 - head[0].Z0 == 1 ? "slice" : "slices")} "
            + $"{string.Join(", ", head.Select(c => c.Z1 - c.Z0 <= 1 ? $"{c.Z0}" : $"{c.Z0}–{c.Z1 - 1}"))}{(more.Length > 0 ? ", …" : "")})";
    }

    /// <summary>The note a re-drive leaves on the job.</summary>
    public static string RedriveNote(JobState job, DateTime nowUtc)
    {
        var waiting = WaitingFor(job);
        return $"{Capitalize(StageWords(waiting.Stage))} made no progress for {Duration(nowUtc - LastMovedUtc(job))} while waiting for "
            + $"{waiting.WaitedFor}; sent {(waiting.Plural ? "them" : "it")} again at {nowUtc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC.";
    }

    /// <summary>The reason of a job that a re-drive did not move.</summary>
    public static string FailureReason(JobState job, DateTime nowUtc)
    {
        var waiting = WaitingFor(job);
        var sinceRedrive = job.RedrivenUtc is { } redriven ? nowUtc - redriven : TimeSpan.Zero;
        return $"{Capitalize(StageWords(waiting.Stage))} stalled: it waited {Duration(nowUtc - LastMovedUtc(job))} for {waiting.WaitedFor}, "
            + $"sent {(waiting.Plural ? "them" : "it")} again once {Duration(sinceRedrive)} ago, and no {waiting.Worker} worker has answered since. "
            + $"Check that {Article(waiting.Worker)} {waiting.Worker} worker ({waiting.Service}) is running and reaches the broker and the blob store "
            + "(its log says why it stopped), then submit the stack again.";
    }

    private static string StageWords(string stage) => stage switch
    {
        "denoise" => "denoising",
        "metrics" => "measurement",
        _ => stage,
    };

    public static string Duration(TimeSpan span) =>
        span.TotalMinutes >= 90 ? $"{span.TotalHours:0.#} h"
        : span.TotalSeconds >= 90 ? $"{Math.Round(span.TotalMinutes):0} min"
        : $"{Math.Max(0, Math.Round(span.TotalSeconds)):0} s";

    private static string Article(string word) => "aeiou".Contains(char.ToLowerInvariant(word[0])) ? "an" : "a";

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
