using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator;

public static class JobsApi
{
    public record SubmitJobRequest(string SourcePath, VoxelSizeNm? VoxelSizeNm);

    /// <summary>One job: its progress and the warnings its stages left for the operator.</summary>
    public record JobView(Guid JobId, string State, int ChunksDone, int ChunksTotal, IReadOnlyList<string> Warnings);

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/jobs");
        // The board has the freshest progress; the job store has every job, also those from before a restart.
        jobs.MapGet("/", async (JobBoard board, IJobStateStore store, CancellationToken ct) =>
        {
            var stored = (await store.ListAsync(ct)).Select(s => s.State.ToProgress()).ToDictionary(p => p.JobId);
            foreach (var live in board.All)
                if (!stored.TryGetValue(live.JobId, out var known) || JobBoard.IsLater(live, known)) stored[live.JobId] = live;
            return stored.Values;
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
            return best is null ? Results.NotFound()
                : Results.Ok(new JobView(best.JobId, best.State, best.ChunksDone, best.ChunksTotal, state?.Warnings ?? []));
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
