using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator.Tests;

public sealed class ProcessMemoryTests
{
    [Fact]
    public void Compacting_the_heap_closes_the_gaps_that_dropped_large_arrays_leave()
    {
        // Large arrays allocated in turn with every other one dropped: a sweeping collection leaves their space as gaps in
        // the large-object heap, which is what made the particle split's one large array fail under the heap's hard limit.
        // Each array is larger than any before it, so a collection that runs during the loop (other tests allocate in
        // this process too) cannot hand a dropped array's gap to a later one: with equal sizes it did, and under load the
        // loop sometimes left only 14 MiB of gaps.
        var kept = new List<byte[]>();
        for (var i = 0; i < 64; i++)
        {
            var array = new byte[(512 << 10) + i * (32 << 10)];
            array[^1] = 1;
            if (i % 2 == 0) kept.Add(array);
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        var gapsBefore = GC.GetGCMemoryInfo(GCKind.FullBlocking).GenerationInfo[3].FragmentationAfterBytes;
        Assert.True(gapsBefore >= 16L << 20, $"the dropped arrays left only {gapsBefore >> 20} MiB of gaps; the test needs them");

        ProcessMemory.CompactHeap();

        var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        Assert.True(info.Compacted);
        Assert.True(info.GenerationInfo[3].FragmentationAfterBytes < 4L << 20,
            $"{info.GenerationInfo[3].FragmentationAfterBytes >> 20} MiB of gaps left in the large-object heap (before: {gapsBefore >> 20} MiB)");
        GC.KeepAlive(kept);
    }
}
