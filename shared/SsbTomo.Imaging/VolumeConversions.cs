using System.Numerics;
using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging;

/// <summary>
/// The grey-level conversions between what is stored (uint16 voxels) and what the algorithms compute on (float), in one
/// place, so that every stage rounds and clamps the same way.
/// </summary>
public static class VolumeConversions
{
    public static Volume<float> ToFloat(this Volume<ushort> volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        var result = new Volume<float>(volume.Depth, volume.Height, volume.Width);
        Widen(volume.Data, result.Data);
        return result;
    }

    /// <summary>Slice <paramref name="z"/> as a float image of its own, for the per-slice algorithms (alignment).</summary>
    public static Image2D<float> SliceToFloat(this Volume<ushort> volume, int z)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, volume.Depth);
        var image = new Image2D<float>(volume.Height, volume.Width);
        Widen(volume.Slice(z), image.Pixels);
        return image;
    }

    /// <summary>Slice <paramref name="z"/> into <paramref name="destination"/> (its height and width), for a loop that converts slice after slice.</summary>
    public static Image2D<float> SliceToFloat(this Volume<ushort> volume, int z, Image2D<float> destination)
    {
        ArgumentNullException.ThrowIfNull(volume);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, volume.Depth);
        if (destination.Height != volume.Height || destination.Width != volume.Width)
            throw new ArgumentException($"destination is {destination.Height}x{destination.Width}, the slices {volume.Height}x{volume.Width}", nameof(destination));
        Widen(volume.Slice(z), destination.Pixels);
        return destination;
    }

    /// <summary>target[i] = source[i] (exact: every uint16 is a float), eight or more at a time.</summary>
    public static void Widen(ReadOnlySpan<ushort> source, Span<float> target)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= source.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector.Widen(new Vector<ushort>(source.Slice(i)), out var low, out var high);
                Vector.ConvertToSingle(low).CopyTo(target.Slice(i));
                Vector.ConvertToSingle(high).CopyTo(target.Slice(i + Vector<uint>.Count));
            }
        for (; i < source.Length; i++) target[i] = source[i];
    }

    /// <summary>target[j] = (double)source[j] (exact), a vector at a time.</summary>
    internal static void Widen(ReadOnlySpan<float> source, Span<double> target)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
            for (; j + Vector<float>.Count <= source.Length; j += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(source[j..]), out var low, out var high);
                low.CopyTo(target[j..]);
                high.CopyTo(target[(j + Vector<double>.Count)..]);
            }
        for (; j < source.Length; j++) target[j] = source[j];
    }

    /// <summary>target[j] = (float)source[j], a vector at a time: the same rounding as the scalar cast.</summary>
    internal static void Narrow(ReadOnlySpan<double> source, Span<float> target)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
            for (; j + Vector<float>.Count <= source.Length; j += Vector<float>.Count)
                Vector.Narrow(new Vector<double>(source[j..]), new Vector<double>(source[(j + Vector<double>.Count)..])).CopyTo(target[j..]);
        for (; j < source.Length; j++) target[j] = (float)source[j];
    }

    /// <summary>Rounded to the nearest integer (halves to even, as Math.Round does) and clamped to [0, 65535]; NaN becomes 0.</summary>
    /// <remarks>Slices in parallel, sixteen values at a time (the denoising stage's one serial pass over every voxel).</remarks>
    public static Volume<ushort> ToUInt16(this Volume<float> volume)
    {
        ArgumentNullException.ThrowIfNull(volume);
        var result = new Volume<ushort>(volume.Depth, volume.Height, volume.Width);
        var slice = volume.SliceLength;
        Parallel.For(0, volume.Depth, z => Narrow(volume.Data.AsSpan((int)(z * slice), (int)slice), result.Data.AsSpan((int)(z * slice), (int)slice)));
        return result;
    }

    /// <summary>target[i] = source[i] rounded (halves to even), clamped to [0, 65535], NaN as 0: the values of <see cref="ToUInt16"/>.</summary>
    internal static void Narrow(ReadOnlySpan<float> source, Span<ushort> target)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var (zero, top) = (Vector256<float>.Zero, Vector256.Create(65535f));
            // Vector256.Round rounds halves to even as Math.Round does; every float is exactly a double, so the rounded
            // values agree, and the clamp and the conversion of integers in [0, 65535] are exact.
            Vector256<int> Rounded(Vector256<float> v) =>
                Vector256.ConvertToInt32(Vector256.ConditionalSelect(Vector256.Equals(v, v), Vector256.Min(Vector256.Max(Vector256.Round(v), zero), top), zero));
            var lanes = Vector256<float>.Count;
            for (; i + 2 * lanes <= source.Length; i += 2 * lanes)
            {
                var (low, high) = (Rounded(Vector256.Create(source.Slice(i, lanes))), Rounded(Vector256.Create(source.Slice(i + lanes, lanes))));
                Vector256.Narrow(low.AsUInt32(), high.AsUInt32()).CopyTo(target.Slice(i));
            }
        }
        for (; i < source.Length; i++)
            target[i] = float.IsNaN(source[i]) ? (ushort)0 : (ushort)Math.Clamp(Math.Round(source[i]), 0, 65535);
    }
}
