using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class ServeTests
{
    [Theory]
    [InlineData(CarbonShape.Particles, false)]
    [InlineData(CarbonShape.Fibres, true)]
    [InlineData(null, true)]
    public async Task The_shares_carbon_is_the_default_of_every_job_it_runs(CarbonShape? carbon, bool fibreRules)
    {
        using var dir = new TempDirectory("ssbtomo-serve-carbon");
        var share = Directory.CreateDirectory(Path.Combine(dir.Path, "share")).FullName;
        await using var app = EmbeddedPipeline.BuildServer(Path.Combine(dir.Path, "data"), share, chunkSlices: 8, urls: "http://127.0.0.1:0",
            quietSeconds: 1, carbon: carbon);
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SsbTomo.Hosting.SsbTomoOptions>>().Value;
        Assert.Equal(fibreRules, options.FibreHalfDepth);
    }

    [Fact]
    public async Task An_acquisition_landing_on_the_share_drive_is_picked_up_processed_and_shown_on_the_dashboard()
    {
        using var dir = new TempDirectory("ssbtomo-serve");
        var share = Path.Combine(dir.Path, "share");
        var data = Path.Combine(dir.Path, "data");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 24, 96, 112, 50, Seed: 2), share);

        await using var app = EmbeddedPipeline.BuildServer(data, share, chunkSlices: 8, urls: "http://127.0.0.1:0", quietSeconds: 1, pollSeconds: 1);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        JobProgressed? job = null;
        for (var waited = 0; waited < 240 && job?.State is not ("Completed" or "Failed"); waited++)
        {
            await Task.Delay(500);
            job = (await http.GetFromJsonAsync<JobProgressed[]>("/api/jobs"))!.SingleOrDefault();
        }

        Assert.Equal("Completed", job?.State);
        Assert.True(File.Exists(Path.Combine(data, "jobs", job!.JobId.ToString(), "metrics.json")));
        var dashboard = await http.GetStringAsync("/");
        Assert.Contains(job.JobId.ToString(), dashboard);
        Assert.Contains(Path.Combine(share, "stack"), dashboard);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_folder_that_grows_after_its_job_started_is_processed_whole_and_the_short_job_says_it_is_superseded()
    {
        using var dir = new TempDirectory("ssbtomo-serve");
        var share = Path.Combine(dir.Path, "share");
        var data = Path.Combine(dir.Path, "data");
        var phantom = Path.Combine(dir.Path, "phantom");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 24, 96, 112, 50, Seed: 4), phantom);
        var slices = Directory.GetFiles(Path.Combine(phantom, "stack"), "*.tif").Order(StringComparer.Ordinal).ToArray();
        var acquisition = Directory.CreateDirectory(Path.Combine(share, "NMC_50cyc")).FullName;
        // Each slice appears whole, as a rename: the watcher never sees half a file.
        void Acquire(IEnumerable<string> files)
        {
            foreach (var file in files)
            {
                var partial = Path.Combine(acquisition, Path.GetFileName(file) + ".partial");
                File.Copy(file, partial);
                File.Move(partial, Path.Combine(acquisition, Path.GetFileName(file)));
            }
        }
        Acquire(slices[..16]);

        await using var app = EmbeddedPipeline.BuildServer(data, share, chunkSlices: 8, urls: "http://127.0.0.1:0", quietSeconds: 1, pollSeconds: 1);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        async Task<JobsApi.JobView[]> Jobs() => (await http.GetFromJsonAsync<JobsApi.JobView[]>("/api/jobs"))!;
        async Task<JobsApi.JobView[]> WaitFor(Func<JobsApi.JobView[], bool> condition)
        {
            var jobs = await Jobs();
            for (var waited = 0; waited < 240 && !condition(jobs); waited++)
            {
                await Task.Delay(500);
                jobs = await Jobs();
            }
            return jobs;
        }

        var first = Assert.Single(await WaitFor(jobs => jobs.Length == 1));
        // Slices that land before the job reads the folder are simply part of it (no second job), so the acquisition
        // goes on only once the Ingest stage has recorded what it read: after a pause the watcher took for the end.
        var firstProvenance = Path.Combine(data, "jobs", first.JobId.ToString(), "provenance.json");
        await WaitFor(_ => File.Exists(firstProvenance));
        Assert.True(File.Exists(firstProvenance));
        Acquire(slices[16..]);
        var all = await WaitFor(jobs => jobs.Length == 2 && jobs.All(j => j.State is "Completed" or "Failed") && jobs.Any(j => j.SupersededBy is not null));
        await app.StopAsync();

        Assert.Equal(2, all.Length);
        var shortJob = all.Single(j => j.JobId == first.JobId);
        var whole = all.Single(j => j.JobId != first.JobId);
        Assert.Equal(("Completed", first.JobId, "NMC_50cyc"), (whole.State, whole.Acquisition?.Supersedes, Path.GetFileName(acquisition)));
        Assert.Equal(whole.JobId, shortJob.SupersededBy);
        Assert.Contains(shortJob.Warnings, w => w.StartsWith("Superseded") && w.Contains("8 slices added") && w.Contains(whole.JobId.ToString()));
        int Files(Guid job)
        {
            using var provenance = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(data, "jobs", job.ToString(), "provenance.json")));
            return provenance.RootElement.GetProperty("files").GetArrayLength();
        }
        Assert.Equal(24, Files(whole.JobId));
        Assert.Equal(24, whole.Acquisition!.Completion.Slices);
        Assert.Equal(16, shortJob.Acquisition!.Completion.Slices);
    }

    [Fact]
    public async Task An_operator_reruns_an_already_processed_folder_through_the_api_and_the_watcher_does_not_add_a_job()
    {
        using var dir = new TempDirectory("ssbtomo-serve");
        var share = Path.Combine(dir.Path, "share");
        var data = Path.Combine(dir.Path, "data");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 16, 96, 112, 50, Seed: 6), share);
        var folder = Path.Combine(share, "stack");

        await using var app = EmbeddedPipeline.BuildServer(data, share, chunkSlices: 8, urls: "http://127.0.0.1:0", quietSeconds: 1, pollSeconds: 1);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        async Task<JobsApi.JobView[]> WaitFor(Func<JobsApi.JobView[], bool> condition)
        {
            var jobs = (await http.GetFromJsonAsync<JobsApi.JobView[]>("/api/jobs"))!;
            for (var waited = 0; waited < 240 && !condition(jobs); waited++)
            {
                await Task.Delay(500);
                jobs = (await http.GetFromJsonAsync<JobsApi.JobView[]>("/api/jobs"))!;
            }
            return jobs;
        }

        var watched = Assert.Single(await WaitFor(jobs => jobs.Length == 1 && jobs[0].State is "Completed" or "Failed"));
        Assert.Equal("Completed", watched.State);
        var marker = Directory.GetFiles(Path.Combine(data, "watch", "submitted")).Single();
        var markerBefore = await File.ReadAllBytesAsync(marker);

        var response = await http.PostAsJsonAsync("/api/jobs", new { sourcePath = folder, voxelSizeNm = (object?)null });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var rerunId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobId").GetGuid();
        // The re-run takes many of the watcher's one-second polls: time enough for it to have submitted a third job.
        var all = await WaitFor(jobs => jobs.Length >= 2 && jobs.All(j => j.State is "Completed" or "Failed"));
        await app.StopAsync();

        Assert.Equal(new[] { watched.JobId, rerunId }.Order(), all.Select(j => j.JobId).Order());
        Assert.Equal("Completed", all.Single(j => j.JobId == rerunId).State);
        Assert.Null(all.Single(j => j.JobId == watched.JobId).SupersededBy);
        Assert.Equal(markerBefore, await File.ReadAllBytesAsync(marker));
        using var provenance = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(data, "jobs", rerunId.ToString(), "provenance.json")));
        Assert.Equal(("api-or-cli", 16), (provenance.RootElement.GetProperty("submitted_by").GetString(),
            provenance.RootElement.GetProperty("files").GetArrayLength()));
    }

    [Fact]
    public async Task Serve_with_a_key_file_needs_a_key_and_beyond_loopback_without_one_refuses_to_start()
    {
        using var dir = new TempDirectory("ssbtomo-serve");
        var share = Directory.CreateDirectory(Path.Combine(dir.Path, "share")).FullName;
        var data = Path.Combine(dir.Path, "data");

        var refused = Assert.Throws<AccessConfigurationException>(() =>
            EmbeddedPipeline.BuildServer(data, share, chunkSlices: 8, urls: "http://0.0.0.0:0", quietSeconds: 1, pollSeconds: 1));
        Assert.Contains("http://0.0.0.0:0", refused.Message);

        var key = ApiKeyStore.NewKey();
        var keys = Path.Combine(dir.Path, "api-keys");
        await File.WriteAllTextAsync(keys, ApiKeyStore.FileLine("vera", Roles.Viewer, key));
        await using var app = EmbeddedPipeline.BuildServer(data, share, chunkSlices: 8, urls: "http://127.0.0.1:0", quietSeconds: 1, pollSeconds: 1,
            apiKeysFile: keys);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("/api/jobs")).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/jobs") { Headers = { { "X-Api-Key", key } } };
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
        await app.StopAsync();
    }
}
