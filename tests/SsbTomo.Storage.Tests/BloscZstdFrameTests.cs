using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

/// <summary>Blosc frames with zstd inside against numcodecs' Blosc (c-blosc), both ways, and against themselves.</summary>
public sealed class BloscZstdFrameTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    /// <summary>
    /// Grey levels of a 12-bit detector with noise (the high byte takes few values), incompressible bytes (stored as they
    /// are), and lengths that leave a short last block or a byte after the last whole element.
    /// </summary>
    private static byte[] Data(string kind, int length, int seed)
    {
        var random = new Random(seed);
        var data = new byte[length];
        if (kind == "random")
        {
            random.NextBytes(data);
            return data;
        }
        for (var i = 0; i + 1 < length; i += 2)
        {
            var grey = (ushort)(2000 + 300 * Math.Sin(i / 5000.0) + random.Next(-40, 41));
            (data[i], data[i + 1]) = ((byte)grey, (byte)(grey >> 8));
        }
        if (length % 2 == 1) data[^1] = 0x5A;
        return data;
    }

    public static TheoryData<string, int, int> Cases => new()
    {
        { "grey", 2 * BloscZstdFrame.BlockBytes + 6, 2 },  // three blocks, the last short
        { "grey", BloscZstdFrame.BlockBytes, 2 },          // exactly one block
        { "grey", 1001, 2 },                               // one short block with a byte after the last element
        { "grey", 4 * 3000, 4 },
        { "grey", 5000, 1 },                               // one-byte elements: no shuffle
        { "random", BloscZstdFrame.BlockBytes + 100, 2 },  // zstd cannot shrink it: the frame is the data as it is
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Frames_decode_to_their_data_here_and_in_numcodecs(string kind, int length, int typeSize)
    {
        var data = Data(kind, length, length + typeSize);
        var frame = new byte[BloscZstdFrame.MaxEncodedLength(length)];
        var frameLength = BloscZstdFrame.Encode(data, typeSize, level: 1, frame);
        var decoded = new byte[length];
        Assert.Equal(length, BloscZstdFrame.Decode(frame.AsSpan(0, frameLength), decoded));
        Assert.Equal(data, decoded);
        if (kind == "grey" && typeSize == 2 && length >= BloscZstdFrame.BlockBytes) Assert.True(frameLength < length * 0.6, $"{frameLength} bytes for {length}");
        if (kind == "random") Assert.Equal(BloscZstdFrame.HeaderBytes + length, frameLength);

        var framePath = Path.Combine(_root.Path, "frame.bin");
        var dataPath = Path.Combine(_root.Path, "data.bin");
        File.WriteAllBytes(framePath, frame.AsSpan(0, frameLength).ToArray());
        File.WriteAllBytes(dataPath, data);
        var output = PythonOracle.Run("""
            import sys, numcodecs
            frame, data = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
            print(bytes(numcodecs.Blosc().decode(frame)) == data)
            """, framePath, dataPath);
        Assert.Equal("True", output.Trim());
    }

    [Theory]
    [InlineData("grey", 3 * 262144 + 10, 2, 0)]      // numcodecs' own block size
    [InlineData("grey", 100_000, 2, 4096)]           // many small blocks
    [InlineData("grey", 100_000, 4, 0)]
    [InlineData("random", 70_000, 2, 0)]             // stored as it is
    public void Frames_numcodecs_writes_decode_here(string kind, int length, int typeSize, int blockSize)
    {
        var data = Data(kind, length, length);
        var dataPath = Path.Combine(_root.Path, "data.bin");
        var framePath = Path.Combine(_root.Path, "frame.bin");
        File.WriteAllBytes(dataPath, data);
        PythonOracle.Run("""
            import sys, numcodecs
            data = open(sys.argv[1], "rb").read()
            codec = numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.SHUFFLE, blocksize=int(sys.argv[4]))
            numcodecs.blosc.set_nthreads(1)
            import numpy as np
            array = np.frombuffer(data, dtype={1: np.uint8, 2: np.uint16, 4: np.uint32}[int(sys.argv[3])])
            open(sys.argv[2], "wb").write(codec.encode(array))
            """, dataPath, framePath, $"{typeSize}", $"{blockSize}");
        var frame = File.ReadAllBytes(framePath);
        var decoded = new byte[length];
        Assert.Equal(length, BloscZstdFrame.Decode(frame, decoded));
        Assert.Equal(data, decoded);
    }

    [Fact]
    public void A_damaged_frame_is_refused_with_a_reason()
    {
        var data = Data("grey", 10_000, 7);
        var frame = new byte[BloscZstdFrame.MaxEncodedLength(data.Length)];
        var length = BloscZstdFrame.Encode(data, 2, 1, frame);
        var decoded = new byte[data.Length];
        Assert.Contains("says", Assert.Throws<InvalidDataException>(() => BloscZstdFrame.Decode(frame.AsSpan(0, length - 1), decoded)).Message);
        var otherCodec = frame.AsSpan(0, length).ToArray();
        otherCodec[2] = (byte)(otherCodec[2] & 0x1F | 1 << 5); // lz4 inside
        Assert.Contains("only zstd", Assert.Throws<InvalidDataException>(() => BloscZstdFrame.Decode(otherCodec, decoded)).Message);
        Assert.Contains("shorter than its header", Assert.Throws<InvalidDataException>(() => BloscZstdFrame.Decode(frame.AsSpan(0, 5), decoded)).Message);
    }

    [Theory]
    [InlineData(2, 1000)]
    [InlineData(2, 1001)]
    [InlineData(3, 1001)]
    [InlineData(2, 64)]
    public void The_vector_shuffle_is_the_byte_by_byte_one_and_undone(int typeSize, int length)
    {
        var data = Data("random", length, length);
        var shuffled = new byte[length];
        BloscZstdFrame.Shuffle(data, typeSize, shuffled);
        var n = length / typeSize;
        for (var i = 0; i < n; i++)
            for (var k = 0; k < typeSize; k++) Assert.Equal(data[i * typeSize + k], shuffled[k * n + i]);
        for (var i = n * typeSize; i < length; i++) Assert.Equal(data[i], shuffled[i]);
        var back = new byte[length];
        BloscZstdFrame.Unshuffle(shuffled, typeSize, back);
        Assert.Equal(data, back);
    }
}
