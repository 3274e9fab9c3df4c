using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator;

public static class JobsApi
{
    public record SubmitJobRequest(string SourcePath, VoxelSizeNm? VoxelSizeNm);

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/jobs");
        jobs.MapGet("/", (JobBoard board) => board.All);
        jobs.MapGet("/{jobId:guid}", (Guid jobId, JobBoard board) =>
            board.Find(jobId) is { } job ? Results.Ok(job) : Results.NotFound());
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
