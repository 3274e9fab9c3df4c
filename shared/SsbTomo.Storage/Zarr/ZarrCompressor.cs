using SsbTomo.Imaging;
using System.IO.Compression;
using System.Runtime.InteropServices;
using ZstdSharp;

namespace SsbTomo.Storage;

/// <summary>Chunk compressors, spelled in .zarray the way numcodecs spells them.</summary>
public enum ZarrCompressor
{
    None,
    /// <summary>{"id":"zstd","level":1}</summary>
    Zstd,
    /// <summary>
    /// {"id":"zstd","level":-4}: zstd's fast mode, for noisy grey volumes that no lossless coder shrinks by more than a few
    /// per cent (the aligned and denoised stacks: level 1 takes them to 0.96-0.98 of their size at ~560 MB/s and decodes
    /// ~1.4 GB/s; level -4 stores them as they are at ~7 GB/s and decodes at memory speed). Any zstd decoder reads it.
    /// </summary>
    ZstdFast,
    /// <summary>{"id":"zlib","level":5}</summary>
    Zlib,
    /// <summary>
    /// {"id":"blosc","cname":"zstd","clevel":1,"shuffle":1,"blocksize":0}: zstd level 1 after a byte shuffle, in Blosc 1
    /// frames (<see cref="BloscZstdFrame"/>), for 16-bit grey levels whose high bytes take few values (raw.zarr).
    /// </summary>
    BloscZstd,
}

/// <summary>
/// One encoded chunk. Its buffer usually comes from <see cref="LargeArrayPool{T}.Shared"/>: dispose it once the blob store
/// has finished with <see cref="Bytes"/>, and never touch <see cref="Bytes"/> afterwards.
/// </summary>
internal readonly struct EncodedChunk(byte[] buffer, int length, bool pooled) : IDisposable
{
    public ReadOnlyMemory<byte> Bytes => buffer.AsMemory(0, length);

    public void Dispose()
    {
        if (pooled)
            LargeArrayPool<byte>.Shared.Return(buffer);
    }
}

internal static class ZarrCodec
{
    // numcodecs' default Zstd level, also what it assumes when "level" is missing. On our data (noisy uint16 slices, float
    // denoised volumes, uint8 labels; 16x512x512 chunks) level 1 compresses as well as 3 (labels even 3% smaller), while
    // the managed fallback (ZstdSharp) took 1.3-2x as long at level 3.
    public const int ZstdLevel = 1;
    /// <summary>The level of <see cref="ZarrCompressor.ZstdFast"/> (numcodecs passes negative levels to zstd as its fast modes).</summary>
    public const int ZstdFastLevel = -4;
    public const int ZlibLevel = 5;

    /// <summary>Which zstd this process writes with: the system library where it loads, else the managed port (see <see cref="NativeZstd"/>).</summary>
    public static bool NativeZstdInUse => NativeZstd.IsAvailable;

    // A zstd context holds a few MB of match-finder tables; creating one per chunk costs about as much as compressing a
    // small chunk. Encoding and decoding run synchronously on one thread, so one context per thread is never shared.
    [ThreadStatic] private static NativeZstd.CompressionContext? _nativeCompressor;
    [ThreadStatic] private static NativeZstd.DecompressionContext? _nativeDecompressor;
    [ThreadStatic] private static Compressor? _zstdCompressor;
    [ThreadStatic] private static Decompressor? _zstdDecompressor;

    /// <param name="typeSize">Bytes per element of <paramref name="raw"/> (the shuffle of <see cref="ZarrCompressor.BloscZstd"/>).</param>
    public static EncodedChunk Encode(ZarrCompressor compressor, ReadOnlySpan<byte> raw, int level, int typeSize = 1) => compressor switch
    {
        ZarrCompressor.None => Copy(raw),
        ZarrCompressor.Zstd or ZarrCompressor.ZstdFast => EncodeZstd(raw, level),
        ZarrCompressor.Zlib => EncodeZlib(raw, level),
        ZarrCompressor.BloscZstd => EncodeBlosc(raw, level, typeSize),
        _ => throw new ArgumentOutOfRangeException(nameof(compressor), compressor, null),
    };

    /// <summary>Decodes <paramref name="encoded"/> into <paramref name="destination"/>, which it must fill exactly.</summary>
    public static void Decode(ZarrCompressor compressor, ReadOnlyMemory<byte> encoded, Span<byte> destination)
    {
        var written = compressor switch
        {
            ZarrCompressor.None => CopyExact(encoded, destination),
            ZarrCompressor.Zstd or ZarrCompressor.ZstdFast => DecodeZstd(encoded, destination),
            ZarrCompressor.Zlib => DecodeZlib(encoded, destination),
            ZarrCompressor.BloscZstd => BloscZstdFrame.Decode(encoded.Span, destination),
            _ => throw new ArgumentOutOfRangeException(nameof(compressor), compressor, null),
        };
        if (written != destination.Length)
            throw new InvalidDataException($"chunk decodes to {written} bytes, expected {destination.Length}");
    }

    private static EncodedChunk Copy(ReadOnlySpan<byte> raw)
    {
        var buffer = LargeArrayPool<byte>.Shared.Rent(raw.Length);
        raw.CopyTo(buffer);
        return new EncodedChunk(buffer, raw.Length, pooled: true);
    }

    private static int CopyExact(ReadOnlyMemory<byte> encoded, Span<byte> destination)
    {
        if (encoded.Length == destination.Length)
            encoded.Span.CopyTo(destination);
        return encoded.Length;
    }

    private static EncodedChunk EncodeZstd(ReadOnlySpan<byte> raw, int level)
    {
        var buffer = LargeArrayPool<byte>.Shared.Rent(ZstdBound(raw.Length));
        try
        {
            // One-shot compression records the content size in the frame header, which numcodecs' Zstd needs.
            return new EncodedChunk(buffer, CompressZstd(raw, buffer, level), pooled: true);
        }
        catch
        {
            LargeArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static int EncodeZstdManaged(ReadOnlySpan<byte> raw, Span<byte> destination, int level)
    {
        var compressor = _zstdCompressor ??= new Compressor(level);
        // Parameters are sticky on a reused context and every other parameter stays at its default, so the output
        // is the same as from a fresh Compressor(level).
        if (compressor.Level != level)
            compressor.Level = level;
        return compressor.Wrap(raw, destination);
    }

    // A frame that holds more than the destination throws (destination too small): the caller reports it as corrupt.
    private static int DecodeZstd(ReadOnlyMemory<byte> encoded, Span<byte> destination) => DecompressZstd(encoded.Span, destination);

    /// <summary>The most bytes one zstd frame of <paramref name="length"/> bytes takes.</summary>
    public static int ZstdBound(int length) => NativeZstdInUse ? NativeZstd.CompressBound(length) : Compressor.GetCompressBound(length);

    /// <summary>One zstd frame of <paramref name="raw"/> into <paramref name="destination"/> (at least <see cref="ZstdBound"/> long); returns its length.</summary>
    public static int CompressZstd(ReadOnlySpan<byte> raw, Span<byte> destination, int level) => NativeZstdInUse
        ? NativeZstd.Compress(_nativeCompressor ??= new NativeZstd.CompressionContext(), raw, destination, level)
        : EncodeZstdManaged(raw, destination, level);

    /// <summary>One zstd frame into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int DecompressZstd(ReadOnlySpan<byte> frame, Span<byte> destination) => NativeZstdInUse
        ? NativeZstd.Decompress(_nativeDecompressor ??= new NativeZstd.DecompressionContext(), frame, destination)
        : (_zstdDecompressor ??= new Decompressor()).Unwrap(frame, destination);

    private static EncodedChunk EncodeBlosc(ReadOnlySpan<byte> raw, int level, int typeSize)
    {
        var buffer = LargeArrayPool<byte>.Shared.Rent(BloscZstdFrame.MaxEncodedLength(raw.Length));
        try
        {
            return new EncodedChunk(buffer, BloscZstdFrame.Encode(raw, typeSize, level, buffer), pooled: true);
        }
        catch
        {
            LargeArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static EncodedChunk EncodeZlib(ReadOnlySpan<byte> raw, int level)
    {
        // zlib has no cheap exact bound through ZLibStream; a growable stream that is not copied again is enough here.
        var buffer = new MemoryStream(raw.Length / 2 + 64);
        using (var zlib = new ZLibStream(buffer, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
            zlib.Write(raw);
        return new EncodedChunk(buffer.GetBuffer(), (int)buffer.Length, pooled: false);
    }

    private static int DecodeZlib(ReadOnlyMemory<byte> encoded, Span<byte> destination)
    {
        var source = MemoryMarshal.TryGetArray(encoded, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(encoded.ToArray(), writable: false);
        using var zlib = new ZLibStream(source, CompressionMode.Decompress);
        var total = 0;
        int read;
        while (total < destination.Length && (read = zlib.Read(destination[total..])) > 0)
            total += read;
        if (total == destination.Length && zlib.ReadByte() >= 0)
            throw new InvalidDataException($"zlib chunk holds more than the expected {destination.Length} bytes");
        return total;
    }
}
