using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// A stage's memory follows the budget, not the slice: with small storage chunks and a budget that fits one chunk per
/// window, every stage works tile by tile, and the job's labels and metrics are the ones of a run that took each slab
/// whole.
/// </summary>
public sealed class TiledRunTests : IDisposable
{
    private readonly TempDirectory _dir = new("ssbtomo-tiled");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Tiles_of_one_small_chunk_give_the_labels_and_metrics_of_whole_slices()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        var whole = await RunAsync(stack, "whole", options => { });
        var tiled = await RunAsync(stack, "tiled", options =>
        {
            options.ChunkTilePx = 32;
            options.MemoryBudgetMb = 1;
        });

        var wholeLabels = await OmeZarr.OpenLevelAsync<byte>(new FileSystemBlobStore(whole), JobResults.Labels, 0);
        var tiledLabels = await OmeZarr.OpenLevelAsync<byte>(new FileSystemBlobStore(tiled), JobResults.Labels, 0);
        Assert.Equal([8, 32, 32], tiledLabels.Chunks);
        Assert.True(tiledLabels.Shape[1] > 64 && tiledLabels.Shape[2] > 64, "the 96x112 field is cut into at least 3x3 tiles");
        Assert.Equal(wholeLabels.Shape, tiledLabels.Shape);
        var (d, h, w) = (wholeLabels.Shape[0], wholeLabels.Shape[1], wholeLabels.Shape[2]);
        Assert.Equal((await wholeLabels.ReadRegionAsync(0, d, 0, h, 0, w)).Data, (await tiledLabels.ReadRegionAsync(0, d, 0, h, 0, w)).Data);
        // The particle split and the tortuosity solve need the whole volume at once, which a 1 MiB budget does not allow:
        // that run leaves them out and says so; every other number is the same.
        var wholeMetrics = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(whole, "metrics.json")))!.AsObject();
        var tiledMetrics = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(tiled, "metrics.json")))!.AsObject();
        Assert.NotNull(wholeMetrics["particles"]);
        Assert.Null(tiledMetrics["particles"]);
        Assert.NotNull(wholeMetrics["tortuosity"]!["paths"]);
        Assert.Null(tiledMetrics["tortuosity"]!["paths"]);
        var added = tiledMetrics["warnings"]!.AsArray().Except(wholeMetrics["warnings"]!.AsArray(), JsonNodeEquality.Instance)
            .Select(w => w!.GetValue<string>()).ToArray();
        Assert.Equal(2, added.Length);
        Assert.Contains(added, w => w.StartsWith("particles not measured", StringComparison.Ordinal));
        var tortuosity = Assert.Single(added, w => w.StartsWith("tortuosity not measured", StringComparison.Ordinal));
        Assert.Contains("(1 MiB, SsbTomo:MemoryBudgetMb)", tortuosity);
        Assert.Equal(tortuosity, tiledMetrics["tortuosity"]!["left_out"]!.GetValue<string>());
        foreach (var metrics in new[] { wholeMetrics, tiledMetrics })
        {
            metrics.Remove("particles");
            metrics.Remove("tortuosity");
            metrics.Remove("warnings");
        }
        Assert.Equal(wholeMetrics.ToJsonString(), tiledMetrics.ToJsonString());
    }

    [Fact]
    public async Task A_budget_too_small_for_the_whole_volume_measures_tortuosity_and_particles_on_a_central_sub_volume()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        // 12 MiB: a window gets 3 MiB, the whole 24x~90x~100 solve needs ~9 MiB, a smaller box fits in 80 % of it; the
        // particle split may hold 6 MiB, the whole volume needs ~10 MiB at 48 bytes a voxel.
        var root = await RunAsync(stack, "sub-volume", options =>
        {
            options.ChunkTilePx = 32;
            options.MemoryBudgetMb = 12;
        });

        var metrics = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "metrics.json")))!.AsObject();
        var tortuosity = metrics["tortuosity"]!;
        Assert.Null(tortuosity["left_out"]);
        var start = tortuosity["sub_volume"]!["start_zyx"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray();
        var shape = tortuosity["sub_volume"]!["shape_zyx"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray();
        var labels = await OmeZarr.OpenLevelAsync<byte>(new FileSystemBlobStore(root), JobResults.Labels, 0);
        // Thinner than the shortest edge allowed, z is taken whole; y and x share the rest as a square, centred.
        Assert.Equal(labels.Shape[0], shape[0]);
        Assert.Equal(shape[1], shape[2]);
        Assert.InRange(shape[1], CentralSubVolumeEdge, Math.Min(labels.Shape[1], labels.Shape[2]) - 1);
        for (var axis = 0; axis < 3; axis++) Assert.Equal((labels.Shape[axis] - shape[axis]) / 2, start[axis]);
        Assert.Equal((double)shape[0] * shape[1] * shape[2] / ((double)labels.Shape[0] * labels.Shape[1] * labels.Shape[2]),
            tortuosity["sub_volume"]!["voxel_share"]!.GetValue<double>(), 12);
        Assert.Contains(metrics["warnings"]!.AsArray(), w => w!.GetValue<string>().StartsWith(
            $"tortuosity measured on a central sub-volume of {shape[0]}x{shape[1]}x{shape[2]} voxels", StringComparison.Ordinal));

        // The factors are the solver's on that box of the job's labels.
        var box = await labels.ReadRegionAsync(start[0], start[0] + shape[0], start[1], start[1] + shape[1], start[2], start[2] + shape[2]);
        var expected = CathodeTortuosity.Measure(box, VoxelSize.Isotropic(50), CathodeTortuosity.Paths, [0, 1, 2]);
        Assert.Equal(6, expected.Count);
        foreach (var (path, result, _) in expected)
        {
            var reported = tortuosity["paths"]![path.Key]!["axes"]!["zyx"[result.Axis].ToString()]!["tortuosity_factor"];
            if (double.IsFinite(result.Factor)) Assert.Equal(result.Factor, reported!.GetValue<double>(), 12);
            else Assert.Null(reported);
        }

        // particles.csv is the split of its own box (the share of the budget differs), its centroids moved by the box's start.
        var particles = metrics["particles"]!;
        var particleStart = particles["sub_volume"]!["start_zyx"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray();
        var particleShape = particles["sub_volume"]!["shape_zyx"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray();
        Assert.Equal(labels.Shape[0], particleShape[0]);
        Assert.InRange(particleShape[1], CentralSubVolumeEdge, labels.Shape[1] - 1);
        Assert.Contains(metrics["warnings"]!.AsArray(), w => w!.GetValue<string>().StartsWith(
            $"particles measured on a central sub-volume of {particleShape[0]}x{particleShape[1]}x{particleShape[2]} voxels", StringComparison.Ordinal));
        var particleBox = await labels.ReadRegionAsync(particleStart[0], particleStart[0] + particleShape[0], particleStart[1],
            particleStart[1] + particleShape[1], particleStart[2], particleStart[2] + particleShape[2]);
        var expectedParticles = NmcParticles.Measure(particleBox, NmcParticles.Separate(particleBox, VoxelSize.Isotropic(50)), VoxelSize.Isotropic(50));
        var rows = (await File.ReadAllLinesAsync(Path.Combine(root, particles["table"]!.GetValue<string>()))).Skip(1).Select(r => r.Split(',')).ToArray();
        Assert.Equal(expectedParticles.Count, rows.Length);
        Assert.Equal(expectedParticles.Count, particles["count"]!.GetValue<int>());
        foreach (var (particle, row) in expectedParticles.Zip(rows))
        {
            Assert.Equal(particle.Voxels.ToString(System.Globalization.CultureInfo.InvariantCulture), row[1]);
            for (var axis = 0; axis < 3; axis++)
                Assert.Equal(particle.CentroidZyxUm[axis] + particleStart[axis] * 0.05, double.Parse(row[8 + axis], System.Globalization.CultureInfo.InvariantCulture), 3);
        }
    }

    private const int CentralSubVolumeEdge = 32;

    private sealed class JsonNodeEquality : IEqualityComparer<JsonNode?>
    {
        public static readonly JsonNodeEquality Instance = new();
        public bool Equals(JsonNode? x, JsonNode? y) => JsonNode.DeepEquals(x, y);
        public int GetHashCode(JsonNode? node) => node?.ToJsonString().GetHashCode() ?? 0;
    }

    private async Task<string> RunAsync(string stack, string name, Action<SsbTomoOptions> configure)
    {
        var root = Path.Combine(_dir.Path, name);
        var outcome = await RunCommand.ExecuteAsync(stack, root, null, chunkSlices: 8, verbose: false, CancellationToken.None,
                services => services.Configure(configure))
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(outcome.Succeeded, outcome.Reason);
        return root;
    }
}
