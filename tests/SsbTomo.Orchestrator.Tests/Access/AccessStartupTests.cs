using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Orchestrator.Access;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests.Access;

/// <summary>What the orchestrator does at start with each access configuration, built the way Program.cs builds it.</summary>
public class AccessStartupTests
{
    [Fact]
    public void With_rabbitmq_and_no_authentication_it_refuses_to_start()
    {
        using var dir = new TempDirectory("ssbtomo-access");
        var error = Assert.Throws<AccessConfigurationException>(() =>
            OrchestratorHost.CreateBuilder(dir.Path, new Dictionary<string, string?> { ["SsbTomo:Transport"] = "RabbitMq" }));
        Assert.Contains("Refusing to start the API and dashboard without authentication", error.Message);
    }

    [Fact]
    public void Listening_on_every_interface_without_authentication_it_refuses_to_start()
    {
        using var dir = new TempDirectory("ssbtomo-access");
        var error = Assert.Throws<AccessConfigurationException>(() =>
            OrchestratorHost.CreateBuilder(dir.Path, new Dictionary<string, string?> { ["urls"] = "http://0.0.0.0:0" }));
        Assert.Contains("http://0.0.0.0:0", error.Message);
    }

    [Fact]
    public void Mode_none_lets_a_distributed_orchestrator_start_open()
    {
        using var dir = new TempDirectory("ssbtomo-access");
        var builder = OrchestratorHost.CreateBuilder(dir.Path,
            new Dictionary<string, string?> { ["SsbTomo:Transport"] = "RabbitMq", ["SsbTomo:Auth:Mode"] = "None" });
        using var provider = builder.Services.BuildServiceProvider();
        Assert.Equal(AccessDecision.OpenByChoice, provider.GetRequiredService<AccessState>().Decision);
    }

    [Fact]
    public void A_key_file_with_a_malformed_line_stops_the_start_naming_the_file_and_the_line()
    {
        using var dir = new TempDirectory("ssbtomo-access");
        var keys = Path.Combine(dir.Path, "api-keys");
        File.WriteAllLines(keys, [ApiKeyStore.FileLine("vera", Roles.Viewer, ApiKeyStore.NewKey()), "otto operator ssbtomo_pasted-the-key-by-mistake"]);

        var error = Assert.Throws<AccessConfigurationException>(() =>
            OrchestratorHost.CreateBuilder(dir.Path, new Dictionary<string, string?> { ["SsbTomo:Auth:ApiKeysFile"] = keys }));

        Assert.Contains($"{keys} line 2", error.Message);
        Assert.Contains("not the key itself", error.Message);
        Assert.DoesNotContain("ssbtomo_pasted", error.Message);
    }

    [Fact]
    public async Task One_machine_with_nothing_configured_is_open_to_read_and_submit()
    {
        await using var host = await OrchestratorHost.StartAsync(new Dictionary<string, string?>());
        using var http = host.Client();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
        using var submit = await http.PostAsync("/api/jobs",
            new StringContent(JsonSerializer.Serialize(new { sourcePath = host.Stack, voxelSizeNm = (object?)null }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, submit.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/signin")).StatusCode);
    }
}

/// <summary>The orchestrator's own executable, started the way a pod starts it: a distributed one without credentials exits at once.</summary>
public class AccessProcessTests
{
    [Fact]
    public async Task The_orchestrator_process_on_rabbitmq_without_authentication_exits_at_start_with_a_message_that_says_what_to_set()
    {
        using var dir = new TempDirectory("ssbtomo-failclosed");
        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "SsbTomo.Orchestrator.dll") },
            RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = dir.Path,
        };
        // Only what a pod of the base manifests has, minus the key file: nothing from the machine running the tests.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SsbTomo", StringComparison.OrdinalIgnoreCase) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        start.Environment["SsbTomo__Transport"] = "RabbitMq";
        start.Environment["SsbTomo__RabbitMq__Host"] = "127.0.0.1";
        start.Environment["SsbTomo__BlobRoot"] = Path.Combine(dir.Path, "data");
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["MASSTRANSIT_USAGE_TELEMETRY"] = "false";

        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"still running after 60 s: it started without authentication. {await stdout}");
        }

        Assert.Equal(2, process.ExitCode);
        var message = await stderr;
        Assert.StartsWith("ssbtomo-orchestrator: Refusing to start the API and dashboard without authentication: the transport is RabbitMq", message);
        Assert.Contains("SsbTomo__Auth__ApiKeysFile", message);
        Assert.Contains("SsbTomo__Auth__Oidc__Authority", message);
        Assert.DoesNotContain("   at ", message);
        Assert.DoesNotContain("Now listening", await stdout);
    }
}
