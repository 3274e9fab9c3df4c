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
        return WholeSlabsFit(height, width, memoryBudgetBytes, alignmentWorkers, LargeSlabSlices) ? LargeSlabSlices : DefaultSlices;
    }

    /// <summary>
    /// The slab and the alignment workers for an embedded run of <paramref name="slices"/> slices of <paramref name="height"/>
    /// x <paramref name="width"/> when the submitter gives neither: the slab <see cref="SlicesFor"/> gives one worker (the
    /// large slab saves the fanned-out stages more than a second worker on smaller slabs would save the alignment on a
    /// short stack), then as many alignment workers as there are cores and slabs while their slabs of whole slices fit half
    /// the budget together (<see cref="AlignmentWorkersFor"/>). Workers, not kernel threads: one
    /// worker's alignment kernels on two threads took the same wall time as on one (64x1024x1024, 38.0 vs 38.2 s, 58 vs 43
    /// CPU-s), two single-threaded workers 23.6 s (README, Scaling). The alignment results are the same bytes for any number of workers.
    /// </summary>
    public static (int SlabSlices, int AlignmentWorkers) EmbeddedPlan(int slices, int height, int width, long memoryBudgetBytes, int processors)
    {
        var slab = SlicesFor(height, width, memoryBudgetBytes);
        return (slab, AlignmentWorkersFor(slices, height, width, memoryBudgetBytes, processors, slab));
    }

    /// <summary>
    /// The alignment workers an embedded run with slabs of <paramref name="slabSlices"/> gets when the submitter gives none:
    /// the most, up to the cores and the slabs, whose slabs of whole slices fit half the budget together; at least one.
    /// </summary>
    public static int AlignmentWorkersFor(int slices, int height, int width, long memoryBudgetBytes, int processors, int slabSlices)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slices);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(processors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slabSlices);
        for (var workers = Math.Min(processors, Count(slices, slabSlices)); workers >= 2; workers--)
            if (WholeSlabsFit(height, width, memoryBudgetBytes, workers, slabSlices))
                return workers;
        return 1;
    }

    private static bool WholeSlabsFit(int height, int width, long memoryBudgetBytes, int workers, int slabSlices) =>
        (long)workers * (slabSlices + AlignmentHaloSlices) * height * width * WholeSliceBytesPerPixel <= memoryBudgetBytes / 2;

    /// <summary>
    /// Slices per command of the fanned-out stages that <c>ssbtomo run</c> asks for (<see cref="FanOutSlicesFor"/>
    /// rounds it to whole slabs). Segmentation reads ~20 halo slices on each side of what it owns; on the 151 Mvoxel
    /// cycled-50 phantom its recipe took 0.199 / 0.159 / 0.133 CPU-s per owned Mvoxel for 32 / 64 / 96 owned slices
    /// (`segment-cpu --slabs 32,64,96`, README Scaling), and an embedded run works on one command at a time anyway. Since
    /// segmentation's windows may cut storage chunks in y (<c>SlabTilePlan.Parts</c>), a command's slices stay one part in
    /// thinner tiles: at 1 Gvoxel 160-slice commands took denoising, survey and segmentation 28.8 / 39.1 / 139.5 → 24.9 /
    /// 32.1 / 129.3 CPU-s against 96 (README Scaling), the same bytes. 320-slice commands (session 51) leave the 1-Gvoxel
    /// stack one command, no z halo read at all, in tiles the budget makes thinner: segmentation 136.2 / 139.9 → 108.0 / 124.1
    /// CPU-s in runs alternated with 160 (README Scaling), the same labels; stacks of up to 320 slices are one command.
    /// </summary>
    public const int EmbeddedFanOutSlices = 320;

    /// <summary>
    /// The slices per fanned-out command for slabs of <paramref name="chunkSlices"/> when <paramref name="requested"/> are
    /// asked for: the largest whole number of slabs not above the request, at least one slab.
    /// </summary>
    public static int FanOutSlicesFor(int chunkSlices, int requested)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSlices);
        return Math.Max(1, requested / chunkSlices) * chunkSlices;
    }

    public static int Count(int slices, int chunkSlices) => (slices + chunkSlices - 1) / chunkSlices;

    public static IEnumerable<(int Index, int Z0, int Z1)> Slabs(int slices, int chunkSlices)
    {
        for (var i = 0; i < Count(slices, chunkSlices); i++)
            yield return (i, i * chunkSlices, Math.Min(slices, (i + 1) * chunkSlices));
    }
}
