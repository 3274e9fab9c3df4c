using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Json;
using System.Text.Json;
using SsbTomo.Distributed.Tests.Infrastructure;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.Distributed.Tests;

/// <summary>
/// README "Run it distributed", as an operator follows it: infra/scripts/run-distributed.sh starts everything, the
/// README's curl submits, GET /api/jobs/{id} watches, curl downloads metrics.json and labels.zarr.zip, which must be the
/// embedded run's bytes; infra/scripts/stop-distributed.sh stops every service. The only departures from the README:
/// --no-build (the suite is built already), and a run folder, ports, virtual host and container of the test's own.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class OperatorPathTests(SmallStackReference reference, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly TempDirectory _runDir = new("ssbtomo-operator");
    private readonly string _id = $"{DateTime.UtcNow:HHmmss}-{Guid.NewGuid().ToString("N")[..8]}";
    private int _portBase;

    private string VirtualHost => $"ssbtomo-test-operator-{_id}";
    private string Container => $"dist-operator-{_id}";
    private string RunDir => _runDir.Path;

    public async Task InitializeAsync()
    {
        await Infra.EnsureRunningAsync();
        _portBase = FreePortRange(6);
        using var http = Infra.ManagementClient();
        var vhost = Uri.EscapeDataString(VirtualHost);
        (await http.PutAsync($"api/vhosts/{vhost}", JsonContent.Create(new { description = "SsbTomo operator-path test" }))).EnsureSuccessStatusCode();
        (await http.PutAsync($"api/permissions/{vhost}/{Infra.RabbitUser}", JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" })))
            .EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        var stopped = await ShellAsync("infra/scripts/stop-distributed.sh", TimeSpan.FromMinutes(1));
        output.WriteLine(stopped.Output);
        try
        {
            using var http = Infra.ManagementClient();
            using var _ = await http.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(VirtualHost)}");
            await AzureBlobStore.FromConnectionString(Infra.AzuriteConnectionString, Container).Container.DeleteIfExistsAsync();
        }
        catch (Exception e) when (e is HttpRequestException or Azure.RequestFailedException or TaskCanceledException)
        {
            output.WriteLine($"cleaning up: {e.Message}");
        }
        _runDir.Dispose();
    }

    [Fact]
    public async Task Start_submit_watch_and_download_as_the_README_says()
    {
        var share = Path.GetDirectoryName(reference.Run.StackDir)!;
        var started = await ShellAsync($"infra/scripts/run-distributed.sh --share '{share}' --no-build", TimeSpan.FromMinutes(4));
        output.WriteLine(started.Output);
        Assert.True(started.ExitCode == 0, $"run-distributed.sh exited {started.ExitCode}:{Environment.NewLine}{started.Output}");
        var logs = Path.Combine(RunDir, "logs");
        Assert.Contains($"Logs: {logs}", started.Output);
        foreach (var service in new[] { "orchestrator", "ingest", "alignment", "segmentation-1", "reconstruction", "metrics" })
            Assert.Contains(Path.Combine(logs, $"{service}.log"), started.Output);

        var submitted = await ShellAsync(
            $$"""KEY=$(cat {{RunDir}}/operator.key); curl -sS -H "X-Api-Key: $KEY" -H 'Content-Type: application/json' -d '{"sourcePath": "{{reference.Run.StackDir}}"}' http://127.0.0.1:{{_portBase}}/api/jobs""",
            TimeSpan.FromSeconds(30));
        Assert.True(submitted.ExitCode == 0, submitted.Output);
        var jobId = JsonDocument.Parse(submitted.Output).RootElement.GetProperty("jobId").GetGuid();
        output.WriteLine($"submitted job {jobId}");

        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_portBase}/"), Timeout = TimeSpan.FromSeconds(30) };
        api.DefaultRequestHeaders.Add("X-Api-Key", (await File.ReadAllTextAsync(Path.Combine(RunDir, "operator.key"))).Trim());
        var job = await WatchAsync(api, jobId, TimeSpan.FromMinutes(4), logs);
        Assert.Equal(
            ["Ingesting", "Aligning", "Denoising", "Surveying", "Segmenting", "Reconstructing", "Measuring"],
            job.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("state").GetString()));
        Assert.All(job.GetProperty("stages").EnumerateArray(), s => Assert.True(s.GetProperty("seconds").GetDouble() >= 0));
        var results = job.GetProperty("results");
        Assert.Equal($"jobs/{jobId}/", results.GetProperty("prefix").GetString());
        Assert.Equal($"Azure blob container {Container}", results.GetProperty("store").GetString());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("stall").ValueKind);

        var downloads = Path.Combine(RunDir, "downloads");
        Directory.CreateDirectory(downloads);
        var fetched = await ShellAsync(
            $"""
             KEY=$(cat {RunDir}/operator.key); JOB={jobId}; cd '{downloads}'
             curl -fsS -H "X-Api-Key: $KEY" -o metrics.json     http://127.0.0.1:{_portBase}/api/jobs/$JOB/metrics.json
             curl -fsS -H "X-Api-Key: $KEY" -o labels.zarr.zip  http://127.0.0.1:{_portBase}/api/jobs/$JOB/labels.zarr.zip
             """, TimeSpan.FromMinutes(1));
        Assert.True(fetched.ExitCode == 0, fetched.Output);
        Same.Json(reference.Run.ReadFile("metrics.json"), await File.ReadAllBytesAsync(Path.Combine(downloads, "metrics.json")), "metrics.json");
        var labels = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        using (var zip = ZipFile.OpenRead(Path.Combine(downloads, "labels.zarr.zip")))
            foreach (var entry in zip.Entries)
            {
                Assert.StartsWith("labels.zarr/", entry.FullName);
                using var stream = entry.Open();
                using var bytes = new MemoryStream();
                await stream.CopyToAsync(bytes);
                labels[entry.FullName["labels.zarr/".Length..]] = bytes.ToArray();
            }
        Same.Blobs(reference.Run.Files(ReferenceRun.Labels), labels, "labels.zarr.zip");

        // The dashboard refreshes every 3 s: its requests must not reach the log at Information.
        for (var i = 0; i < 5; i++) (await api.GetAsync("/")).EnsureSuccessStatusCode();
        var orchestratorLog = await ReadSharedAsync(Path.Combine(logs, "orchestrator.log"));
        Assert.DoesNotContain("Request starting", orchestratorLog);
        Assert.DoesNotContain("Request finished", orchestratorLog);
        Assert.DoesNotContain("Executing endpoint", orchestratorLog);
        var segmentationLog = await ReadSharedAsync(Path.Combine(logs, "segmentation-1.log"));
        Assert.Contains($"Job {jobId} segmentation chunk 0 (slices 0-3) done in ", segmentationLog);
        Assert.Contains($"Job {jobId} metrics done in ", await ReadSharedAsync(Path.Combine(logs, "metrics.log")));
    }

    private async Task<JsonElement> WatchAsync(HttpClient api, Guid jobId, TimeSpan timeout, string logs)
    {
        var clock = Stopwatch.StartNew();
        string? last = null;
        while (clock.Elapsed < timeout)
        {
            using var response = await api.GetAsync($"api/jobs/{jobId}");
            if (response.IsSuccessStatusCode)
            {
                var job = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
                var state = job.GetProperty("state").GetString();
                if (state != last) output.WriteLine($"[{clock.Elapsed.TotalSeconds:0.0} s] {state}");
                last = state;
                if (state == "Completed") return job;
                if (state == "Failed")
                    Assert.Fail($"job {jobId} failed: {job.GetProperty("reason").GetString()}{Environment.NewLine}{await TailsAsync(logs)}");
            }
            await Task.Delay(200);
        }
        Assert.Fail($"job {jobId} did not complete within {timeout.TotalSeconds:0} s (last {last}){Environment.NewLine}{await TailsAsync(logs)}");
        return default;
    }

    private static async Task<string> TailsAsync(string logs)
    {
        var tails = new List<string>();
        foreach (var log in Directory.EnumerateFiles(logs, "*.log"))
            tails.Add($"--- {log} ---{Environment.NewLine}{string.Join(Environment.NewLine, (await ReadSharedAsync(log)).Split('\n').TakeLast(15))}");
        return string.Join(Environment.NewLine, tails);
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Runs a bash command in the repository root with the test's run folder, ports, virtual host and container.</summary>
    private async Task<(int ExitCode, string Output)> ShellAsync(string command, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash") { WorkingDirectory = Infra.RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        // Nothing inherited may point the services elsewhere; the script adds services-env.sh's settings to these.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("SsbTomo__", StringComparison.OrdinalIgnoreCase) ||
                     k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase) || k.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(key);
        info.Environment["SSBTOMO_RUN_DIR"] = RunDir;
        info.Environment["SSBTOMO_PORT_BASE"] = _portBase.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["SsbTomo__RabbitMq__VirtualHost"] = VirtualHost;
        info.Environment["SsbTomo__AzureBlob__Container"] = Container;
        info.Environment["SsbTomo__ChunkSlices"] = SmallStackReference.ChunkSlices.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{command}` did not finish within {timeout.TotalSeconds:0} s");
        }
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    /// <summary>The first of <paramref name="count"/> consecutive loopback ports that are all free now.</summary>
    private static int FreePortRange(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var first = Infra.FreePort();
            if (first + count > 65535) continue;
            if (Enumerable.Range(first + 1, count - 1).All(IsFree)) return first;
        }
        throw new InvalidOperationException($"no {count} consecutive free loopback ports found");
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
