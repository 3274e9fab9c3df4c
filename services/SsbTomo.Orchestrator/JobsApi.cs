using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using MassTransit;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator;

public static class JobsApi
{
    public record SubmitJobRequest(string SourcePath, VoxelSizeNm? VoxelSizeNm);

    /// <summary>
    /// A job as the API shows it: its progress and, once failed, the stage, the reason a user reads and the
    /// technical detail for operators (kept apart so that no client shows an exception as the reason); the warnings
    /// its stages left for the operator; for a job the share-drive watcher submitted, why its folder counted as complete.
    /// </summary>
    public record JobView(Guid JobId, string State, int ChunksDone, int ChunksTotal, string? FailedStage, string? Reason, string? Detail,
        IReadOnlyList<string> Warnings, WatchedAcquisition? Acquisition = null, Guid? SupersededBy = null)
    {
        internal JobProgressed Progress => new(JobId, State, ChunksDone, ChunksTotal);

        public static JobView Of(JobProgressed progress, JobState? state) =>
            new(progress.JobId, progress.State, progress.ChunksDone, progress.ChunksTotal,
                state?.FailedStage, state?.FailureReason, state?.FailureDetail, state?.Warnings ?? [], state?.Acquisition, state?.SupersededBy);
    }

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/jobs").RequireAuthorization(AccessPolicies.Read);
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
        jobs.MapPost("/", SubmitAsync).RequireAuthorization(AccessPolicies.Operate);
        return app;
    }

    /// <summary>
    /// Accepts a stack only from inside the share roots (<see cref="SharePaths"/>), and publishes the resolved path,
    /// so that the stages read exactly what was checked. Errors are RFC 7807 problem details that name the field;
    /// none shows a resolved path, which could reveal where a link points.
    /// </summary>
    private static async Task<IResult> SubmitAsync(HttpContext http, IPublishEndpoint publish, IOptions<SsbTomoOptions> options,
        ILoggerFactory logs, CancellationToken ct)
    {
        if (!http.Request.HasJsonContentType())
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "The body must be JSON",
                detail: "Send the job as application/json: { \"sourcePath\": \"/share/stack\", \"voxelSizeNm\": null }.");
        var body = await ReadBoundedAsync(http.Request, SubmitJobRequestReader.MaxBodyBytes, ct);
        if (body is null)
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "The body is too large",
                detail: $"A job submission is at most {SubmitJobRequestReader.MaxBodyBytes} bytes.");
        // The parser checks structure, not the bytes inside strings: invalid UTF-8 in a name or a path would only fail
        // later, when the string is read, as a 500. Refused here as what it is.
        if (!Utf8.IsValid(body))
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is not valid UTF-8",
                detail: $"Byte {FirstInvalidUtf8Byte(body) + 1} of the body is not part of a valid UTF-8 sequence; send the job as UTF-8 JSON.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is not valid JSON",
                detail: $"Invalid JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}.");
        }
        using (document)
        {
            var (request, errors) = SubmitJobRequestReader.Read(document.RootElement);
            if (request is null) return Results.ValidationProblem(errors, title: "The job submission is invalid");

            var roots = SharePaths.Roots(options.Value);
            if (roots.Count == 0)
                return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Job submission is not configured",
                    detail: "No share roots are configured, so no source path can be accepted: set SsbTomo:ShareRoots " +
                            "(e.g. SsbTomo__ShareRoots__0=/share) or SsbTomo:Ingest:WatchRoot.");
            var confined = SharePaths.Confine(request.SourcePath, roots);
            if (!confined.IsAllowed)
                return Results.ValidationProblem(
                    new Dictionary<string, string[]> { ["sourcePath"] = [$"is refused: {confined.Reason}. Allowed roots: {string.Join(", ", roots)}"] },
                    title: "The source path is outside the share", extensions: new Dictionary<string, object?> { ["allowedRoots"] = roots });
            var source = confined.ResolvedPath!;
            if (!Directory.Exists(source) && !File.Exists(source))
                return Results.ValidationProblem(
                    new Dictionary<string, string[]> { ["sourcePath"] = [$"{request.SourcePath}: no such stack folder or TIFF file"] },
                    title: "The source path does not exist");

            var jobId = NewId.NextGuid();
            await publish.Publish(new SubmitJob(jobId, source, $"jobs/{jobId}", request.VoxelSizeNm, options.Value.ChunkSlices), ct);
            logs.CreateLogger("SsbTomo.Orchestrator.JobsApi").LogInformation("Job {JobId} on {SourcePath} submitted by {User}", jobId, source, http.User.Identity?.Name);
            return Results.Accepted($"/api/jobs/{jobId}", new { jobId });
        }
    }

    private static int FirstInvalidUtf8Byte(byte[] body)
    {
        var offset = 0;
        while (offset < body.Length && Rune.DecodeFromUtf8(body.AsSpan(offset), out _, out var length) == System.Buffers.OperationStatus.Done)
            offset += length;
        return offset;
    }

    /// <summary>The body, or null once it passes <paramref name="limit"/> bytes: counted as read, so a missing or false Content-Length does not help.</summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        if (request.ContentLength > limit) return null;
        var sizeLimit = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeLimit is { IsReadOnly: false }) sizeLimit.MaxRequestBodySize = limit;
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > limit) return null;
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        return buffer.ToArray();
    }
}
