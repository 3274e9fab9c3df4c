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
    /// here split on at most 255 bin edges per feature, so a code fits a byte.
    /// <para>
    /// A node is one int: a split is (offset to its left child) · 2¹⁶ + rank · 2⁸ + feature + 1, the right child next to
    /// the left; a leaf is its row of leaf frequencies · 2⁸ (low byte 0). Each tree's nodes are stored breadth first, so
    /// the levels every pixel visits share a few cache lines.
    /// </para>
    /// </summary>
    private sealed class CodedForest
    {
        private const int TableStride = 256;

        private readonly int _featureCount;
        // Feature f's thresholds at f·256, padded with +∞ to 256 entries; the branchless search starts at _firstStep[f].
        private readonly float[] _thresholds;
        private readonly int[] _firstStep;

        [ThreadStatic] private static byte[]? t_codes;

        private CodedForest(int featureCount, int[] nodes, int[] roots, float[] thresholds, int[] firstStep)
        {
            _featureCount = featureCount;
            Nodes = nodes;
            Roots = roots;
            _thresholds = thresholds;
            _firstStep = firstStep;
        }

        public int[] Nodes { get; }
        public int[] Roots { get; }

        /// <summary>
        /// The coded forest, or null where it cannot be coded: 255 features or more, more than 255 distinct thresholds (or
        /// a NaN threshold) on a feature, a tree wider than a 16-bit child offset reaches, or nodes shared between trees
        /// (a forest read from a file that was not written by <see cref="Train"/>); those forests take the float walk.
        /// </summary>
        public static CodedForest? TryBuild(Node[] nodes, int[] roots, int featureCount)
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

            var coded = new List<int>(nodes.Length);
            var codedRoots = new int[roots.Length];
            var queue = new Queue<(int Node, int At)>();
            for (var t = 0; t < roots.Length; t++)
            {
                codedRoots[t] = coded.Count;
                coded.Add(0);
                queue.Enqueue((roots[t], codedRoots[t]));
                while (queue.Count > 0)
                {
                    var (old, at) = queue.Dequeue();
                    var node = nodes[old];
                    if (node.Feature < 0)
                    {
                        if (node.Child >= 1 << 23) return null;
                        coded[at] = node.Child << 8;
                        continue;
                    }
                    var child = coded.Count;
                    var offset = child - at;
                    if (offset > short.MaxValue - 1 || child + 2 > nodes.Length) return null;
                    coded.Add(0);
                    coded.Add(0);
                    var rank = Array.BinarySearch(sorted[node.Feature], node.Threshold);
                    coded[at] = offset << 16 | rank << 8 | (node.Feature + 1);
                    queue.Enqueue((node.Child, child));
                    queue.Enqueue((node.Child + 1, child + 1));
                }
            }
            return new CodedForest(featureCount, coded.ToArray(), codedRoots, thresholds, firstStep);
        }

        /// <summary>
        /// The codes of pixels [<paramref name="p0"/>, p0 + <paramref name="count"/>) of the feature planes, pixel-major
        /// (feature f of pixel i at i·F + f), in this thread's buffer (3 bytes of slack for the walk's dword gathers).
        /// Eight values at a time, each a branchless binary search over the feature's thresholds (one gather a step).
        /// Features no split uses are left as they were: the walk never reads them.
        /// </summary>
        public unsafe byte[] Quantise(IntPtr[] planes, int p0, int count)
        {
            var featureCount = _featureCount;
            var size = count * featureCount + 4;
            var codes = t_codes is { } held && held.Length >= size ? held : t_codes = new byte[size];
            Span<int> lanes = stackalloc int[Vector256<int>.Count];
            fixed (float* table = _thresholds)
            fixed (byte* output = codes)
            {
                for (var f = 0; f < featureCount; f++)
                {
                    var first = _firstStep[f];
                    if (first == 0) continue;
                    var plane = (float*)planes[f] + p0;
                    var feature = table + f * TableStride;
                    var i = 0;
                    if (Avx2.IsSupported)
                    {
                        for (; i + lanes.Length <= count; i += lanes.Length)
                        {
                            var value = Avx.LoadVector256(plane + i);
                            var position = Vector256<int>.Zero;
                            for (var step = first; step > 0; step >>= 1)
                            {
                                var probe = Avx2.GatherVector256(feature, Avx2.Add(position, Vector256.Create(step - 1)), 4);
                                var below = Avx.Compare(probe, value, FloatComparisonMode.OrderedLessThanNonSignaling).AsInt32();
                                position = Avx2.Add(position, Avx2.And(below, Vector256.Create(step)));
                            }
                            var nan = Avx.Compare(value, value, FloatComparisonMode.UnorderedNonSignaling).AsInt32();
                            Avx2.BlendVariable(position, Vector256.Create(255), nan).CopyTo(lanes);
                            for (var l = 0; l < lanes.Length; l++) output[(i + l) * featureCount + f] = (byte)lanes[l];
                        }
                    }
                    for (; i < count; i++) output[i * featureCount + f] = Code(feature, first, plane[i]);
                }
            }
            return codes;
        }

        private static unsafe byte Code(float* thresholds, int firstStep, float value)
        {
            if (float.IsNaN(value)) return 255;
            var position = 0;
            for (var step = firstStep; step > 0; step >>= 1)
                if (thresholds[position + step - 1] < value) position += step;
            return (byte)position;
        }
    }
}
