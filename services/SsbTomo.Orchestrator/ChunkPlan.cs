namespace SsbTomo.Orchestrator;

/// <summary>Splits a stack into consecutive slabs of slices, the unit of segmentation fan-out.</summary>
public static class ChunkPlan
{
    /// <summary>The slab of the services' configuration (<c>SsbTomo:ChunkSlices</c>) and of stacks with large slices.</summary>
    public const int DefaultSlices = 16;

    /// <summary>The slab <see cref="SlicesFor"/> gives stacks whose slices are small enough.</summary>
    public const int LargeSlabSlices = 32;

    /// <summary>Halo slices an alignment measurement chunk prepares besides its own: the registration's farthest pair.</summary>
    private static int AlignmentHaloSlices => Imaging.Alignment.PairwiseRegistration.DefaultOffsets[^1];

    /// <summary>
    /// Bytes a slice pixel costs while ingest and alignment hold a slab of whole slices: the uint16 slice, its float copy
    /// and the corrections' buffers (the alignment stage peaked at ~1.9 GiB with 16 + 8 slices of 3072x4096, ~6.4 bytes a pixel).
    /// </summary>
    private const int WholeSliceBytesPerPixel = 8;

    /// <summary>
    /// The slab for a stack of <paramref name="height"/> x <paramref name="width"/> slices when the submitter gives none:
    /// 32 slices where the slabs of whole slices that ingest and alignment hold at once (the slab and alignment's 8 halo
    /// slices, once per alignment worker in the process) fit half of the memory budget, else 16. Every stage after them
    /// works on y/x tiles, so only those two set the limit; a larger slab costs the fanned-out stages fewer halo slices
    /// per slice they own (segmentation reads 15 on each side), so the 64x1024x1024 phantom runs in ~15 % less CPU at 32
    /// than at 16 (README, Scaling). The labels are the same bytes for any slab.
    /// </summary>
    public static int SlicesFor(int height, int width, long memoryBudgetBytes, int alignmentWorkers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(alignmentWorkers);
        var wholeSlices = (long)alignmentWorkers * (LargeSlabSlices + AlignmentHaloSlices) * height * width * WholeSliceBytesPerPixel;
        return wholeSlices <= memoryBudgetBytes / 2 ? LargeSlabSlices : DefaultSlices;
    }

    public static int Count(int slices, int chunkSlices) => (slices + chunkSlices - 1) / chunkSlices;

    public static IEnumerable<(int Index, int Z0, int Z1)> Slabs(int slices, int chunkSlices)
    {
        for (var i = 0; i < Count(slices, chunkSlices); i++)
            yield return (i, i * chunkSlices, Math.Min(slices, (i + 1) * chunkSlices));
    }
}
