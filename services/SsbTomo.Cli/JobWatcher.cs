using System.Collections.Concurrent;
using MassTransit;
using SsbTomo.Contracts;

namespace SsbTomo.Cli;

/// <summary>Lets the CLI wait for one job's outcome and follow its progress.</summary>
public sealed class JobWatcher
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<JobOutcome>> _outcomes = new();

    public event Action<JobProgressed>? Progressed;

    public Task<JobOutcome> Watch(Guid jobId) =>
        _outcomes.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    internal void Report(JobProgressed progress) => Progressed?.Invoke(progress);

    internal void Complete(Guid jobId, JobOutcome outcome) =>
        _outcomes.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(outcome);
}

/// <summary><paramref name="Reason"/> is for the user; <paramref name="Detail"/> (exception, stack) for a bug report.</summary>
public sealed record JobOutcome(bool Succeeded, string? FailedStage, string? Reason, string? Detail = null)
{
    public Guid JobId { get; init; }
}

public sealed class JobCompletedConsumer(JobWatcher watcher) : IConsumer<JobCompleted>
{
    public Task Consume(ConsumeContext<JobCompleted> context)
    {
        watcher.Complete(context.Message.JobId, new JobOutcome(true, null, null) { JobId = context.Message.JobId });
        return Task.CompletedTask;
    }
}

public sealed class JobFailedConsumer(JobWatcher watcher) : IConsumer<JobFailed>
{
    public Task Consume(ConsumeContext<JobFailed> context)
    {
        watcher.Complete(context.Message.JobId, new JobOutcome(false, context.Message.Stage, context.Message.Reason, context.Message.Detail) { JobId = context.Message.JobId });
        return Task.CompletedTask;
    }
}

public sealed class JobProgressWatchConsumer(JobWatcher watcher) : IConsumer<JobProgressed>
{
    public Task Consume(ConsumeContext<JobProgressed> context)
    {
        watcher.Report(context.Message);
        return Task.CompletedTask;
    }
}
