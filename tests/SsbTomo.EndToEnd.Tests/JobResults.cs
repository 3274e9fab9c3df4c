using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Hosting;
using SsbTomo.Phantom;
using SsbTomo.Storage;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>What a fault sweep compares between a clean run and a disturbed one: the labels and the metrics, byte for byte.</summary>
internal static class JobResults
{
    /// <summary>24x96x112 pristine phantom: three slabs of 8 slices, small enough to run the job once per fault position.</summary>
    public static async Task<string> WriteSmallPhantomAsync(string directory)
    {
        var phantom = Path.Combine(directory, "phantom");
        if (!Directory.Exists(phantom))
            await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 24, 96, 112, 50, Seed: 3), phantom);
        return Path.Combine(phantom, "stack");
    }

    /// <summary>
    /// The fault and redelivery sweeps run one small job per write or per message. They are about what is written and
    /// delivered; the tortuosity solves write nothing of their own (their figures go into metrics.json with the rest) and
    /// were half of such a job's time, so the sweeps switch them off, in the clean run and every disturbed one alike.
    /// </summary>
    public static void WithoutTortuosity(IServiceCollection services) =>
        services.PostConfigure<SsbTomoOptions>(options => options.Metrics.Tortuosity = false);

    /// <summary>The label image's folder in a run's output (<see cref="JobLayout.Labels"/>).</summary>
    public static readonly string Labels = new JobLayout("").Labels;

    /// <summary>Every blob of the label image, the previews, and metrics.json.</summary>
    public static async Task<Dictionary<string, byte[]>> ReadAsync(string root)
    {
        var store = new FileSystemBlobStore(root);
        var blobs = new Dictionary<string, byte[]>();
        foreach (var prefix in new[] { Labels + "/", new JobLayout("").Previews + "/" })
            await foreach (var key in store.ListAsync(prefix))
                blobs[key] = (await store.ReadAsync(key))!;
        if (await store.ReadAsync("metrics.json") is { } metrics)
            blobs["metrics.json"] = metrics;
        return blobs;
    }

    public static string? Difference(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).Order(StringComparer.Ordinal).ToArray();
        var extra = actual.Keys.Except(expected.Keys).Order(StringComparer.Ordinal).ToArray();
        var changed = expected.Keys.Intersect(actual.Keys).Where(k => !expected[k].AsSpan().SequenceEqual(actual[k])).Order(StringComparer.Ordinal).ToArray();
        if (missing.Length + extra.Length + changed.Length == 0)
            return null;
        return $"missing [{string.Join(", ", missing)}], extra [{string.Join(", ", extra)}], changed [{string.Join(", ", changed)}]";
    }
}
