using System.CommandLine;
using Microsoft.Extensions.Hosting;
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
        var quiet = new Option<int>("--quiet-seconds") { Description = "An acquisition is complete once its folder has not changed for this long.", DefaultValueFactory = _ => 120 };
        var command = new Command("serve", "Watch a share drive and process every acquisition that lands in it, with the API and dashboard, in one process.")
        {
            watch, data, urls, chunkSlices, quiet,
        };
        command.SetAction(async (parse, ct) =>
        {
            var app = EmbeddedPipeline.BuildServer(Path.GetFullPath(parse.GetValue(data)!), Path.GetFullPath(parse.GetValue(watch)!),
                parse.GetValue(chunkSlices), parse.GetValue(urls)!, parse.GetValue(quiet));
            AnsiConsole.MarkupLineInterpolated($"Watching [bold]{parse.GetValue(watch)}[/]; dashboard at [bold]{parse.GetValue(urls)}[/]");
            await app.StartAsync(ct);
            await app.WaitForShutdownAsync(ct);
            return 0;
        });
        return command;
    }
}
