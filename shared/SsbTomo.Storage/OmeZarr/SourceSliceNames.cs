using System.Text.Json.Nodes;

namespace SsbTomo.Storage;

/// <summary>
/// Where each slice of an ingested image came from ("slice_0037.tif", "stack.tif page 38"), kept in the image's
/// .zattrs so that later stages can name the file a facility user knows when they report on a slice.
/// </summary>
public static class SourceSliceNames
{
    public const string AttributeKey = "ssbtomo_source_slices";

    /// <summary>The names of a stack's slices: file names of a folder stack, "file page n" (1-based) of a multi-page file.</summary>
    public static string[] Of(IReadOnlyList<string> files, bool multiPage, int slices) =>
        multiPage
            ? [.. Enumerable.Range(1, slices).Select(page => $"{Path.GetFileName(files[0])} page {page}")]
            : [.. files.Select(Path.GetFileName).Select(name => name!)];

    public static Task WriteAsync(IBlobStore store, string imagePath, IReadOnlyList<string> names, CancellationToken ct = default) =>
        OmeZarr.MergeAttributesAsync(store, imagePath,
            new Dictionary<string, JsonNode?> { [AttributeKey] = new JsonArray([.. names.Select(n => (JsonNode?)JsonValue.Create(n))]) }, ct);

    /// <summary>The stored names, or null when the image has none for exactly <paramref name="slices"/> slices.</summary>
    public static async Task<string[]?> ReadAsync(IBlobStore store, string imagePath, int slices, CancellationToken ct = default)
    {
        var attributes = await OmeZarr.ReadAttributesAsync(store, imagePath, ct).ConfigureAwait(false);
        if (attributes[AttributeKey] is not JsonArray array || array.Count != slices) return null;
        var names = new string[slices];
        for (var z = 0; z < slices; z++)
        {
            if (array[z] is not JsonValue value || !value.TryGetValue<string>(out var name)) return null;
            names[z] = name;
        }
        return names;
    }
}
