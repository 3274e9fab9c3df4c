using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Persistence;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>What a user reads when a job fails: the stage and slices in words, what is wrong, what to do; no exception text.</summary>
public class FailureReasonTests
{
    // A stack that gets as far as the fan-out; the slab stages are what the tests break.
    private sealed class IngestOk : IConsumer<IngestStack>
    {
        public Task Consume(ConsumeContext<IngestStack> context) => context.Publish(
            new StackIngested(context.Message.JobId, 40));
    }

    private sealed class AlignOk : IConsumer<MeasureAlignmentChunk>, IConsumer<SolveAlignment>, IConsumer<ShiftAlignmentChunk>
    {
        public Task Consume(ConsumeContext<MeasureAlignmentChunk> context) =>
            context.Publish(new AlignmentChunkMeasured(context.Message.JobId, context.Message.ChunkIndex));

        public Task Consume(ConsumeContext<SolveAlignment> context) => context.Publish(
            new AlignmentSolved(context.Message.JobId, 40, 60, 60));

        public Task Consume(ConsumeContext<ShiftAlignmentChunk> context) =>
            context.Publish(new AlignmentChunkShifted(context.Message.JobId, context.Message.ChunkIndex));
    }

    /// <summary>Chunk 1 (slices 16–31) hits a bug: an argument check deep in an algorithm, as alignment's block fit once did.</summary>
    private sealed class PrepareWithBug : IConsumer<PrepareChunk>
    {
        public Task Consume(ConsumeContext<PrepareChunk> context) => StageRunner.RunAsync(context, "denoise", () =>
            context.Message.ChunkIndex == 1
                ? throw new ArgumentException("only 0 blocks have data; a degree-2 fit needs 6", "image")
                : context.Publish(new ChunkPrepared(context.Message.JobId, context.Message.ChunkIndex, FourLevels(), 0, 65536)));
    }

    private sealed class PrepareOk : IConsumer<PrepareChunk>
    {
        public Task Consume(ConsumeContext<PrepareChunk> context) => StageRunner.RunAsync(context, "denoise", () =>
            context.Publish(new ChunkPrepared(context.Message.JobId, context.Message.ChunkIndex, FourLevels(), 0, 65536)));
    }

    private sealed class SurveyOk : IConsumer<SurveyChunk>
    {
        public Task Consume(ConsumeContext<SurveyChunk> context) => StageRunner.RunAsync(context, "segmentation", () =>
            context.Publish(new ChunkSurveyed(context.Message.JobId, context.Message.ChunkIndex, new long[1024], new long[1024])));
    }

    /// <summary>The last chunk (slices 32–39) is input no retry can fix; the thrower says what to do.</summary>
    private sealed class SegmentWithBadInput : IConsumer<SegmentChunk>
    {
        public Task Consume(ConsumeContext<SegmentChunk> context) => StageRunner.RunAsync(context, "segmentation", () =>
            context.Message.ChunkIndex == 2
                ? throw new InvalidInputException("slice 35 is black", advice: "check that the beam was on while slice 35 was imaged")
                : context.Publish(new ChunkSegmented(context.Message.JobId, context.Message.ChunkIndex)));
    }

    private static long[] FourLevels()
    {
        var histogram = new long[1024];
        histogram[200] = 100; histogram[400] = 300; histogram[600] = 500; histogram[800] = 200;
        return histogram;
    }

    private static async Task<(ServiceProvider Provider, ITestHarness Harness)> StartAsync(Action<IBusRegistrationConfigurator> consumers)
    {
        var provider = new ServiceCollection()
            .AddMassTransitTestHarness(bus =>
            {
                bus.AddOrchestrator();
                consumers(bus);
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return (provider, harness);
    }

    private static async Task<JobFailed> FailedAsync(ITestHarness harness, Guid jobId)
    {
        Assert.True(await Eventually.TrueAsync(() => harness.Published.Select<JobFailed>(x => x.Context.Message.JobId == jobId).Any()),
            "the job never failed");
        return harness.Published.Select<JobFailed>(x => x.Context.Message.JobId == jobId).First().Context.Message;
    }

    [Fact]
    public async Task A_bug_in_one_slab_names_the_stage_and_slices_and_where_the_details_are_never_the_exception()
    {
        var (provider, harness) = await StartAsync(bus =>
        {
            bus.AddConsumer<IngestOk>();
            bus.AddConsumer<AlignOk>();
            bus.AddConsumer<PrepareWithBug>();
        });
        await using var _ = provider;
        var jobId = NewId.NextGuid();

        await harness.Bus.Publish(new SubmitJob(jobId, "/share/stack", "jobs/b", null, 16));

        var failed = await FailedAsync(harness, jobId);
        Assert.Empty(ReadableReason.Offenders(failed.Reason));
        Assert.Equal("denoise", failed.Stage);
        Assert.StartsWith("An internal error in denoising of slices 16–31 stopped the job.", failed.Reason);
        Assert.Contains(jobId.ToString(), failed.Reason);
        Assert.Contains("the log of ssbtomo-segmentation", failed.Reason);
        Assert.Contains("System.ArgumentException: only 0 blocks have data; a degree-2 fit needs 6 (Parameter 'image')", failed.Detail);

        var saga = harness.GetSagaStateMachineHarness<JobStateMachine, JobState>();
        Assert.NotNull(await saga.Exists(jobId, m => m.Failed));
        // What the API and the dashboard read.
        var state = (await provider.GetRequiredService<IJobStateStore>().LoadAsync(jobId))!.State;
        Assert.Equal(failed.Reason, state.FailureReason);
        Assert.Equal(failed.Detail, state.FailureDetail);
    }

    [Fact]
    public async Task Input_that_no_retry_can_fix_keeps_its_message_and_advice_and_names_the_slices()
    {
        var (provider, harness) = await StartAsync(bus =>
        {
            bus.AddConsumer<IngestOk>();
            bus.AddConsumer<AlignOk>();
            bus.AddConsumer<PrepareOk>();
            bus.AddConsumer<SurveyOk>();
            bus.AddConsumer<SegmentWithBadInput>();
        });
        await using var _ = provider;
        var jobId = NewId.NextGuid();

        await harness.Bus.Publish(new SubmitJob(jobId, "/share/stack", "jobs/c", null, 16));

        var failed = await FailedAsync(harness, jobId);
        Assert.Empty(ReadableReason.Offenders(failed.Reason));
        Assert.Equal("segmentation", failed.Stage);
        Assert.Equal("Segmentation of slices 32–39 failed: slice 35 is black. Check that the beam was on while slice 35 was imaged.", failed.Reason);
        Assert.Null(failed.Detail);
    }

    [Fact]
    public async Task A_stack_without_contrast_fails_the_job_instead_of_stranding_it_while_thresholds_are_picked()
    {
        var (provider, harness) = await StartAsync(_ => { });
        await using var _ = provider;
        var jobId = NewId.NextGuid();
        var saga = harness.GetSagaStateMachineHarness<JobStateMachine, JobState>();
        await harness.Bus.Publish(new SubmitJob(jobId, "/share/blank", "jobs/d", null, 16));
        Assert.NotNull(await saga.Exists(jobId, m => m.Ingesting));
        await harness.Bus.Publish(new StackIngested(jobId, 16));
        Assert.NotNull(await saga.Exists(jobId, m => m.Aligning));
        await harness.Bus.Publish(new StackAligned(jobId, 16, 60, 60));
        Assert.NotNull(await saga.Exists(jobId, m => m.Denoising));
        var flat = new long[1024];
        flat[300] = 57_600;
        await harness.Bus.Publish(new ChunkPrepared(jobId, 0, flat, 0, 65536));

        var failed = await FailedAsync(harness, jobId);
        Assert.Empty(ReadableReason.Offenders(failed.Reason));
        Assert.Equal("segmentation", failed.Stage);
        Assert.Contains("almost no contrast", failed.Reason);
        Assert.Contains("fill 1 of 1024 histogram bins", failed.Reason);
        Assert.NotNull(await saga.Exists(jobId, m => m.Failed));
        Assert.False(harness.Published.Select<SegmentChunk>().Any());
    }

    [Fact]
    public async Task The_first_failure_is_the_one_the_user_reads()
    {
        var (provider, harness) = await StartAsync(_ => { });
        await using var _ = provider;
        var jobId = NewId.NextGuid();
        var saga = harness.GetSagaStateMachineHarness<JobStateMachine, JobState>();
        await harness.Bus.Publish(new SubmitJob(jobId, "/share/stack", "jobs/e", null, 16));
        Assert.NotNull(await saga.Exists(jobId, m => m.Ingesting));

        await harness.Bus.Publish(new StageFailed(jobId, "ingest", "Ingest failed: slice_0003.tif: truncated."));
        Assert.NotNull(await saga.Exists(jobId, m => m.Failed));
        await harness.Bus.Publish(new StageFailed(jobId, "alignment", "Alignment failed: something later."));
        Assert.True(await harness.Consumed.Any<StageFailed>(x => x.Context.Message.Stage == "alignment"));
        await Task.Delay(300);

        Assert.Equal("Ingest failed: slice_0003.tif: truncated.", (await provider.GetRequiredService<IJobStateStore>().LoadAsync(jobId))!.State.FailureReason);
        Assert.Single(harness.Published.Select<JobFailed>(x => x.Context.Message.JobId == jobId));
    }

    [Theory]
    [InlineData("segmentation", 32, 48, "segmentation of slices 32–47")]
    [InlineData("denoise", 7, 8, "denoising of slice 7")]
    [InlineData("metrics", -1, -1, "measurement")]
    [InlineData("alignment", -1, -1, "alignment")]
    public void Stages_read_as_words_with_their_slices(string stage, int z0, int z1, string expected)
    {
        object command = z0 < 0
            ? new MeasureVolume(Guid.Empty, "")
            : new SegmentChunk(Guid.Empty, "", 0, z0, z1, [], []);
        Assert.Equal(expected, FailureReasons.StageInWords(stage, command));
    }
}
