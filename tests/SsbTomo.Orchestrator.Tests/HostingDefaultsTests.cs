using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>Six services started on one machine with nothing but the README's settings must not collide on a port.</summary>
public class HostingDefaultsTests
{
    [Fact]
    public void Each_service_gets_its_own_default_port()
    {
        var urls = HostingExtensions.DefaultPorts.Keys.Select(name =>
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
            builder.Configuration["urls"] = null;
            builder.Configuration["http_ports"] = null;
            builder.Configuration["https_ports"] = null;
            builder.AddSsbTomoDefaults(_ => { }, name);
            return builder.Configuration["urls"];
        }).ToList();
        Assert.Equal(6, urls.Distinct().Count());
        Assert.Contains("http://localhost:5080", urls);
    }

    [Fact]
    public async Task A_service_with_a_setting_that_would_fail_its_jobs_does_not_start_and_names_the_setting()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = ["--SsbTomo:Metrics:VoidNearNmcDistanceUm", "-0.5", "--SsbTomo:ChunkSlices", "0", "--SsbTomo:Metrics:TortuosityAxes", "zq",
                "--SsbTomo:AlignmentKernelThreads", "0", "--SsbTomo:Metrics:BoundaryPlacementVoxels", "-0.25", "--SsbTomo:RegistrationCropPx", "32",
                "--urls", "http://127.0.0.1:0"],
        });
        builder.AddSsbTomoDefaults(_ => { }, "ssbtomo-metrics");
        await using var app = builder.Build();
        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("SsbTomo:Metrics:VoidNearNmcDistanceUm is -0.5", refused.Message);
        Assert.Contains("SsbTomo:ChunkSlices is 0", refused.Message);
        Assert.Contains("SsbTomo:Metrics:TortuosityAxes is \"zq\"", refused.Message);
        Assert.Contains("SsbTomo:AlignmentKernelThreads is 0", refused.Message);
        Assert.Contains("SsbTomo:Metrics:BoundaryPlacementVoxels is -0.25", refused.Message);
        Assert.Contains("SsbTomo:RegistrationCropPx is 32", refused.Message);

        var sound = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:0"] });
        sound.AddSsbTomoDefaults(_ => { }, "ssbtomo-metrics");
        Assert.Empty(sound.Build().Services.GetRequiredService<IOptions<SsbTomoOptions>>().Value.Problems());
    }

    [Fact]
    public void Alignment_workers_share_the_cores_unless_their_kernel_threads_are_set()
    {
        var cores = Environment.ProcessorCount;
        Assert.Equal(cores, new SsbTomoOptions().EffectiveAlignmentKernelThreads);
        Assert.Equal(Math.Max(1, cores / 2), new SsbTomoOptions { AlignmentWorkers = 2 }.EffectiveAlignmentKernelThreads);
        Assert.Equal(1, new SsbTomoOptions { AlignmentWorkers = cores + 1 }.EffectiveAlignmentKernelThreads);
        Assert.Equal(3, new SsbTomoOptions { AlignmentWorkers = 8, AlignmentKernelThreads = 3 }.EffectiveAlignmentKernelThreads);
    }

    [Fact]
    public void Configured_urls_win()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:6001"] });
        builder.AddSsbTomoDefaults(_ => { }, "ssbtomo-ingest");
        Assert.Equal("http://127.0.0.1:6001", builder.Configuration["urls"]);

        var withPorts = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--http_ports", "8080"] });
        withPorts.AddSsbTomoDefaults(_ => { }, "ssbtomo-ingest");
        Assert.True(string.IsNullOrEmpty(withPorts.Configuration["urls"]));
    }

    [Fact]
    public void Request_logs_stay_below_Information_unless_configured_and_a_services_own_lines_do_not()
    {
        static ILoggerFactory Logs(params string[] args)
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
            builder.AddSsbTomoDefaults(_ => { }, "ssbtomo-orchestrator");
            return builder.Build().Services.GetRequiredService<ILoggerFactory>();
        }

        var quiet = Logs();
        Assert.False(quiet.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
        Assert.False(quiet.CreateLogger("Microsoft.AspNetCore.Routing.EndpointMiddleware").IsEnabled(LogLevel.Information));
        Assert.True(quiet.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Warning));
        Assert.True(quiet.CreateLogger("SsbTomo.Stage").IsEnabled(LogLevel.Information));

        var asked = Logs("--Logging:LogLevel:Microsoft.AspNetCore", "Information");
        Assert.True(asked.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
    }

    [Fact]
    public void MassTransit_usage_telemetry_is_off_unless_configured_on()
    {
        static bool Enabled(params string[] args)
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
            builder.AddSsbTomoDefaults(_ => { }, "ssbtomo-ingest");
            return builder.Build().Services.GetRequiredService<IOptions<UsageTelemetryOptions>>().Value.Enabled;
        }

        Assert.False(Enabled());
        Assert.True(Enabled("--SsbTomo:MassTransitUsageTelemetry", "true"));
    }
}
