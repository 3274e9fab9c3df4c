namespace SsbTomo.Imaging;

/// <summary>A dense 2D image in y, x order (x fastest): one milled slice.</summary>
public sealed class Image2D<T> where T : unmanaged
{
    public Image2D(int height, int width) : this(height, width, LargeArrays.New<T>(checked((long)height * width))) { }

    public Image2D(int height, int width, T[] pixels)
    {
        if (pixels.Length != height * width)
            throw new ArgumentException($"pixels has {pixels.Length} elements, shape {height}x{width} needs {height * width}", nameof(pixels));
        Height = height;
        Width = width;
        Pixels = pixels;
    }

    public int Height { get; }
    public int Width { get; }
    public T[] Pixels { get; }

    public ref T this[int y, int x] => ref Pixels[y * Width + x];

    public Span<T> Row(int y) => Pixels.AsSpan(y * Width, Width);
}
