using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Access;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests.Access;

/// <summary>
/// The orchestrator as Program.cs builds it (defaults, access, health, metrics, API, dashboard) over the in-memory
/// transport on a free loopback port, with a share that has one stack in it.
/// </summary>
internal sealed class OrchestratorHost : IAsyncDisposable
{
    private readonly TempDirectory _dir;
    private readonly WebApplication _app;

    private OrchestratorHost(TempDirectory dir, WebApplication app) => (_dir, _app) = (dir, app);

    public Uri Address => new(_app.Urls.First());
    public string Stack => Path.Combine(_dir.Path, "share", "stack");
    public IServiceProvider Services => _app.Services;

    /// <summary>The builder Program.cs would have; <see cref="AccessRegistration.AddSsbTomoAccess"/> throws from here for a configuration that must not start.</summary>
    public static WebApplicationBuilder CreateBuilder(string dataDir, IDictionary<string, string?> settings, Action<WebApplicationBuilder>? beforeAccess = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["SsbTomo:BlobRoot"] = Path.Combine(dataDir, "data"),
            ["SsbTomo:ShareRoots:0"] = Path.Combine(dataDir, "share"),
        });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSsbTomoDefaults(bus => bus.AddOrchestrator(), "ssbtomo-orchestrator");
        beforeAccess?.Invoke(builder);
        builder.AddSsbTomoAccess();
        return builder;
    }

    public static async Task<OrchestratorHost> StartAsync(IDictionary<string, string?> settings, Action<WebApplicationBuilder>? beforeAccess = null,
        TempDirectory? dir = null)
    {
        dir ??= new TempDirectory("ssbtomo-access");
        Directory.CreateDirectory(Path.Combine(dir.Path, "share", "stack"));
        var app = CreateBuilder(dir.Path, settings, beforeAccess).Build();
        app.UseSsbTomoAccess();
        app.MapSsbTomoEndpoints();
        app.MapJobsApi();
        app.MapDashboard();
        await app.StartAsync();
        return new OrchestratorHost(dir, app);
    }

    /// <summary>A client that keeps cookies (the sign-in session, the antiforgery cookie) and shows redirects instead of following them.</summary>
    public HttpClient Client() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = Address };

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _dir.Dispose();
    }
}
