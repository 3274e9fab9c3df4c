using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator;

public static class JobsApi
{
    public record SubmitJobRequest(string SourcePath, VoxelSizeNm? VoxelSizeNm);

    /// <summary>
    /// A job as the API shows it: its progress and, once failed, the stage, the reason a user reads and the
    /// technical detail for operators (kept apart so that no client shows an exception as the reason); the warnings
    /// its stages left for the operator.
    /// </summary>
    public record JobView(Guid JobId, string State, int ChunksDone, int ChunksTotal, string? FailedStage, string? Reason, string? Detail,
        IReadOnlyList<string> Warnings)
    {
        internal JobProgressed Progress => new(JobId, State, ChunksDone, ChunksTotal);

        public static JobView Of(JobProgressed progress, JobState? state) =>
            new(progress.JobId, progress.State, progress.ChunksDone, progress.ChunksTotal,
                state?.FailedStage, state?.FailureReason, state?.FailureDetail, state?.Warnings ?? []);
    }

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/jobs");
        // The board has the freshest progress; the job store has every job, also those from before a restart.
        jobs.MapGet("/", async (JobBoard board, IJobStateStore store, CancellationToken ct) =>
        {
            var stored = (await store.ListAsync(ct)).ToDictionary(s => s.State.CorrelationId, s => s.State);
            var views = stored.Values.ToDictionary(s => s.CorrelationId, s => JobView.Of(s.ToProgress(), s));
            foreach (var live in board.All)
                if (!views.TryGetValue(live.JobId, out var known) || JobBoard.IsLater(live, known.Progress))
                    views[live.JobId] = JobView.Of(live, stored.GetValueOrDefault(live.JobId));
            return views.Values;
        });
        jobs.MapGet("/{jobId:guid}", async (Guid jobId, JobBoard board, IJobStateStore store, CancellationToken ct) =>
        {
            var live = board.Find(jobId);
            var state = (await store.LoadAsync(jobId, ct))?.State;
            var stored = state?.ToProgress();
            var best = (live, stored) switch
            {
                (null, null) => null,
                (null, _) => stored,
                (_, null) => live,
                _ => JobBoard.IsLater(stored!, live!) ? stored : live,
            };
            return best is null ? Results.NotFound() : Results.Ok(JobView.Of(best, state));
        });
        jobs.MapPost("/", async (SubmitJobRequest request, IPublishEndpoint publish, IOptions<SsbTomoOptions> options) =>
        {
            if (!Directory.Exists(request.SourcePath) && !File.Exists(request.SourcePath))
                return Results.BadRequest($"{request.SourcePath}: no such stack folder or TIFF file");
            var jobId = NewId.NextGuid();
            await publish.Publish(new SubmitJob(jobId, request.SourcePath, $"jobs/{jobId}", request.VoxelSizeNm, options.Value.ChunkSlices));
            return Results.Accepted($"/api/jobs/{jobId}", new { jobId });
        });
        return app;
    }
}
