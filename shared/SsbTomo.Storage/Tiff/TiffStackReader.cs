using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;
using SsbTomo.Imaging;

namespace SsbTomo.Storage;

/// <summary>
/// Reads serial-section stacks: a folder of one TIFF per slice (natural name order) or one multi-page TIFF.
/// Only 8/16-bit unsigned single-sample greyscale is accepted. Source files are opened read-only and never changed.
/// </summary>
public static partial class TiffStackReader
{
    public const int MaxSide = 65_536;
    public const int MaxSlices = 100_000;

    private static readonly string[] TiffExtensions = [".tif", ".tiff"];

    public static TiffStackInfo Probe(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
            return ProbeFolder(path);
        if (File.Exists(path))
            return ProbeMultiPage(path);
        throw new TiffStackException($"{path}: no such file or folder", Path.GetFileName(path));
    }

    /// <summary>Slice <paramref name="index"/> as 16-bit values; 8-bit data is widened unchanged (0..255).</summary>
    public static Image2D<ushort> ReadSlice(TiffStackInfo info, int index)
    {
        ArgumentNullException.ThrowIfNull(info);
        var image = new Image2D<ushort>(info.Height, info.Width);
        ReadSliceInto(info, index, image.Pixels);
        return image;
    }

    /// <summary>
    /// As <see cref="ReadSlice"/>, into <paramref name="target"/> (<see cref="TiffStackInfo.Height"/> rows of
    /// <see cref="TiffStackInfo.Width"/> pixels, each written): a slab's slice decoded in place, no slice-sized array per slice.
    /// </summary>
    public static void ReadSliceInto(TiffStackInfo info, int index, Span<ushort> target)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (target.Length != info.Height * info.Width)
            throw new ArgumentException($"a slice of {info.Height}x{info.Width} pixels into {target.Length}", nameof(target));
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, info.SliceCount);
        var file = info.IsMultiPage ? info.Files[0] : info.Files[index];
        var page = info.IsMultiPage ? index : 0;
        var label = info.IsMultiPage ? $"{Path.GetFileName(file)} page {page}" : Path.GetFileName(file);

        using var errors = LibTiffSupport.CaptureErrors();
        using var stream = OpenReadOnly(file);
        using var tiff = OpenTiff(file, stream, errors);
        if (page > 0 && !tiff.SetDirectory((short)page))
            throw Fail(file, $"{label}: cannot read page ({errors.Describe()})");
        var format = DescribePage(tiff, label, file, stream.Length);
        if (format.Width != info.Width || format.Height != info.Height + info.DataBarRows || format.BitsPerSample != info.BitsPerSample)
            throw Fail(file, $"{label}: now {format.Width}x{format.Height} pixels at {format.BitsPerSample} bits, "
                + $"but the stack was probed as {info.Width}x{info.Height + info.DataBarRows} at {info.BitsPerSample} bits (was the file replaced?)");

        var scanline = new byte[tiff.ScanlineSize()];
        var expectedBytes = format.Width * format.BitsPerSample / 8;
        if (scanline.Length < expectedBytes)
            throw Fail(file, $"{label}: scanline is {scanline.Length} bytes, expected {expectedBytes}");
        var invert = format.MinIsWhite;
        var max = (ushort)((1 << format.BitsPerSample) - 1);
        for (var y = 0; y < info.Height; y++)
        {
            if (!tiff.ReadScanline(scanline, y))
                throw Fail(file, $"{label}: cannot read row {y}, the file is damaged or truncated ({errors.Describe()})");
            var row = target.Slice(y * format.Width, format.Width);
            if (format.BitsPerSample == 8)
                for (var x = 0; x < row.Length; x++) row[x] = scanline[x];
            else
                MemoryMarshal.Cast<byte, ushort>(scanline.AsSpan(0, expectedBytes)).CopyTo(row);
            if (invert)
                for (var x = 0; x < row.Length; x++) row[x] = (ushort)(max - row[x]);
        }
    }

    /// <summary>
    /// The number of slices (a folder's TIFF files, names only; a multi-page file's pages, its directory chain, no pixels)
    /// and the rows (data bar left out) and columns of the stack's first slice, from that one file's header (a folder's
    /// first in natural name order, a multi-page file's page 0): what sizing a job needs before ingest reads the whole
    /// stack, without opening every slice of a share folder twice. <see cref="Probe"/> checks the rest when ingest runs.
    /// </summary>
    public static (int Slices, int Height, int Width) FirstSliceShapeAndCount(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var files = Directory.Exists(path) ? SliceFiles(path) : null;
        var file = files is not null ? files[0]
            : File.Exists(path) ? path
            : throw new TiffStackException($"{path}: no such file or folder", Path.GetFileName(path));
        var name = Path.GetFileName(file);
        using var errors = LibTiffSupport.CaptureErrors();
        using var stream = OpenReadOnly(file);
        using var tiff = OpenTiff(file, stream, errors);
        var format = DescribePage(tiff, name, file, stream.Length);
        return (files?.Length ?? tiff.NumberOfDirectories(), format.Height - DataBarRows(tiff, format), format.Width);
    }

    private static TiffStackInfo ProbeFolder(string folder)
    {
        var files = SliceFiles(folder);
        if (files.Length > MaxSlices)
            throw new TiffStackException($"{folder}: {files.Length} slices, more than the {MaxSlices} this tool accepts");
        CheckNumbering(files);

        PageFormat? first = null;
        VoxelSize? voxelSize = null;
        var source = VoxelSizeSource.None;
        var dataBarRows = 0;
        IReadOnlyDictionary<string, string>? instrument = null;
        var folderPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            // The share-root check confines the folder; a slice that links elsewhere on this machine would escape it.
            if (new FileInfo(file).LinkTarget is not null
                && new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true) is { } target
                && Path.GetDirectoryName(target.FullName) is var targetFolder
                && !string.Equals(targetFolder, folderPath, StringComparison.Ordinal))
                throw Fail(file, $"{name}: is a link to a file outside the stack folder; only the folder's own files are read as slices");
            using var errors = LibTiffSupport.CaptureErrors();
            using var stream = OpenReadOnly(file);
            using var tiff = OpenTiff(file, stream, errors);
            var format = DescribePage(tiff, name, file, stream.Length);
            if (first is null)
            {
                first = format;
                (voxelSize, source) = DetectVoxelSize(tiff);
                dataBarRows = DataBarRows(tiff, format);
                instrument = InstrumentMetadata(tiff);
            }
            else
            {
                CheckSameAs(first, format, name, Path.GetFileName(files[0]), file);
            }
            CheckSinglePage(tiff, name, file, errors);
        }
        return new TiffStackInfo(files, false, files.Length, first!.Height - dataBarRows, first.Width, first.BitsPerSample, voxelSize, source, dataBarRows,
            instrument);
    }

    /// <summary>A folder's slice files in natural name order (hidden files left out); refuses a folder without any.</summary>
    private static string[] SliceFiles(string folder)
    {
        var files = Directory.EnumerateFiles(folder)
            .Where(f => TiffExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            // macOS "._name.tif" resource forks and other hidden files on share drives are not slices.
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Order(Comparer<string>.Create((a, b) => NaturalFileNameComparer.Instance.Compare(Path.GetFileName(a), Path.GetFileName(b))))
            .ToArray();
        if (files.Length == 0)
            throw new TiffStackException($"{folder}: folder has no .tif or .tiff files");
        return files;
    }

    /// <summary>
    /// When every slice is named alike but for its last number ("slice_0007.tif"), that number is the slice's place in
    /// z: two files with the same number make the order ambiguous, and a number left out (against the folder's own
    /// step, which may be more than 1) is a slice missing from the copy, which would shift every slice after it in z.
    /// Folders named any other way are taken in natural name order as before.
    /// </summary>
    private static void CheckNumbering(string[] files)
    {
        if (files.Length < 2) return;
        var numbered = new List<(string Name, long Number)>(files.Length);
        string? pattern = null;
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            var match = LastNumber().Match(name);
            if (!match.Success || match.Groups[2].Value.Length > 15) return;
            var shape = (match.Groups[1].Value + "#" + match.Groups[3].Value).ToLowerInvariant();
            if (pattern is null) pattern = shape;
            else if (pattern != shape) return;
            numbered.Add((name, long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)));
        }
        var ordered = numbered.OrderBy(n => n.Number).ThenBy(n => n.Name, StringComparer.Ordinal).ToList();
        for (var i = 1; i < ordered.Count; i++)
            if (ordered[i].Number == ordered[i - 1].Number)
                throw new TiffStackException($"{ordered[i].Name} and {ordered[i - 1].Name} both carry slice number {ordered[i].Number}, "
                    + "so their order in the stack is ambiguous; keep only the right one", ordered[i].Name);
        var steps = Enumerable.Range(1, ordered.Count - 1).Select(i => ordered[i].Number - ordered[i - 1].Number).ToList();
        var step = steps.Min();
        // Numbers that are not a regular sequence (e.g. z positions with jitter) are not slice indices: no gap to tell.
        if (steps.Any(d => d % step != 0)) return;
        for (var i = 1; i < ordered.Count; i++)
            if (steps[i - 1] != step)
                throw new TiffStackException($"{ordered[i].Name}: slice numbers jump from {ordered[i - 1].Number} ({ordered[i - 1].Name}) to "
                    + $"{ordered[i].Number}, so {steps[i - 1] / step - 1} slice(s) are missing from the folder and every later slice would be "
                    + "placed too high in z; copy the missing slices from the microscope", ordered[i].Name);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(.*?)(\d+)(\D*)$")]
    private static partial System.Text.RegularExpressions.Regex LastNumber();

    private static TiffStackInfo ProbeMultiPage(string file)
    {
        var name = Path.GetFileName(file);
        using var errors = LibTiffSupport.CaptureErrors();
        using var stream = OpenReadOnly(file);
        using var tiff = OpenTiff(file, stream, errors);
        // LibTiff.NET addresses pages with a short, so a multi-page file holds at most 32767 slices.
        var pages = tiff.NumberOfDirectories();
        if (pages <= 0)
            throw Fail(file, $"{name}: has no pages");
        var first = DescribePage(tiff, $"{name} page 0", file, stream.Length);
        var (voxelSize, source) = DetectVoxelSize(tiff);
        var dataBarRows = DataBarRows(tiff, first);
        var instrument = InstrumentMetadata(tiff);
        for (var page = 1; page < pages; page++)
        {
            if (!tiff.SetDirectory((short)page))
                throw Fail(file, $"{name} page {page}: cannot read page ({errors.Describe()})");
            var format = DescribePage(tiff, $"{name} page {page}", file, stream.Length);
            CheckSameAs(first, format, $"{name} page {page}", $"page 0", file);
        }
        return new TiffStackInfo([file], true, pages, first.Height - dataBarRows, first.Width, first.BitsPerSample, voxelSize, source, dataBarRows,
            instrument);
    }

    /// <summary>
    /// A file in a folder of slices is one slice: a multi-page file among them (a stack saved into the slice folder) would
    /// otherwise be read as its first page only. Reduced-resolution pages (thumbnails) are not slices and are allowed.
    /// </summary>
    private static void CheckSinglePage(Tiff tiff, string name, string file, LibTiffSupport.ErrorScope errors)
    {
        var pages = tiff.NumberOfDirectories();
        for (var page = 1; page < pages; page++)
        {
            if (!tiff.SetDirectory((short)page))
                throw Fail(file, $"{name} page {page}: cannot read page ({errors.Describe()})");
            var subfile = (FileType)GetInt(tiff, TiffTag.SUBFILETYPE, 0);
            if ((subfile & FileType.REDUCEDIMAGE) == 0)
                throw Fail(file, $"{name}: has {pages} pages, expected one slice per file in a folder of slices "
                    + "(submit a multi-page stack as the file itself, not inside a folder of slices)");
        }
    }

    private static void CheckSameAs(PageFormat first, PageFormat format, string label, string firstLabel, string file)
    {
        if (format.Width != first.Width || format.Height != first.Height)
            throw Fail(file, $"{label}: {format.Width}x{format.Height} pixels, expected {first.Width}x{first.Height} like {firstLabel}");
        if (format.BitsPerSample != first.BitsPerSample)
            throw Fail(file, $"{label}: {format.BitsPerSample}-bit, expected {first.BitsPerSample}-bit like {firstLabel}");
    }

    private sealed record PageFormat(int Width, int Height, int BitsPerSample, bool MinIsWhite);

    /// <summary>Validates the current directory (page) and returns its layout; every rejection says why.</summary>
    private static PageFormat DescribePage(Tiff tiff, string label, string file, long fileLength)
    {
        var width = GetInt(tiff, TiffTag.IMAGEWIDTH, 0);
        var height = GetInt(tiff, TiffTag.IMAGELENGTH, 0);
        var samples = GetInt(tiff, TiffTag.SAMPLESPERPIXEL, 1);
        var bits = GetInt(tiff, TiffTag.BITSPERSAMPLE, 1);
        var sampleFormat = (SampleFormat)GetInt(tiff, TiffTag.SAMPLEFORMAT, (int)SampleFormat.UINT);
        var photometric = (Photometric)GetInt(tiff, TiffTag.PHOTOMETRIC, (int)Photometric.MINISBLACK);

        if (width <= 0 || height <= 0)
            throw Fail(file, $"{label}: image size {width}x{height} is empty");
        if (width > MaxSide || height > MaxSide || (long)width * height > Array.MaxLength)
            throw Fail(file, $"{label}: image size {width}x{height} is larger than this tool accepts ({MaxSide} pixels a side)");
        if (samples != 1 || photometric is Photometric.RGB or Photometric.YCBCR or Photometric.SEPARATED or Photometric.CIELAB)
            throw Fail(file, $"{label}: {samples} samples per pixel ({photometric}), expected single-sample greyscale; colour images are not FIB-SEM slices");
        if (photometric == Photometric.PALETTE)
            throw Fail(file, $"{label}: palette (indexed colour) image, expected greyscale");
        if (photometric is not (Photometric.MINISBLACK or Photometric.MINISWHITE))
            throw Fail(file, $"{label}: photometric interpretation {photometric}, expected greyscale");
        if (sampleFormat == SampleFormat.IEEEFP)
            throw Fail(file, $"{label}: {bits}-bit floating-point samples, expected 8- or 16-bit unsigned integers");
        if (sampleFormat == SampleFormat.INT)
            throw Fail(file, $"{label}: signed {bits}-bit samples, expected 8- or 16-bit unsigned integers");
        if (sampleFormat != SampleFormat.UINT)
            throw Fail(file, $"{label}: sample format {sampleFormat}, expected unsigned integers");
        if (bits is not (8 or 16))
            throw Fail(file, $"{label}: {bits}-bit samples, expected 8- or 16-bit greyscale");
        if (tiff.IsTiled())
            throw Fail(file, $"{label}: tiled TIFF layout is not supported, expected strips (what microscopes write)");

        var end = DataEnd(tiff);
        if (end > fileLength)
            throw Fail(file, $"{label}: truncated, image data ends at byte {end} but the file has {fileLength} bytes");
        return new PageFormat(width, height, bits, photometric == Photometric.MINISWHITE);
    }

    private static long DataEnd(Tiff tiff)
    {
        var offsets = ToLongs(tiff.GetField(TiffTag.STRIPOFFSETS));
        var counts = ToLongs(tiff.GetField(TiffTag.STRIPBYTECOUNTS));
        var end = 0L;
        for (var i = 0; i < Math.Min(offsets.Length, counts.Length); i++)
            end = Math.Max(end, offsets[i] + counts[i]);
        return end;
    }

    private static long[] ToLongs(FieldValue[]? field) => field?[0].Value switch
    {
        long[] values => values,
        ulong[] values => [.. values.Select(v => (long)v)],
        int[] values => [.. values.Select(v => (long)v)],
        uint[] values => [.. values.Select(v => (long)v)],
        short[] values => [.. values.Select(v => (long)(ushort)v)],
        ushort[] values => [.. values.Select(v => (long)v)],
        _ => [],
    };

    private static (VoxelSize?, VoxelSizeSource) DetectVoxelSize(Tiff tiff)
    {
        if (GetText(tiff, LibTiffSupport.FeiMetadataTag) is { } feiText
            && MicroscopeMetadata.ParseFeiPixelSize(feiText) is { } fei)
        {
            var stretch = MicroscopeMetadata.FeiCrossSectionYStretch(feiText);
            return stretch == 1
                ? (new VoxelSize(fei.XNm, fei.YNm, fei.XNm), VoxelSizeSource.FeiMetadata)
                : (new VoxelSize(fei.XNm, fei.YNm * stretch, fei.XNm), VoxelSizeSource.FeiMetadataCrossSectionCorrected);
        }
        if (GetText(tiff, LibTiffSupport.ZeissMetadataTag) is { } zeissText
            && MicroscopeMetadata.ParseZeissPixelSize(zeissText) is { } zeiss)
            return (new VoxelSize(zeiss, zeiss, zeiss), VoxelSizeSource.ZeissMetadata);
        if (ResolutionPixelSize(tiff) is { } resolution)
            return (new VoxelSize(resolution.XNm, resolution.YNm, resolution.XNm), VoxelSizeSource.TiffResolution);
        return (null, VoxelSizeSource.None);
    }

    private static IReadOnlyDictionary<string, string> InstrumentMetadata(Tiff tiff)
    {
        if (GetText(tiff, LibTiffSupport.FeiMetadataTag) is { } feiText) return MicroscopeMetadata.FeiProvenance(feiText);
        if (GetText(tiff, LibTiffSupport.ZeissMetadataTag) is { } zeissText) return MicroscopeMetadata.ZeissProvenance(zeissText);
        return new Dictionary<string, string>();
    }

    /// <summary>
    /// Rows below the scanned image: FEI/ThermoFisher files saved with the data bar are taller than their [Image]
    /// ResolutionY. Its text and scale bar would otherwise be registered, segmented and measured as specimen.
    /// </summary>
    private static int DataBarRows(Tiff tiff, PageFormat format) =>
        GetText(tiff, LibTiffSupport.FeiMetadataTag) is { } feiText
        && MicroscopeMetadata.ParseFeiResolution(feiText) is { } scanned
        && scanned.Width == format.Width && scanned.Height < format.Height
            ? format.Height - scanned.Height
            : 0;

    private static (double XNm, double YNm)? ResolutionPixelSize(Tiff tiff)
    {
        var xResolution = tiff.GetField(TiffTag.XRESOLUTION);
        if (xResolution is null)
            return null;
        var unit = (ResUnit)GetInt(tiff, TiffTag.RESOLUTIONUNIT, (int)ResUnit.INCH);
        var nmPerUnit = unit switch
        {
            ResUnit.INCH => 25.4e6,
            ResUnit.CENTIMETER => 1e7,
            _ => double.NaN,
        };
        var pixelsPerUnitX = xResolution[0].ToDouble();
        var pixelsPerUnitY = tiff.GetField(TiffTag.YRESOLUTION)?[0].ToDouble() ?? pixelsPerUnitX;
        if (pixelsPerUnitX <= 0 || pixelsPerUnitY <= 0)
            return null;
        var x = nmPerUnit / pixelsPerUnitX;
        var y = nmPerUnit / pixelsPerUnitY;
        // 72/96/300 dpi defaults give ~0.1-0.35 mm pixels and fail this check, which is what we want.
        return MicroscopeMetadata.IsPlausibleNm(x) && MicroscopeMetadata.IsPlausibleNm(y) ? (x, y) : null;
    }

    private static string? GetText(Tiff tiff, TiffTag tag)
    {
        var field = tiff.GetField(tag);
        if (field is null || field.Length == 0)
            return null;
        // Depending on how the tag was declared LibTiff hands back the count first and the text second.
        foreach (var value in field)
        {
            switch (value.Value)
            {
                case string text: return text;
                case byte[] bytes: return System.Text.Encoding.Latin1.GetString(bytes).TrimEnd('\0');
            }
        }
        return null;
    }

    private static int GetInt(Tiff tiff, TiffTag tag, int fallback)
    {
        var field = tiff.GetFieldDefaulted(tag);
        return field is { Length: > 0 } ? field[0].ToInt() : fallback;
    }

    private static FileStream OpenReadOnly(string file)
    {
        try
        {
            return new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(file, $"{Path.GetFileName(file)}: cannot open for reading: {e.Message}", e);
        }
    }

    private static Tiff OpenTiff(string file, FileStream stream, LibTiffSupport.ErrorScope errors)
    {
        var name = Path.GetFileName(file);
        if (stream.Length == 0)
            throw Fail(file, $"{name}: file is empty (0 bytes)");
        Tiff? tiff;
        try
        {
            tiff = Tiff.ClientOpen(name, "r", stream, new TiffStream());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Fail(file, $"{name}: not a readable TIFF ({e.Message})", e);
        }
        return tiff ?? throw Fail(file, $"{name}: not a readable TIFF, or truncated ({errors.Describe()})");
    }

    private static TiffStackException Fail(string file, string message, Exception? inner = null) =>
        new(message, Path.GetFileName(file), inner);
}
