using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SsbTomo.Imaging.Classification;

public sealed partial class RandomForest
{
    /// <summary>
    /// The forest with its thresholds replaced by ranks, for the walk that compares bytes (as histogram forests predict,
    /// e.g. LightGBM, Ke et al. 2017, NeurIPS): every split of feature f tests value ≤ T_f[r], where T_f holds the distinct
    /// thresholds the forest uses on f, sorted. A pixel's code for f is the count of T_f below its value (NaN: 255), and
    /// value ≤ T_f[r] exactly when code ≤ r, so the coded walk takes the float walk's branches, bit for bit. Trees grown
    /// here split on at most 255 bin edges per feature, so a code fits a byte. Codes and ranks are stored minus 128 (as
    /// signed bytes) because AVX2 compares bytes and ints signed only.
    /// <para>
    /// Each tree's top <see cref="TopLevels"/> levels are evaluated for 32 pixels at once without gathers (the predicated
    /// walk of Asadi, Lin &amp; de Vries 2014, "Runtime optimizations for tree-based machine learning models", IEEE TKDE
    /// 26:2281, doi:10.1109/TKDE.2013.73, on SIMD bytes): the top levels are completed to a full binary tree (below a
    /// leaf, virtual nodes whose answer does not matter), every one of its 2^L − 1 nodes is one byte compare of a feature's
    /// 32 codes against the node's rank, and each pixel's path is selected from those answers with byte blends. The
    /// path's end, one of 2^L entry slots, is where the gather walk starts.
    /// </para>
    /// <para>
    /// A node of the gather walk is one int: a split is (rank − 128) · 2²⁴ + (offset to its left child) · 2⁸ + feature + 1,
    /// the right child next to the left; a leaf is its row of leaf frequencies · 2⁸ (low byte 0). A tree's nodes start
    /// with its 2^L entry slots (a node at depth L, or a copy of the leaf that ends the path above it), then the nodes
    /// below them, breadth first, so the levels every pixel visits share a few cache lines.
    /// </para>
    /// </summary>
    private sealed class CodedForest
    {
        private const int TableStride = 256;

        /// <summary>Pixels per byte compare of the top levels: one Vector256 of byte codes (the AVX2 width, not a tuning).</summary>
        public static int TopLanes => Vector256<sbyte>.Count;

        /// <summary>
        /// Bytes of slack before and after a block's codes: the walk's dword gathers read up to 3 bytes before a code and its
        /// top levels load 32 bytes at a time, so any slack of at least one Vector256 keeps every read inside the buffer;
        /// 64 keeps the rows cache-line aligned (<see cref="RowStride"/>). Memory layout, the same codes whatever its value.
        /// </summary>
        private const int CodeSlackBytes = 64;

        private readonly int _featureCount;
        // Feature f's thresholds at f·256, padded with +∞ to 256 entries; the branchless search starts at _firstStep[f].
        private readonly float[] _thresholds;
        private readonly int[] _firstStep;
        // Feature f's thresholds rearranged for the AVX-512 search (WideSearchTables) at f·256.
        private readonly float[] _wideTables;

        [ThreadStatic] private static sbyte[]? t_codes;

        private CodedForest(int featureCount, int topLevels, int[] nodes, int[] entries, byte[] topFeature, sbyte[] topRank, float[] thresholds,
            int[] firstStep, float[] leaves, int leafStride)
        {
            _featureCount = featureCount;
            TopLevels = topLevels;
            Nodes = nodes;
            Entries = entries;
            TopFeature = topFeature;
            TopRank = topRank;
            _thresholds = thresholds;
            _firstStep = firstStep;
            _wideTables = WideSearchTables(thresholds, featureCount);
            Leaves = leaves;
            LeafStride = leafStride;
        }

        /// <summary>
        /// The forest for the look-ahead walk, or null where it does not fit: each subtree below an entry slot in preorder,
        /// a split as (rank − 128) · 2²⁴ + (offset to its right child) · 2¹² + (left child's feature + 1) · 2⁶ + right
        /// child's feature + 1 (0: the child is a leaf), the left child next to it; a leaf as its distinct row. Knowing the
        /// next node's feature before reading it, the walk gathers a node and its pixels' codes at once.
        /// </summary>
        public int[]? AheadNodes { get; private init; }

        /// <summary>Tree t's entry slot p at t·2^L + p: (position in <see cref="AheadNodes"/>) · 2⁸ + the node's feature + 1 (0: a leaf).</summary>
        public int[]? AheadEntries { get; private init; }

        /// <summary>Levels of each tree evaluated by byte compares before the gather walk (0: the gather walk starts at the root).</summary>
        public int TopLevels { get; }

        /// <summary>Every tree's entry slots and the nodes below them (see the class summary).</summary>
        public int[] Nodes { get; }

        /// <summary>Tree t's first entry slot in <see cref="Nodes"/>.</summary>
        public int[] Entries { get; }

        /// <summary>Tree t's top levels, 2^L − 1 virtual nodes in level order at t·(2^L − 1): the feature and the rank − 128.</summary>
        public byte[] TopFeature { get; }

        public sbyte[] TopRank { get; }

        /// <summary>The distinct leaf frequency rows, padded with zeros to <see cref="LeafStride"/> (a multiple of 4), so a leaf is added with 128-bit adds.</summary>
        public float[] Leaves { get; }

        public int LeafStride { get; }

        /// <summary>
        /// The coded forest, or null where it cannot be coded: 255 features or more, more than 255 distinct thresholds (or
        /// a NaN threshold) on a feature, a tree wider than a 16-bit child offset reaches, or nodes shared between trees
        /// (a forest read from a file that was not written by <see cref="Train"/>); those forests take the float walk.
        /// </summary>
        public static CodedForest? TryBuild(Node[] nodes, int[] roots, int featureCount, float[] leafFrequencies, int classCount, int topLevels)
        {
            if (featureCount >= 255) return null;
            var perFeature = Enumerable.Range(0, featureCount).Select(_ => new List<float>()).ToArray();
            foreach (var node in nodes)
            {
                if (node.Feature < 0) continue;
                if (float.IsNaN(node.Threshold)) return null;
                perFeature[node.Feature].Add(node.Threshold);
            }
            var sorted = new float[featureCount][];
            var thresholds = new float[featureCount * TableStride];
            Array.Fill(thresholds, float.PositiveInfinity);
            var firstStep = new int[featureCount];
            for (var f = 0; f < featureCount; f++)
            {
                perFeature[f].Sort();
                var distinct = new List<float>();
                foreach (var t in perFeature[f]) if (distinct.Count == 0 || t != distinct[^1]) distinct.Add(t);
                if (distinct.Count > 255) return null;
                sorted[f] = distinct.ToArray();
                sorted[f].CopyTo(thresholds, f * TableStride);
                // The search over 2^m entries finds counts 0..2^m − 1, so 2^m > the thresholds' count.
                var size = 1;
                while (size <= distinct.Count) size <<= 1;
                firstStep[f] = distinct.Count == 0 ? 0 : size >> 1;
            }

            var leafStride = (classCount + 3) & ~3;
            var distinctRow = new Dictionary<int, int>(new SameRow(leafFrequencies, classCount));
            var distinctRows = new List<(int Row, int At)>();
            var slots = 1 << topLevels;
            // The look-ahead walk's nodes hold their children's features in 6 bits each.
            var aheadNodes = featureCount < 63 ? new List<int>(nodes.Length) : null;
            var aheadEntries = new int[roots.Length * slots];
            var virtualNodes = slots - 1;
            var topFeature = new byte[roots.Length * virtualNodes];
            var topRank = new sbyte[roots.Length * virtualNodes];
            var coded = new List<int>(nodes.Length + roots.Length * slots);
            var entries = new int[roots.Length];
            var queue = new Queue<(int Node, int At)>();
            for (var t = 0; t < roots.Length; t++)
            {
                // The top levels as a complete tree: level by level, each position holds the real node the path reaches
                // (a leaf stays a leaf below itself); a virtual node under a leaf repeats its parent's feature, so it reads
                // a row the compares already load, and its answer is ignored (both children are the leaf).
                var level = new List<int> { roots[t] };
                var levelFeature = new List<int> { 0 };
                for (var depth = 0; depth < topLevels; depth++)
                {
                    var next = new List<int>(2 * level.Count);
                    var nextFeature = new List<int>(2 * level.Count);
                    for (var j = 0; j < level.Count; j++)
                    {
                        var node = nodes[level[j]];
                        var v = t * virtualNodes + (1 << depth) - 1 + j;
                        if (node.Feature >= 0)
                        {
                            topFeature[v] = (byte)node.Feature;
                            topRank[v] = (sbyte)(Array.BinarySearch(sorted[node.Feature], node.Threshold) - 128);
                            next.Add(node.Child);
                            next.Add(node.Child + 1);
                            nextFeature.Add(node.Feature);
                            nextFeature.Add(node.Feature);
                        }
                        else
                        {
                            topFeature[v] = (byte)levelFeature[j];
                            topRank[v] = sbyte.MaxValue;
                            next.Add(level[j]);
                            next.Add(level[j]);
                            nextFeature.Add(levelFeature[j]);
                            nextFeature.Add(levelFeature[j]);
                        }
                    }
                    (level, levelFeature) = (next, nextFeature);
                }

                if (aheadNodes is not null)
                    for (var p = 0; p < slots; p++)
                    {
                        var slotNode = nodes[level[p]];
                        var at = EmitAhead(level[p]);
                        if (at < 0 || at >= 1 << 23)
                        {
                            aheadNodes = null;
                            break;
                        }
                        aheadEntries[t * slots + p] = at << 8 | (slotNode.Feature + 1);
                    }

                entries[t] = coded.Count;
                for (var p = 0; p < slots; p++)
                {
                    coded.Add(0);
                    queue.Enqueue((level[p], entries[t] + p));
                }
                while (queue.Count > 0)
                {
                    var (old, at) = queue.Dequeue();
                    var node = nodes[old];
                    if (node.Feature < 0)
                    {
                        coded[at] = DistinctRow(node.Child) << 8;
                        continue;
                    }
                    var child = coded.Count;
                    var offset = child - at;
                    if (offset > 0xFFFF || coded.Count + 2 > nodes.Length + roots.Length * slots) return null;
                    coded.Add(0);
                    coded.Add(0);
                    var rank = Array.BinarySearch(sorted[node.Feature], node.Threshold);
                    coded[at] = (rank - 128) << 24 | offset << 8 | (node.Feature + 1);
                    queue.Enqueue((node.Child, child));
                    queue.Enqueue((node.Child + 1, child + 1));
                }
            }

            if (distinctRows.Count >= 1 << 23) return null;
            var leaves = new float[distinctRows.Count * leafStride];
            foreach (var (row, at) in distinctRows) Array.Copy(leafFrequencies, row * classCount, leaves, at * leafStride, classCount);
            return new CodedForest(featureCount, topLevels, coded.ToArray(), entries, topFeature, topRank, thresholds, firstStep, leaves, leafStride)
            {
                AheadNodes = aheadNodes?.ToArray(),
                AheadEntries = aheadNodes is null ? null : aheadEntries,
            };

            // A subtree in preorder for the look-ahead walk (left child next to its parent): its root's position, or −1
            // where a right child is 4096 nodes or more away.
            int EmitAhead(int root)
            {
                var at = aheadNodes!.Count;
                var node = nodes[root];
                if (node.Feature < 0)
                {
                    aheadNodes.Add(DistinctRow(node.Child));
                    return at;
                }
                aheadNodes.Add(0);
                if (EmitAhead(node.Child) < 0) return -1;
                var right = EmitAhead(node.Child + 1);
                if (right < 0 || right - at >= 1 << 12) return -1;
                var rank = Array.BinarySearch(sorted[node.Feature], node.Threshold);
                var (left, rightNode) = (nodes[node.Child], nodes[node.Child + 1]);
                aheadNodes[at] = (rank - 128) << 24 | (right - at) << 12 | (left.Feature + 1) << 6 | (rightNode.Feature + 1);
                return at;
            }

            // Leaves grown to purity mostly hold one-hot rows: the coded forest keeps each distinct row once (compared bit
            // for bit), so the few rows most leaves share stay in cache.
            int DistinctRow(int row)
            {
                if (!distinctRow.TryGetValue(row, out var at))
                {
                    at = distinctRows.Count;
                    distinctRow[row] = at;
                    distinctRows.Add((row, at));
                }
                return at;
            }
        }

        /// <summary>Leaf rows (indexes into the frequencies) equal when their frequencies are, bit for bit.</summary>
        private sealed class SameRow(float[] frequencies, int classCount) : IEqualityComparer<int>
        {
            public bool Equals(int a, int b) =>
                MemoryMarshal.Cast<float, int>(frequencies.AsSpan(a * classCount, classCount)).SequenceEqual(MemoryMarshal.Cast<float, int>(frequencies.AsSpan(b * classCount, classCount)));

            public int GetHashCode(int row)
            {
                var hash = new HashCode();
                hash.AddBytes(MemoryMarshal.AsBytes(frequencies.AsSpan(row * classCount, classCount)));
                return hash.ToHashCode();
            }
        }

        /// <summary>Bytes between two features' rows of codes for a block of <paramref name="count"/> pixels: a multiple of 64 that is not one of 4096, so rows do not share cache sets.</summary>
        public static int RowStride(int count) => ((count + 63) & ~63) + 64;

        /// <summary>
        /// The codes − 128 of pixels [<paramref name="p0"/>, p0 + <paramref name="count"/>) of the feature planes,
        /// feature-major (feature f of pixel i at f·<see cref="RowStride"/> + i from the returned offset), in this thread's
        /// buffer (64 bytes of slack on both sides for the walk's dword gathers and 32-byte loads). Each value is a
        /// branchless binary search over the feature's thresholds: with AVX-512, 16 values per vector by permutes and
        /// compares (<see cref="WideCode"/>, 3-4x less CPU than the gathers on Zen 4); else eight values per AVX2 gather,
        /// four groups of eight in flight so that one group's gathers fill another's latency. Features no split uses are
        /// not coded: no compare depends on them.
        /// </summary>
        public unsafe (sbyte[] Buffer, int Offset) Quantise(IntPtr[] planes, int p0, int count)
        {
            const int offset = CodeSlackBytes;
            var stride = RowStride(count);
            var size = offset + _featureCount * stride + CodeSlackBytes;
            var codes = t_codes is { } held && held.Length >= size ? held : t_codes = new sbyte[size];
            var lanes = Vector256<int>.Count;
            var wide = UseWideCoding && CanCodeWide;
            fixed (float* table = _thresholds)
            fixed (float* wideTable = _wideTables)
            fixed (sbyte* buffer = codes)
            {
                for (var f = 0; f < _featureCount; f++)
                {
                    var first = _firstStep[f];
                    if (first == 0) continue;
                    var plane = (float*)planes[f] + p0;
                    var feature = table + f * TableStride;
                    var row = buffer + offset + f * stride;
                    var i = 0;
                    if (wide)
                    {
                        var search = wideTable + f * TableStride;
                        var wideLanes = Vector512<float>.Count;
                        for (; i + 4 * wideLanes <= count; i += 4 * wideLanes)
                        {
                            var a = WideCode(search, Vector512.Load(plane + i));
                            var b = WideCode(search, Vector512.Load(plane + i + wideLanes));
                            var c = WideCode(search, Vector512.Load(plane + i + 2 * wideLanes));
                            var d = WideCode(search, Vector512.Load(plane + i + 3 * wideLanes));
                            Avx512F.ConvertToVector128SByte(a).Store(row + i);
                            Avx512F.ConvertToVector128SByte(b).Store(row + i + wideLanes);
                            Avx512F.ConvertToVector128SByte(c).Store(row + i + 2 * wideLanes);
                            Avx512F.ConvertToVector128SByte(d).Store(row + i + 3 * wideLanes);
                        }
                    }
                    else if (Avx2.IsSupported)
                    {
                        // Codes − 128 of four groups packed to 32 signed bytes: the packs interleave 128-bit lanes, the permute restores pixel order.
                        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
                        for (; i + 4 * lanes <= count; i += 4 * lanes)
                        {
                            var a = Lanes8.Of(Avx.LoadVector256(plane + i));
                            var b = Lanes8.Of(Avx.LoadVector256(plane + i + lanes));
                            var c = Lanes8.Of(Avx.LoadVector256(plane + i + 2 * lanes));
                            var d = Lanes8.Of(Avx.LoadVector256(plane + i + 3 * lanes));
                            Search(feature, first, ref a, ref b, ref c, ref d);
                            var words = (Avx2.PackSignedSaturate(a.Position, b.Position), Avx2.PackSignedSaturate(c.Position, d.Position));
                            var bytes = Avx2.PackSignedSaturate(words.Item1, words.Item2);
                            Avx.Store(row + i, Avx2.PermuteVar8x32(bytes.AsInt32(), order).AsSByte());
                        }
                    }
                    for (; i < count; i++) row[i] = (sbyte)(Code(feature, first, plane[i]) - 128);
                }
            }
            return (codes, offset);
        }

        /// <summary>Eight values under a binary search: their position (count of thresholds below) and the values, NaN marked.</summary>
        private struct Lanes8
        {
            public Vector256<float> Value;
            public Vector256<int> Position;
            public Vector256<int> NaN;

            public static Lanes8 Of(Vector256<float> value) => new()
            {
                Value = value,
                Position = Vector256<int>.Zero,
                NaN = Avx.Compare(value, value, FloatComparisonMode.UnorderedNonSignaling).AsInt32(),
            };
        }

        /// <summary>
        /// The four groups' searches, step by step together; positions end as codes − 128 (NaN: 255 − 128). The first
        /// three steps need no gather: after them a position is q times the count of the seven pivots t[q·j − 1]
        /// (j = 1..7, q = first / 4) below the value (the table is sorted), so they are seven compares with broadcast
        /// pivots; the gathers start at step q / 2. The positions are the same as the stepwise search's.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe void Search(float* feature, int first, ref Lanes8 a, ref Lanes8 b, ref Lanes8 c, ref Lanes8 d)
        {
            var step = first;
            if (first >= 4)
            {
                var q = first >> 2;
                var (ca, cb, cc, cd) = (Vector256<int>.Zero, Vector256<int>.Zero, Vector256<int>.Zero, Vector256<int>.Zero);
                for (var j = 1; j <= 7; j++)
                {
                    // A true compare is −1 in every bit: subtracting it counts the pivot.
                    var pivot = Vector256.Create(feature[q * j - 1]);
                    ca = Avx2.Subtract(ca, Avx.Compare(pivot, a.Value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32());
                    cb = Avx2.Subtract(cb, Avx.Compare(pivot, b.Value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32());
                    cc = Avx2.Subtract(cc, Avx.Compare(pivot, c.Value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32());
                    cd = Avx2.Subtract(cd, Avx.Compare(pivot, d.Value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32());
                }
                var width = Vector256.Create(q);
                (a.Position, b.Position) = (Avx2.MultiplyLow(ca, width), Avx2.MultiplyLow(cb, width));
                (c.Position, d.Position) = (Avx2.MultiplyLow(cc, width), Avx2.MultiplyLow(cd, width));
                step = q >> 1;
            }
            for (; step > 0; step >>= 1)
            {
                var stepLanes = Vector256.Create(step);
                var probe = Vector256.Create(step - 1);
                var pa = Avx2.GatherVector256(feature, Avx2.Add(a.Position, probe), 4);
                var pb = Avx2.GatherVector256(feature, Avx2.Add(b.Position, probe), 4);
                var pc = Avx2.GatherVector256(feature, Avx2.Add(c.Position, probe), 4);
                var pd = Avx2.GatherVector256(feature, Avx2.Add(d.Position, probe), 4);
                a.Position = Avx2.Add(a.Position, Avx2.And(Avx.Compare(pa, a.Value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32(), stepLanes));
                b.Position = Avx2.Add(b.Position, Avx2.And(Avx.Compare(pb, b.Value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32(), stepLanes));
                c.Position = Avx2.Add(c.Position, Avx2.And(Avx.Compare(pc, c.Value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32(), stepLanes));
                d.Position = Avx2.Add(d.Position, Avx2.And(Avx.Compare(pd, d.Value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32(), stepLanes));
            }
            var nanCode = Vector256.Create(255);
            var bias = Vector256.Create(128);
            a.Position = Avx2.Subtract(Avx2.BlendVariable(a.Position, nanCode, a.NaN), bias);
            b.Position = Avx2.Subtract(Avx2.BlendVariable(b.Position, nanCode, b.NaN), bias);
            c.Position = Avx2.Subtract(Avx2.BlendVariable(c.Position, nanCode, c.NaN), bias);
            d.Position = Avx2.Subtract(Avx2.BlendVariable(d.Position, nanCode, d.NaN), bias);
        }

        /// <summary>
        /// Each feature's thresholds rearranged for <see cref="WideCode"/>, 256 floats per feature: at 1..31 the probes of
        /// the search's first five steps in heap order (Eytzinger layout: entry h at depth d = ⌊log₂ h⌋ is the probe
        /// t[(h − 2^d)·2^(8−d) + 2^(7−d) − 1] of the path whose answers are h's bits below the leading one; entry 0 is never
        /// read), then for j = 0..6 the 32 floats t[8m + j], m = 0..31, at 32 + 32j. The +∞ padding of the sorted table is
        /// searched like any threshold (no value is above it), so every feature is searched over 256 entries.
        /// </summary>
        private static float[] WideSearchTables(float[] thresholds, int featureCount)
        {
            var tables = new float[featureCount * TableStride];
            for (var f = 0; f < featureCount; f++)
            {
                var sorted = thresholds.AsSpan(f * TableStride, TableStride);
                var table = tables.AsSpan(f * TableStride, TableStride);
                table[0] = sorted[127];
                for (var h = 1; h < 32; h++)
                {
                    var depth = BitOperations.Log2((uint)h);
                    table[h] = sorted[(h - (1 << depth)) * (256 >> depth) + (128 >> depth) - 1];
                }
                for (var j = 0; j < 7; j++)
                    for (var m = 0; m < 32; m++) table[32 + 32 * j + m] = sorted[8 * m + j];
            }
            return tables;
        }

        /// <summary>
        /// Codes − 128 of 16 values (NaN: 255 − 128) by the branchless search over 256 sorted entries without gathers: its
        /// first five steps walk the heap-ordered probes (h ← 2h + [probe &lt; value], the probe a permute of one or two
        /// registers by h), which leaves each value between t[8m − 1] &lt; value and t[8m + 7] ≥ value for m = h − 32; the
        /// rest of the count is the seven compares of the value with t[8m + j], j = 0..6, each a two-register permute by m.
        /// The counts are the stepwise search's (<see cref="Code"/>), bit for bit.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe Vector512<int> WideCode(float* table, Vector512<float> value)
        {
            var h = Vector512.ConditionalSelect(Avx512F.CompareLessThan(Vector512.Create(table[1]), value).AsInt32(), Vector512.Create(3), Vector512.Create(2));
            var heap = Vector512.Load(table);
            h = Descend(heap, h, value);
            h = Descend(heap, h, value);
            h = Descend(heap, h, value);
            h = Descend(Vector512.Load(table + 16), h, value);
            // h is 32..63 now: m = h − 32 is h's low five bits, which is all a two-register permute reads.
            var code = (h << 3) - Vector512.Create(256 + 128);
            // A compare's answer is a mask register: adding one under it is a single masked add.
            var one = Vector512.Create(1);
            code = Vector512.ConditionalSelect(Below(table + 32, h, value), code + one, code);
            code = Vector512.ConditionalSelect(Below(table + 64, h, value), code + one, code);
            code = Vector512.ConditionalSelect(Below(table + 96, h, value), code + one, code);
            code = Vector512.ConditionalSelect(Below(table + 128, h, value), code + one, code);
            code = Vector512.ConditionalSelect(Below(table + 160, h, value), code + one, code);
            code = Vector512.ConditionalSelect(Below(table + 192, h, value), code + one, code);
            code = Vector512.ConditionalSelect(Below(table + 224, h, value), code + one, code);
            return Vector512.ConditionalSelect(Avx512F.CompareUnordered(value, value).AsInt32(), Vector512.Create(255 - 128), code);
        }

        /// <summary>One step down the heap: 2h + 1 where h's probe (entry h mod 16 of <paramref name="heap"/>) is below the value, else 2h.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<int> Descend(Vector512<float> heap, Vector512<int> h, Vector512<float> value) =>
            h + h - Avx512F.CompareLessThan(Avx512F.PermuteVar16x32(heap, h), value).AsInt32();

        /// <summary>−1 in the lanes whose value is above their entry m (h's low five bits) of the 32 floats at <paramref name="table"/>, else 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe Vector512<int> Below(float* table, Vector512<int> h, Vector512<float> value) =>
            Avx512F.CompareLessThan(Avx512F.PermuteVar16x32x2(Vector512.Load(table), h, Vector512.Load(table + 16)), value).AsInt32();

        private static unsafe int Code(float* thresholds, int firstStep, float value)
        {
            if (float.IsNaN(value)) return 255;
            var position = 0;
            for (var step = firstStep; step > 0; step >>= 1)
                if (thresholds[position + step - 1] < value) position += step;
            return position;
        }
    }

    /// <summary>Tests and benchmarks: false codes the pixels with the AVX2 gathers where the AVX-512 permutes could run (the same codes).</summary>
    internal static bool UseWideCoding { get; set; } = true;

    /// <summary>Whether this machine has the AVX-512 permutes and mask compares <see cref="CodedForest.Quantise"/> codes 16 values with.</summary>
    internal static bool CanCodeWide => Avx512F.IsSupported;

    [ThreadStatic] private static byte[]? t_paths;

    private bool CanWalkCoded(int count) => UseCodedWalk && UseVectorWalk && Avx2.IsSupported && _coded is not null && count >= 1;

    /// <summary>
    /// The quantised walk of one block: its codes (<see cref="CodedForest.Quantise"/>), then trees
    /// [<paramref name="treeStart"/>, <paramref name="treeEnd"/>) for the first <paramref name="count"/> pixels, adding
    /// each pixel's leaf to its row of <paramref name="sums"/> (<see cref="CodedForest.LeafStride"/> floats) in tree order.
    /// </summary>
    private unsafe void WalkCoded(sbyte[] codes, int offset, int rowStride, int count, float[] sums, int treeStart, int treeEnd)
    {
        var coded = _coded!;
        var paths = t_paths is { } held && held.Length >= count + CodedForest.TopLanes ? held : t_paths = new byte[count + CodedForest.TopLanes];
        fixed (sbyte* buffer = codes)
        fixed (byte* pathOf = paths)
        fixed (float* total = sums)
            for (var tree = treeStart; tree < treeEnd; tree++)
            {
                if (coded.TopLevels > 0) TopLevels(coded, tree, buffer + offset, rowStride, count, pathOf);
                if (UseLookAheadWalk && coded.AheadNodes is not null)
                {
                    if (UseLaneRefill && CanRefillLanes) GatherWalkRefill(coded, tree, buffer + offset, rowStride, count, pathOf, total);
                    else GatherWalkAhead(coded, tree, buffer + offset, rowStride, count, pathOf, total);
                }
                else GatherWalk(coded, tree, buffer + offset, rowStride, count, pathOf, total);
            }
    }

    /// <summary>
    /// Each pixel's path through tree <paramref name="tree"/>'s top levels, as the index (0..2^L − 1) of the entry slot
    /// it ends in: 32 pixels a step, every virtual node one byte compare (right: code > rank), the path's answer at each
    /// level selected from its level's answers by blends on the answers above it.
    /// </summary>
    private static unsafe void TopLevels(CodedForest coded, int tree, sbyte* codes, int rowStride, int count, byte* pathOf)
    {
        var levels = coded.TopLevels;
        var virtualNodes = (1 << levels) - 1;
        var rows = stackalloc sbyte*[virtualNodes];
        var ranks = stackalloc Vector256<sbyte>[virtualNodes];
        var taken = stackalloc Vector256<sbyte>[levels];
        var pending = stackalloc Vector256<sbyte>[Math.Max(1, 1 << (levels - 1))];
        var first = tree * virtualNodes;
        for (var v = 0; v < virtualNodes; v++)
        {
            rows[v] = codes + coded.TopFeature[first + v] * rowStride;
            ranks[v] = Vector256.Create(coded.TopRank[first + v]);
        }
        var i = 0;
        for (; i + CodedForest.TopLanes <= count; i += CodedForest.TopLanes)
        {
            var path = Vector256<sbyte>.Zero;
            for (var level = 0; level < levels; level++)
            {
                var levelStart = (1 << level) - 1;
                Vector256<sbyte> right;
                if (level == 0) right = Avx2.CompareGreaterThan(Avx.LoadVector256(rows[0] + i), ranks[0]);
                else
                {
                    // Pairs of siblings by the last answer, then pairs of those by the one before, up to the first.
                    var pairs = 1 << (level - 1);
                    var last = taken[level - 1];
                    for (var m = 0; m < pairs; m++)
                    {
                        var (left, sibling) = (levelStart + 2 * m, levelStart + 2 * m + 1);
                        pending[m] = Avx2.BlendVariable(
                            Avx2.CompareGreaterThan(Avx.LoadVector256(rows[left] + i), ranks[left]),
                            Avx2.CompareGreaterThan(Avx.LoadVector256(rows[sibling] + i), ranks[sibling]), last);
                    }
                    for (var above = level - 2; above >= 0; above--)
                        for (var m = 0; m < 1 << above; m++)
                            pending[m] = Avx2.BlendVariable(pending[2 * m], pending[2 * m + 1], taken[above]);
                    right = pending[0];
                }
                taken[level] = right;
                path = Avx2.Or(path, Avx2.And(right, Vector256.Create((sbyte)(1 << (levels - 1 - level)))));
            }
            Avx.Store(pathOf + i, path.AsByte());
        }
        for (; i < count; i++)
        {
            var v = 0;
            for (var level = 0; level < levels; level++) v = 2 * v + (rows[v][i] > coded.TopRank[first + v] ? 2 : 1);
            pathOf[i] = (byte)(v - virtualNodes);
        }
    }

    /// <summary>
    /// The rest of the walk, from each pixel's entry slot to its leaf: eight pixels per AVX2 gather, four groups of eight
    /// in flight so that one group's gathers fill another's latency; a level is two gathers (the node, then the pixel's
    /// code of the node's feature, a dword whose top byte it is); a lane that reached its leaf is masked and stays. A
    /// group whose eight pixels all reached their leaves adds them and takes the next eight pixels at once, so four
    /// groups stay in flight. The pixels past the last group of eight walk alone.
    /// </summary>
    private unsafe void GatherWalk(CodedForest coded, int tree, sbyte* codes, int rowStride, int count, byte* pathOf, float* total)
    {
        var lanes = Vector256<int>.Count; // one AVX2 gather of dword nodes
        var leafStride = coded.LeafStride;
        var entry = coded.Entries[tree];
        var strideLanes = Vector256.Create(rowStride);
        Span<int> leafIndex = stackalloc int[lanes];
        var groups = count / lanes;
        var paths = coded.TopLevels > 0 ? pathOf : null;
        fixed (int* nodes = coded.Nodes)
        fixed (float* leaves = coded.Leaves)
        {
            // Feature f is stored as f + 1 in a node; the dword whose top byte is pixel i's code of f starts 3 bytes before it.
            var codeWords = (int*)(codes - rowStride - 3);
            var next = 0;
            var walk = new GroupWalk(nodes, codeWords, leaves, total, paths, leafStride, groups, entry, strideLanes);
            var groupA = walk.Take(ref next, out var indexA, out var pixelA);
            var groupB = walk.Take(ref next, out var indexB, out var pixelB);
            var groupC = walk.Take(ref next, out var indexC, out var pixelC);
            var groupD = walk.Take(ref next, out var indexD, out var pixelD);
            while ((groupA & groupB & groupC & groupD) != -1)
            {
                if (groupA >= 0) walk.Step(ref next, ref groupA, ref indexA, ref pixelA, leafIndex);
                if (groupB >= 0) walk.Step(ref next, ref groupB, ref indexB, ref pixelB, leafIndex);
                if (groupC >= 0) walk.Step(ref next, ref groupC, ref indexC, ref pixelC, leafIndex);
                if (groupD >= 0) walk.Step(ref next, ref groupD, ref indexD, ref pixelD, leafIndex);
            }
            for (var i = groups * lanes; i < count; i++)
            {
                var node = entry + (paths is null ? 0 : paths[i]);
                int n;
                while (((n = nodes[node]) & 0xFF) != 0)
                    node += ((n << 8) >>> 16) + (codes[((n & 0xFF) - 1) * rowStride + i] > n >> 24 ? 1 : 0);
                AddPaddedLeaf(leaves + (n >>> 8) * leafStride, total + i * leafStride, leafStride);
            }
        }
    }

    /// <summary>What the groups of one tree's <see cref="GatherWalk"/> share: the tree and the block.</summary>
    private readonly unsafe struct GroupWalk(int* nodes, int* codeWords, float* leaves, float* total, byte* pathOf, int leafStride, int groups, int entry,
        Vector256<int> rowStride)
    {
        private readonly int* _nodes = nodes;
        private readonly int* _codeWords = codeWords;
        private readonly float* _leaves = leaves;
        private readonly float* _total = total;
        private readonly byte* _pathOf = pathOf;
        private readonly int _leafStride = leafStride;
        private readonly int _groups = groups;
        private readonly int _entry = entry;
        private readonly Vector256<int> _rowStride = rowStride;

        /// <summary>The next group of eight pixels at their entry slots: its number, or −1 when the block's groups are all taken.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Take(ref int next, out Vector256<int> index, out Vector256<int> pixel)
        {
            var group = next < _groups ? next++ : -1;
            var first = Math.Max(group, 0) * 8;
            pixel = Avx2.Add(Vector256.Create(first), Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7));
            index = _pathOf is null ? Vector256.Create(_entry) : Avx2.Add(Vector256.Create(_entry), Avx2.ConvertToVector256Int32(_pathOf + first));
            return group;
        }

        /// <summary>One level for a group; a group whose pixels are all at their leaves adds them and takes the next group.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step(ref int next, ref int group, ref Vector256<int> index, ref Vector256<int> pixel, Span<int> leafIndex)
        {
            if (!StepCoded(_nodes, _codeWords, pixel, _rowStride, ref index, out var leaf)) return;
            AddCodedLeaves(leaf, leafIndex, _leaves, _total + group * 8 * _leafStride, _leafStride);
            group = Take(ref next, out index, out pixel);
        }
    }

    /// <summary>One level of the quantised walk for eight pixels; true when every lane is at its leaf (<paramref name="node"/>: the leaves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool StepCoded(int* nodes, int* codeWords, Vector256<int> pixel, Vector256<int> rowStride, ref Vector256<int> index, out Vector256<int> node)
    {
        node = Avx2.GatherVector256(nodes, index, 4);
        var featurePlusOne = Avx2.And(node, Vector256.Create(0xFF));
        var active = Avx2.CompareGreaterThan(featurePlusOne, Vector256<int>.Zero);
        if (Avx.TestZ(active, active)) return true;
        var at = Avx2.Add(Avx2.MultiplyLow(featurePlusOne, rowStride), pixel);
        var word = Avx2.GatherMaskVector256(Vector256<int>.Zero, codeWords, at, active, 1);
        var right = Avx2.CompareGreaterThan(Avx2.ShiftRightArithmetic(word, 24), Avx2.ShiftRightArithmetic(node, 24));
        var next = Avx2.Subtract(Avx2.Add(index, Avx2.ShiftRightLogical(Avx2.ShiftLeftLogical(node, 8), 16)), right);
        index = Avx2.BlendVariable(index, next, active);
        return false;
    }

    /// <summary>Tests and benchmarks: false takes the breadth-first gather walk where the look-ahead one could run.</summary>
    internal static bool UseLookAheadWalk { get; set; } = true;

    /// <summary>
    /// <see cref="GatherWalk"/> on the look-ahead nodes (<see cref="CodedForest.AheadNodes"/>): a lane knows the feature of
    /// the node it stands on before reading the node, so a level's two gathers (the node, the pixels' codes) are issued
    /// together instead of one after the other, which halves the chain of latencies each level waits on.
    /// </summary>
    private unsafe void GatherWalkAhead(CodedForest coded, int tree, sbyte* codes, int rowStride, int count, byte* pathOf, float* total)
    {
        var lanes = Vector256<int>.Count; // one AVX2 gather of dword nodes
        var leafStride = coded.LeafStride;
        var slots = 1 << coded.TopLevels;
        Span<int> leafIndex = stackalloc int[lanes];
        var groups = count / lanes;
        var paths = coded.TopLevels > 0 ? pathOf : null;
        fixed (int* nodes = coded.AheadNodes)
        fixed (int* entries = coded.AheadEntries)
        fixed (float* leaves = coded.Leaves)
        {
            var codeWords = (int*)(codes - rowStride - 3);
            var treeEntries = entries + tree * slots;
            var next = 0;
            var walk = new AheadWalk(nodes, codeWords, leaves, total, paths, treeEntries, leafStride, groups, Vector256.Create(rowStride));
            var groupA = walk.Take(ref next, out var indexA, out var featureA, out var pixelA);
            var groupB = walk.Take(ref next, out var indexB, out var featureB, out var pixelB);
            var groupC = walk.Take(ref next, out var indexC, out var featureC, out var pixelC);
            var groupD = walk.Take(ref next, out var indexD, out var featureD, out var pixelD);
            while ((groupA & groupB & groupC & groupD) != -1)
            {
                if (groupA >= 0) walk.Step(ref next, ref groupA, ref indexA, ref featureA, ref pixelA, leafIndex);
                if (groupB >= 0) walk.Step(ref next, ref groupB, ref indexB, ref featureB, ref pixelB, leafIndex);
                if (groupC >= 0) walk.Step(ref next, ref groupC, ref indexC, ref featureC, ref pixelC, leafIndex);
                if (groupD >= 0) walk.Step(ref next, ref groupD, ref indexD, ref featureD, ref pixelD, leafIndex);
            }
            for (var i = groups * lanes; i < count; i++)
            {
                var entry = treeEntries[paths is null ? 0 : paths[i]];
                var (node, featurePlusOne) = (entry >>> 8, entry & 0xFF);
                while (featurePlusOne != 0)
                {
                    var n = nodes[node];
                    var right = codes[(featurePlusOne - 1) * rowStride + i] > n >> 24;
                    node += right ? (n >>> 12) & 0xFFF : 1;
                    featurePlusOne = right ? n & 63 : (n >>> 6) & 63;
                }
                AddPaddedLeaf(leaves + nodes[node] * leafStride, total + i * leafStride, leafStride);
            }
        }
    }

    /// <summary>What the groups of one tree's <see cref="GatherWalkAhead"/> share: the tree and the block.</summary>
    private readonly unsafe struct AheadWalk(int* nodes, int* codeWords, float* leaves, float* total, byte* pathOf, int* entries, int leafStride, int groups,
        Vector256<int> rowStride)
    {
        private readonly int* _nodes = nodes;
        private readonly int* _codeWords = codeWords;
        private readonly float* _leaves = leaves;
        private readonly float* _total = total;
        private readonly byte* _pathOf = pathOf;
        private readonly int* _entries = entries;
        private readonly int _leafStride = leafStride;
        private readonly int _groups = groups;
        private readonly Vector256<int> _rowStride = rowStride;

        /// <summary>The next group of eight pixels at their entry slots: its number, or −1 when the block's groups are all taken.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Take(ref int next, out Vector256<int> index, out Vector256<int> featurePlusOne, out Vector256<int> pixel)
        {
            var group = next < _groups ? next++ : -1;
            var first = Math.Max(group, 0) * 8;
            pixel = Avx2.Add(Vector256.Create(first), Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7));
            var entry = _pathOf is null ? Vector256.Create(_entries[0]) : Avx2.GatherVector256(_entries, Avx2.ConvertToVector256Int32(_pathOf + first), 4);
            index = Avx2.ShiftRightLogical(entry, 8);
            featurePlusOne = Avx2.And(entry, Vector256.Create(0xFF));
            return group;
        }

        /// <summary>One level for a group; a group whose pixels are all at their leaves adds them and takes the next group.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step(ref int next, ref int group, ref Vector256<int> index, ref Vector256<int> featurePlusOne, ref Vector256<int> pixel, Span<int> leafIndex)
        {
            var active = Avx2.CompareGreaterThan(featurePlusOne, Vector256<int>.Zero);
            if (Avx.TestZ(active, active))
            {
                AddLeafRows(Avx2.GatherVector256(_nodes, index, 4), leafIndex, _leaves, _total + group * 8 * _leafStride, _leafStride);
                group = Take(ref next, out index, out featurePlusOne, out pixel);
                return;
            }
            var node = Avx2.GatherMaskVector256(Vector256<int>.Zero, _nodes, index, active, 4);
            var word = Avx2.GatherMaskVector256(Vector256<int>.Zero, _codeWords, Avx2.Add(Avx2.MultiplyLow(featurePlusOne, _rowStride), pixel), active, 1);
            var right = Avx2.CompareGreaterThan(Avx2.ShiftRightArithmetic(word, 24), Avx2.ShiftRightArithmetic(node, 24));
            var offset = Avx2.BlendVariable(Vector256.Create(1), Avx2.And(Avx2.ShiftRightLogical(node, 12), Vector256.Create(0xFFF)), right);
            var child = Avx2.BlendVariable(Avx2.And(Avx2.ShiftRightLogical(node, 6), Vector256.Create(63)), Avx2.And(node, Vector256.Create(63)), right);
            index = Avx2.Add(index, Avx2.And(offset, active));
            featurePlusOne = Avx2.And(child, active);
        }
    }

    /// <summary>Adds the distinct leaf rows of eight lanes to their pixels' padded rows of sums.</summary>
    private static unsafe void AddLeafRows(Vector256<int> rows, Span<int> leafIndex, float* leaves, float* total, int leafStride)
    {
        rows.CopyTo(leafIndex);
        for (var l = 0; l < leafIndex.Length; l++) AddPaddedLeaf(leaves + leafIndex[l] * leafStride, total + l * leafStride, leafStride);
    }

    /// <summary>Adds the leaves the eight lanes stand on (coded leaf nodes) to their pixels' padded rows of sums.</summary>
    private static unsafe void AddCodedLeaves(Vector256<int> leafNodes, Span<int> leafIndex, float* leaves, float* total, int leafStride)
    {
        Avx2.ShiftRightLogical(leafNodes, 8).CopyTo(leafIndex);
        for (var l = 0; l < leafIndex.Length; l++) AddPaddedLeaf(leaves + leafIndex[l] * leafStride, total + l * leafStride, leafStride);
    }

    /// <summary>A padded leaf row onto a padded row of sums, four classes per add (each class's sum gets the same float adds in the same order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddPaddedLeaf(float* leaf, float* total, int leafStride)
    {
        for (var c = 0; c < leafStride; c += 4)
            Vector128.Store(Vector128.Load(total + c) + Vector128.Load(leaf + c), total + c);
    }

    /// <summary><see cref="PredictClassesGather"/> on the quantised walk: the undecided pixels' codes are packed row by row.</summary>
    private void PredictClassesCoded(sbyte[] codes, int offset, int rowStride, int p0, int count, float[] sums, byte[] classes, VoteStop? stop, int[]? treesWalked)
    {
        var featureCount = FeatureCount;
        DecideEarly(p0, count, sums, _coded!.LeafStride, classes, stop, treesWalked,
            (active, t0, t1) => WalkCoded(codes, offset, rowStride, active, sums, t0, t1),
            keptFrom => PackCodes(codes, offset, rowStride, featureCount, keptFrom));
    }

    /// <summary>Benchmarks and tests: pack the undecided pixels' codes with AVX-512 byte compression where the CPU has it (the default).</summary>
    internal static bool UseCompressedPacking { get; set; } = true;

    internal static bool CanCompressPacking => Avx512Vbmi2.IsSupported;

    /// <summary>
    /// Moves the codes of the pixels at <paramref name="keptFrom"/>[n] (ascending) to n in each of the
    /// <paramref name="featureCount"/> rows. With AVX-512 VBMI2 a row is compacted 64 codes at a time by one byte
    /// compression (vpcompressb) under the round's keep mask, in place: the write position never passes the block being
    /// read, and a row's padding (<see cref="CodedForest.RowStride"/>) covers the last block's full-width load.
    /// </summary>
    internal static unsafe void PackCodes(sbyte[] codes, int offset, int rowStride, int featureCount, ReadOnlySpan<int> keptFrom)
    {
        if (keptFrom.Length == 0) return;
        if (!(UseCompressedPacking && CanCompressPacking))
        {
            for (var f = 0; f < featureCount; f++)
            {
                var row = codes.AsSpan(offset + f * rowStride, rowStride);
                for (var n = 0; n < keptFrom.Length; n++) row[n] = row[keptFrom[n]];
            }
            return;
        }
        var blocks = keptFrom[^1] / 64 + 1;
        // The keep mask as bytes (all ones: kept), a block of 64 per compression, and how many each block keeps.
        Span<byte> keep = stackalloc byte[blocks * 64];
        keep.Clear();
        Span<int> keptInBlock = stackalloc int[blocks];
        keptInBlock.Clear();
        foreach (var j in keptFrom)
        {
            keep[j] = 0xFF;
            keptInBlock[j >> 6]++;
        }
        fixed (sbyte* codeStart = codes)
        fixed (byte* mask = keep)
        {
            for (var f = 0; f < featureCount; f++)
            {
                var row = (byte*)codeStart + offset + (long)f * rowStride;
                var written = 0;
                for (var b = 0; b < blocks; b++)
                {
                    if (keptInBlock[b] == 0) continue;
                    var source = Vector512.Load(row + b * 64);
                    Avx512Vbmi2.CompressStore(row + written, Vector512.Load(mask + b * 64), source);
                    written += keptInBlock[b];
                }
            }
        }
    }
}
