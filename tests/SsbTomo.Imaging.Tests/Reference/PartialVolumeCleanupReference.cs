using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Reference;

/// <summary>
/// The original straightforward PartialVolumeCleanup (commit 7040060), kept verbatim as the reference that
/// the optimised implementation must reproduce byte for byte.
/// </summary>
internal static class PartialVolumeCleanupReference
{
    private static readonly (int Dz, int Dy, int Dx)[] LineDirections = BuildLineDirections();

    public static Volume<byte> Apply(
        Volume<byte> labels,
        Volume<float> intensity,
        byte[] labelsDarkToBright,
        double[] classMeansDarkToBright,
        int maxBandVoxels = PartialVolumeCleanup.DefaultMaxBandVoxels,
        double minimumEdgeContrast = PartialVolumeCleanup.DefaultMinimumEdgeContrast)
    {
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        if (labelsDarkToBright.Length != classMeansDarkToBright.Length)
            throw new ArgumentException("one class mean per label is needed", nameof(classMeansDarkToBright));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBandVoxels, 1);

        var rankOf = new sbyte[256];
        Array.Fill(rankOf, (sbyte)-1);
        for (var r = 0; r < labelsDarkToBright.Length; r++) rankOf[labelsDarkToBright[r]] = (sbyte)r;
        var topRank = labelsDarkToBright.Length - 1;
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var result = labels.Clone();

        Parallel.For(0, depth, z =>
        {
            // The line through the voxel: positions -2·band..2·band stored at offset 2·band.
            var centre = 2 * maxBandVoxels;
            var lineRanks = new int[2 * centre + 1];
            var lineValues = new float[2 * centre + 1];
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var index = ((long)z * height + y) * width + x;
                    int rank = rankOf[labels.Data[index]];
                    if (rank <= 0 || rank >= topRank) continue;
                    // With bands of at most 2 voxels, one end of any qualifying line is a direct neighbour.
                    if (maxBandVoxels <= 2 && NeighbourhoodIsUniform(labels, rankOf, z, y, x, rank)) continue;

                    int bestLow = -1, bestHigh = -1, bestBand = int.MaxValue;
                    foreach (var (dz, dy, dx) in LineDirections)
                    {
                        GatherLine(labels, intensity, rankOf, z, y, x, dz, dy, dx, lineRanks, lineValues);
                        for (var band = 1; band <= maxBandVoxels; band++)
                            for (var a = 1; a <= band; a++)
                            {
                                int upper = centre + a, lower = centre - (band + 1 - a);
                                if (!IsThinBandBetween(lineRanks, lower, upper, out var low, out var high) || !(low < rank && rank < high)) continue;
                                if (IsInsideThinBand(lineRanks, upper, maxBandVoxels, topRank) || IsInsideThinBand(lineRanks, lower, maxBandVoxels, topRank)) continue;
                                var contrast = Math.Abs(lineValues[upper] - lineValues[lower]);
                                if (contrast < minimumEdgeContrast * (classMeansDarkToBright[high] - classMeansDarkToBright[low])) continue;
                                if (high - low > bestHigh - bestLow || (high - low == bestHigh - bestLow && band < bestBand))
                                    (bestLow, bestHigh, bestBand) = (low, high, band);
                            }
                    }
                    if (bestLow < 0) continue;
                    var midpoint = 0.5 * (classMeansDarkToBright[bestLow] + classMeansDarkToBright[bestHigh]);
                    result.Data[index] = labelsDarkToBright[intensity.Data[index] >= midpoint ? bestHigh : bestLow];
                }
        });
        return result;
    }

    /// <summary>
    /// True when the ends at <paramref name="lower"/> and <paramref name="upper"/> are ranked classes at least
    /// two ranks apart and every voxel strictly between them has a rank strictly between theirs.
    /// </summary>
    private static bool IsThinBandBetween(int[] lineRanks, int lower, int upper, out int low, out int high)
    {
        low = Math.Min(lineRanks[lower], lineRanks[upper]);
        high = Math.Max(lineRanks[lower], lineRanks[upper]);
        if (low < 0 || high - low < 2) return false;
        for (var p = lower + 1; p < upper; p++)
            if (!(low < lineRanks[p] && lineRanks[p] < high)) return false;
        return true;
    }

    /// <summary>
    /// True when the intermediate voxel at <paramref name="position"/> lies in a thin band along the same line,
    /// or might (the line leaves the volume within reach, so it cannot be ruled out: be conservative).
    /// </summary>
    private static bool IsInsideThinBand(int[] lineRanks, int position, int maxBandVoxels, int topRank)
    {
        var rank = lineRanks[position];
        if (rank <= 0 || rank >= topRank) return false;
        for (var p = position - maxBandVoxels; p <= position + maxBandVoxels; p++)
            if (lineRanks[p] == BeyondVolume) return true;
        for (var band = 1; band <= maxBandVoxels; band++)
            for (var a = 1; a <= band; a++)
            {
                int upper = position + a, lower = position - (band + 1 - a);
                if (lower < 0 || upper >= lineRanks.Length) continue;
                if (IsThinBandBetween(lineRanks, lower, upper, out var low, out var high) && low < rank && rank < high) return true;
            }
        return false;
    }

    /// <summary>Rank marking a line position outside the volume (unranked labels are -1).</summary>
    private const int BeyondVolume = -2;

    /// <summary>Ranks and intensities along (dz,dy,dx) through the voxel; -1 for unranked labels, <see cref="BeyondVolume"/> outside.</summary>
    private static void GatherLine(Volume<byte> labels, Volume<float> intensity, sbyte[] rankOf, int z, int y, int x, int dz, int dy, int dx, int[] ranks, float[] values)
    {
        var centre = ranks.Length / 2;
        for (var p = 0; p < ranks.Length; p++)
        {
            var step = p - centre;
            int zz = z + step * dz, yy = y + step * dy, xx = x + step * dx;
            if ((uint)zz >= (uint)labels.Depth || (uint)yy >= (uint)labels.Height || (uint)xx >= (uint)labels.Width)
            {
                ranks[p] = BeyondVolume;
                values[p] = float.NaN;
                continue;
            }
            var index = ((long)zz * labels.Height + yy) * labels.Width + xx;
            ranks[p] = rankOf[labels.Data[index]];
            values[p] = intensity.Data[index];
        }
    }

    private static bool NeighbourhoodIsUniform(Volume<byte> labels, sbyte[] rankOf, int z, int y, int x, int rank)
    {
        for (var zz = Math.Max(0, z - 1); zz <= Math.Min(labels.Depth - 1, z + 1); zz++)
            for (var yy = Math.Max(0, y - 1); yy <= Math.Min(labels.Height - 1, y + 1); yy++)
            {
                var row = labels.Data.AsSpan((int)(((long)zz * labels.Height + yy) * labels.Width), labels.Width);
                for (var xx = Math.Max(0, x - 1); xx <= Math.Min(labels.Width - 1, x + 1); xx++)
                    if (rankOf[row[xx]] != rank) return false;
            }
        return true;
    }

    private static (int, int, int)[] BuildLineDirections()
    {
        var directions = new List<(int, int, int)>();
        for (var dz = -1; dz <= 1; dz++)
            for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                    if (dz > 0 || (dz == 0 && dy > 0) || (dz == 0 && dy == 0 && dx > 0))
                        directions.Add((dz, dy, dx));
        return directions.ToArray();
    }
}
