using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Classification;
using SsbTomo.Phantom;
using SsbTomo.Segmentation;
using SsbTomo.Storage;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// <c>ssbtomo run --model</c>: the whole pipeline with a trained pixel classifier, stored as the job's blobs and loaded
/// once per job by the segmentation workers; a model that does not fit the pipeline is refused naming its model.json.
/// </summary>
public sealed class RunWithModelTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new("ssbtomo-run-model");

    public void Dispose() => _dir.Dispose();

    private static void Save(PixelClassifier classifier, string modelDir)
    {
        Directory.CreateDirectory(modelDir);
        File.WriteAllText(Path.Combine(modelDir, PixelClassifierManifest.FileName), classifier.Manifest.ToJson());
        File.WriteAllBytes(Path.Combine(modelDir, PixelClassifierManifest.ForestFileName), classifier.Forest.ToBytes());
    }

    /// <summary>A small model on a 2-level image: dark left half phase 1, bright right half phase 2 (… k).</summary>
    private string TinyModel(string name, string[] phases, int bitDepth)
    {
        var (h, w) = (24, 24);
        var top = bitDepth == 8 ? 200 : 40000;
        var image = new Image2D<ushort>(h, w, Enumerable.Range(0, h * w).Select(i => (ushort)(i % w * phases.Length / w * top / phases.Length + 10)).ToArray());
        var labels = new Image2D<byte>(h, w, Enumerable.Range(0, h * w).Select(i => (byte)(i % w * phases.Length / w + 1)).ToArray());
        var (classifier, _) = PixelClassifier.Train([new LabelledImage(name, image, labels)], phases, bitDepth,
            [new FeatureSpec(FeatureKind.GaussianSmoothing, 0.7)], new ForestSettings(Trees: 3));
        var dir = Path.Combine(_dir.Path, name);
        Save(classifier, dir);
        return dir;
    }

    [Fact]
    public async Task A_model_with_another_phase_table_or_bit_depth_or_no_model_json_is_refused_with_its_model_json_named()
    {
        var stack = Directory.CreateDirectory(Path.Combine(_dir.Path, "stack")).FullName;
        var poreParticle = TinyModel("pore-particle", ["pore", "particle"], 16);
        var eightBit = TinyModel("eight-bit", [.. PhaseLabel.Names], 8);
        var fits = TinyModel("fits", [.. PhaseLabel.Names], 16);

        var phases = RunCommand.CheckModel(poreParticle);
        Assert.NotNull(phases);
        Assert.StartsWith(Path.Combine(poreParticle, "model.json") + ":", phases);
        Assert.Contains("trained for phases pore,particle", phases);
        Assert.Contains("--phases nmc,lps,carbon,void", phases);

        var bits = RunCommand.CheckModel(eightBit);
        Assert.NotNull(bits);
        Assert.StartsWith(Path.Combine(eightBit, "model.json") + ":", bits);
        Assert.Contains("8-bit", bits);
        Assert.Contains("16-bit", bits);

        var missing = RunCommand.CheckModel(Path.Combine(_dir.Path, "no-such-model"));
        Assert.NotNull(missing);
        Assert.Contains("model.json", missing);

        Assert.Null(RunCommand.CheckModel(fits));
        // Through the command: exit code 2 before any stage starts (no output written).
        var outDir = Path.Combine(_dir.Path, "refused");
        Assert.Equal(2, await RunCommand.RunAsync(stack, outDir, null, 8, false, CancellationToken.None, modelDir: poreParticle));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task A_worker_refuses_a_stored_model_that_does_not_fit_and_loads_a_fitting_one_once_per_job()
    {
        var store = new FileSystemBlobStore(Directory.CreateDirectory(Path.Combine(_dir.Path, "blobs")).FullName);
        var cache = new TrainedClassifierCache(store);
        async Task<JobLayout> Store(string modelDir, Guid job)
        {
            var layout = JobLayout.ForJob(job);
            await store.WriteAsync(layout.ClassifierManifest, await File.ReadAllBytesAsync(Path.Combine(modelDir, PixelClassifierManifest.FileName)));
            await store.WriteAsync(layout.ClassifierForest, await File.ReadAllBytesAsync(Path.Combine(modelDir, PixelClassifierManifest.ForestFileName)));
            return layout;
        }
        var (bad, good, other) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var badLayout = await Store(TinyModel("bad", ["pore", "particle"], 16), bad);
        var refused = await Assert.ThrowsAsync<InvalidInputException>(() => cache.GetAsync(bad, badLayout));
        Assert.StartsWith($"jobs/{bad}/model/model.json:", refused.Message);
        Assert.Contains("trained for phases pore,particle", refused.Message);

        var goodLayout = await Store(TinyModel("good", [.. PhaseLabel.Names], 16), good);
        var loadsBefore = cache.Loads;
        var first = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => cache.GetAsync(good, goodLayout))));
        Assert.All(first, c => Assert.Same(first[0], c));
        Assert.Equal(loadsBefore + 1, cache.Loads);
        // Another job is another model, read once too.
        var otherLayout = await Store(TinyModel("other", [.. PhaseLabel.Names], 16), other);
        Assert.NotSame(first[0], await cache.GetAsync(other, otherLayout));
        Assert.Equal(loadsBefore + 2, cache.Loads);
        // Asked again: still loaded. After JobsKept other jobs, the first one is read again (a worker holds a few models).
        await cache.GetAsync(good, goodLayout);
        Assert.Equal(loadsBefore + 2, cache.Loads);
        var goodModel = Path.Combine(_dir.Path, "good");
        foreach (var job in Enumerable.Range(0, TrainedClassifierCache.JobsKept).Select(_ => Guid.NewGuid()))
            await cache.GetAsync(job, await Store(goodModel, job));
        Assert.Equal(loadsBefore + 2 + TrainedClassifierCache.JobsKept, cache.Loads);
        await cache.GetAsync(good, goodLayout);
        Assert.Equal(loadsBefore + 3 + TrainedClassifierCache.JobsKept, cache.Loads);
        // A job whose model blobs are missing fails with the blob named.
        var none = Guid.NewGuid();
        var missing = await Assert.ThrowsAsync<InvalidInputException>(() => cache.GetAsync(none, JobLayout.ForJob(none)));
        Assert.Contains($"jobs/{none}/model/model.json", missing.Message);
    }

    /// <summary>
    /// A 16x96x96 cycled-50 phantom run once without a model; a model trained on 3 of its aligned slices with strokes
    /// (≤ 2 % of each slice) drawn from that run's labels; the same stack run with the model, tiled (32-px chunks, a
    /// 1 MiB budget, 2 chunks of 8 slices). The labels must be the model applied to whole aligned slices byte for byte
    /// (the tiles' halo is enough, and the model was used), the model must be in the job's store, read once for both
    /// chunks, and the labels must mostly agree with the threshold run's, which the strokes came from.
    /// </summary>
    [Fact]
    public async Task Run_with_a_model_segments_every_slice_with_it_from_the_job_s_blobs_loaded_once()
    {
        var phantom = Path.Combine(_dir.Path, "phantom");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Cycled50, 16, 96, 96, 50, Seed: 2), phantom);
        var stack = Path.Combine(phantom, "stack");
        var layout = new JobLayout("");

        var unsupervised = Path.Combine(_dir.Path, "unsupervised");
        Assert.True((await RunCommand.ExecuteAsync(stack, unsupervised, null, 8, false, CancellationToken.None)).Succeeded);
        var firstStore = new FileSystemBlobStore(unsupervised);
        var aligned = await OmeZarr.OpenLevelAsync<ushort>(firstStore, layout.Aligned, 0);
        var (d, h, w) = (aligned.Shape[0], aligned.Shape[1], aligned.Shape[2]);
        var alignedVoxels = await aligned.ReadRegionAsync(0, d, 0, h, 0, w);
        var thresholdLabels = await (await OmeZarr.OpenLevelAsync<byte>(firstStore, JobResults.Labels, 0)).ReadRegionAsync(0, d, 0, h, 0, w);

        var training = new List<LabelledImage>();
        foreach (var z in new[] { 2, 7, 12 })
        {
            var labels = new Image2D<byte>(h, w, thresholdLabels.Slice(z).ToArray());
            var strokes = TrainablePhantomTests.Strokes(labels, seed: z);
            Assert.True(strokes.Pixels.Count(v => v != 0) <= 0.02 * h * w + 1);
            training.Add(LabelledImage.InStack($"aligned slice {z}", alignedVoxels, z, strokes));
        }
        var (classifier, _) = PixelClassifier.Train(training, [.. PhaseLabel.Names], 16, forest: new ForestSettings(Trees: 20));
        var modelDir = Path.Combine(_dir.Path, "model");
        Save(classifier, modelDir);

        var withModel = Path.Combine(_dir.Path, "with-model");
        TrainedClassifierCache? cache = null;
        var outcome = await RunCommand.ExecuteAsync(stack, withModel, null, 8, false, CancellationToken.None, services =>
        {
            services.Configure<SsbTomoOptions>(o => { o.ChunkTilePx = 32; o.MemoryBudgetMb = 1; });
            services.AddSingleton(sp => cache = new TrainedClassifierCache(sp.GetRequiredService<IBlobStore>()));
        }, modelDir);
        Assert.True(outcome.Succeeded, outcome.Reason);
        Assert.NotNull(cache);
        Assert.Equal(1, cache.Loads);

        var store = new FileSystemBlobStore(withModel);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(modelDir, "model.json")), await store.ReadAsync(layout.ClassifierManifest));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(modelDir, "forest.bin")), await store.ReadAsync(layout.ClassifierForest));
        var labelsArray = await OmeZarr.OpenLevelAsync<byte>(store, JobResults.Labels, 0);
        Assert.Equal([8, 32, 32], labelsArray.Chunks);
        var modelLabels = await labelsArray.ReadRegionAsync(0, d, 0, h, 0, w);
        var secondAligned = await (await OmeZarr.OpenLevelAsync<ushort>(store, layout.Aligned, 0)).ReadRegionAsync(0, d, 0, h, 0, w);
        Assert.Equal(classifier.SegmentSlices(secondAligned, "whole stack", 0, d).Data, modelLabels.Data);

        var agree = modelLabels.Data.Where((label, i) => label == thresholdLabels.Data[i]).Count() / (double)modelLabels.Data.Length;
        var metrics = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(withModel, "metrics.json")))!;
        var fractions = metrics["phase_fractions"]!.AsObject();
        var warnings = metrics["warnings"]!.AsArray().Select(w => w!.GetValue<string>()).ToArray();
        Assert.Contains(SsbTomo.Metrics.MetricsReport.TrainedClassifierWarning, warnings);
        Assert.DoesNotContain(warnings, w => w.Contains("mixture model", StringComparison.Ordinal));
        Assert.Null(metrics["phase_fraction_intervals"]);
        var thresholdFractions = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(unsupervised, "metrics.json")))!["phase_fractions"]!.ToJsonString();
        output.WriteLine($"agreement with the threshold run {agree:P2}; fractions {fractions.ToJsonString()}; threshold run {thresholdFractions}; truth {JsonNode.Parse(File.ReadAllText(Path.Combine(phantom, "truth.json")))!["phase_fractions"]!.ToJsonString()}");
        // Measured 90.8 % (deterministic: seeded forest, deterministic pipeline). The model, from ~46 stroke pixels per phase and
        // 2D features, finds less void than the thresholds (5.9 % vs 8.8 %; truth 9.7 %): this checks the plumbing, not accuracy.
        Assert.True(agree >= 0.85, $"the model's labels agree with the threshold run's on {agree:P2} of voxels");
        Assert.All(PhaseLabel.Names, phase => Assert.True(fractions[phase]!.GetValue<double>() > 0, $"{phase} fraction"));
    }
}
