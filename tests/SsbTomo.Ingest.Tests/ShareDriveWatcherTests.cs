using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.Ingest.Tests;

public class ShareDriveWatcherTests
{
    [Fact]
    public async Task A_folder_on_the_share_that_links_elsewhere_is_not_submitted()
    {
        using var dir = new TempDirectory("ssbtomo-watcher");
        var share = Directory.CreateDirectory(Path.Combine(dir.Path, "share")).FullName;
        var outside = Directory.CreateDirectory(Path.Combine(dir.Path, "outside", "stack")).FullName;
        var real = Directory.CreateDirectory(Path.Combine(share, "real")).FullName;
        foreach (var folder in new[] { real, outside })
            for (var i = 0; i < 2; i++) await File.WriteAllBytesAsync(Path.Combine(folder, $"slice_{i}.tif"), [1, 2, 3]);
        Directory.CreateSymbolicLink(Path.Combine(share, "escape"), outside);

        await using var provider = new ServiceCollection()
            .AddMassTransitTestHarness(bus => bus.SetTestTimeouts(testInactivityTimeout: TimeSpan.FromSeconds(3)))
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var options = new SsbTomoOptions { Ingest = { WatchRoot = share, PollSeconds = 1, QuietSeconds = 0, MinSlices = 1 } };
        using var watcher = new ShareDriveWatcher(Options.Create(options), new FileSystemBlobStore(Path.Combine(dir.Path, "data")),
            harness.Bus, NullLogger<ShareDriveWatcher>.Instance);

        await watcher.StartAsync(CancellationToken.None);
        // The first poll sees both folders, the second finds them unchanged; then the bus is idle for the timeout.
        Assert.True(await harness.Published.Any<SubmitJob>(m => m.Context.Message.SourcePath == real));
        await Task.Delay(TimeSpan.FromSeconds(2));
        await watcher.StopAsync(CancellationToken.None);

        var sources = harness.Published.Select<SubmitJob>().Select(m => m.Context.Message.SourcePath).ToList();
        Assert.Equal([real], sources);
    }
}
