using MassTransit.Testing;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Persistence;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>
/// Stall detection on the saga with the watchdog's scan called directly at chosen instants (no timer, no sleeping): the
/// harness has no workers, so a command nobody answers is a command the broker lost. The default settings apply: a
/// 10-minute floor, which the tests' tiny jobs never exceed.
/// </summary>
public class StallTests
{
    private static readonly TimeSpan Floor = TimeSpan.FromSeconds(new StallSettings().FloorSeconds);

    [Fact]
    public async Task A_dropped_chunk_command_is_sent_again_unchanged_and_the_job_completes()
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToSegmentingAsync();
        var original = job.Published<SegmentChunk>().Single(c => c.ChunkIndex == 1);
        await job.Harness.Bus.Publish(new ChunkSegmented(job.Id, 0)); // chunk 1's command is the one lost
        Assert.True(await Eventually.TrueAsync(() => job.StoredAsync().Result.SegmentedChunks.Count == 1));

        Assert.Empty(await job.ScanAsync(DateTime.UtcNow + Floor - TimeSpan.FromSeconds(30)));
        var detected = DateTime.UtcNow + Floor;
        Assert.Equal([job.Id], await job.ScanAsync(detected));

        Assert.True(await Eventually.TrueAsync(() => job.Published<SegmentChunk>().Count == 3), "chunk 1's command was not sent again");
        var resent = job.Published<SegmentChunk>()[^1];
        Assert.Equal((original.JobId, original.JobPrefix, original.ChunkIndex, original.Z0, original.Z1),
            (resent.JobId, resent.JobPrefix, resent.ChunkIndex, resent.Z0, resent.Z1));
        Assert.Equal(original.Thresholds, resent.Thresholds);
        Assert.Equal(original.ClassMeans, resent.ClassMeans);
        var redriven = await job.StoredAsync();
        Assert.Equal(JobStates.Segmenting, redriven.CurrentState);
        Assert.Equal(1, redriven.Redrives);
        Assert.Equal(detected, redriven.RedrivenUtc);
        Assert.Contains("chunk 1 of 2 (slices 16–31) to be segmented", redriven.LastRedrive);
        var view = JobsApi.StallView.Of(redriven, detected.AddMinutes(1), new StallSettings())!;
        Assert.True(view.Stalled);

        await job.Harness.Bus.Publish(new ChunkSegmented(job.Id, 1));
        await job.FinishAsync();
        var done = await job.StoredAsync();
        Assert.Equal(JobStates.Completed, done.CurrentState);
        Assert.Null(done.RedrivenUtc);
        Assert.Equal(1, done.Redrives);
        Assert.Equal(
            [JobStates.Ingesting, JobStates.Aligning, JobStates.Denoising, JobStates.Surveying, JobStates.Segmenting, JobStates.Reconstructing, JobStates.Measuring],
            done.Stages.Select(s => s.State));
        Assert.All(done.Stages, s => Assert.True(s.EndedUtc >= s.StartedUtc));
        Assert.Empty(job.Harness.Published.Select<JobFailed>());
    }

    [Fact]
    public async Task A_chunk_no_worker_answers_fails_the_job_one_timeout_after_its_re_drive_naming_the_stage_and_chunks()
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToSegmentingAsync();
        var redrivenAt = DateTime.UtcNow + Floor;
        Assert.Equal([job.Id], await job.ScanAsync(redrivenAt));
        Assert.True(await Eventually.TrueAsync(() => job.Published<SegmentChunk>().Count == 4), "both chunks' commands should go out again");

        // Within the timeout after the re-drive the job waits on.
        Assert.Empty(await job.ScanAsync(redrivenAt + Floor - TimeSpan.FromSeconds(1)));
        Assert.Equal(JobStates.Segmenting, (await job.StoredAsync()).CurrentState);

        Assert.Equal([job.Id], await job.ScanAsync(redrivenAt + Floor));
        Assert.NotNull(await job.Saga.Exists(job.Id, m => m.Failed));
        Assert.True(await Eventually.TrueAsync(() => job.Harness.Published.Select<JobFailed>().Any()));
        var failed = job.Harness.Published.Select<JobFailed>().Single().Context.Message;
        Assert.Equal("segmentation", failed.Stage);
        Assert.Equal(
            "Segmentation stalled: it waited 20 min for chunks 0, 1 of 2 (slices 0–15, 16–31) to be segmented, sent them again once 10 min ago, "
            + "and no segmentation worker has answered since. Check that a segmentation worker (ssbtomo-segmentation) is running and reaches "
            + "the broker and the blob store (its log says why it stopped), then submit the stack again.",
            failed.Reason);
        Assert.Empty(ReadableReason.Offenders(failed.Reason));
        Assert.Equal(4, job.Published<SegmentChunk>().Count); // failing sends nothing more
    }

    [Fact]
    public async Task A_lost_ingest_command_is_sent_again_and_without_an_ingest_worker_the_job_fails_naming_ingest()
    {
        await using var job = await JobRun.StartAsync();
        await job.Harness.Bus.Publish(new SubmitJob(job.Id, "/share/stack", JobRun.Prefix, new VoxelSizeNm(5, 5, 10), JobRun.ChunkSlices));
        Assert.NotNull(await job.Saga.Exists(job.Id, m => m.Ingesting));
        Assert.True(await Eventually.TrueAsync(() => job.Published<IngestStack>().Count == 1));

        var redrivenAt = DateTime.UtcNow + Floor;
        await job.ScanAsync(redrivenAt);
        Assert.True(await Eventually.TrueAsync(() => job.Published<IngestStack>().Count == 2));
        Assert.Equal(job.Published<IngestStack>()[0], job.Published<IngestStack>()[1]);

        await job.ScanAsync(redrivenAt + Floor);
        Assert.NotNull(await job.Saga.Exists(job.Id, m => m.Failed));
        var stored = await job.StoredAsync();
        Assert.Equal("ingest", stored.FailedStage);
        Assert.StartsWith("Ingest stalled: it waited 20 min for the stack to be read into raw.zarr, sent it again once 10 min ago, and no ingest worker "
            + "has answered since. Check that an ingest worker (ssbtomo-ingest) is running", stored.FailureReason);
    }

    [Fact]
    public async Task A_chunk_that_reports_between_the_scan_and_the_saga_stops_the_re_drive()
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToSegmentingAsync();
        await job.Harness.Bus.Publish(new ChunkSegmented(job.Id, 0));
        Assert.True(await Eventually.TrueAsync(() => job.StoredAsync().Result.SegmentedChunks.Count == 1));
        var moved = StallPolicy.LastMovedUtc(await job.StoredAsync());

        // What a scan that read the job before chunk 0 reported sends: stalled as of an instant the job has since moved past.
        await job.PublishAndWaitAsync(new JobStallDetected(job.Id, moved + Floor - TimeSpan.FromSeconds(1), Floor.TotalSeconds));

        var stored = await job.StoredAsync();
        Assert.Equal(0, stored.Redrives);
        Assert.Null(stored.RedrivenUtc);
        Assert.Equal(2, job.Published<SegmentChunk>().Count);
    }

    [Theory]
    [InlineData(JobStates.Completed)]
    [InlineData(JobStates.Failed)]
    public async Task A_finished_job_is_never_touched(string finished)
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToSegmentingAsync();
        if (finished == JobStates.Completed)
        {
            await job.Harness.Bus.Publish(new ChunkSegmented(job.Id, 0));
            await job.Harness.Bus.Publish(new ChunkSegmented(job.Id, 1));
            await job.FinishAsync();
        }
        else
        {
            await job.Harness.Bus.Publish(new StageFailed(job.Id, "segmentation", "slices 0–15: bad"));
            Assert.NotNull(await job.Saga.Exists(job.Id, m => m.Failed));
        }
        var before = JobStateJson.Serialize(await job.StoredAsync());
        var commandsBefore = job.Harness.Published.Select<IJobMessage>().Count();

        Assert.Empty(await job.ScanAsync(DateTime.UtcNow.AddDays(30)));
        // A stale finding (another orchestrator's scan, a redelivery) reaches the saga all the same.
        await job.PublishAndWaitAsync(new JobStallDetected(job.Id, DateTime.UtcNow.AddDays(30), Floor.TotalSeconds));
        await job.PublishAndWaitAsync(new JobStallDetected(job.Id, DateTime.UtcNow.AddDays(60), Floor.TotalSeconds));

        Assert.Equal(before, JobStateJson.Serialize(await job.StoredAsync()));
        Assert.Equal(commandsBefore, job.Harness.Published.Select<IJobMessage>().Count());
        Assert.Equal(finished == JobStates.Failed ? 1 : 0, job.Harness.Published.Select<JobFailed>().Count());
    }

    [Fact]
    public void The_timeout_follows_the_chunk_rate_or_the_stack_size_never_below_the_floor_and_a_stage_setting_wins()
    {
        var settings = new StallSettings { FloorSeconds = 60, ChunkFactor = 5, SecondsPerSlice = 2 };
        var start = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
        var job = new JobState
        {
            CurrentState = JobStates.Segmenting, Slices = 160, ChunkSlices = 16, ChunksTotal = 10,
            Stages =
            [
                new StageTiming { State = JobStates.Surveying, StartedUtc = start, EndedUtc = start.AddSeconds(100) },
                new StageTiming { State = JobStates.Segmenting, StartedUtc = start.AddSeconds(100) },
            ],
            ProgressUtc = start.AddSeconds(100),
        };
        // No chunk yet: the survey's 10 s per chunk.
        Assert.Equal(TimeSpan.FromSeconds(60), StallPolicy.Timeout(job, settings)); // 5 x 10 s is under the floor
        settings.FloorSeconds = 10;
        Assert.Equal(TimeSpan.FromSeconds(50), StallPolicy.Timeout(job, settings));
        // Four chunks in 80 s: 20 s a chunk.
        job.SegmentedChunks = [0, 1, 2, 3];
        job.ProgressUtc = start.AddSeconds(180);
        Assert.Equal(TimeSpan.FromSeconds(100), StallPolicy.Timeout(job, settings));
        // A one-step stage: by slices.
        job.CurrentState = JobStates.Measuring;
        Assert.Equal(TimeSpan.FromSeconds(320), StallPolicy.Timeout(job, settings));
        settings.StageSeconds[JobStates.Measuring] = 7200;
        Assert.Equal(TimeSpan.FromHours(2), StallPolicy.Timeout(job, settings));
        // Stored before stall detection existed: the last update counts as the last move.
        Assert.Equal(start, StallPolicy.LastMovedUtc(new JobState { UpdatedUtc = start }));
    }

    /// <summary>
    /// What a stalled job still waits for follows the current fan-out: alignment's slabs of ChunkSlices, then the fanned-out
    /// commands of FanOutSlices (a job stored before FanOutSlices existed, 0, keeps one slab a command).
    /// </summary>
    [Fact]
    public void The_missing_chunks_are_the_alignment_slabs_while_aligning_and_the_fan_out_slabs_after()
    {
        var job = new JobState { CurrentState = JobStates.Aligning, Slices = 50, ChunkSlices = 8, FanOutSlices = 24, ChunksTotal = 7 };
        job.AlignmentMeasuredChunks.UnionWith([0, 1, 2, 3, 4]);
        Assert.Equal([(5, 40, 48), (6, 48, 50)], StallPolicy.MissingChunks(job));

        job.CurrentState = JobStates.Segmenting;
        job.ChunksTotal = 3;
        job.SegmentedChunks.Add(1);
        Assert.Equal([(0, 0, 24), (2, 48, 50)], StallPolicy.MissingChunks(job));
        Assert.Equal("chunks 0, 2 of 3 (slices 0–23, 48–49)", StallPolicy.Chunks(job));

        job.FanOutSlices = 0;
        Assert.Equal(6, StallPolicy.MissingChunks(job).Count);
    }
}
