using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SsbTomo.Contracts;

namespace SsbTomo.Hosting;

/// <summary>
/// Every message this process has received and not yet settled (its outgoing messages published and its delivery
/// acknowledged, or moved to the error queue). A message is <em>settling</em> from the moment its consumer returned
/// (or faulted) until MassTransit reports the receive finished; while a consumer runs, however long, it is not.
/// </summary>
/// <remarks>
/// The hand-off after a consumer returns takes milliseconds. When the broker stops during it, the in-memory outbox's
/// publish can wait forever for a publisher confirm that never comes (rabbitmq-dotnet-client #1930, "BasicPublishAsync
/// hangs after RabbitMQ server restart"), and the receive endpoint waits for that delivery before it reconnects
/// (MassTransit #2072): the service then stays disconnected for good and logs nothing. The soak saw exactly this on the
/// Ingest service (session 7). A message settling far longer than any hand-off is that state.
/// </remarks>
public sealed class InFlightMessages(TimeProvider time) : IReceiveObserver, IConsumeObserver
{
    private readonly ConcurrentDictionary<InFlightMessage, byte> _messages = new();

    public InFlightMessages() : this(TimeProvider.System)
    {
    }

    /// <summary>Messages whose consumer returned at least <paramref name="timeout"/> ago and that are still not settled.</summary>
    public IReadOnlyList<InFlightMessage> SettlingLongerThan(TimeSpan timeout)
    {
        var now = time.GetTimestamp();
        return _messages.Keys.Where(m => m.SettlingSince is { } since && time.GetElapsedTime(since, now) >= timeout).ToList();
    }

    public int Count => _messages.Count;

    Task IReceiveObserver.PreReceive(ReceiveContext context)
    {
        var message = context.GetOrAddPayload(() => new InFlightMessage(context.InputAddress));
        _messages.TryAdd(message, 0);
        return Task.CompletedTask;
    }

    Task IReceiveObserver.PostReceive(ReceiveContext context) => Settled(context);

    Task IReceiveObserver.ReceiveFault(ReceiveContext context, Exception exception) => Settled(context);

    // The receive observer hears of a consumer's end before the outbox publishes (checked against MassTransit 8.5.12:
    // IReceiveObserver.PostConsume precedes the first outgoing PrePublish, IConsumeObserver.PostConsume follows it).
    Task IReceiveObserver.PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType) => StartSettling(context);

    Task IReceiveObserver.ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception) =>
        StartSettling(context);

    // A retry runs the consumer again: that is work, not a hand-off.
    Task IConsumeObserver.PreConsume<T>(ConsumeContext<T> context)
    {
        if (context.TryGetPayload<InFlightMessage>(out var message))
        {
            message.SettlingSince = null;
            message.Describe(typeof(T).Name, context.MessageId, (context.Message as IJobMessage)?.JobId);
        }
        return Task.CompletedTask;
    }

    Task IConsumeObserver.PostConsume<T>(ConsumeContext<T> context) => Task.CompletedTask;

    Task IConsumeObserver.ConsumeFault<T>(ConsumeContext<T> context, Exception exception) => Task.CompletedTask;

    private Task StartSettling(ConsumeContext context)
    {
        if (context.TryGetPayload<InFlightMessage>(out var message)) message.SettlingSince = time.GetTimestamp();
        return Task.CompletedTask;
    }

    private Task Settled(ReceiveContext context)
    {
        if (context.TryGetPayload<InFlightMessage>(out var message)) _messages.TryRemove(message, out _);
        return Task.CompletedTask;
    }
}

/// <summary>One received message, as the watchdog reports it.</summary>
public sealed class InFlightMessage(Uri endpoint)
{
    private long _settlingSince; // 0: the consumer runs (a TimeProvider timestamp is never 0 in practice)

    public Uri Endpoint { get; } = endpoint;
    public string MessageType { get; private set; } = "(not yet consumed)";
    public Guid? MessageId { get; private set; }
    public Guid? JobId { get; private set; }

    /// <summary>TimeProvider timestamp of the consumer's return; null while it runs.</summary>
    public long? SettlingSince
    {
        get => Volatile.Read(ref _settlingSince) is var since and not 0 ? since : null;
        set => Volatile.Write(ref _settlingSince, value ?? 0);
    }

    internal void Describe(string messageType, Guid? messageId, Guid? jobId)
    {
        MessageType = messageType;
        MessageId = messageId;
        JobId = jobId;
    }

    public override string ToString() =>
        $"{MessageType} {MessageId}{(JobId is { } job ? $" of job {job}" : "")} on {Endpoint.AbsolutePath.TrimStart('/')}";
}

/// <summary>What a wedged bus does to the process; the default ends it so that its supervisor starts a fresh one.</summary>
public interface IWedgedBusRemedy
{
    void Apply(string reason);
}

/// <summary>
/// Ends the process with <see cref="BusWatchdog.RestartExitCode"/>: a graceful stop first (logs flushed, the HTTP
/// endpoints closed), a hard exit if the bus cannot stop either (it waits for the same stuck delivery). Kubernetes
/// restarts the pod; infra/scripts/run-distributed.sh restarts a service that exits with this code. The broker then
/// redelivers the unacknowledged message, and every consumer tolerates a duplicate.
/// </summary>
public sealed class ExitForRestart(IHostApplicationLifetime lifetime) : IWedgedBusRemedy
{
    public static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(15);

    public void Apply(string reason)
    {
        Environment.ExitCode = BusWatchdog.RestartExitCode;
        lifetime.StopApplication();
        _ = Task.Run(async () =>
        {
            await Task.Delay(GracefulStop);
            Environment.Exit(BusWatchdog.RestartExitCode);
        });
    }
}

/// <summary>
/// Watches <see cref="InFlightMessages"/>: a message that has been settling for <see cref="BusWatchdogSettings.SettleTimeoutSeconds"/>
/// means the process's bus will not recover by itself, so it logs which message and applies the <see cref="IWedgedBusRemedy"/>
/// (once). Only with a broker: the in-memory transport cannot lose its connection.
/// </summary>
public sealed class BusWatchdog(InFlightMessages messages, IWedgedBusRemedy remedy, BusWatchdogSettings settings, ILogger<BusWatchdog> logger)
    : BackgroundService
{
    /// <summary>EX_TEMPFAIL (sysexits.h): a temporary failure; start the service again.</summary>
    public const int RestartExitCode = 75;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timeout = TimeSpan.FromSeconds(settings.SettleTimeoutSeconds);
        var period = TimeSpan.FromSeconds(Math.Clamp(timeout.TotalSeconds / 4, 0.2, 5));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var stuck = messages.SettlingLongerThan(timeout);
                if (stuck.Count == 0) continue;
                var reason = $"{stuck.Count} message(s) not settled {timeout.TotalSeconds:0} s after their consumer returned " +
                             $"({string.Join("; ", stuck)}): the broker connection was lost during the hand-off and the bus does not " +
                             $"recover from that by itself; exiting with code {RestartExitCode} so that the service is started again " +
                             "and the broker redelivers the message";
                logger.LogCritical("Bus wedged: {Reason}", reason);
                remedy.Apply(reason);
                return;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>When the bus watchdog takes a process's bus for wedged (<c>SsbTomo:BusWatchdog</c>).</summary>
public sealed class BusWatchdogSettings
{
    /// <summary>
    /// Seconds a message may take, after its consumer returned, to be settled (published and acknowledged); 0 turns the
    /// watchdog off. The hand-off takes milliseconds; 120 s leaves room for a broker restart that the bus rides out.
    /// </summary>
    public int SettleTimeoutSeconds { get; set; } = 120;
}

public static class BusWatchdogRegistration
{
    /// <summary>The in-flight tracker as receive and consume observer, the watchdog, and (unless one is registered) <see cref="ExitForRestart"/>.</summary>
    public static IServiceCollection AddBusWatchdog(this IServiceCollection services, BusWatchdogSettings settings)
    {
        services.AddSingleton(settings);
        services.TryAddSingleton<InFlightMessages>();
        services.AddReceiveObserver(sp => sp.GetRequiredService<InFlightMessages>());
        services.AddConsumeObserver(sp => sp.GetRequiredService<InFlightMessages>());
        services.TryAddSingleton<IWedgedBusRemedy, ExitForRestart>();
        services.AddHostedService<BusWatchdog>();
        return services;
    }
}
