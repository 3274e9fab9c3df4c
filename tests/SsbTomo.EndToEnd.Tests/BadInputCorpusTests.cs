using System.Buffers.Binary;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using BitMiracle.LibTiff.Classic;
using SsbTomo.Cli;
using SsbTomo.Imaging;
using SsbTomo.Orchestrator;
using SsbTomo.Phantom;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// Issue 8 item 6: a corpus of generated bad stacks dropped on the watched share together with one good acquisition.
/// Each bad folder is a few valid 64x72 slices and one defective file whose name is unique to its case, so the
/// reason of the failed job must name that file (for a missing slice number, the file after the gap). A one-slice
/// folder submitted through the API is tolerated and completes. The good acquisition carries the clutter a share drive really has
/// (a macOS "._" resource fork, a half-copied ".partial" file, a text note), which is tolerated: it must complete.
/// </summary>
public class BadInputCorpusTests
{
    // Nine slices (eight when one is missing): the watcher takes a folder of fewer than eight (SsbTomo:Ingest:MinSlices) for one still being started.
    private const int Width = 64, Height = 72, Slices = 9, Defective = 2;
    private static void Good(string path) => TiffSliceWriter.Write(path, Bytes(Width, Height, 3), Voxel);
    private static readonly VoxelSize Voxel = VoxelSize.Isotropic(50);

    /// <param name="DefectFile">Where the defect goes, "{0}" the folder's name; by default in place of slice 2.</param>
    /// <param name="Named">The file the reason must name; by default the defect.</param>
    private sealed record Case(string Name, Action<string> WriteDefect, string Expect, string DefectFile = "{0}_0002.tif", string? Named = null);

    private static Image2D<byte> Bytes(int width, int height, int seed)
    {
        var image = new Image2D<byte>(height, width);
        for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (byte)((i * 7 + seed) % 251);
        return image;
    }

    private static Image2D<ushort> Words(int width, int height, int seed)
    {
        var image = new Image2D<ushort>(height, width);
        for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (ushort)((i * 131 + seed) % 60_000);
        return image;
    }

    /// <summary>A one-page strip TIFF of any layout LibTiff writes, with resolution tags (pixel size present).</summary>
    private static void Raw(string path, int width, int height, int bits, int samples, Photometric photometric,
        SampleFormat format = SampleFormat.UINT, Action<Tiff>? more = null, bool tiled = false)
    {
        using var tiff = Tiff.Open(path, "w");
        tiff.SetField(TiffTag.IMAGEWIDTH, width);
        tiff.SetField(TiffTag.IMAGELENGTH, height);
        tiff.SetField(TiffTag.BITSPERSAMPLE, bits);
        tiff.SetField(TiffTag.SAMPLESPERPIXEL, samples);
        tiff.SetField(TiffTag.SAMPLEFORMAT, format);
        tiff.SetField(TiffTag.PHOTOMETRIC, photometric);
        tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tiff.SetField(TiffTag.XRESOLUTION, 2e5);
        tiff.SetField(TiffTag.YRESOLUTION, 2e5);
        tiff.SetField(TiffTag.RESOLUTIONUNIT, ResUnit.CENTIMETER);
        more?.Invoke(tiff);
        var rowBytes = (width * bits * samples + 7) / 8;
        if (tiled)
        {
            tiff.SetField(TiffTag.TILEWIDTH, 16);
            tiff.SetField(TiffTag.TILELENGTH, 16);
            var tile = new byte[tiff.TileSize()];
            for (var t = 0; t < tiff.NumberOfTiles(); t++) tiff.WriteEncodedTile(t, tile, tile.Length);
            return;
        }
        tiff.SetField(TiffTag.ROWSPERSTRIP, height);
        var row = new byte[rowBytes];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < row.Length; x++) row[x] = (byte)(x + y);
            tiff.WriteScanline(row, y);
        }
    }

    /// <summary>Sets a one-value tag of a little-endian classic TIFF's first directory, as a damaged or hostile file would.</summary>
    private static void Patch(string path, TiffTag tag, uint value)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal((byte)'I', bytes[0]);
        var ifd = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(ifd));
        for (var i = 0; i < count; i++)
        {
            var entry = bytes.AsSpan(ifd + 2 + i * 12, 12);
            if (BinaryPrimitives.ReadUInt16LittleEndian(entry) != (ushort)tag) continue;
            Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]));
            var type = BinaryPrimitives.ReadUInt16LittleEndian(entry[2..]);
            if (type == 3 && value <= ushort.MaxValue) BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], (ushort)value);
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(entry[2..], 4);
                BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], value);
            }
            File.WriteAllBytes(path, bytes);
            return;
        }
        Assert.Fail($"{Path.GetFileName(path)} has no tag {tag}");
    }

    private static void PatchedGood(string path, TiffTag tag, uint value)
    {
        Good(path);
        Patch(path, tag, value);
    }

    /// <summary>A valid slice beside the share (not in it), for a link in the share to point at.</summary>
    private static string Outside(string slice)
    {
        var share = Path.GetDirectoryName(Path.GetDirectoryName(slice))!;
        var outside = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(share)!, "outside")).FullName;
        var target = Path.Combine(outside, Path.GetFileName(slice));
        Good(target);
        return target;
    }

    private static void Cut(string path, Func<int, int> keep)
    {
        Good(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..keep(bytes.Length)]);
    }

    private static IReadOnlyList<Case> Corpus() =>
    [
        new("zero-byte", p => File.WriteAllBytes(p, []), "empty"),
        new("truncated-to-a-third", p => Cut(p, n => n / 3), ""),
        new("truncated-header-only", p => Cut(p, _ => 8), ""),
        new("truncated-tail", p => Cut(p, n => n - 200), ""),
        new("four-byte-magic-only", p => File.WriteAllBytes(p, "II*\0"u8.ToArray()), ""),
        new("text-not-tiff", p => File.WriteAllText(p, "this is a note, not an image\n"), "not a readable TIFF"),
        new("png-not-tiff", p => File.WriteAllBytes(p, [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, .. new byte[200]]), "not a readable TIFF"),
        new("random-bytes", p => File.WriteAllBytes(p, [(byte)'x', .. RandomNumberGenerator.GetBytes(5000)]), "not a readable TIFF"),
        new("rgb", p => Raw(p, Width, Height, 8, 3, Photometric.RGB), "colour"),
        new("grey-alpha", p => Raw(p, Width, Height, 8, 2, Photometric.MINISBLACK, more: t => t.SetField(TiffTag.EXTRASAMPLES, 1, new short[] { 2 })), "samples per pixel"),
        new("palette", p => Raw(p, Width, Height, 8, 1, Photometric.PALETTE,
            more: t => t.SetField(TiffTag.COLORMAP, new short[256], new short[256], new short[256])), "palette"),
        new("float32", p => Raw(p, Width, Height, 32, 1, Photometric.MINISBLACK, SampleFormat.IEEEFP), "floating-point"),
        new("signed16", p => Raw(p, Width, Height, 16, 1, Photometric.MINISBLACK, SampleFormat.INT), "signed"),
        new("uint32", p => Raw(p, Width, Height, 32, 1, Photometric.MINISBLACK), "32-bit"),
        new("bilevel", p => Raw(p, Width, Height, 1, 1, Photometric.MINISBLACK), "1-bit"),
        new("16bit-among-8bit", p => TiffSliceWriter.Write(p, Words(Width, Height, 1), Voxel), "16-bit, expected 8-bit"),
        new("wider-than-the-rest", p => TiffSliceWriter.Write(p, Bytes(Width + 16, Height, 1), Voxel), "expected 64x72"),
        new("shorter-than-the-rest", p => TiffSliceWriter.Write(p, Bytes(Width, Height - 8, 1), Voxel), "expected 64x72"),
        new("width-zero", p => PatchedGood(p, TiffTag.IMAGEWIDTH, 0), ""),
        new("height-zero", p => PatchedGood(p, TiffTag.IMAGELENGTH, 0), ""),
        new("absurd-width", p => PatchedGood(p, TiffTag.IMAGEWIDTH, 4_000_000_000), ""),
        new("absurd-height", p => PatchedGood(p, TiffTag.IMAGELENGTH, 2_000_000), ""),
        new("huge-declared-tiny-data", p => { PatchedGood(p, TiffTag.IMAGEWIDTH, 60_000); Patch(p, TiffTag.IMAGELENGTH, 60_000); }, ""),
        new("strip-beyond-end", p => PatchedGood(p, TiffTag.STRIPOFFSETS, 50_000_000), ""),
        new("bits-per-sample-12", p => PatchedGood(p, TiffTag.BITSPERSAMPLE, 12), ""),
        new("unsupported-compression", p => PatchedGood(p, TiffTag.COMPRESSION, 34712), ""),
        new("unknown-photometric", p => PatchedGood(p, TiffTag.PHOTOMETRIC, 9), ""),
        new("first-directory-beyond-end", p =>
        {
            Good(p);
            var bytes = File.ReadAllBytes(p);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 90_000_000);
            File.WriteAllBytes(p, bytes);
        }, ""),
        new("tiled", p => Raw(p, Width, Height, 8, 1, Photometric.MINISBLACK, tiled: true), "tiled"),
        new("duplicate-slice-number", Good, "both carry slice number 1", DefectFile: "{0}_01.tif"),
        new("missing-slice-number", _ => { }, "slice(s) are missing", Named: "{0}_0003.tif"),
        new("link-to-a-file-outside-the-share", p => File.CreateSymbolicLink(p, Outside(p)), "is a link to a file outside the stack folder"),
        new("multi-page-among-single-pages", p => TiffSliceWriter.WriteMultiPage(p, [Bytes(Width, Height, 1), Bytes(Width, Height, 2)], Voxel), "has 2 pages, expected one slice per file"),
    ];

    [Fact]
    public async Task A_corpus_of_bad_stacks_fails_each_job_naming_its_file_while_a_good_acquisition_dropped_with_them_completes()
    {
        using var dir = new TempDirectory("ssbtomo-badinput");
        var share = Path.Combine(dir.Path, "share");
        var data = Path.Combine(dir.Path, "data");
        var corpus = Corpus();
        Assert.True(corpus.Count >= 30, $"{corpus.Count} cases");
        var defects = new Dictionary<string, Case>(StringComparer.Ordinal);
        for (var c = 0; c < corpus.Count; c++)
        {
            var name = $"c{c:00}-{corpus[c].Name}";
            var folder = Directory.CreateDirectory(Path.Combine(share, name)).FullName;
            for (var z = 0; z < Slices; z++)
                if (z != Defective) TiffSliceWriter.Write(Path.Combine(folder, $"{name}_{z:0000}.tif"), Bytes(Width, Height, z), Voxel);
            corpus[c].WriteDefect(Path.Combine(folder, string.Format(CultureInfo.InvariantCulture, corpus[c].DefectFile, name)));
            defects[string.Format(CultureInfo.InvariantCulture, corpus[c].Named ?? corpus[c].DefectFile, name)] = corpus[c];
        }
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 16, 96, 112, 50, Seed: 8), share);
        var good = Path.Combine(share, "stack");
        // Share-drive clutter beside the slices: not slices, so ignored.
        File.WriteAllBytes(Path.Combine(good, "._slice_0003.tif"), RandomNumberGenerator.GetBytes(4096));
        File.WriteAllBytes(Path.Combine(good, "slice_0099.tif.partial"), RandomNumberGenerator.GetBytes(100));
        File.WriteAllText(Path.Combine(good, "notes.txt"), "acquired overnight");
        var single = Directory.CreateDirectory(Path.Combine(share, "single-slice")).FullName;
        TiffSliceWriter.Write(Path.Combine(single, "single-slice_0000.tif"), Bytes(Width, Height, 0), Voxel);
        var before = Hashes(share);

        await using var app = EmbeddedPipeline.BuildServer(data, share, chunkSlices: 8, urls: "http://127.0.0.1:0", quietSeconds: 1, pollSeconds: 1);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        // One slice: the watcher waits for more (fewer than MinSlices), so an operator submits it through the API.
        var posted = await http.PostAsJsonAsync("/api/jobs", new { sourcePath = single, voxelSizeNm = (object?)null });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, posted.StatusCode);
        var singleId = (await posted.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("jobId").GetGuid();
        var expected = corpus.Count + 2;
        var deadline = DateTime.UtcNow.AddSeconds(150);
        JobsApi.JobView[] jobs = [];
        while (DateTime.UtcNow < deadline)
        {
            jobs = (await http.GetFromJsonAsync<JobsApi.JobView[]>("/api/jobs"))!;
            if (jobs.Length >= expected && jobs.All(j => j.State is "Completed" or "Failed")) break;
            await Task.Delay(250);
        }
        // The watcher goes on after the corpus: an acquisition that lands now is processed too.
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 16, 96, 112, 50, Seed: 9), Path.Combine(dir.Path, "later"));
        Directory.Move(Path.Combine(dir.Path, "later", "stack"), Path.Combine(dir.Path, "share-later"));
        Directory.Move(Path.Combine(dir.Path, "share-later"), Path.Combine(share, "later"));
        var later = jobs;
        deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            later = (await http.GetFromJsonAsync<JobsApi.JobView[]>("/api/jobs"))!;
            if (later.Length > expected && later.All(j => j.State is "Completed" or "Failed")) break;
            await Task.Delay(250);
        }
        await app.StopAsync();

        var summary = string.Join("\n", jobs.Select(j => $"{j.State}: {j.Reason}"));
        Assert.True(jobs.Length == expected && jobs.All(j => j.State is "Completed" or "Failed"),
            $"within 150 s {jobs.Length} of {expected} jobs, not all finished:\n{summary}");
        var failed = jobs.Where(j => j.State == "Failed" && j.JobId != singleId).ToList();
        foreach (var (file, defect) in defects)
        {
            var job = failed.SingleOrDefault(j => j.Reason?.Contains(file, StringComparison.Ordinal) == true);
            Assert.True(job is not null, $"{defect.Name}: no failed job whose reason names {file}:\n{summary}");
            Assert.True(ReadableReason.Offenders(job.Reason).Count == 0, $"{defect.Name}: unreadable reason: {job.Reason}");
            Assert.StartsWith("Ingest failed: ", job.Reason);
            Assert.Contains(defect.Expect, job.Reason);
            Assert.Equal("ingest", job.FailedStage);
        }
        // Tolerated: one slice is a 2-D image the stages process as a stack of one (area fractions instead of volume
        // fractions); only an explicit submission runs it, as the watcher never takes a folder that small.
        var singleJob = jobs.Single(j => j.JobId == singleId);
        Assert.True(singleJob.State == "Completed", $"one slice: {singleJob.State} {singleJob.Reason}");
        Assert.True(File.Exists(Path.Combine(data, "jobs", singleId.ToString(), "metrics.json")));
        var completed = Assert.Single(jobs, j => j.State == "Completed" && j.JobId != singleId);
        Assert.True(File.Exists(Path.Combine(data, "jobs", completed.JobId.ToString(), "metrics.json")));
        var late = Assert.Single(later, j => jobs.All(earlier => earlier.JobId != j.JobId));
        Assert.True(late.State == "Completed", $"the acquisition dropped after the corpus: {late.State} {late.Reason}");
        var after = Hashes(share);
        foreach (var added in after.Keys.Where(k => k.StartsWith("later" + Path.DirectorySeparatorChar, StringComparison.Ordinal)).ToList())
            after.Remove(added);
        Assert.Equal(before, after);
    }

    private static SortedDictionary<string, string> Hashes(string root) =>
        new(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))), StringComparer.Ordinal);
}
