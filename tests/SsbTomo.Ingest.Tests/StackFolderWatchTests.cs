using SsbTomo.Ingest;
using SsbTomo.TestSupport;

namespace SsbTomo.Ingest.Tests;

public class StackFolderWatchTests
{
    private static readonly DateTime T0 = new(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>A folder of <paramref name="slices"/> slices written every <paramref name="cadence"/> from T0.</summary>
    private static StackFolderSnapshot Folder(int slices, TimeSpan cadence, SliceFile? endMarker = null, string path = "/share/sample-a") =>
        new(path, [.. Enumerable.Range(0, slices).Select(i => new SliceFile($"slice_{i:0000}.tif", 1000, T0 + cadence * i))], endMarker);

    private static readonly CompletionSettings Defaults = new(TimeSpan.FromMinutes(10), CadenceFactor: 4, MinSlices: 3);

    [Fact]
    public void A_fast_acquisition_is_complete_after_the_floor_and_only_once()
    {
        var watch = new StackFolderWatch(Defaults);
        var folder = Folder(6, TimeSpan.FromSeconds(5));
        var last = folder.NewestWriteUtc;
        Assert.Empty(watch.Observe([Folder(5, TimeSpan.FromSeconds(5))], last));
        Assert.Empty(watch.Observe([folder], last.AddSeconds(5)));      // still being written
        Assert.Empty(watch.Observe([folder], last.AddMinutes(9)));      // quiet for 9 min only: below the floor
        var completed = Assert.Single(watch.Observe([folder], last.AddMinutes(10.1)));
        Assert.Equal("quiet-period", completed.Rule.Kind);
        Assert.Equal(600, completed.Rule.QuietSeconds);
        Assert.Equal(5, completed.Rule.MedianSliceIntervalSeconds);
        Assert.Equal(6, completed.Rule.Slices);
        Assert.Empty(watch.Observe([folder], last.AddHours(5)));
    }

    [Fact]
    public void A_slow_acquisition_waits_four_median_slice_intervals_not_the_floor()
    {
        var watch = new StackFolderWatch(Defaults);
        var folder = Folder(20, TimeSpan.FromMinutes(3));
        var seen = folder.NewestWriteUtc;
        Assert.Empty(watch.Observe([folder], seen));
        Assert.Empty(watch.Observe([folder], seen.AddMinutes(11.9)));
        var completed = Assert.Single(watch.Observe([folder], seen.AddMinutes(12)));
        Assert.Equal(12 * 60, completed.Rule.QuietSeconds);
        Assert.Contains("4 x the median 3 min between slices", completed.Rule.Description);
    }

    [Fact]
    public void One_long_pause_in_the_cadence_does_not_lengthen_the_median()
    {
        var slices = Folder(9, TimeSpan.FromMinutes(2)).Slices.Select((s, i) => i >= 5 ? s with { WriteUtc = s.WriteUtc.AddMinutes(30) } : s).ToList();
        Assert.Equal(TimeSpan.FromMinutes(2), StackFolderWatch.MedianSliceInterval(slices));
        Assert.Equal(TimeSpan.FromMinutes(10), new StackFolderWatch(Defaults).QuietPeriod(TimeSpan.FromMinutes(2)));
    }

    [Fact]
    public void An_end_marker_written_after_the_last_slice_completes_the_folder_at_the_next_poll()
    {
        var watch = new StackFolderWatch(Defaults);
        var slices = Folder(12, TimeSpan.FromMinutes(2));
        var marker = new SliceFile("run.done", 20, slices.NewestWriteUtc.AddSeconds(30));
        var folder = slices with { EndMarker = marker };
        Assert.Empty(watch.Observe([folder], marker.WriteUtc));
        var completed = Assert.Single(watch.Observe([folder], marker.WriteUtc.AddSeconds(10)));
        Assert.Equal(("end-marker", "run.done", 12), (completed.Rule.Kind, completed.Rule.EndMarker, completed.Rule.Slices));
    }

    [Fact]
    public void An_end_marker_older_than_the_newest_slice_is_not_evidence_of_the_end()
    {
        // A log file that exists from the start of the acquisition, or one of the previous run left in the folder.
        var watch = new StackFolderWatch(Defaults);
        var slices = Folder(12, TimeSpan.FromMinutes(2));
        var folder = slices with { EndMarker = new SliceFile("run.log", 20, T0) };
        Assert.Empty(watch.Observe([folder], slices.NewestWriteUtc));
        Assert.Empty(watch.Observe([folder], slices.NewestWriteUtc.AddMinutes(5)));
        Assert.Equal("quiet-period", Assert.Single(watch.Observe([folder], slices.NewestWriteUtc.AddMinutes(10))).Rule.Kind);
    }

    [Fact]
    public void A_folder_with_too_few_slices_is_not_a_stack_even_with_an_end_marker()
    {
        var watch = new StackFolderWatch(Defaults with { MinSlices = 8 });
        var folder = Folder(2, TimeSpan.FromSeconds(5)) with { EndMarker = new SliceFile("run.done", 1, T0.AddHours(1)) };
        watch.Observe([folder], T0);
        Assert.Empty(watch.Observe([folder], T0.AddHours(1)));
    }

    [Fact]
    public void A_folder_that_changes_after_it_was_reported_is_watched_again()
    {
        var watch = new StackFolderWatch(Defaults);
        var first = Folder(6, TimeSpan.FromSeconds(5));
        watch.Observe([first], T0);
        Assert.Single(watch.Observe([first], T0.AddMinutes(11)));
        var grown = Folder(9, TimeSpan.FromSeconds(5));
        Assert.Empty(watch.Observe([grown], T0.AddMinutes(12)));
        Assert.Equal(9, Assert.Single(watch.Observe([grown], T0.AddMinutes(23))).Rule.Slices);
    }

    [Fact]
    public void Scanning_reads_each_subfolders_tiffs_and_end_marker_and_changes_nothing()
    {
        using var root = new TempDirectory();
        var sample = Directory.CreateDirectory(Path.Combine(root.Path, "sample-b")).FullName;
        for (var i = 0; i < 3; i++) File.WriteAllBytes(Path.Combine(sample, $"slice_{i}.tif"), new byte[10 + i]);
        File.WriteAllText(Path.Combine(sample, "notes.txt"), "not a slice");
        File.WriteAllText(Path.Combine(sample, "Acquisition.DONE"), "end");
        var before = Directory.GetFiles(sample).Select(f => (f, File.GetLastWriteTimeUtc(f))).ToArray();

        var snapshot = Assert.Single(ShareDriveWatcher.Scan(root.Path, ["*.done"]));

        Assert.Equal((sample, 3, 33L), (snapshot.Path, snapshot.TiffCount, snapshot.TotalBytes));
        Assert.Equal("Acquisition.DONE", snapshot.EndMarker?.Name);
        Assert.Null(Assert.Single(ShareDriveWatcher.Scan(root.Path)).EndMarker);
        Assert.Equal(before, Directory.GetFiles(sample).Select(f => (f, File.GetLastWriteTimeUtc(f))).ToArray());
    }
}
