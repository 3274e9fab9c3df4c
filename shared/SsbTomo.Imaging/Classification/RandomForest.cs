using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime.InteropServices;

[assembly: InternalsVisibleTo("SsbTomo.Benchmarks")]

namespace SsbTomo.Imaging.Classification;

/// <summary>How a <see cref="RandomForest"/> is grown.</summary>
/// <param name="Trees">Number of trees (scikit-learn's and ilastik's default is 100).</param>
/// <param name="MaxDepth">Deepest split level; Breiman grows trees out, the limit only bounds the node arrays.</param>
/// <param name="MinSamplesLeaf">Fewest bootstrap samples a leaf may hold.</param>
/// <param name="MaxSamplesPerTree">
/// Bootstrap draw per tree: min(labelled samples, this), with replacement (scikit-learn's max_samples). Densely labelled
/// slices have millions of samples that say the same thing; the cap keeps training time linear in the trees.
/// </param>
/// <param name="FeaturesPerSplit">Features drawn at each node; 0 means ⌊√F⌋ (Breiman's and scikit-learn's choice).</param>
/// <param name="Seed">Same seed, same samples, same forest, bit for bit, on any number of threads.</param>
public sealed record ForestSettings(
    int Trees = 100,
    int MaxDepth = 24,
    int MinSamplesLeaf = 1,
    int MaxSamplesPerTree = 50_000,
    int FeaturesPerSplit = 0,
    int Seed = 1)
{
    /// <summary>Quantile bins per feature for the split search; 256 keeps a sample's bin in one byte.</summary>
    public const int Bins = 256;

    /// <summary>Samples whose out-of-bag prediction the report counts (a random subset beyond this).</summary>
    public const int MaxOutOfBagSamples = 50_000;

    internal void Validate()
    {
        if (Trees < 1 || Trees > 10_000) throw new ArgumentOutOfRangeException(nameof(Trees), Trees, "trees must be 1..10000");
        if (MaxDepth < 1 || MaxDepth > 64) throw new ArgumentOutOfRangeException(nameof(MaxDepth), MaxDepth, "depth must be 1..64");
        if (MinSamplesLeaf < 1) throw new ArgumentOutOfRangeException(nameof(MinSamplesLeaf), MinSamplesLeaf, "a leaf holds at least one sample");
        if (MaxSamplesPerTree < 1) throw new ArgumentOutOfRangeException(nameof(MaxSamplesPerTree), MaxSamplesPerTree, "a tree needs at least one sample");
        if (FeaturesPerSplit < 0) throw new ArgumentOutOfRangeException(nameof(FeaturesPerSplit), FeaturesPerSplit, "0 (√F) or a positive count");
    }
}

/// <summary>What training learnt about its own accuracy, from samples a tree did not see (out of bag).</summary>
/// <param name="SamplesPerClass">Labelled samples of each class.</param>
/// <param name="OutOfBagSamples">Samples evaluated out of bag (all, or a random <see cref="ForestSettings.MaxOutOfBagSamples"/>).</param>
/// <param name="OutOfBagAccuracy">Share of those predicted right by the trees that had not drawn them.</param>
/// <param name="OutOfBagAccuracyPerClass">Per true class (recall); NaN for a class with no evaluated sample.</param>
/// <param name="Confusion">[true class][predicted class] counts of the out-of-bag predictions.</param>
/// <param name="FeatureImportance">Mean decrease in Gini impurity per feature (Breiman 2001), summing to 1.</param>
public sealed record ForestReport(
    long[] SamplesPerClass,
    int OutOfBagSamples,
    double OutOfBagAccuracy,
    double[] OutOfBagAccuracyPerClass,
    long[][] Confusion,
    double[] FeatureImportance);

/// <summary>
/// A random forest classifier (Breiman 2001, "Random forests", Machine Learning 45:5, DOI 10.1023/A:1010933404324): each
/// tree grown on a bootstrap draw of the samples, each node split on the best of a random subset of the features by the
/// Gini impurity, leaves holding class frequencies; the forest averages the trees' frequencies (as scikit-learn does,
/// rather than Breiman's majority vote). Split candidates are the features' 256 quantile bins (as LightGBM's and
/// scikit-learn's HistGradientBoosting), which makes a node's search linear in its samples.
/// <para>
/// Written here rather than taken from ML.NET: ML.NET's FastForest is binary or regression only (several classes need a
/// one-versus-all wrapper of k forests), reports no out-of-bag estimate, and predicts through IDataView rows; this one is
/// multiclass, reports out-of-bag accuracy and a confusion matrix, and predicts from feature planes with the nodes in one
/// flat array.
/// </para>
/// </summary>
public sealed partial class RandomForest
{
    private const int FormatVersion = 1;

    /// <summary>A split (<see cref="Feature"/> ≥ 0: go to <see cref="Child"/> when value ≤ threshold, else Child + 1) or a leaf (−1: class frequencies at <see cref="Child"/>·k).</summary>
    private readonly record struct Node(int Feature, float Threshold, int Child);

    private readonly Node[] _nodes;
    private readonly int[] _roots;
    private readonly float[] _leafFrequencies;

    // The same nodes for the vector walk, whose gathers load one field of eight nodes at a time: the threshold, and
    // child and feature packed in one int (child · 256 + feature + 1; 0 in the low byte marks a leaf, whose child is
    // its row of leaf frequencies), so a level costs three gathers. Null when the forest is too large to pack.
    private readonly float[] _nodeThreshold;
    private readonly int[]? _nodePacked;

    // The same forest for the quantised walk (null where it cannot be coded, see CodedForest.TryBuild).
    private CodedForest? _coded;

    private RandomForest(int classCount, int featureCount, Node[] nodes, int[] roots, float[] leafFrequencies)
    {
        ClassCount = classCount;
        FeatureCount = featureCount;
        _nodes = nodes;
        _roots = roots;
        _leafFrequencies = leafFrequencies;
        _nodeThreshold = Array.ConvertAll(nodes, n => n.Threshold);
        var packable = featureCount < 255 && nodes.All(n => n.Child >= 0 && n.Child < 1 << 23);
        _nodePacked = packable ? Array.ConvertAll(nodes, n => n.Child << 8 | (n.Feature + 1)) : null;
        _coded = CodedForest.TryBuild(nodes, roots, featureCount, leafFrequencies, classCount, DefaultTopLevels);
        _reweighted = IsReweighted();
    }

    private readonly bool _reweighted;

    /// <summary>
    /// Tests: false forces the scalar walk where AVX2 is present, so both walks can be compared on one machine. Both give
    /// the same classes and the same probabilities bit for bit (same decisions, leaves added in the same tree order).
    /// </summary>
    internal static bool UseVectorWalk { get; set; } = true;

    /// <summary>
    /// Tests and benchmarks: false walks the float thresholds (<see cref="PredictBlockGather"/>) where the quantised walk
    /// (<see cref="CodedForest"/>) could run, so both can be compared on one forest; both give the same classes and
    /// probabilities bit for bit.
    /// </summary>
    internal static bool UseCodedWalk { get; set; } = true;

    /// <summary>
    /// Pixels per block of the quantised walk, which walks the block tree by tree. Larger blocks load each tree's nodes
    /// for more pixels; measured with the walk before its top levels and look-ahead nodes (1024² pixels, 100 trees of
    /// ~3,000 nodes, CPU time at load 45-68): 256 px 3.2-3.5 s, 1024 px 2.8 s, 4096 px 1.9-2.0 s, 16384 px 1.6 s, 65536 px
    /// 1.7 s; not measured again since. A block's codes and sums are ~1 MB per thread.
    /// </summary>
    internal static int CodedBlockPixels { get; set; } = 16384;

    /// <summary>
    /// Tree levels the quantised walk evaluates by byte compares before its gathers (<see cref="CodedForest"/>). A speed
    /// tuning for this machine, not a property of any data: classes and probabilities are the scalar walk's bit for bit
    /// with 0-7 levels (RandomForestTests). With the groups of eight, 3-6 levels measured within noise of each other; with
    /// the lanes refilled one by one, 5 took less CPU than 4 in 11 of 15 alternated pairs (median −3 %, `-- trainable
    /// --walks-only`, load 7-24).
    /// </summary>
    internal const int DefaultTopLevels = 5;

    /// <summary>Benchmarks and tests: rebuilds the quantised walk with <paramref name="levels"/> top levels (0..7) to compare them on one forest.</summary>
    internal void UseTopLevels(int levels)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)levels, 7u, nameof(levels));
        _coded = CodedForest.TryBuild(_nodes, _roots, FeatureCount, _leafFrequencies, ClassCount, levels);
    }

    /// <summary>The leaf (its index into the leaf frequencies, per class) that tree <paramref name="tree"/> gives feature column <paramref name="index"/>.</summary>
    private int LeafOf(int tree, float[][] features, int index)
    {
        var node = _nodes[_roots[tree]];
        while (node.Feature >= 0) node = _nodes[features[node.Feature][index] <= node.Threshold ? node.Child : node.Child + 1];
        return node.Child;
    }

    /// <summary>Benchmarks: mean levels a pixel descends per tree, over every <paramref name="every"/>-th pixel.</summary>
    internal double MeanLevels(float[][] planes, int pixelCount, int every)
    {
        long levels = 0, walks = 0;
        for (var p = 0; p < pixelCount; p += every)
            foreach (var root in _roots)
            {
                var node = _nodes[root];
                while (node.Feature >= 0)
                {
                    node = _nodes[planes[node.Feature][p] <= node.Threshold ? node.Child : node.Child + 1];
                    levels++;
                }
                walks++;
            }
        return (double)levels / walks;
    }

    /// <summary>Benchmarks: the quantised walk's coding of the pixels alone, block by block as prediction does it.</summary>
    internal void QuantiseOnly(float[][] planes, int pixelCount)
    {
        var handles = planes.Select(plane => GCHandle.Alloc(plane, GCHandleType.Pinned)).ToArray();
        try
        {
            var addresses = handles.Select(h => h.AddrOfPinnedObject()).ToArray();
            Parallel.For(0, (pixelCount + CodedBlockPixels - 1) / CodedBlockPixels, b =>
                _coded!.Quantise(addresses, b * CodedBlockPixels, Math.Min(CodedBlockPixels, pixelCount - b * CodedBlockPixels)));
        }
        finally
        {
            foreach (var handle in handles) handle.Free();
        }
    }

    /// <summary>
    /// Tests: the quantised walk's codes (0..255) of pixels [<paramref name="p0"/>, p0 + <paramref name="count"/>) as one
    /// block, one row per feature (null for a feature no split uses: it is not coded).
    /// </summary>
    internal byte[]?[] Codes(float[][] planes, int p0, int count)
    {
        var handles = planes.Select(plane => GCHandle.Alloc(plane, GCHandleType.Pinned)).ToArray();
        try
        {
            var (codes, offset) = _coded!.Quantise(handles.Select(h => h.AddrOfPinnedObject()).ToArray(), p0, count);
            var rowStride = CodedForest.RowStride(count);
            return Enumerable.Range(0, FeatureCount).Select(f => _nodes.Any(n => n.Feature == f)
                ? codes.AsSpan(offset + f * rowStride, count).ToArray().Select(c => (byte)(c + 128)).ToArray()
                : null).ToArray();
        }
        finally
        {
            foreach (var handle in handles) handle.Free();
        }
    }

    /// <summary>
    /// Benchmarks: the quantised walk's coding and its walk of trees [0, <paramref name="trees"/>) for every pixel, block by
    /// block as prediction does it, deciding nothing: the cost of a first round of that many trees.
    /// </summary>
    internal void WalkFirstTreesOnly(float[][] planes, int pixelCount, int trees)
    {
        var handles = planes.Select(plane => GCHandle.Alloc(plane, GCHandleType.Pinned)).ToArray();
        try
        {
            var addresses = handles.Select(h => h.AddrOfPinnedObject()).ToArray();
            Parallel.For(0, (pixelCount + CodedBlockPixels - 1) / CodedBlockPixels, b =>
            {
                var p0 = b * CodedBlockPixels;
                var count = Math.Min(CodedBlockPixels, pixelCount - p0);
                var (codes, offset) = _coded!.Quantise(addresses, p0, count);
                WalkCoded(codes, offset, CodedForest.RowStride(count), count, HeldSums(count * _coded.LeafStride), 0, trees);
            });
        }
        finally
        {
            foreach (var handle in handles) handle.Free();
        }
    }

    /// <summary>Benchmarks: the stopped vote's classes at <paramref name="voteStopRisk"/> and the number of trees each pixel walked.</summary>
    internal (byte[] Classes, int[] TreesWalked) PredictCountingTrees(float[][] planes, int pixelCount, double voteStopRisk)
    {
        var (classes, walked) = (new byte[pixelCount], new int[pixelCount]);
        PredictInto(planes, pixelCount, classes, null, voteStopRisk > 0 ? VoteStopFor(voteStopRisk) : null, walked);
        return (classes, walked);
    }

    /// <summary>Benchmarks: each tree's vote (the class of its leaf's largest frequency) for every <paramref name="every"/>-th pixel, at [sample · trees + tree].</summary>
    internal byte[] TreeVotes(float[][] planes, int pixelCount, int every)
    {
        var samples = (pixelCount + every - 1) / every;
        var votes = new byte[samples * _roots.Length];
        Parallel.For(0, samples, s =>
        {
            for (var t = 0; t < _roots.Length; t++)
            {
                var leaf = LeafOf(t, planes, s * every);
                var best = 0;
                for (var c = 1; c < ClassCount; c++)
                    if (_leafFrequencies[leaf * ClassCount + c] > _leafFrequencies[leaf * ClassCount + best]) best = c;
                votes[s * _roots.Length + t] = (byte)best;
            }
        });
        return votes;
    }

    /// <summary>Whether this forest can take the quantised walk (tests check that theirs does).</summary>
    internal bool HasCodedWalk => _coded is not null;

    /// <summary>Whether the quantised walk can take the look-ahead nodes (tests check that theirs does).</summary>
    internal bool HasLookAheadWalk => _coded?.AheadNodes is not null;

    [ThreadStatic] private static float[]? t_blockFeatures;

    public int ClassCount { get; }
    public int FeatureCount { get; }
    public int TreeCount => _roots.Length;
    public int NodeCount => _nodes.Length;

    /// <summary>
    /// Grows a forest on <paramref name="samples"/> (one array per feature, one value per sample) with
    /// <paramref name="labels"/> 0..<paramref name="classCount"/>−1, and reports its out-of-bag accuracy.
    /// </summary>
    public static (RandomForest Forest, ForestReport Report) Train(float[][] samples, byte[] labels, int classCount, ForestSettings settings)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(labels);
        settings.Validate();
        if (classCount < 2 || classCount > 255) throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "2..255 classes");
        var featureCount = samples.Length;
        if (featureCount == 0) throw new ArgumentException("no features", nameof(samples));
        var n = labels.Length;
        if (n == 0) throw new ArgumentException("no labelled samples", nameof(labels));
        foreach (var column in samples)
            if (column.Length != n) throw new ArgumentException($"a feature has {column.Length} values for {n} labels", nameof(samples));
        var perClass = new long[classCount];
        foreach (var label in labels)
        {
            if (label >= classCount) throw new ArgumentException($"label {label} is not below the class count {classCount}", nameof(labels));
            perClass[label]++;
        }

        var (edges, codes) = Bin(samples);
        var mtry = settings.FeaturesPerSplit > 0 ? Math.Min(settings.FeaturesPerSplit, featureCount) : Math.Max(1, (int)Math.Sqrt(featureCount));
        var drawn = Math.Min(n, settings.MaxSamplesPerTree);
        var oob = OutOfBagSubset(n, settings.Seed);

        var trees = new TreeBuilder.Tree[settings.Trees];
        var inBag = new bool[settings.Trees][];
        Parallel.For(0, settings.Trees, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, t =>
        {
            var random = new Random(unchecked(settings.Seed * 1_000_003 + t));
            var indices = new int[drawn];
            for (var i = 0; i < drawn; i++) indices[i] = random.Next(n);
            var bag = new bool[oob.Length];
            var drawnSet = new HashSet<int>(indices);
            for (var i = 0; i < oob.Length; i++) bag[i] = drawnSet.Contains(oob[i]);
            inBag[t] = bag;
            trees[t] = new TreeBuilder(codes, edges, labels, classCount, mtry, settings, random).Grow(indices);
        });

        var forest = Assemble(trees, classCount, featureCount);
        var importance = new double[featureCount];
        foreach (var tree in trees)
            for (var f = 0; f < featureCount; f++) importance[f] += tree.Importance[f];
        var total = importance.Sum();
        if (total > 0) for (var f = 0; f < featureCount; f++) importance[f] /= total;
        return (forest, forest.OutOfBag(samples, labels, perClass, oob, inBag, importance));
    }

    /// <summary>
    /// The most probable class (0..k−1) of each of <paramref name="pixelCount"/> pixels given as feature planes. A pixel's
    /// vote stops once the chance that the trees not yet walked would change its class is under
    /// <paramref name="voteStopRisk"/> (<see cref="VoteStop"/>); 0 walks every pixel until no tree can change it, which
    /// gives the whole forest's argmax.
    /// </summary>
    public byte[] Predict(float[][] planes, int pixelCount, double voteStopRisk = DefaultVoteStopRisk)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(voteStopRisk);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(voteStopRisk, 0.5);
        var result = new byte[pixelCount];
        PredictInto(planes, pixelCount, result, null, voteStopRisk > 0 ? VoteStopFor(voteStopRisk) : null);
        return result;
    }

    /// <summary>Class frequencies averaged over the trees, pixel-major (k per pixel).</summary>
    public float[] PredictProbabilities(float[][] planes, int pixelCount)
    {
        var probabilities = new float[(long)pixelCount * ClassCount];
        PredictInto(planes, pixelCount, null, probabilities, null);
        return probabilities;
    }

    private void PredictInto(float[][] planes, int pixelCount, byte[]? classes, float[]? probabilities, VoteStop? stop, int[]? treesWalked = null)
    {
        if (planes.Length != FeatureCount) throw new ArgumentException($"{planes.Length} feature planes, the forest was trained on {FeatureCount}", nameof(planes));
        foreach (var plane in planes)
            if (plane.Length < pixelCount) throw new ArgumentException($"a feature plane has {plane.Length} values for {pixelCount} pixels", nameof(planes));
        var k = ClassCount;
        var handles = planes.Select(plane => GCHandle.Alloc(plane, GCHandleType.Pinned)).ToArray();
        try
        {
            var addresses = handles.Select(h => h.AddrOfPinnedObject()).ToArray();
            // Blocks of pixels, tree by tree inside a block, so that one tree's nodes stay in cache for the whole block:
            // CodedBlockPixels for the quantised walk (its codes are bytes), GatherStride for the float walks.
            var block = CanWalkCoded(Math.Min(pixelCount, CodedBlockPixels)) ? CodedBlockPixels : GatherStride;
            Parallel.For(0, (pixelCount + block - 1) / block, b =>
            {
                var p0 = b * block;
                var count = Math.Min(block, pixelCount - p0);
                if (CanWalkCoded(count))
                {
                    var coded = _coded!;
                    var leafStride = coded.LeafStride;
                    var codedSums = UseHeldSums ? HeldSums(count * leafStride) : new float[count * leafStride];
                    var (codes, offset) = coded.Quantise(addresses, p0, count);
                    var rowStride = CodedForest.RowStride(count);
                    if (probabilities is null)
                    {
                        PredictClassesCoded(codes, offset, rowStride, p0, count, codedSums, classes!, stop, treesWalked);
                        return;
                    }
                    WalkCoded(codes, offset, rowStride, count, codedSums, 0, _roots.Length);
                    for (var i = 0; i < count; i++)
                        for (var c = 0; c < k; c++) probabilities[(long)(p0 + i) * k + c] = codedSums[i * leafStride + c] / Total(codedSums.AsSpan(i * leafStride, k));
                    return;
                }
                var sums = new float[count * k];
                if (probabilities is null && CanWalkVector(count))
                {
                    PredictClassesGather(addresses, p0, count, sums, classes!, stop, treesWalked);
                    return;
                }
                if (probabilities is null && stop is not null)
                {
                    // The stopped vote on the scalar walk too, so that a pixel's class does not depend on the walk or on
                    // how many pixels share its block.
                    PredictClassesScalar(addresses, p0, count, sums, classes!, stop, treesWalked);
                    return;
                }
                PredictBlock(addresses, p0, count, sums);
                for (var i = 0; i < count; i++)
                {
                    if (classes is not null)
                    {
                        var best = 0;
                        for (var c = 1; c < k; c++) if (sums[i * k + c] > sums[i * k + best]) best = c;
                        classes[p0 + i] = (byte)best;
                    }
                    if (probabilities is not null)
                        for (var c = 0; c < k; c++) probabilities[(long)(p0 + i) * k + c] = sums[i * k + c] / Total(sums.AsSpan(i * k, k));
                }
            });
        }
        finally
        {
            foreach (var handle in handles) handle.Free();
        }
    }

    /// <summary>
    /// Benchmarks: false allocates each block's sums of the quantised walk anew (a quarter megabyte a block, in the large
    /// object heap) instead of reusing this thread's.
    /// </summary>
    internal static bool UseHeldSums { get; set; } = true;

    [ThreadStatic] private static float[]? t_codedSums;

    /// <summary>This thread's buffer of sums, its first <paramref name="length"/> zeroed.</summary>
    private static float[] HeldSums(int length)
    {
        var sums = t_codedSums is { } held && held.Length >= length ? held : t_codedSums = new float[length];
        sums.AsSpan(0, length).Clear();
        return sums;
    }

    /// <summary>What a pixel's summed leaves are divided by: the tree count, or their own sum on a re-weighted forest.</summary>
    private float Total(ReadOnlySpan<float> sums)
    {
        if (!_reweighted) return _roots.Length;
        float total = 0;
        foreach (var s in sums) total += s;
        return total > 0 ? total : 1;
    }

    /// <summary>Trees [<paramref name="treeStart"/>, <paramref name="treeEnd"/>) one pixel at a time over a block's feature-major buffer (<see cref="BlockFeatures"/>).</summary>
    private unsafe void WalkScalar(float[] buffer, int count, float[] sums, int treeStart, int treeEnd)
    {
        var k = ClassCount;
        fixed (Node* nodes = _nodes)
        fixed (float* leaves = _leafFrequencies, values = buffer, total = sums)
        {
            for (var tree = treeStart; tree < treeEnd; tree++)
                for (var i = 0; i < count; i++)
                {
                    var node = nodes + _roots[tree];
                    while (node->Feature >= 0) node = nodes + node->Child + (values[node->Feature * GatherStride + i] <= node->Threshold ? 0 : 1);
                    AddLeaf(leaves + node->Child * k, total + i * k, k);
                }
        }
    }

    private unsafe void PredictBlock(IntPtr[] planeAddresses, int p0, int count, float[] sums)
    {
        if (CanWalkVector(count))
        {
            PredictBlockGather(BlockFeatures(planeAddresses, p0, count), count, sums, 0, _roots.Length);
            return;
        }
        var k = ClassCount;
        var planes = stackalloc float*[planeAddresses.Length];
        for (var f = 0; f < planeAddresses.Length; f++) planes[f] = (float*)planeAddresses[f] + p0;
        fixed (Node* nodes = _nodes)
        fixed (float* leaves = _leafFrequencies)
        fixed (float* total = sums)
        {
            foreach (var root in _roots)
            {
                var i = 0;
                for (; i + 4 <= count; i += 4)
                {
                    Node* a = nodes + root, b = a, c = a, d = a;
                    while (true)
                    {
                        var moved = false;
                        if (a->Feature >= 0) { a = nodes + a->Child + (planes[a->Feature][i] <= a->Threshold ? 0 : 1); moved = true; }
                        if (b->Feature >= 0) { b = nodes + b->Child + (planes[b->Feature][i + 1] <= b->Threshold ? 0 : 1); moved = true; }
                        if (c->Feature >= 0) { c = nodes + c->Child + (planes[c->Feature][i + 2] <= c->Threshold ? 0 : 1); moved = true; }
                        if (d->Feature >= 0) { d = nodes + d->Child + (planes[d->Feature][i + 3] <= d->Threshold ? 0 : 1); moved = true; }
                        if (!moved) break;
                    }
                    AddLeaf(leaves + a->Child * k, total + i * k, k);
                    AddLeaf(leaves + b->Child * k, total + (i + 1) * k, k);
                    AddLeaf(leaves + c->Child * k, total + (i + 2) * k, k);
                    AddLeaf(leaves + d->Child * k, total + (i + 3) * k, k);
                }
                for (; i < count; i++)
                {
                    var node = nodes + root;
                    while (node->Feature >= 0) node = nodes + node->Child + (planes[node->Feature][i] <= node->Threshold ? 0 : 1);
                    AddLeaf(leaves + node->Child * k, total + i * k, k);
                }
            }
        }
    }

    /// <summary>
    /// The walk of <see cref="PredictBlock"/> for trees [<paramref name="treeStart"/>, <paramref name="treeEnd"/>), eight
    /// pixels per AVX2 gather, two groups of eight at a time so that one group's gathers overlap the other's: the
    /// first <paramref name="count"/> pixels' feature values are feature-major in <paramref name="buffer"/>
    /// (<see cref="BlockFeatures"/>), so one gather loads the eight pixels' split values wherever each pixel stands in its tree; a lane that reached its leaf is masked and stays. Pixels go left when value ≤ threshold (ordered
    /// compare: NaN goes right, as in the scalar walk), and the leaves are added per pixel in tree order, so the sums are
    /// the scalar walk's bit for bit. The pixels past the last full group of eight take the scalar walk.
    /// </summary>
    private bool CanWalkVector(int count) => UseVectorWalk && Avx2.IsSupported && _nodePacked is not null && count >= Vector256<int>.Count;

    /// <summary>Pixels of one block (at most <see cref="GatherStride"/>) and the vector walk's feature-major row length.</summary>
    private const int GatherStride = 256;

    /// <summary>The block's feature values feature-major in this thread's buffer: feature f of pixel i at f·256 + i.</summary>
    private static unsafe float[] BlockFeatures(IntPtr[] planeAddresses, int p0, int count)
    {
        var featureCount = planeAddresses.Length;
        var buffer = t_blockFeatures is { } held && held.Length >= featureCount * GatherStride ? held : t_blockFeatures = new float[featureCount * GatherStride];
        for (var f = 0; f < featureCount; f++)
            new ReadOnlySpan<float>((float*)planeAddresses[f] + p0, count).CopyTo(buffer.AsSpan(f * GatherStride, count));
        return buffer;
    }

    /// <summary>Trees between two checks of which pixels' classes are decided (<see cref="PredictClassesGather"/>).</summary>
    private const int TreesPerRound = 3;

    /// <summary>Trees between two checks after the first when the vote may stop early (<see cref="VoteStop"/>); settable for the benchmark's comparison.</summary>
    internal static int StoppedVoteTreesPerRound { get; set; } = 3;

    /// <summary>
    /// Classes only (no probabilities): every pixel walks the first half of the trees plus one (before that no class can
    /// be decided), then the rest in rounds of <see cref="TreesPerRound"/>; after each round a pixel whose
    /// leading class is ahead of every other by more than the trees still to come could add (each leaf adds at most 1 to
    /// a class), plus a margin of 0.01 for float rounding, keeps that class and leaves the walk: the remaining pixels are
    /// packed together (features and sums) for the next round. The class is the one the whole forest gives (the same
    /// argmax, first class on ties), as the leader's lead cannot be overtaken. With a <see cref="VoteStop"/> the first
    /// round is shorter and a pixel also leaves when the trees to come are unlikely to change its class.
    /// </summary>
    private void PredictClassesGather(IntPtr[] planeAddresses, int p0, int count, float[] sums, byte[] classes, VoteStop? stop, int[]? treesWalked) =>
        PredictClassesOnBuffer(planeAddresses, p0, count, sums, classes, stop, treesWalked, PredictBlockGather);

    /// <summary>The rounds of <see cref="PredictClassesGather"/> with the scalar walk (no AVX2, or fewer pixels than a vector's lanes).</summary>
    private void PredictClassesScalar(IntPtr[] planeAddresses, int p0, int count, float[] sums, byte[] classes, VoteStop stop, int[]? treesWalked) =>
        PredictClassesOnBuffer(planeAddresses, p0, count, sums, classes, stop, treesWalked, WalkScalar);

    /// <summary>A block's features in this thread's buffer (<see cref="BlockFeatures"/>), walked by <paramref name="walk"/>(buffer, active pixels, sums, first tree, end tree) in the rounds of <see cref="DecideEarly"/>.</summary>
    private void PredictClassesOnBuffer(IntPtr[] planeAddresses, int p0, int count, float[] sums, byte[] classes, VoteStop? stop, int[]? treesWalked, Action<float[], int, float[], int, int> walk)
    {
        var buffer = BlockFeatures(planeAddresses, p0, count);
        var featureCount = planeAddresses.Length;
        DecideEarly(p0, count, sums, ClassCount, classes, stop, treesWalked,
            (active, t0, t1) => walk(buffer, active, sums, t0, t1),
            keptFrom =>
            {
                for (var f = 0; f < featureCount; f++)
                {
                    var row = buffer.AsSpan(f * GatherStride, GatherStride);
                    for (var n = 0; n < keptFrom.Length; n++) row[n] = row[keptFrom[n]];
                }
            });
    }

    /// <summary>
    /// The rounds of <see cref="PredictClassesGather"/>: <paramref name="walk"/>(active pixels, first tree, end tree) adds
    /// the trees' leaves to the first active pixels' sums (<paramref name="sumStride"/> floats a pixel); <paramref name="pack"/>(kept)
    /// moves the features of the undecided pixels at kept[0], kept[1], ... (ascending) to 0, 1, ....
    /// With a <paramref name="stop"/>, the first round ends where its table first lets a pixel stop, and a pixel also
    /// leaves the walk when the table says so (<see cref="VoteStop"/>). Benchmarks: <paramref name="treesWalked"/>, when
    /// given, gets the number of trees each pixel walked.
    /// </summary>
    private void DecideEarly(int p0, int count, float[] sums, int sumStride, byte[] classes, VoteStop? stop, int[]? treesWalked, Action<int, int, int> walk, PackPixels pack)
    {
        var k = ClassCount;
        var trees = _roots.Length;
        Span<int> pixelOf = stackalloc int[count];
        Span<int> keptFrom = stackalloc int[count];
        for (var i = 0; i < count; i++) pixelOf[i] = i;
        var active = count;
        // Rows of four sums (up to four classes) take the vector top two; the classes past k are −∞ in it.
        var vectorRows = UseVectorDecisions && sumStride == 4 && Vector128.IsHardwareAccelerated;
        var classLanes = Vector128.LessThan(Vector128.Create(0, 1, 2, 3), Vector128.Create(k)).AsSingle();
        for (int t0 = 0, t1; t0 < trees && active > 0; t0 = t1)
        {
            t1 = Math.Min(trees, t0 == 0 ? Math.Min(trees / 2 + 1, stop?.FirstStop ?? trees) : t0 + (stop is null ? TreesPerRound : StoppedVoteTreesPerRound));
            walk(active, t0, t1);
            var remaining = trees - t1;
            var kept = 0;
            for (var j = 0; j < active; j++)
            {
                int best;
                float leader, runnerUp;
                if (!vectorRows || !TopTwo(Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(sums), (nuint)(j * 4)), classLanes, out best, out leader, out runnerUp))
                {
                    var row = sums.AsSpan(j * sumStride, k);
                    int second = -1;
                    best = 0;
                    for (var c = 1; c < k; c++)
                    {
                        if (row[c] > row[best]) (second, best) = (best, c);
                        else if (second < 0 || row[c] > row[second]) second = c;
                    }
                    (leader, runnerUp) = (row[best], row[second]);
                }
                if (remaining == 0 || leader - runnerUp > remaining + 0.01f || (stop is not null && stop.Stops(best, leader, t1)))
                {
                    classes[p0 + pixelOf[j]] = (byte)best;
                    if (treesWalked is not null) treesWalked[p0 + pixelOf[j]] = t1;
                    continue;
                }
                if (kept != j)
                {
                    sums.AsSpan(j * sumStride, sumStride).CopyTo(sums.AsSpan(kept * sumStride, sumStride));
                    pixelOf[kept] = pixelOf[j];
                }
                keptFrom[kept++] = j;
            }
            if (kept < active && kept > 0) pack(keptFrom[..kept]);
            active = kept;
        }
    }

    /// <summary>Benchmarks and tests: false decides every pixel with the scalar top two where the vector one could run (the same decisions).</summary>
    internal static bool UseVectorDecisions { get; set; } = true;

    /// <summary>
    /// The leading class of a row of four sums (the lowest on ties, as the scalar scan), its sum and the largest of the
    /// other classes' (<paramref name="classLanes"/>: all ones in the lanes of real classes); false, leaving the row to
    /// the scalar scan, where a sum is NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TopTwo(Vector128<float> row, Vector128<float> classLanes, out int best, out float leader, out float runnerUp)
    {
        var lowest = Vector128.Create(float.NegativeInfinity);
        row = Vector128.ConditionalSelect(classLanes, row, lowest);
        var largest = Vector128.MaxNative(row, Vector128.Shuffle(row, Vector128.Create(1, 0, 3, 2)));
        largest = Vector128.MaxNative(largest, Vector128.Shuffle(largest, Vector128.Create(2, 3, 0, 1)));
        var atLargest = Vector128.Equals(row, largest).ExtractMostSignificantBits();
        if (Vector128.Equals(row, row).ExtractMostSignificantBits() != 0xF || atLargest == 0)
        {
            (best, leader, runnerUp) = (0, 0, 0);
            return false;
        }
        best = BitOperations.TrailingZeroCount(atLargest);
        var others = Vector128.ConditionalSelect(Vector128.Equals(Vector128.Create(0, 1, 2, 3), Vector128.Create(best)).AsSingle(), lowest, row);
        others = Vector128.MaxNative(others, Vector128.Shuffle(others, Vector128.Create(1, 0, 3, 2)));
        others = Vector128.MaxNative(others, Vector128.Shuffle(others, Vector128.Create(2, 3, 0, 1)));
        (leader, runnerUp) = (row.GetElement(best), others.ToScalar());
        return true;
    }

    /// <summary>Moves the features of the pixels at <paramref name="keptFrom"/>[n] (ascending) to n.</summary>
    private delegate void PackPixels(ReadOnlySpan<int> keptFrom);

    private unsafe void PredictBlockGather(float[] buffer, int count, float[] sums, int treeStart, int treeEnd)
    {
        const int stride = GatherStride;
        var lanes = Vector256<int>.Count;
        var k = ClassCount;
        var full = count / lanes * lanes;
        var pairs = count / (2 * lanes) * 2 * lanes;
        var quads = count / (4 * lanes) * 4 * lanes;
        var laneOffsets = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        Span<int> leafIndex = stackalloc int[lanes];
        fixed (int* packed = _nodePacked)
        fixed (float* thresholds = _nodeThreshold, values = buffer, leaves = _leafFrequencies, total = sums)
        {
            for (var tree = treeStart; tree < treeEnd; tree++)
            {
                var root = _roots[tree];
                var i = 0;
                // Four groups of eight in flight: a level's three dependent gathers leave the core idle for most of their
                // latency, which the other groups' gathers fill.
                for (; i < quads; i += 4 * lanes)
                {
                    var (lanesA, lanesB) = (Avx2.Add(laneOffsets, Vector256.Create(i)), Avx2.Add(laneOffsets, Vector256.Create(i + lanes)));
                    var (lanesC, lanesD) = (Avx2.Add(laneOffsets, Vector256.Create(i + 2 * lanes)), Avx2.Add(laneOffsets, Vector256.Create(i + 3 * lanes)));
                    var (a, b, c, d) = (Vector256.Create(root), Vector256.Create(root), Vector256.Create(root), Vector256.Create(root));
                    var (doneA, doneB, doneC, doneD) = (false, false, false, false);
                    while (!(doneA && doneB && doneC && doneD))
                    {
                        if (!doneA) doneA = Step(packed, thresholds, values, lanesA, ref a);
                        if (!doneB) doneB = Step(packed, thresholds, values, lanesB, ref b);
                        if (!doneC) doneC = Step(packed, thresholds, values, lanesC, ref c);
                        if (!doneD) doneD = Step(packed, thresholds, values, lanesD, ref d);
                    }
                    AddLeaves(Avx2.GatherVector256(packed, a, 4), leafIndex, leaves, total + i * k, k);
                    AddLeaves(Avx2.GatherVector256(packed, b, 4), leafIndex, leaves, total + (i + lanes) * k, k);
                    AddLeaves(Avx2.GatherVector256(packed, c, 4), leafIndex, leaves, total + (i + 2 * lanes) * k, k);
                    AddLeaves(Avx2.GatherVector256(packed, d, 4), leafIndex, leaves, total + (i + 3 * lanes) * k, k);
                }
                for (; i < pairs; i += 2 * lanes)
                {
                    var (lanesA, lanesB) = (Avx2.Add(laneOffsets, Vector256.Create(i)), Avx2.Add(laneOffsets, Vector256.Create(i + lanes)));
                    var (a, b) = (Vector256.Create(root), Vector256.Create(root));
                    var (doneA, doneB) = (false, false);
                    while (!(doneA && doneB))
                    {
                        if (!doneA) doneA = Step(packed, thresholds, values, lanesA, ref a);
                        if (!doneB) doneB = Step(packed, thresholds, values, lanesB, ref b);
                    }
                    AddLeaves(Avx2.GatherVector256(packed, a, 4), leafIndex, leaves, total + i * k, k);
                    AddLeaves(Avx2.GatherVector256(packed, b, 4), leafIndex, leaves, total + (i + lanes) * k, k);
                }
                for (; i < full; i += lanes)
                {
                    var index = Vector256.Create(root);
                    while (!Step(packed, thresholds, values, Avx2.Add(laneOffsets, Vector256.Create(i)), ref index)) { }
                    AddLeaves(Avx2.GatherVector256(packed, index, 4), leafIndex, leaves, total + i * k, k);
                }
                for (; i < count; i++)
                {
                    var node = root;
                    while ((packed[node] & 0xFF) != 0)
                    {
                        var p = packed[node];
                        node = (p >>> 8) + (values[((p & 0xFF) - 1) * stride + i] <= thresholds[node] ? 0 : 1);
                    }
                    AddLeaf(leaves + (packed[node] >>> 8) * k, total + i * k, k);
                }
            }
        }
    }

    /// <summary>One level of the vector walk for eight pixels; true when every lane is at its leaf (nothing moved).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool Step(int* packed, float* thresholds, float* values, Vector256<int> pixelLanes, ref Vector256<int> index)
    {
        var node = Avx2.GatherVector256(packed, index, 4);
        var featurePlusOne = Avx2.And(node, Vector256.Create(0xFF));
        var active = Avx2.CompareGreaterThan(featurePlusOne, Vector256<int>.Zero);
        if (Avx.TestZ(active, active)) return true;
        var activeMask = active.AsSingle();
        var threshold = Avx2.GatherMaskVector256(Vector256<float>.Zero, thresholds, index, activeMask, 4);
        var at = Avx2.Add(Avx2.ShiftLeftLogical(Avx2.Subtract(featurePlusOne, Vector256.Create(1)), 8), pixelLanes);
        var value = Avx2.GatherMaskVector256(Vector256<float>.Zero, values, at, activeMask, 4);
        var left = Avx.Compare(value, threshold, FloatComparisonMode.OrderedLessThanOrEqualNonSignaling).AsInt32();
        var next = Avx2.Add(Avx2.ShiftRightLogical(node, 8), Avx2.AndNot(left, Vector256.Create(1)));
        index = Avx2.BlendVariable(index, next, active);
        return false;
    }

    /// <summary>Adds the leaves the eight lanes stand on (packed nodes) to their pixels' sums, pixel by pixel.</summary>
    private static unsafe void AddLeaves(Vector256<int> leafNodes, Span<int> leafIndex, float* leaves, float* total, int k)
    {
        Avx2.ShiftRightLogical(leafNodes, 8).CopyTo(leafIndex);
        for (var l = 0; l < leafIndex.Length; l++) AddLeaf(leaves + leafIndex[l] * k, total + l * k, k);
    }

    private static unsafe void AddLeaf(float* leaf, float* total, int k)
    {
        for (var c = 0; c < k; c++) total[c] += leaf[c];
    }

    /// <summary>
    /// The same trees with every leaf's class frequencies multiplied by <paramref name="weights"/> (scaled so the largest
    /// is 1): the forest's class is then argmax_c w_c·Σ_trees f_c, the posterior re-weighted as a prior shift does it
    /// (<see cref="ClassPriorShift"/>). Re-weighting the sum rather than each leaf matters: a grown-out tree's leaves are
    /// mostly pure, and a pure leaf re-weighted and normalised on its own stays what it was. Each leaf still adds at most
    /// 1 to a class, so the early decisions of the class walks hold; <see cref="PredictProbabilities"/> normalises each
    /// pixel's sums.
    /// </summary>
    public RandomForest WithClassWeights(IReadOnlyList<double> weights)
    {
        if (weights.Count != ClassCount) throw new ArgumentException($"{weights.Count} weights for {ClassCount} classes", nameof(weights));
        if (weights.Any(w => !(w > 0) || double.IsInfinity(w))) throw new ArgumentException("class weights must be positive and finite", nameof(weights));
        var largest = weights.Max();
        var scale = weights.Select(w => (float)(w / largest)).ToArray();
        var leaves = new float[_leafFrequencies.Length];
        for (var i = 0; i < leaves.Length; i++) leaves[i] = _leafFrequencies[i] * scale[i % ClassCount];
        return new RandomForest(ClassCount, FeatureCount, _nodes, _roots, leaves);
    }

    /// <summary>Whether some leaf's frequencies do not sum to 1 (<see cref="WithClassWeights"/>): probabilities are then normalised per pixel.</summary>
    private bool IsReweighted()
    {
        for (var leaf = 0; leaf < _leafFrequencies.Length; leaf += ClassCount)
        {
            float sum = 0;
            for (var c = 0; c < ClassCount; c++) sum += _leafFrequencies[leaf + c];
            if (Math.Abs(sum - 1) > 1e-3f) return true;
        }
        return false;
    }

    /// <summary>The forest as bytes (format version, sizes, nodes, leaves), for a model file.</summary>
    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(FormatVersion);
            writer.Write(ClassCount);
            writer.Write(FeatureCount);
            writer.Write(_roots.Length);
            foreach (var root in _roots) writer.Write(root);
            writer.Write(_nodes.Length);
            foreach (var node in _nodes)
            {
                writer.Write(node.Feature);
                writer.Write(node.Threshold);
                writer.Write(node.Child);
            }
            writer.Write(_leafFrequencies.Length);
            foreach (var value in _leafFrequencies) writer.Write(value);
        }
        return stream.ToArray();
    }

    /// <summary>Reads <see cref="ToBytes"/>; throws <see cref="InvalidDataException"/> on anything else.</summary>
    public static RandomForest FromBytes(byte[] bytes)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes));
            var version = reader.ReadInt32();
            if (version != FormatVersion) throw new InvalidDataException($"forest format version {version}, this build reads {FormatVersion}");
            var (classCount, featureCount) = (reader.ReadInt32(), reader.ReadInt32());
            var roots = new int[Checked(reader.ReadInt32(), bytes.Length / 4)];
            for (var i = 0; i < roots.Length; i++) roots[i] = reader.ReadInt32();
            var nodes = new Node[Checked(reader.ReadInt32(), bytes.Length / 12)];
            for (var i = 0; i < nodes.Length; i++) nodes[i] = new Node(reader.ReadInt32(), reader.ReadSingle(), reader.ReadInt32());
            var leaves = new float[Checked(reader.ReadInt32(), bytes.Length / 4)];
            for (var i = 0; i < leaves.Length; i++) leaves[i] = reader.ReadSingle();
            if (classCount < 2 || featureCount < 1) throw new InvalidDataException("forest has fewer than 2 classes or no features");
            foreach (var root in roots) if (root < 0 || root >= nodes.Length) throw new InvalidDataException("a tree root points outside the nodes");
            foreach (var node in nodes)
                if (node.Feature >= featureCount || (node.Feature >= 0 ? node.Child < 0 || node.Child + 1 >= nodes.Length : node.Child < 0 || (long)(node.Child + 1) * classCount > leaves.Length))
                    throw new InvalidDataException("a node points outside the forest");
            return new RandomForest(classCount, featureCount, nodes, roots, leaves);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the forest is truncated", e);
        }

        static int Checked(int count, int limit) =>
            count < 0 || count > limit ? throw new InvalidDataException($"forest declares {count} entries, more than its {limit} bytes can hold") : count;
    }

    private static RandomForest Assemble(TreeBuilder.Tree[] trees, int classCount, int featureCount)
    {
        var nodes = new List<Node>();
        var leaves = new List<float>();
        var roots = new int[trees.Length];
        for (var t = 0; t < trees.Length; t++)
        {
            var (nodeOffset, leafOffset) = (nodes.Count, leaves.Count / classCount);
            roots[t] = nodeOffset;
            foreach (var node in trees[t].Nodes)
                nodes.Add(node.Feature >= 0 ? node with { Child = node.Child + nodeOffset } : node with { Child = node.Child + leafOffset });
            leaves.AddRange(trees[t].LeafFrequencies);
        }
        return new RandomForest(classCount, featureCount, nodes.ToArray(), roots, leaves.ToArray());
    }

    private static int[] OutOfBagSubset(int n, int seed)
    {
        if (n <= ForestSettings.MaxOutOfBagSamples) return Enumerable.Range(0, n).ToArray();
        var random = new Random(unchecked(seed * 7919 + 17));
        var all = Enumerable.Range(0, n).ToArray();
        for (var i = 0; i < ForestSettings.MaxOutOfBagSamples; i++)
        {
            var j = random.Next(i, n);
            (all[i], all[j]) = (all[j], all[i]);
        }
        var subset = all.AsSpan(0, ForestSettings.MaxOutOfBagSamples).ToArray();
        Array.Sort(subset);
        return subset;
    }

    private ForestReport OutOfBag(float[][] samples, byte[] labels, long[] perClass, int[] subset, bool[][] inBag, double[] importance)
    {
        var k = ClassCount;
        var confusion = Enumerable.Range(0, k).Select(_ => new long[k]).ToArray();
        var predicted = new int[subset.Length];
        Parallel.For(0, subset.Length, i =>
        {
            var sample = subset[i];
            var sums = new float[k];
            var voters = 0;
            for (var t = 0; t < _roots.Length; t++)
            {
                if (inBag[t][i]) continue;
                voters++;
                var leaf = LeafOf(t, samples, sample);
                for (var c = 0; c < k; c++) sums[c] += _leafFrequencies[leaf * k + c];
            }
            var best = 0;
            for (var c = 1; c < k; c++) if (sums[c] > sums[best]) best = c;
            predicted[i] = voters == 0 ? -1 : best;
        });
        var evaluated = 0;
        var right = 0;
        for (var i = 0; i < subset.Length; i++)
        {
            if (predicted[i] < 0) continue;
            evaluated++;
            var truth = labels[subset[i]];
            confusion[truth][predicted[i]]++;
            if (truth == predicted[i]) right++;
        }
        var perClassAccuracy = new double[k];
        for (var c = 0; c < k; c++)
        {
            var row = confusion[c].Sum();
            perClassAccuracy[c] = row == 0 ? double.NaN : (double)confusion[c][c] / row;
        }
        return new ForestReport(perClass, evaluated, evaluated == 0 ? double.NaN : (double)right / evaluated, perClassAccuracy, confusion, importance);
    }

    /// <summary>
    /// Each feature's bin edges (value ≤ edge[b] falls in bin ≤ b) and every sample's bin: midpoints between neighbouring
    /// distinct values when a feature has at most 256 of them, else the values at 255 evenly spaced quantiles.
    /// </summary>
    private static (float[][] Edges, byte[][] Codes) Bin(float[][] samples)
    {
        var edges = new float[samples.Length][];
        var codes = new byte[samples.Length][];
        Parallel.For(0, samples.Length, f =>
        {
            var column = samples[f];
            // A strided subset is enough to place quantiles and keeps the sort small on densely labelled images.
            var stride = Math.Max(1, column.Length / 200_000);
            var sorted = new float[(column.Length + stride - 1) / stride];
            for (var i = 0; i < sorted.Length; i++) sorted[i] = column[i * stride];
            Array.Sort(sorted);
            var distinct = new List<float>();
            foreach (var v in sorted) if (distinct.Count == 0 || v != distinct[^1]) distinct.Add(v);
            var featureEdges = new List<float>();
            if (distinct.Count <= ForestSettings.Bins)
            {
                for (var i = 0; i + 1 < distinct.Count; i++) featureEdges.Add(distinct[i] + 0.5f * (distinct[i + 1] - distinct[i]));
            }
            else
            {
                for (var q = 1; q < ForestSettings.Bins; q++)
                {
                    var v = sorted[(int)((long)q * sorted.Length / ForestSettings.Bins)];
                    if (featureEdges.Count == 0 || v > featureEdges[^1]) featureEdges.Add(v);
                }
            }
            var e = featureEdges.ToArray();
            var c = new byte[column.Length];
            for (var i = 0; i < column.Length; i++)
            {
                // first edge ≥ value; past the last edge, the last bin
                int lo = 0, hi = e.Length;
                while (lo < hi)
                {
                    var mid = (lo + hi) >> 1;
                    if (e[mid] < column[i]) lo = mid + 1; else hi = mid;
                }
                c[i] = (byte)lo;
            }
            edges[f] = e;
            codes[f] = c;
        });
        return (edges, codes);
    }

    /// <summary>Grows one tree on binned samples, depth first with an explicit stack.</summary>
    private sealed class TreeBuilder(byte[][] codes, float[][] edges, byte[] labels, int k, int mtry, ForestSettings settings, Random random)
    {
        public sealed record Tree(Node[] Nodes, float[] LeafFrequencies, double[] Importance);

        private readonly List<Node> _nodes = [];
        private readonly List<float> _leaves = [];
        private readonly double[] _importance = new double[codes.Length];
        private readonly long[] _histogram = new long[ForestSettings.Bins * k];
        private readonly int[] _featureOrder = Enumerable.Range(0, codes.Length).ToArray();

        public Tree Grow(int[] indices)
        {
            var pending = new Stack<(int Node, int Start, int End, int Depth)>();
            _nodes.Add(default);
            pending.Push((0, 0, indices.Length, 0));
            var counts = new long[k];
            while (pending.Count > 0)
            {
                var (node, start, end, depth) = pending.Pop();
                var segment = indices.AsSpan(start, end - start);
                Array.Clear(counts);
                foreach (var i in segment) counts[labels[i]]++;
                var split = depth < settings.MaxDepth && segment.Length >= 2 * settings.MinSamplesLeaf && counts.Count(c => c > 0) > 1
                    ? BestSplit(segment, counts)
                    : null;
                if (split is not { } s)
                {
                    _nodes[node] = new Node(-1, 0, _leaves.Count / k);
                    foreach (var c in counts) _leaves.Add((float)c / segment.Length);
                    continue;
                }
                // Partition the segment: bin ≤ s.Bin first.
                var column = codes[s.Feature];
                int left = 0, right = segment.Length - 1;
                while (left <= right)
                {
                    if (column[segment[left]] <= s.Bin)
                    {
                        left++;
                        continue;
                    }
                    (segment[left], segment[right]) = (segment[right], segment[left]);
                    right--;
                }
                _importance[s.Feature] += s.Gain;
                var child = _nodes.Count;
                _nodes.Add(default);
                _nodes.Add(default);
                _nodes[node] = new Node(s.Feature, edges[s.Feature][s.Bin], child);
                pending.Push((child + 1, start + left, end, depth + 1));
                pending.Push((child, start, start + left, depth + 1));
            }
            return new Tree(_nodes.ToArray(), _leaves.ToArray(), _importance);
        }

        private (int Feature, int Bin, double Gain)? BestSplit(Span<int> segment, long[] counts)
        {
            var n = segment.Length;
            var parentScore = SumOfSquares(counts) / n;
            (int Feature, int Bin, double Score)? best = null;
            var lastTied = -1;
            var leftCounts = new long[k];
            // Draw features without replacement; go on past mtry only while none of the drawn ones can split (scikit-learn's rule).
            for (var drawn = 0; drawn < _featureOrder.Length && (drawn < mtry || best is null); drawn++)
            {
                var pick = random.Next(drawn, _featureOrder.Length);
                (_featureOrder[drawn], _featureOrder[pick]) = (_featureOrder[pick], _featureOrder[drawn]);
                var f = _featureOrder[drawn];
                var bins = edges[f].Length + 1;
                if (bins < 2) continue;
                var column = codes[f];
                Array.Clear(_histogram, 0, bins * k);
                foreach (var i in segment) _histogram[column[i] * k + labels[i]]++;
                Array.Clear(leftCounts);
                long leftN = 0;
                for (var b = 0; b < bins - 1; b++)
                {
                    for (var c = 0; c < k; c++)
                    {
                        var h = _histogram[b * k + c];
                        leftCounts[c] += h;
                        leftN += h;
                    }
                    var rightN = n - leftN;
                    if (leftN < settings.MinSamplesLeaf) continue;
                    if (rightN < settings.MinSamplesLeaf) break;
                    // Gini decrease ∝ Σ L_c²/n_L + Σ R_c²/n_R − Σ N_c²/n (Breiman et al. 1984, CART).
                    double left2 = 0, right2 = 0;
                    for (var c = 0; c < k; c++)
                    {
                        left2 += (double)leftCounts[c] * leftCounts[c];
                        var r = counts[c] - leftCounts[c];
                        right2 += (double)r * r;
                    }
                    var score = left2 / leftN + right2 / rightN;
                    if (score > parentScore + 1e-9 && (best is null || score > best.Value.Score))
                    {
                        best = (f, b, score);
                        lastTied = b;
                    }
                    else if (best is { } current && current.Feature == f && lastTied == b - 1 && score == current.Score) lastTied = b;
                }
            }
            if (best is not { } chosen) return null;
            // Bins the node has no sample in give the same counts, hence the same score: the split could sit at any of
            // their edges. Take the edge nearest the middle of that empty stretch, as CART and scikit-learn put a
            // threshold halfway between the neighbouring samples, rather than hugging the samples below it: strokes
            // leave the gap between two phases' grey levels empty, and the partial-volume voxels there are split at its middle.
            if (lastTied > chosen.Bin)
            {
                var e = edges[chosen.Feature];
                var middle = 0.5 * ((double)e[chosen.Bin] + e[lastTied]);
                var nearest = chosen.Bin;
                for (var b = chosen.Bin + 1; b <= lastTied; b++)
                    if (Math.Abs(e[b] - middle) < Math.Abs(e[nearest] - middle)) nearest = b;
                chosen = chosen with { Bin = nearest };
            }
            // n·Gini = n − Σc²/n, so the impurity decrease n·G − n_L·G_L − n_R·G_R is score − parentScore exactly.
            return (chosen.Feature, chosen.Bin, chosen.Score - parentScore);
        }

        private static double SumOfSquares(long[] counts)
        {
            double s = 0;
            foreach (var c in counts) s += (double)c * c;
            return s;
        }
    }
}
