namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Which rows of a stack the metrics stage counts the smoothed surface areas on (<see cref="SmoothedSurfaceAreaAccumulator"/>):
/// the bands of <paramref name="BandRows"/> rows whose index (row / BandRows, in stack coordinates) is a multiple of
/// <paramref name="Every"/>; every row when Every is 1. Fixed by the stack's shape alone, so every tile counts the same
/// voxels. (The threshold variants were counted on the same bands until they moved to <see cref="VariantBlockSample"/>.)
/// </summary>
public sealed record RowBandSample(int BandRows, int Every)
{
    /// <summary>
    /// Stacks from this many voxels on are counted on a quarter of their rows (first for the threshold variants, whose eight
    /// re-segmentations were most of the pipeline's CPU: 64x1024x1024, 161 of 322 CPU-seconds in the segmentation stage);
    /// a quarter of 32 Mvoxel is still 8 Mvoxel of boundaries to count. Below it every row is counted.
    /// </summary>
    public const long SampleFromVoxels = 32_000_000;

    /// <summary>Rows per band: against the rows a band must read beyond itself (the recipe's in-plane halo with the faces' voxel: 14 at a tube σ of 1.5, since the particle faces' gaps; 10 before), 64 keeps that overhead under half.</summary>
    public const int DefaultBandRows = 64;

    /// <summary>Every fourth band, from <see cref="SampleFromVoxels"/> on.</summary>
    public const int DefaultEvery = 4;

    /// <summary>
    /// Larger stacks sample sparser, down to every <see cref="MaximumEvery"/>th band, while at least this many voxels are
    /// still counted: the re-segmentations scale with the stack, the precision they need does not. On 64x1024x1024 every
    /// 4th / 8th / 16th band (16.8 / 8.4 / 4.2 Mvoxel) put every interval end within 0.024 / 0.023 / 0.103 pp of every
    /// row's (`-- variant-sample --every N`; the worst the contact loss at 16); a 1 Gvoxel stack counts 63 Mvoxel at every 16th.
    /// </summary>
    public const long TargetSampledVoxels = 16_000_000;

    /// <summary>The sparsest sample: at least a band in sixteen, so that a 1536-row slice still has two bands counted.</summary>
    public const int MaximumEvery = 16;

    public static RowBandSample AllRows { get; } = new(DefaultBandRows, 1);

    public static RowBandSample For(long stackVoxels)
    {
        if (stackVoxels < SampleFromVoxels) return AllRows;
        var every = DefaultEvery;
        while (every < MaximumEvery && stackVoxels / (2 * every) >= TargetSampledVoxels) every *= 2;
        return new RowBandSample(DefaultBandRows, every);
    }

    public bool IsAllRows => Every == 1;

    /// <summary>Share of a tall stack's rows counted.</summary>
    public double RowShare => 1.0 / Every;

    /// <summary>The sampled rows within [<paramref name="y0"/>, <paramref name="y1"/>), as ranges in stack coordinates.</summary>
    public IEnumerable<(int Y0, int Y1)> Bands(int y0, int y1)
    {
        for (var band = y0 / BandRows; band * BandRows < y1; band++)
            if (band % Every == 0)
                yield return (Math.Max(y0, band * BandRows), Math.Min(y1, (band + 1) * BandRows));
    }
}
