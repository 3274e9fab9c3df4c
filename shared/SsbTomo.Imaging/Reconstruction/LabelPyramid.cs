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
        var (height, width) = (labels.Height, labels.Width);
        Parallel.For(0, result.Depth, z =>
        {
            Span<byte> block = stackalloc byte[8];
            for (var y = 0; y < result.Height; y++)
            {
                var target = result.Data.AsSpan((int)(((long)z * result.Height + y) * result.Width), result.Width);
                var x = 0;
                // Whole 2x2x2 blocks straight from their four rows (most blocks of a label volume hold one label).
                if (2 * z + 1 < labels.Depth && 2 * y + 1 < height)
                {
                    ReadOnlySpan<byte> Row(int sz, int sy) => labels.Data.AsSpan((int)(((long)sz * height + sy) * width), width);
                    ReadOnlySpan<byte> a = Row(2 * z, 2 * y), b = Row(2 * z, 2 * y + 1), c = Row(2 * z + 1, 2 * y), d = Row(2 * z + 1, 2 * y + 1);
                    for (; 2 * x + 1 < width; x++)
                    {
                        var sx = 2 * x;
                        var v = a[sx];
                        if (a[sx + 1] == v && b[sx] == v && b[sx + 1] == v && c[sx] == v && c[sx + 1] == v && d[sx] == v && d[sx + 1] == v)
                        {
                            target[x] = v;
                            continue;
                        }
                        (block[0], block[1], block[2], block[3]) = (v, a[sx + 1], b[sx], b[sx + 1]);
                        (block[4], block[5], block[6], block[7]) = (c[sx], c[sx + 1], d[sx], d[sx + 1]);
                        target[x] = ModeOfEight(block);
                    }
                }
                // Partial blocks at the volume's far faces vote with what they have.
                for (; x < result.Width; x++)
                {
                    var count = 0;
                    for (var sz = 2 * z; sz < Math.Min(labels.Depth, 2 * z + 2); sz++)
                        for (var sy = 2 * y; sy < Math.Min(height, 2 * y + 2); sy++)
                            for (var sx = 2 * x; sx < Math.Min(width, 2 * x + 2); sx++)
                                block[count++] = labels[sz, sy, sx];
                    target[x] = Mode(block[..count]);
                }
            }
        });
        return result;
    }

    /// <summary>
    /// <see cref="Mode"/> of a whole block of eight, counted in one 64-bit word, four bits a label, when every label is
    /// below 16 (phase labels are 0-4): eight votes fit in four bits. A third of the reconstruction's label pyramid went
    /// to the general count (at 1 Gvoxel, ~4 CPU-s), which compares every voxel with every other.
    /// </summary>
    private static byte ModeOfEight(ReadOnlySpan<byte> block)
    {
        var (votes, largest) = (0UL, 0);
        foreach (var label in block)
        {
            if (label >= 16) return Mode(block);
            votes += 1UL << (4 * label);
            largest = Math.Max(largest, label);
        }
        var (best, bestVotes) = (0, 0UL);
        for (var label = 0; label <= largest; label++)
        {
            var count = (votes >> (4 * label)) & 15;
            if (count > bestVotes) (best, bestVotes) = (label, count);
        }
        return (byte)best;
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
