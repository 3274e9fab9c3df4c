using System.Runtime.InteropServices;
using System.Globalization;
using SsbTomo.Imaging.Classification;
using SsbTomo.Imaging.Tests.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Classification;

public class RandomForestTests
{
    /// <summary>
    /// Three classes by region of (x0, x1) (an XOR-like layout no single split separates) with label noise, plus
    /// <paramref name="noiseFeatures"/> features of pure noise.
    /// </summary>
    private static (float[][] Columns, byte[] Labels) Problem(int n, int noiseFeatures, int seed, double flip = 0.05)
    {
        var random = new Random(seed);
        var columns = Enumerable.Range(0, 2 + noiseFeatures).Select(_ => new float[n]).ToArray();
        var labels = new byte[n];
        for (var i = 0; i < n; i++)
        {
            var (a, b) = (random.NextDouble() * 2 - 1, random.NextDouble() * 2 - 1);
            columns[0][i] = (float)a;
            columns[1][i] = (float)b;
            for (var f = 2; f < columns.Length; f++) columns[f][i] = (float)random.NextDouble();
            byte label = a * b > 0 ? (byte)0 : (a * a + b * b < 0.25 ? (byte)2 : (byte)1);
            labels[i] = random.NextDouble() < flip ? (byte)random.Next(3) : label;
        }
        return (columns, labels);
    }

    private static double Accuracy(byte[] predicted, byte[] truth) => predicted.Zip(truth).Count(p => p.First == p.Second) / (double)truth.Length;

    [Fact]
    public void Learns_a_layout_no_single_split_separates_and_its_out_of_bag_estimate_agrees_with_held_out_data()
    {
        var (train, trainLabels) = Problem(6000, noiseFeatures: 4, seed: 1);
        var (test, testLabels) = Problem(4000, noiseFeatures: 4, seed: 2, flip: 0);
        var (forest, report) = RandomForest.Train(train, trainLabels, 3, new ForestSettings(Trees: 60, Seed: 5));

        var heldOut = Accuracy(forest.Predict(test, testLabels.Length), testLabels);
        Assert.True(heldOut > 0.95, $"held-out accuracy {heldOut:0.000}");
        // 5 % of training labels were re-drawn (2/3 of those wrong): out-of-bag accuracy on noisy labels sits ~3 % lower.
        Assert.InRange(report.OutOfBagAccuracy, heldOut - 0.08, heldOut + 0.01);
        Assert.Equal(6000, report.OutOfBagSamples);
        Assert.Equal(report.OutOfBagSamples, report.Confusion.Sum(row => row.Sum()));
        Assert.Equal(trainLabels.Length, report.SamplesPerClass.Sum());
        // Class 2 is the small one (a tenth of the samples), so the re-drawn labels are ~15 % of its labels.
        Assert.All(report.OutOfBagAccuracyPerClass, a => Assert.True(a > 0.7, $"per-class out-of-bag accuracy {a:0.000}"));
        Assert.True(report.OutOfBagAccuracyPerClass[0] > 0.9 && report.OutOfBagAccuracyPerClass[1] > 0.9, string.Join(", ", report.OutOfBagAccuracyPerClass));
        // The two informative features carry the splits; the noise features only what overfitting the label noise takes.
        Assert.Equal(1.0, report.FeatureImportance.Sum(), 6);
        Assert.True(report.FeatureImportance[0] + report.FeatureImportance[1] > 0.7, string.Join(", ", report.FeatureImportance.Select(v => v.ToString("0.000"))));
    }

    [Fact]
    public void Same_seed_gives_the_same_forest_bit_for_bit_and_another_seed_another_forest()
    {
        var (train, labels) = Problem(3000, noiseFeatures: 3, seed: 3);
        var settings = new ForestSettings(Trees: 20, MaxSamplesPerTree: 1000, Seed: 11);
        var a = RandomForest.Train(train, labels, 3, settings);
        var b = RandomForest.Train(train, labels, 3, settings);
        var c = RandomForest.Train(train, labels, 3, settings with { Seed = 12 });
        Assert.Equal(a.Forest.ToBytes(), b.Forest.ToBytes());
        Assert.Equal(a.Report.Confusion, b.Report.Confusion);
        Assert.NotEqual(a.Forest.ToBytes(), c.Forest.ToBytes());
    }

    [Fact]
    public void A_forest_read_back_predicts_the_same_and_a_damaged_one_is_refused()
    {
        var (train, labels) = Problem(2000, noiseFeatures: 2, seed: 4);
        var (forest, _) = RandomForest.Train(train, labels, 3, new ForestSettings(Trees: 15));
        var bytes = forest.ToBytes();
        var again = RandomForest.FromBytes(bytes);
        Assert.Equal(forest.PredictProbabilities(train, labels.Length), again.PredictProbabilities(train, labels.Length));
        Assert.Throws<InvalidDataException>(() => RandomForest.FromBytes(bytes[..(bytes.Length / 2)]));
        var corrupt = (byte[])bytes.Clone();
        corrupt[0] = 9; // format version
        Assert.Contains("format version 9", Assert.Throws<InvalidDataException>(() => RandomForest.FromBytes(corrupt)).Message);
    }

    [Fact]
    public void Probabilities_are_tree_averaged_class_frequencies()
    {
        var (train, labels) = Problem(2000, noiseFeatures: 1, seed: 6);
        var (forest, _) = RandomForest.Train(train, labels, 3, new ForestSettings(Trees: 10));
        var p = forest.PredictProbabilities(train, 200);
        var classes = forest.Predict(train, 200, voteStopRisk: 0);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(1.0, p[3 * i] + p[3 * i + 1] + p[3 * i + 2], 5);
            Assert.Equal(classes[i], (byte)(Array.IndexOf(p, p.Skip(3 * i).Take(3).Max(), 3 * i, 3) - 3 * i));
        }
    }

    [Fact]
    public void A_split_across_a_gap_the_node_has_no_sample_in_sits_in_the_middle_of_the_gap()
    {
        // Feature 0 sets class 2 apart (the root's best split: class 2 is the largest); feature 1 has class 0 at 0..9,
        // class 1 at 100..109 and class 2 filling 10..99, so the node of classes 0 and 1 has a gap of empty bins.
        var columns = new[] { new List<float>(), new List<float>() };
        var labels = new List<byte>();
        void Add(float a, float b, byte label)
        {
            columns[0].Add(a);
            columns[1].Add(b);
            labels.Add(label);
        }
        for (var repeat = 0; repeat < 10; repeat++)
            for (var v = 0; v < 10; v++)
            {
                Add(0, v, 0);
                Add(0, 100 + v, 1);
            }
        for (var repeat = 0; repeat < 3; repeat++)
            for (var v = 10; v < 100; v++) Add(1, v, 2);
        var (forest, _) = RandomForest.Train(columns.Select(c => c.ToArray()).ToArray(), labels.ToArray(), 3, new ForestSettings(Trees: 25, FeaturesPerSplit: 2));
        // Halfway between 9 and 100 is 54.5: hugging the class-0 samples would put 40 on class 1's side.
        var probes = new[] { new float[] { 0, 0, 0, 0 }, new float[] { 9.5f, 40, 70, 99.5f } };
        Assert.Equal(new byte[] { 0, 0, 1, 1 }, forest.Predict(probes, 4));
    }

    [Fact]
    public void Class_weights_scale_the_summed_votes_and_keep_the_walks_and_probabilities_consistent()
    {
        var (train, labels) = Problem(3000, noiseFeatures: 2, seed: 8);
        var (forest, _) = RandomForest.Train(train, labels, 3, new ForestSettings(Trees: 30));
        double[] weights = [0.5, 1.0, 3.0];
        var weighted = forest.WithClassWeights(weights);
        Assert.True(weighted.HasCodedWalk, "the weighted forest must still take the quantised walk");
        var n = labels.Length;
        var before = forest.PredictProbabilities(train, n);
        var after = weighted.PredictProbabilities(train, n);
        var classes = weighted.Predict(train, n, voteStopRisk: 0);
        var changed = 0;
        for (var i = 0; i < n; i++)
        {
            var shifted = Enumerable.Range(0, 3).Select(c => before[3 * i + c] * weights[c]).ToArray();
            var total = shifted.Sum();
            for (var c = 0; c < 3; c++) Assert.True(Math.Abs(shifted[c] / total - after[3 * i + c]) < 1e-5, $"pixel {i} class {c}: {after[3 * i + c]}, expected {shifted[c] / total}");
            var best = Array.IndexOf(shifted, shifted.Max());
            if (Math.Abs(shifted.OrderDescending().ElementAt(1) - shifted.Max()) > 1e-4) Assert.Equal(best, classes[i]);
            if (best != Array.IndexOf(before, before.Skip(3 * i).Take(3).Max(), 3 * i, 3) - 3 * i) changed++;
        }
        Assert.True(changed > 0, "the weights changed no pixel's class");
        // The scalar and vector walks agree on the weighted forest too, and it reads back as written.
        RandomForest.UseVectorWalk = false;
        try
        {
            Assert.Equal(classes, weighted.Predict(train, n, voteStopRisk: 0));
        }
        finally
        {
            RandomForest.UseVectorWalk = true;
        }
        Assert.Equal(classes, RandomForest.FromBytes(weighted.ToBytes()).Predict(train, n, voteStopRisk: 0));
        Assert.Throws<ArgumentException>(() => forest.WithClassWeights([1.0, 0.0, 1.0]));
    }

    [Fact]
    public void Held_out_accuracy_is_within_two_points_of_scikit_learns_random_forest_on_the_same_data()
    {
        using var dir = new TempDirectory();
        var (train, trainLabels) = Problem(5000, noiseFeatures: 6, seed: 7);
        var (test, testLabels) = Problem(5000, noiseFeatures: 6, seed: 8, flip: 0);
        OracleIo.Write(Path.Combine(dir.Path, "train.raw"), train.SelectMany(c => c).ToArray());
        OracleIo.Write(Path.Combine(dir.Path, "test.raw"), test.SelectMany(c => c).ToArray());
        OracleIo.Write(Path.Combine(dir.Path, "ytrain.raw"), trainLabels);
        OracleIo.Write(Path.Combine(dir.Path, "ytest.raw"), testLabels);
        var sklearn = double.Parse(PythonOracle.Run(OracleIo.Python("""
            from sklearn.ensemble import RandomForestClassifier
            d = sys.argv[1]
            X = np.fromfile(d + '/train.raw', dtype='<f4').reshape(8, -1).T
            T = np.fromfile(d + '/test.raw', dtype='<f4').reshape(8, -1).T
            y = np.fromfile(d + '/ytrain.raw', dtype=np.uint8)
            t = np.fromfile(d + '/ytest.raw', dtype=np.uint8)
            m = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
            print((m.predict(T) == t).mean())
            """), dir.Path).Trim(), CultureInfo.InvariantCulture);

        var (forest, _) = RandomForest.Train(train, trainLabels, 3, new ForestSettings());
        var ours = Accuracy(forest.Predict(test, testLabels.Length), testLabels);
        Assert.True(Math.Abs(ours - sklearn) < 0.02, $"ours {ours:0.0000}, scikit-learn {sklearn:0.0000}");
    }

    /// <summary>
    /// The AVX2 walks (eight pixels per gather) give the scalar walk's probabilities bit for bit, on pixel counts around
    /// the group of eight, the float walk's block of 256 and the quantised walk's block, with NaN and infinite feature
    /// values (NaN goes right in all), and with half the pixels' values copied from training samples, so that values
    /// equal to a split's threshold (quantile edges are sample values) are walked; their classes-only walks, which let a
    /// pixel leave once its class is decided (checked after trees 16, 19, 22, ... of 30 here), give the same classes (a
    /// bound 3 too loose fails this). Both vector walks are compared: the float one (three gathers a level) and the
    /// quantised one (ranks and byte codes, <c>RandomForest.Coded.cs</c>), which the trained forest must be able to take,
    /// with 0 to 7 top levels evaluated by byte compares (32 pixels a compare, the rest one by one; 0: gathers from the
    /// root; 7: deeper than some of these trees' leaves, so paths end on leaves copied into several entry slots), on both
    /// its node layouts (breadth first, and the look-ahead preorder whose nodes hold their children's features).
    /// </summary>
    [Fact]
    public void The_vector_walks_give_the_scalar_walk_s_probabilities_bit_for_bit()
    {
        Assert.True(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "this test compares the AVX2 walks with the scalar one: it needs AVX2");
        var (train, labels) = Problem(4000, noiseFeatures: 5, seed: 20);
        var (forest, _) = RandomForest.Train(train, labels, 3, new ForestSettings(Trees: 30));
        Assert.True(forest.HasCodedWalk);
        var block = RandomForest.CodedBlockPixels;
        foreach (var pixels in new[] { 8, 9, 15, 40, 57, 256, 263, 1003, block + 9, 2 * block + 40 })
        {
            var (test, _) = Problem(pixels, noiseFeatures: 5, seed: 21 + pixels);
            for (var i = 0; i < pixels; i += 2)
                for (var f = 0; f < test.Length; f++) test[f][i] = train[f][(i * 7 + f) % train[f].Length];
            test[0][pixels / 2] = float.NaN;
            test[1][pixels - 1] = float.PositiveInfinity;
            test[2][0] = float.NegativeInfinity;
            test[3][pixels / 3] = float.NaN;
            (float[] Probabilities, byte[] Classes) Walk(bool vector, bool coded)
            {
                try
                {
                    (RandomForest.UseVectorWalk, RandomForest.UseCodedWalk) = (vector, coded);
                    return (forest.PredictProbabilities(test, pixels), forest.Predict(test, pixels));
                }
                finally
                {
                    (RandomForest.UseVectorWalk, RandomForest.UseCodedWalk) = (true, true);
                }
            }
            var scalar = Walk(vector: false, coded: false);
            var gather = Walk(vector: true, coded: false);
            Assert.Equal(scalar.Probabilities, gather.Probabilities);
            Assert.Equal(scalar.Classes, gather.Classes);
            try
            {
                foreach (var (lookAhead, refill) in new[] { (true, true), (true, false), (false, false) })
                    foreach (var levels in new[] { RandomForest.DefaultTopLevels, 0, 1, 3, 4, 7 })
                    {
                        forest.UseTopLevels(levels);
                        Assert.True(forest.HasLookAheadWalk);
                        (RandomForest.UseLookAheadWalk, RandomForest.UseLaneRefill) = (lookAhead, refill);
                        var coded = Walk(vector: true, coded: true);
                        var walk = $"{pixels} pixels, {levels} top levels, look-ahead {lookAhead}, lanes refilled one by one {refill}";
                        Assert.True(scalar.Probabilities.AsSpan().SequenceEqual(coded.Probabilities), $"{walk}: probabilities differ");
                        Assert.True(scalar.Classes.AsSpan().SequenceEqual(coded.Classes), $"{walk}: classes differ");
                    }
            }
            finally
            {
                forest.UseTopLevels(RandomForest.DefaultTopLevels);
                (RandomForest.UseLookAheadWalk, RandomForest.UseLaneRefill) = (true, true);
            }
        }
    }

    /// <summary>
    /// <see cref="RandomForest.Predict"/> lets a pixel leave the walk once no remaining tree can change its class: its
    /// classes must be the argmax of the whole forest's sums (the scalar walk adds every tree; lowest class on ties) for
    /// every pixel, on forests grown here (pure leaves, 2 to 6 classes, half the labels random so that many pixels' votes
    /// are close, an even number of trees so that some tie exactly) and on random forests whose leaves hold arbitrary
    /// frequencies (sums that are not whole numbers, leads within float rounding of the bound), at pixel counts that are
    /// not multiples of the lanes, the 32-pixel compares or the blocks. Every walk the machine has is compared.
    /// </summary>
    [Fact]
    public void Classes_decided_before_the_last_tree_are_the_whole_forest_s_argmax()
    {
        Assert.True(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "this test compares the AVX2 walks with the scalar one: it needs AVX2");
        var block = RandomForest.CodedBlockPixels;
        for (var classes = 2; classes <= 6; classes++)
        {
            var random = new Random(100 + classes);
            var (train, labels) = Labelled(3000, classes, random);
            var (grown, _) = RandomForest.Train(train, labels, classes, new ForestSettings(Trees: 20 + 2 * classes, Seed: classes));
            var forests = new[] { ("grown", grown), ("random leaves", RandomForestFile(classes, features: 6, trees: 31 + classes, random)) };
            foreach (var (name, forest) in forests)
            {
                Assert.True(forest.HasCodedWalk && forest.HasLookAheadWalk, $"{name}, {classes} classes: the quantised look-ahead walk must run");
                foreach (var pixels in new[] { 1, 7, 33, 1001, block + 13 })
                {
                    var (test, _) = Labelled(pixels, classes, random);
                    // Half the pixels are training samples, where the trees agree most.
                    for (var i = 0; i < pixels; i += 2)
                        for (var f = 0; f < test.Length; f++) test[f][i] = train[f][random.Next(train[f].Length)];
                    byte[] full;
                    RandomForest.UseVectorWalk = false;
                    try { full = forest.Predict(test, pixels, voteStopRisk: 0); }
                    finally { RandomForest.UseVectorWalk = true; }
                    foreach (var (coded, refill) in new[] { (true, true), (true, false), (false, false) })
                    {
                        (RandomForest.UseCodedWalk, RandomForest.UseLaneRefill) = (coded, refill);
                        try
                        {
                            var early = forest.Predict(test, pixels, voteStopRisk: 0);
                            var first = Enumerable.Range(0, pixels).FirstOrDefault(i => early[i] != full[i], -1);
                            Assert.True(first < 0, $"{name}, {classes} classes, {pixels} pixels, coded {coded}, refill {refill}: pixel {first} gets {(first < 0 ? 0 : early[first])}, the whole forest {(first < 0 ? 0 : full[first])}");
                        }
                        finally
                        {
                            (RandomForest.UseCodedWalk, RandomForest.UseLaneRefill) = (true, true);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The rounds' decisions by the vector top two (rows of four sums) and by the scalar scan: the same class and the same
    /// number of trees walked for every pixel, with the exact and the stopped vote, on grown forests (whole-number sums,
    /// an even number of trees so that some tie) and on forests whose leaves hold arbitrary frequencies (sums within float
    /// rounding of the bounds), 2 to 6 classes, on the quantised walk (rows padded to four sums up to four classes) and
    /// the float walk (rows of k sums: four classes only).
    /// </summary>
    [Fact]
    public void The_vector_top_two_decides_every_pixel_as_the_scalar_scan()
    {
        for (var classes = 2; classes <= 6; classes++)
        {
            var random = new Random(300 + classes);
            var (train, labels) = Labelled(3000, classes, random);
            var (grown, _) = RandomForest.Train(train, labels, classes, new ForestSettings(Trees: 40, Seed: classes));
            foreach (var (name, forest) in new[] { ("grown", grown), ("random leaves", RandomForestFile(classes, features: 6, trees: 41, random)) })
            {
                const int Pixels = 3001;
                var (test, _) = Labelled(Pixels, classes, random);
                for (var i = 0; i < Pixels; i += 2)
                    for (var f = 0; f < test.Length; f++) test[f][i] = train[f][random.Next(train[f].Length)];
                foreach (var coded in new[] { true, false })
                    foreach (var risk in new[] { 0, RandomForest.DefaultVoteStopRisk })
                    {
                        (byte[] Classes, int[] Walked) Decide(bool vector)
                        {
                            (RandomForest.UseCodedWalk, RandomForest.UseVectorDecisions) = (coded, vector);
                            try { return forest.PredictCountingTrees(test, Pixels, risk); }
                            finally { (RandomForest.UseCodedWalk, RandomForest.UseVectorDecisions) = (true, true); }
                        }
                        var (vectorTopTwo, scalarScan) = (Decide(vector: true), Decide(vector: false));
                        var first = Enumerable.Range(0, Pixels).FirstOrDefault(i => vectorTopTwo.Classes[i] != scalarScan.Classes[i] || vectorTopTwo.Walked[i] != scalarScan.Walked[i], -1);
                        Assert.True(first < 0, $"{name}, {classes} classes, coded walk {coded}, risk {risk}: pixel {first} gets class {(first < 0 ? 0 : vectorTopTwo.Classes[first])} after "
                            + $"{(first < 0 ? 0 : vectorTopTwo.Walked[first])} trees, the scalar scan {(first < 0 ? 0 : scalarScan.Classes[first])} after {(first < 0 ? 0 : scalarScan.Walked[first])}");
                    }
            }
        }
    }

    /// <summary>
    /// Packing the undecided pixels' codes between rounds: each row's codes of the kept pixels, in order, at its start,
    /// with the AVX-512 byte compression (where the CPU has it) and the scalar loop, for kept sets that end inside a
    /// block, skip whole blocks, keep everything or one pixel; the other rows and every row's tail beyond are not read as
    /// kept codes.
    /// </summary>
    [Fact]
    public void Packed_codes_are_the_kept_pixels_codes_in_order_with_either_packing()
    {
        var random = new Random(11);
        foreach (var active in new[] { 1, 63, 64, 65, 200, 1000, 4096 })
            foreach (var share in new[] { 0.0, 0.1, 0.5, 0.97, 1.0 })
                foreach (var compressed in new[] { true, false })
                {
                    const int Rows = 5;
                    var rowStride = ((active + 63) & ~63) + 64;
                    var offset = 64;
                    var original = new sbyte[offset + Rows * rowStride];
                    random.NextBytes(MemoryMarshal.AsBytes(original.AsSpan()));
                    var keptFrom = Enumerable.Range(0, active).Where(j => random.NextDouble() < share).ToArray();
                    if (keptFrom.Length == 0) keptFrom = [random.Next(active)];
                    if (share == 0.1) keptFrom = keptFrom.Where(j => j < 64 || j >= 192).ToArray(); // whole blocks with nothing kept
                    var codes = (sbyte[])original.Clone();
                    RandomForest.UseCompressedPacking = compressed;
                    try { RandomForest.PackCodes(codes, offset, rowStride, Rows, keptFrom); }
                    finally { RandomForest.UseCompressedPacking = true; }
                    for (var f = 0; f < Rows; f++)
                    {
                        var start = offset + f * rowStride;
                        var expected = keptFrom.Select(j => original[start + j]).ToArray();
                        Assert.True(expected.AsSpan().SequenceEqual(codes.AsSpan(start, keptFrom.Length)),
                            $"{active} active, {keptFrom.Length} kept, compressed {compressed}: row {f} differs");
                    }
                    Assert.True(original.AsSpan(0, offset).SequenceEqual(codes.AsSpan(0, offset)), "the bytes before the first row changed");
                }
    }

    /// <summary>
    /// The stopped vote's chance of a change (<see cref="RandomForest.DefaultVoteStopRisk"/>): with no tree walked the
    /// leader's share of the trees to come is uniform, so P(X ≤ x) = (x + 1)/(m + 1); the other values are
    /// scipy.stats.betabinom(m, n + 1, t − n + 1).cdf(⌊(t − n + m − s·n)/(s + 1)⌋) (Debian python3-scipy, 2026-12-02).
    /// </summary>
    [Theory]
    [InlineData(100, 0, 0, 1.0, 51.0 / 101)]
    [InlineData(40, 0, 0, 0.5, 27.0 / 41)]
    [InlineData(100, 10, 9, 1.0, 0.00431930991340484)]
    [InlineData(100, 20, 15, 1.0, 0.007453211587127274)]
    [InlineData(100, 12, 12, 0.5, 0.0031089176325096546)]
    [InlineData(50, 7, 6, 1.0, 0.02827939686512909)]
    [InlineData(100, 6, 6, 1.0, 0.006731261840237221)]
    [InlineData(100, 30, 18, 0.8, 0.2854611151412581)]
    public void The_chance_that_the_trees_to_come_overturn_the_leader_is_the_beta_binomial_tail(int trees, int walked, int votes, double scale, double expected)
    {
        Assert.Equal(expected, RandomForest.VoteLossChance(trees, walked, votes, scale), 12);
    }

    /// <summary>
    /// The default vote stops once the trees to come are unlikely to change a pixel's class: on forests with many close
    /// votes (half the labels random) it gives the whole forest's class to all but a share of the pixels well under its
    /// risk, every pixel whose trees all agree gets it, and a pixel gets the same class whichever walk runs and however
    /// many pixels share its call (blocks, lanes), so the labels of a stack do not depend on its chunks.
    /// </summary>
    [Fact]
    public void The_stopped_vote_keeps_the_whole_forest_s_class_on_nearly_every_pixel_and_is_the_same_on_every_walk()
    {
        var block = RandomForest.CodedBlockPixels;
        foreach (var (classes, clean) in new[] { (2, false), (3, false), (5, false), (2, true), (3, true) })
        {
            var random = new Random(200 + classes);
            var (train, labels) = Labelled(3000, classes, random);
            // Clean labels (the bands alone): unanimous votes inside the bands; else half the labels random: close votes.
            if (clean)
                for (var i = 0; i < labels.Length; i++) labels[i] = (byte)Math.Min((int)((train[0][i] + train[1][i]) / 2 * classes), classes - 1);
            var (forest, _) = RandomForest.Train(train, labels, classes, new ForestSettings(Trees: 100, Seed: classes));
            var pixels = block + 517;
            var (test, _) = Labelled(pixels, classes, random);
            for (var i = 0; i < pixels; i += 2)
                for (var f = 0; f < test.Length; f++) test[f][i] = train[f][random.Next(train[f].Length)];
            var exact = forest.Predict(test, pixels, voteStopRisk: 0);
            var stopped = forest.Predict(test, pixels);
            var probabilities = forest.PredictProbabilities(test, pixels);
            var (differ, unanimous) = (0, 0);
            for (var i = 0; i < pixels; i++)
            {
                if (stopped[i] != exact[i]) differ++;
                if (probabilities[i * classes + exact[i]] == 1f)
                {
                    unanimous++;
                    Assert.Equal(exact[i], stopped[i]);
                }
            }
            if (clean) Assert.True(unanimous > pixels / 20, $"{classes} classes: only {unanimous} unanimous pixels, the test needs more");
            Assert.True(differ <= 0.005 * pixels, $"{classes} classes: {differ} of {pixels} pixels differ from the whole forest's class");
            // A pixel's class does not depend on the walk or on the pixels beside it in the call.
            foreach (var (coded, vector, refill) in new[] { (true, true, false), (false, true, false), (false, false, false) })
            {
                (RandomForest.UseCodedWalk, RandomForest.UseVectorWalk, RandomForest.UseLaneRefill) = (coded, vector, refill);
                try { Assert.Equal(stopped, forest.Predict(test, pixels)); }
                finally { (RandomForest.UseCodedWalk, RandomForest.UseVectorWalk, RandomForest.UseLaneRefill) = (true, true, true); }
            }
            foreach (var (from, count) in new[] { (0, 5), (3, 7), (11, 300), (block - 2, 500) })
            {
                var part = test.Select(plane => plane.AsSpan(from, count).ToArray()).ToArray();
                Assert.Equal(stopped.AsSpan(from, count).ToArray(), forest.Predict(part, count));
            }
        }
    }

    /// <summary>
    /// The benchmark's count of the trees each pixel walked is taken where its class is decided: the classes are
    /// Predict's; the exact vote (risk 0) walks at least half the trees plus one, and exactly that on a pixel every tree
    /// agrees on; the stopped vote walks the 6 trees of its first round (6 of 6 is the uniform prior's first stop),
    /// then rounds of <see cref="RandomForest.StoppedVoteTreesPerRound"/>, and exactly 6 on a pixel every tree agrees on.
    /// </summary>
    [Fact]
    public void The_trees_each_pixel_walked_are_counted_where_its_class_is_decided()
    {
        const int trees = 100, pixels = 3000;
        var random = new Random(77);
        var (train, labels) = Labelled(3000, 3, random);
        // The bands' labels alone: unanimous votes inside the bands, close ones at their edges.
        for (var i = 0; i < labels.Length; i++) labels[i] = (byte)Math.Min((int)((train[0][i] + train[1][i]) / 2 * 3), 2);
        var (forest, _) = RandomForest.Train(train, labels, 3, new ForestSettings(Trees: trees, Seed: 5));
        var (test, _) = Labelled(pixels, 3, random);
        for (var i = 0; i < pixels; i += 2)
            for (var f = 0; f < test.Length; f++) test[f][i] = train[f][random.Next(train[f].Length)];
        var probabilities = forest.PredictProbabilities(test, pixels);
        foreach (var risk in new[] { 0, RandomForest.DefaultVoteStopRisk })
        {
            var (classes, walked) = forest.PredictCountingTrees(test, pixels, risk);
            Assert.Equal(forest.Predict(test, pixels, risk), classes);
            var first = risk > 0 ? 6 : trees / 2 + 1;
            var unanimous = 0;
            for (var i = 0; i < pixels; i++)
            {
                Assert.True(walked[i] == trees || (walked[i] >= first && (walked[i] - first) % (risk > 0 ? RandomForest.StoppedVoteTreesPerRound : 3) == 0),
                    $"risk {risk}: pixel {i} walked {walked[i]} trees");
                if (probabilities[i * 3 + classes[i]] != 1f) continue;
                unanimous++;
                Assert.Equal(first, walked[i]);
            }
            Assert.True(unanimous > pixels / 20, $"only {unanimous} unanimous pixels, the test needs more");
        }
    }

    /// <summary>Six features, the class by which of <paramref name="classes"/> bands the first two cut the plane into, half the labels random.</summary>
    private static (float[][] Columns, byte[] Labels) Labelled(int n, int classes, Random random)
    {
        var columns = Enumerable.Range(0, 6).Select(_ => new float[n]).ToArray();
        var labels = new byte[n];
        for (var i = 0; i < n; i++)
        {
            for (var f = 0; f < columns.Length; f++) columns[f][i] = (float)random.NextDouble();
            var band = (int)((columns[0][i] + columns[1][i]) / 2 * classes);
            labels[i] = (byte)(random.NextDouble() < 0.5 ? random.Next(classes) : Math.Min(band, classes - 1));
        }
        return (columns, labels);
    }

    /// <summary>
    /// A model file of <paramref name="trees"/> random trees (depth 2 to 9, splits on thresholds k/16) whose leaves hold
    /// random frequencies: a third one-hot, a third split between two classes, a third spread over all.
    /// </summary>
    private static RandomForest RandomForestFile(int classes, int features, int trees, Random random)
    {
        var nodes = new List<(int Feature, float Threshold, int Child)>();
        var leaves = new List<float>();
        var roots = new int[trees];
        for (var t = 0; t < trees; t++)
        {
            roots[t] = nodes.Count;
            nodes.Add(default);
            var pending = new Queue<(int Node, int Depth)>();
            pending.Enqueue((roots[t], 0));
            var depth = random.Next(2, 10);
            while (pending.Count > 0)
            {
                var (node, level) = pending.Dequeue();
                if (level >= depth || (level > 1 && random.NextDouble() < 0.2))
                {
                    nodes[node] = (-1, 0, leaves.Count / classes);
                    var row = new float[classes];
                    switch (random.Next(3))
                    {
                        case 0: row[random.Next(classes)] = 1; break;
                        case 1:
                            var share = (float)random.NextDouble();
                            row[random.Next(classes)] += share;
                            row[random.Next(classes)] += 1 - share;
                            break;
                        default:
                            for (var c = 0; c < classes; c++) row[c] = (float)random.NextDouble();
                            var sum = row.Sum();
                            for (var c = 0; c < classes; c++) row[c] /= sum;
                            break;
                    }
                    leaves.AddRange(row);
                    continue;
                }
                var child = nodes.Count;
                nodes.Add(default);
                nodes.Add(default);
                nodes[node] = (random.Next(features), random.Next(1, 16) / 16f, child);
                pending.Enqueue((child, level + 1));
                pending.Enqueue((child + 1, level + 1));
            }
        }
        return ModelFile(classes, features, roots, nodes, leaves);
    }

    /// <summary>A model file (format version 1) of these trees: roots, nodes (feature −1: a leaf whose child is its leaf row) and leaf rows.</summary>
    private static RandomForest ModelFile(int classes, int features, IReadOnlyList<int> roots, IReadOnlyList<(int Feature, float Threshold, int Child)> nodes,
        IReadOnlyList<float> leaves)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(1); // format version
            writer.Write(classes);
            writer.Write(features);
            writer.Write(roots.Count);
            foreach (var root in roots) writer.Write(root);
            writer.Write(nodes.Count);
            foreach (var (feature, threshold, child) in nodes)
            {
                writer.Write(feature);
                writer.Write(threshold);
                writer.Write(child);
            }
            writer.Write(leaves.Count);
            foreach (var value in leaves) writer.Write(value);
        }
        return RandomForest.FromBytes(stream.ToArray());
    }

    /// <summary>
    /// The quantised walk's codes against their definition, the count of the feature's distinct thresholds below the value
    /// (NaN: 255), on every coding path the machine has (the AVX-512 permutes, the AVX2 gathers, the scalar tail past the
    /// last full vectors): features with 255, 254, 129, 128, 127, 65, 33, 17, 9, 8, 3, 2 and 1 thresholds (the search's
    /// first step below 128) and one no split uses; thresholds at ±∞, ±0, ±the smallest subnormal, ±the largest float and
    /// clusters one ulp apart; values at, one ulp on either side of, and between every threshold, NaNs of both signs and
    /// another payload, ±∞ and ±0, at block starts and lengths that are not multiples of the vectors.
    /// </summary>
    [Fact]
    public void Codes_count_the_thresholds_below_each_value_on_every_coding_path()
    {
        var random = new Random(23);
        int[] thresholdCounts = [255, 254, 129, 128, 127, 65, 33, 17, 9, 8, 3, 2, 1, 0];
        float[] special = [float.NegativeInfinity, float.PositiveInfinity, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1f, MathF.BitIncrement(1f), MathF.BitDecrement(1f)];
        var thresholds = new List<float[]>();
        foreach (var (want, f) in thresholdCounts.Select((n, f) => (n, f)))
        {
            var distinct = new List<float>();
            // Specials in every other feature (so some features' ends are finite), then random values of mixed scale.
            foreach (var t in special.Take(f % 2 == 0 ? Math.Min(want, special.Length) : 0)) distinct.Add(t);
            while (distinct.Count < want)
            {
                var t = (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 7)));
                if (t == 0 || distinct.Contains(t)) continue;
                distinct.Add(t);
            }
            distinct.Sort();
            thresholds.Add(distinct.ToArray());
        }
        var forest = ChainForest(thresholds);
        Assert.True(forest.HasCodedWalk, "the chain forest must take the quantised walk");

        const int Pixels = 3 * 64 + 45;
        var planes = thresholds.Select(sorted =>
        {
            float[] odd = [float.NaN, -float.NaN, BitConverter.Int32BitsToSingle(0x7FC0_1234), float.PositiveInfinity, float.NegativeInfinity, 0f, -0f];
            var candidates = sorted.SelectMany(t => new[] { t, MathF.BitIncrement(t), MathF.BitDecrement(t) })
                .Concat(sorted.Zip(sorted.Skip(1), (a, b) => a / 2 + b / 2)).Concat(odd).Concat(special).ToArray();
            var plane = new float[2 * Pixels];
            for (var i = 0; i < plane.Length; i++) plane[i] = candidates[random.Next(candidates.Length)];
            return plane;
        }).ToArray();

        foreach (var wide in new[] { true, false })
            foreach (var (p0, count) in new[] { (0, Pixels), (3, Pixels - 3), (Pixels, 64), (17, 7), (5, 2 * 64 + 1) })
            {
                byte[]?[] codes;
                try
                {
                    RandomForest.UseWideCoding = wide;
                    codes = forest.Codes(planes, p0, count);
                }
                finally { RandomForest.UseWideCoding = true; }
                for (var f = 0; f < thresholds.Count; f++)
                {
                    if (thresholds[f].Length == 0)
                    {
                        Assert.Null(codes[f]);
                        continue;
                    }
                    for (var i = 0; i < count; i++)
                    {
                        var value = planes[f][p0 + i];
                        var expected = float.IsNaN(value) ? 255 : thresholds[f].Count(t => t < value);
                        Assert.True(expected == codes[f]![i],
                            $"wide coding {wide && RandomForest.CanCodeWide}, block at {p0} of {count} px, feature {f} ({thresholds[f].Length} thresholds), pixel {i}: value {value:R} coded {codes[f]![i]}, expected {expected} (thresholds below it; NaN: 255)");
                    }
                }
            }
    }

    /// <summary>A model file with one tree per feature that has thresholds: a chain of splits on them, each with a leaf on its left.</summary>
    private static RandomForest ChainForest(IReadOnlyList<float[]> thresholds)
    {
        var nodes = new List<(int Feature, float Threshold, int Child)>();
        var roots = new List<int>();
        for (var f = 0; f < thresholds.Count; f++)
        {
            if (thresholds[f].Length == 0) continue;
            roots.Add(nodes.Count);
            foreach (var t in thresholds[f])
            {
                nodes.Add((f, t, nodes.Count + 1)); // left: the leaf next to it, right: the next split
                nodes.Add((-1, 0, nodes.Count % 2));
            }
            nodes.Add((-1, 0, 1));
        }
        return ModelFile(2, thresholds.Count, roots, nodes, [1f, 0f, 0f, 1f]);
    }

    /// <summary>
    /// A forest the quantised walk cannot code (a model file whose one feature has 300 distinct thresholds; trees grown
    /// here have at most 255 bin edges per feature) takes the float walks and still predicts what its nodes say: a chain
    /// of splits value ≤ j, each with a leaf of class j mod 2 on its left.
    /// </summary>
    [Fact]
    public void A_forest_with_more_thresholds_than_a_byte_codes_takes_the_float_walk_and_predicts_right()
    {
        const int splits = 300;
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(1); // format version
            writer.Write(2); // classes
            writer.Write(1); // features
            writer.Write(1); // trees
            writer.Write(0); // root
            writer.Write(2 * splits + 1);
            for (var j = 0; j < splits; j++)
            {
                writer.Write(0);
                writer.Write((float)j);
                writer.Write(2 * j + 1); // left: the leaf at 2j + 1, right: the next split (or the last leaf) at 2j + 2
                writer.Write(-1);
                writer.Write(0f);
                writer.Write(j); // leaf row j
            }
            writer.Write(-1);
            writer.Write(0f);
            writer.Write(splits);
            writer.Write(2 * (splits + 1));
            for (var row = 0; row <= splits; row++)
            {
                writer.Write(row < splits && row % 2 == 1 ? 0f : 1f);
                writer.Write(row < splits && row % 2 == 1 ? 1f : 0f);
            }
        }
        var forest = RandomForest.FromBytes(stream.ToArray());
        Assert.False(forest.HasCodedWalk);
        var values = Enumerable.Range(0, 700).Select(i => i * 0.5f - 20).ToArray();
        var classes = forest.Predict([values], values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            var firstSplit = (int)Math.Max(0, Math.Ceiling(values[i]));
            Assert.Equal(firstSplit < splits ? firstSplit % 2 : 0, classes[i]);
        }
    }

    [Fact]
    public void Pixels_walked_four_at_a_time_get_what_a_pixel_walked_alone_gets()
    {
        // 1003 pixels: four blocks of 256 less a remainder, so both the four-pixel walk and the one-pixel tail run.
        var (train, labels) = Problem(3000, noiseFeatures: 3, seed: 10);
        var (forest, _) = RandomForest.Train(train, labels, 3, new ForestSettings(Trees: 25));
        var (test, _) = Problem(1003, noiseFeatures: 3, seed: 11);
        var together = forest.PredictProbabilities(test, 1003);
        for (var i = 0; i < 1003; i += 7)
        {
            var alone = forest.PredictProbabilities(test.Select(column => new[] { column[i] }).ToArray(), 1);
            Assert.Equal(alone, together.AsSpan(3 * i, 3).ToArray());
        }
    }

    [Fact]
    public void Bad_input_is_refused_with_the_reason()
    {
        var (train, labels) = Problem(100, noiseFeatures: 0, seed: 9);
        Assert.Contains("label 3", Assert.Throws<ArgumentException>(() => RandomForest.Train(train, labels.Select(l => (byte)(l + 1)).ToArray(), 3, new ForestSettings(Trees: 2))).Message);
        Assert.Contains("for 100 labels", Assert.Throws<ArgumentException>(() => RandomForest.Train([train[0], train[1][..50]], labels, 3, new ForestSettings(Trees: 2))).Message);
        var (forest, _) = RandomForest.Train(train, labels, 3, new ForestSettings(Trees: 2));
        Assert.Contains("trained on 2", Assert.Throws<ArgumentException>(() => forest.Predict([train[0]], 100)).Message);
    }
}
