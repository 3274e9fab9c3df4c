namespace SsbTomo.Imaging.Tests.Reference;

/// <summary>
/// The original marker-controlled watershed (commit 83d9bba): neighbours found by division for every voxel, a binary heap
/// for the flood. Kept as the reference for the optimised <see cref="SsbTomo.Imaging.Measurement.MarkerWatershed"/>,
/// which must give the same markers and ids.
/// </summary>
internal static class MarkerWatershedReference
{
    /// <summary>
    /// Markers of <paramref name="elevation"/> inside <paramref name="mask"/>: each regional maximum of the h-maxima
    /// transform gets its own id 1..n (raster order of its first voxel); 0 elsewhere. Every 26-connected part of the mask
    /// has at least one (its highest plateau), however low: unlike skimage's h_maxima over a zero background, a fragment
    /// thinner than h is still a particle.
    /// </summary>
    public static (int[] Markers, int Count) HMaximaMarkers(float[] elevation, bool[] mask, int depth, int height, int width, float h)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(h);
        Check(elevation.Length, mask.Length, depth, height, width);
        // A maximum whose dynamic is exactly h is kept (skimage's "height >= h"): distances come in few exact values, so
        // such ties are common; the slack is far below any distance step.
        var reconstructed = ReconstructByDilation(elevation, mask, depth, height, width, h * (1 - 1e-4f));
        return RegionalMaxima(reconstructed, mask, depth, height, width);
    }

    /// <summary>
    /// Every voxel of <paramref name="mask"/> reachable from a marker gets that marker's id, flooding from the highest
    /// <paramref name="elevation"/> down; voxels outside the mask, or in mask regions without a marker, stay 0.
    /// </summary>
    public static int[] Flood(float[] elevation, bool[] mask, int[] markers, int depth, int height, int width)
    {
        Check(elevation.Length, mask.Length, depth, height, width);
        if (markers.Length != mask.Length) throw new ArgumentException("markers and mask differ in length", nameof(markers));
        var ids = new int[mask.Length];
        // Highest first; among equals, the one queued first (a FIFO per level, as skimage's heap of (value, age)).
        var queue = new PriorityQueue<int, (float Negated, long Age)>();
        long age = 0;
        for (var i = 0; i < mask.Length; i++)
            if (mask[i] && markers[i] > 0)
            {
                ids[i] = markers[i];
                queue.Enqueue(i, (-elevation[i], age++));
            }
        var neighbours = new int[6];
        while (queue.TryDequeue(out var voxel, out _))
        {
            var count = Neighbours(voxel, depth, height, width, neighbours);
            for (var k = 0; k < count; k++)
            {
                var next = neighbours[k];
                if (!mask[next] || ids[next] != 0) continue;
                ids[next] = ids[voxel];
                queue.Enqueue(next, (-elevation[next], age++));
            }
        }
        return ids;
    }

    /// <summary>
    /// Gives each 6-connected part of the mask that the flood did not reach (no marker in it: a fragment that touches a
    /// higher region only along an edge or corner, which 26-connected markers count as one) its own id after
    /// <paramref name="count"/>; returns the new count.
    /// </summary>
    public static int NumberUnreached(int[] ids, bool[] mask, int depth, int height, int width, int count)
    {
        Check(ids.Length, mask.Length, depth, height, width);
        var stack = new Stack<int>();
        var neighbours = new int[6];
        for (var start = 0; start < ids.Length; start++)
        {
            if (!mask[start] || ids[start] != 0) continue;
            ids[start] = ++count;
            stack.Push(start);
            while (stack.TryPop(out var i))
            {
                var n = Neighbours(i, depth, height, width, neighbours);
                for (var k = 0; k < n; k++)
                {
                    var q = neighbours[k];
                    if (!mask[q] || ids[q] != 0) continue;
                    ids[q] = count;
                    stack.Push(q);
                }
            }
        }
        return count;
    }

    /// <summary>
    /// Reconstruction by dilation of f − h (the marker) under f (the mask function), inside the mask, 26-connected (as
    /// skimage.morphology.h_maxima's default footprint): Vincent 1993, "Morphological grayscale reconstruction in image
    /// analysis", IEEE TIP 2:176, hybrid algorithm (a forward and a backward raster scan, then a FIFO of the voxels that
    /// can still raise a neighbour).
    /// </summary>
    private static float[] ReconstructByDilation(float[] f, bool[] mask, int depth, int height, int width, float h)
    {
        var r = new float[f.Length];
        for (var i = 0; i < f.Length; i++) r[i] = mask[i] ? f[i] - h : float.NegativeInfinity;
        var neighbours = new int[26];

        for (var i = 0; i < f.Length; i++)
        {
            if (!mask[i]) continue;
            var v = r[i];
            var count = Neighbours26(i, depth, height, width, neighbours);
            for (var k = 0; k < count; k++)
                if (neighbours[k] < i) v = Math.Max(v, r[neighbours[k]]);
            r[i] = Math.Min(v, f[i]);
        }
        var fifo = new Queue<int>();
        for (var i = f.Length - 1; i >= 0; i--)
        {
            if (!mask[i]) continue;
            var v = r[i];
            var count = Neighbours26(i, depth, height, width, neighbours);
            for (var k = 0; k < count; k++)
                if (neighbours[k] > i) v = Math.Max(v, r[neighbours[k]]);
            r[i] = Math.Min(v, f[i]);
            // A later (anti-causal) neighbour that this voxel can still raise must be revisited.
            for (var k = 0; k < count; k++)
                if (neighbours[k] > i && CanRaise(i, neighbours[k]))
                {
                    fifo.Enqueue(i);
                    break;
                }
        }
        while (fifo.TryDequeue(out var i))
        {
            var count = Neighbours26(i, depth, height, width, neighbours);
            for (var k = 0; k < count; k++)
            {
                var q = neighbours[k];
                if (!CanRaise(i, q)) continue;
                r[q] = Math.Min(r[i], f[q]);
                fifo.Enqueue(q);
            }
        }
        return r;

        bool CanRaise(int from, int to) => mask[to] && r[to] < r[from] && r[to] != f[to];
    }

    /// <summary>Connected (26) plateaus of equal value with no higher neighbour, numbered in raster order.</summary>
    private static (int[] Markers, int Count) RegionalMaxima(float[] r, bool[] mask, int depth, int height, int width)
    {
        var markers = new int[r.Length];
        var visited = new bool[r.Length];
        var plateau = new List<int>();
        var stack = new Stack<int>();
        var neighbours = new int[26];
        var count = 0;
        for (var start = 0; start < r.Length; start++)
        {
            if (!mask[start] || visited[start]) continue;
            plateau.Clear();
            var isMaximum = true;
            visited[start] = true;
            stack.Push(start);
            while (stack.TryPop(out var i))
            {
                plateau.Add(i);
                var n = Neighbours26(i, depth, height, width, neighbours);
                for (var k = 0; k < n; k++)
                {
                    var q = neighbours[k];
                    if (!mask[q]) continue;
                    if (r[q] > r[i]) isMaximum = false;
                    else if (r[q] == r[i] && !visited[q])
                    {
                        visited[q] = true;
                        stack.Push(q);
                    }
                }
            }
            if (!isMaximum) continue;
            count++;
            foreach (var i in plateau) markers[i] = count;
        }
        return (markers, count);
    }

    private static int Neighbours26(int i, int depth, int height, int width, int[] into)
    {
        var plane = height * width;
        var x = i % width;
        var y = i / width % height;
        var z = i / plane;
        var n = 0;
        for (var dz = -1; dz <= 1; dz++)
        {
            if (z + dz < 0 || z + dz >= depth) continue;
            for (var dy = -1; dy <= 1; dy++)
            {
                if (y + dy < 0 || y + dy >= height) continue;
                for (var dx = -1; dx <= 1; dx++)
                {
                    if ((dz | dy | dx) == 0 || x + dx < 0 || x + dx >= width) continue;
                    into[n++] = i + dz * plane + dy * width + dx;
                }
            }
        }
        return n;
    }

    private static int Neighbours(int i, int depth, int height, int width, int[] into)
    {
        var plane = height * width;
        var x = i % width;
        var y = i / width % height;
        var z = i / plane;
        var n = 0;
        if (z > 0) into[n++] = i - plane;
        if (y > 0) into[n++] = i - width;
        if (x > 0) into[n++] = i - 1;
        if (x < width - 1) into[n++] = i + 1;
        if (y < height - 1) into[n++] = i + width;
        if (z < depth - 1) into[n++] = i + plane;
        return n;
    }

    private static void Check(int elevation, int mask, int depth, int height, int width)
    {
        var length = (long)depth * height * width;
        if (elevation != length || mask != length)
            throw new ArgumentException($"elevation ({elevation}) and mask ({mask}) must hold {depth}x{height}x{width} = {length} voxels");
    }
}
