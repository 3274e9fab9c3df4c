using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Tests.Reference;

/// <summary>The original voxel-by-voxel two-pass labelling (commit 7040060), kept as the reference for the optimised one.</summary>
internal static class ConnectedComponentsReference
{
    public static ComponentLabels Label(Volume<byte> labels, byte phase)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var ids = new int[labels.Data.Length];
        var parent = new ReferenceUnionFind();
        var source = labels.Data;
        var slice = height * width;

        // Pass 1: provisional ids, unioned with the 13 already-visited 26-neighbours.
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
            {
                var rowStart = (z * height + y) * width;
                for (var x = 0; x < width; x++)
                {
                    var i = rowStart + x;
                    if (source[i] != phase) continue;
                    var id = 0;
                    for (var dz = -1; dz <= 0; dz++)
                    {
                        if (z + dz < 0) continue;
                        for (var dy = -1; dy <= 1; dy++)
                        {
                            if (dz == 0 && dy == 1) break;
                            if (y + dy < 0 || y + dy >= height) continue;
                            for (var dx = -1; dx <= 1; dx++)
                            {
                                if (dz == 0 && dy == 0 && dx == 0) break;
                                if (x + dx < 0 || x + dx >= width) continue;
                                var neighbour = ids[i + dz * slice + dy * width + dx];
                                if (neighbour == 0) continue;
                                id = id == 0 ? neighbour : parent.Union(id, neighbour);
                            }
                        }
                    }
                    ids[i] = id == 0 ? parent.Add() : parent.Find(id);
                }
            }

        // Pass 2: final ids in raster order of first appearance, and sizes.
        var finalOfRoot = new int[parent.Count + 1];
        var sizes = new List<long>();
        for (var i = 0; i < ids.Length; i++)
        {
            if (ids[i] == 0) continue;
            var root = parent.Find(ids[i]);
            if (finalOfRoot[root] == 0)
            {
                sizes.Add(0);
                finalOfRoot[root] = sizes.Count;
            }
            ids[i] = finalOfRoot[root];
            sizes[ids[i] - 1]++;
        }
        return new ComponentLabels(ids, sizes.Count, sizes.ToArray());
    }

}

/// <summary>Union-find over ids 1..Count with path halving; the smaller id becomes the root.</summary>
internal sealed class ReferenceUnionFind
{
    private int[] _parent = new int[1024];

    public int Count { get; private set; }

    public int Add()
    {
        Count++;
        if (Count >= _parent.Length) Array.Resize(ref _parent, _parent.Length * 2);
        _parent[Count] = Count;
        return Count;
    }

    public int Find(int id)
    {
        while (_parent[id] != id)
        {
            _parent[id] = _parent[_parent[id]];
            id = _parent[id];
        }
        return id;
    }

    public int Union(int a, int b)
    {
        a = Find(a);
        b = Find(b);
        if (a == b) return a;
        if (a < b) { _parent[b] = a; return a; }
        _parent[a] = b;
        return b;
    }
}
