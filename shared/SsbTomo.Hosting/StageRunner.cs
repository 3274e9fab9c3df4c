using MassTransit;
using Microsoft.Extensions.Logging;
using SsbTomo.Contracts;

namespace SsbTomo.Hosting;

/// <summary>
/// Runs one stage's work for one message: times it, and turns input errors into a StageFailed event
/// (the job fails alone, at once) while letting transient errors through to the retry policy. Every failure is
/// logged here with the job id, so the reason a user reads can point at this service's log.
/// </summary>
public static class StageRunner
{
    public static async Task RunAsync<T>(ConsumeContext<T> context, string stage, Func<Task> work, long voxels = 0)
        where T : class, IJobMessage
    {
        var jobId = context.Message.JobId;
        using var timer = SsbTomoTelemetry.StartStage(stage, jobId, voxels);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            ProcessMemory.CompactHeapWhenLimited();
            await work();
            // One line per message, so an operator can follow a job (and a chunk) through every service's log.
            var elapsedMs = (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var log = context.Logger("SsbTomo.Stage");
            if (context.Message is IChunkMessage chunk)
                log.LogInformation("Job {JobId} {Stage} chunk {Chunk} (slices {Z0}-{Z1}) done in {DurationMs} ms (attempt {Attempt})",
                    jobId, stage, chunk.ChunkIndex, chunk.Z0, chunk.Z1 - 1, elapsedMs, context.GetRetryAttempt() + 1);
            else
                log.LogInformation("Job {JobId} {Stage} done in {DurationMs} ms (attempt {Attempt})", jobId, stage, elapsedMs, context.GetRetryAttempt() + 1);
        }
        catch (InvalidInputException ex)
        {
            var failure = FailureReasons.InvalidInput(stage, context.Message, ex);
            // Bad data, not a fault of this service: the reason says it all, so no stack and no warning.
            context.Logger("SsbTomo.Stage").LogInformation("Job {JobId} failed in {Stage}: {Reason}", jobId, FailureReasons.StageInWords(stage, context.Message), failure.Reason);
            await context.Publish(new StageFailed(jobId, stage, failure.Reason, failure.Detail));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.CancellationToken.IsCancellationRequested)
        {
            // Retried, and after the last retry a Fault that the orchestrator turns into the reason. The reason sends the
            // user to this service's log, so the exception is logged here under the job id they will quote.
            context.Logger("SsbTomo.Stage").LogWarning(ex, "Job {JobId}: {Stage} threw on attempt {Attempt}", jobId,
                FailureReasons.StageInWords(stage, context.Message), context.GetRetryAttempt() + 1);
            throw;
        }
    }
}
