using System.Buffers.Binary;
using System.IO.Compression;
using SsbTomo.Imaging;

namespace SsbTomo.Storage.Images;

/// <summary>
/// Greyscale PNG (W3C PNG Specification, 2nd ed., ISO/IEC 15948): reads 1- to 16-bit grey, grey + alpha (alpha
/// dropped), palette (the index is the value, as label images are often saved) and colour images whose pixels are all
/// grey (R = G = B); writes 8- and 16-bit grey and 8-bit RGB (previews). Written here because the repo's only image library is LibTiff.NET and
/// the NuGet PNG readers either lack 16-bit grey (StbImageSharp's 8-bit API) or need native Skia.
/// </summary>
public static class PngImage
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The image and its bit depth (8 for 1-8-bit and palette files, 16 for 16-bit).</summary>
    public static (Image2D<ushort> Image, int BitDepth) Read(string path)
    {
        var name = Path.GetFileName(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{name}: cannot read ({e.Message})", e);
        }
        return Decode(bytes, name);
    }

    /// <summary>Decodes PNG bytes; <paramref name="name"/> is used in error messages.</summary>
    public static (Image2D<ushort> Image, int BitDepth) Decode(byte[] bytes, string name)
    {
        if (bytes.Length < 8 || !bytes.AsSpan(0, 8).SequenceEqual(Signature)) throw Fail(name, "is not a PNG file (no PNG signature)");
        int width = 0, height = 0, depth = 0, colour = -1;
        byte[]? palette = null;
        using var idat = new MemoryStream();
        var at = 8;
        var ended = false;
        while (!ended)
        {
            if (at + 12 > bytes.Length) throw Fail(name, "is truncated (a chunk runs past the end of the file)");
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
            if (length < 0 || at + 12L + length > bytes.Length) throw Fail(name, "is truncated or damaged (a chunk runs past the end of the file)");
            var type = System.Text.Encoding.ASCII.GetString(bytes, at + 4, 4);
            var data = bytes.AsSpan(at + 8, length);
            var crc = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 8 + length));
            if (Crc(bytes.AsSpan(at + 4, length + 4)) != crc) throw Fail(name, $"is damaged (checksum of its {type} chunk does not match)");
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    (depth, colour) = (data[8], data[9]);
                    if (data[10] != 0 || data[11] != 0) throw Fail(name, "uses an unknown compression or filter method");
                    if (data[12] != 0) throw Fail(name, "is interlaced (Adam7); save it without interlacing");
                    if (width < 1 || height < 1 || width > TiffStackReader.MaxSide || height > TiffStackReader.MaxSide)
                        throw Fail(name, $"is {width}x{height} pixels; sides of 1..{TiffStackReader.MaxSide} are accepted");
                    var allowed = colour switch
                    {
                        0 => depth is 1 or 2 or 4 or 8 or 16,
                        3 => depth is 1 or 2 or 4 or 8,
                        2 or 4 or 6 => depth is 8 or 16,
                        _ => false,
                    };
                    if (!allowed) throw Fail(name, $"has colour type {colour} at {depth} bits, which PNG does not define");
                    break;
                case "PLTE":
                    palette = data.ToArray();
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
                case "IEND":
                    ended = true;
                    break;
            }
            at += 12 + length;
        }
        if (colour < 0) throw Fail(name, "has no IHDR chunk");
        if (colour == 3 && palette is null) throw Fail(name, "is a palette image without a palette");

        var channels = colour switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        var bitsPerPixel = channels * depth;
        var stride = (int)(((long)width * bitsPerPixel + 7) / 8);
        var bytesPerPixel = Math.Max(1, bitsPerPixel / 8);
        var raw = new byte[(long)(stride + 1) * height];
        idat.Position = 0;
        try
        {
            using var inflate = new ZLibStream(idat, CompressionMode.Decompress);
            inflate.ReadExactly(raw);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw Fail(name, $"has damaged or truncated pixel data ({e.Message})");
        }

        var image = new Image2D<ushort>(height, width);
        var previous = new byte[stride];
        var current = new byte[stride];
        var colourPixelSeen = false;
        for (var y = 0; y < height; y++)
        {
            var line = raw.AsSpan(y * (stride + 1), stride + 1);
            line[1..].CopyTo(current);
            Unfilter(line[0], current, previous, bytesPerPixel, name, y);
            var row = image.Row(y);
            for (var x = 0; x < width; x++)
            {
                int Sample(int channel) => depth switch
                {
                    16 => BinaryPrimitives.ReadUInt16BigEndian(current.AsSpan(2 * (x * channels + channel))),
                    8 => current[x * channels + channel],
                    _ => (current[x * depth / 8] >> (8 - depth - x * depth % 8)) & ((1 << depth) - 1),
                };
                var value = Sample(0);
                if (colour == 3 && 3 * value + 2 >= palette!.Length) throw Fail(name, $"pixel x={x}, y={y} uses palette entry {value}, past the palette's end");
                if (colour is 2 or 6 && (Sample(1) != value || Sample(2) != value)) colourPixelSeen = true;
                row[x] = (ushort)value;
            }
            (previous, current) = (current, previous);
        }
        if (colourPixelSeen) throw Fail(name, "is a colour image; greyscale images (or colour images with R = G = B) only");
        return (image, depth == 16 ? 16 : 8);
    }

    /// <summary>Writes 8-bit grey (<paramref name="bitDepth"/> 8, values ≤ 255) or 16-bit grey.</summary>
    public static void Write(string path, Image2D<ushort> image, int bitDepth)
    {
        if (bitDepth is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(bitDepth), bitDepth, "8 or 16");
        if (bitDepth == 8 && image.Pixels.AsSpan().IndexOfAnyInRange((ushort)256, ushort.MaxValue) >= 0)
            throw new ArgumentException("values above 255 do not fit an 8-bit PNG", nameof(image));
        var stride = image.Width * bitDepth / 8;
        var bytes = Encode(image.Height, image.Width, bitDepth, colourType: 0, stride, (y, line) =>
        {
            var row = image.Row(y);
            for (var x = 0; x < image.Width; x++)
                if (bitDepth == 8) line[x] = (byte)row[x];
                else BinaryPrimitives.WriteUInt16BigEndian(line[(2 * x)..], row[x]);
        });
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>An 8-bit RGB PNG (colour type 2) of <paramref name="rgb"/>: rows top to bottom, 3 bytes a pixel.</summary>
    public static byte[] EncodeRgb(byte[] rgb, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (rgb.LongLength != 3L * height * width)
            throw new ArgumentException($"{rgb.LongLength} bytes for {height}x{width} RGB pixels (needs {3L * height * width})", nameof(rgb));
        var stride = 3 * width;
        return Encode(height, width, 8, colourType: 2, stride, (y, line) => rgb.AsSpan(y * stride, stride).CopyTo(line));
    }

    private delegate void FillLine(int y, Span<byte> line);

    /// <summary>Signature, IHDR, one IDAT (every line with filter type 0, deflated), IEND.</summary>
    private static byte[] Encode(int height, int width, int bitDepth, byte colourType, int stride, FillLine fill)
    {
        using var pixels = new MemoryStream();
        using (var deflate = new ZLibStream(pixels, CompressionLevel.Fastest, leaveOpen: true))
        {
            var line = new byte[stride + 1];
            for (var y = 0; y < height; y++)
            {
                fill(y, line.AsSpan(1));
                deflate.Write(line);
            }
        }
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = (byte)bitDepth;
        header[9] = colourType;
        using var file = new MemoryStream();
        file.Write(Signature);
        WriteChunk(file, "IHDR", header);
        WriteChunk(file, "IDAT", pixels.ToArray());
        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        var typed = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typed);
        data.CopyTo(typed, 4);
        stream.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc(typed));
        stream.Write(word);
    }

    /// <summary>Undoes a scanline's filter (PNG spec §9) in place, given the unfiltered previous line.</summary>
    private static void Unfilter(byte filter, Span<byte> line, ReadOnlySpan<byte> previous, int bpp, string name, int y)
    {
        switch (filter)
        {
            case 0:
                return;
            case 1:
                for (var i = bpp; i < line.Length; i++) line[i] += line[i - bpp];
                return;
            case 2:
                for (var i = 0; i < line.Length; i++) line[i] += previous[i];
                return;
            case 3:
                for (var i = 0; i < line.Length; i++) line[i] += (byte)(((i >= bpp ? line[i - bpp] : 0) + previous[i]) >> 1);
                return;
            case 4:
                for (var i = 0; i < line.Length; i++)
                {
                    int a = i >= bpp ? line[i - bpp] : 0, b = previous[i], c = i >= bpp ? previous[i - bpp] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    line[i] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                }
                return;
            default:
                throw Fail(name, $"row {y} has an unknown filter type {filter}");
        }
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The CRC-32 of PNG's Annex D (that of zlib and Ethernet).</summary>
    private static uint Crc(ReadOnlySpan<byte> bytes)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in bytes) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    private static InvalidDataException Fail(string name, string what) => new($"{name}: {what}");
}
