using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

public sealed class TiffStackTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_root.Path, name)).FullName;

    private static Image2D<byte> Slice8(int height, int width, int seed)
    {
        var image = new Image2D<byte>(height, width);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                image[y, x] = (byte)((x * 3 + y * 5 + seed * 17) % 256);
        return image;
    }

    private static Image2D<ushort> Slice16(int height, int width, int seed)
    {
        var image = new Image2D<ushort>(height, width);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                image[y, x] = (ushort)((x * 301 + y * 7 + seed * 1009) % 65536);
        return image;
    }

    [Fact]
    public void NaturalComparer_OrdersNumbersByValue()
    {
        string[] names = ["slice10.tif", "slice2.tif", "Slice1.tif", "slice002b.tif", "slice_0100.tif", "a.tif"];
        Assert.Equal(["a.tif", "Slice1.tif", "slice2.tif", "slice002b.tif", "slice10.tif", "slice_0100.tif"],
            names.Order(NaturalFileNameComparer.Instance));
    }

    /// <summary>FEI files saved with the data bar are taller than [Image] ResolutionY; the bar's rows are not specimen.</summary>
    [Fact]
    public void FeiDataBarRowsBelowTheScannedImageAreNotRead()
    {
        var folder = Folder("databar");
        PythonOracle.Run("""
            import sys, numpy as np, tifffile
            folder = sys.argv[1]
            fei = '[Image]\r\nResolutionX=10\r\nResolutionY=6\r\n[Scan]\r\nPixelWidth=4e-08\r\nPixelHeight=4e-08\r\n'
            for i in range(3):
                image = (np.arange(8 * 10).reshape(8, 10) + i * 100).astype(np.uint16)
                image[6:, :] = 65535  # the data bar
                tifffile.imwrite(f"{folder}/slice_{i:04d}.tif", image, photometric="minisblack", extratags=[(34682, 's', 0, fei, False)])
            stack = np.stack([np.vstack([np.full((6, 10), i, np.uint8), np.full((2, 10), 255, np.uint8)]) for i in range(4)])
            tifffile.imwrite(f"{folder}/../databar-multi.tif", stack, photometric="minisblack", extratags=[(34682, 's', 0, fei, False)])
            """, folder);

        var info = TiffStackReader.Probe(folder);
        Assert.Equal((6, 10, 2), (info.Height, info.Width, info.DataBarRows));
        var slice = TiffStackReader.ReadSlice(info, 2);
        Assert.Equal((6, 10), (slice.Height, slice.Width));
        Assert.Equal((ushort)(5 * 10 + 9 + 200), slice[5, 9]);

        var multi = TiffStackReader.Probe(Path.Combine(_root.Path, "databar-multi.tif"));
        Assert.Equal((6, 2), (multi.Height, multi.DataBarRows));
        Assert.All(TiffStackReader.ReadSlice(multi, 3).Pixels, v => Assert.Equal(3, v));

        // The first slice's shape without its data bar, and the slice count without reading pixels: the folder's files, the multi-page file's pages.
        Assert.Equal((3, 6, 10), TiffStackReader.FirstSliceShapeAndCount(folder));
        Assert.Equal((4, 6, 10), TiffStackReader.FirstSliceShapeAndCount(Path.Combine(_root.Path, "databar-multi.tif")));
    }

    /// <summary>
    /// Sizing a job reads the first slice's header only: a later slice that ingest will refuse does not stop it (nor is it
    /// opened), and the first slice is the one of natural name order.
    /// </summary>
    [Fact]
    public void First_slice_shape_reads_the_first_file_of_natural_order_and_no_other()
    {
        var folder = Folder("first-shape");
        TiffSliceWriter.Write(Path.Combine(folder, "slice_2.tif"), Slice8(512 / 32, 384 / 32, 0), VoxelSize.Isotropic(10));
        TiffSliceWriter.Write(Path.Combine(folder, "slice_10.tif"), Slice8(480 / 32, 512 / 32, 1), VoxelSize.Isotropic(10));
        File.WriteAllText(Path.Combine(folder, "slice_11.tif"), "not an image");

        Assert.Equal((3, 16, 12), TiffStackReader.FirstSliceShapeAndCount(folder));
        Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder));
        Assert.Contains("no such file", Assert.Throws<TiffStackException>(() => TiffStackReader.FirstSliceShapeAndCount(Path.Combine(folder, "x"))).Message);
        Assert.Contains("no .tif or .tiff files", Assert.Throws<TiffStackException>(() => TiffStackReader.FirstSliceShapeAndCount(Folder("first-shape-empty"))).Message);
    }

    /// <summary>A cross-section imaged at the 52° stage tilt without tilt correction is foreshortened by sin 52° in y.</summary>
    [Theory]
    [InlineData("no", "0.907571", 40 / 0.788010753606722, VoxelSizeSource.FeiMetadataCrossSectionCorrected)]
    [InlineData("yes", "0.907571", 40.0, VoxelSizeSource.FeiMetadata)]
    [InlineData("no", "0", 40.0, VoxelSizeSource.FeiMetadata)]
    public void FeiCrossSectionWithoutTiltCorrectionHasItsRowsStretched(string tiltCorrection, string stageTiltRad, double expectedYNm, VoxelSizeSource expectedSource)
    {
        var folder = Folder($"tilt-{tiltCorrection}-{stageTiltRad}");
        PythonOracle.Run("""
            import sys, numpy as np, tifffile
            fei = f'[Scan]\r\nPixelWidth=4e-08\r\nPixelHeight=4e-08\r\n[EBeam]\r\nTiltCorrectionIsOn={sys.argv[2]}\r\nStageTa={sys.argv[3]}\r\n'
            tifffile.imwrite(f"{sys.argv[1]}/s0.tif", np.zeros((8, 10), np.uint8), photometric="minisblack", extratags=[(34682, 's', 0, fei, False)])
            """, folder, tiltCorrection, stageTiltRad);

        var info = TiffStackReader.Probe(folder);

        Assert.Equal(expectedSource, info.VoxelSizeSource);
        Assert.Equal(40, info.DetectedVoxelSize!.XNm, 6);
        Assert.Equal(expectedYNm, info.DetectedVoxelSize.YNm, 6);
    }

    [Fact]
    public void FeiResolutionMatchingTheFileMeansNoDataBar()
    {
        Assert.Equal((1024, 884), MicroscopeMetadata.ParseFeiResolution("[User]\r\nDate=x\r\n[Image]\r\nDriftCorrected=On\r\nResolutionX=1024\r\nResolutionY=884\r\n"));
        Assert.Null(MicroscopeMetadata.ParseFeiResolution("[Scan]\r\nResolutionX=1024\r\nResolutionY=884\r\n"));
        var folder = Folder("nobar");
        PythonOracle.Run("""
            import sys, numpy as np, tifffile
            fei = '[Image]\r\nResolutionX=10\r\nResolutionY=8\r\n'
            tifffile.imwrite(f"{sys.argv[1]}/s0.tif", np.zeros((8, 10), np.uint8), photometric="minisblack", extratags=[(34682, 's', 0, fei, False)])
            """, folder);
        var info = TiffStackReader.Probe(folder);
        Assert.Equal((8, 0), (info.Height, info.DataBarRows));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Folder8Bit_IsProbedInNaturalOrderAndReadBack(bool deflate)
    {
        var folder = Folder("stack8");
        var voxel = new VoxelSize(50, 50, 50);
        // Contiguous numbers (a gap is a missing slice), whose natural order differs from their ordinal order.
        foreach (var index in new[] { 10, 9, 8 })
            TiffSliceWriter.Write(Path.Combine(folder, $"slice{index}.tif"), Slice8(7, 9, index), voxel, deflate);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not a slice");
        File.WriteAllBytes(Path.Combine(folder, "._slice3.tif"), [0, 1, 2]);

        var info = TiffStackReader.Probe(folder);
        Assert.Equal(["slice8.tif", "slice9.tif", "slice10.tif"], info.Files.Select(Path.GetFileName));
        Assert.False(info.IsMultiPage);
        Assert.Equal((3, 7, 9, 8), (info.SliceCount, info.Height, info.Width, info.BitsPerSample));
        Assert.Equal(VoxelSizeSource.FeiMetadata, info.VoxelSizeSource);
        Assert.Equal(50, info.DetectedVoxelSize!.XNm, 6);

        var slice = TiffStackReader.ReadSlice(info, 2);
        Assert.Equal(Slice8(7, 9, 10).Pixels.Select(v => (ushort)v), slice.Pixels);
    }

    [Theory]
    [InlineData(new[] { 0, 1, 3, 4 }, "img_3.tif: slice numbers jump from 1 (img_1.tif) to 3, so 1 slice(s) are missing")]
    [InlineData(new[] { 0, 20, 40, 80 }, "img_80.tif: slice numbers jump from 40 (img_40.tif) to 80, so 1 slice(s) are missing")]
    [InlineData(new[] { 0, 10, 20, 30 }, null)]
    [InlineData(new[] { 0, 13, 27, 40 }, null)]
    public void Folder_WithASliceNumberLeftOut_NamesTheFileAfterTheGap(int[] numbers, string? expected)
    {
        var folder = Folder("numbered");
        foreach (var n in numbers)
            TiffSliceWriter.Write(Path.Combine(folder, $"img_{n}.tif"), Slice8(5, 6, n), new VoxelSize(50, 50, 50));
        if (expected is null)
            Assert.Equal(numbers.Length, TiffStackReader.Probe(folder).SliceCount);
        else
            Assert.StartsWith(expected, Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder)).Message);
    }

    [Fact]
    public void Folder_WithTwoFilesOfTheSameSliceNumber_IsRejected()
    {
        var folder = Folder("duplicate");
        foreach (var name in new[] { "s_0000.tif", "s_0001.tif", "s_1.tif", "s_0002.tif" })
            TiffSliceWriter.Write(Path.Combine(folder, name), Slice8(5, 6, 1), new VoxelSize(50, 50, 50));
        var error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder));
        Assert.Equal("s_1.tif", error.FileName);
        Assert.Contains("s_1.tif and s_0001.tif both carry slice number 1", error.Message);
    }

    [Fact]
    public void Folder_WithAMultiPageFileAmongSlices_IsRejectedNotReadAsItsFirstPage()
    {
        var folder = Folder("mixed");
        var voxel = new VoxelSize(50, 50, 50);
        TiffSliceWriter.Write(Path.Combine(folder, "s_0.tif"), Slice8(5, 6, 0), voxel);
        TiffSliceWriter.WriteMultiPage(Path.Combine(folder, "s_1.tif"), [Slice8(5, 6, 1), Slice8(5, 6, 2)], voxel);
        var error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder));
        Assert.Equal(("s_1.tif", true), (error.FileName, error.Message.StartsWith("s_1.tif: has 2 pages", StringComparison.Ordinal)));
    }

    [Fact]
    public void Folder16Bit_RoundTripsValuesAndPixelSize()
    {
        var folder = Folder("stack16");
        var voxel = new VoxelSize(XNm: 4.961, YNm: 6.25, ZNm: 10);
        for (var i = 0; i < 3; i++)
            TiffSliceWriter.Write(Path.Combine(folder, $"img_{i:000}.tiff"), Slice16(5, 6, i), voxel, deflate: i == 1);
        var info = TiffStackReader.Probe(folder);
        Assert.Equal(16, info.BitsPerSample);
        Assert.Equal(4.961, info.DetectedVoxelSize!.XNm, 6);
        Assert.Equal(6.25, info.DetectedVoxelSize.YNm, 6);
        Assert.Equal(4.961, info.DetectedVoxelSize.ZNm, 6);
        for (var i = 0; i < 3; i++)
            Assert.Equal(Slice16(5, 6, i).Pixels, TiffStackReader.ReadSlice(info, i).Pixels);
    }

    [Fact]
    public void MultiPageFile_IsOneSlicePerPage()
    {
        var file = Path.Combine(_root.Path, "stack.tif");
        TiffSliceWriter.WriteMultiPage(file, Enumerable.Range(0, 4).Select(i => Slice8(6, 5, i)), VoxelSize.Isotropic(20));
        var info = TiffStackReader.Probe(file);
        Assert.True(info.IsMultiPage);
        Assert.Equal(4, info.SliceCount);
        Assert.Equal(20, info.DetectedVoxelSize!.XNm, 6);
        for (var i = 0; i < 4; i++)
            Assert.Equal(Slice8(6, 5, i).Pixels.Select(v => (ushort)v), TiffStackReader.ReadSlice(info, i).Pixels);
    }

    [Fact]
    public void TifffileWrittenFeiTag_IsReadWithItsPixelSize()
    {
        var folder = Folder("tifffile");
        PythonOracle.Run("""
            import sys, numpy as np, tifffile
            folder = sys.argv[1]
            fei = '[User]\r\nDate=01/02/2024\r\n[Scan]\r\nInternalScan=1\r\nPixelWidth=4e-08\r\nPixelHeight=4.5e-08\r\nHorFieldsize=1e-05\r\n[EBeam]\r\nHV=2000\r\n'
            for i in range(3):
                image = ((np.arange(8 * 10).reshape(8, 10) * 13 + i * 1000) % 65536).astype(np.uint16)
                tifffile.imwrite(f"{folder}/slice_{i:04d}.tif", image, photometric="minisblack",
                                 extratags=[(34682, 's', 0, fei, False)])
            tifffile.imwrite(f"{folder}/../multi.tif", np.stack([np.full((4, 3), i, np.uint8) for i in range(5)]),
                             photometric="minisblack", resolution=(1e7 / 12.5, 1e7 / 12.5), resolutionunit="CENTIMETER")
            """, folder);

        var info = TiffStackReader.Probe(folder);
        Assert.Equal(VoxelSizeSource.FeiMetadata, info.VoxelSizeSource);
        Assert.Equal(40, info.DetectedVoxelSize!.XNm, 6);
        Assert.Equal(45, info.DetectedVoxelSize.YNm, 6);
        Assert.Equal(40, info.DetectedVoxelSize.ZNm, 6);
        var slice = TiffStackReader.ReadSlice(info, 2);
        Assert.Equal((ushort)((7 * 10 + 9) * 13 + 2000), slice[7, 9]);

        var multi = TiffStackReader.Probe(Path.Combine(_root.Path, "multi.tif"));
        Assert.Equal(5, multi.SliceCount);
        Assert.Equal(VoxelSizeSource.TiffResolution, multi.VoxelSizeSource);
        Assert.Equal(12.5, multi.DetectedVoxelSize!.XNm, 3);
        Assert.Equal(4, TiffStackReader.ReadSlice(multi, 4)[3, 2]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OurSlices_AreReadByTifffileWithFeiTagAndResolution(bool deflate)
    {
        var file = Path.Combine(_root.Path, "ours.tif");
        TiffSliceWriter.Write(file, Slice16(5, 6, 3), new VoxelSize(XNm: 50, YNm: 40, ZNm: 100), deflate);
        var output = PythonOracle.Run("""
            import sys, tifffile
            with tifffile.TiffFile(sys.argv[1]) as tif:
                page = tif.pages[0]
                data = page.asarray()
                print(data.dtype, data.shape, int(data.astype("int64").sum()), int(data[4, 5]))
                fei = page.tags[34682].value  # tifffile parses FEI INI text into a dict
                print(tif.is_fei, fei["Scan"]["PixelWidth"], fei["Scan"]["PixelHeight"])
                x = page.tags["XResolution"].value
                print(page.tags["ResolutionUnit"].value, x[0] / x[1])
            """, file);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var expected = Slice16(5, 6, 3);
        Assert.Equal($"uint16 (5, 6) {expected.Pixels.Sum(v => (long)v)} {expected[4, 5]}", lines[0].Trim());
        Assert.Equal("True 5e-08 4e-08", lines[1].Trim());
        Assert.Equal("3 200000.0", lines[2].Trim());
    }

    [Fact]
    public void MismatchedDimensions_NamesBothFiles()
    {
        var folder = Folder("mismatch");
        TiffSliceWriter.Write(Path.Combine(folder, "slice_0000.tif"), Slice8(512 / 32, 512 / 32, 0), VoxelSize.Isotropic(10));
        TiffSliceWriter.Write(Path.Combine(folder, "slice_0001.tif"), Slice8(480 / 32, 512 / 32, 1), VoxelSize.Isotropic(10));
        var error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder));
        Assert.Equal("slice_0001.tif: 16x15 pixels, expected 16x16 like slice_0000.tif", error.Message);
        Assert.Equal("slice_0001.tif", error.FileName);
    }

    [Fact]
    public void MixedBitDepth_IsRejected()
    {
        var folder = Folder("bits");
        TiffSliceWriter.Write(Path.Combine(folder, "s1.tif"), Slice8(4, 4, 0), VoxelSize.Isotropic(10));
        TiffSliceWriter.Write(Path.Combine(folder, "s2.tif"), Slice16(4, 4, 0), VoxelSize.Isotropic(10));
        var error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder));
        Assert.Contains("s2.tif", error.Message);
        Assert.Contains("16-bit", error.Message);
    }

    [Fact]
    public void TruncatedFiles_AreReportedByName()
    {
        // LibTiff writes its directory after the pixels: cutting the file loses the directory.
        var folder = Folder("truncated");
        var ours = Path.Combine(folder, "slice_0001.tif");
        TiffSliceWriter.Write(Path.Combine(folder, "slice_0000.tif"), Slice8(64, 64, 0), VoxelSize.Isotropic(10));
        TiffSliceWriter.Write(ours, Slice8(64, 64, 1), VoxelSize.Isotropic(10));
        Truncate(ours, 2000);
        var error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder));
        Assert.StartsWith("slice_0001.tif:", error.Message);

        // tifffile writes the directory first: cutting the file loses pixel data behind an intact header.
        var pythonFolder = Folder("truncated-python");
        PythonOracle.Run("""
            import sys, numpy as np, tifffile
            tifffile.imwrite(sys.argv[1] + "/a.tif", np.ones((64, 64), np.uint16), photometric="minisblack")
            """, pythonFolder);
        Truncate(Path.Combine(pythonFolder, "a.tif"), 3000);
        error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(pythonFolder));
        Assert.StartsWith("a.tif: truncated", error.Message);
    }

    private static void Truncate(string file, int length)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }

    [Fact]
    public void NotATiff_AndEmptyFile_AreReportedByName()
    {
        var folder = Folder("garbage");
        File.WriteAllText(Path.Combine(folder, "slice1.tif"), "this is a text file, not an image");
        var error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder));
        Assert.StartsWith("slice1.tif: not a readable TIFF", error.Message);

        var empty = Folder("empty-file");
        File.WriteAllBytes(Path.Combine(empty, "slice1.tif"), []);
        error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(empty));
        Assert.Equal("slice1.tif: file is empty (0 bytes)", error.Message);
    }

    [Fact]
    public void EmptyFolder_AndMissingPath_AreReported()
    {
        var folder = Folder("nothing");
        Assert.Contains("no .tif or .tiff files", Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder)).Message);
        Assert.Contains("no such file", Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(Path.Combine(folder, "x"))).Message);
    }

    [Theory]
    [InlineData("rgb", "samples per pixel")]
    [InlineData("float32", "floating-point")]
    [InlineData("int16", "signed")]
    [InlineData("bool", "1-bit")]
    [InlineData("uint32", "32-bit")]
    public void UnsupportedPixelFormats_AreRejectedWithAReason(string kind, string reason)
    {
        var folder = Folder("format-" + kind);
        PythonOracle.Run("""
            import sys, numpy as np, tifffile
            folder, kind = sys.argv[1], sys.argv[2]
            if kind == "rgb":
                tifffile.imwrite(folder + "/colour.tif", np.zeros((8, 8, 3), np.uint8), photometric="rgb")
            elif kind == "bool":
                tifffile.imwrite(folder + "/colour.tif", np.zeros((8, 8), bool), photometric="minisblack")
            else:
                tifffile.imwrite(folder + "/colour.tif", np.zeros((8, 8), kind), photometric="minisblack")
            """, folder, kind);
        var error = Assert.Throws<TiffStackException>(() => TiffStackReader.Probe(folder));
        Assert.StartsWith("colour.tif:", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void SourceFiles_AreNotModifiedByReading()
    {
        var folder = Folder("readonly");
        var file = Path.Combine(folder, "s.tif");
        TiffSliceWriter.Write(file, Slice8(4, 4, 0), VoxelSize.Isotropic(10));
        var before = File.ReadAllBytes(file);
        var stamp = File.GetLastWriteTimeUtc(file);
        File.SetAttributes(file, FileAttributes.ReadOnly);
        var info = TiffStackReader.Probe(folder);
        TiffStackReader.ReadSlice(info, 0);
        Assert.Equal(before, File.ReadAllBytes(file));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(file));
    }

    [Fact]
    public void MicroscopeMetadata_ParsesFeiAndZeissText()
    {
        Assert.Equal((50.0, 50.0), MicroscopeMetadata.ParseFeiPixelSize("[Scan]\r\nPixelWidth=5e-08\r\nPixelHeight=5e-08\r\n")!.Value);
        Assert.Null(MicroscopeMetadata.ParseFeiPixelSize("[EScan]\r\nPixelWidth=5e-08\r\n"));
        Assert.Null(MicroscopeMetadata.ParseFeiPixelSize("[Scan]\r\nPixelWidth=0\r\n"));
        Assert.Equal(4.961, MicroscopeMetadata.ParseZeissPixelSize("AP_IMAGE_PIXEL_SIZE\r\nImage Pixel Size = 4.961 nm\r\n")!.Value, 6);
        Assert.Equal(1500, MicroscopeMetadata.ParseZeissPixelSize("Image Pixel Size = 1.5 µm")!.Value, 6);
    }

    [Fact]
    public void MicroscopeMetadata_KeepsTheInstrumentKeysForProvenanceVerbatim()
    {
        const string fei = "[User]\r\nDate=11/30/2026\r\n[System]\r\nType=DualBeam\r\nDnumber=D9999\r\n[Beam]\r\nHV=2000\r\n"
            + "[Scan]\r\nPixelWidth=5e-09\r\nPixelHeight=5e-09\r\nInternalScan=true\r\n[Image]\r\nResolutionX=3072\r\n";
        Assert.Equal(new Dictionary<string, string>
        {
            ["[Beam] HV"] = "2000", ["[Image] ResolutionX"] = "3072", ["[Scan] PixelHeight"] = "5e-09", ["[Scan] PixelWidth"] = "5e-09",
            ["[System] Dnumber"] = "D9999", ["[System] Type"] = "DualBeam", ["[User] Date"] = "11/30/2026",
        }, MicroscopeMetadata.FeiProvenance(fei));

        const string zeiss = "AP_IMAGE_PIXEL_SIZE\r\nImage Pixel Size = 4.961 nm\r\nAP_MAG\r\nMag = 25.00 K X\r\nAP_FREE\r\nUser Text = x\r\n";
        Assert.Equal(new Dictionary<string, string> { ["Image Pixel Size"] = "4.961 nm", ["Mag"] = "25.00 K X" },
            MicroscopeMetadata.ZeissProvenance(zeiss));
    }

    [Fact]
    public void Probe_hands_on_the_first_slices_instrument_keys()
    {
        var folder = Folder("instrument");
        TiffSliceWriter.Write(Path.Combine(folder, "s0.tif"), new Image2D<byte>(4, 4), VoxelSize.Isotropic(20));
        var info = TiffStackReader.Probe(folder);
        Assert.Equal(new Dictionary<string, string> { ["[Scan] PixelHeight"] = "2e-08", ["[Scan] PixelWidth"] = "2e-08" }, info.InstrumentMetadata);
    }
}
