using System.Runtime.InteropServices;

namespace SsbTomo.Imaging.Tests.Segmentation;

/// <summary>Raw little-endian array exchange with the Python oracle, plus deterministic test volumes.</summary>
internal static class OracleIo
{
    public static void Write<T>(string path, T[] data) where T : unmanaged =>
        File.WriteAllBytes(path, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());

    public static T[] Read<T>(string path) where T : unmanaged =>
        MemoryMarshal.Cast<byte, T>(File.ReadAllBytes(path)).ToArray();

    public static Volume<ushort> RandomGrey(int depth, int height, int width, int seed)
    {
        var random = new Random(seed);
        var v = new Volume<ushort>(depth, height, width);
        for (var i = 0; i < v.Data.Length; i++) v.Data[i] = (ushort)random.Next(0, 65536);
        return v;
    }

    public static string Python(string body) => "import sys, numpy as np\n" + body;
}
