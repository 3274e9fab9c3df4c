using Microsoft.AspNetCore.Builder;
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
    public void Configured_urls_win()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:6001"] });
        builder.AddSsbTomoDefaults(_ => { }, "ssbtomo-ingest");
        Assert.Equal("http://127.0.0.1:6001", builder.Configuration["urls"]);

        var withPorts = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--http_ports", "8080"] });
        withPorts.AddSsbTomoDefaults(_ => { }, "ssbtomo-ingest");
        Assert.True(string.IsNullOrEmpty(withPorts.Configuration["urls"]));
    }
}
