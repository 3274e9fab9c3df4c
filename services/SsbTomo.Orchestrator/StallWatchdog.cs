using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator;

/// <summary>
/// Looks through the job store every <see cref="StallSettings.ScanSeconds"/> for running jobs that have not moved for
/// their stage's stall timeout (<see cref="StallPolicy"/>) and tells the saga (<see cref="JobStallDetected"/>), which
/// re-drives or fails the job on its own, current state. A scan of the store rather than scheduled messages: the
/// broker here has no delayed-message plugin, so MassTransit's scheduler would work in memory but not over RabbitMQ,
/// and a scan also finds jobs whose every message a wiped broker lost. Several orchestrators scanning at once only send
/// duplicates, which the saga's own check absorbs.
/// </summary>
public sealed class StallWatchdog(IJobStateStore store, IBus publish, IOptions<SsbTomoOptions> options, TimeProvider clock,
    ILogger<StallWatchdog> logger) : BackgroundService
{
    /// <summary>One scan as of <paramref name="nowUtc"/>; returns the jobs it found stalled.</summary>
    public async Task<IReadOnlyList<Guid>> ScanAsync(DateTime nowUtc, CancellationToken ct = default)
    {
        var settings = options.Value.Stall;
        var stalled = new List<Guid>();
        foreach (var stored in await store.ListAsync(ct))
        {
            var job = stored.State;
            if (!StallPolicy.IsStalled(job, nowUtc, settings)) continue;
            var timeout = StallPolicy.Timeout(job, settings);
            logger.LogInformation("Job {JobId} has not moved in {State} since {SinceUtc:u} (stall timeout {Timeout}): telling the saga",
                job.CorrelationId, job.CurrentState, StallPolicy.ClockStartUtc(job), StallPolicy.Duration(timeout));
            await publish.Publish(new JobStallDetected(job.CorrelationId, nowUtc, timeout.TotalSeconds), ct);
            stalled.Add(job.CorrelationId);
        }
        return stalled;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seconds = options.Value.Stall.ScanSeconds;
        if (seconds <= 0)
        {
            logger.LogWarning("Stall detection is off (SsbTomo:Stall:ScanSeconds = {Seconds}): a job whose messages are lost waits for good", seconds);
            return;
        }
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds), clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await ScanAsync(clock.GetUtcNow().UtcDateTime, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // A store or broker that is down now is retried at the next tick; the jobs wait no longer than that.
                logger.LogWarning(ex, "Looking for stalled jobs failed; trying again in {Seconds} s", seconds);
            }
        }
    }
}
