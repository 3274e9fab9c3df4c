namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Which voxels of a stack the threshold variants are counted on: blocks of <see cref="BlockSlices"/> x <see cref="BlockRows"/>
/// x <see cref="BlockColumns"/> voxels in stack coordinates, numbered in raster order (x fastest, then y, then z), of which
/// every <see cref="Every"/>th is counted (number 0, Every, 2·Every, ...; <see cref="Offset"/> shifts them); every voxel when Every is 1. Fixed by the stack's
/// shape alone, so every chunk, tile and worker counts the same voxels whatever the slab or tile size.
/// <para>
/// Why blocks and not bands of rows through every slice: a band is counted in every slice, so the sparsest band sample
/// (one in sixteen, two bands of a 1536-row slice) still counted 63 Mvoxel of a 1 Gvoxel stack and made the variants
/// ~40 % of the segmentation stage's CPU there, and a real 25 Gvoxel acquisition 1.6 Gvoxel. Blocks sample z as well,
/// so the counted voxels stay near <see cref="TargetSampledVoxels"/> however large the stack. A block costs what a band
/// of the same voxels cost (it is read with the recipe's halo in z, y and x, as a band was within its window). Every is
/// chosen prime to the blocks per row and per column, so the counted blocks step across the columns and down the rows
/// from one to the next instead of repeating one column of blocks through the stack.
/// </para>
/// </summary>
/// <param name="Every">One block counted in this many (1: every voxel).</param>
/// <param name="StackHeight">The stack's rows (the blocks' numbering depends on it).</param>
/// <param name="StackWidth">The stack's columns.</param>
/// <param name="BlockSlices">Slices of a block (tests use smaller blocks).</param>
/// <param name="BlockRows">Rows of a block.</param>
/// <param name="BlockColumns">Columns of a block.</param>
/// <param name="Offset">The number, modulo Every, of the counted blocks: 0 in the pipeline; the studies shift it to measure the
/// sample's own spread.</param>
public sealed record VariantBlockSample(int Every, int StackHeight, int StackWidth, int BlockSlices = VariantBlockSample.DefaultBlockSlices,
    int BlockRows = VariantBlockSample.DefaultBlockRows, int BlockColumns = VariantBlockSample.DefaultBlockColumns, int Offset = 0)
{
    /// <summary>
    /// Slices, rows and columns of a block: the rows as the bands had them, the columns one storage tile, the slices the
    /// large slab; with the recipe's halo (20 slices, 14 pixels at 50 nm) a block reads ~3.4 times its voxels, as a band did.
    /// </summary>
    public const int DefaultBlockSlices = 32, DefaultBlockRows = 64, DefaultBlockColumns = 512;

    /// <summary>Stacks below this many voxels count every voxel (<see cref="RowBandSample.SampleFromVoxels"/>).</summary>
    public const long SampleFromVoxels = RowBandSample.SampleFromVoxels;

    /// <summary>
    /// About the voxels a sampled stack counts (whole blocks: 0.9-2 times it): on 64x1024x1024 a band sample of 16.8 / 8.4 / 4.2 Mvoxel put every
    /// interval end within 0.024 / 0.023 / 0.103 pp of every voxel's (`-- variant-sample`).
    /// </summary>
    public const long TargetSampledVoxels = RowBandSample.TargetSampledVoxels;

    /// <summary>The name of the tally that counts the reported segmentation on the sampled voxels (last in a sampled result).</summary>
    public const string SampledBaseName = "sampled base";

    /// <summary>Every voxel of a stack of any shape.</summary>
    public static VariantBlockSample AllVoxels { get; } = new(1, 1, 1);

    public bool IsAllVoxels => Every == 1;

    /// <summary>
    /// The sample of a <paramref name="depth"/> x <paramref name="height"/> x <paramref name="width"/> stack: every voxel
    /// below <see cref="SampleFromVoxels"/>, else the largest Every that counts about <see cref="TargetSampledVoxels"/>
    /// and is prime to the blocks per row and per column.
    /// </summary>
    public static VariantBlockSample For(int depth, int height, int width) => For(depth, height, width, TargetSampledVoxels, SampleFromVoxels);

    /// <summary>The same rule for another target and threshold (the studies force a sample on small stacks).</summary>
    public static VariantBlockSample For(int depth, int height, int width, long targetSampledVoxels, long sampleFromVoxels)
    {
        var voxels = (long)depth * height * width;
        if (voxels < sampleFromVoxels) return AllVoxels;
        var (rows, columns) = (BlockCount(height, DefaultBlockRows), BlockCount(width, DefaultBlockColumns));
        var every = (int)Math.Max(1, Math.Min(int.MaxValue, voxels / Math.Max(1, targetSampledVoxels)));
        while (every > 1 && (IntegerMath.Gcd(every, rows) != 1 || IntegerMath.Gcd(every, columns) != 1)) every--;
        return new VariantBlockSample(every, height, width);
    }

    /// <summary>The sampled blocks' parts inside [z0, z1) x [y0, y1) x [x0, x1) (stack coordinates), each as its box.</summary>
    public IEnumerable<(int Z0, int Z1, int Y0, int Y1, int X0, int X1)> Blocks(int z0, int z1, int y0, int y1, int x0, int x1)
    {
        var (rows, columns) = (BlockCount(StackHeight, BlockRows), BlockCount(StackWidth, BlockColumns));
        for (var bz = z0 / BlockSlices; bz * BlockSlices < z1; bz++)
            for (var by = y0 / BlockRows; by * BlockRows < y1; by++)
                for (var bx = x0 / BlockColumns; bx * BlockColumns < x1; bx++)
                    if (((long)bz * rows + by) * columns + bx is var index && index % Every == Offset)
                        yield return (Math.Max(z0, bz * BlockSlices), Math.Min(z1, (bz + 1) * BlockSlices),
                            Math.Max(y0, by * BlockRows), Math.Min(y1, (by + 1) * BlockRows),
                            Math.Max(x0, bx * BlockColumns), Math.Min(x1, (bx + 1) * BlockColumns));
    }

    /// <summary>Share of a stack's voxels counted.</summary>
    public double VoxelShare(int depth) =>
        IsAllVoxels ? 1 : (double)Blocks(0, depth, 0, StackHeight, 0, StackWidth)
            .Sum(b => (long)(b.Z1 - b.Z0) * (b.Y1 - b.Y0) * (b.X1 - b.X0)) / ((long)depth * StackHeight * StackWidth);

    private static int BlockCount(int length, int blockLength) => (length + blockLength - 1) / blockLength;

    /// <summary>
    /// Whole-volume tallies estimated from sampled ones: each variant's counts are the reported segmentation's whole-volume
    /// counts plus the variant's difference from the reported segmentation on the sampled voxels, scaled by the volume's
    /// voxels over the sampled voxels (the same for label counts and contact faces). <paramref name="sampled"/> ends with
    /// the <see cref="SampledBaseName"/> tally.
    /// </summary>
    public static IReadOnlyList<VariantTally> Estimate(IReadOnlyList<VariantTally> sampled, long[] wholeCounts, ContactFaces wholeContact)
    {
        if (sampled.Count == 0 || sampled[^1].Name != SampledBaseName)
            throw new ArgumentException($"sampled tallies end with '{SampledBaseName}'", nameof(sampled));
        var sampledBase = sampled[^1];
        var sampledVoxels = sampledBase.LabelCounts.Sum();
        if (sampledVoxels == 0) throw new ArgumentException("no voxel was sampled", nameof(sampled));
        var scale = (double)wholeCounts.Sum() / sampledVoxels;
        long Scaled(long whole, long variant, long reference) => Math.Max(0, whole + (long)Math.Round(scale * (variant - reference)));
        return sampled.Take(sampled.Count - 1).Select(v => v with
        {
            LabelCounts = v.LabelCounts.Select((n, i) => Scaled(wholeCounts[i], n, sampledBase.LabelCounts[i])).ToArray(),
            Contact = new ContactFaces(Scaled(wholeContact.NmcSurface, v.Contact.NmcSurface, sampledBase.Contact.NmcSurface),
                Scaled(wholeContact.NmcVoid, v.Contact.NmcVoid, sampledBase.Contact.NmcVoid)),
        }).ToArray();
    }
}
