using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;

namespace SsbTomo.Distributed.Tests.Infrastructure;

/// <summary>
/// The real RabbitMQ and Azurite these tests run against (started by infra/scripts/rabbitmq-start.sh and
/// azurite-start.sh; infra/scripts/test.sh starts both). Never skips: if either is missing, every test fails
/// with a message that says what to start.
/// </summary>
public static class Infra
{
    public const string RabbitHost = "127.0.0.1";
    public const int RabbitPort = 5672;
    public const int RabbitManagementPort = 15672;
    public const string RabbitUser = "ssbtomo";
    public const string AzuriteVariable = "SSBTOMO_AZURITE_CONNECTION";
    public const string RabbitPasswordVariable = "SSBTOMO_RABBITMQ_PASSWORD";

    private static readonly Lazy<Task> Probe = new(ProbeAsync);

    public static string InfraDir =>
        Environment.GetEnvironmentVariable("SSBTOMO_INFRA_DIR") is { Length: > 0 } dir ? dir : "/tmp/ssbtomo-infra";

    public static string AzuriteConnectionString =>
        Environment.GetEnvironmentVariable(AzuriteVariable) is { Length: > 0 } s ? s : "UseDevelopmentStorage=true";

    public static string RabbitPassword
    {
        get
        {
            if (Environment.GetEnvironmentVariable(RabbitPasswordVariable) is { Length: > 0 } password) return password;
            var file = Path.Combine(InfraDir, "rabbitmq", "password");
            try
            {
                return File.ReadLines(file).First().Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                throw new InvalidOperationException(
                    $"No RabbitMQ password: set {RabbitPasswordVariable} or run infra/scripts/rabbitmq-start.sh, which writes {file} ({e.Message})", e);
            }
        }
    }

    /// <summary>Fails with what to start when RabbitMQ (AMQP + management API) or Azurite is not answering.</summary>
    public static Task EnsureRunningAsync() => Probe.Value;

    private static async Task ProbeAsync()
    {
        var problems = new List<string>();
        if (!await PortAnswersAsync(RabbitHost, RabbitPort))
            problems.Add($"RabbitMQ is not listening on {RabbitHost}:{RabbitPort}: run infra/scripts/rabbitmq-start.sh (as root)");
        else
        {
            try
            {
                using var http = ManagementClient();
                using var response = await http.GetAsync("api/overview");
                if (!response.IsSuccessStatusCode)
                    problems.Add($"RabbitMQ management API at {http.BaseAddress} answered {(int)response.StatusCode} for user {RabbitUser}: " +
                        "re-run infra/scripts/rabbitmq-start.sh (it creates the user and enables the management plugin)");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                problems.Add($"RabbitMQ management API on {RabbitHost}:{RabbitManagementPort} is not usable: {e.Message}");
            }
        }

        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.Mode = RetryMode.Fixed;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        try
        {
            await new BlobServiceClient(AzuriteConnectionString, options).GetPropertiesAsync();
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException or TaskCanceledException)
        {
            problems.Add($"Azurite is not answering for '{AzuriteConnectionString}': run infra/scripts/azurite-start.sh ({e.Message})");
        }

        if (problems.Count > 0)
            throw new InvalidOperationException(
                "The distributed tests need a real RabbitMQ and Azurite (infra/scripts/test.sh starts both):" + Environment.NewLine +
                string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));
    }

    public static HttpClient ManagementClient()
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{RabbitHost}:{RabbitManagementPort}/"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RabbitUser}:{RabbitPassword}")));
        return http;
    }

    private static async Task<bool> PortAnswersAsync(string host, int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(host, port).WaitAsync(TimeSpan.FromSeconds(5));
            return true;
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>The repository root: the first folder above the test assembly that holds SsbTomo.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Release or Debug: the services are taken from the same configuration as this test assembly.</summary>
    public static string Configuration { get; } =
        typeof(Infra).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SsbTomo.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No SsbTomo.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>services/SsbTomo.{name}/bin/{Configuration}/net10.0/SsbTomo.{name}.dll, built by `dotnet build SsbTomo.sln -c {Configuration}`.</summary>
    public static string ServiceDll(string service)
    {
        var dll = Path.Combine(RepoRoot, "services", $"SsbTomo.{service}", "bin", Configuration, "net10.0", $"SsbTomo.{service}.dll");
        if (!File.Exists(dll))
            throw new InvalidOperationException($"{dll} is missing: build first with `dotnet build SsbTomo.sln -c {Configuration}` (these tests build nothing)");
        return dll;
    }

    /// <summary>Lowest port <see cref="FreePort"/> hands out: above Azurite (10000-10002) and the usual fixed services.</summary>
    private const int LowestServicePort = 20000;

    private static int _lastServicePort = LowestServicePort + Random.Shared.Next(0, 5000);

    /// <summary>
    /// A loopback port free now, for a service to bind in a moment, taken below the kernel's ephemeral range
    /// (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default). A port from that range (what binding port 0
    /// gives) can, once released, become the source port of any outgoing connection before the service binds it: the
    /// suite's broker and blob clients open many, and a service failed once with "Address already in use". Below the
    /// range only explicit binders compete, and a port one of them holds fails the probe.
    /// </summary>
    public static int FreePort()
    {
        var (ephemeralLow, _) = EphemeralPortRange();
        var span = Math.Max(1, ephemeralLow - LowestServicePort);
        for (var attempt = 0; attempt < span; attempt++)
        {
            var port = LowestServicePort + (Interlocked.Increment(ref _lastServicePort) - LowestServicePort) % span;
            try
            {
                var listener = new TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                listener.Stop();
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException($"no free loopback port in {LowestServicePort}-{ephemeralLow - 1}");
    }

    private static (int Low, int High) EphemeralPortRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && int.TryParse(parts[0], out var low) && int.TryParse(parts[1], out var high) && low > LowestServicePort + 100)
                return (low, high);
        }
        catch (IOException)
        {
        }
        return (32768, 60999);
    }
}
