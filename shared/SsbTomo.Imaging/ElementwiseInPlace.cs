using System.Numerics;

namespace SsbTomo.Imaging;

/// <summary>
/// target[i] = op(target[i], other[i]) over two equally long spans, a SIMD register at a time and the tail one by one: the
/// running minima, maxima and unions of the box and line filters. Vector.Min/Max and the scalar comparison agree on every
/// finite value, so the result does not depend on the vector width.
/// </summary>
internal static class ElementwiseInPlace
{
    public static void Or<T>(Span<T> target, ReadOnlySpan<T> other) where T : unmanaged, IBitwiseOperators<T, T, T>
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= target.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(target[i..]) | new Vector<T>(other[i..])).CopyTo(target[i..]);
        for (; i < target.Length; i++) target[i] |= other[i];
    }

    public static void Min<T>(Span<T> target, ReadOnlySpan<T> other) where T : unmanaged, INumber<T>
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= target.Length - Vector<T>.Count; i += Vector<T>.Count)
                Vector.Min(new Vector<T>(target[i..]), new Vector<T>(other[i..])).CopyTo(target[i..]);
        for (; i < target.Length; i++)
            if (other[i] < target[i]) target[i] = other[i];
    }

    public static void Max<T>(Span<T> target, ReadOnlySpan<T> other) where T : unmanaged, INumber<T>
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= target.Length - Vector<T>.Count; i += Vector<T>.Count)
                Vector.Max(new Vector<T>(target[i..]), new Vector<T>(other[i..])).CopyTo(target[i..]);
        for (; i < target.Length; i++)
            if (other[i] > target[i]) target[i] = other[i];
    }
}
