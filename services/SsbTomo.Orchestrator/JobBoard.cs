using System.Collections.Concurrent;
using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator;

/// <summary>The latest progress of every job this process has seen, for the API and dashboard.</summary>
public sealed class JobBoard
{
    private readonly ConcurrentDictionary<Guid, JobProgressed> _jobs = new();

    public void Update(JobProgressed progress) => _jobs[progress.JobId] = progress;

    public IReadOnlyCollection<JobProgressed> All => _jobs.Values.ToArray();

    public JobProgressed? Find(Guid jobId) => _jobs.GetValueOrDefault(jobId);
}
