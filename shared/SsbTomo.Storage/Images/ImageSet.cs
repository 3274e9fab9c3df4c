using SsbTomo.Imaging;

namespace SsbTomo.Storage.Images;

/// <summary>One image file: every page of it (a multi-page TIFF is a stack, PNG and single-page TIFF one page).</summary>
public sealed record ImageFile(string Path, string Stem, IReadOnlyList<Image2D<ushort>> Pages, int BitDepth, VoxelSize? VoxelSize)
{
    public string Name => System.IO.Path.GetFileName(Path);
}

/// <summary>
/// The image sets that <c>ssbtomo train</c> and <c>segment</c> take: a single PNG or TIFF, or a folder of them (a stack
/// of slices or unrelated 2D images alike: each file is its own image), 8- or 16-bit greyscale; and label images found
/// by file stem.
/// </summary>
public static class ImageSet
{
    private static readonly string[] Extensions = [".png", ".tif", ".tiff"];

    /// <summary>The image files of <paramref name="path"/> in natural name order; throws when there are none.</summary>
    public static IReadOnlyList<string> Files(string path)
    {
        if (File.Exists(path))
        {
            if (!IsImage(path)) throw new InvalidDataException($"{Path.GetFileName(path)}: not a .png, .tif or .tiff file");
            return [path];
        }
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder", path);
        var files = Directory.EnumerateFiles(path)
            .Where(f => IsImage(f) && !Path.GetFileName(f).StartsWith('.'))
            .Order(Comparer<string>.Create((a, b) => NaturalFileNameComparer.Instance.Compare(Path.GetFileName(a), Path.GetFileName(b))))
            .ToArray();
        if (files.Length == 0) throw new InvalidDataException($"{path}: folder has no .png, .tif or .tiff files");
        var twins = files.GroupBy(Stem, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twins is not null)
            throw new InvalidDataException($"{path}: {string.Join(" and ", twins.Select(Path.GetFileName))} have the same stem, so their label images would have the same name");
        return files;
    }

    /// <summary>Reads every page of a PNG or TIFF file.</summary>
    public static ImageFile Read(string path)
    {
        var name = Path.GetFileName(path);
        if (Path.GetExtension(path).Equals(".png", StringComparison.OrdinalIgnoreCase))
        {
            var (image, depth) = PngImage.Read(path);
            return new ImageFile(path, Stem(path), [image], depth, null);
        }
        TiffStackInfo info;
        try
        {
            info = TiffStackReader.Probe(path);
        }
        catch (TiffStackException e)
        {
            throw new InvalidDataException(e.Message.StartsWith(name, StringComparison.Ordinal) ? e.Message : $"{name}: {e.Message}", e);
        }
        var pages = Enumerable.Range(0, info.SliceCount).Select(i => TiffStackReader.ReadSlice(info, i)).ToArray();
        return new ImageFile(path, Stem(path), pages, info.BitsPerSample, info.DetectedVoxelSize);
    }

    /// <summary>
    /// The label file for <paramref name="image"/>: <paramref name="labels"/> itself when it is a file, else the file in
    /// that folder with the image's stem and a .tif, .tiff or .png extension.
    /// </summary>
    public static string FindLabels(string labels, ImageFile image)
    {
        if (File.Exists(labels)) return labels;
        if (!Directory.Exists(labels)) throw new FileNotFoundException($"{labels}: no such file or folder", labels);
        var candidates = Extensions.Select(e => Path.Combine(labels, image.Stem + e)).Where(File.Exists).ToArray();
        return candidates.Length switch
        {
            1 => candidates[0],
            0 => throw new FileNotFoundException(
                $"{image.Name}: no label image {image.Stem}.tif, .tiff or .png in {labels} (every training image needs one; 0 = unlabelled)", image.Name),
            _ => throw new InvalidDataException($"{image.Name}: more than one label image in {labels} ({string.Join(", ", candidates.Select(Path.GetFileName))})"),
        };
    }

    /// <summary>Label values of one page as bytes; a value above 255 is refused (no phase table has that many phases).</summary>
    public static Image2D<byte> AsLabels(Image2D<ushort> page, string name)
    {
        var result = new Image2D<byte>(page.Height, page.Width);
        for (var i = 0; i < page.Pixels.Length; i++)
        {
            var v = page.Pixels[i];
            if (v > byte.MaxValue) throw new InvalidDataException($"{name}: label {v} at x={i % page.Width}, y={i / page.Width} is not a phase label");
            result.Pixels[i] = (byte)v;
        }
        return result;
    }

    public static string Stem(string path) => Path.GetFileNameWithoutExtension(path);

    private static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);
}
