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
            Span<byte> block = stackalloc byte[8];
            for (var y = 0; y < result.Height; y++)
                for (var x = 0; x < result.Width; x++)
                {
                    var count = 0;
                    for (var sz = 2 * z; sz < Math.Min(labels.Depth, 2 * z + 2); sz++)
                        for (var sy = 2 * y; sy < Math.Min(labels.Height, 2 * y + 2); sy++)
                            for (var sx = 2 * x; sx < Math.Min(labels.Width, 2 * x + 2); sx++)
                                block[count++] = labels[sz, sy, sx];
                    result[z, y, x] = Mode(block[..count]);
                }
        });
        return result;
    }

    /// <summary>The most frequent value of a block of at most eight; a tie goes to the smaller value.</summary>
    private static byte Mode(ReadOnlySpan<byte> block)
    {
        var (best, bestVotes) = (block[0], 0);
        if (!block[1..].ContainsAnyExcept(best)) return best;
        for (var i = 0; i < block.Length; i++)
        {
            var votes = 0;
            foreach (var other in block) votes += other == block[i] ? 1 : 0;
            if (votes > bestVotes || (votes == bestVotes && block[i] < best)) (best, bestVotes) = (block[i], votes);
        }
        return best;
    }
}
