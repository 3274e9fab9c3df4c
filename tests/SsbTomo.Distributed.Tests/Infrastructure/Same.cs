using System.Text.Json.Nodes;

namespace SsbTomo.Distributed.Tests.Infrastructure;

public static class Same
{
    /// <summary>Same set of blob paths, and every blob byte-identical; names the first few that differ.</summary>
    public static void Blobs(IReadOnlyDictionary<string, byte[]> expected, IReadOnlyDictionary<string, byte[]> actual, string what)
    {
        Assert.True(expected.Count > 0, $"{what}: the reference has no blobs");
        var missing = expected.Keys.Except(actual.Keys).ToList();
        var extra = actual.Keys.Except(expected.Keys).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{what}: missing [{string.Join(", ", missing.Take(10))}], unexpected [{string.Join(", ", extra.Take(10))}]");
        var different = expected.Where(e => !e.Value.AsSpan().SequenceEqual(actual[e.Key])).Select(e => e.Key).ToList();
        Assert.True(different.Count == 0,
            $"{what}: {different.Count} of {expected.Count} blobs differ: {string.Join(", ", different.Take(10))}");
    }

    /// <summary>The same JSON document: every number and string equal.</summary>
    public static void Json(byte[] expected, byte[] actual, string what)
    {
        var a = JsonNode.Parse(expected);
        var b = JsonNode.Parse(actual);
        Assert.True(JsonNode.DeepEquals(a, b), $"{what} differs:{Environment.NewLine}expected {a?.ToJsonString()}{Environment.NewLine}actual   {b?.ToJsonString()}");
    }

    public static int ChunkCount(IReadOnlyDictionary<string, byte[]> blobs) =>
        blobs.Keys.Count(k => !Path.GetFileName(k).StartsWith('.'));
}
