using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SsbTomo.Imaging.Classification;

public sealed partial class RandomForest
{
    /// <summary>
    /// Tests and benchmarks: false takes <see cref="GatherWalkAhead"/> (a group of eight takes new pixels only when all
    /// eight are at their leaves) where <see cref="GatherWalkRefill"/> could run. Both give the same sums bit for bit;
    /// the refill took 2-4 % less CPU for a 1024² prediction in 17 of 21 alternated pairs (`-- trainable --walks-only`, load 5-24).
    /// </summary>
    internal static bool UseLaneRefill { get; set; } = true;

    /// <summary>Whether this machine has the AVX-512 (VL) expand instructions <see cref="GatherWalkRefill"/> refills its lanes with.</summary>
    internal static bool CanRefillLanes => Avx512F.VL.IsSupported;

    [ThreadStatic] private static int[]? t_entryNode;
    [ThreadStatic] private static int[]? t_entryFeature;
    [ThreadStatic] private static int[]? t_leafNode;
    [ThreadStatic] private static int[]? t_leafPixel;

    /// <summary>
    /// <see cref="GatherWalkAhead"/> with each lane refilled on its own: a lane whose pixel reached its leaf writes down
    /// (leaf, pixel) and takes the next pixel of the block in the same step (AVX-512 compresses write the finished lanes
    /// down, expands hand the free lanes the next pixels and their entry slots, which are looked up for the whole block
    /// first), so the eight lanes of a gather stay busy instead of waiting for the deepest pixel of their group, with no
    /// branch on which lanes finished. Four streams of eight lanes are in flight so that one stream's gathers fill
    /// another's latency. The leaves are added after the tree: each pixel gets exactly one leaf of this tree and the
    /// trees are walked in order, so the sums are the other walks' bit for bit.
    /// </summary>
    private unsafe void GatherWalkRefill(CodedForest coded, int tree, sbyte* codes, int rowStride, int count, byte* pathOf, float* total)
    {
        var lanes = Vector256<int>.Count; // one AVX2 gather of dword nodes
        var slots = 1 << coded.TopLevels;
        var leafStride = coded.LeafStride;
        // Every buffer holds a vector past the block's pixels: the last expands read zeros there (an empty lane's state), the compresses store whole vectors.
        var entryNode = t_entryNode is { } en && en.Length >= count + lanes ? en : t_entryNode = new int[count + lanes];
        var entryFeature = t_entryFeature is { } ef && ef.Length >= count + lanes ? ef : t_entryFeature = new int[count + lanes];
        var leafNode = t_leafNode is { } n && n.Length >= count + lanes ? n : t_leafNode = new int[count + lanes];
        var leafPixel = t_leafPixel is { } p && p.Length >= count + lanes ? p : t_leafPixel = new int[count + lanes];
        fixed (int* nodes = coded.AheadNodes)
        fixed (int* entries = coded.AheadEntries)
        fixed (float* leaves = coded.Leaves)
        fixed (int* entryNodeAt = entryNode, entryFeatureAt = entryFeature, nodeAt = leafNode, pixelAt = leafPixel)
        {
            // Each pixel's entry slot: its node and the node's feature + 1, in two rows that the expands read directly.
            var treeEntries = entries + tree * slots;
            var i = 0;
            for (; i + lanes <= count; i += lanes)
            {
                var entry = coded.TopLevels > 0 ? Avx2.GatherVector256(treeEntries, Avx2.ConvertToVector256Int32(pathOf + i), 4) : Vector256.Create(treeEntries[0]);
                Avx.Store(entryNodeAt + i, Avx2.ShiftRightLogical(entry, 8));
                Avx.Store(entryFeatureAt + i, Avx2.And(entry, Vector256.Create(0xFF)));
            }
            for (; i < count; i++)
            {
                var entry = treeEntries[coded.TopLevels > 0 ? pathOf[i] : 0];
                (entryNodeAt[i], entryFeatureAt[i]) = (entry >>> 8, entry & 0xFF);
            }
            new Span<int>(entryNodeAt + count, lanes).Clear();
            new Span<int>(entryFeatureAt + count, lanes).Clear();

            var walk = new RefillWalk(nodes, (int*)(codes - rowStride - 3), entryNodeAt, entryFeatureAt, nodeAt, pixelAt, count, Vector256.Create(rowStride));
            var (next, written) = (0, 0);
            RefillStream a = RefillStream.Empty(count), b = a, c = a, d = a;
            bool liveA = true, liveB = true, liveC = true, liveD = true;
            while (liveA | liveB | liveC | liveD)
            {
                if (liveA) liveA = walk.Step(ref next, ref written, ref a);
                if (liveB) liveB = walk.Step(ref next, ref written, ref b);
                if (liveC) liveC = walk.Step(ref next, ref written, ref c);
                if (liveD) liveD = walk.Step(ref next, ref written, ref d);
            }
            for (var j = 0; j < written; j++) AddPaddedLeaf(leaves + nodes[nodeAt[j]] * leafStride, total + pixelAt[j] * leafStride, leafStride);
        }
    }

    /// <summary>Eight lanes of <see cref="GatherWalkRefill"/>: each lane's node, the feature + 1 of that node (0: a leaf, or no pixel), and its pixel (≥ the block's count: no pixel).</summary>
    private struct RefillStream
    {
        public Vector256<int> Index;
        public Vector256<int> FeaturePlusOne;
        public Vector256<int> Pixel;

        public static RefillStream Empty(int count) => new() { Pixel = Vector256.Create(count) };
    }

    /// <summary>What the streams of one tree's <see cref="GatherWalkRefill"/> share: the tree and the block.</summary>
    private readonly unsafe struct RefillWalk(int* nodes, int* codeWords, int* entryNode, int* entryFeature, int* leafNode, int* leafPixel, int count,
        Vector256<int> rowStride)
    {
        private readonly int* _nodes = nodes;
        private readonly int* _codeWords = codeWords;
        private readonly int* _entryNode = entryNode;
        private readonly int* _entryFeature = entryFeature;
        private readonly int* _leafNode = leafNode;
        private readonly int* _leafPixel = leafPixel;
        private readonly int _count = count;
        private readonly Vector256<int> _rowStride = rowStride;

        /// <summary>
        /// Writes down the lanes whose pixels reached a leaf, gives those lanes (and empty ones) the next pixels, then takes
        /// one level for every lane not at a leaf; false once the stream has no pixel left.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Step(ref int next, ref int written, ref RefillStream s)
        {
            var free = Avx2.CompareEqual(s.FeaturePlusOne, Vector256<int>.Zero);
            var countLanes = Vector256.Create(_count);
            var reached = Avx2.And(free, Avx2.CompareGreaterThan(countLanes, s.Pixel));
            Avx.Store(_leafNode + written, Avx512F.VL.Compress(Vector256<int>.Zero, reached, s.Index));
            Avx.Store(_leafPixel + written, Avx512F.VL.Compress(Vector256<int>.Zero, reached, s.Pixel));
            written += BitOperations.PopCount((uint)Avx.MoveMask(reached.AsSingle()));
            // Free lanes in lane order take pixels next, next + 1, ...; past the block's last pixel they stay empty.
            s.Pixel = Avx512F.VL.Expand(s.Pixel, free, Avx2.Add(Vector256.Create(next), Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7)));
            s.Index = Avx512F.VL.Expand(s.Index, free, Avx.LoadVector256(_entryNode + next));
            s.FeaturePlusOne = Avx512F.VL.Expand(s.FeaturePlusOne, free, Avx.LoadVector256(_entryFeature + next));
            next = Math.Min(_count, next + BitOperations.PopCount((uint)Avx.MoveMask(free.AsSingle())));
            var active = Avx2.CompareGreaterThan(s.FeaturePlusOne, Vector256<int>.Zero);
            if (Avx.TestZ(active, active)) return !Avx.TestZ(Avx2.CompareGreaterThan(countLanes, s.Pixel), Vector256<int>.AllBitsSet);
            var node = Avx2.GatherMaskVector256(Vector256<int>.Zero, _nodes, s.Index, active, 4);
            var word = Avx2.GatherMaskVector256(Vector256<int>.Zero, _codeWords, Avx2.Add(Avx2.MultiplyLow(s.FeaturePlusOne, _rowStride), s.Pixel), active, 1);
            var right = Avx2.CompareGreaterThan(Avx2.ShiftRightArithmetic(word, 24), Avx2.ShiftRightArithmetic(node, 24));
            var offset = Avx2.BlendVariable(Vector256.Create(1), Avx2.And(Avx2.ShiftRightLogical(node, 12), Vector256.Create(0xFFF)), right);
            var child = Avx2.BlendVariable(Avx2.And(Avx2.ShiftRightLogical(node, 6), Vector256.Create(63)), Avx2.And(node, Vector256.Create(63)), right);
            s.Index = Avx2.Add(s.Index, Avx2.And(offset, active));
            s.FeaturePlusOne = Avx2.And(child, active);
            return true;
        }
    }
}
