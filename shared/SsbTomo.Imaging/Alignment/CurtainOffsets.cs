using System.Numerics;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Everything <see cref="CurtainingFilter.Remove(Image2D{float}, out CurtainOffsets, int, int, Image2D{float}?)"/>
/// subtracts from one slice: a stripe offset per column for each of <see cref="Blocks"/> blocks of rows, interpolated
/// linearly along y between the block centres. The filter's output is the input minus these offsets, so a slice filtered
/// once can be filtered again, bit for bit, from <see cref="Values"/> alone (Blocks x Width floats, 12 x 4096 for a
/// 3072x4096 slice, 192 KiB) instead of from its three passes of running medians.
/// </summary>
public sealed class CurtainOffsets
{
    /// <param name="height">Rows of the slice the offsets were measured on; the blocks' centres depend on it.</param>
    /// <param name="width">Columns of that slice.</param>
    /// <param name="blocks">Blocks of rows, at least 1.</param>
    /// <param name="values">The offsets, [block * width + x].</param>
    public CurtainOffsets(int height, int width, int blocks, float[] values)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blocks, height);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != (long)blocks * width)
            throw new ArgumentException($"values has {values.Length} elements, {blocks} blocks of {width} columns need {(long)blocks * width}", nameof(values));
        Height = height;
        Width = width;
        Blocks = blocks;
        Values = values;
    }

    public int Height { get; }
    public int Width { get; }
    public int Blocks { get; }
    /// <summary>[block * Width + x]; shared, not copied.</summary>
    public float[] Values { get; }

    /// <summary>
    /// <paramref name="image"/> minus the offsets: the pixels <see cref="CurtainingFilter.Remove(Image2D{float}, int, int, Image2D{float}?)"/>
    /// gives for the image the offsets were measured on. <paramref name="output"/> may be <paramref name="image"/> itself.
    /// </summary>
    /// <param name="maxThreads">Threads the subtraction may use (<see cref="KernelThreads"/>); the pixels are the same for any.</param>
    public Image2D<float> Apply(Image2D<float> image, Image2D<float>? output = null, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(image);
        KernelThreads.Check(maxThreads);
        if (image.Height != Height || image.Width != Width)
            throw new ArgumentException($"image is {image.Height}x{image.Width}, the offsets were measured on {Height}x{Width}", nameof(image));
        output ??= new Image2D<float>(Height, Width);
        if (output.Height != Height || output.Width != Width)
            throw new ArgumentException($"output is {output.Height}x{output.Width}, image is {Height}x{Width}", nameof(output));
        Subtract(image.Pixels, output.Pixels, Values, Height, Width, Blocks, maxThreads);
        return output;
    }

    /// <summary>
    /// dst = src - the offsets interpolated between block centres. The filter's passes and <see cref="Apply"/> both come
    /// here, so a stored result is the filter's own arithmetic, not a copy of it. NaN stays NaN.
    /// </summary>
    internal static void Subtract(float[] src, float[] dst, float[] offsets, int h, int w, int blocks, int maxThreads)
    {
        double blockHeight = (double)h / blocks;
        KernelThreads.For(0, h, maxThreads, y =>
        {
            // Position between block centres.
            double t = (y + 0.5) / blockHeight - 0.5;
            int b0 = Math.Clamp((int)Math.Floor(t), 0, blocks - 1);
            int b1 = Math.Min(b0 + 1, blocks - 1);
            float f = (float)Math.Clamp(t - b0, 0, 1);
            SubtractRow(src.AsSpan(y * w, w), dst.AsSpan(y * w, w), offsets.AsSpan(b0 * w, w), offsets.AsSpan(b1 * w, w), f);
        });
    }

    /// <summary>target = source - ((1 - f) * above + f * below) in float; SIMD lanes round as the scalar expression does.</summary>
    private static void SubtractRow(ReadOnlySpan<float> source, Span<float> target, ReadOnlySpan<float> above, ReadOnlySpan<float> below, float f)
    {
        int x = 0, lanes = Vector<float>.Count;
        float g = 1 - f;
        if (Vector.IsHardwareAccelerated)
        {
            var (gs, fs) = (new Vector<float>(g), new Vector<float>(f));
            for (; x + lanes <= source.Length; x += lanes)
            {
                var offset = gs * new Vector<float>(above.Slice(x, lanes)) + fs * new Vector<float>(below.Slice(x, lanes));
                (new Vector<float>(source.Slice(x, lanes)) - offset).CopyTo(target.Slice(x, lanes));
            }
        }
        for (; x < source.Length; x++) target[x] = source[x] - (g * above[x] + f * below[x]);
    }
}
