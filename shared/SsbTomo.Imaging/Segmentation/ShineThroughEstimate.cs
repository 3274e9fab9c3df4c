namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// How strongly a stack's pores show the material behind them (shine-through), measured from the grey levels alone,
/// not from any labels. A pore crossed along z (the milling direction) by a column of voxels has a front wall (milled
/// first) and a back wall. Blur acts the same way on both (the point-spread function is symmetric), but only the back
/// wall shines through: the SEM looks into the open pore and sees the wall behind (Prill et al. 2013, Scanning 35:189).
/// So for each pore run — voxels below the solid level between two solid voxels along z, at least one of them dark —
/// the grey of the voxel j slices before the back wall, as a share of the way from the void level to that wall's grey,
/// minus the same share for the voxel j slices after the front wall, is zero on average without shine-through whatever
/// the pores' shapes and walls, and is the shine-through the pores add at distance j from their back wall otherwise.
/// <para>
/// The estimate is the largest median of these paired differences over the distances j = 0..<see cref="Distances"/>−1
/// (the voxel next to the wall is half wall under blur, so the largest excess sits a voxel or two into the pore); the
/// correction acts on the part of it beyond <see cref="RecoveredByMidpoint"/>.
/// It is label-free on purpose: a rule that looked at the labelled pores' rims would see only what the labels already
/// left as void, which is what shine-through takes away (tried, and biased). Counts are histograms per distance so
/// that slabs add bin by bin; each run belongs to the slab that owns its first pore voxel, so the merged counts are the
/// same for any chunking.
/// </para>
/// <para>
/// Measured on finished phantom-family runs (paired differences, <c>-- sweep</c> members 2, 9, 10, 13, 17, 18, 23, 24
/// and the cycled50 preset): −0.004 to 0.008 on members with shine-through below 0.05 of the wall's contrast, 0.06-0.23
/// on members with 0.25-0.55.
/// </para>
/// </summary>
public static class ShineThroughEstimate
{
    /// <summary>Longest pore run along z that is measured: longer runs add nothing at the short distances used.</summary>
    public const int MaxRunSlices = 12;

    /// <summary>Distances from the back wall (0 = the voxel next to it) at which the excess is measured.</summary>
    public const int Distances = 6;

    /// <summary>Histogram of paired differences per distance: <see cref="Bins"/> bins 0.01 wide, centred on -1, -0.99, ..., 1.</summary>
    public const int Bins = 201;

    private const double BinWidth = 2.0 / (Bins - 1);

    /// <summary>A distance measured on fewer runs than this is not used (its median would be noise).</summary>
    public const long MinimumRuns = 200;

    /// <summary>
    /// Largest excess the correction acts on: beyond it, the partial-volume voxels of the pores' solid back walls (half
    /// wall, half pore) would be taken as pore too.
    /// </summary>
    public const double MaximumExcess = 0.4;

    /// <summary>
    /// The excess of stacks whose shine-through the midpoint rule already recovers: pores that show up to about 0.4 of
    /// their wall's contrast measure 0.08-0.13 (phantom family members 9, 11, 17, 21, 22), stacks without shine-through
    /// 0.01-0.03. The correction acts on the excess beyond it only. Acting on all of it (tried on the 24 family members)
    /// brings the strong-shine-through members 10, 23, 24 closest (void −1.65/−1.85/−1.54 → −0.40/−0.75/−1.16 pp) but
    /// adds 0.3-0.6 pp of void where the void is already over-estimated for other reasons (members 3, 8, 14, 19:
    /// partial-volume rims misread, noisy 8-bit); beyond this floor, 10, 23, 24 read −0.96/−1.33/−1.43 pp and the others
    /// move by at most 0.14 pp.
    /// </summary>
    public const double RecoveredByMidpoint = 0.1;

    /// <summary>A run is a pore when some voxel in it is darker than this share of the way from void to electrolyte.</summary>
    public const double DarkShare = 0.25;

    /// <summary>A slab needs its first owned run's front wall (one slice before) and its last run's back wall.</summary>
    public static int RequiredHaloSlices => MaxRunSlices + 1;

    public static int HistogramLength => Distances * Bins;

    /// <summary>
    /// Paired differences of the runs whose first pore voxel lies in the owned slices and owned columns of a slab tile
    /// (denoised grey levels, read with <see cref="RequiredHaloSlices"/>), binned per distance: index
    /// <c>distance · Bins + bin</c>. <paramref name="classMeans"/>: void, carbon, electrolyte, active material.
    /// </summary>
    public static long[] CountRuns(Volume<ushort> slab, SlabWindow window, TileWindow tile, double[] classMeans)
    {
        if (slab.Height != tile.ReadHeight || slab.Width != tile.ReadWidth)
            throw new ArgumentException($"slab is {slab.Height}x{slab.Width} pixels, the tile expects {tile.ReadHeight}x{tile.ReadWidth}", nameof(slab));
        if (slab.Depth != window.SlabSlices)
            throw new ArgumentException($"slab has {slab.Depth} slices, window expects {window.SlabSlices}", nameof(slab));
        if (classMeans.Length != 4)
            throw new ArgumentException("four class means (void, carbon, electrolyte, active material) are needed", nameof(classMeans));
        var counts = new long[HistogramLength];
        var voidLevel = classMeans[0];
        var solidLevel = 0.5 * (classMeans[1] + classMeans[2]);
        var darkLevel = voidLevel + DarkShare * (classMeans[2] - voidLevel);
        if (!(solidLevel > voidLevel) || !(darkLevel > voidLevel)) return counts;

        var plane = slab.SliceLength;
        var firstFront = Math.Max(window.OwnedStartInSlab, 1);
        var lastFront = window.OwnedStartInSlab + window.OwnedSlices;
        var (ownedY0, ownedX0) = tile.OwnedStartInRead;
        var lockObject = new object();
        Parallel.For(ownedY0, ownedY0 + tile.OwnedHeight, () => new long[HistogramLength], (y, _, local) =>
        {
            var column = new double[slab.Depth];
            for (var x = ownedX0; x < ownedX0 + tile.OwnedWidth; x++)
            {
                var offset = y * slab.Width + x;
                for (var z = 0; z < slab.Depth; z++) column[z] = slab.Data[z * (long)plane + offset];
                for (var front = firstFront; front < lastFront; front++)
                {
                    if (column[front - 1] < solidLevel || column[front] >= solidLevel) continue;
                    var back = front;
                    var dark = false;
                    while (back < slab.Depth && back - front <= MaxRunSlices && column[back] < solidLevel)
                    {
                        dark |= column[back] <= darkLevel;
                        back++;
                    }
                    var length = back - front;
                    if (back >= slab.Depth || length > MaxRunSlices || !dark) continue;
                    var frontWall = column[front - 1] - voidLevel;
                    var backWall = column[back] - voidLevel;
                    for (var d = 0; d < Distances && length >= 2 * d + 2; d++)
                    {
                        var difference = (column[back - 1 - d] - voidLevel) / backWall - (column[front + d] - voidLevel) / frontWall;
                        local[d * Bins + BinOf(difference)]++;
                    }
                }
            }
            return local;
        }, local =>
        {
            lock (lockObject)
                for (var i = 0; i < counts.Length; i++) counts[i] += local[i];
        });
        return counts;
    }

    /// <summary>
    /// Below this excess a stack shows no shine-through the estimate tells from its own spread: it reads 0.00-0.05 on family
    /// phantoms drawn with 0-0.2 of the wall's contrast (0.034 on one drawn with none) and 0.09-0.22 on those drawn above
    /// 0.3. There the correction's midpoint rule gives back more carbon fibres and electrolyte behind pores than lit pore
    /// voxels (family 14, excess 0.050: 67 % of its carbon-to-void moves were truly carbon), so the segmentation leaves it
    /// out: void within ±0.5 pp of the truth 78 → 81 % (seeds 1-24 and the presets), 57 → 60 % (301-330), 50 → 55 %
    /// (331-350), no member leaving ±1.5 pp (CleanupStudy "shine gate 0.05"; at 0.07 301-330 fell to 53 %).
    /// </summary>
    public const double DetectionFloor = 0.05;

    /// <summary>The stack's estimate from the merged counts, with the median and number of runs per distance.</summary>
    public static ShineThroughExcess Estimate(long[] counts)
    {
        if (counts.Length != HistogramLength)
            throw new ArgumentException($"expected {HistogramLength} counts ({Distances} distances × {Bins} bins), got {counts.Length}", nameof(counts));
        var medians = new double[Distances];
        var runs = new long[Distances];
        var excess = 0.0;
        for (var d = 0; d < Distances; d++)
        {
            var bins = counts.AsSpan(d * Bins, Bins);
            long total = 0;
            foreach (var c in bins) total += c;
            runs[d] = total;
            medians[d] = total == 0 ? double.NaN : Median(bins, total);
            if (total >= MinimumRuns) excess = Math.Max(excess, medians[d]);
        }
        return new ShineThroughExcess(excess, Math.Clamp(excess - RecoveredByMidpoint, 0, MaximumExcess), medians, runs);
    }

    private static int BinOf(double difference) => Math.Clamp((int)Math.Round((difference + 1) / BinWidth), 0, Bins - 1);

    /// <summary>Median by linear interpolation inside the bin that holds the middle count.</summary>
    private static double Median(ReadOnlySpan<long> bins, long total)
    {
        var half = 0.5 * total;
        long below = 0;
        for (var b = 0; b < bins.Length; b++)
        {
            if (below + bins[b] >= half && bins[b] > 0)
            {
                var lower = -1 + (b - 0.5) * BinWidth;
                return lower + (half - below) / bins[b] * BinWidth;
            }
            below += bins[b];
        }
        return 1;
    }
}

/// <summary>
/// The shine-through the stack's pores show (share of the way from void to the wall behind, 0 = none), the part of it the
/// shine-through correction acts on (<see cref="ShineThroughEstimate.RecoveredByMidpoint"/>) and, per distance from the
/// back wall, the median paired difference and the number of runs it came from.
/// </summary>
public sealed record ShineThroughExcess(double Excess, double Correction, double[] MedianPerDistance, long[] RunsPerDistance)
{
    /// <summary>Whether the stack shows shine-through at all (<see cref="ShineThroughEstimate.DetectionFloor"/>): the segmentation corrects for it only then.</summary>
    public bool Detected => Excess >= ShineThroughEstimate.DetectionFloor;

    /// <summary>Per distance the excess the correction can act on: the median, within [0, MaximumExcess], 0 where too few runs.</summary>
    public double[] UsablePerDistance() => MedianPerDistance
        .Select((m, d) => RunsPerDistance[d] >= ShineThroughEstimate.MinimumRuns ? Math.Clamp(m, 0, ShineThroughEstimate.MaximumExcess) : 0)
        .ToArray();
}
