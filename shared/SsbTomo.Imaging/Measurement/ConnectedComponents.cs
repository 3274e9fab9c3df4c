using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SsbTomo.Imaging.Tests")]

namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Component ids per voxel (0 = not the phase, 1..Count), numbered in raster order of each component's
/// first voxel as scipy.ndimage.label does; Sizes[id - 1] is the voxel count of component id.
/// </summary>
public sealed record ComponentLabels(int[] Ids, int Count, long[] Sizes);

/// <summary>Component statistics of one phase: count, largest, total, and all sizes largest first.</summary>
public sealed record ComponentSummary(int Count, long LargestVoxels, long TotalVoxels, long[] SizesDescending)
{
    public static ComponentSummary FromSizes(IEnumerable<long> sizes)
    {
        var sorted = sizes.OrderByDescending(s => s).ToArray();
        return new ComponentSummary(sorted.Length, sorted.Length == 0 ? 0 : sorted[0], sorted.Sum(), sorted);
    }
}

/// <summary>
/// 26-connected component labelling (scipy.ndimage.label with structure np.ones((3,3,3))).
/// Works on runs (maximal x-intervals of the phase in one row): z-slabs are labelled in parallel, each run
/// joined by union-find with the runs it touches in the previous row of its slice and the three nearest rows
/// of the previous slice (intervals within one voxel of each other), then the slabs are joined across their
/// borders. Runs are numbered in raster order and a component's root is its first run, so numbering the
/// roots in order gives scipy's numbering (raster order of each component's first voxel) whatever the
/// slab split.
/// </summary>
public static class ConnectedComponents
{
    public static ComponentLabels Label(Volume<byte> labels, byte phase) => Label(labels, phase, slabs: 0);

    /// <summary>As the public overload; <paramref name="slabs"/> &gt; 0 fixes the slab split (tests: the result must not depend on it).</summary>
    /// <param name="maxThreads">Threads the labelling may use (<see cref="KernelThreads"/>); the labels are the same for any.</param>
    internal static ComponentLabels Label(Volume<byte> labels, byte phase, int slabs, int maxThreads = KernelThreads.All)
    {
        var runs = RunLabelling.Of(labels, phase, slabs, maxThreads);
        var ids = new int[labels.Data.Length];
        var width = labels.Width;
        var rows = runs.RowCount;
        KernelThreads.For(0, Math.Min(rows, 64), maxThreads, part =>
        {
            var (r0, r1) = ((int)((long)rows * part / Math.Min(rows, 64)), (int)((long)rows * (part + 1) / Math.Min(rows, 64)));
            runs.WriteIds(r0, r1, ids.AsSpan((int)((long)r0 * width), (r1 - r0) * width));
        });
        return new ComponentLabels(ids, runs.Count, runs.Sizes);
    }

    public static ComponentSummary Summarize(ComponentLabels labels) => ComponentSummary.FromSizes(labels.Sizes);
}

/// <summary>
/// Runs of one phase in raster order with their final component ids (1..Count, scipy numbering) and the
/// component sizes. Memory grows with the number of runs, not voxels.
/// </summary>
internal sealed class RunLabelling
{
    private readonly int _width;
    private readonly int[] _rowStart; // runs of row r (= z·height + y) are _rowStart[r] .. _rowStart[r + 1] - 1
    private readonly int[] _x0, _x1;  // [x0, x1) of each run
    private readonly int[] _id;       // final component id of each run

    private RunLabelling(int width, int[] rowStart, int[] x0, int[] x1, int[] id, int count, long[] sizes)
    {
        (_width, _rowStart, _x0, _x1, _id, Count, Sizes) = (width, rowStart, x0, x1, id, count, sizes);
    }

    public int RowCount => _rowStart.Length - 1;
    public int Count { get; }
    public long[] Sizes { get; }

    /// <summary>Writes the ids of rows [row0, row1) into <paramref name="target"/> (row0's first voxel at 0); other voxels are left as they are (0 in a fresh array).</summary>
    public void WriteIds(int row0, int row1, Span<int> target)
    {
        for (var row = row0; row < row1; row++)
        {
            var offset = (row - row0) * _width;
            for (var run = _rowStart[row]; run < _rowStart[row + 1]; run++)
                target.Slice(offset + _x0[run], _x1[run] - _x0[run]).Fill(_id[run]);
        }
    }

    /// <summary>
    /// Each component's moments (index = id − 1) from its runs: a run's sums over x follow from its ends, so the cost
    /// grows with the number of runs, not voxels. z counts from the labelled volume's first slice.
    /// </summary>
    public ComponentMoments[] Moments(int height)
    {
        // Plain arrays, not a record per run: this runs once per run of every chunk.
        var sums = new long[Count, 10]; // n, Sz, Sy, Sx, Szz, Syy, Sxx, Szy, Szx, Syx
        var box = new int[Count, 6];
        for (var c = 0; c < Count; c++)
        {
            (box[c, 0], box[c, 2], box[c, 4]) = (int.MaxValue, int.MaxValue, int.MaxValue);
            (box[c, 1], box[c, 3], box[c, 5]) = (int.MinValue, int.MinValue, int.MinValue);
        }
        for (var row = 0; row < RowCount; row++)
        {
            long z = row / height, y = row % height;
            for (var run = _rowStart[row]; run < _rowStart[row + 1]; run++)
            {
                var c = _id[run] - 1;
                long x0 = _x0[run], x1 = _x1[run], n = x1 - x0;
                var sx = n * (x0 + x1 - 1) / 2;
                var sxx = ComponentMoments.SumOfSquares(x1 - 1) - ComponentMoments.SumOfSquares(x0 - 1);
                sums[c, 0] += n;
                sums[c, 1] += n * z;
                sums[c, 2] += n * y;
                sums[c, 3] += sx;
                sums[c, 4] += n * z * z;
                sums[c, 5] += n * y * y;
                sums[c, 6] += sxx;
                sums[c, 7] += n * z * y;
                sums[c, 8] += z * sx;
                sums[c, 9] += y * sx;
                box[c, 0] = Math.Min(box[c, 0], (int)z);
                box[c, 1] = Math.Max(box[c, 1], (int)z);
                box[c, 2] = Math.Min(box[c, 2], (int)y);
                box[c, 3] = Math.Max(box[c, 3], (int)y);
                box[c, 4] = Math.Min(box[c, 4], (int)x0);
                box[c, 5] = Math.Max(box[c, 5], (int)x1 - 1);
            }
        }
        var moments = new ComponentMoments[Count];
        for (var c = 0; c < Count; c++)
            moments[c] = new ComponentMoments(sums[c, 0], sums[c, 1], sums[c, 2], sums[c, 3], sums[c, 4], sums[c, 5], sums[c, 6], sums[c, 7], sums[c, 8], sums[c, 9],
                box[c, 0], box[c, 1], box[c, 2], box[c, 3], box[c, 4], box[c, 5]);
        return moments;
    }

    public static RunLabelling Of(Volume<byte> labels, byte phase, int slabs, int maxThreads = KernelThreads.All)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var rows = depth * height;
        var slabCount = slabs > 0 ? Math.Min(slabs, Math.Max(1, depth)) : Math.Clamp(depth / 8, 1, 2 * Environment.ProcessorCount);
        var parts = new SlabRuns[slabCount];
        KernelThreads.For(0, slabCount, maxThreads, s =>
        {
            var z0 = (int)((long)depth * s / slabCount);
            var z1 = (int)((long)depth * (s + 1) / slabCount);
            parts[s] = SlabRuns.Label(labels, phase, z0, z1);
        });

        // Concatenate in raster order; local parents shift by the slab's first run.
        var total = 0L;
        foreach (var part in parts) total += part.Count;
        if (total > Array.MaxLength) throw new InvalidOperationException($"{total} runs are too many");
        var x0 = new int[total];
        var x1 = new int[total];
        var parent = new int[total];
        var rowStart = new int[rows + 1];
        var offset = 0;
        foreach (var part in parts)
        {
            part.X0.AsSpan(0, part.Count).CopyTo(x0.AsSpan(offset));
            part.X1.AsSpan(0, part.Count).CopyTo(x1.AsSpan(offset));
            for (var i = 0; i < part.Count; i++) parent[offset + i] = part.Parent[i] + offset;
            for (var r = 0; r < part.Rows; r++) rowStart[part.FirstRow + r] = part.RowStart[r] + offset;
            offset += part.Count;
        }
        rowStart[rows] = offset;

        // Join across slab borders: rows of a slab's first slice with the three nearest rows of the slice before.
        for (var s = 1; s < slabCount; s++)
        {
            var z = (int)((long)depth * s / slabCount);
            if (z <= 0 || z >= depth) continue;
            for (var y = 0; y < height; y++)
            {
                var row = z * height + y;
                for (var yy = Math.Max(0, y - 1); yy <= Math.Min(height - 1, y + 1); yy++)
                {
                    var above = (z - 1) * height + yy;
                    JoinRows(parent, x0, x1, rowStart[above], rowStart[above + 1], rowStart[row], rowStart[row + 1]);
                }
            }
        }

        // Unions keep the smaller index as root and path halving only shortens chains, so every parent is an
        // earlier run of the same component and the roots are the components' first runs. Numbering roots in
        // run order is numbering components by their first voxel in raster order; every other run takes the
        // (already final) id of its parent.
        var id = parent; // reused in place: parent[i] becomes the final id of run i
        var sizes = new List<long>();
        for (var i = 0; i < id.Length; i++)
        {
            int final;
            if (parent[i] == i)
            {
                sizes.Add(0);
                final = sizes.Count;
            }
            else final = id[parent[i]];
            id[i] = final;
            sizes[final - 1] += x1[i] - x0[i];
        }
        return new RunLabelling(width, rowStart, x0, x1, id, sizes.Count, sizes.ToArray());
    }

    /// <summary>Root of run <paramref name="i"/> (path halving).</summary>
    private static int Find(int[] parent, int i)
    {
        while (parent[i] != i)
        {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }

    private static void Union(int[] parent, int a, int b)
    {
        a = Find(parent, a);
        b = Find(parent, b);
        if (a < b) parent[b] = a;
        else if (b < a) parent[a] = b;
    }

    /// <summary>Unions every run of one row with every run of the other that lies within one voxel along x.</summary>
    internal static void JoinRows(int[] parent, int[] x0, int[] x1, int a, int aEnd, int b, int bEnd)
    {
        while (a < aEnd && b < bEnd)
        {
            // Runs [x0, x1) touch (26-connectivity) iff neither ends more than one voxel before the other starts.
            if (x1[a] < x0[b]) { a++; continue; }
            if (x1[b] < x0[a]) { b++; continue; }
            Union(parent, a, b);
            if (x1[a] < x1[b]) a++;
            else b++;
        }
    }

    /// <summary>Runs and local union-find of slices [z0, z1).</summary>
    private sealed class SlabRuns
    {
        public int FirstRow, Rows, Count;
        public int[] RowStart = [], X0 = new int[256], X1 = new int[256], Parent = new int[256];

        public static SlabRuns Label(Volume<byte> labels, byte phase, int z0, int z1)
        {
            var (height, width) = (labels.Height, labels.Width);
            var slab = new SlabRuns { FirstRow = z0 * height, Rows = (z1 - z0) * height };
            slab.RowStart = new int[slab.Rows + 1];
            var data = labels.Data;
            for (var r = 0; r < slab.Rows; r++)
            {
                slab.RowStart[r] = slab.Count;
                var row = data.AsSpan((int)((long)(slab.FirstRow + r) * width), width);
                var x = 0;
                while (x < width)
                {
                    var start = row[x..].IndexOf(phase);
                    if (start < 0) break;
                    x += start;
                    var length = row[x..].IndexOfAnyExcept(phase);
                    var end = length < 0 ? width : x + length;
                    slab.Append(x, end);
                    x = end + 1; // the voxel at end is not the phase
                }
                var first = slab.RowStart[r];
                var y = r % height;
                if (y > 0) JoinRows(slab.Parent, slab.X0, slab.X1, slab.RowStart[r - 1], first, first, slab.Count);
                if (r >= height)
                    for (var yy = Math.Max(0, y - 1); yy <= Math.Min(height - 1, y + 1); yy++)
                    {
                        var above = r - height - y + yy;
                        JoinRows(slab.Parent, slab.X0, slab.X1, slab.RowStart[above], slab.RowStart[above + 1], first, slab.Count);
                    }
            }
            slab.RowStart[slab.Rows] = slab.Count;
            return slab;
        }

        private void Append(int start, int end)
        {
            if (Count == X0.Length)
            {
                var size = (int)Math.Min(Array.MaxLength, 2L * X0.Length);
                Array.Resize(ref X0, size);
                Array.Resize(ref X1, size);
                Array.Resize(ref Parent, size);
            }
            (X0[Count], X1[Count], Parent[Count]) = (start, end, Count);
            Count++;
        }
    }
}
