namespace SsbTomo.Storage;

/// <summary>Maps the element types we store to numpy dtype strings (little-endian, as zarr-python writes them).</summary>
public static class ZarrDataType
{
    public static string Of<T>() where T : unmanaged =>
        typeof(T) == typeof(byte) ? "|u1"
        : typeof(T) == typeof(ushort) ? "<u2"
        : typeof(T) == typeof(uint) ? "<u4"
        : typeof(T) == typeof(float) ? "<f4"
        : throw new NotSupportedException($"Zarr element type {typeof(T).Name} is not supported; use byte, ushort, uint or float");

    /// <summary>True if a .zarray dtype string describes <typeparamref name="T"/> ("<u1" and "|u1" are the same).</summary>
    public static bool Matches<T>(string dtype) where T : unmanaged
    {
        var expected = Of<T>();
        if (dtype == expected)
            return true;
        return typeof(T) == typeof(byte) && dtype is "<u1" or ">u1";
    }
}
