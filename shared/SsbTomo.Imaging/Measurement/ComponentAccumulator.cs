namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// What the component merge needs from one chunk: its components' sizes and the component ids on its
/// first and last slice. Small (two slices of ids), so chunks can be labelled on different machines.
/// </summary>
public sealed record ComponentChunk(int Height, int Width, long[] Sizes, int[] FirstSliceIds, int[] LastSliceIds)
{
    /// <summary>
    /// The chunk summary of <paramref name="slab"/>: the same sizes and first/last-slice ids as
    /// <see cref="ConnectedComponents.Label(Volume{byte}, byte)"/> gives, without materialising ids for the whole slab.
    /// </summary>
    public static ComponentChunk Of(Volume<byte> slab, byte phase)
    {
        var runs = RunLabelling.Of(slab, phase, slabs: 0);
        var slice = slab.SliceLength;
        var first = new int[slice];
        var last = new int[slice];
        if (slab.Depth > 0)
        {
            runs.WriteIds(0, slab.Height, first);
            runs.WriteIds((slab.Depth - 1) * slab.Height, slab.Depth * slab.Height, last);
        }
        return new ComponentChunk(slab.Height, slab.Width, runs.Sizes, first, last) { Moments = runs.Moments(slab.Height), Depth = slab.Depth };
    }

    /// <summary>Per component (index = id − 1) its moments, z from the chunk's first slice; null when not computed.</summary>
    public ComponentMoments[]? Moments { get; init; }

    /// <summary>Slices of the chunk (with <see cref="Moments"/>, to place the next chunk's z).</summary>
    public int Depth { get; init; }
}

/// <summary>
/// Streams consecutive z-chunks of one phase (in stack order, no halo) and merges components that touch
/// across chunk boundaries (26-connectivity). Keeps the previous chunk's last-slice ids, a union-find over
/// global ids and their sizes: memory grows with the number of components, never with the stack.
/// </summary>
public sealed class ComponentAccumulator(byte phase)
{
    private readonly List<long> _sizes = [];
    private readonly List<ComponentMoments> _moments = [];
    private int _depth;
    private bool _haveMoments = true;
    private readonly List<int> _parent = [];
    private int[]? _previousLastSlice;
    private int _height = -1, _width = -1;

    public byte Phase { get; } = phase;

    public void Add(Volume<byte> slab) => Add(ComponentChunk.Of(slab, Phase));

    public void Add(ComponentChunk chunk)
    {
        if (_height < 0) (_height, _width) = (chunk.Height, chunk.Width);
        else if (chunk.Height != _height || chunk.Width != _width)
            throw new ArgumentException($"chunk is {chunk.Height}x{chunk.Width}, earlier chunks were {_height}x{_width}", nameof(chunk));

        var offset = _sizes.Count;
        foreach (var size in chunk.Sizes)
        {
            _parent.Add(_sizes.Count);
            _sizes.Add(size);
        }
        if (chunk.Moments is { } moments)
        {
            _moments.AddRange(moments.Select(m => m.ShiftZ(_depth)));
            _depth += chunk.Depth;
        }
        else _haveMoments = false;
        if (_previousLastSlice is { } above) JoinAcrossBoundary(above, chunk.FirstSliceIds, offset);
        _previousLastSlice = Array.ConvertAll(chunk.LastSliceIds, id => id == 0 ? -1 : id - 1 + offset);
    }

    public ComponentSummary Result()
    {
        var sizeOfRoot = new Dictionary<int, long>();
        for (var i = 0; i < _sizes.Count; i++)
        {
            var root = Find(i);
            sizeOfRoot[root] = sizeOfRoot.GetValueOrDefault(root) + _sizes[i];
        }
        return ComponentSummary.FromSizes(sizeOfRoot.Values);
    }

    /// <summary>Slices added so far (the stack depth once every chunk is in; counted from chunks with moments).</summary>
    public int Depth => _depth;

    /// <summary>
    /// Every component's merged moments (order unspecified). Throws when a chunk came without moments (a
    /// <see cref="ComponentChunk"/> built by hand).
    /// </summary>
    public IReadOnlyList<ComponentMoments> Components()
    {
        if (!_haveMoments) throw new InvalidOperationException("a chunk was added without component moments");
        var ofRoot = new Dictionary<int, ComponentMoments>();
        for (var i = 0; i < _moments.Count; i++)
        {
            var root = Find(i);
            ofRoot[root] = ofRoot.TryGetValue(root, out var m) ? m.Merge(_moments[i]) : _moments[i];
        }
        return [.. ofRoot.Values];
    }

    private void JoinAcrossBoundary(int[] aboveGlobal, int[] belowLocal, int belowOffset)
    {
        for (var y = 0; y < _height; y++)
            for (var x = 0; x < _width; x++)
            {
                var below = belowLocal[y * _width + x];
                if (below == 0) continue;
                var belowGlobal = below - 1 + belowOffset;
                for (var dy = Math.Max(0, y - 1); dy <= Math.Min(_height - 1, y + 1); dy++)
                    for (var dx = Math.Max(0, x - 1); dx <= Math.Min(_width - 1, x + 1); dx++)
                    {
                        var above = aboveGlobal[dy * _width + dx];
                        if (above >= 0) Union(above, belowGlobal);
                    }
            }
    }

    private int Find(int id)
    {
        while (_parent[id] != id)
        {
            _parent[id] = _parent[_parent[id]];
            id = _parent[id];
        }
        return id;
    }

    private void Union(int a, int b)
    {
        a = Find(a);
        b = Find(b);
        if (a < b) _parent[b] = a;
        else if (b < a) _parent[a] = b;
    }
}
