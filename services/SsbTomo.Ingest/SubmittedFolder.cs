using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SsbTomo.Storage;

namespace SsbTomo.Ingest;

/// <summary>
/// The watcher's record of the last job it submitted for a folder and of the folder's files as they were then, kept
/// as a blob so that a restarted watcher knows it. A folder whose files still match is not submitted again; one
/// whose files differ (slices added, rewritten or removed) is an acquisition that went on after its job started.
/// </summary>
/// <param name="Slices">Null in a marker written before the watcher kept the file set: such a folder is never submitted again.</param>
public sealed record SubmittedFolder(string Folder, Guid JobId, DateTime SubmittedUtc, IReadOnlyList<SliceFile>? Slices)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Earlier jobs of the folder, oldest first, each superseded by the next.</summary>
    public IReadOnlyList<Guid> EarlierJobs { get; init; } = [];

    public static string Key(string folder) => $"watch/submitted/{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(folder)))[..32]}";

    public bool Covers(StackFolderSnapshot folder) => Slices is null || Slices.SequenceEqual(folder.Slices);

    /// <summary>What changed since the job, in words: "5 slices added, 1 rewritten".</summary>
    public string DescribeChange(StackFolderSnapshot folder)
    {
        var before = (Slices ?? []).ToDictionary(s => s.Name, StringComparer.Ordinal);
        var now = folder.Slices.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var added = now.Keys.Count(n => !before.ContainsKey(n));
        var removed = before.Keys.Count(n => !now.ContainsKey(n));
        var rewritten = now.Count(n => before.TryGetValue(n.Key, out var old) && old != n.Value);
        var parts = new List<string>();
        if (added > 0) parts.Add($"{added} {Noun(added)} added");
        if (rewritten > 0) parts.Add($"{rewritten} {Noun(rewritten)} rewritten");
        if (removed > 0) parts.Add($"{removed} {Noun(removed)} removed");
        return parts.Count == 0 ? "its files' write times changed" : string.Join(", ", parts);

        static string Noun(int n) => n == 1 ? "slice" : "slices";
    }

    public static async Task<SubmittedFolder?> ReadAsync(IBlobStore store, string folder, CancellationToken ct)
    {
        var bytes = await store.ReadAsync(Key(folder), ct);
        if (bytes is null) return null;
        try
        {
            return JsonSerializer.Deserialize<SubmittedFolder>(bytes, Json);
        }
        catch (JsonException)
        {
            // The first markers were two lines, the folder and the job id.
            var lines = Encoding.UTF8.GetString(bytes).Split('\n');
            return new SubmittedFolder(folder, lines.Length > 1 && Guid.TryParse(lines[1], out var id) ? id : Guid.Empty, DateTime.MinValue, null);
        }
    }

    public Task WriteAsync(IBlobStore store, CancellationToken ct) =>
        store.WriteAsync(Key(Folder), JsonSerializer.SerializeToUtf8Bytes(this, Json), ct);
}
