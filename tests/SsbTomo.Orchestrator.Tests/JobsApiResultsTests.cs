using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Orchestrator.Persistence;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>What an operator reads and downloads through the job API: stage timings, what a running job waits for, where a
/// finished job's files are, metrics.json and labels.zarr as a zip of its files, and nothing for a job that has not finished.</summary>
public sealed class JobsApiResultsTests : IDisposable
{
    private readonly TempDirectory _dir = new("ssbtomo-api-results");

    public void Dispose() => _dir.Dispose();

    /// <summary>The jobs API over a file blob store in the test's folder, started on a free port.</summary>
    private async Task<(WebApplication App, HttpClient Http, IJobStateStore Store, FileSystemBlobStore Blobs)> StartAsync()
    {
        var blobs = new FileSystemBlobStore(_dir.Path);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<IBlobStore>(blobs);
        builder.Services.AddMassTransitTestHarness(bus => bus.AddOrchestrator());
        builder.AddSsbTomoAccess();
        var app = builder.Build();
        app.UseSsbTomoAccess();
        app.MapJobsApi();
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri(app.Urls.First()) }, app.Services.GetRequiredService<IJobStateStore>(), blobs);
    }

    [Fact]
    public async Task A_series_of_completed_jobs_compares_their_metrics_and_refuses_what_is_not_a_series()
    {
        var (app, http, store, blobs) = await StartAsync();
        await using var _ = app;
        using var __ = http;
        var jobs = new List<JobState>();
        // void moves out of its interval from the first to the second; contact loss moves but its intervals share 0.06.
        foreach (var (voidFraction, voidLow, voidHigh, loss, lossLow, lossHigh) in new[] { (0.02, 0.015, 0.025, 0.05, 0.04, 0.06), (0.05, 0.045, 0.055, 0.07, 0.06, 0.08) })
        {
            var job = new JobState { CorrelationId = NewId.NextGuid(), CurrentState = JobStates.Completed, SourcePath = "/share/s", UpdatedUtc = DateTime.UtcNow };
            job.JobPrefix = $"jobs/{job.CorrelationId}";
            await store.InsertAsync(job);
            await blobs.WriteAsync(new JobLayout(job.JobPrefix).Metrics, Encoding.UTF8.GetBytes($$$$"""
                {"phase_fractions":{"nmc":0.40,"lps":0.50,"carbon":0.08,"void":{{{{voidFraction}}}}},"contact_loss_fraction":{{{{loss}}}},
                 "phase_fraction_intervals":{"nmc":[0.39,0.41],"lps":[0.49,0.51],"carbon":[0.07,0.09],"void":[{{{{voidLow}}}},{{{{voidHigh}}}}]},
                 "contact_loss_interval":[{{{{lossLow}}}},{{{{lossHigh}}}}],
                 "phase_fraction_bootstrap":{"confidence":0.95,"intervals":{"nmc":[0.38,0.42],"lps":[0.48,0.52],"carbon":[0.075,0.085],"void":[{{{{voidLow}}}},{{{{voidHigh}}}}]}}}
                """));
            jobs.Add(job);
        }
        var (a, b) = (jobs[0].CorrelationId, jobs[1].CorrelationId);

        var series = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync($"/api/series?jobs={a},{b}&labels=pristine,50"))!;
        Assert.Equal([("pristine", a.ToString()), ("50", b.ToString())],
            series["samples"]!.AsArray().Select(s => (s!["label"]!.GetValue<string>(), s["job"]!.GetValue<string>())));
        System.Text.Json.Nodes.JsonNode Comparison(string metric, string kind) =>
            series["metrics"]![metric]!["comparisons"]!.AsArray().Single(c => c!["interval"]!.GetValue<string>() == kind)!;
        Assert.True(Comparison("void_fraction", "segmentation")["significant"]!.GetValue<bool>());
        Assert.Equal(0.03, Comparison("void_fraction", "bootstrap")["difference"]!.GetValue<double>(), 12);
        Assert.False(Comparison("contact_loss_fraction", "segmentation")["significant"]!.GetValue<bool>());
        Assert.Null(Comparison("contact_loss_fraction", "bootstrap")["significant"]);

        // Labels default to the job ids; one job, a label too many, a non-id, and a job without results are refused.
        var defaults = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync($"/api/series?jobs={b},{a}"))!;
        Assert.Equal([b.ToString(), a.ToString()], defaults["samples"]!.AsArray().Select(s => s!["label"]!.GetValue<string>()));
        foreach (var (query, status, says) in new[]
        {
            ($"jobs={a}", HttpStatusCode.BadRequest, "at least two samples"),
            ($"jobs={a},{b}&labels=x,y,z", HttpStatusCode.BadRequest, "3 labels for 2 samples"),
            ($"jobs={a},nonsense", HttpStatusCode.BadRequest, "'nonsense' is not a job id"),
            ($"jobs={a},{Guid.NewGuid()}", HttpStatusCode.NotFound, "unknown or has not completed"),
        })
        {
            using var refused = await http.GetAsync($"/api/series?{query}");
            Assert.Equal(status, refused.StatusCode);
            Assert.Contains(says, await refused.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_completed_job_says_where_its_files_are_and_serves_metrics_and_labels_a_running_one_says_what_it_waits_for()
    {
        var (app, http, store, blobs) = await StartAsync();
        await using var _ = app;
        using var __ = http;

        var now = DateTime.UtcNow;
        var done = new JobState
        {
            CorrelationId = NewId.NextGuid(), CurrentState = JobStates.Completed, SourcePath = "/share/a", SubmittedUtc = now.AddMinutes(-5),
            UpdatedUtc = now, ChunkSlices = 16, Slices = 32, ChunksTotal = 2, SegmentedChunks = [0, 1],
            Stages =
            [
                new StageTiming { State = JobStates.Ingesting, StartedUtc = now.AddMinutes(-5), EndedUtc = now.AddMinutes(-4) },
                new StageTiming { State = JobStates.Measuring, StartedUtc = now.AddMinutes(-4), EndedUtc = now },
            ],
        };
        done.JobPrefix = $"jobs/{done.CorrelationId}";
        done.Meshes = ["meshes/nmc.glb", "meshes/nmc.stl", "meshes/phases.glb"];
        done.MissingMeshes["meshes/particle.glb"] = "no whole particle";
        // A job whose reconstruction did not report its meshes: none listed, and the API says it does not know.
        var unreported = new JobState
        {
            CorrelationId = NewId.NextGuid(), CurrentState = JobStates.Completed, SourcePath = "/share/c", SubmittedUtc = now.AddMinutes(-5),
            UpdatedUtc = now, ChunkSlices = 16, Slices = 32, ChunksTotal = 2, SegmentedChunks = [0, 1], JobPrefix = "jobs/c",
        };
        await store.InsertAsync(unreported);
        var running = new JobState
        {
            CorrelationId = NewId.NextGuid(), CurrentState = JobStates.Segmenting, SourcePath = "/share/b", SubmittedUtc = now.AddMinutes(-3),
            UpdatedUtc = now, ProgressUtc = now.AddMinutes(-2), ChunkSlices = 16, Slices = 32, ChunksTotal = 2, SegmentedChunks = [1],
            JobPrefix = "jobs/b", Stages = [new StageTiming { State = JobStates.Segmenting, StartedUtc = now.AddMinutes(-3) }],
        };
        await store.InsertAsync(done);
        await store.InsertAsync(running);
        var metrics = Encoding.UTF8.GetBytes("""{"phase_fractions": {"void": 0.095}}""");
        await blobs.WriteAsync($"{done.JobPrefix}/metrics.json", metrics);
        var labels = new Dictionary<string, byte[]>
        {
            [".zgroup"] = Encoding.UTF8.GetBytes("""{"zarr_format": 2}"""),
            ["0/.zarray"] = Encoding.UTF8.GetBytes("""{"shape": [2, 2, 2]}"""),
            ["0/0.0.0"] = [1, 2, 3, 4, 0, 255],
        };
        var labelsPath = new JobLayout(done.JobPrefix).Labels;
        foreach (var (name, bytes) in labels) await blobs.WriteAsync($"{labelsPath}/{name}", bytes);
        await blobs.WriteAsync($"{labelsPath}x/not-labels", new byte[] { 9 }); // a neighbour sharing the prefix's spelling
        await blobs.WriteAsync($"{done.JobPrefix}/aligned.zarr/0/0.0.0", new byte[] { 7 }); // the image holding the labels: not in the zip
        var report = Encoding.UTF8.GetBytes("<!doctype html><html><body><h1>sample</h1></body></html>");
        await blobs.WriteAsync(new JobLayout(done.JobPrefix).Report, report);

        var view = (await http.GetFromJsonAsync<JobsApi.JobView>($"/api/jobs/{done.CorrelationId}"))!;
        Assert.Equal([JobStates.Ingesting, JobStates.Measuring], view.Stages.Select(s => s.State));
        Assert.Equal(60, view.Stages[0].Seconds, 3);
        Assert.Null(view.Stall);
        Assert.Equal(new JobsApi.ResultsView($"folder {Path.GetFullPath("ssbtomo-data")}", $"jobs/{done.CorrelationId}/",
            $"/api/jobs/{done.CorrelationId}/metrics.json", $"/api/jobs/{done.CorrelationId}/labels.zarr.zip",
            $"/api/jobs/{done.CorrelationId}/report.html", view.Results!.Meshes, view.Results.MissingMeshes), view.Results);
        Assert.Equal(["meshes/nmc.glb", "meshes/nmc.stl", "meshes/phases.glb"], view.Results.Meshes);
        Assert.Equal([new JobsApi.MissingFile("meshes/particle.glb", "no whole particle")], view.Results.MissingMeshes);
        var unreportedView = (await http.GetFromJsonAsync<JobsApi.JobView>($"/api/jobs/{unreported.CorrelationId}"))!;
        Assert.Empty(unreportedView.Results!.Meshes);
        Assert.Equal("meshes/", Assert.Single(unreportedView.Results.MissingMeshes).Path);
        Assert.Contains("did not report", unreportedView.Results.MissingMeshes[0].Reason);

        Assert.Equal(metrics, await http.GetByteArrayAsync(view.Results!.Metrics));
        using (var reportResponse = await http.GetAsync(view.Results.Report))
        {
            Assert.Equal("text/html", reportResponse.Content.Headers.ContentType?.MediaType);
            Assert.Equal(report, await reportResponse.Content.ReadAsByteArrayAsync());
            Assert.Equal(PageSecurity.ReportPolicy, reportResponse.Headers.GetValues("Content-Security-Policy").Single());
        }
        using (var zipResponse = await http.GetAsync(view.Results.Labels))
        {
            Assert.Equal("application/zip", zipResponse.Content.Headers.ContentType?.MediaType);
            using var zip = new ZipArchive(await zipResponse.Content.ReadAsStreamAsync());
            var entries = new Dictionary<string, byte[]>();
            foreach (var entry in zip.Entries)
            {
                using var read = entry.Open();
                using var copy = new MemoryStream();
                await read.CopyToAsync(copy);
                entries[entry.FullName] = copy.ToArray();
                Assert.Equal(entry.Length, entry.CompressedLength); // stored: the chunks are compressed already
            }
            Assert.Equal(labels.OrderBy(l => l.Key).Select(l => ("labels.zarr/" + l.Key, l.Value)), entries.OrderBy(e => e.Key).Select(e => (e.Key, e.Value)));
        }

        var waiting = (await http.GetFromJsonAsync<JobsApi.JobView>($"/api/jobs/{running.CorrelationId}"))!;
        Assert.Null(waiting.Results);
        Assert.Equal("chunk 0 of 2 (slices 0–15) to be segmented", waiting.Stall!.WaitingFor);
        Assert.False(waiting.Stall.Stalled);
        Assert.InRange(waiting.Stall.NoProgressSeconds!.Value, 119, 180);
        Assert.Equal(600, waiting.Stall.TimeoutSeconds);
        foreach (var download in new[] { "metrics.json", "labels.zarr.zip", "report.html" })
        {
            using var notYet = await http.GetAsync($"/api/jobs/{running.CorrelationId}/{download}");
            Assert.Equal(HttpStatusCode.NotFound, notYet.StatusCode);
            Assert.Contains("has not completed", await notYet.Content.ReadAsStringAsync());
        }
        await app.StopAsync();
    }
}
