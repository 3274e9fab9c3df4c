using System.Runtime.InteropServices;
using SsbTomo.Imaging;
using SsbTomo.Storage.Images;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

public sealed class PngImageTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string PathOf(string name) => Path.Combine(_dir.Path, name);

    /// <summary>PIL writes each kind of PNG (with its own adaptive row filters) and the raw values numpy saw.</summary>
    private void WriteWithPil()
    {
        PythonOracle.Run("""
            import sys, numpy as np
            from PIL import Image
            d = sys.argv[1]
            r = np.random.default_rng(3)
            a8 = (r.integers(0, 256, (37, 53)) // 3 + np.arange(53)[None, :]).astype(np.uint8)
            a16 = (r.integers(0, 65536, (41, 29)) // 2 + np.arange(29)[None, :] * 1000).astype(np.uint16)
            Image.fromarray(a8).save(d + '/grey8.png', optimize=True)
            a8.astype('<u2').tofile(d + '/grey8.raw')
            Image.fromarray(a16).save(d + '/grey16.png')
            a16.astype('<u2').tofile(d + '/grey16.raw')
            labels = (r.integers(0, 4, (20, 30))).astype(np.uint8)
            p = Image.fromarray(labels, mode='P'); p.putpalette([0,0,0, 255,0,0, 0,255,0, 0,0,255]); p.save(d + '/palette.png')
            labels.astype('<u2').tofile(d + '/palette.raw')
            Image.fromarray(np.stack([a8, a8, a8], axis=-1)).save(d + '/rgbgrey.png')
            Image.fromarray(np.stack([a8, a8, 255 - a8], axis=-1)).save(d + '/colour.png')
            b = (r.integers(0, 2, (9, 13)) > 0)
            Image.fromarray(b).save(d + '/bits.png')
            b.astype('<u2').tofile(d + '/bits.raw')
            """, _dir.Path);
    }

    private ushort[] Raw(string name) => MemoryMarshal.Cast<byte, ushort>(File.ReadAllBytes(PathOf(name))).ToArray();

    [Fact]
    public void Reads_what_PIL_writes_8_and_16_bit_grey_palette_1_bit_and_grey_saved_as_RGB()
    {
        WriteWithPil();
        var (grey8, depth8) = PngImage.Read(PathOf("grey8.png"));
        Assert.Equal((37, 53, 8), (grey8.Height, grey8.Width, depth8));
        Assert.Equal(Raw("grey8.raw"), grey8.Pixels);
        var (grey16, depth16) = PngImage.Read(PathOf("grey16.png"));
        Assert.Equal((41, 29, 16), (grey16.Height, grey16.Width, depth16));
        Assert.Equal(Raw("grey16.raw"), grey16.Pixels);
        Assert.Equal(Raw("palette.raw"), PngImage.Read(PathOf("palette.png")).Image.Pixels);
        Assert.Equal(Raw("bits.raw"), PngImage.Read(PathOf("bits.png")).Image.Pixels);
        Assert.Equal(Raw("grey8.raw"), PngImage.Read(PathOf("rgbgrey.png")).Image.Pixels);
        Assert.Contains("colour image", Assert.Throws<InvalidDataException>(() => PngImage.Read(PathOf("colour.png"))).Message);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void What_it_writes_PIL_reads_back_unchanged(int bitDepth)
    {
        var random = new Random(bitDepth);
        var image = new Image2D<ushort>(23, 31);
        for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (ushort)random.Next(0, 1 << bitDepth);
        PngImage.Write(PathOf("ours.png"), image, bitDepth);
        PythonOracle.Run("""
            import sys, numpy as np
            from PIL import Image
            np.asarray(Image.open(sys.argv[1] + '/ours.png')).astype('<u2').tofile(sys.argv[1] + '/ours.raw')
            """, _dir.Path);
        Assert.Equal(image.Pixels, Raw("ours.raw"));
        Assert.Equal(image.Pixels, PngImage.Read(PathOf("ours.png")).Image.Pixels);
    }

    [Fact]
    public void Damaged_files_are_refused_with_the_file_named()
    {
        var image = new Image2D<ushort>(16, 16);
        PngImage.Write(PathOf("good.png"), image, 8);
        var bytes = File.ReadAllBytes(PathOf("good.png"));
        File.WriteAllBytes(PathOf("cut.png"), bytes[..(bytes.Length - 20)]);
        Assert.StartsWith("cut.png: is truncated", Assert.Throws<InvalidDataException>(() => PngImage.Read(PathOf("cut.png"))).Message);
        var flipped = (byte[])bytes.Clone();
        flipped[40] ^= 0xFF; // inside IDAT: the chunk's checksum no longer matches
        File.WriteAllBytes(PathOf("flipped.png"), flipped);
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => PngImage.Read(PathOf("flipped.png"))).Message);
        File.WriteAllText(PathOf("text.png"), "not an image");
        Assert.Contains("not a PNG", Assert.Throws<InvalidDataException>(() => PngImage.Read(PathOf("text.png"))).Message);
    }
}
