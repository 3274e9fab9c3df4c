using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Storage;

namespace SsbTomo.Distributed.Tests.Infrastructure;

/// <summary>
/// The six services as separate processes (plus extra segmentation workers) over the real RabbitMQ, in a
/// virtual host of their own, and the real Azurite, in a container of their own. Disposing kills every
/// process and deletes the virtual host and the container; the logs stay in <see cref="LogDir"/>.
/// </summary>
public sealed class Cluster : IAsyncDisposable
{
    public static readonly string[] Services = ["Orchestrator", "Ingest", "Alignment", "Segmentation", "Reconstruction", "Metrics"];
    // Six .NET services starting at once on 2 cores: at a load average of ~55 (other sessions' builds and studies) an
    // orchestrator was still refusing connections after 90 s; a service that cannot start shows in its log either way.
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(240);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly List<ServiceProcess> _processes = [];
    private readonly Dictionary<string, string> _environment;
    private readonly ITestOutputHelper? _output;
    private readonly string _operatorKey = ApiKeyStore.NewKey();
    private int _workerCount;

    private Cluster(string name, int chunkSlices, ITestOutputHelper? output, IReadOnlyDictionary<string, string>? environment)
    {
        _output = output;
        var id = $"{DateTime.UtcNow:HHmmss}-{Guid.NewGuid().ToString("N")[..8]}";
        var slug = new string(name.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).ToArray());
        slug = slug[..Math.Min(slug.Length, 30)];
        Container = $"dist-{slug}-{id}";
        VirtualHost = $"ssbtomo-test-{slug}-{id}";
        ChunkSlices = chunkSlices;
        LogDir = Path.Combine(Path.GetTempPath(), "ssbtomo-distributed-tests", $"{slug}-{id}");
        Directory.CreateDirectory(LogDir);
        Store = AzureBlobStore.FromConnectionString(Infra.AzuriteConnectionString, Container);
        _environment = new Dictionary<string, string>
        {
            ["SsbTomo__Transport"] = "RabbitMq",
            ["SsbTomo__RabbitMq__Host"] = Infra.RabbitHost,
            ["SsbTomo__RabbitMq__Port"] = Infra.RabbitPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SsbTomo__RabbitMq__VirtualHost"] = VirtualHost,
            ["SsbTomo__RabbitMq__Username"] = Infra.RabbitUser,
            ["SsbTomo__RabbitMq__Password"] = Infra.RabbitPassword,
            ["SsbTomo__BlobStore"] = "AzureBlob",
            ["SsbTomo__AzureBlob__ConnectionString"] = Infra.AzuriteConnectionString,
            ["SsbTomo__AzureBlob__Container"] = Container,
            ["SsbTomo__ChunkSlices"] = chunkSlices.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Durable job state, so that an Orchestrator restarted on the same file resumes its jobs.
            ["SsbTomo__JobStore"] = "Sqlite",
            ["SsbTomo__SqlitePath"] = Path.Combine(LogDir, "jobs.db"),
            // The phantom stacks are written to temporary folders (TempDirectory), which stand in for the share.
            ["SsbTomo__ShareRoots__0"] = Path.GetTempPath(),
            // A distributed orchestrator does not start without authentication: the tests submit as an operator.
            ["SsbTomo__Auth__ApiKeysFile"] = Path.Combine(LogDir, "api-keys"),
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) _environment[key] = value;
        File.WriteAllText(_environment["SsbTomo__Auth__ApiKeysFile"], ApiKeyStore.FileLine("distributed-tests", Roles.Operator, _operatorKey) + "\n");
    }

    private HttpClient NewApiClient()
    {
        var http = new HttpClient { BaseAddress = Orchestrator.BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, _operatorKey);
        return http;
    }

    public string Container { get; }
    public string VirtualHost { get; }
    public int ChunkSlices { get; }
    public string LogDir { get; }
    public AzureBlobStore Store { get; }
    public ServiceProcess Orchestrator { get; private set; } = null!;
    public IReadOnlyList<ServiceProcess> SegmentationWorkers => _processes.Where(p => p.Name.StartsWith("segmentation", StringComparison.Ordinal)).ToList();
    public HttpClient Api { get; private set; } = null!;

    /// <summary>The process started as <paramref name="name"/> (orchestrator, ingest, alignment, segmentation-1, ...).</summary>
    public ServiceProcess Service(string name) => _processes.Single(p => p.Name == name);

    /// <summary>Starts the six services, plus <paramref name="segmentationWorkers"/> - 1 more Segmentation processes, and waits until all are ready.</summary>
    /// <param name="environment">Settings of the test's own on top of the cluster's (e.g. <c>SsbTomo__Stall__FloorSeconds</c>).</param>
    public static async Task<Cluster> StartAsync(string name, int segmentationWorkers, int chunkSlices, ITestOutputHelper? output = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        await Infra.EnsureRunningAsync();
        var cluster = new Cluster(name, chunkSlices, output, environment);
        try
        {
            await cluster.CreateVirtualHostAsync();
            var started = new List<ServiceProcess>();
            foreach (var service in Services)
            {
                var copies = service == "Segmentation" ? segmentationWorkers : 1;
                for (var i = 0; i < copies; i++) started.Add(cluster.Launch(service));
            }
            cluster.Orchestrator = started[0];
            cluster.Api = cluster.NewApiClient();
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(started.Select(p => p.WaitReadyAsync(ReadyTimeout)));
            cluster.Log($"{started.Count} processes ready in {clock.Elapsed.TotalSeconds:0.0} s (vhost {cluster.VirtualHost}, container {cluster.Container}, logs {cluster.LogDir})");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private ServiceProcess Launch(string service)
    {
        var name = service == "Segmentation" ? $"segmentation-{++_workerCount}" : service.ToLowerInvariant();
        var process = ServiceProcess.Start(name, service, _environment, LogDir);
        _processes.Add(process);
        return process;
    }

    /// <summary>SIGKILLs the Orchestrator, waits, and starts a new one on the same job store and broker.</summary>
    public async Task RestartOrchestratorAsync(TimeSpan down)
    {
        Orchestrator.Kill();
        Log($"SIGKILLed {Orchestrator.Name} (pid {Orchestrator.Pid})");
        await Task.Delay(down);
        Orchestrator = ServiceProcess.Start($"orchestrator-{_processes.Count}", "Orchestrator", _environment, LogDir);
        _processes.Add(Orchestrator);
        Api.Dispose();
        Api = NewApiClient();
        await Orchestrator.WaitReadyAsync(ReadyTimeout);
        Log($"{Orchestrator.Name} (pid {Orchestrator.Pid}) ready");
    }

    /// <summary>One more competing consumer on the segmentation queues.</summary>
    public async Task<ServiceProcess> AddSegmentationWorkerAsync()
    {
        var worker = Launch("Segmentation");
        await worker.WaitReadyAsync(ReadyTimeout);
        Log($"{worker.Name} (pid {worker.Pid}) ready");
        return worker;
    }

    public void Log(string message) => _output?.WriteLine($"[{DateTime.Now:HH:mm:ss.fff}] {message}");

    public async Task<Guid> SubmitAsync(string sourcePath)
    {
        using var response = await Api.PostAsJsonAsync("api/jobs", new { sourcePath, voxelSizeNm = (object?)null });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST /api/jobs answered {(int)response.StatusCode}: {body}");
        var jobId = JsonDocument.Parse(body).RootElement.GetProperty("jobId").GetGuid();
        Log($"submitted {sourcePath} as job {jobId}");
        return jobId;
    }

    /// <summary>GET /api/jobs/{id}; null until the orchestrator has seen the job's first progress event.</summary>
    public async Task<JobProgressed?> GetJobAsync(Guid jobId)
    {
        using var response = await Api.GetAsync($"api/jobs/{jobId}");
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JobProgressed>(Json);
    }

    /// <summary>
    /// Polls the job until <paramref name="until"/> holds; fails at once if the job fails, or when it has made no progress
    /// (no new state or chunk count) for <paramref name="timeout"/>. A deadline on the whole wait measured the machine's
    /// load instead of the system: on a shared 2-core machine at a load average of ~50 a healthy job took longer than a
    /// fixed 180 s while moving on every few seconds, and a stuck job is caught as fast as before.
    /// </summary>
    public async Task<JobProgressed> WaitForAsync(Guid jobId, Func<JobProgressed, bool> until, TimeSpan timeout,
        Action<JobProgressed>? observe = null, int pollMs = 50)
    {
        var sinceProgress = Stopwatch.StartNew();
        JobProgressed? last = null;
        var refused = false;
        while (sinceProgress.Elapsed < timeout)
        {
            JobProgressed? job = null;
            try
            {
                job = await GetJobAsync(jobId);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !Orchestrator.IsGone)
            {
                // Refused while the orchestrator's bus watchdog restarts it (the broker went away): it comes back on the
                // same port and job store, and the no-progress clock keeps running meanwhile.
                if (!refused) Log($"API not answering: {e.Message}");
                refused = true;
                await Task.Delay(pollMs);
                continue;
            }
            refused = false;
            if (job is not null)
            {
                if (job != last)
                {
                    Log($"job {jobId}: {job.State} {job.ChunksDone}/{job.ChunksTotal}");
                    sinceProgress.Restart();
                }
                last = job;
                observe?.Invoke(job);
                if (until(job)) return job;
                if (job.State == "Failed") throw new InvalidOperationException($"job {jobId} failed.{Environment.NewLine}{Diagnostics()}");
            }
            await Task.Delay(pollMs);
        }
        throw new TimeoutException($"job {jobId} made no progress for {timeout.TotalSeconds:0} s; last seen {last?.ToString() ?? "nothing"}.{Environment.NewLine}{Diagnostics()}");
    }

    public Task<JobProgressed> WaitCompletedAsync(Guid jobId, TimeSpan timeout, Action<JobProgressed>? observe = null) =>
        WaitForAsync(jobId, j => j.State == "Completed", timeout, observe);

    /// <summary>Every blob under jobs/{jobId}/{artefact}/, keyed by its path below that folder.</summary>
    public async Task<SortedDictionary<string, byte[]>> DownloadAsync(Guid jobId, string artefact)
    {
        var prefix = $"jobs/{jobId}/{artefact}/";
        var blobs = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        await foreach (var key in Store.ListAsync(prefix))
            blobs[key[prefix.Length..]] = await Store.ReadAsync(key) ?? throw new InvalidOperationException($"{key} listed but not readable");
        return blobs;
    }

    public async Task<byte[]> ReadJobBlobAsync(Guid jobId, string name) =>
        await Store.ReadAsync($"jobs/{jobId}/{name}") ?? throw new InvalidOperationException($"no blob jobs/{jobId}/{name} in container {Container}");

    /// <summary>No message of this cluster went to an _error (faulted after retries) or _skipped (no consumer) queue.</summary>
    public async Task AssertNoFaultedMessagesAsync()
    {
        using var http = Infra.ManagementClient();
        var queues = await http.GetFromJsonAsync<JsonElement[]>($"api/queues/{Uri.EscapeDataString(VirtualHost)}?columns=name") ?? [];
        var names = queues.Select(q => q.GetProperty("name").GetString() ?? "").ToList();
        Assert.True(names.Count > 0, $"no queues in vhost {VirtualHost}");
        var dead = names.Where(n => n.EndsWith("_error", StringComparison.Ordinal) || n.EndsWith("_skipped", StringComparison.Ordinal)).ToList();
        Assert.True(dead.Count == 0, $"messages were dead-lettered to {string.Join(", ", dead)}{Environment.NewLine}{Diagnostics()}");
    }

    public string Diagnostics() => string.Join(Environment.NewLine, _processes.Select(p => p.Tail()));

    private async Task CreateVirtualHostAsync()
    {
        using var http = Infra.ManagementClient();
        var vhost = Uri.EscapeDataString(VirtualHost);
        using (var created = await http.PutAsync($"api/vhosts/{vhost}", JsonContent.Create(new { description = "SsbTomo distributed test" })))
            Assert.True(created.IsSuccessStatusCode, $"creating RabbitMQ vhost {VirtualHost}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        using var permitted = await http.PutAsync($"api/permissions/{vhost}/{Infra.RabbitUser}",
            JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" }));
        Assert.True(permitted.IsSuccessStatusCode, $"granting {Infra.RabbitUser} on {VirtualHost}: {(int)permitted.StatusCode} {await permitted.Content.ReadAsStringAsync()}");
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_processes.Select(p => p.DisposeAsync().AsTask()));
        Api?.Dispose();
        try
        {
            using var http = Infra.ManagementClient();
            using var _ = await http.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(VirtualHost)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Log($"could not delete vhost {VirtualHost}: {e.Message}");
        }
        try
        {
            await Store.Container.DeleteIfExistsAsync();
        }
        catch (Exception e) when (e is Azure.RequestFailedException or HttpRequestException)
        {
            Log($"could not delete container {Container}: {e.Message}");
        }
    }
}
