using MassTransit;

namespace SsbTomo.Orchestrator.Persistence;

/// <summary>
/// Durable home of every job's <see cref="JobState"/>, with optimistic concurrency: every read hands back
/// an opaque version (a row version for SQLite, the ETag for Dapr) and every write names the version it
/// read. A write whose version is no longer current fails with <see cref="JobStateConcurrencyException"/>
/// and changes nothing; the caller reloads and tries again.
/// </summary>
public interface IJobStateStore
{
    /// <summary>The job and its current version, or null if there is no such job.</summary>
    Task<StoredJobState?> LoadAsync(Guid jobId, CancellationToken cancellationToken = default);

    /// <summary>Stores a new job and returns its first version; fails if the job already exists.</summary>
    Task<string> InsertAsync(JobState state, CancellationToken cancellationToken = default);

    /// <summary>Replaces the job if its stored version is still <paramref name="expectedVersion"/>; returns the new version.</summary>
    Task<string> UpdateAsync(JobState state, string expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>Removes the job if its stored version is still <paramref name="expectedVersion"/>.</summary>
    Task DeleteAsync(Guid jobId, string expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>Every job, for the API and dashboard (no order promised).</summary>
    Task<IReadOnlyList<StoredJobState>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>A job as stored, with the version to name when writing it back.</summary>
public sealed record StoredJobState(JobState State, string Version);

/// <summary>
/// The stored version changed between read and write (or the job to insert already exists). A MassTransit
/// <see cref="ConcurrencyException"/>, so the saga endpoint's retry re-runs the message on fresh state.
/// </summary>
public sealed class JobStateConcurrencyException : ConcurrencyException
{
    public JobStateConcurrencyException(Guid jobId, string message)
        : base(message, typeof(JobState), jobId)
    {
    }
}
