using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SsbTomo.Storage;

/// <summary>
/// The system's zstd library (libzstd.so.1, Debian/Ubuntu package libzstd1, which apt itself depends on), called directly.
/// numcodecs compresses with native zstd too; ZstdSharp, the managed port used where the library is missing, needs about
/// twice the CPU for the same kind of frames (16x512x512 uint16 chunks at level 1: ~18 vs ~10 ms to compress, ~10 vs ~6 ms
/// to decompress on the 2-core benchmark machine). Both write standard frames with the content size in the header, so
/// either reads the other's chunks, but their bytes differ: chunk bytes are deterministic per zstd implementation.
/// </summary>
internal static partial class NativeZstd
{
    private const string Library = "libzstd.so.1";

    /// <summary>True if libzstd loads and is 1.4 or newer (one-shot context API with the content size in every frame).</summary>
    public static bool IsAvailable { get; } = Probe();

    public static int CompressBound(int length) => checked((int)ZSTD_compressBound((nuint)length));

    /// <summary>One frame of <paramref name="source"/> at <paramref name="level"/>; returns its length in <paramref name="destination"/>.</summary>
    public static unsafe int Compress(CompressionContext context, ReadOnlySpan<byte> source, Span<byte> destination, int level)
    {
        fixed (byte* from = source)
        fixed (byte* to = destination)
            return (int)Check(ZSTD_compressCCtx(context, to, (nuint)destination.Length, from, (nuint)source.Length, level));
    }

    /// <summary>Decodes all frames in <paramref name="source"/>; fails if they hold more than <paramref name="destination"/>.</summary>
    public static unsafe int Decompress(DecompressionContext context, ReadOnlySpan<byte> source, Span<byte> destination)
    {
        fixed (byte* from = source)
        fixed (byte* to = destination)
            return (int)Check(ZSTD_decompressDCtx(context, to, (nuint)destination.Length, from, (nuint)source.Length));
    }

    private static bool Probe()
    {
        try
        {
            return NativeLibrary.TryLoad(Library, typeof(NativeZstd).Assembly, null, out _) && ZSTD_versionNumber() >= 10400;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    private static nuint Check(nuint result) =>
        ZSTD_isError(result) == 0 ? result : throw new InvalidDataException($"zstd: {Marshal.PtrToStringUTF8(ZSTD_getErrorName(result))}");

    /// <summary>A ZSTD_CCtx: match-finder tables reused from frame to frame; freed when the handle is collected or disposed.</summary>
    internal sealed class CompressionContext : SafeHandleZeroOrMinusOneIsInvalid
    {
        public CompressionContext() : base(ownsHandle: true)
        {
            SetHandle(ZSTD_createCCtx());
            if (IsInvalid)
                throw new OutOfMemoryException("ZSTD_createCCtx failed");
        }

        protected override bool ReleaseHandle()
        {
            ZSTD_freeCCtx(handle);
            return true;
        }
    }

    /// <summary>A ZSTD_DCtx, reused from frame to frame.</summary>
    internal sealed class DecompressionContext : SafeHandleZeroOrMinusOneIsInvalid
    {
        public DecompressionContext() : base(ownsHandle: true)
        {
            SetHandle(ZSTD_createDCtx());
            if (IsInvalid)
                throw new OutOfMemoryException("ZSTD_createDCtx failed");
        }

        protected override bool ReleaseHandle()
        {
            ZSTD_freeDCtx(handle);
            return true;
        }
    }

    [LibraryImport(Library)]
    private static partial uint ZSTD_versionNumber();

    [LibraryImport(Library)]
    private static partial nuint ZSTD_compressBound(nuint sourceSize);

    [LibraryImport(Library)]
    private static partial uint ZSTD_isError(nuint code);

    [LibraryImport(Library)]
    private static partial IntPtr ZSTD_getErrorName(nuint code);

    [LibraryImport(Library)]
    private static partial IntPtr ZSTD_createCCtx();

    [LibraryImport(Library)]
    private static partial nuint ZSTD_freeCCtx(IntPtr context);

    [LibraryImport(Library)]
    private static unsafe partial nuint ZSTD_compressCCtx(CompressionContext context, byte* destination, nuint capacity, byte* source, nuint sourceSize, int level);

    [LibraryImport(Library)]
    private static partial IntPtr ZSTD_createDCtx();

    [LibraryImport(Library)]
    private static partial nuint ZSTD_freeDCtx(IntPtr context);

    [LibraryImport(Library)]
    private static unsafe partial nuint ZSTD_decompressDCtx(DecompressionContext context, byte* destination, nuint capacity, byte* source, nuint sourceSize);
}
