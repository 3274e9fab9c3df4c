namespace SsbTomo.Orchestrator;

/// <summary>Splits a stack into consecutive slabs of slices, the unit of segmentation fan-out.</summary>
public static class ChunkPlan
{
    public static int Count(int slices, int chunkSlices) => (slices + chunkSlices - 1) / chunkSlices;

    public static IEnumerable<(int Index, int Z0, int Z1)> Slabs(int slices, int chunkSlices)
    {
        for (var i = 0; i < Count(slices, chunkSlices); i++)
            yield return (i, i * chunkSlices, Math.Min(slices, (i + 1) * chunkSlices));
    }
}
