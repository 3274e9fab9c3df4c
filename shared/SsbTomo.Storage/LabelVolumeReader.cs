using SsbTomo.Imaging;

namespace SsbTomo.Storage;

/// <summary>A label volume read whole, its voxel size when the file states one, and what it was read as.</summary>
public sealed record LabelVolumeFile(Volume<ushort> Values, VoxelSize? VoxelSize, string Format);

/// <summary>
/// Reads an existing label volume for measurement: an OME-Zarr image group (a folder with .zattrs, e.g. a run's
/// labels.zarr; level 0, uint8), a multi-page TIFF or a folder of single-page TIFFs (8 or 16 bit). Anything else fails
/// with a <see cref="TiffStackException"/> whose message names the file and says what it is not.
/// </summary>
public static class LabelVolumeReader
{
    public static async Task<LabelVolumeFile> ReadAsync(string path, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path.TrimEnd('/', '\\'));
        if (Directory.Exists(full) && File.Exists(Path.Combine(full, ".zattrs"))) return await ReadZarrAsync(full, ct).ConfigureAwait(false);
        if (File.Exists(full) && !IsTiff(full))
            throw new TiffStackException($"{path}: not a label volume SsbTomo can read (expected an OME-Zarr image folder, a multi-page TIFF or a folder of TIFFs)",
                Path.GetFileName(full));
        var info = TiffStackReader.Probe(full);
        var values = new Volume<ushort>(info.SliceCount, info.Height, info.Width);
        for (var z = 0; z < info.SliceCount; z++)
            TiffStackReader.ReadSlice(info, z).Pixels.CopyTo(values.Slice(z));
        return new LabelVolumeFile(values, info.DetectedVoxelSize, info.IsMultiPage ? "multi-page TIFF" : "folder of TIFF slices");
    }

    private static bool IsTiff(string file)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(file);
        if (stream.Read(magic) < 4) return false;
        // "II*\0" / "MM\0*" (classic) or "II+\0" / "MM\0+" (BigTIFF).
        return (magic[0] == 'I' && magic[1] == 'I' && magic[2] is 42 or 43 && magic[3] == 0)
            || (magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0 && magic[3] is 42 or 43);
    }

    private static async Task<LabelVolumeFile> ReadZarrAsync(string folder, CancellationToken ct)
    {
        var store = new FileSystemBlobStore(Path.GetDirectoryName(folder)!);
        var name = Path.GetFileName(folder);
        StageVolume<byte> image;
        try
        {
            image = await StageVolume<byte>.OpenAsync(store, name, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or System.Text.Json.JsonException or KeyNotFoundException or NotSupportedException)
        {
            throw new TiffStackException($"{folder}: not an OME-Zarr label image SsbTomo can read (level 0 must be uint8): {e.Message}", name, e);
        }
        var values = new Volume<ushort>(image.Depth, image.Height, image.Width);
        await foreach (var (z0, slab) in image.SlabsAsync(ct).ConfigureAwait(false))
            for (var i = 0; i < slab.Data.Length; i++) values.Data[(long)z0 * values.SliceLength + i] = slab.Data[i];
        return new LabelVolumeFile(values, image.VoxelSize, "OME-Zarr");
    }
}
