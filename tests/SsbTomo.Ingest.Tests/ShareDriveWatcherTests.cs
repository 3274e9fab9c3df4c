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

    private ShareDriveWatcher Watcher(Action<IngestSettings>? configure = null, IBlobStore? store = null)
    {
        var options = new SsbTomoOptions { Ingest = { WatchRoot = Share, PollSeconds = 10, MinSlices = 4 } };
        configure?.Invoke(options.Ingest);
        return new ShareDriveWatcher(Options.Create(options), store ?? new FileSystemBlobStore(Data), _harness.Bus, _clock,
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
        // The configured registration crop is fixed in the job, so that every alignment worker registers its chunks alike.
        Assert.Equal(new SsbTomoOptions().RegistrationCropPx, job.RegistrationCropPx);
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
        await WriteProvenanceAsync(first);

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
    /// <param name="slices">How many of the folder's slices the job read, the first ones; all by default.</param>
    private async Task WriteProvenanceAsync(SubmitJob job, int? slices = null)
    {
        var files = new List<ProvenanceFile>();
        foreach (var file in Directory.GetFiles(job.SourcePath, "*.tif").Order(StringComparer.Ordinal).Take(slices ?? int.MaxValue))
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

    [Fact]
    public async Task Slices_that_land_before_the_first_job_reads_the_folder_start_no_second_job()
    {
        var watcher = Watcher();
        await Acquire(watcher, "sample", 0, 10, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        var first = Assert.Single(Submitted());

        // Two late slices land while the job waits in the queue; the folder completes again before the job is ingested.
        await Acquire(watcher, "sample", 10, 12, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(30));
        Assert.Single(Submitted());

        await WriteProvenanceAsync(first);                 // the Ingest stage read all twelve
        await PollFor(watcher, TimeSpan.FromMinutes(1));
        await PollFor(Watcher(), TimeSpan.FromMinutes(30));
        Assert.Single(Submitted());
        Assert.Empty(_harness.Published.Select<JobSuperseded>());
        var marker = await SubmittedFolder.ReadAsync(new FileSystemBlobStore(Data), first.SourcePath, CancellationToken.None);
        Assert.Equal((first.JobId, 12), (marker!.JobId, marker.Slices!.Count));
    }

    [Fact]
    public async Task Slices_that_land_after_the_first_job_read_the_folder_start_a_follow_up_once_its_provenance_says_so()
    {
        var watcher = Watcher();
        await Acquire(watcher, "sample", 0, 10, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        var first = Assert.Single(Submitted());

        await Acquire(watcher, "sample", 10, 13, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(30));
        Assert.Single(Submitted());                        // complete again, but the first job's reading is not known yet

        await WriteProvenanceAsync(first, slices: 10);     // the Ingest stage had read the ten before the others landed
        await PollFor(watcher, TimeSpan.FromSeconds(10));
        Assert.Equal(2, Submitted().Count);
        Assert.Equal((first.JobId, 13), (Submitted().Last().Acquisition!.Supersedes, Submitted().Last().Acquisition!.Completion.Slices));
        Assert.Contains("(3 slices added)", Assert.Single(_harness.Published.Select<JobSuperseded>()).Context.Message.Reason);
    }

    [Fact]
    public async Task A_grown_folder_whose_first_job_never_records_what_it_read_is_submitted_whole_after_the_provenance_wait()
    {
        var watcher = Watcher(s => s.ProvenanceWaitSeconds = 1800);
        await Acquire(watcher, "sample", 0, 10, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        var first = Assert.Single(Submitted());

        await Acquire(watcher, "sample", 10, 12, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(10) + TimeSpan.FromMinutes(25));   // complete at 10 min, then 25 of the 30 min wait
        Assert.Single(Submitted());

        await PollFor(watcher, TimeSpan.FromMinutes(6));
        Assert.Equal(2, Submitted().Count);
        Assert.Equal(first.JobId, Submitted().Last().Acquisition!.Supersedes);
    }

    [Fact]
    public async Task A_slice_that_disappears_while_the_watcher_hashes_it_neither_stops_the_watcher_nor_starts_a_job_on_the_old_listing()
    {
        var store = new HookedBlobStore(new FileSystemBlobStore(Data));
        var watcher = Watcher(store: store);
        await Acquire(watcher, "sample", 0, 8, TimeSpan.FromMinutes(1));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        var first = Assert.Single(Submitted());
        await WriteProvenanceAsync(first);

        // Copied again with the same bytes; while the watcher compares it with the job's provenance.json, a slice is deleted.
        Touch("sample");
        var provenanceKey = new JobLayout(first.JobPrefix).Provenance;
        store.OnRead = key =>
        {
            if (key != provenanceKey) return null;
            File.Delete(Path.Combine(Share, "sample", "slice_0005.tif"));
            store.OnRead = null;
            return null;
        };
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        Assert.Null(store.OnRead);
        Assert.Single(Submitted());

        await PollFor(watcher, TimeSpan.FromMinutes(11));
        Assert.Equal(2, Submitted().Count);
        Assert.Equal(7, Submitted().Last().Acquisition!.Completion.Slices);
        Assert.Contains("1 slice removed", Assert.Single(_harness.Published.Select<JobSuperseded>()).Context.Message.Reason);
    }

    /// <summary>Writes slices [0, count) of each folder together, as a copy from another machine would.</summary>
    private void WriteFolders(int count, params string[] folders)
    {
        foreach (var folder in folders)
            for (var i = 0; i < count; i++)
                Write(folder, $"slice_{i:0000}.tif", SliceBytes(i));
    }

    private string[] SubmittedFolders() => [.. Submitted().Select(j => Path.GetFileName(j.SourcePath)).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_store_that_fails_on_one_folder_delays_only_that_folder_and_the_watcher_goes_on()
    {
        var failing = Path.Combine(Share, "a");
        var store = new HookedBlobStore(new FileSystemBlobStore(Data))
        {
            OnRead = key => key == SubmittedFolder.Key(failing) ? throw new HttpRequestException("injected: store unreachable") : null,
        };
        var watcher = Watcher(store: store);
        WriteFolders(8, "a", "b");

        await PollFor(watcher, TimeSpan.FromMinutes(11));
        Assert.Equal(["b"], SubmittedFolders());

        store.OnRead = null;
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        Assert.Equal(["a", "b"], SubmittedFolders());
        await PollFor(Watcher(), TimeSpan.FromHours(1));
        Assert.Equal(2, Submitted().Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_marker_write_that_fails_is_retried_at_the_next_poll_and_each_folder_runs_once(bool faultedWriteLands)
    {
        var store = new FaultAfterWritesBlobStore(new FileSystemBlobStore(Data), writesBeforeFault: 0, faultedWriteLands);
        var watcher = Watcher(store: store);
        WriteFolders(8, "a", "b");

        await PollFor(watcher, TimeSpan.FromMinutes(11));
        Assert.NotNull(store.FaultedKey);
        Assert.Equal(["a", "b"], SubmittedFolders());
        // The job that runs is the one the marker names, also when the marker landed although its write was reported failed.
        foreach (var job in Submitted())
            Assert.Equal(job.JobId, (await SubmittedFolder.ReadAsync(new FileSystemBlobStore(Data), job.SourcePath, CancellationToken.None))!.JobId);

        await PollFor(watcher, TimeSpan.FromHours(1));
        await PollFor(Watcher(), TimeSpan.FromHours(1));
        Assert.Equal(2, Submitted().Count);
    }

    [Fact]
    public async Task A_folder_that_grows_after_its_marker_landed_but_its_job_was_never_sent_runs_once_and_supersedes_nothing()
    {
        var store = new FaultAfterWritesBlobStore(new FileSystemBlobStore(Data), writesBeforeFault: 0, faultedWriteLands: true);
        var watcher = Watcher(store: store);
        await Acquire(watcher, "sample", 0, 8, TimeSpan.FromMinutes(1));
        // The poll that completes the folder writes the marker, told that it failed; the job is not sent.
        for (var polls = 0; store.FaultedKey is null; polls++)
        {
            Assert.True(polls < 100, "the folder never completed");
            await PollFor(watcher, TimeSpan.FromSeconds(10));
        }
        Assert.Empty(Submitted());

        Write("sample", "slice_0008.tif", SliceBytes(8));   // the acquisition goes on before the next poll
        await PollFor(watcher, TimeSpan.FromMinutes(30));

        var job = Assert.Single(Submitted());
        Assert.Equal((9, (Guid?)null), (job.Acquisition!.Completion.Slices, job.Acquisition.Supersedes));
        Assert.Empty(_harness.Published.Select<JobSuperseded>());
        Assert.Equal(job.JobId, (await SubmittedFolder.ReadAsync(new FileSystemBlobStore(Data), job.SourcePath, CancellationToken.None))!.JobId);
    }

    [Fact]
    public async Task A_folder_that_vanishes_during_a_scan_does_not_stop_the_scan_and_is_taken_up_when_it_is_back()
    {
        WriteFolders(8, "a", "b");
        string? vanished = null;
        var store = new HookedBlobStore(new FileSystemBlobStore(Data));
        // While the watcher reads the marker of the first folder it lists, the other one is moved away: the scan has
        // listed it already and finds it gone when it reads it.
        store.OnRead = key =>
        {
            vanished ??= new[] { "a", "b" }.Single(f => SubmittedFolder.Key(Path.Combine(Share, f)) != key);
            if (Directory.Exists(Path.Combine(Share, vanished)))
                Directory.Move(Path.Combine(Share, vanished), Path.Combine(_dir.Path, "moved-away"));
            store.OnRead = null;
            return null;
        };
        var watcher = Watcher(store: store);

        await PollFor(watcher, TimeSpan.FromMinutes(11));
        var stayed = vanished == "a" ? "b" : "a";
        Assert.Equal([stayed], SubmittedFolders());

        Directory.Move(Path.Combine(_dir.Path, "moved-away"), Path.Combine(Share, vanished!));
        await PollFor(watcher, TimeSpan.FromMinutes(11));
        Assert.Equal(["a", "b"], SubmittedFolders());
    }
}

/// <summary>A store whose reads a test can intercept: <c>OnRead</c> may throw, or return null to let the read through.</summary>
internal sealed class HookedBlobStore(IBlobStore inner) : IBlobStore
{
    public Func<string, byte[]?>? OnRead { get; set; }

    public Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default) => inner.WriteAsync(key, content, ct);

    public Task<byte[]?> ReadAsync(string key, CancellationToken ct = default) =>
        OnRead?.Invoke(key) is { } bytes ? Task.FromResult<byte[]?>(bytes) : inner.ReadAsync(key, ct);

    public Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default) => inner.ReadContentAsync(key, ct);

    public Task<bool> ExistsAsync(string key, CancellationToken ct = default) => inner.ExistsAsync(key, ct);

    public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);

    public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
}
