namespace SsbTomo.Imaging;

/// <summary>
/// A dense 3D array in z, y, x order (x fastest), the layout of a Zarr chunk in C order.
/// Holds one chunk or slab, never a whole stack.
/// </summary>
public sealed class Volume<T> where T : unmanaged
{
    public Volume(int depth, int height, int width)
        : this(depth, height, width, LargeArrays.New<T>(checked((long)depth * height * width))) { }

    public Volume(int depth, int height, int width, T[] data)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        if (data.LongLength != (long)depth * height * width)
            throw new ArgumentException($"data has {data.LongLength} elements, shape {depth}x{height}x{width} needs {(long)depth * height * width}", nameof(data));
        Depth = depth;
        Height = height;
        Width = width;
        Data = data;
    }

    public int Depth { get; }
    public int Height { get; }
    public int Width { get; }
    public T[] Data { get; }

    public int SliceLength => Height * Width;
    public long Length => Data.LongLength;

    public ref T this[int z, int y, int x] => ref Data[((long)z * Height + y) * Width + x];

    public Span<T> Slice(int z) => Data.AsSpan(z * SliceLength, SliceLength);

    /// <summary>Rows [<paramref name="from"/>, <paramref name="to"/>) of every slice, as a new volume.</summary>
    public Volume<T> Rows(int from, int to)
    {
        if (from < 0 || to > Height || from > to)
            throw new ArgumentOutOfRangeException(nameof(from), $"rows [{from}, {to}) of a volume of {Height} rows");
        var rows = new Volume<T>(Depth, to - from, Width);
        for (var z = 0; z < Depth; z++)
            Data.AsSpan((int)((long)z * SliceLength + (long)from * Width), rows.SliceLength).CopyTo(rows.Data.AsSpan((int)((long)z * rows.SliceLength)));
        return rows;
    }

    public Volume<T> Clone() => new(Depth, Height, Width, (T[])Data.Clone());
}
