namespace SsbTomo.Imaging.Reconstruction;

/// <summary>
/// Multiscale levels of a grey-level image for viewers (napari, neuroglancer, Fiji's MoBIE): level l is 2^l times coarser
/// in every axis, as in OME-NGFF's "multiscales".
/// </summary>
/// <remarks>
/// References: OME-NGFF 0.4 (Moore et al., Nat. Methods 18, 1496, 2021, doi:10.1038/s41592-021-01326-w), "multiscales";
/// block means as skimage.transform.downscale_local_mean, except that a block cut by the volume's edge is averaged over
/// the voxels it has rather than padded with zeros (a padded edge would darken the coarse levels' last row).
/// </remarks>
public static class ImagePyramid
{
    /// <summary>The coarsest level's largest side is at most this many voxels.</summary>
    public const int CoarsestMaxSide = 256;

    /// <summary>
    /// Levels including full resolution: halving every axis (sizes rounded up) until no side exceeds
    /// <paramref name="maxSide"/>. A volume already that small has one level.
    /// </summary>
    /// <example><c>LevelCount(256, 512, 512)</c> is 2 (512 → 256); <c>LevelCount(64, 192, 224)</c> is 1.</example>
    public static int LevelCount(int depth, int height, int width, int maxSide = CoarsestMaxSide)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSide, 1);
        var levels = 1;
        var side = Math.Max(depth, Math.Max(height, width));
        while (side > maxSide)
        {
            side = LabelPyramid.DownsampledSize(side);
            levels++;
        }
        return levels;
    }

    /// <summary>
    /// 2x2x2 block means, rounded to the nearest integer (halves up). A block cut by the volume's edge averages the voxels
    /// it has.
    /// </summary>
    /// <param name="image">Grey levels; a source region starting at even coordinates, so blocks align with the level above.</param>
    /// <returns>The half-size volume (odd sizes rounded up).</returns>
    public static Volume<ushort> DownsampleMean(Volume<ushort> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var result = new Volume<ushort>(LabelPyramid.DownsampledSize(image.Depth), LabelPyramid.DownsampledSize(image.Height),
            LabelPyramid.DownsampledSize(image.Width));
        Parallel.For(0, result.Depth, z =>
        {
            var zEnd = Math.Min(image.Depth, 2 * z + 2);
            for (var y = 0; y < result.Height; y++)
            {
                var yEnd = Math.Min(image.Height, 2 * y + 2);
                var full = 2 * z + 2 <= image.Depth && 2 * y + 2 <= image.Height;
                var x = 0;
                if (full)
                {
                    // Whole blocks of eight: (2·sum + 8) / 16 as below, read straight from the four rows.
                    var r00 = image.Data.AsSpan((int)(((long)2 * z * image.Height + 2 * y) * image.Width), 2 * image.Width);
                    var r10 = image.Data.AsSpan((int)(((long)(2 * z + 1) * image.Height + 2 * y) * image.Width), 2 * image.Width);
                    var output = result.Data.AsSpan((int)(((long)z * result.Height + y) * result.Width), result.Width);
                    var w = image.Width;
                    for (; 2 * x + 2 <= w; x++)
                    {
                        var sum = r00[2 * x] + r00[2 * x + 1] + r00[w + 2 * x] + r00[w + 2 * x + 1]
                            + r10[2 * x] + r10[2 * x + 1] + r10[w + 2 * x] + r10[w + 2 * x + 1];
                        output[x] = (ushort)((2 * sum + 8) / 16);
                    }
                }
                for (; x < result.Width; x++)
                {
                    var xEnd = Math.Min(image.Width, 2 * x + 2);
                    long sum = 0;
                    var count = 0;
                    for (var sz = 2 * z; sz < zEnd; sz++)
                        for (var sy = 2 * y; sy < yEnd; sy++)
                            for (var sx = 2 * x; sx < xEnd; sx++)
                            {
                                sum += image[sz, sy, sx];
                                count++;
                            }
                    result[z, y, x] = (ushort)((2 * sum + count) / (2 * count));
                }
            }
        });
        return result;
    }
}
