using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SsbTomo.Cli;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Classification;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Phantom;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The issue's family comparison on the same voxels: each family member is run through the whole unsupervised pipeline
/// (`ssbtomo run`); a classifier is trained on 3 of that run's aligned slices with strokes drawn from the truth (≤ 2 %
/// of each slice, <see cref="Strokes.Draw"/>) and applied to the whole aligned stack, once with the 2D bank and once
/// with the default bank (2D + z-context); void Dice of the three against the truth over the run's crop, every slice
/// except the 3 trained on. Usage: `-- trainable-family [--draws 12] [--first 1] [--shape 32,192,224] [--trees 100] [--max-depth 24] [--min-leaf 1] [--work DIR]`
/// (with --work the runs are kept there and a finished run is reused, so another feature bank costs no second pipeline run).
/// With --dump each member's aligned stack, truth, unsupervised and trainable (2D+z) labels and the trained slices are
/// written beside its run as raw little-endian arrays (DIR/family-N/dump/*.raw, shape and dtype in dump.json) for a
/// numpy look at which voxels go wrong. Each member also prints the unsupervised and the 2D+z labels' void, carbon and
/// contact-loss errors over the whole crop (issue 7's targets, for a ceiling: what a forest trained on true strokes gets).
/// --slices K trains on K evenly spaced slices instead of 3; --pseudo draws the strokes from the unsupervised run's own
/// labels instead of the truth (self-training: interior voxels of the run's phases as training labels).
/// </summary>
internal static class TrainableFamilyStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        int[] shape = [32, 192, 224];
        var (draws, first, trees) = (12, 1, 100);
        var (maxDepth, minLeaf) = (new ForestSettings().MaxDepth, new ForestSettings().MinSamplesLeaf);
        string? work = null;
        var (dump, deepOnly, featuresPerSplit, cleanup, priorShift) = (false, false, 0, true, PixelClassifier.DefaultPriorShift);
        var extra = new List<FeatureSpec>();
        var (pseudo, sliceCount) = (false, 3);
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--draws" when i + 1 < args.Length: draws = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--first" when i + 1 < args.Length: first = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--trees" when i + 1 < args.Length: trees = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--max-depth" when i + 1 < args.Length: maxDepth = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--min-leaf" when i + 1 < args.Length: minLeaf = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--work" when i + 1 < args.Length: work = args[++i]; break;
                case "--dump": dump = true; break;
                case "--pseudo": pseudo = true; break;
                case "--slices" when i + 1 < args.Length: sliceCount = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--deep-only": deepOnly = true; break;
                case "--no-cleanup": cleanup = false; break;
                case "--prior-shift" when i + 1 < args.Length: priorShift = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--features-per-split" when i + 1 < args.Length: featuresPerSplit = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--extra" when i + 1 < args.Length: extra.AddRange(ParseFeatures(args[++i])); break;
                case "--shape" when i + 1 < args.Length: shape = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                default:
                    Console.Error.WriteLine("usage: SsbTomo.Benchmarks trainable-family [--draws N] [--first SEED] [--shape D,H,W] [--trees N]");
                    return 2;
            }
        }
        Console.WriteLine($"trainable vs unsupervised void Dice on family members {first}-{first + draws - 1}, {shape[0]}x{shape[1]}x{shape[2]}, {trees} trees (max depth {maxDepth}, min samples per leaf {minLeaf}), "
            + "3 aligned slices trained with ≤ 2 % strokes from the truth, Dice over the other slices of the run's aligned crop");
        IReadOnlyList<FeatureSpec> deepBank = [.. PixelFeatures.Default, .. extra];
        if (extra.Count > 0) Console.WriteLine($"2D+z bank: the default and {string.Join(", ", extra)}");
        using var temporary = new TempDirectory("ssbtomo-trainable-family");
        var workDir = work ?? temporary.Path;
        string[] header = ["family", "drawn", "labelled", "unsupervised", "trainable 2D", "trainable 2D+z", "2D+z − unsup.", "s"];
        var rows = new List<string[]>();
        var outcomes = new List<(double Unsupervised, double Flat, double Deep)>();
        for (var seed = first; seed < first + draws; seed++)
        {
            var watch = Stopwatch.StartNew();
            var options = PhantomFamily.Draw(seed, shape[0], shape[1], shape[2]);
            var name = $"family-{seed}";
            var (phantomDir, runDir) = (Path.Combine(workDir, name, "phantom"), Path.Combine(workDir, name, "run"));
            if (work is null || !File.Exists(Path.Combine(runDir, "metrics.json")))
            {
                if (Directory.Exists(Path.Combine(workDir, name))) Directory.Delete(Path.Combine(workDir, name), recursive: true);
                var run = await FamilySweep.RunOneAsync(name, options, workDir);
                if (!run.Completed)
                {
                    Console.WriteLine($"family {seed}: the unsupervised run failed: {run.Failure}");
                    continue;
                }
            }
            var (aligned, unsupervised, truth) = await LoadAsync(phantomDir, runDir);
            var depth = aligned.Depth;
            int[] trainSlices = sliceCount == 3 ? [depth / 6, depth / 2, depth - 1 - depth / 6]
                : Enumerable.Range(0, sliceCount).Select(k => (int)((k + 0.5) * depth / sliceCount)).ToArray();
            // --pseudo: strokes from the unsupervised run's own labels (self-training), not from the truth.
            var strokeSource = pseudo ? unsupervised : truth;
            var training = new List<LabelledImage>();
            double labelled = 0;
            foreach (var z in trainSlices)
            {
                var strokes = Strokes.Draw(new Image2D<byte>(truth.Height, truth.Width, strokeSource.Slice(z).ToArray()), seed * 100 + z);
                labelled = Math.Max(labelled, strokes.Pixels.Count(v => v != 0) / (double)strokes.Pixels.Length);
                training.Add(LabelledImage.InStack($"aligned slice {z}", aligned, z, strokes));
            }
            var notes = new List<string>();
            double VoidDice(Volume<byte> labels, string what)
            {
                var agreement = new LabelAgreement();
                foreach (var z in Enumerable.Range(0, depth).Except(trainSlices))
                    agreement.Add(SliceOf(truth, z), SliceOf(labels, z));
                var v = PhaseLabel.Void;
                var missed = Enumerable.Range(1, 4).Where(c => c != v).Select(c => $"{PhaseLabel.Names[c - 1]} {agreement.Count(v, (byte)c)}");
                var extra = Enumerable.Range(1, 4).Where(c => c != v).Select(c => $"{PhaseLabel.Names[c - 1]} {agreement.Count((byte)c, v)}");
                notes.Add($"{what}: void kept {agreement.Count(v, v)}, void read as {string.Join(", ", missed)}; read as void: {string.Join(", ", extra)}");
                return agreement.Dice(v);
            }
            Volume<byte>? deepLabels = null;
            double Trained(IReadOnlyList<FeatureSpec> bank, string what)
            {
                if (deepOnly && !ReferenceEquals(bank, deepBank)) return double.NaN;
                var (classifier, _) = PixelClassifier.Train(training, PhaseLabel.Names.ToArray(), 16, bank, new ForestSettings(Trees: trees, MaxDepth: maxDepth, MinSamplesLeaf: minLeaf, FeaturesPerSplit: featuresPerSplit), priorShift: priorShift);
                if (!cleanup) classifier = PixelClassifier.Load(classifier.Manifest with { PhaseMeanGrey = [] }, classifier.Forest.ToBytes());
                var labels = classifier.SegmentStack(aligned, name, 0, depth);
                if (ReferenceEquals(bank, deepBank)) deepLabels = labels;
                return VoidDice(labels, what);
            }
            var outcome = (VoidDice(unsupervised, "unsupervised"), Trained(PixelFeatures.Default2D, "2D"), Trained(deepBank, "2D+z"));
            var truthVolume = PhaseFractions.FromCounts(PhaseFractions.Count(truth));
            var truthLoss = ContactLoss.Count(truth).LossFraction;
            foreach (var (what, labels) in new[] { ("unsupervised", unsupervised), ("2D+z", deepLabels) })
            {
                if (labels is null) continue;
                var f = PhaseFractions.FromCounts(PhaseFractions.Count(labels));
                var agreement = new LabelAgreement();
                agreement.Add(truth, labels);
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{what} over the whole crop: void {100 * (f.Void - truthVolume.Void):+0.00;-0.00} pp, carbon {100 * (f.Carbon - truthVolume.Carbon):+0.00;-0.00} pp, contact loss {100 * (ContactLoss.Count(labels).LossFraction - truthLoss):+0.00;-0.00} pp, Dice carbon {agreement.Dice(PhaseLabel.Carbon):0.000} LPS {agreement.Dice(PhaseLabel.Lps):0.000}"));
            }

            outcomes.Add(outcome);
            if (dump) Dump(Path.Combine(workDir, name, "dump"), aligned, truth, unsupervised, deepLabels!, trainSlices);
            rows.Add([$"{seed}", FamilySweep.Describe(options), labelled.ToString("P2", CultureInfo.InvariantCulture), F(outcome.Item1), F(outcome.Item2), F(outcome.Item3),
                (outcome.Item3 - outcome.Item1).ToString("+0.000;-0.000", CultureInfo.InvariantCulture), watch.Elapsed.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)]);
            Console.WriteLine(string.Join(" | ", rows[^1]));
            foreach (var note in notes) Console.WriteLine("    " + note);
            if (work is null) Directory.Delete(Path.Combine(workDir, name), recursive: true);
        }
        if (outcomes.Count == 0) return 1;
        ResultTable.Print(header, rows, 2, 7);
        double Median(IEnumerable<double> values) => values.Order().ElementAt(outcomes.Count / 2);
        Console.WriteLine($"{outcomes.Count} draws; median void Dice unsupervised {F(Median(outcomes.Select(o => o.Unsupervised)))}, trainable 2D {F(Median(outcomes.Select(o => o.Flat)))}, "
            + $"2D+z {F(Median(outcomes.Select(o => o.Deep)))}");
        Console.WriteLine($"2D+z beats unsupervised on {outcomes.Count(o => o.Deep > o.Unsupervised)}/{outcomes.Count}; 2D+z ≥ 0.90 on {outcomes.Count(o => o.Deep >= 0.90)}/{outcomes.Count}; "
            + $"2D beats unsupervised on {outcomes.Count(o => o.Flat > o.Unsupervised)}/{outcomes.Count}, ≥ 0.90 on {outcomes.Count(o => o.Flat >= 0.90)}/{outcomes.Count}");
        return 0;
    }

    /// <summary>Raw arrays for numpy (np.fromfile(path, dtype).reshape(shape)) and a dump.json that names them.</summary>
    private static void Dump(string dir, Volume<ushort> aligned, Volume<byte> truth, Volume<byte> unsupervised, Volume<byte> trainable, int[] trainSlices)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "aligned.raw"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(aligned.Data.AsSpan()).ToArray());
        File.WriteAllBytes(Path.Combine(dir, "truth.raw"), truth.Data);
        File.WriteAllBytes(Path.Combine(dir, "unsupervised.raw"), unsupervised.Data);
        File.WriteAllBytes(Path.Combine(dir, "trainable.raw"), trainable.Data);
        File.WriteAllText(Path.Combine(dir, "dump.json"), JsonSerializer.Serialize(new
        {
            shape = new[] { aligned.Depth, aligned.Height, aligned.Width },
            dtypes = new Dictionary<string, string> { ["aligned"] = "<u2", ["truth"] = "u1", ["unsupervised"] = "u1", ["trainable"] = "u1" },
            labels = PhaseLabel.Names,
            train_slices = trainSlices,
        }));
    }

    /// <summary>Filters given as Kind:σ[:z],..., e.g. MinimumAlongZ:1.6:-4 (appended to a bank by --extra).</summary>
    internal static IEnumerable<FeatureSpec> ParseFeatures(string list) => list.Split(',').Select(item =>
    {
        var parts = item.Split(':');
        return new FeatureSpec(Enum.Parse<FeatureKind>(parts[0]), double.Parse(parts[1], CultureInfo.InvariantCulture),
            parts.Length > 2 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : 0);
    });

    private static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    private static Volume<byte> SliceOf(Volume<byte> volume, int z) => new(1, volume.Height, volume.Width, volume.Slice(z).ToArray());

    /// <summary>A finished run's aligned stack and labels, and the phantom's truth over the run's crop (the aligned frame).</summary>
    private static async Task<(Volume<ushort> Aligned, Volume<byte> Labels, Volume<byte> Truth)> LoadAsync(string phantomDir, string runDir)
    {
        using var alignment = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDir, "alignment.json")));
        var crop = alignment.RootElement.GetProperty("crop_yx").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var store = new FileSystemBlobStore(runDir);
        var layout = new JobLayout("");
        var alignedArray = await OmeZarr.OpenLevelAsync<ushort>(store, layout.Aligned, 0);
        var aligned = await alignedArray.ReadRegionAsync(0, alignedArray.Shape[0], 0, alignedArray.Shape[1], 0, alignedArray.Shape[2]);
        var labelsArray = await OmeZarr.OpenLevelAsync<byte>(store, layout.Labels, 0);
        var labels = await labelsArray.ReadRegionAsync(0, labelsArray.Shape[0], 0, labelsArray.Shape[1], 0, labelsArray.Shape[2]);
        var truthArray = await OmeZarr.OpenLevelAsync<byte>(new FileSystemBlobStore(phantomDir), "truth_labels", 0);
        var truth = await truthArray.ReadRegionAsync(0, truthArray.Shape[0], crop[0], crop[1], crop[2], crop[3]);
        return (aligned, labels, truth);
    }
}
