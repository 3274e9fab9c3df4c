using System.Globalization;
using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;
using SsbTomo.Imaging;

namespace SsbTomo.Storage;

/// <summary>
/// Writes greyscale slices the way an FEI/ThermoFisher Auto Slice &amp; View run does: pixel size in the FEI tag 34682
/// ([Scan] PixelWidth/PixelHeight in metres) and in the standard resolution tags (pixels per centimetre).
/// Used by the phantom generator and tests.
/// </summary>
public static class TiffSliceWriter
{
    public static void Write(string path, Image2D<byte> image, VoxelSize voxelSize, bool deflate = false) =>
        WritePages(path, [Page.Of(image)], voxelSize, deflate);

    public static void Write(string path, Image2D<ushort> image, VoxelSize voxelSize, bool deflate = false) =>
        WritePages(path, [Page.Of(image)], voxelSize, deflate);

    public static void WriteMultiPage(string path, IEnumerable<Image2D<byte>> images, VoxelSize voxelSize, bool deflate = false) =>
        WritePages(path, [.. images.Select(Page.Of)], voxelSize, deflate);

    public static void WriteMultiPage(string path, IEnumerable<Image2D<ushort>> images, VoxelSize voxelSize, bool deflate = false) =>
        WritePages(path, [.. images.Select(Page.Of)], voxelSize, deflate);

    /// <summary>The INI text FEI microscopes store in tag 34682 (only the [Scan] pixel size is written).</summary>
    public static string FeiMetadataText(VoxelSize voxelSize)
    {
        ArgumentNullException.ThrowIfNull(voxelSize);
        return $"[Scan]\r\nPixelWidth={Metres(voxelSize.XNm)}\r\nPixelHeight={Metres(voxelSize.YNm)}\r\n";
    }

    private static string Metres(double nm) => (nm * 1e-9).ToString("0.##########e-00", CultureInfo.InvariantCulture);

    private sealed record Page(int Height, int Width, int BitsPerSample, Func<int, byte[]> Row)
    {
        public static Page Of(Image2D<byte> image) => new(image.Height, image.Width, 8, y => image.Row(y).ToArray());

        public static Page Of(Image2D<ushort> image) =>
            new(image.Height, image.Width, 16, y => MemoryMarshal.AsBytes(image.Row(y)).ToArray());
    }

    private static void WritePages(string path, IReadOnlyList<Page> pages, VoxelSize voxelSize, bool deflate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(voxelSize);
        if (pages.Count == 0)
            throw new ArgumentException("at least one image is needed", nameof(pages));

        using var errors = LibTiffSupport.CaptureErrors();
        using var tiff = Tiff.Open(path, "w") ?? throw new IOException($"{path}: cannot create TIFF ({errors.Describe()})");
        var feiText = FeiMetadataText(voxelSize);
        for (var index = 0; index < pages.Count; index++)
        {
            var page = pages[index];
            tiff.SetField(TiffTag.IMAGEWIDTH, page.Width);
            tiff.SetField(TiffTag.IMAGELENGTH, page.Height);
            tiff.SetField(TiffTag.BITSPERSAMPLE, page.BitsPerSample);
            tiff.SetField(TiffTag.SAMPLESPERPIXEL, 1);
            tiff.SetField(TiffTag.SAMPLEFORMAT, SampleFormat.UINT);
            tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
            tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
            tiff.SetField(TiffTag.COMPRESSION, deflate ? Compression.ADOBE_DEFLATE : Compression.NONE);
            var rowBytes = page.Width * page.BitsPerSample / 8;
            tiff.SetField(TiffTag.ROWSPERSTRIP, Math.Max(1, Math.Min(page.Height, 65_536 / Math.Max(1, rowBytes))));
            tiff.SetField(TiffTag.RESOLUTIONUNIT, ResUnit.CENTIMETER);
            tiff.SetField(TiffTag.XRESOLUTION, 1e7 / voxelSize.XNm);
            tiff.SetField(TiffTag.YRESOLUTION, 1e7 / voxelSize.YNm);
            tiff.SetField(TiffTag.SOFTWARE, "SsbTomo");
            tiff.SetField(LibTiffSupport.FeiMetadataTag, feiText);
            if (pages.Count > 1)
            {
                tiff.SetField(TiffTag.SUBFILETYPE, FileType.PAGE);
                tiff.SetField(TiffTag.PAGENUMBER, index, pages.Count);
            }
            for (var y = 0; y < page.Height; y++)
            {
                if (!tiff.WriteScanline(page.Row(y), y))
                    throw new IOException($"{path}: writing row {y} of page {index} failed ({errors.Describe()})");
            }
            if (!tiff.WriteDirectory())
                throw new IOException($"{path}: writing page {index} failed ({errors.Describe()})");
        }
    }
}
