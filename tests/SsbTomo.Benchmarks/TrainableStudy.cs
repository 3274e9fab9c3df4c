using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Classification;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The trainable segmentation against its peers in one run, on raw slices of a cycled-50 phantom: the feature bank
/// against the same scipy.ndimage / skimage.feature filters, forest prediction against scikit-learn's
/// RandomForestClassifier (100 trees, n_jobs=2) on the same feature planes and the same training samples, and the
/// whole training (features + forest) on 3 slices, with sparse and with dense labels.
/// Usage: `-- trainable [--size 1024] [--repeats 3] [--walks-only [--ab-only]] [--max-depth 24] [--min-leaf 1]` (both forests get the
/// settings; `--ab-only`: only the in-process alternation of the coding paths, <see cref="CompareCoding"/>).
/// </summary>
internal static class TrainableStudy
{
    private const string PeerScript = """
        import sys, json, time
        import numpy as np
        from scipy import ndimage as ndi
        from skimage.feature import hessian_matrix_eigvals, structure_tensor_eigenvalues
        from sklearn.ensemble import RandomForestClassifier
        d, n, repeats, max_samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        sigmas = [float(s) for s in sys.argv[5].split(',')]
        trees, max_depth, min_samples_leaf = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])

        cpu = {}
        def timed(f, name):
            f()
            ts = []
            c0 = time.process_time()
            for _ in range(repeats):
                t0 = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t0)
            cpu[name] = (time.process_time() - c0) / repeats * 1000.0
            return sorted(ts)[len(ts) // 2] * 1000.0, r

        img = np.fromfile(d + '/test.f32', dtype='<f4').reshape(n, n)
        def features():
            g = lambda a, s, order=0: ndi.gaussian_filter(a, s, order=order, mode='reflect', truncate=4.0)
            out = [g(img, 0.3)]
            for s in sigmas:
                sm = g(img, s)
                out += [sm, ndi.gaussian_laplace(img, s), ndi.gaussian_gradient_magnitude(img, s), sm - g(img, 0.66 * s)]
                gy, gx = g(img, s, (1, 0)), g(img, s, (0, 1))
                out += list(structure_tensor_eigenvalues([g(gy * gy, 0.5 * s), g(gy * gx, 0.5 * s), g(gx * gx, 0.5 * s)]))
                out += list(hessian_matrix_eigvals([g(img, s, (2, 0)), g(img, s, (1, 1)), g(img, s, (0, 2))]))
            return out
        ms_features, planes = timed(features, 'features')
        ours = np.fromfile(d + '/planes.f32', dtype='<f4').reshape(len(planes), n * n)
        worst = max(float(np.max(np.abs(p.ravel() - o)) / max(1e-9, float(np.max(np.abs(p))))) for p, o in zip(planes, ours))

        f = ours.shape[0]
        X = np.fromfile(d + '/train.f32', dtype='<f4').reshape(f, -1).T.copy()
        y = np.fromfile(d + '/train.u8', dtype=np.uint8)
        m = RandomForestClassifier(n_estimators=trees, n_jobs=2, random_state=0, max_samples=min(len(y), max_samples), max_depth=max_depth,
                                   min_samples_leaf=min_samples_leaf, max_features='sqrt', bootstrap=True, criterion='gini')
        t0 = time.perf_counter(); m.fit(X, y); fit_ms = (time.perf_counter() - t0) * 1000.0
        T = ours.T.copy()
        ms_predict, pred = timed(lambda: m.predict(T), 'predict')
        pred.astype(np.uint8).tofile(d + '/peer_pred.u8')
        print(json.dumps({'features_ms': ms_features, 'features_worst_relative': worst, 'fit_ms': fit_ms, 'predict_ms': ms_predict,
                          'nodes': int(sum(e.tree_.node_count for e in m.estimators_)),
                          'features_cpu_ms': cpu['features'], 'predict_cpu_ms': cpu['predict']}))
        """;

    public static int Run(string[] args)
    {
        var (size, repeats, walksOnly, abOnly) = (1024, 3, false, false);
        var (maxDepth, minLeaf) = (new ForestSettings().MaxDepth, new ForestSettings().MinSamplesLeaf);
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--size" when i + 1 < args.Length: size = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--repeats" when i + 1 < args.Length: repeats = Math.Max(1, int.Parse(args[++i], CultureInfo.InvariantCulture)); break;
                case "--walks-only": walksOnly = true; break;
                case "--ab-only": abOnly = walksOnly = true; break;
                case "--max-depth" when i + 1 < args.Length: maxDepth = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--min-leaf" when i + 1 < args.Length: minLeaf = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine("usage: SsbTomo.Benchmarks trainable [--size N] [--repeats N] [--walks-only [--ab-only]] [--max-depth N] [--min-leaf N]");
                    return 2;
            }
        }
        var total = Stopwatch.StartNew();
        string[] phases = ["nmc", "lps", "carbon", "void"];
        var phantom = CathodePhantom.Create(new PhantomOptions(PhantomPreset.Cycled50, 4, size, size, 50, 1));
        var truth = phantom.RenderLabels(0, 4);
        var slices = Enumerable.Range(0, 4).Select(phantom.RenderSlice16).ToArray();
        Console.WriteLine($"trainable segmentation benchmark: cycled-50 phantom, {size}x{size} raw slices, median of {repeats} after one warm-up, "
            + $"{Environment.ProcessorCount} cores, .NET {Environment.Version} (truth in the slice-0 frame: slices 0-3 drift < 1 px)");

        var specs = PixelFeatures.Default2D;
        var bank = PixelFeatures.Count(specs);
        // Training samples: features of slices 0-2 at sparse stroke-like pixels (a lattice of lines, ~2 % of a slice).
        var sparse = new List<LabelledImage>();
        var dense = new List<LabelledImage>();
        for (var z = 0; z < 3; z++)
        {
            var labels = new Image2D<byte>(size, size);
            var all = new Image2D<byte>(size, size, truth.Slice(z).ToArray());
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                    if ((y % 24 == 0 || x % 24 == 0) && (x + y) % 4 == 0) labels[y, x] = all[y, x];
            sparse.Add(new LabelledImage($"slice {z}", slices[z], labels));
            dense.Add(new LabelledImage($"slice {z}", slices[z], all));
        }
        var sparseShare = sparse.Average(s => s.Labels.Pixels.Count(v => v != 0) / (double)(size * size));

        var test = Array.ConvertAll(slices[3].Pixels, v => (float)v);
        float[][] planes = [];
        var tFeatures = Measure.Run(() => planes = PixelFeatures.Compute(test, size, size, specs), repeats);

        var (columns, labelsOf) = Samples(sparse, specs);
        var settings = new ForestSettings(MaxDepth: maxDepth, MinSamplesLeaf: minLeaf);
        var (forest, _) = RandomForest.Train(columns, labelsOf, phases.Length, settings);
        byte[] ours = [];
        var tPredict = Measure.Run(() => ours = forest.Predict(planes, size * size), repeats);
        if (abOnly) return CompareCoding(forest, planes, size * size, repeats, ours);
        var cpuFeatures = CpuMs(() => PixelFeatures.Compute(test, size, size, specs), repeats);
        var cpuPredict = CpuMs(() => forest.Predict(planes, size * size), repeats);
        // The exact vote (every pixel walks until no tree can change its class: the whole forest's argmax) beside the
        // default, whose vote stops once the trees to come are unlikely to change it (RandomForest.VoteStop).
        var exact = forest.Predict(planes, size * size, voteStopRisk: 0);
        var cpuPredictExact = CpuMs(() => forest.Predict(planes, size * size, voteStopRisk: 0), repeats);
        var stoppedAgree = ours.Where((p, i) => p == exact[i]).Count() / (double)ours.Length;
        // The float walk (three gathers a level, float thresholds) on the same forest and planes, for the quantised walk's gain.
        RandomForest.UseCodedWalk = false;
        var cpuPredictFloat = CpuMs(() => forest.Predict(planes, size * size, voteStopRisk: 0), repeats);
        var floatSame = forest.Predict(planes, size * size, voteStopRisk: 0).AsSpan().SequenceEqual(exact);
        RandomForest.UseCodedWalk = true;
        // The scalar walk (four pixels interleaved) on the same forest and planes, for the vector walks' own gain.
        RandomForest.UseVectorWalk = false;
        var cpuPredictScalar = CpuMs(() => forest.Predict(planes, size * size, voteStopRisk: 0), repeats);
        var scalarSame = forest.Predict(planes, size * size, voteStopRisk: 0).AsSpan().SequenceEqual(exact);
        RandomForest.UseVectorWalk = true;
        var walks = $"predict {size}² px, {forest.NodeCount:N0} nodes, quantised walk {(forest.HasCodedWalk ? "on" : "NOT AVAILABLE")} (look-ahead nodes {(forest.HasLookAheadWalk ? "on" : "NOT AVAILABLE")}): "
            + $"{cpuPredict:F0} ms CPU with the vote stopped at risk {RandomForest.DefaultVoteStopRisk} (same class as the exact vote on {stoppedAgree:P3}), exact vote {cpuPredictExact:F0} ms ({cpuPredictExact / cpuPredict:F2}x); "
            + $"exact float gather walk {cpuPredictFloat:F0} ms ({cpuPredictFloat / cpuPredictExact:F2}x the exact quantised walk, same classes: {floatSame}); "
            + $"exact scalar walk {cpuPredictScalar:F0} ms ({cpuPredictScalar / cpuPredictExact:F2}x, same classes: {scalarSame}); wall {tPredict.MedianMs:F0} ms";
        if (walksOnly)
        {
            Console.WriteLine(walks);
            Console.WriteLine($"mean levels per tree walk {forest.MeanLevels(planes, size * size, 97):F2}; coding the pixels alone {CpuMs(() => forest.QuantiseOnly(planes, size * size), repeats):F0} ms CPU");
            PrintTreesWalked(forest, planes, size * size, exact, repeats);
            if (CompareCoding(forest, planes, size * size, repeats, ours) != 0) return 1;
            foreach (var (levels, lookAhead) in new[] { (0, true), (3, true), (4, true), (5, true), (6, true), (RandomForest.DefaultTopLevels, false) })
            {
                forest.UseTopLevels(levels);
                RandomForest.UseLookAheadWalk = lookAhead;
                var cpu = CpuMs(() => forest.Predict(planes, size * size), repeats);
                Console.WriteLine($"quantised walk, top {levels} levels by byte compares, {(lookAhead ? "look-ahead" : "breadth-first")} nodes: {cpu:F0} ms CPU, "
                    + $"same classes: {forest.Predict(planes, size * size).AsSpan().SequenceEqual(ours)}");
            }
            forest.UseTopLevels(RandomForest.DefaultTopLevels);
            RandomForest.UseLookAheadWalk = true;
            foreach (var refill in new[] { true, false, true, false, true, false })
            {
                RandomForest.UseLaneRefill = refill;
                var cpu = CpuMs(() => forest.Predict(planes, size * size), repeats);
                var how = refill ? RandomForest.CanRefillLanes ? "one by one (AVX-512 compress/expand)" : "one by one, NOT AVAILABLE (no AVX-512): as groups" : "as groups of eight";
                Console.WriteLine($"quantised walk, lanes refilled {how}: {cpu:F0} ms CPU, same classes: {forest.Predict(planes, size * size).AsSpan().SequenceEqual(ours)}");
            }
            RandomForest.UseLaneRefill = true;
            foreach (var levels in new[] { 4, 5, 4, 5, 4, 5 })
            {
                forest.UseTopLevels(levels);
                var cpu = CpuMs(() => forest.Predict(planes, size * size), repeats);
                Console.WriteLine($"quantised walk, lanes refilled one by one, top {levels} levels: {cpu:F0} ms CPU, same classes: {forest.Predict(planes, size * size).AsSpan().SequenceEqual(ours)}");
            }
            forest.UseTopLevels(RandomForest.DefaultTopLevels);
            var defaultBlock = RandomForest.CodedBlockPixels;
            foreach (var pixelsPerBlock in new[] { 4096, 65536 })
            {
                RandomForest.CodedBlockPixels = pixelsPerBlock;
                var cpu = CpuMs(() => forest.Predict(planes, size * size), repeats);
                Console.WriteLine($"quantised walk, {pixelsPerBlock} px per block: {cpu:F0} ms CPU, same classes: {forest.Predict(planes, size * size).AsSpan().SequenceEqual(ours)}");
            }
            RandomForest.CodedBlockPixels = defaultBlock;
            foreach (var perRound in new[] { 3, 2, 1, 4, 3, 2, 1, 4 })
            {
                RandomForest.StoppedVoteTreesPerRound = perRound;
                var cpu = CpuMs(() => forest.Predict(planes, size * size), repeats);
                Console.WriteLine($"stopped vote, a check every {perRound} trees after the first 6: {cpu:F0} ms CPU, same class as the exact vote on "
                    + $"{forest.Predict(planes, size * size).Where((p, i) => p == exact[i]).Count() / (double)exact.Length:P3}");
            }
            RandomForest.StoppedVoteTreesPerRound = 3;
            foreach (var compressed in new[] { true, false, true, false, true, false })
            {
                RandomForest.UseCompressedPacking = compressed;
                var cpu = CpuMs(() => forest.Predict(planes, size * size), repeats);
                var how = compressed ? RandomForest.CanCompressPacking ? "AVX-512 byte compression" : "NOT AVAILABLE (no AVX-512 VBMI2): scalar" : "scalar loop";
                Console.WriteLine($"stopped vote, undecided codes packed by {how}: {cpu:F0} ms CPU, same classes: {forest.Predict(planes, size * size).AsSpan().SequenceEqual(ours)}");
            }
            RandomForest.UseCompressedPacking = true;
            Console.WriteLine($"load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
            return floatSame && scalarSame ? 0 : 1;
        }

        var tTrainSparse = Measure.Run(() => PixelClassifier.Train(sparse, phases, phantom.BitDepth, specs, settings), 1);
        var tTrainDense = Measure.Run(() => PixelClassifier.Train(dense, phases, phantom.BitDepth, specs, settings), 1);

        using var dir = new TempDirectory("ssbtomo-trainable-bench");
        File.WriteAllBytes(Path.Combine(dir.Path, "test.f32"), MemoryMarshal.AsBytes(test.AsSpan()).ToArray());
        using (var file = File.Create(Path.Combine(dir.Path, "planes.f32")))
            foreach (var plane in planes) file.Write(MemoryMarshal.AsBytes(plane.AsSpan()));
        using (var file = File.Create(Path.Combine(dir.Path, "train.f32")))
            foreach (var column in columns) file.Write(MemoryMarshal.AsBytes(column.AsSpan()));
        File.WriteAllBytes(Path.Combine(dir.Path, "train.u8"), labelsOf);
        var json = JsonDocument.Parse(PythonOracle.Run(PeerScript, dir.Path, size.ToString(CultureInfo.InvariantCulture), repeats.ToString(CultureInfo.InvariantCulture),
            settings.MaxSamplesPerTree.ToString(CultureInfo.InvariantCulture), "0.7,1.6,3.5,5", settings.Trees.ToString(CultureInfo.InvariantCulture),
            settings.MaxDepth.ToString(CultureInfo.InvariantCulture), settings.MinSamplesLeaf.ToString(CultureInfo.InvariantCulture))).RootElement;
        Console.WriteLine($"forest settings, both: {settings.Trees} trees, bootstrap of min(samples, {settings.MaxSamplesPerTree:N0}) per tree, √F = {(int)Math.Sqrt(bank)} of {bank} features per split, "
            + $"Gini, max depth {settings.MaxDepth}, min samples per leaf {settings.MinSamplesLeaf} (sklearn: n_estimators, max_samples, max_features='sqrt', max_depth, min_samples_leaf; "
            + $"ours splits at 256 quantile bins per feature, sklearn at every distinct value)");
        var peerPrediction = File.ReadAllBytes(Path.Combine(dir.Path, "peer_pred.u8"));
        var testTruth = truth.Slice(3).ToArray();
        double Accuracy(byte[] predicted) => predicted.Where((p, i) => p + 1 == testTruth[i]).Count() / (double)predicted.Length;
        var agree = ours.Where((p, i) => p == peerPrediction[i]).Count() / (double)ours.Length;

        var pixels = (long)size * size;
        string[] header = ["operation", "pixels", "SsbTomo ms", "peer ms", "peer/ours", "agreement"];
        var rows = new List<string[]>
        {
            Row($"feature bank, {bank} planes (σ 0.3; 0.7,1.6,3.5,5 x 6 filters)", pixels, tFeatures.MedianMs, json.GetProperty("features_ms").GetDouble(),
                $"largest |Δ| / plane max = {json.GetProperty("features_worst_relative").GetDouble():G3} (scipy.ndimage + skimage.feature)"),
            Row($"forest predict, 100 trees ({forest.NodeCount:N0} nodes; sklearn {json.GetProperty("nodes").GetInt64():N0})", pixels, tPredict.MedianMs,
                json.GetProperty("predict_ms").GetDouble(),
                $"same class {agree:P1} (exact vote {exact.Where((p, i) => p == peerPrediction[i]).Count() / (double)exact.Length:P1}); accuracy vs truth ours {Accuracy(ours):P1}, sklearn {Accuracy(peerPrediction):P1} (n_jobs=2)"),
            Row($"train: 3 slices, {sparseShare:P1} labelled ({labelsOf.Length:N0} px), features + 100 trees", 3 * pixels, tTrainSparse.MedianMs, null,
                $"sklearn fit on the same samples {json.GetProperty("fit_ms").GetDouble():F0} ms (max_samples {settings.MaxSamplesPerTree:N0}, n_jobs=2)"),
            Row("train: 3 slices, every pixel labelled, features + 100 trees", 3 * pixels, tTrainDense.MedianMs, null, "worst case for the issue's one-minute budget"),
        };
        ResultTable.Print(header, rows, 1, 4);
        Console.WriteLine("peer/ours > 1: SsbTomo is faster. Peer times are measured inside python (time.perf_counter), file loading not timed.");
        Console.WriteLine($"CPU time per call (all threads; steadier than wall time on a loaded machine): features ours {cpuFeatures:F0} ms, peer "
            + $"{json.GetProperty("features_cpu_ms").GetDouble():F0} ms ({json.GetProperty("features_cpu_ms").GetDouble() / cpuFeatures:F2}x); predict ours {cpuPredict:F0} ms, "
            + $"peer {json.GetProperty("predict_cpu_ms").GetDouble():F0} ms ({json.GetProperty("predict_cpu_ms").GetDouble() / cpuPredict:F2}x; the exact vote {cpuPredictExact:F0} ms, "
            + $"{json.GetProperty("predict_cpu_ms").GetDouble() / cpuPredictExact:F2}x; accuracy vs truth of the exact vote {Accuracy(exact):P2}, of the stopped vote {Accuracy(ours):P2})");
        Console.WriteLine(walks);
        Console.WriteLine($"load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine($"total {total.Elapsed.TotalSeconds:F0} s");
        return json.GetProperty("features_worst_relative").GetDouble() > 1e-3 ? 1 : 0;
    }

    /// <summary>
    /// Where the stopped vote's walk goes: the histogram of trees walked per pixel and their mean; the CPU of the first
    /// round (every pixel walks the trees before the first possible stop) against the whole prediction, each less the
    /// pixels' coding; and, from each tree's vote on every 7th pixel, what stopping the pixels whose first 3 or 4 trees
    /// agree would save (tree walks, at the mean CPU of one) and how many of those would then differ from the exact vote.
    /// </summary>
    private static void PrintTreesWalked(RandomForest forest, float[][] planes, int pixels, byte[] exact, int repeats)
    {
        var (classes, walked) = forest.PredictCountingTrees(planes, pixels, RandomForest.DefaultVoteStopRisk);
        var trees = forest.TreeCount;
        var histogram = new long[trees + 1];
        foreach (var w in walked) histogram[w]++;
        var treeWalks = walked.Sum(w => (long)w);
        var firstRound = walked.Min();
        Console.WriteLine($"stopped vote: trees walked per pixel, mean {treeWalks / (double)pixels:F2} (share of pixels by trees walked: "
            + string.Join(", ", Enumerable.Range(0, trees + 1).Where(t => histogram[t] > 0).Select(t => $"{t}: {histogram[t] / (double)pixels:P2}"))
            + $"); same class as the exact vote {classes.Where((c, i) => c == exact[i]).Count() / (double)pixels:P3}");
        var cpuCoding = CpuMs(() => forest.QuantiseOnly(planes, pixels), repeats);
        var cpuFirst = CpuMs(() => forest.WalkFirstTreesOnly(planes, pixels, firstRound), repeats);
        var cpuAll = CpuMs(() => forest.Predict(planes, pixels), repeats);
        var (walkFirst, walkAll) = (cpuFirst - cpuCoding, cpuAll - cpuCoding);
        Console.WriteLine($"stopped vote: coding {cpuCoding:F0} ms CPU, first round ({firstRound} trees for every pixel, {(double)firstRound * pixels / treeWalks:P1} of the tree walks) "
            + $"{walkFirst:F0} ms, the whole prediction {cpuAll:F0} ms: the first round is {walkFirst / cpuAll:P1} of the prediction's CPU, {walkFirst / walkAll:P1} of its walks'");
        // The later rounds' tree walks at the first round's cost per walk, against what they took: the rest is the rounds'
        // decisions and packing of the undecided pixels, and the deeper paths of contested pixels.
        var laterAtFirstCost = walkFirst / ((double)firstRound * pixels) * (treeWalks - (long)firstRound * pixels);
        Console.WriteLine($"stopped vote: the later rounds took {walkAll - walkFirst:F0} ms CPU, their {treeWalks - (long)firstRound * pixels:N0} tree walks at the first round's "
            + $"cost per walk {laterAtFirstCost:F0} ms; the other {walkAll - walkFirst - laterAtFirstCost:F0} ms are decisions, packing and deeper paths");
        const int every = 7;
        var votes = forest.TreeVotes(planes, pixels, every);
        var sampled = (pixels + every - 1) / every;
        var sampledWalks = Enumerable.Range(0, sampled).Sum(s => (long)walked[s * every]);
        foreach (var first in new[] { 3, 4 })
        {
            long unanimous = 0, saved = 0, differ = 0;
            for (var s = 0; s < sampled; s++)
            {
                var row = votes.AsSpan(s * trees, first);
                if (row.IndexOfAnyExcept(row[0]) >= 0) continue;
                unanimous++;
                saved += Math.Max(0, walked[s * every] - first);
                if (row[0] != exact[s * every]) differ++;
            }
            Console.WriteLine($"stopped vote, estimate from every {every}th pixel: stopping the pixels whose first {first} trees agree ({unanimous / (double)sampled:P2} of them) "
                + $"would save {saved / (double)sampledWalks:P1} of the tree walks, ~{saved / (double)sampledWalks * walkAll:F0} ms CPU at the mean cost of a walk; "
                + $"{differ / (double)sampled:P3} of all pixels would then differ from the exact vote (agree in the first {first} trees, not in the forest)");
        }
    }

    /// <summary>
    /// In-process alternations (whole-run CPU swings with the machine's load, so only alternations in one process
    /// compare), five of each pair: the pixels' coding by AVX-512 permutes against the AVX2 gathers (the medians of the
    /// coding alone and of the whole prediction), the quantised walk's sums in a held buffer against a new array per
    /// block, the rounds' decisions by the vector top two against the scalar scan, and all three on against all off;
    /// each time whether the classes stayed the same. Nonzero when they did not.
    /// </summary>
    private static int CompareCoding(RandomForest forest, float[][] planes, int pixels, int repeats, byte[] ours)
    {
        var same = true;
        var wideName = RandomForest.CanCodeWide ? "AVX-512 permutes" : "AVX-512 permutes NOT AVAILABLE (AVX2 gathers)";
        same &= Alternate(forest, planes, pixels, repeats, ours, "coding", wideName, "AVX2 gathers", on => RandomForest.UseWideCoding = on, withCoding: true);
        same &= Alternate(forest, planes, pixels, repeats, ours, "sums", "held per thread", "a new array per block", on => RandomForest.UseHeldSums = on, withCoding: false);
        same &= Alternate(forest, planes, pixels, repeats, ours, "decisions", "vector top two", "scalar top two", on => RandomForest.UseVectorDecisions = on, withCoding: false);
        same &= Alternate(forest, planes, pixels, repeats, ours, "all three", "on", "off",
            on => (RandomForest.UseWideCoding, RandomForest.UseHeldSums, RandomForest.UseVectorDecisions) = (on, on, on), withCoding: true);
        return same ? 0 : 1;
    }

    /// <summary>Five alternations of a switch: median prediction CPU (and coding CPU) for each setting; true when the classes stayed the same.</summary>
    private static bool Alternate(RandomForest forest, float[][] planes, int pixels, int repeats, byte[] ours, string what, string onName, string offName, Action<bool> set, bool withCoding)
    {
        var (coding, predict) = (new Dictionary<bool, List<double>> { [true] = [], [false] = [] }, new Dictionary<bool, List<double>> { [true] = [], [false] = [] });
        var same = true;
        for (var round = 0; round < 5; round++)
            foreach (var on in new[] { true, false })
            {
                set(on);
                if (withCoding) coding[on].Add(CpuMs(() => forest.QuantiseOnly(planes, pixels), repeats));
                predict[on].Add(CpuMs(() => forest.Predict(planes, pixels), repeats));
                same &= forest.Predict(planes, pixels).AsSpan().SequenceEqual(ours);
            }
        set(true);
        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        string Cost(bool on) => withCoding ? $"coding {Median(coding[on]):F0} ms CPU, prediction {Median(predict[on]):F0} ms" : $"prediction {Median(predict[on]):F0} ms CPU";
        Console.WriteLine($"{what}, medians of 5 alternations: {onName} {Cost(true)}; {offName} {Cost(false)}; prediction per alternation "
            + string.Join(", ", predict[true].Zip(predict[false], (a, b) => $"{a:F0}/{b:F0}")) + $"; same classes: {same}; load {File.ReadAllText("/proc/loadavg").Trim()}");
        return same;
    }

    /// <summary>Process CPU time (every thread) per call, averaged over <paramref name="repeats"/> after one warm-up.</summary>
    private static double CpuMs(Action action, int repeats)
    {
        action();
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        for (var r = 0; r < repeats; r++) action();
        return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds / repeats;
    }

    /// <summary>Feature columns and 0-based labels of every labelled pixel, as <see cref="PixelClassifier.Train"/> gathers them.</summary>
    private static (float[][] Columns, byte[] Labels) Samples(IReadOnlyList<LabelledImage> images, IReadOnlyList<FeatureSpec> specs)
    {
        var count = PixelFeatures.Count(specs);
        var columns = Enumerable.Range(0, count).Select(_ => new List<float>()).ToArray();
        var labels = new List<byte>();
        foreach (var item in images)
        {
            var planes = PixelFeatures.Compute(Array.ConvertAll(item.Image.Pixels, v => (float)v), item.Image.Height, item.Image.Width, specs);
            for (var p = 0; p < item.Labels.Pixels.Length; p++)
            {
                if (item.Labels.Pixels[p] == 0) continue;
                for (var f = 0; f < count; f++) columns[f].Add(planes[f][p]);
                labels.Add((byte)(item.Labels.Pixels[p] - 1));
            }
        }
        return (columns.Select(c => c.ToArray()).ToArray(), labels.ToArray());
    }

    private static string[] Row(string operation, long pixels, double oursMs, double? peerMs, string agreement) =>
    [
        operation,
        pixels.ToString("N0", CultureInfo.InvariantCulture),
        oursMs.ToString("F1", CultureInfo.InvariantCulture),
        peerMs is { } p ? p.ToString("F1", CultureInfo.InvariantCulture) : "-",
        peerMs is { } q ? (q / oursMs).ToString("F2", CultureInfo.InvariantCulture) : "-",
        agreement,
    ];
}
