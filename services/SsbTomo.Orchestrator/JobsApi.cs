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
using SsbTomo.Storage;

namespace SsbTomo.Orchestrator;

public static class JobsApi
{
    public record SubmitJobRequest(string SourcePath, VoxelSizeNm? VoxelSizeNm)
    {
        /// <summary>The cathode's carbon (<c>"fibres"</c> or <c>"particles"</c>); null: the services' configured default.</summary>
        public CarbonShape? Carbon { get; init; }

        /// <summary>The edge of the crop each slice is registered on (<see cref="SubmitJob.RegistrationCropPx"/>); null: the alignment service's.</summary>
        public int? RegistrationCropPx { get; init; }
    }

    /// <summary>
    /// A job as the API shows it: its progress and, once failed, the stage, the reason a user reads and the
    /// technical detail for operators (kept apart so that no client shows an exception as the reason); the warnings
    /// its stages left for the operator; for a job the share-drive watcher submitted, why its folder counted as complete.
    /// </summary>
    public record JobView(Guid JobId, string State, int ChunksDone, int ChunksTotal, string? FailedStage, string? Reason, string? Detail,
        IReadOnlyList<string> Warnings, WatchedAcquisition? Acquisition = null, Guid? SupersededBy = null)
    {
        internal JobProgressed Progress => new(JobId, State, ChunksDone, ChunksTotal);

        public string? SourcePath { get; init; }

        /// <summary>The cathode's carbon as submitted ("fibres", "particles"); null: the services' configured default.</summary>
        public string? Carbon { get; init; }

        /// <summary>The registration crop as submitted, in pixels; null: the alignment service's (alignment.json says which was used).</summary>
        public int? RegistrationCropPx { get; init; }

        public DateTime? SubmittedUtc { get; init; }
        public DateTime? UpdatedUtc { get; init; }

        /// <summary>Each state the job went through, when it entered and left it, and how long it took.</summary>
        public IReadOnlyList<StageView> Stages { get; init; } = [];

        /// <summary>Set while a running job waits, and for any job that was re-driven (<see cref="StallView"/>).</summary>
        public StallView? Stall { get; init; }

        /// <summary>Where the job's files are, and the two an operator downloads; set once the job completed.</summary>
        public ResultsView? Results { get; init; }

        public static JobView Of(JobProgressed progress, JobState? state, JobViewContext? context = null)
        {
            var view = new JobView(progress.JobId, progress.State, progress.ChunksDone, progress.ChunksTotal,
                state?.FailedStage, state?.FailureReason, state?.FailureDetail, state?.Warnings ?? [], state?.Acquisition, state?.SupersededBy);
            if (state is null) return view;
            var now = context?.NowUtc ?? DateTime.UtcNow;
            return view with
            {
                SourcePath = state.SourcePath,
                Carbon = state.Carbon?.ToString().ToLowerInvariant(),
                RegistrationCropPx = state.RegistrationCropPx,
                SubmittedUtc = state.SubmittedUtc,
                UpdatedUtc = state.UpdatedUtc,
                Stages = [.. state.Stages.Select(s => new StageView(s.State, s.StartedUtc, s.EndedUtc, ((s.EndedUtc ?? now) - s.StartedUtc).TotalSeconds))],
                Stall = StallView.Of(state, now, context?.Stall ?? new StallSettings()),
                Results = state.CurrentState == JobStates.Completed && context is not null
                    ? new ResultsView(context.StoreDescription, $"{state.JobPrefix}/", $"/api/jobs/{state.CorrelationId}/metrics.json",
                        $"/api/jobs/{state.CorrelationId}/labels.zarr.zip", $"/api/jobs/{state.CorrelationId}/report.html", state.Meshes ?? [],
                        MissingMeshesOf(state))
                    : null,
            };
        }
    }

    /// <summary>What the stages said they did not write, and for a job whose stages did not report their meshes, that.</summary>
    private static IReadOnlyList<MissingFile> MissingMeshesOf(JobState state)
    {
        var missing = state.MissingMeshes.Select(m => new MissingFile(m.Key, m.Value)).ToList();
        if (state.Meshes is null)
            missing.Insert(0, new MissingFile($"{new JobLayout("").Meshes}/",
                "not known: the reconstruction stage did not report which mesh files it wrote (a stage older than that report)"));
        return missing;
    }

    public record StageView(string State, DateTime StartedUtc, DateTime? EndedUtc, double Seconds);

    /// <param name="WaitingFor">What a running job waits for ("chunks 3, 7 of 12 (…) to be segmented"); null once finished.</param>
    /// <param name="NoProgressSeconds">Since the job last moved or was last re-driven; null once finished.</param>
    /// <param name="TimeoutSeconds">How long it may wait before it is re-driven, or failed after a re-drive; null once finished.</param>
    /// <param name="Stalled">True while a running job waits on a re-drive (its commands were sent again and nothing has moved since).</param>
    public record StallView(string? WaitingFor, double? NoProgressSeconds, double? TimeoutSeconds, bool Stalled, int Redrives, string? LastRedrive)
    {
        public static StallView? Of(JobState job, DateTime nowUtc, StallSettings settings)
        {
            if (!JobStates.Running.Contains(job.CurrentState))
                return job.Redrives == 0 ? null : new StallView(null, null, null, false, job.Redrives, job.LastRedrive);
            return new StallView(StallPolicy.WaitingFor(job).WaitedFor, Math.Max(0, (nowUtc - StallPolicy.ClockStartUtc(job)).TotalSeconds),
                StallPolicy.Timeout(job, settings).TotalSeconds, job.RedrivenUtc is not null, job.Redrives, job.LastRedrive);
        }
    }

    /// <param name="Store">The blob store holding the job's files, e.g. "Azure blob container ssbtomo".</param>
    /// <param name="Prefix">The folder (key prefix) of every file of the job in that store.</param>
    /// <param name="Metrics">GET: metrics.json.</param>
    /// <param name="Labels">GET: the label image as one zip, labels.zarr/… (the Zarr store's files unchanged; zarr-python opens it as a ZipStore).</param>
    /// <param name="Report">GET: report.html, the self-contained page for a person (metrics, previews, provenance).</param>
    /// <param name="Meshes">The surface meshes the stages wrote (glTF binary and STL per phase, all phases in one glTF, the
    /// particle of the Fig. 4f view), as keys under <paramref name="Prefix"/> in <paramref name="Store"/>.</param>
    /// <param name="MissingMeshes">Mesh files a job can have that this one does not, each with why.</param>
    public record ResultsView(string Store, string Prefix, string Metrics, string Labels, string Report, IReadOnlyList<string> Meshes,
        IReadOnlyList<MissingFile> MissingMeshes);

    /// <param name="Path">The key under the job's prefix (a folder ends in /).</param>
    /// <param name="Reason">Why it is not there.</param>
    public record MissingFile(string Path, string Reason);

    /// <summary>What a view needs besides the job: the clock, the stall settings and where the files are.</summary>
    public sealed record JobViewContext(DateTime NowUtc, StallSettings Stall, string StoreDescription)
    {
        public static JobViewContext From(SsbTomoOptions options, TimeProvider clock) =>
            new(clock.GetUtcNow().UtcDateTime, options.Stall, options.BlobStore switch
            {
                BlobStoreKind.AzureBlob => $"Azure blob container {options.AzureBlob.Container}",
                _ => $"folder {Path.GetFullPath(options.BlobRoot)}",
            });
    }

    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/jobs").RequireAuthorization(AccessPolicies.Read);
        // The board has the freshest progress; the job store has every job, also those from before a restart.
        jobs.MapGet("/", async (HttpContext http, JobBoard board, IJobStateStore store, IOptions<SsbTomoOptions> options, CancellationToken ct) =>
        {
            var context = JobViewContext.From(options.Value, Clock(http));
            var stored = (await store.ListAsync(ct)).ToDictionary(s => s.State.CorrelationId, s => s.State);
            var views = stored.Values.ToDictionary(s => s.CorrelationId, s => JobView.Of(s.ToProgress(), s, context));
            foreach (var live in board.All)
                if (!views.TryGetValue(live.JobId, out var known) || JobBoard.IsLater(live, known.Progress))
                    views[live.JobId] = JobView.Of(live, stored.GetValueOrDefault(live.JobId), context);
            return views.Values;
        });
        jobs.MapGet("/{jobId:guid}", async (Guid jobId, HttpContext http, JobBoard board, IJobStateStore store, IOptions<SsbTomoOptions> options,
            CancellationToken ct) =>
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
            return best is null ? Results.NotFound() : Results.Ok(JobView.Of(best, state, JobViewContext.From(options.Value, Clock(http))));
        });
        jobs.MapGet("/{jobId:guid}/metrics.json", DownloadMetricsAsync);
        jobs.MapGet("/{jobId:guid}/labels.zarr.zip", DownloadLabelsAsync);
        jobs.MapGet("/{jobId:guid}/report.html", ShowReportAsync);
        jobs.MapPost("/", SubmitAsync).RequireAuthorization(AccessPolicies.Operate);
        app.MapGet("/api/series", CompareSeriesAsync).RequireAuthorization(AccessPolicies.Read);
        return app;
    }

    /// <summary>
    /// <c>GET /api/series?jobs=ID,ID,...[&amp;labels=a,b,...]</c>: completed jobs' metrics.json lined up in that order as
    /// series.json (<see cref="SeriesComparison"/>, as <c>ssbtomo series</c> writes it, each sample naming its job);
    /// labels default to the job ids. A malformed request is a 400, a job without results a 404, a metrics.json that
    /// lacks what the series needs a 422, each naming the job or parameter.
    /// </summary>
    private static async Task<IResult> CompareSeriesAsync(string? jobs, string? labels, HttpContext http, IJobStateStore store, CancellationToken ct)
    {
        var ids = new List<Guid>();
        foreach (var text in (jobs ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Guid.TryParse(text, out var id)) return NotASeries($"jobs: '{text}' is not a job id");
            ids.Add(id);
        }
        string[] names;
        try
        {
            names = SeriesComparison.Labels([.. ids.Select(id => id.ToString())], labels, "labels");
        }
        catch (ArgumentException e)
        {
            return NotASeries(e.Message);
        }
        var blobs = http.RequestServices.GetRequiredService<IBlobStore>();
        var samples = new List<SeriesComparison.Sample>();
        for (var k = 0; k < ids.Count; k++)
        {
            if (await CompletedJobAsync(ids[k], store, ct) is not { } job) return NotReady(ids[k]);
            if (await blobs.ReadAsync(new JobLayout(job.JobPrefix).Metrics, ct) is not { } metrics) return Missing(job, "metrics.json");
            try
            {
                samples.Add(SeriesComparison.Load(metrics, names[k], ids[k].ToString(), $"job {ids[k]}: metrics.json"));
            }
            catch (InvalidDataException e)
            {
                return Results.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "metrics.json cannot be compared", detail: e.Message);
            }
        }
        return Results.Json(SeriesComparison.ToJson(SeriesComparison.Build(samples), "job"));
    }

    private static IResult NotASeries(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a series", detail: $"{detail}. Ask GET /api/series?jobs=ID,ID[&labels=a,b].");

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
            await publish.Publish(new SubmitJob(jobId, source, JobLayout.ForJob(jobId).Prefix, request.VoxelSizeNm, options.Value.ChunkSlices)
            {
                FanOutSlices = options.Value.FanOutSlices,
                Carbon = request.Carbon,
                // Fixed in the job here, so that alignment workers configured differently still register its chunks alike.
                RegistrationCropPx = request.RegistrationCropPx ?? options.Value.RegistrationCropPx,
            }, ct);
            logs.CreateLogger("SsbTomo.Orchestrator.JobsApi").LogInformation("Job {JobId} on {SourcePath} submitted by {User}", jobId, source, http.User.Identity?.Name);
            return Results.Accepted($"/api/jobs/{jobId}", new { jobId });
        }
    }

    /// <summary>The host's clock (a test's fake one), or the system's where the host registered none.</summary>
    internal static TimeProvider Clock(HttpContext http) => http.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;

    private static async Task<IResult> DownloadMetricsAsync(Guid jobId, HttpContext http, IJobStateStore store, CancellationToken ct)
    {
        var blobs = http.RequestServices.GetRequiredService<IBlobStore>();
        if (await CompletedJobAsync(jobId, store, ct) is not { } job) return NotReady(jobId);
        var metrics = await blobs.ReadAsync(new JobLayout(job.JobPrefix).Metrics, ct);
        return metrics is null ? Missing(job, "metrics.json") : Results.File(metrics, "application/json", $"metrics-{jobId}.json");
    }

    /// <summary>
    /// report.html as the page it is: self-contained, no script; its policy allows only its own inline styles and the
    /// previews embedded as data URIs.
    /// </summary>
    private static async Task<IResult> ShowReportAsync(Guid jobId, HttpContext http, IJobStateStore store, CancellationToken ct)
    {
        var blobs = http.RequestServices.GetRequiredService<IBlobStore>();
        if (await CompletedJobAsync(jobId, store, ct) is not { } job) return NotReady(jobId);
        var report = await blobs.ReadAsync(new JobLayout(job.JobPrefix).Report, ct);
        if (report is null) return Missing(job, "report.html");
        http.Response.Headers.ContentSecurityPolicy = PageSecurity.ReportPolicy;
        return Results.Bytes(report, "text/html; charset=utf-8");
    }

    /// <summary>
    /// The label image (<see cref="JobLayout.Labels"/>) as one zip of its files, under labels.zarr/, stored uncompressed: its chunks are zstd-compressed already, unzipping gives
    /// the OME-Zarr folder napari and Fiji open, and zarr-python opens the zip itself (zarr.ZipStore). The zip is
    /// built in a temporary file, as ZipArchive writes synchronously and the response body accepts asynchronous writes only.
    /// </summary>
    private static async Task<IResult> DownloadLabelsAsync(Guid jobId, HttpContext http, IJobStateStore store, CancellationToken ct)
    {
        // From the request, not a parameter: a host without a blob store (tests of the API alone) still maps the routes.
        var blobs = http.RequestServices.GetRequiredService<IBlobStore>();
        if (await CompletedJobAsync(jobId, store, ct) is not { } job) return NotReady(jobId);
        var prefix = new JobLayout(job.JobPrefix).Labels + "/";
        var zipPath = Path.Combine(Path.GetTempPath(), $"ssbtomo-labels-{jobId:N}-{Guid.NewGuid():N}.zip");
        var zip = new FileStream(zipPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        try
        {
            var files = 0;
            using (var archive = new System.IO.Compression.ZipArchive(zip, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            {
                await foreach (var key in blobs.ListAsync(prefix, ct))
                {
                    var bytes = await blobs.ReadAsync(key, ct);
                    if (bytes is null) continue; // deleted between listing and reading: not part of the volume
                    var entry = archive.CreateEntry("labels.zarr/" + key[prefix.Length..], System.IO.Compression.CompressionLevel.NoCompression);
                    await using var entryStream = entry.Open();
                    await entryStream.WriteAsync(bytes, ct);
                    files++;
                }
            }
            if (files == 0)
            {
                await zip.DisposeAsync();
                return Missing(job, "labels.zarr");
            }
            zip.Position = 0;
            return Results.File(zip, "application/zip", $"labels-{jobId}.zarr.zip");
        }
        catch
        {
            await zip.DisposeAsync();
            throw;
        }
    }

    private static async Task<JobState?> CompletedJobAsync(Guid jobId, IJobStateStore store, CancellationToken ct) =>
        (await store.LoadAsync(jobId, ct))?.State is { CurrentState: JobStates.Completed } job ? job : null;

    private static IResult NotReady(Guid jobId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No results for this job",
            detail: $"Job {jobId} is unknown or has not completed: GET /api/jobs/{jobId} says where it is.");

    private static IResult Missing(JobState job, string name) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"{name} is missing",
            detail: $"Job {job.CorrelationId} completed but the blob store has no {name} under {job.JobPrefix}/: it was deleted or the store changed.");

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
