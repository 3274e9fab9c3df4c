using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator.Tests;

public class DashboardTests
{
    [Fact]
    public void Lists_every_job_with_its_stage_progress_and_an_encoded_failure_reason_with_the_detail_only_on_hover()
    {
        var running = new JobState
        {
            CorrelationId = Guid.NewGuid(), CurrentState = "Segmenting", SourcePath = "/share/sample-a",
            ChunksTotal = 8, SegmentedChunks = [0, 1, 2], SubmittedUtc = DateTime.UtcNow,
        };
        var failed = new JobState
        {
            CorrelationId = Guid.NewGuid(), CurrentState = "Failed", SourcePath = "/share/<b>bad</b>",
            FailedStage = "ingest", FailureReason = "Ingest failed: slice_0002.tif: truncated <script>",
            FailureDetail = "System.IO.EndOfStreamException: <b>", SubmittedUtc = DateTime.UtcNow,
        };
        var board = new JobBoard();
        board.Update(new JobProgressed(running.CorrelationId, "Segmenting", 5, 8));

        var html = Dashboard.Render([running, failed], board);

        Assert.Contains(running.CorrelationId.ToString(), html);
        Assert.Contains("5/8", html);
        Assert.Contains(">Ingest failed: slice_0002.tif: truncated &lt;script&gt;<", html);
        Assert.Contains("title=\"System.IO.EndOfStreamException: &lt;b&gt;\"", html);
        Assert.Contains("/share/&lt;b&gt;bad&lt;/b&gt;", html);
        Assert.DoesNotContain("<script>", html);
    }

    [Fact]
    public void Shows_a_jobs_warnings_encoded()
    {
        var warned = new JobState
        {
            CorrelationId = Guid.NewGuid(), CurrentState = "Completed", SourcePath = "/share/sample-b", SubmittedUtc = DateTime.UtcNow,
            Warnings = ["slice 3 (slice_0003.tif): the slice is black (every pixel 0); left <uncorrected>", "slice 9 (slice_0009.tif): registration not trusted"],
        };
        var html = Dashboard.Render([warned], new JobBoard());
        Assert.Contains("<summary>2</summary>", html);
        Assert.Contains("slice 3 (slice_0003.tif): the slice is black (every pixel 0); left &lt;uncorrected&gt;", html);
        Assert.Contains("slice 9 (slice_0009.tif): registration not trusted", html);
    }

    [Fact]
    public void Shows_the_carbon_a_job_was_submitted_with_and_nothing_for_the_default()
    {
        var particles = new JobState { CorrelationId = Guid.NewGuid(), CurrentState = "Segmenting", SourcePath = "/share/a", SubmittedUtc = DateTime.UtcNow, Carbon = CarbonShape.Particles };
        var unset = new JobState { CorrelationId = Guid.NewGuid(), CurrentState = "Segmenting", SourcePath = "/share/b", SubmittedUtc = DateTime.UtcNow };
        Assert.Contains("/share/a<br><small>carbon particles</small>", Dashboard.Render([particles], new JobBoard()));
        Assert.DoesNotContain("carbon", Dashboard.Render([unset], new JobBoard()));
    }

    [Fact]
    public void Shows_a_registration_crop_other_than_the_default_and_nothing_for_the_default()
    {
        JobState Job(int? crop) => new() { CorrelationId = Guid.NewGuid(), CurrentState = "Aligning", SourcePath = "/share/a", SubmittedUtc = DateTime.UtcNow, RegistrationCropPx = crop };
        Assert.Contains("/share/a<br><small>registration crop 1024 px</small>", Dashboard.Render([Job(1024)], new JobBoard()));
        Assert.DoesNotContain("registration crop", Dashboard.Render([Job(512), Job(null)], new JobBoard()));
    }

    [Fact]
    public void Links_a_completed_job_to_its_report_and_a_running_one_to_nothing()
    {
        var done = new JobState { CorrelationId = Guid.NewGuid(), CurrentState = "Completed", SourcePath = "/share/a", SubmittedUtc = DateTime.UtcNow };
        var running = new JobState { CorrelationId = Guid.NewGuid(), CurrentState = "Segmenting", SourcePath = "/share/b", SubmittedUtc = DateTime.UtcNow };
        var html = Dashboard.Render([done, running], new JobBoard());
        Assert.Contains($"href=\"/api/jobs/{done.CorrelationId}/report.html\"", html);
        Assert.DoesNotContain($"/api/jobs/{running.CorrelationId}/report.html", html);
    }

    [Fact]
    public void Shows_what_a_running_job_waits_for_a_stalled_one_in_red_and_how_often_a_finished_one_was_re_driven()
    {
        var now = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);
        JobState Segmenting(DateTime? redriven) => new()
        {
            CorrelationId = Guid.NewGuid(), CurrentState = "Segmenting", SourcePath = "/share/s", SubmittedUtc = now.AddMinutes(-30),
            Slices = 48, ChunkSlices = 16, ChunksTotal = 3, SegmentedChunks = [0, 2], ProgressUtc = now.AddMinutes(-4),
            RedrivenUtc = redriven, Redrives = redriven is null ? 0 : 1, LastRedrive = redriven is null ? null : "Segmentation made no progress for 10 min",
            Stages = [new StageTiming { State = "Segmenting", StartedUtc = now.AddMinutes(-6) }], // 2 chunks in 2 min: the floor rules
        };
        var waiting = Segmenting(null);
        var stalled = Segmenting(now.AddMinutes(-3));
        var done = new JobState
        {
            CorrelationId = Guid.NewGuid(), CurrentState = "Completed", SourcePath = "/share/d", SubmittedUtc = now.AddHours(-1), Redrives = 2,
            LastRedrive = "Ingest made <no> progress",
        };

        var html = Dashboard.Render([waiting, stalled, done], new JobBoard(), nowUtc: now);

        Assert.Contains("<td>chunk 1 of 3 (slices 16–31) to be segmented: 4 min of 10 min</td>", html);
        Assert.Contains("<td class=\"stalled\">stalled: chunk 1 of 3 (slices 16–31) to be segmented, sent again 3 min ago (fails after 10 min)", html);
        Assert.Contains("title=\"Ingest made &lt;no&gt; progress\">re-driven 2×</small>", html);
        Assert.Contains("<summary>6 min</summary>", html);
    }
}
