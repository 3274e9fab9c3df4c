using System.IO.Compression;
using ZstdSharp;

namespace SsbTomo.Storage;

/// <summary>Chunk compressors, spelled in .zarray the way numcodecs spells them.</summary>
public enum ZarrCompressor
{
    None,
    /// <summary>{"id":"zstd","level":3}</summary>
    Zstd,
    /// <summary>{"id":"zlib","level":5}</summary>
    Zlib,
}

internal static class ZarrCodec
{
    public const int ZstdLevel = 3;
    public const int ZlibLevel = 5;

    public static byte[] Encode(ZarrCompressor compressor, ReadOnlySpan<byte> raw, int level) => compressor switch
    {
        ZarrCompressor.None => raw.ToArray(),
        // One-shot compression records the content size in the frame header, which numcodecs' Zstd needs.
        ZarrCompressor.Zstd => EncodeZstd(raw, level),
        ZarrCompressor.Zlib => EncodeZlib(raw, level),
        _ => throw new ArgumentOutOfRangeException(nameof(compressor), compressor, null),
    };

    public static byte[] Decode(ZarrCompressor compressor, byte[] encoded, int expectedLength)
    {
        var raw = compressor switch
        {
            ZarrCompressor.None => encoded,
            ZarrCompressor.Zstd => DecodeZstd(encoded, expectedLength),
            ZarrCompressor.Zlib => DecodeZlib(encoded, expectedLength),
            _ => throw new ArgumentOutOfRangeException(nameof(compressor), compressor, null),
        };
        if (raw.Length != expectedLength)
            throw new InvalidDataException($"chunk decodes to {raw.Length} bytes, expected {expectedLength}");
        return raw;
    }

    private static byte[] EncodeZstd(ReadOnlySpan<byte> raw, int level)
    {
        using var compressor = new Compressor(level);
        return compressor.Wrap(raw).ToArray();
    }

    private static byte[] DecodeZstd(byte[] encoded, int expectedLength)
    {
        using var decompressor = new Decompressor();
        var output = new byte[expectedLength];
        var written = decompressor.Unwrap(encoded, output, 0);
        return written == expectedLength ? output : output[..written];
    }

    private static byte[] EncodeZlib(ReadOnlySpan<byte> raw, int level)
    {
        using var buffer = new MemoryStream();
        using (var zlib = new ZLibStream(buffer, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
            zlib.Write(raw);
        return buffer.ToArray();
    }

    private static byte[] DecodeZlib(byte[] encoded, int expectedLength)
    {
        using var zlib = new ZLibStream(new MemoryStream(encoded), CompressionMode.Decompress);
        var output = new byte[expectedLength];
        var total = 0;
        int read;
        while (total < output.Length && (read = zlib.Read(output, total, output.Length - total)) > 0)
            total += read;
        if (total < output.Length)
            return output[..total];
        if (zlib.ReadByte() >= 0)
            throw new InvalidDataException($"zlib chunk holds more than the expected {expectedLength} bytes");
        return output;
    }
}
