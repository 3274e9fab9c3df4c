using System.Collections.Concurrent;
using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator;

/// <summary>
/// The latest progress of every job this process has seen, for the API and dashboard. Progress events are
/// consumed concurrently, so an older one may arrive after a newer one: only a later state (or more chunks
/// in the same state) replaces what is known, and a finished job stays finished.
/// </summary>
public sealed class JobBoard
{
    private readonly ConcurrentDictionary<Guid, JobProgressed> _jobs = new();

    public void Update(JobProgressed progress) =>
        _jobs.AddOrUpdate(progress.JobId, progress, (_, known) => IsLater(progress, known) ? progress : known);

    public IReadOnlyCollection<JobProgressed> All => _jobs.Values.ToArray();

    public JobProgressed? Find(Guid jobId) => _jobs.GetValueOrDefault(jobId);

    public static bool IsLater(JobProgressed candidate, JobProgressed known)
    {
        if (JobStates.IsFinished(known.State)) return false;
        var (a, b) = (Rank(candidate.State), Rank(known.State));
        return a > b || (a == b && candidate.ChunksDone > known.ChunksDone);
    }

    private static int Rank(string state) => JobStates.InOrder.IndexOf(state);
}
