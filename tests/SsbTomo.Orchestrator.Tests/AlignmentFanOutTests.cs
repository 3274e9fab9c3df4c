using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>
/// Alignment inside the Aligning state: one measurement command per slab, one solve once every slab has reported (a
/// duplicate report counts once), one shift command per slab, and the aligned stack announced after the last shift;
/// progress counts measured chunks, then shifted ones.
/// </summary>
public class AlignmentFanOutTests
{
    [Fact]
    public async Task Slabs_are_measured_solved_once_and_shifted_before_the_stack_counts_as_aligned()
    {
        var (provider, harness, jobId) = await StartAligningAsync();
        await using var _ = provider;

        Assert.True(await Eventually.TrueAsync(() => Published<MeasureAlignmentChunk>(harness).Length == 3));
        Assert.Equal([(0, 8), (8, 16), (16, 20)], Published<MeasureAlignmentChunk>(harness).Select(c => (c.Z0, c.Z1)).Order());
        foreach (var chunk in new[] { 2, 0, 2 })
            await harness.Bus.Publish(new AlignmentChunkMeasured(jobId, chunk));
        Assert.True(await Eventually.TrueAsync(() => Progress(harness).Contains(2)));
        Assert.Empty(Published<SolveAlignment>(harness));

        await harness.Bus.Publish(new AlignmentChunkMeasured(jobId, 1));
        Assert.True(await Eventually.TrueAsync(() => Published<SolveAlignment>(harness).Length == 1));
        Assert.Equal(3, Published<SolveAlignment>(harness)[0].Chunks);

        await harness.Bus.Publish(new AlignmentSolved(jobId, 20, 60, 62, ["slice 4 is black"]));
        Assert.True(await Eventually.TrueAsync(() => Published<ShiftAlignmentChunk>(harness).Length == 3));
        await harness.Bus.Publish(new AlignmentChunkShifted(jobId, 0));
        await harness.Bus.Publish(new AlignmentChunkShifted(jobId, 1));
        var store = provider.GetRequiredService<IJobStateStore>();
        Assert.True(await Eventually.TrueAsync(() => store.LoadAsync(jobId).GetAwaiter().GetResult()?.State.AlignmentShiftedChunks.Count == 2));
        Assert.Empty(Published<StackAligned>(harness));

        await harness.Bus.Publish(new AlignmentChunkShifted(jobId, 2));
        Assert.NotNull(await harness.GetSagaStateMachineHarness<JobStateMachine, JobState>().Exists(jobId, m => m.Denoising));
        var aligned = Assert.Single(Published<StackAligned>(harness));
        Assert.Equal((60, 62), (aligned.Height, aligned.Width));
        Assert.Contains("slice 4 is black", (await store.LoadAsync(jobId))!.State.Warnings);
        Assert.Single(Published<SolveAlignment>(harness));
    }

    [Fact]
    public async Task A_redelivered_stack_ingested_sends_the_measure_commands_again_for_unmeasured_slabs_only()
    {
        var (provider, harness, jobId) = await StartAligningAsync();
        await using var _ = provider;
        Assert.True(await Eventually.TrueAsync(() => Published<MeasureAlignmentChunk>(harness).Length == 3));
        await harness.Bus.Publish(new AlignmentChunkMeasured(jobId, 1));
        var store = provider.GetRequiredService<IJobStateStore>();
        Assert.True(await Eventually.TrueAsync(() => store.LoadAsync(jobId).GetAwaiter().GetResult()?.State.AlignmentMeasuredChunks.Count == 1));

        // As after an Orchestrator whose first publish was lost with the connection: the state says Aligning, the broker redelivers.
        await harness.Bus.Publish(new StackIngested(jobId, 20));
        Assert.True(await Eventually.TrueAsync(() => Published<MeasureAlignmentChunk>(harness).Length == 5));
        Assert.Equal([0, 0, 1, 2, 2], Published<MeasureAlignmentChunk>(harness).Select(c => c.ChunkIndex).Order());

        // Once solved, the measurements are no longer wanted: a further duplicate sends nothing.
        foreach (var chunk in new[] { 0, 2 })
            await harness.Bus.Publish(new AlignmentChunkMeasured(jobId, chunk));
        await harness.Bus.Publish(new AlignmentSolved(jobId, 20, 60, 62, []));
        Assert.True(await Eventually.TrueAsync(() => Published<ShiftAlignmentChunk>(harness).Length == 3));
        await harness.Bus.Publish(new StackIngested(jobId, 20));
        Assert.True(await harness.Consumed.Any<StackIngested>(x => x.Context.Message.JobId == jobId));
        Assert.False(await Eventually.TrueAsync(() => Published<MeasureAlignmentChunk>(harness).Length > 5, seconds: 1));
    }

    [Fact]
    public async Task A_job_stored_before_the_paths_left_the_messages_loads_and_finishes_its_alignment()
    {
        await using var job = await JobRun.StartAsync();
        var jobId = job.Id;
        // As a durable store held it: the raw path from StackIngested, and the solve's aligned path, crop and drift.
        var stored = JobStateJson.Deserialize($$"""
            {"correlationId":"{{jobId}}","currentState":"Aligning","jobPrefix":"jobs/x","chunkSlices":8,"rawPath":"jobs/x/raw.zarr",
             "slices":20,"chunksTotal":3,"alignmentMeasuredChunks":[0,1,2],"alignmentShiftedChunks":[0,2],
             "alignmentSolution":{"jobId":"{{jobId}}","alignedPath":"jobs/x/aligned.zarr","slices":20,"height":60,"width":62,
               "cropYx":[2,62,0,62],"maxDriftPx":1.5,"warnings":["slice 4 is black"] } }
            """);
        await job.Provider.GetRequiredService<IJobStateStore>().InsertAsync(stored);

        await job.Harness.Bus.Publish(new AlignmentChunkShifted(jobId, 1));
        Assert.NotNull(await job.Saga.Exists(jobId, m => m.Denoising));
        var aligned = Assert.Single(job.Harness.Published.Select<StackAligned>()).Context.Message;
        Assert.Equal((20, 60, 62), (aligned.Slices, aligned.Height, aligned.Width));
        Assert.Equal(["slice 4 is black"], aligned.Warnings ?? []);
        Assert.True(await Eventually.TrueAsync(() => job.Published<PrepareChunk>().Count == 3));
    }

    /// <summary>
    /// Three shift chunks report noise residuals of σ <paramref name="noiseShare"/> times the aligned histogram's
    /// void-to-electrolyte contrast (void at bin 150, electrolyte at 500 of 1024: 22400 grey levels); null: chunk 1
    /// reports none, as a worker from before the residuals.
    /// </summary>
    [Theory]
    [InlineData(0.03, NoiseLevel.QuietDenoiseSigma)]
    [InlineData(0.11, NoiseLevel.DefaultDenoiseSigma)]
    [InlineData(0.25, NoiseLevel.NoisyDenoiseSigma)]
    [InlineData(null, NoiseLevel.DefaultDenoiseSigma)]
    public async Task The_stacks_noise_against_its_contrast_picks_the_denoising_every_prepare_command_carries(double? noiseShare, double sigma)
    {
        var (provider, harness, jobId) = await StartAligningAsync();
        await using var _ = provider;
        foreach (var chunk in new[] { 0, 1, 2 })
            await harness.Bus.Publish(new AlignmentChunkMeasured(jobId, chunk));
        await harness.Bus.Publish(new AlignmentSolved(jobId, 20, 60, 62, []));
        Assert.True(await Eventually.TrueAsync(() => Published<ShiftAlignmentChunk>(harness).Length == 3));
        var greys = new long[AlignmentChunkShifted.AlignedHistogramBins];
        foreach (var (centre, sd, count) in new[] { (150.0, 12.0, 8e3), (330.0, 15.0, 5e3), (500.0, 15.0, 5e4), (800.0, 20.0, 3e4) })
            for (var b = 0; b < greys.Length; b++)
                greys[b] += (long)Math.Round(count / (sd * Math.Sqrt(2 * Math.PI)) * Math.Exp(-0.5 * Math.Pow((b - centre) / sd, 2)));
        foreach (var chunk in new[] { 0, 1, 2 })
            await harness.Bus.Publish(new AlignmentChunkShifted(jobId, chunk)
            {
                NoiseResiduals = noiseShare is { } share ? HalfNormalResiduals(share * 350 * 64) : chunk == 1 ? null : HalfNormalResiduals(0.03 * 350 * 64),
                AlignedHistogram = greys,
            });

        Assert.True(await Eventually.TrueAsync(() => Published<PrepareChunk>(harness).Length > 0));
        Assert.All(Published<PrepareChunk>(harness), p => Assert.Equal(sigma, p.DenoiseSigma));
        var stored = (await provider.GetRequiredService<IJobStateStore>().LoadAsync(jobId))!.State;
        if (noiseShare is { } drawn) Assert.InRange(stored.NoiseShare!.Value, 0.9 * drawn, 1.1 * drawn);
        else Assert.Null(stored.NoiseShare);
    }

    /// <summary>|e| of white noise of σ <paramref name="sigma"/> (e = g − mean of 4 neighbours, σ_e = √1.25 σ), 10⁵ pixels.</summary>
    private static long[] HalfNormalResiduals(double sigma)
    {
        var residuals = new long[NoiseLevel.Bins];
        var scale = Math.Sqrt(1.25) * sigma;
        for (var b = 0; b < residuals.Length; b++)
        {
            double Cdf(double e) => Erf(e / (scale * Math.Sqrt(2)));
            residuals[b] = (long)Math.Round(1e5 * (Cdf((b + 1) * NoiseLevel.BinWidth) - Cdf(b * NoiseLevel.BinWidth)));
        }
        return residuals;
    }

    /// <summary>erf by Abramowitz &amp; Stegun 7.1.26 (error below 1.5e-7).</summary>
    private static double Erf(double x)
    {
        var t = 1 / (1 + 0.3275911 * x);
        return 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.Exp(-x * x);
    }

    /// <summary>A harness with one job of 20 slices in slabs of 8, ingested and now Aligning.</summary>
    private static async Task<(ServiceProvider Provider, ITestHarness Harness, Guid JobId)> StartAligningAsync()
    {
        var provider = new ServiceCollection().AddMassTransitTestHarness(bus => bus.AddOrchestrator()).BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var jobId = Guid.NewGuid();
        await harness.Bus.Publish(new SubmitJob(jobId, "/share/stack", "jobs/x", null, 8));
        await harness.Bus.Publish(new StackIngested(jobId, 20));
        Assert.NotNull(await harness.GetSagaStateMachineHarness<JobStateMachine, JobState>().Exists(jobId, m => m.Aligning));
        return (provider, harness, jobId);
    }

    // One job per harness: every message is this job's.
    private static T[] Published<T>(ITestHarness harness) where T : class =>
        harness.Published.Select<T>().Select(m => m.Context.Message).ToArray();

    private static int[] Progress(ITestHarness harness) =>
        harness.Published.Select<JobProgressed>().Select(m => m.Context.Message).Where(p => p.State == JobStates.Aligning)
            .Select(p => p.ChunksDone).ToArray();
}
