using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.Ingest.Tests;

/// <summary>
/// The watcher on a real folder written slice by slice, each file stamped with a fake clock's time, polled by hand:
/// minutes of an acquisition pass in microseconds and no test waits on the wall clock.
/// </summary>
public sealed class ShareDriveWatcherTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("ssbtomo-watcher");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
    private ServiceProvider _provider = null!;
    private ITestHarness _harness = null!;

    private string Share => Path.Combine(_dir.Path, "share");
    private string Data => Path.Combine(_dir.Path, "data");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Share);
        _provider = new ServiceCollection()
            .AddMassTransitTestHarness(bus => bus.SetTestTimeouts(testInactivityTimeout: TimeSpan.FromSeconds(1)))
            .BuildServiceProvider(true);
        _harness = _provider.GetRequiredService<ITestHarness>();
        await _harness.Start();
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        _dir.Dispose();
    }

    private ShareDriveWatcher Watcher(Action<IngestSettings>? configure = null)
    {
        var options = new SsbTomoOptions { Ingest = { WatchRoot = Share, PollSeconds = 10, MinSlices = 4 } };
        configure?.Invoke(options.Ingest);
        return new ShareDriveWatcher(Options.Create(options), new FileSystemBlobStore(Data), _harness.Bus, _clock,
            NullLogger<ShareDriveWatcher>.Instance);
    }

    private List<SubmitJob> Submitted() => [.. _harness.Published.Select<SubmitJob>().Select(m => m.Context.Message)];

    /// <summary>Writes a file as the microscope would, stamped with the fake clock's time.</summary>
    private void Write(string folder, string name, byte[] content)
    {
        var path = Path.Combine(Directory.CreateDirectory(Path.Combine(Share, folder)).FullName, name);
        File.WriteAllBytes(path, content);
        File.SetLastWriteTimeUtc(path, _clock.GetUtcNow().UtcDateTime);
    }

    private static byte[] SliceBytes(int index, int length = 64) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 31 + index))];

    /// <summary>Polls every 10 s of fake time for <paramref name="span"/>.</summary>
    private async Task PollFor(ShareDriveWatcher watcher, TimeSpan span)
    {
        for (var waited = TimeSpan.Zero; waited < span; waited += TimeSpan.FromSeconds(10))
        {
            _clock.Advance(TimeSpan.FromSeconds(10));
            await watcher.PollOnceAsync(CancellationToken.None);
        }
    }

    /// <summary>Writes slices [from, to) of <paramref name="folder"/> every <paramref name="cadence"/>, polling as the watcher would.</summary>
    private async Task Acquire(ShareDriveWatcher watcher, string folder, int from, int to, TimeSpan cadence)
    {
        for (var i = from; i < to; i++)
        {
            Write(folder, $"slice_{i:0000}.tif", SliceBytes(i));
            await PollFor(watcher, cadence);
        }
    }

    [Fact]
    public async Task A_pause_longer_than_the_old_two_minutes_but_shorter_than_four_slice_times_does_not_start_a_job()
    {
        var watcher = Watcher();
        // Three minutes per slice: the quiet period is 4 x 3 = 12 min, above the 10 min floor.
        await Acquire(watcher, "sample", 0, 10, TimeSpan.FromMinutes(3));
        await PollFor(watcher, TimeSpan.FromMinutes(8));   // auto-focus and drift correction: 11 min since the last slice
        Assert.Empty(Submitted());

        await Acquire(watcher, "sample", 10, 15, TimeSpan.FromMinutes(3));
        await PollFor(watcher, TimeSpan.FromMinutes(10));  // 13 min since the last slice
        var job = Assert.Single(Submitted());
        Assert.Equal(Path.Combine(Share, "sample"), job.SourcePath);
        Assert.Equal(("quiet-period", 15, 720.0, 180.0), (job.Acquisition!.Completion.Kind, job.Acquisition.Completion.Slices,
            job.Acquisition.Completion.QuietSeconds, job.Acquisition.Completion.MedianSliceIntervalSeconds));

        await PollFor(watcher, TimeSpan.FromHours(1));
        Assert.Single(Submitted());
    }

    [Fact]
    public async Task An_end_marker_completes_a_folder_at_the_next_poll()
    {
        var watcher = Watcher(s => s.EndMarkers = ["*.done"]);
        await Acquire(watcher, "sample", 0, 6, TimeSpan.FromMinutes(3));
        Assert.Empty(Submitted());

        Write("sample", "acquisition.done", "finished"u8.ToArray());
        await PollFor(watcher, TimeSpan.FromSeconds(20));
        var job = Assert.Single(Submitted());
        Assert.Equal(("end-marker", "acquisition.done", 6), (job.Acquisition!.Completion.Kind, job.Acquisition.Completion.EndMarker,
            job.Acquisition.Completion.Slices));
        Assert.Null(job.Acquisition.Sample);
    }

    [Fact]
    public async Task The_folder_name_gives_the_job_its_sample_and_series()
    {
        var watcher = Watcher(s => s.FolderPatterns = ["{sample}_{cycles}cyc"]);
        await Acquire(watcher, "NMC811-A_50cyc", 0, 8, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        var acquisition = Assert.Single(Submitted()).Acquisition!;
        Assert.Equal(("NMC811-A", "cycles=50", "50"), (acquisition.Sample, acquisition.Series, acquisition.FolderLabels?["cycles"]));
    }

    [Fact]
    public async Task A_folder_that_grows_after_its_job_was_submitted_is_submitted_whole_and_the_earlier_job_is_superseded()
    {
        var watcher = Watcher();
        await Acquire(watcher, "sample", 0, 10, TimeSpan.FromMinutes(2));
        await PollFor(watcher, TimeSpan.FromMinutes(15));   // a pause longer than any quiet period: the first job starts
        var first = Assert.Single(Submitted());
        Assert.Equal(10, first.Acquisition!.Completion.Slices);

        // The acquisition resumes: five more slices, and slice 3 written again (re-imaged).
        await Acquire(watcher, "sample", 10, 15, TimeSpan.FromMinutes(2));
        Write("sample", "slice_0003.tif", SliceBytes(3, length: 80));
        await PollFor(watcher, TimeSpan.FromMinutes(15));

        var jobs = Submitted();
        Assert.Equal(2, jobs.Count);
        var whole = jobs.Single(j => j.JobId != first.JobId);
        Assert.Equal((first.SourcePath, 15, first.JobId), (whole.SourcePath, whole.Acquisition!.Completion.Slices, whole.Acquisition.Supersedes));
        var superseded = Assert.Single(_harness.Published.Select<JobSuperseded>()).Context.Message;
        Assert.Equal((first.JobId, whole.JobId), (superseded.JobId, superseded.SupersededBy));
        Assert.Contains("5 slices added, 1 slice rewritten", superseded.Reason);
        Assert.Contains(whole.JobId.ToString(), superseded.Reason);

        await PollFor(Watcher(), TimeSpan.FromHours(1));    // a restarted watcher: nothing changed since the second job
        Assert.Equal(2, Submitted().Count);
    }

    [Fact]
    public async Task A_submitted_folder_that_has_not_changed_is_not_submitted_again_by_a_restarted_watcher()
    {
        var watcher = Watcher();
        await Acquire(watcher, "sample", 0, 8, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        Assert.Single(Submitted());

        await PollFor(Watcher(), TimeSpan.FromHours(2));
        await PollFor(watcher, TimeSpan.FromHours(1));
        Assert.Single(Submitted());
        Assert.Empty(_harness.Published.Select<JobSuperseded>());
    }

    /// <summary>What the Ingest stage would record for the job: the folder's files and their SHA-256 as they are now.</summary>
    private async Task WriteProvenanceAsync(SubmitJob job)
    {
        var files = new List<ProvenanceFile>();
        foreach (var file in Directory.GetFiles(job.SourcePath, "*.tif").Order(StringComparer.Ordinal))
            files.Add(await StackProvenance.HashAsync(file, CancellationToken.None));
        var provenance = new StackProvenance(job.JobId, job.SourcePath, _clock.GetUtcNow().UtcDateTime, "share-drive-watcher",
            job.Acquisition?.Completion, null, files.Count, false, 8, 8, 8, 0, [50, 50, 50], "FeiMetadata", new Dictionary<string, string>(),
            "SHA-256", files);
        await new FileSystemBlobStore(Data).WriteAsync(new JobLayout(job.JobPrefix).Provenance, provenance.ToJsonBytes());
    }

    private void Touch(string folder) =>
        Array.ForEach(Directory.GetFiles(Path.Combine(Share, folder)), f => File.SetLastWriteTimeUtc(f, _clock.GetUtcNow().UtcDateTime));

    [Fact]
    public async Task A_folder_touched_or_copied_again_with_the_same_bytes_is_not_submitted_again()
    {
        var watcher = Watcher();
        await Acquire(watcher, "sample", 0, 8, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        await WriteProvenanceAsync(Assert.Single(Submitted()));

        Touch("sample");
        await PollFor(watcher, TimeSpan.FromHours(1));
        Assert.Single(Submitted());
        Touch("sample");
        await PollFor(Watcher(), TimeSpan.FromHours(1));
        Assert.Single(Submitted());
        Assert.Empty(_harness.Published.Select<JobSuperseded>());
    }

    [Fact]
    public async Task A_slice_rewritten_with_other_bytes_of_the_same_size_is_submitted_again()
    {
        var watcher = Watcher();
        await Acquire(watcher, "sample", 0, 8, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        var first = Assert.Single(Submitted());
        await WriteProvenanceAsync(first);

        Touch("sample");
        Write("sample", "slice_0002.tif", SliceBytes(99));
        await PollFor(watcher, TimeSpan.FromMinutes(30));

        Assert.Equal(2, Submitted().Count);
        Assert.Equal(first.JobId, Submitted().Last().Acquisition?.Supersedes);
        Assert.Equal(first.JobId, Assert.Single(_harness.Published.Select<JobSuperseded>()).Context.Message.JobId);
    }

    [Fact]
    public async Task A_folder_on_the_share_that_links_elsewhere_is_not_submitted()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_dir.Path, "outside", "stack")).FullName;
        for (var i = 0; i < 4; i++)
        {
            Write("real", $"slice_{i}.tif", SliceBytes(i));
            File.WriteAllBytes(Path.Combine(outside, $"slice_{i}.tif"), SliceBytes(i));
        }
        Directory.CreateSymbolicLink(Path.Combine(Share, "escape"), outside);

        await PollFor(Watcher(s => s.QuietSeconds = 60), TimeSpan.FromMinutes(30));

        Assert.Equal([Path.Combine(Share, "real")], Submitted().Select(j => j.SourcePath));
    }
}
