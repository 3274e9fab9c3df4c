using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using SsbTomo.Cli;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class ServeTests
{
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
