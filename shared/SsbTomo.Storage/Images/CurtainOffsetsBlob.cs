using System.Buffers.Binary;
using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Storage.Images;

/// <summary>
/// One alignment measurement chunk's curtain offsets (<see cref="CurtainOffsets"/>, one per slice of the slab, none for a
/// flat slice) as one binary blob beside the chunk's JSON measurements: Blocks x Width float32 per slice (192 KiB for a
/// 3072x4096 slice), which the shift chunk of the same slab reads instead of filtering the slices again. Binary, not JSON:
/// the floats would be three times the bytes as text, and the solve, which reads every chunk's JSON, needs none of them.
/// <para>
/// Layout, little-endian: the 8 ASCII bytes <c>SSBCURT1</c>, int32 z0, int32 z1, then per slice int32 height, int32
/// width, int32 blocks (0: no offsets) and blocks x width float32 in [block][x] order.
/// </para>
/// </summary>
public static class CurtainOffsetsBlob
{
    private static ReadOnlySpan<byte> Magic => "SSBCURT1"u8;

    public static byte[] Encode(int z0, IReadOnlyList<CurtainOffsets?> slices)
    {
        ArgumentNullException.ThrowIfNull(slices);
        long length = Magic.Length + 8;
        foreach (var slice in slices) length += 12 + 4L * (slice?.Values.Length ?? 0);
        var bytes = new byte[checked((int)length)];
        Magic.CopyTo(bytes);
        var at = Magic.Length;
        void WriteInt(int value) { BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), value); at += 4; }
        WriteInt(z0);
        WriteInt(z0 + slices.Count);
        foreach (var slice in slices)
        {
            WriteInt(slice?.Height ?? 0);
            WriteInt(slice?.Width ?? 0);
            WriteInt(slice?.Blocks ?? 0);
            if (slice is null) continue;
            foreach (var v in slice.Values)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at), v);
                at += 4;
            }
        }
        return bytes;
    }

    /// <summary>The offsets of slices [<paramref name="z0"/>, <paramref name="z1"/>), as <see cref="Encode"/> was given them.</summary>
    /// <exception cref="InvalidDataException">The blob is not such a blob, is cut short, or holds other slices.</exception>
    public static CurtainOffsets?[] Decode(ReadOnlySpan<byte> bytes, int z0, int z1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(z1, z0);
        if (bytes.Length < Magic.Length + 8 || !bytes[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidDataException("not a curtain offsets blob");
        var at = Magic.Length;
        int storedZ0 = ReadInt(bytes, ref at), storedZ1 = ReadInt(bytes, ref at);
        if (storedZ0 != z0 || storedZ1 != z1)
            throw new InvalidDataException($"the curtain offsets blob holds slices {storedZ0}..{storedZ1 - 1}, not {z0}..{z1 - 1}");
        var slices = new CurtainOffsets?[z1 - z0];
        for (var k = 0; k < slices.Length; k++)
        {
            int height = ReadInt(bytes, ref at), width = ReadInt(bytes, ref at), blocks = ReadInt(bytes, ref at);
            if (blocks == 0) continue;
            if (height < 1 || width < 1 || blocks < 1 || blocks > height || (bytes.Length - at) / 4 < (long)blocks * width)
                throw new InvalidDataException($"slice {z0 + k} of the curtain offsets blob: {blocks} blocks of {height}x{width} do not fit its {bytes.Length} bytes");
            var values = new float[blocks * width];
            for (var i = 0; i < values.Length; i++, at += 4) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[at..]);
            slices[k] = new CurtainOffsets(height, width, blocks, values);
        }
        if (at != bytes.Length) throw new InvalidDataException($"the curtain offsets blob has {bytes.Length - at} bytes after its last slice");
        return slices;
    }

    private static int ReadInt(ReadOnlySpan<byte> span, ref int at)
    {
        if (at + 4 > span.Length) throw new InvalidDataException($"the curtain offsets blob is cut short at byte {span.Length}");
        var value = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        return value;
    }
}
