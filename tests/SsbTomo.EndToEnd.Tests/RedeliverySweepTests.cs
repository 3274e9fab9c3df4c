using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Contracts;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// A broker delivers a message again when the consumer's acknowledgement is lost (a worker killed after its work, a
/// connection dropped before the ack). Each job message of a small job, one per run, is delivered a second time right
/// after the first delivery was handled: the job still completes with the labels and metrics of an undisturbed run and
/// no message in an error queue.
/// </summary>
public sealed class RedeliverySweepTests(ITestOutputHelper output) : IDisposable
{
    private const int ChunkSlices = 8;
    private readonly TempDirectory _dir = new("ssbtomo-redelivery");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_job_message_delivered_twice_in_turn_gives_the_same_labels_with_nothing_in_an_error_queue()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        var clean = await RunAsync(stack, "clean", messagesBeforeRedelivery: null);
        Assert.True(clean.Outcome.Succeeded, clean.Outcome.Reason);
        Assert.Empty(clean.Faults);
        var expected = await JobResults.ReadAsync(clean.Root);
        // 18 job message types; alignment's measure and shift commands and events, PrepareChunk, ChunkPrepared, SegmentChunk
        // and ChunkSegmented once per slab.
        Assert.Equal(10 + 8 * 3, clean.Consumed.Count);

        var failures = new List<string>();
        for (var n = 0; n < clean.Consumed.Count; n++)
        {
            var run = await RunAsync(stack, $"redeliver-{n}", n);
            var where = $"message {n + 1} of {clean.Consumed.Count} ({run.Redelivered ?? "none"})";
            string? failure = run switch
            {
                { Redelivered: null } => "nothing was delivered twice",
                { Outcome.Succeeded: false } => $"job failed in {run.Outcome.FailedStage}: {run.Outcome.Reason}",
                { Faults.Count: > 0 } => string.Join("; ", run.Faults),
                _ => JobResults.Difference(expected, await JobResults.ReadAsync(run.Root)) is { } difference
                    ? $"labels or metrics differ from the clean run's: {difference}"
                    : null,
            };
            if (failure is not null)
                failures.Add($"{where}: {failure}");
            output.WriteLine($"{where} delivered twice: {failure ?? "completed, same labels and metrics"} ({run.Elapsed.TotalSeconds:0.0} s)");
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private sealed record Run(string Root, JobOutcome Outcome, IReadOnlyList<string> Consumed, string? Redelivered, IReadOnlyList<string> Faults, TimeSpan Elapsed);

    private async Task<Run> RunAsync(string stack, string name, int? messagesBeforeRedelivery)
    {
        var root = Path.Combine(_dir.Path, name);
        var redelivery = new RedeliverOneJobMessage(messagesBeforeRedelivery);
        var faults = new FaultLog();
        var clock = Stopwatch.StartNew();
        var outcome = await RunCommand.ExecuteAsync(stack, root, null, ChunkSlices, verbose: false, CancellationToken.None,
                services =>
                {
                    services.AddSingleton<IConfigureReceiveEndpoint>(redelivery);
                    JobResults.WithoutTortuosity(services);
                    services.AddReceiveObserver(_ => faults);
                })
            .WaitAsync(TimeSpan.FromMinutes(2));
        return new Run(root, outcome, redelivery.Consumed, redelivery.Redelivered, faults.Entries, clock.Elapsed);
    }

    /// <summary>
    /// Counts the job messages every endpoint handles and publishes the one after the first
    /// <c>messagesBeforeRedelivery</c> again once it has been handled, as a redelivery would bring it back.
    /// </summary>
    private sealed class RedeliverOneJobMessage(int? messagesBeforeRedelivery) : IConfigureReceiveEndpoint, IFilter<ConsumeContext>
    {
        private static readonly Func<ConsumeContext, object?>[] JobMessageReaders =
        [
            MessageOf<SubmitJob>, MessageOf<IngestStack>, MessageOf<StackIngested>, MessageOf<MeasureAlignmentChunk>, MessageOf<AlignmentChunkMeasured>,
            MessageOf<SolveAlignment>, MessageOf<AlignmentSolved>, MessageOf<ShiftAlignmentChunk>, MessageOf<AlignmentChunkShifted>, MessageOf<StackAligned>,
            MessageOf<PrepareChunk>, MessageOf<ChunkPrepared>, MessageOf<SegmentChunk>, MessageOf<ChunkSegmented>,
            MessageOf<ReconstructVolume>, MessageOf<VolumeReconstructed>, MessageOf<MeasureVolume>, MessageOf<VolumeMeasured>,
        ];

        private readonly ConcurrentQueue<string> _consumed = new();
        private int _handled;
        private string? _redelivered;

        public IReadOnlyList<string> Consumed => [.. _consumed];

        public string? Redelivered => Volatile.Read(ref _redelivered);

        public void Configure(string name, IReceiveEndpointConfigurator configurator) => configurator.UseFilter(this);

        public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
        {
            await next.Send(context);
            if (JobMessageReaders.Select(read => read(context)).FirstOrDefault(m => m is not null) is not { } message)
                return;
            var index = Interlocked.Increment(ref _handled) - 1;
            _consumed.Enqueue(message.GetType().Name);
            if (index != messagesBeforeRedelivery)
                return;
            Volatile.Write(ref _redelivered, $"{message.GetType().Name}: {message}");
            await context.Publish(message, message.GetType());
        }

        public void Probe(ProbeContext context) => context.CreateFilterScope("redeliver-one-job-message");

        private static object? MessageOf<T>(ConsumeContext context) where T : class =>
            context.TryGetMessage<T>(out var typed) ? typed.Message : null;
    }
}
