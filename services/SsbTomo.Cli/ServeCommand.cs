using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Access;
using Spectre.Console;

namespace SsbTomo.Cli;

public static class ServeCommand
{
    public static Command Create()
    {
        var watch = new Option<string>("--watch") { Description = "The share drive folder: each subfolder of TIFFs is one acquisition.", Required = true };
        var data = new Option<string>("--data") { Description = "Where jobs/{id}/ (Zarr volumes, metrics.json) are written.", Required = true };
        var urls = new Option<string>("--urls") { Description = "Where the API and dashboard listen.", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var chunkSlices = new Option<int>("--chunk-slices") { Description = "Slices per segmentation chunk.", DefaultValueFactory = _ => 16 };
        var quiet = new Option<int>("--quiet-seconds")
        {
            Description = "Without an end marker, an acquisition is complete once its folder has not changed for 4 times the median " +
                          "interval between its slices, and at least this long.",
            DefaultValueFactory = _ => 600,
        };
        var endMarkers = new Option<string[]>("--end-marker")
        {
            Description = "File-name pattern (* and ?) of a file the acquisition software writes after the last slice; a folder with one " +
                          "newer than its slices is complete at once. Repeat for several.",
        };
        var apiKeys = new Option<string?>("--api-keys")
        {
            Description = "File of API keys (lines from `ssbtomo apikey`): the API and dashboard then need a key. Required to listen beyond loopback.",
        };
        var carbon = new Option<CarbonShape?>("--carbon")
        {
            Description = "The carbon additive of the share's cathodes, for every job that does not name its own: fibres (carbon nanofibres, the "
                + "default: the segmentation's fibre rules run) or particles (carbon black, binder films: they do not). See `ssbtomo run --help`.",
        };
        var command = new Command("serve", "Watch a share drive and process every acquisition that lands in it, with the API and dashboard, in one process.")
        {
            watch, data, urls, chunkSlices, quiet, endMarkers, apiKeys, carbon,
        };
        command.SetAction(async (parse, ct) =>
        {
            WebApplication app;
            try
            {
                app = EmbeddedPipeline.BuildServer(Path.GetFullPath(parse.GetValue(data)!), Path.GetFullPath(parse.GetValue(watch)!),
                    parse.GetValue(chunkSlices), parse.GetValue(urls)!, parse.GetValue(quiet), endMarkers: parse.GetValue(endMarkers),
                    apiKeysFile: parse.GetValue(apiKeys), carbon: parse.GetValue(carbon));
            }
            catch (AccessConfigurationException ex)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]ssbtomo serve: {ex.Message} With serve: --api-keys FILE.[/]");
                return 2;
            }
            // One server per process: the configured budget (SsbTomo__MemoryBudgetMb) holds this process's heap.
            ProcessMemory.LimitTo(app.Services.GetRequiredService<IOptions<SsbTomoOptions>>().Value.MemoryBudgetMb);
            var access = app.Services.GetRequiredService<AccessState>().Decision switch
            {
                AccessDecision.Enforced => "API key or sign-in required",
                AccessDecision.OpenOnLoopback => "unauthenticated: this machine only",
                _ => "UNAUTHENTICATED (SsbTomo:Auth:Mode=None)",
            };
            AnsiConsole.MarkupLineInterpolated($"Watching [bold]{parse.GetValue(watch)}[/]; dashboard at [bold]{parse.GetValue(urls)}[/] ({access})");
            await using (app)
            {
                await app.StartAsync(ct);
                await app.WaitForShutdownAsync(ct);
            }
            // A host stopped by its bus watchdog set the exit code that asks to be started again: keep it (0 otherwise).
            return Environment.ExitCode;
        });
        return command;
    }
}
