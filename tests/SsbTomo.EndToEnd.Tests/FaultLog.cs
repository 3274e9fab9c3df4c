using System.Collections.Concurrent;
using MassTransit;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// Messages whose consumer still threw after the retry policy gave up (what the transport then moves to the
/// error queue), and messages the transport could not receive at all.
/// </summary>
internal sealed class FaultLog : IReceiveObserver
{
    private readonly ConcurrentQueue<string> _entries = new();

    public IReadOnlyList<string> Entries => [.. _entries];

    public Task PreReceive(ReceiveContext context) => Task.CompletedTask;
    public Task PostReceive(ReceiveContext context) => Task.CompletedTask;
    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType) where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception) where T : class
    {
        _entries.Enqueue($"{typeof(T).Name} faulted in {consumerType}: {exception.GetType().Name}: {exception.Message}");
        return Task.CompletedTask;
    }

    public Task ReceiveFault(ReceiveContext context, Exception exception)
    {
        _entries.Enqueue($"receive fault on {context.InputAddress}: {exception.GetType().Name}: {exception.Message}");
        return Task.CompletedTask;
    }
}
