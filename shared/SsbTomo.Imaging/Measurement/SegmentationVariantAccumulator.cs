using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Measurement;

/// <summary>Phase counts (index = label) and NMC contact faces of one segmentation variant over the whole volume.</summary>
public sealed record VariantTally(string Name, double[] Thresholds, long[] LabelCounts, ContactFaces Contact)
{
    public PhaseFractionSet Fractions => PhaseFractions.FromCounts(LabelCounts);
}

/// <summary>
/// Which rows of a stack the metrics stage counts the smoothed surface areas on (<see cref="SmoothedSurfaceAreaAccumulator"/>):
/// the bands of <paramref name="BandRows"/> rows whose index (row / BandRows, in stack coordinates) is a multiple of
/// <paramref name="Every"/>; every row when Every is 1. Fixed by the stack's shape alone, so every tile counts the same
/// voxels. (The threshold variants were counted on the same bands until they moved to <see cref="VariantBlockSample"/>.)
/// </summary>
public sealed record VariantRowSample(int BandRows, int Every)
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

    public static VariantRowSample AllRows { get; } = new(DefaultBandRows, 1);

    public static VariantRowSample For(long stackVoxels)
    {
        if (stackVoxels < SampleFromVoxels) return AllRows;
        var every = DefaultEvery;
        while (every < MaximumEvery && stackVoxels / (2 * every) >= TargetSampledVoxels) every *= 2;
        return new VariantRowSample(DefaultBandRows, every);
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

    /// <summary>Stacks below this many voxels count every voxel (<see cref="VariantRowSample.SampleFromVoxels"/>).</summary>
    public const long SampleFromVoxels = VariantRowSample.SampleFromVoxels;

    /// <summary>
    /// About the voxels a sampled stack counts (whole blocks: 0.9-2 times it): on 64x1024x1024 a band sample of 16.8 / 8.4 / 4.2 Mvoxel put every
    /// interval end within 0.024 / 0.023 / 0.103 pp of every voxel's (`-- variant-sample`).
    /// </summary>
    public const long TargetSampledVoxels = VariantRowSample.TargetSampledVoxels;

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
        while (every > 1 && (Gcd(every, rows) != 1 || Gcd(every, columns) != 1)) every--;
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

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

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

/// <summary>
/// Re-segments the denoised volume, slab by slab, with each <see cref="ThresholdVariant"/> exactly as the segmentation
/// stage does (<see cref="PhaseSegmentation"/> with its halo), and counts phases and NMC contact
/// faces per variant. Cleanup runs again for every variant on purpose: moving a threshold turns blurred NMC|void edges
/// into fresh intermediate skins, which relabelling voxels alone would keep (inflating the interval) and the real
/// segmentation removes. Pass windows (slab and y/x tile) read with <see cref="RequiredHaloSlices"/> of halo, in any
/// order; sums equal the whole-volume answer. The halo is the segmentation's plus one voxel: a window counts the faces
/// from its owned voxels to the next voxel along each axis, so that voxel's label must be exact too.
/// <para>
/// With a <see cref="VariantBlockSample"/> that is not every voxel, each window segments only the parts of the sampled
/// blocks it owns (each read with the same halo in z, y and x, so their voxels are exact), with every variant and with the
/// reported thresholds, and <see cref="Result"/> ends with the reported segmentation's tally on those voxels
/// (<see cref="VariantBlockSample.SampledBaseName"/>) for <see cref="VariantBlockSample.Estimate"/>.
/// </para>
/// </summary>
public sealed class SegmentationVariantAccumulator
{
    private readonly IReadOnlyList<ThresholdVariant> _variants;
    private readonly double[] _classMeans;
    private readonly double _shineThroughExcess;
    private readonly double _fibreSigmaVoxels;
    private readonly VariantBlockSample _sample;
    private readonly long[][] _counts;
    private readonly ContactFaces[] _contact;

    /// <param name="classMeansDarkToBright">Means of void, carbon, LPS and NMC, as the segmentation stage used them.</param>
    /// <param name="shineThroughExcess">The stack's <see cref="ShineThroughEstimate"/>, as the segmentation stage used it.</param>
    /// <param name="fibreSigmaVoxels">The tube σ of <see cref="FibreHalfDepth"/>, as the segmentation stage used it (0: off).</param>
    /// <param name="sample">Voxels to count on (null: all); when not all, <paramref name="reportedThresholds"/> are needed for the sampled base.</param>
    /// <param name="reportedThresholds">The thresholds of the reported segmentation.</param>
    public SegmentationVariantAccumulator(IReadOnlyList<ThresholdVariant> variants, double[] classMeansDarkToBright, double shineThroughExcess = 0,
        double fibreSigmaVoxels = 0, VariantBlockSample? sample = null, double[]? reportedThresholds = null)
    {
        if (classMeansDarkToBright.Length != PhaseClassifier.BseDarkToBright.Length)
            throw new ArgumentException("one class mean per phase (void, carbon, LPS, NMC) is needed", nameof(classMeansDarkToBright));
        _sample = sample ?? VariantBlockSample.AllVoxels;
        if (!_sample.IsAllVoxels)
            variants = [.. variants, new ThresholdVariant(VariantBlockSample.SampledBaseName,
                reportedThresholds ?? throw new ArgumentNullException(nameof(reportedThresholds), "a sampled tally needs the reported thresholds"))];
        _variants = variants;
        _classMeans = classMeansDarkToBright;
        _shineThroughExcess = shineThroughExcess;
        _fibreSigmaVoxels = fibreSigmaVoxels;
        _counts = variants.Select(_ => new long[PhaseLabel.Count]).ToArray();
        _contact = new ContactFaces[variants.Count];
    }

    /// <summary>The halo for a shine-through correction of 0 (<see cref="PhaseSegmentation.RequiredHaloSlices"/> plus the faces' voxel).</summary>
    public static int RequiredHaloSlices => PhaseSegmentation.RequiredHaloSlices + 1;

    /// <summary>The halo with the fibres' half-depth rule at tube σ <paramref name="fibreSigmaVoxels"/> (0: without it), correction 0.</summary>
    public static int RequiredHaloSlicesWithFibres(double fibreSigmaVoxels) => PhaseSegmentation.RequiredHaloSlicesWithFibres(fibreSigmaVoxels) + 1;

    /// <summary>As <see cref="PhaseSegmentation.RequiredHaloSlicesWithFibres(double, double)"/> plus the faces' voxel.</summary>
    public static int RequiredHaloSlicesWithFibres(double fibreSigmaVoxels, double shineThroughCorrection) =>
        PhaseSegmentation.RequiredHaloSlicesWithFibres(fibreSigmaVoxels, shineThroughCorrection) + 1;

    /// <summary>The halo in y and x (<see cref="PhaseSegmentation.RequiredHaloPixelsWithFibres"/> plus the faces' voxel).</summary>
    public static int RequiredHaloPixelsWithFibres(double fibreSigmaVoxels) => PhaseSegmentation.RequiredHaloPixelsWithFibres(fibreSigmaVoxels) + 1;

    /// <summary>One slab of whole slices of denoised intensities read through <paramref name="window"/> (owned slices plus halo).</summary>
    public void Add(Volume<float> intensitySlab, SlabWindow window) =>
        Add(intensitySlab, window, TileWindow.Whole(intensitySlab.Height, intensitySlab.Width));

    /// <summary>One window of denoised intensities: the slab <paramref name="window"/> x the y/x <paramref name="tile"/>, both with halo.</summary>
    public void Add(Volume<float> intensityWindow, SlabWindow window, TileWindow tile)
    {
        if (intensityWindow.Depth != window.SlabSlices || intensityWindow.Height != tile.ReadHeight || intensityWindow.Width != tile.ReadWidth)
            throw new ArgumentException($"window is {intensityWindow.Depth}x{intensityWindow.Height}x{intensityWindow.Width}, "
                + $"expected {window.SlabSlices}x{tile.ReadHeight}x{tile.ReadWidth}", nameof(intensityWindow));
        if (_sample.IsAllVoxels)
        {
            CountOwned(intensityWindow, window, tile);
            return;
        }
        // Each sampled block's owned part with the recipe's halo (the window was read with at least that much; clipped where
        // the window ends: there the stack ends).
        var (zHalo, halo) = (RequiredHaloSlicesWithFibres(_fibreSigmaVoxels, _shineThroughExcess), RequiredHaloPixelsWithFibres(_fibreSigmaVoxels));
        foreach (var b in _sample.Blocks(window.OwnedZ0, window.OwnedZ1, tile.OwnedY0, tile.OwnedY1, tile.OwnedX0, tile.OwnedX1))
        {
            var (readZ0, readZ1) = (Math.Max(window.SlabZ0, b.Z0 - zHalo), Math.Min(window.SlabZ1, b.Z1 + zHalo));
            var (readY0, readY1) = (Math.Max(tile.ReadY0, b.Y0 - halo), Math.Min(tile.ReadY1, b.Y1 + halo));
            var (readX0, readX1) = (Math.Max(tile.ReadX0, b.X0 - halo), Math.Min(tile.ReadX1, b.X1 + halo));
            var inWindow = new TileWindow(readY0 - tile.ReadY0, readY1 - tile.ReadY0, readX0 - tile.ReadX0, readX1 - tile.ReadX0,
                readY0 - tile.ReadY0, readY1 - tile.ReadY0, readX0 - tile.ReadX0, readX1 - tile.ReadX0);
            var block = TileGrid.Crop(Halo.CropZ(intensityWindow, readZ0 - window.SlabZ0, readZ1 - window.SlabZ0), inWindow);
            CountOwned(block, new SlabWindow(readZ0, readZ1, b.Z0, b.Z1), new TileWindow(readY0, readY1, readX0, readX1, b.Y0, b.Y1, b.X0, b.X1),
                VariantsAtOnceOnBlocks);
        }
    }

    /// <summary>
    /// Variants segmented at once on a sampled block. A block is a few dozen rows: each segmentation's steps split it by slices
    /// over the cores but leave one idle in their serial parts (the counts, the crops, the steps' set-up), so on 2 cores the
    /// variants took 1.6 cores (64x1024x1024, every 4th band of rows, the blocks' forerunner). Two at a time hold two blocks'
    /// working copies, each a small part of a window; whole windows (every voxel counted) stay one at a time, since the
    /// window is what the budget sizes. A tuning of the schedule (measured on these 2-core machines), not of any result: the
    /// tallies are the same for any value.
    /// </summary>
    public const int VariantsAtOnceOnBlocks = 2;

    private void CountOwned(Volume<float> intensityWindow, SlabWindow window, TileWindow tile, int variantsAtOnce = 1)
    {
        var (z0, (y0, x0)) = (window.OwnedStartInSlab, tile.OwnedStartInRead);
        var (z1, y1, x1) = (z0 + window.OwnedSlices, y0 + tile.OwnedHeight, x0 + tile.OwnedWidth);
        // The faces reach one voxel beyond the owned slices.
        var exact = window.OwnedInSlab.Grow(0, 1, intensityWindow.Depth);
        // The variants differ in thresholds only, so the fibres' rule tests a voxel for a tube core once for all of them.
        var tubeCores = _fibreSigmaVoxels > 0 ? new FibreHalfDepth.TubeCoreCache(intensityWindow, _fibreSigmaVoxels, _classMeans) : null;
        // Each variant adds to its own tallies only: the sums do not depend on the order.
        Parallel.For(0, _variants.Count, new ParallelOptions { MaxDegreeOfParallelism = variantsAtOnce }, v =>
        {
            var labels = PhaseSegmentation.Segment(intensityWindow, _variants[v].Thresholds, _classMeans, _shineThroughExcess, _fibreSigmaVoxels, exact, tubeCores);
            _contact[v] += ContactLoss.CountFrom(labels, z0, z1, y0, y1, x0, x1);
            var counts = PhaseFractions.Count(TileGrid.CropToOwned(labels, window, tile));
            for (var i = 0; i < counts.Length; i++) _counts[v][i] += counts[i];
        });
    }

    public IReadOnlyList<VariantTally> Result() =>
        _variants.Select((variant, v) => new VariantTally(variant.Name, variant.Thresholds, (long[])_counts[v].Clone(), _contact[v])).ToArray();
}
