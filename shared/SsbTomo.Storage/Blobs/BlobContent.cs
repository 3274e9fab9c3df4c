using SsbTomo.Imaging;

namespace SsbTomo.Storage;

/// <summary>
/// A blob's bytes as <see cref="IBlobStore.ReadContentAsync"/> returns them: possibly in a buffer rented from
/// <see cref="LargeArrayPool{T}.Shared"/>, which <see cref="Dispose"/> gives back. Use <see cref="Bytes"/> only before disposing.
/// </summary>
public sealed class BlobContent : IDisposable
{
    private byte[]? _rented;

    private BlobContent(ReadOnlyMemory<byte> bytes, byte[]? rented)
    {
        Bytes = bytes;
        _rented = rented;
    }

    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The first <paramref name="length"/> bytes of a buffer rented from <see cref="LargeArrayPool{T}.Shared"/>; disposing returns it.</summary>
    public static BlobContent Rented(byte[] buffer, int length) => new(buffer.AsMemory(0, length), buffer);

    /// <summary>Bytes the garbage collector owns; disposing does nothing.</summary>
    public static BlobContent Owned(ReadOnlyMemory<byte> bytes) => new(bytes, null);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _rented, null) is { } buffer)
            LargeArrayPool<byte>.Shared.Return(buffer);
    }
}
