using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SsbTomo.Alignment;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Ingest;
using SsbTomo.Metrics;
using SsbTomo.Orchestrator;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Reconstruction;
using SsbTomo.Segmentation;

namespace SsbTomo.Cli;

/// <summary>
/// Every service's consumers and the orchestrator in one process, over MassTransit's in-memory
/// transport and the filesystem store: the same code path as the cluster, another configuration.
/// </summary>
public static class EmbeddedPipeline
{
    /// <param name="configureServices">Runs after the defaults, so a registration here replaces one of theirs (e.g. the blob store).</param>
    public static IHost Build(string blobRoot, int chunkSlices, bool verbose, Action<IServiceCollection>? configureServices = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = false, Args = [] });
        builder.Configuration["SsbTomo:Transport"] = nameof(TransportKind.InMemory);
        builder.Configuration["SsbTomo:BlobStore"] = nameof(BlobStoreKind.FileSystem);
        builder.Configuration["SsbTomo:BlobRoot"] = blobRoot;
        builder.Configuration["SsbTomo:ChunkSlices"] = chunkSlices.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Logging.ClearProviders();
        if (verbose) builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        // Made by a factory so that the host disposes it and the log file is closed when the run ends.
        builder.Services.AddSingleton<ILoggerProvider>(_ => new FileLogProvider(Path.Combine(blobRoot, FileLogProvider.FileName)));
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);

        builder.Services.AddSingleton<JobWatcher>();
        builder.AddSsbTomoDefaults(bus =>
        {
            bus.AddAllStages();
            bus.AddConsumer<JobCompletedConsumer>();
            bus.AddConsumer<JobFailedConsumer>();
            bus.AddConsumer<JobProgressWatchConsumer>();
        }, "ssbtomo");
        configureServices?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>
    /// A long-running one-machine facility server: watches the share drive, runs every stage, serves the API and
    /// the dashboard. Job state lives in memory like the in-memory transport's messages: a restart starts afresh.
    /// Open without keys on loopback only (<see cref="AccessRule"/>); <paramref name="apiKeysFile"/> or the
    /// <c>SsbTomo__Auth__*</c> environment turn authentication on.
    /// </summary>
    public static WebApplication BuildServer(string dataDir, string watchDir, int chunkSlices, string urls, int quietSeconds, int pollSeconds = 5,
        IReadOnlyList<string>? endMarkers = null, string? apiKeysFile = null, CarbonShape? carbon = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        // The share's cathodes' carbon: the default of every job the watcher submits (a job posted with its own keeps that).
        if (carbon is { } shape) builder.Configuration["SsbTomo:FibreHalfDepth"] = (shape == CarbonShape.Fibres).ToString();
        builder.Configuration["SsbTomo:Transport"] = nameof(TransportKind.InMemory);
        builder.Configuration["SsbTomo:BlobStore"] = nameof(BlobStoreKind.FileSystem);
        builder.Configuration["SsbTomo:BlobRoot"] = dataDir;
        builder.Configuration["SsbTomo:ChunkSlices"] = chunkSlices.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Configuration["SsbTomo:Ingest:WatchRoot"] = watchDir;
        builder.Configuration["SsbTomo:Ingest:QuietSeconds"] = quietSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Configuration["SsbTomo:Ingest:PollSeconds"] = pollSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < (endMarkers?.Count ?? 0); i++) builder.Configuration[$"SsbTomo:Ingest:EndMarkers:{i}"] = endMarkers![i];
        if (apiKeysFile is not null) builder.Configuration["SsbTomo:Auth:ApiKeysFile"] = Path.GetFullPath(apiKeysFile);
        builder.WebHost.UseUrls(urls);
        builder.AddSsbTomoDefaults(bus => bus.AddAllStages(), "ssbtomo");
        builder.AddSsbTomoAccess();

        var app = builder.Build();
        app.UseSsbTomoAccess();
        app.MapSsbTomoEndpoints();
        app.MapJobsApi();
        app.MapDashboard();
        return app;
    }

    private static void AddAllStages(this IBusRegistrationConfigurator bus)
    {
        bus.AddIngest();
        bus.AddAlignment();
        bus.AddSegmentation();
        bus.AddReconstruction();
        bus.AddMetrics();
        bus.AddOrchestrator();
    }
}
