using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator.Tests;

public class JobBoardTests
{
    private static readonly Guid Job = Guid.NewGuid();

    [Fact]
    public void An_older_progress_event_arriving_late_does_not_move_the_job_back()
    {
        var board = new JobBoard();
        board.Update(new JobProgressed(Job, "Segmenting", 5, 12));
        board.Update(new JobProgressed(Job, "Denoising", 12, 12));
        board.Update(new JobProgressed(Job, "Segmenting", 4, 12));
        Assert.Equal(("Segmenting", 5), (board.Find(Job)!.State, board.Find(Job)!.ChunksDone));
        board.Update(new JobProgressed(Job, "Segmenting", 6, 12));
        Assert.Equal(6, board.Find(Job)!.ChunksDone);
    }

    [Fact]
    public void A_finished_job_stays_finished()
    {
        var board = new JobBoard();
        board.Update(new JobProgressed(Job, "Failed", 3, 12));
        board.Update(new JobProgressed(Job, "Segmenting", 4, 12));
        Assert.Equal("Failed", board.Find(Job)!.State);
    }
}
