using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SsbTomo.Cli;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator;
using SsbTomo.Orchestrator.Persistence;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// A chunk command the broker loses (acknowledged, never handled: a wiped queue) leaves the job waiting until the stall
/// watchdog re-drives it; the real segmentation worker then handles the re-sent command and the job ends with the
/// labels and metrics of an undisturbed run. The watchdog's scan is called at an instant past the timeout instead of
/// waiting ten minutes, once the job can move no further: no timing in the test decides the outcome.
/// </summary>
public sealed class StallRedriveTests : IDisposable
{
    private const int ChunkSlices = 8;
    private const int LostChunk = 1;
    private readonly TempDirectory _dir = new("ssbtomo-stall");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_lost_segment_command_is_re_driven_and_the_job_completes_with_the_clean_runs_labels()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        var cleanRoot = Path.Combine(_dir.Path, "clean");
        var clean = await RunCommand.ExecuteAsync(stack, cleanRoot, null, ChunkSlices, verbose: false, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(clean.Succeeded, clean.Reason);

        var lost = new LoseOneSegmentCommand(LostChunk);
        var services = new TaskCompletionSource<IServiceProvider>(TaskCreationOptions.RunContinuationsAsynchronously);
        var root = Path.Combine(_dir.Path, "redriven");
        var run = RunCommand.ExecuteAsync(stack, root, null, ChunkSlices, verbose: false, CancellationToken.None, s =>
        {
            s.AddSingleton<IConfigureReceiveEndpoint>(lost);
            s.AddHostedService(sp => new ServicesProbe(sp, services));
        });
        var provider = await services.Task.WaitAsync(TimeSpan.FromMinutes(1));
        var store = provider.GetRequiredService<IJobStateStore>();

        // Every other chunk segmented: the job can only wait now.
        JobState? waiting = null;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2) && !run.IsCompleted)
        {
            waiting = (await store.ListAsync()).SingleOrDefault()?.State;
            if (lost.Lost && waiting is { CurrentState: JobStates.Segmenting } && waiting.SegmentedChunks.Count == waiting.ChunksTotal - 1) break;
            await Task.Delay(20);
        }
        if (run.IsCompleted) Assert.Fail($"the job ended without its lost chunk: {await run}");
        Assert.True(lost.Lost, "no segment command was lost");
        Assert.Equal(JobStates.Segmenting, waiting?.CurrentState);
        Assert.DoesNotContain(LostChunk, waiting!.SegmentedChunks);

        var found = await provider.GetRequiredService<StallWatchdog>().ScanAsync(DateTime.UtcNow.AddHours(1));
        Assert.Equal([waiting.CorrelationId], found);

        var outcome = await run.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(outcome.Succeeded, outcome.Reason);
        Assert.Equal(2, lost.Deliveries);
        Assert.Null(JobResults.Difference(await JobResults.ReadAsync(cleanRoot), await JobResults.ReadAsync(root)));
    }

    /// <summary>Hands the test the embedded host's services once it starts.</summary>
    private sealed class ServicesProbe(IServiceProvider services, TaskCompletionSource<IServiceProvider> started) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            started.TrySetResult(services);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>The first delivery of one chunk's SegmentChunk is taken and dropped, as a wiped queue loses it.</summary>
    private sealed class LoseOneSegmentCommand(int chunk) : IConfigureReceiveEndpoint, IFilter<ConsumeContext>
    {
        private int _deliveries;

        public bool Lost => Volatile.Read(ref _deliveries) > 0;

        public int Deliveries => Volatile.Read(ref _deliveries);

        public void Configure(string name, IReceiveEndpointConfigurator configurator) => configurator.UseFilter(this);

        public Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
        {
            if (context.TryGetMessage<SegmentChunk>(out var segment) && segment.Message.ChunkIndex == chunk &&
                Interlocked.Increment(ref _deliveries) == 1)
                return Task.CompletedTask;
            return next.Send(context);
        }

        public void Probe(ProbeContext context) => context.CreateFilterScope("lose-one-segment-command");
    }
}
