using Azure.Identity;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SsbTomo.Storage;

namespace SsbTomo.Hosting;

public static class HostingExtensions
{
    /// <summary>
    /// Everything a SsbTomo service shares: options, blob store, MassTransit with the caller's consumers
    /// over the configured transport, retries, telemetry and health checks.
    /// </summary>
    public static IHostApplicationBuilder AddSsbTomoDefaults(this IHostApplicationBuilder builder,
        Action<IBusRegistrationConfigurator> addConsumers, string serviceName)
    {
        var section = builder.Configuration.GetSection(SsbTomoOptions.Section);
        builder.Services.AddOptions<SsbTomoOptions>().Bind(section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SsbTomoOptions>, SsbTomoOptionsValidator>();
        var options = section.Get<SsbTomoOptions>() ?? new SsbTomoOptions();

        UseDefaultPort(builder, serviceName);
        QuietRequestLogs(builder);
        builder.Services.AddSingleton<IBlobStore>(sp => CreateBlobStore(sp.GetRequiredService<IOptions<SsbTomoOptions>>().Value));
        builder.AddSsbTomoBus(options, addConsumers);
        builder.AddSsbTomoTelemetry(serviceName);
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: ["live"]);
        return builder;
    }

    /// <summary>
    /// Where each service listens on one machine when nothing says otherwise (ASP.NET's own default, localhost:5000,
    /// would let only the first of six services start). ASPNETCORE_URLS, ASPNETCORE_HTTP_PORTS or the "urls" setting win.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, int> DefaultPorts = new Dictionary<string, int>
    {
        ["ssbtomo-orchestrator"] = 5080,
        ["ssbtomo-ingest"] = 5081,
        ["ssbtomo-alignment"] = 5082,
        ["ssbtomo-segmentation"] = 5083,
        ["ssbtomo-reconstruction"] = 5084,
        ["ssbtomo-metrics"] = 5085,
    };

    private static void UseDefaultPort(IHostApplicationBuilder builder, string serviceName)
    {
        var configuration = builder.Configuration;
        if (!DefaultPorts.TryGetValue(serviceName, out var port)) return;
        if (!string.IsNullOrEmpty(configuration["urls"]) || !string.IsNullOrEmpty(configuration["http_ports"]) || !string.IsNullOrEmpty(configuration["https_ports"]))
            return;
        configuration["urls"] = $"http://localhost:{port}";
    }

    /// <summary>
    /// ASP.NET logs several Information lines per request (routing, authentication, the request's start and end): a
    /// dashboard refreshing every 3 s would fill the log with them. Warnings and errors stay; configuration
    /// (Logging:LogLevel:Microsoft.AspNetCore) wins when it says otherwise.
    /// </summary>
    private static void QuietRequestLogs(IHostApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"]))
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    }

    /// <summary>Liveness and readiness (the bus is connected), open to everyone, and the Prometheus scrape endpoint.</summary>
    public static WebApplication MapSsbTomoEndpoints(this WebApplication app)
    {
        // Probes carry no credentials: health stays open where the orchestrator requires sign-in for everything else.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = c => c.Tags.Contains("live") }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") || c.Tags.Contains("live") }).AllowAnonymous();
        // No authorization of its own: where a service requires sign-in (the orchestrator), /metrics needs the viewer role too.
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    private static IBlobStore CreateBlobStore(SsbTomoOptions options) => options.BlobStore switch
    {
        BlobStoreKind.FileSystem => new FileSystemBlobStore(Path.GetFullPath(options.BlobRoot)),
        BlobStoreKind.AzureBlob when !string.IsNullOrWhiteSpace(options.AzureBlob.ConnectionString) =>
            AzureBlobStore.FromConnectionString(options.AzureBlob.ConnectionString, options.AzureBlob.Container),
        BlobStoreKind.AzureBlob when options.AzureBlob.ServiceUri is { } uri =>
            AzureBlobStore.FromServiceUri(uri, options.AzureBlob.Container, new DefaultAzureCredential()),
        BlobStoreKind.AzureBlob => throw new InvalidOperationException(
            "SsbTomo:AzureBlob needs a ConnectionString (from a secret) or a ServiceUri (DefaultAzureCredential)"),
        _ => throw new InvalidOperationException($"unknown blob store {options.BlobStore}"),
    };

    private static void AddSsbTomoBus(this IHostApplicationBuilder builder, SsbTomoOptions options,
        Action<IBusRegistrationConfigurator> addConsumers)
    {
        builder.Services.AddMassTransit(bus =>
        {
            // MassTransit 8.4+ reports usage to an outside host at start; a facility's offline cluster should not try.
            bus.ConfigureUsageTelemetryOptions(o => o.Enabled = options.MassTransitUsageTelemetry);
            bus.SetKebabCaseEndpointNameFormatter();
            addConsumers(bus);
            switch (options.Transport)
            {
                case TransportKind.InMemory:
                    bus.UsingInMemory((context, cfg) => ConfigureEndpoints(context, cfg));
                    break;
                case TransportKind.RabbitMq:
                    if (options.BusWatchdog.SettleTimeoutSeconds > 0) builder.Services.AddBusWatchdog(options.BusWatchdog);
                    bus.UsingRabbitMq((context, cfg) =>
                    {
                        var rabbit = options.RabbitMq;
                        cfg.Host(rabbit.Host, rabbit.Port, rabbit.VirtualHost, h =>
                        {
                            h.Username(rabbit.Username);
                            h.Password(rabbit.Password);
                        });
                        ConfigureEndpoints(context, cfg);
                    });
                    break;
            }
        });
    }

    private static void ConfigureEndpoints<TEndpoint>(IBusRegistrationContext context, IBusFactoryConfigurator<TEndpoint> cfg)
        where TEndpoint : IReceiveEndpointConfigurator
    {
        cfg.UseMessageRetry(r =>
        {
            r.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(400));
            r.Ignore<InvalidInputException>();
        });
        // Publish a saga's or consumer's messages only once its state is saved, so a fast reply never races it.
        cfg.UseInMemoryOutbox(context);
        cfg.ConfigureEndpoints(context);
    }

    private static void AddSsbTomoTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t => t.AddSource(SsbTomoTelemetry.Name, "MassTransit").AddAspNetCoreInstrumentation())
            .WithMetrics(m => m.AddMeter(SsbTomoTelemetry.Name, "MassTransit").AddRuntimeInstrumentation().AddAspNetCoreInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            otel.UseOtlpExporter();
    }
}
