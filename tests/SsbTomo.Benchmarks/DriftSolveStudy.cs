using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SsbTomo.Alignment;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The alignment's one serial step, the drift solve (<see cref="AnchoredDriftEstimator.Finish"/>: particle tracks linked,
/// then the anchored least squares per axis), on a finished run's stored chunk measurements, as the solve consumer feeds
/// it; wall and process CPU per repeat, and the drift of the last slice to every digit so that a faster solve can be
/// checked to give the same drift. Usage: dotnet SsbTomo.Benchmarks.dll drift-solve RUN_DIR [--repeats 3]
/// </summary>
internal static class DriftSolveStudy
{
    /// <summary>As the alignment service reads its blobs: a peak ratio is infinite for the origin slice.</summary>
    private static readonly JsonSerializerOptions BlobOptions = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks drift-solve RUN_DIR [--repeats 3]");
            return 2;
        }
        var repeats = 3;
        for (var i = 1; i < args.Length; i++)
            if (args[i] == "--repeats" && i + 1 < args.Length) repeats = int.Parse(args[++i], CultureInfo.InvariantCulture);
        var store = new FileSystemBlobStore(args[0]);
        var layout = new JobLayout("");
        var measured = new List<SliceMeasurement>();
        for (var chunk = 0; await store.ExistsAsync(layout.AlignmentChunk(chunk)); chunk++)
            measured.AddRange(JsonSerializer.Deserialize<AlignmentChunkMeasurements>((await store.ReadAsync(layout.AlignmentChunk(chunk)))!, BlobOptions)!.Slices);
        Console.WriteLine($"{measured.Count} slices, {measured.Sum(m => m.Sections.Count)} particle sections");
        for (var r = 0; r < repeats; r++)
        {
            var estimator = new AnchoredDriftEstimator();
            foreach (var slice in measured) estimator.Add(slice.Registration, slice.Sections);
            var (anchored, wall, cpu) = Measure.Once(estimator.Finish);
            var last = anchored.Drift[^1];
            // Its two parts alone: the tracks linked, then the anchored least squares of both axes.
            var registered = AnchoredDrift.Interpolate(estimator.Registered, estimator.Trusted);
            var sections = measured.Select((m, z) => estimator.Trusted[z] ? m.Sections : (IReadOnlyList<ParticleSection>)[]).ToList();
            var (tracks, link, _) = Measure.Once(() => ParticleTracks.Link(sections, registered));
            var (_, refine, _) = Measure.Once(() => AnchoredDrift.Refine(registered, tracks, trusted: estimator.Trusted));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  solve {wall:0.000} s wall {cpu:0.000} s CPU (tracks linked {link:0.000} s, least squares {refine:0.000} s); {anchored.Tracks} tracks; last slice's drift {last.Dy:R}, {last.Dx:R}"));
        }
        return 0;
    }
}
