namespace SsbTomo.Imaging.Reconstruction;

/// <summary>Multiscale levels of a label volume for viewers (napari, neuroglancer); how many: <see cref="ImagePyramid.LevelCount"/>.</summary>
public static class LabelPyramid
{
    public static int DownsampledSize(int size) => (size + 1) / 2;

    /// <summary>
    /// 2x2x2 mode (most frequent label in each block); a tie goes to the smaller label value, so the result
    /// is deterministic. Averaging would invent labels that are not phases.
    /// </summary>
    public static Volume<byte> DownsampleMode(Volume<byte> labels)
    {
        var result = new Volume<byte>(DownsampledSize(labels.Depth), DownsampledSize(labels.Height), DownsampledSize(labels.Width));
        Parallel.For(0, result.Depth, z =>
        {
            Span<int> votes = stackalloc int[256];
            for (var y = 0; y < result.Height; y++)
                for (var x = 0; x < result.Width; x++)
                {
                    votes.Clear();
                    for (var dz = 0; dz < 2; dz++)
                    {
                        var sz = 2 * z + dz;
                        if (sz >= labels.Depth) break;
                        for (var dy = 0; dy < 2; dy++)
                        {
                            var sy = 2 * y + dy;
                            if (sy >= labels.Height) break;
                            for (var dx = 0; dx < 2; dx++)
                            {
                                var sx = 2 * x + dx;
                                if (sx >= labels.Width) break;
                                votes[labels[sz, sy, sx]]++;
                            }
                        }
                    }
                    var best = 0;
                    for (var v = 1; v < 256; v++)
                        if (votes[v] > votes[best]) best = v;
                    result[z, y, x] = (byte)best;
                }
        });
        return result;
    }
}
