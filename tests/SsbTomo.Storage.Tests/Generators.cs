using SsbTomo.Imaging;

namespace SsbTomo.Storage.Tests;

internal static class Generators
{
    /// <summary>A volume whose values depend on position so misplaced chunks show up; deterministic.</summary>
    public static Volume<T> Pattern<T>(int depth, int height, int width, int seed = 0) where T : unmanaged
    {
        var volume = new Volume<T>(depth, height, width);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    volume[z, y, x] = ValueAt<T>(z, y, x, seed);
        return volume;
    }

    public static T ValueAt<T>(int z, int y, int x, int seed = 0) where T : unmanaged
    {
        var v = (uint)(z * 7919 + y * 104729 + x * 31 + seed * 13 + 1);
        v ^= v >> 7;
        object boxed = typeof(T) == typeof(byte) ? (object)(byte)(v % 251 + 1)
            : typeof(T) == typeof(ushort) ? (object)(ushort)(v % 65000 + 1)
            : typeof(T) == typeof(uint) ? (object)(v * 2654435761u | 1)
            : typeof(T) == typeof(float) ? (object)((float)(v % 100000) / 7f + 0.5f)
            : throw new NotSupportedException();
        return (T)boxed;
    }
}
