using MassTransit.Testing;
using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>
/// A finished job stays as it finished: a failure or a duplicate that arrives late (a redelivered command's fault, a
/// slow worker's StageFailed, a redelivered event of an earlier stage) never turns a completed job into a failed one.
/// The failure events are shown to fail a running job, so their quiet arrival at a completed one is the saga's doing.
/// </summary>
public class FinishedJobTests
{
    public static TheoryData<string> FailureEvents => ["StageFailed", "Fault<IngestStack>", "Fault<SegmentChunk>", "Fault<MeasureVolume>"];

    public static TheoryData<string> LateEvents =>
    [
        "StageFailed", "Fault<IngestStack>", "Fault<SegmentChunk>", "Fault<MeasureVolume>",
        "SubmitJob", "StackIngested", "StackAligned", "ChunkPrepared", "ChunkSurveyed", "ChunkSegmented", "VolumeReconstructed", "VolumeMeasured",
    ];

    [Theory]
    [MemberData(nameof(LateEvents))]
    public async Task A_late_event_leaves_a_completed_job_completed(string lateEvent)
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToCompletedAsync();

        await PublishAndWaitUntilConsumedAsync(job, lateEvent);

        var stored = await job.StoredAsync();
        Assert.Equal(JobStates.Completed, stored.CurrentState);
        Assert.Null(stored.FailedStage);
        Assert.Null(stored.FailureReason);
        Assert.Empty(job.Harness.Published.Select<JobFailed>());
        Assert.Single(job.Harness.Published.Select<JobCompleted>());
        Assert.DoesNotContain(job.Harness.Published.Select<JobProgressed>(), p => p.Context.Message.State == JobStates.Failed);
    }

    [Theory]
    [MemberData(nameof(FailureEvents))]
    public async Task The_same_failure_fails_a_running_job(string failureEvent)
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToSegmentingAsync();

        await PublishAndWaitUntilConsumedAsync(job, failureEvent);

        var stored = await job.StoredWhenAsync(s => s.CurrentState == JobStates.Failed);
        Assert.Equal(JobStates.Failed, stored.CurrentState);
        Assert.NotNull(stored.FailureReason);
        Assert.True(await Eventually.TrueAsync(() => job.Harness.Published.Select<JobFailed>().Any()));
    }

    [Fact]
    public async Task A_late_failure_after_a_failure_keeps_the_first_reason()
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToSegmentingAsync();
        await job.Harness.Bus.Publish(new StageFailed(job.Id, "segmentation", "slices 0–15: first reason"));
        Assert.NotNull(await job.Saga.Exists(job.Id, m => m.Failed));

        await PublishAndWaitUntilConsumedAsync(job, "Fault<MeasureVolume>");
        await PublishAndWaitUntilConsumedAsync(job, "VolumeMeasured");

        var stored = await job.StoredAsync();
        Assert.Equal(JobStates.Failed, stored.CurrentState);
        Assert.Equal("slices 0–15: first reason", stored.FailureReason);
        Assert.Empty(job.Harness.Published.Select<JobCompleted>());
    }

    [Fact]
    public void The_saga_states_are_the_published_state_names()
    {
        var names = new JobStateMachine().States.Select(s => s.Name).Except(["Initial", "Final"]);
        Assert.Equal(JobStates.InOrder.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
    }

    private static Task PublishAndWaitUntilConsumedAsync(JobRun job, string eventName) => eventName switch
    {
        "StageFailed" => job.PublishAndWaitAsync(new StageFailed(job.Id, "segmentation", "slices 16–31: a worker gave up late")),
        "Fault<IngestStack>" => job.PublishFaultAndWaitAsync(new IngestStack(job.Id, "/share/stack", JobRun.Prefix, null, 8)),
        "Fault<SegmentChunk>" => job.PublishFaultAndWaitAsync(new SegmentChunk(job.Id, JobRun.Prefix, 1, 16, 32, [1, 2, 3], [0, 1, 2, 3])),
        "Fault<MeasureVolume>" => job.PublishFaultAndWaitAsync(new MeasureVolume(job.Id, JobRun.Prefix)),
        "SubmitJob" => job.PublishAndWaitAsync(job.Submit()),
        "StackIngested" => job.PublishAndWaitAsync(job.Ingested()),
        "StackAligned" => job.PublishAndWaitAsync(job.Aligned()),
        "ChunkPrepared" => job.PublishAndWaitAsync(job.Prepared(1)),
        "ChunkSurveyed" => job.PublishAndWaitAsync(job.Surveyed(1)),
        "ChunkSegmented" => job.PublishAndWaitAsync(new ChunkSegmented(job.Id, 1)),
        "VolumeReconstructed" => job.PublishAndWaitAsync(new VolumeReconstructed(job.Id, 1)),
        "VolumeMeasured" => job.PublishAndWaitAsync(new VolumeMeasured(job.Id)),
        _ => throw new ArgumentOutOfRangeException(nameof(eventName), eventName, null),
    };
}

/// <summary>The job keeps the mesh files its stages report writing, and why one they could write is missing.</summary>
public class ReportedMeshesTests
{
    [Fact]
    public async Task The_job_keeps_the_mesh_files_the_stages_wrote_and_why_the_particle_mesh_is_missing()
    {
        await using var job = await JobRun.StartAsync();
        string[] phases = ["meshes/nmc.glb", "meshes/nmc.stl", "meshes/phases.glb"];
        await job.DriveToCompletedAsync(new VolumeReconstructed(job.Id, 1) { Meshes = phases },
            new VolumeMeasured(job.Id) { MissingMeshes = new() { ["meshes/particle.glb"] = "no whole particle" } });
        var stored = await job.StoredAsync();
        Assert.Equal(phases, stored.Meshes);
        Assert.Equal("no whole particle", stored.MissingMeshes["meshes/particle.glb"]);
    }

    [Fact]
    public async Task A_particle_mesh_the_metrics_stage_wrote_is_added_to_the_reconstructions()
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToCompletedAsync(new VolumeReconstructed(job.Id, 1) { Meshes = ["meshes/void.glb"] },
            new VolumeMeasured(job.Id) { Meshes = ["meshes/particle.glb"] });
        var stored = await job.StoredAsync();
        Assert.Equal(["meshes/void.glb", "meshes/particle.glb"], stored.Meshes);
        Assert.Empty(stored.MissingMeshes);
    }

    [Fact]
    public async Task A_reconstruction_that_did_not_report_its_meshes_leaves_them_unknown()
    {
        await using var job = await JobRun.StartAsync();
        await job.DriveToCompletedAsync();
        Assert.Null((await job.StoredAsync()).Meshes);
    }
}
