using SsbTomo.Ingest;
using SsbTomo.TestSupport;

namespace SsbTomo.Ingest.Tests;

public class StackFolderWatchTests
{
    private static readonly DateTime T0 = new(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);

    private static StackFolderSnapshot Folder(int slices, string path = "/share/sample-a") =>
        new(path, slices, slices * 1000L, T0.AddSeconds(slices));

    [Fact]
    public void A_folder_is_ready_once_it_stops_changing_for_the_quiet_period_and_only_once()
    {
        var watch = new StackFolderWatch(TimeSpan.FromSeconds(60), minSlices: 3);
        Assert.Empty(watch.Observe([Folder(5)], T0));
        Assert.Empty(watch.Observe([Folder(6)], T0.AddSeconds(30)));   // still being written
        Assert.Empty(watch.Observe([Folder(6)], T0.AddSeconds(80)));   // quiet for 50 s only
        Assert.Equal(["/share/sample-a"], watch.Observe([Folder(6)], T0.AddSeconds(95)));
        Assert.Empty(watch.Observe([Folder(6)], T0.AddSeconds(500)));
    }

    [Fact]
    public void A_folder_with_too_few_slices_is_not_a_stack()
    {
        var watch = new StackFolderWatch(TimeSpan.FromSeconds(10), minSlices: 8);
        watch.Observe([Folder(2)], T0);
        Assert.Empty(watch.Observe([Folder(2)], T0.AddHours(1)));
    }

    [Fact]
    public void Scanning_reads_tiff_counts_of_each_subfolder_and_changes_nothing()
    {
        using var root = new TempDirectory();
        var sample = Directory.CreateDirectory(Path.Combine(root.Path, "sample-b")).FullName;
        for (var i = 0; i < 3; i++) File.WriteAllBytes(Path.Combine(sample, $"slice_{i}.tif"), new byte[10 + i]);
        File.WriteAllText(Path.Combine(sample, "notes.txt"), "not a slice");
        var before = Directory.GetFiles(sample).Select(f => (f, File.GetLastWriteTimeUtc(f))).ToArray();

        var snapshot = Assert.Single(ShareDriveWatcher.Scan(root.Path));

        Assert.Equal((sample, 3, 33L), (snapshot.Path, snapshot.TiffCount, snapshot.TotalBytes));
        Assert.Equal(before, Directory.GetFiles(sample).Select(f => (f, File.GetLastWriteTimeUtc(f))).ToArray());
    }
}
