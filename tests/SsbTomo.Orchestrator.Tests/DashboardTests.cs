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
}
