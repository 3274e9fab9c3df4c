using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SsbTomo.Contracts;
using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>
/// A message whose consumer returned but whose outgoing messages never get published (the hand-off RabbitMQ.Client
/// can hang in when the broker stops during it) makes the watchdog apply its remedy, naming the message; a consumer
/// that simply works long does not.
/// </summary>
public class BusWatchdogTests
{
    public record StageCommand(Guid JobId, int WorkMs) : IJobMessage;

    public record StageDone(Guid JobId);

    private sealed class StageConsumer : IConsumer<StageCommand>
    {
        public async Task Consume(ConsumeContext<StageCommand> context)
        {
            await Task.Delay(context.Message.WorkMs, context.CancellationToken);
            await context.Publish(new StageDone(context.Message.JobId));
        }
    }

    private sealed class DoneConsumer(Signals signals) : IConsumer<StageDone>
    {
        public Task Consume(ConsumeContext<StageDone> context)
        {
            signals.Done.TrySetResult();
            return Task.CompletedTask;
        }
    }

    private sealed class Signals
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<string> Remedy { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>Completed by the test: until then every StageDone publish hangs, as a publish awaiting a lost confirm does.</summary>
        public TaskCompletionSource ReleasePublish { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool HangPublishes { get; init; }
    }

    private sealed class RecordingRemedy(Signals signals) : IWedgedBusRemedy
    {
        public void Apply(string reason) => signals.Remedy.TrySetResult(reason);
    }

    private sealed class HangingPublish(Signals signals) : IPublishObserver
    {
        public Task PrePublish<T>(PublishContext<T> context) where T : class =>
            signals.HangPublishes && context.Message is StageDone ? signals.ReleasePublish.Task : Task.CompletedTask;

        public Task PostPublish<T>(PublishContext<T> context) where T : class => Task.CompletedTask;

        public Task PublishFault<T>(PublishContext<T> context, Exception exception) where T : class => Task.CompletedTask;
    }

    private static async Task<IHost> StartAsync(Signals signals)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(signals);
        builder.Services.AddSingleton<IWedgedBusRemedy, RecordingRemedy>();
        builder.Services.AddBusWatchdog(new BusWatchdogSettings { SettleTimeoutSeconds = 1 });
        builder.Services.AddPublishObserver<HangingPublish>();
        builder.Services.AddMassTransit(bus =>
        {
            bus.ConfigureUsageTelemetryOptions(o => o.Enabled = false);
            bus.AddConsumer<StageConsumer>();
            bus.AddConsumer<DoneConsumer>();
            bus.UsingInMemory((context, cfg) =>
            {
                // As the services do: outgoing messages leave only once the consumer returned.
                cfg.UseInMemoryOutbox(context);
                cfg.ConfigureEndpoints(context);
            });
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    [Fact]
    public async Task A_message_whose_outgoing_publish_hangs_after_its_consumer_returned_triggers_the_remedy_naming_it()
    {
        var signals = new Signals { HangPublishes = true };
        using var host = await StartAsync(signals);
        var jobId = Guid.NewGuid();
        await host.Services.GetRequiredService<IBus>().Publish(new StageCommand(jobId, WorkMs: 50));

        string reason;
        try
        {
            reason = await signals.Remedy.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.False(signals.Done.Task.IsCompleted);
        }
        finally
        {
            // The bus cannot stop while a publish hangs: let it go whatever the outcome.
            signals.ReleasePublish.TrySetResult();
        }
        Assert.Contains(nameof(StageCommand), reason);
        Assert.Contains($"of job {jobId}", reason);
        Assert.Contains($"code {BusWatchdog.RestartExitCode}", reason);
        await signals.Done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_consumer_that_works_longer_than_the_timeout_is_not_taken_for_a_wedged_bus()
    {
        var signals = new Signals();
        using var host = await StartAsync(signals);
        await host.Services.GetRequiredService<IBus>().Publish(new StageCommand(Guid.NewGuid(), WorkMs: 2500));

        await signals.Done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var tracked = host.Services.GetRequiredService<InFlightMessages>();
        Assert.True(await Eventually.TrueAsync(() => tracked.Count == 0, seconds: 10), $"{tracked.Count} message(s) still tracked after they settled");
        // Longer than the watchdog's period and timeout together: it had every chance to fire.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        if (signals.Remedy.Task.IsCompleted) Assert.Fail($"the watchdog fired: {await signals.Remedy.Task}");
        await host.StopAsync();
    }
}
