using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Storage;

namespace SsbTomo.Ingest;

/// <summary>One source file as the job read it; <c>Sha256</c> is lower-case hex, as sha256sum prints it.</summary>
public sealed record ProvenanceFile(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("modified_utc")] DateTime ModifiedUtc,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>
/// provenance.json: where a job's stack came from and exactly which bytes it was (SHA-256 of every source file), what
/// the instrument said about it, and why the folder counted as complete. Written by the Ingest stage before it reads a
/// pixel, so that the record exists however the job ends.
/// </summary>
public sealed record StackProvenance(
    [property: JsonPropertyName("job_id")] Guid JobId,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("ingested_utc")] DateTime IngestedUtc,
    [property: JsonPropertyName("submitted_by")] string SubmittedBy,
    [property: JsonPropertyName("completion")] CompletionRule? Completion,
    [property: JsonPropertyName("supersedes")] Guid? Supersedes,
    [property: JsonPropertyName("slices")] int Slices,
    [property: JsonPropertyName("multi_page")] bool MultiPage,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("bits_per_sample")] int BitsPerSample,
    [property: JsonPropertyName("data_bar_rows")] int DataBarRows,
    [property: JsonPropertyName("voxel_size_nm")] double[] VoxelSizeNm,
    [property: JsonPropertyName("voxel_size_source")] string VoxelSizeSource,
    [property: JsonPropertyName("instrument")] IReadOnlyDictionary<string, string> Instrument,
    [property: JsonPropertyName("hash_algorithm")] string HashAlgorithm,
    [property: JsonPropertyName("files")] IReadOnlyList<ProvenanceFile> Files)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    [JsonPropertyName("sample")]
    public string? Sample { get; init; }

    [JsonPropertyName("series")]
    public string? Series { get; init; }

    [JsonPropertyName("folder_labels")]
    public IReadOnlyDictionary<string, string>? FolderLabels { get; init; }

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static StackProvenance? FromJson(byte[] json) => JsonSerializer.Deserialize<StackProvenance>(json, Json);

    public static async Task<StackProvenance> DescribeAsync(IngestStack message, TiffStackInfo stack, VoxelSize voxelSize, DateTime nowUtc,
        CancellationToken ct)
    {
        // The files are hashed side by side, each into its own place in the list: one after another they kept one core
        // busy for the first ~3 s of a 1-Gvoxel ingest (320 files, 2 GB), before any slice was read.
        var files = new ProvenanceFile[stack.Files.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Length),
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct },
            async (i, token) => files[i] = await HashAsync(stack.Files[i], token));
        return new StackProvenance(message.JobId, message.SourcePath, nowUtc,
            message.Acquisition is null ? "api-or-cli" : "share-drive-watcher",
            message.Acquisition?.Completion, message.Acquisition?.Supersedes,
            stack.SliceCount, stack.IsMultiPage, stack.Width, stack.Height, stack.BitsPerSample, stack.DataBarRows,
            [voxelSize.XNm, voxelSize.YNm, voxelSize.ZNm],
            message.VoxelSizeOverride is null ? stack.VoxelSizeSource.ToString() : "override",
            stack.InstrumentMetadata ?? new Dictionary<string, string>(), "SHA-256", files)
        {
            Sample = message.Acquisition?.Sample,
            Series = message.Acquisition?.Series,
            FolderLabels = message.Acquisition?.FolderLabels,
        };
    }

    /// <summary>
    /// Streams the file through SHA-256, opened for reading only and sharing it with any writer (the microscope may still
    /// hold it open), and fails the job if the file changed while it was read.
    /// </summary>
    public static async Task<ProvenanceFile> HashAsync(string file, CancellationToken ct)
    {
        var name = Path.GetFileName(file);
        var before = new FileInfo(file);
        byte[] hash;
        try
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
            hash = await SHA256.HashDataAsync(stream, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"{name}: cannot be read to checksum it: {e.Message}", e,
                $"Check that {name} exists and that SsbTomo may read it, then submit the stack again.");
        }
        var after = new FileInfo(file);
        if (after.Length != before.Length || after.LastWriteTimeUtc != before.LastWriteTimeUtc)
            throw ChangedWhileRead(name);
        return new ProvenanceFile(name, after.Length, after.LastWriteTimeUtc, Convert.ToHexStringLower(hash));
    }

    /// <summary>Fails the job if a file is no longer as it was checksummed: the stack read would not be the stack recorded.</summary>
    public void CheckUnchanged(string sourcePath)
    {
        var folder = MultiPage ? Path.GetDirectoryName(sourcePath)! : sourcePath;
        foreach (var file in Files)
        {
            var now = new FileInfo(Path.Combine(folder, file.Name));
            if (!now.Exists || now.Length != file.Bytes || now.LastWriteTimeUtc != file.ModifiedUtc)
                throw ChangedWhileRead(file.Name);
        }
    }

    private static InvalidInputException ChangedWhileRead(string name) =>
        new($"{name}: the file changed while the job was reading it (the acquisition or a copy may still be running)",
            advice: "Wait until the acquisition or copy has finished, then submit the stack again; the share-drive watcher does this by itself once the folder is complete.");
}
