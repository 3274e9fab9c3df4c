using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SsbTomo.Imaging;

/// <summary>
/// target[i] = op(target[i], other[i]) over two equally long spans, a SIMD register at a time and the tail as a last
/// register that overlaps the one before (one by one on spans shorter than a register or overlapping each other): the
/// running minima, maxima and unions of the box and line filters. Vector.Min/Max and the scalar comparison agree on every
/// finite value, so the result does not depend on the vector width. The vectors are loaded and stored through references
/// (one length check per call, not a slice per vector): the box filters call these on every row of every plane.
/// </summary>
internal static class ElementwiseInPlace
{
    public static void Or<T>(Span<T> target, ReadOnlySpan<T> other) where T : unmanaged, IBitwiseOperators<T, T, T>
    {
        CheckLengths(target, other);
        nuint i = 0, length = (nuint)target.Length, lanes = (nuint)Vector<T>.Count;
        ref var t = ref MemoryMarshal.GetReference(target);
        ref var o = ref MemoryMarshal.GetReference(other);
        if (Vector.IsHardwareAccelerated)
            for (; i + lanes <= length; i += lanes)
                Vector.StoreUnsafe(Vector.LoadUnsafe(ref t, i) | Vector.LoadUnsafe(ref o, i), ref t, i);
        if (LastVectorOverlapping(ref i, length, lanes, target, other))
        {
            Vector.StoreUnsafe(Vector.LoadUnsafe(ref t, i) | Vector.LoadUnsafe(ref o, i), ref t, i);
            return;
        }
        for (; i < length; i++) Unsafe.Add(ref t, i) |= Unsafe.Add(ref o, i);
    }

    public static void Min<T>(Span<T> target, ReadOnlySpan<T> other) where T : unmanaged, INumber<T>
    {
        CheckLengths(target, other);
        nuint i = 0, length = (nuint)target.Length, lanes = (nuint)Vector<T>.Count;
        ref var t = ref MemoryMarshal.GetReference(target);
        ref var o = ref MemoryMarshal.GetReference(other);
        if (Vector.IsHardwareAccelerated)
            for (; i + lanes <= length; i += lanes)
                Vector.StoreUnsafe(Vector.Min(Vector.LoadUnsafe(ref t, i), Vector.LoadUnsafe(ref o, i)), ref t, i);
        if (LastVectorOverlapping(ref i, length, lanes, target, other))
        {
            Vector.StoreUnsafe(Vector.Min(Vector.LoadUnsafe(ref t, i), Vector.LoadUnsafe(ref o, i)), ref t, i);
            return;
        }
        for (; i < length; i++)
            if (Unsafe.Add(ref o, i) < Unsafe.Add(ref t, i)) Unsafe.Add(ref t, i) = Unsafe.Add(ref o, i);
    }

    public static void Max<T>(Span<T> target, ReadOnlySpan<T> other) where T : unmanaged, INumber<T>
    {
        CheckLengths(target, other);
        nuint i = 0, length = (nuint)target.Length, lanes = (nuint)Vector<T>.Count;
        ref var t = ref MemoryMarshal.GetReference(target);
        ref var o = ref MemoryMarshal.GetReference(other);
        if (Vector.IsHardwareAccelerated)
            for (; i + lanes <= length; i += lanes)
                Vector.StoreUnsafe(Vector.Max(Vector.LoadUnsafe(ref t, i), Vector.LoadUnsafe(ref o, i)), ref t, i);
        if (LastVectorOverlapping(ref i, length, lanes, target, other))
        {
            Vector.StoreUnsafe(Vector.Max(Vector.LoadUnsafe(ref t, i), Vector.LoadUnsafe(ref o, i)), ref t, i);
            return;
        }
        for (; i < length; i++)
            if (Unsafe.Add(ref o, i) > Unsafe.Add(ref t, i)) Unsafe.Add(ref t, i) = Unsafe.Add(ref o, i);
    }

    /// <summary>
    /// Whether the tail (fewer than a vector of elements after <paramref name="i"/>) goes as one vector that ends at the last
    /// element, moving <paramref name="i"/> back to its start: the elements it redoes get the same values again (min, max
    /// and or are idempotent), where the tail one by one took a compare and a branch each (up to 31 bytes of every row of
    /// the box filters). Not where the spans overlap: a redone element would read one the vector before changed.
    /// </summary>
    private static bool LastVectorOverlapping<T>(ref nuint i, nuint length, nuint lanes, Span<T> target, ReadOnlySpan<T> other)
    {
        if (!Vector.IsHardwareAccelerated || i >= length || length < lanes || target.Overlaps(other)) return false;
        i = length - lanes;
        return true;
    }

    private static void CheckLengths<T>(Span<T> target, ReadOnlySpan<T> other)
    {
        if (other.Length < target.Length)
            throw new ArgumentException($"the other span has {other.Length} elements for {target.Length}", nameof(other));
    }
}
