namespace SsbTomo.Imaging;

/// <summary>
/// Allocates the arrays of tens to hundreds of MiB that a window, a slab or a slice needs, compacting the heap once when
/// it cannot place one. Under a heap hard limit (each service's memory budget) the large-object heap, which the collector
/// does not compact by default, is left in pieces by the arrays of earlier windows and stages; a fresh array of another
/// size can then fail although most of the heap is garbage. The stages compact before each message, but windows of
/// different sizes within one message (edge tiles, z parts) fragment it again: on the 320x1536x2048 phantom a default run
/// still retried one to five chunks per run after an <see cref="OutOfMemoryException"/> at a window's or a slab's
/// allocation (survey, alignment, reconstruction), each retry repeating the chunk's work. Compacting and trying again at
/// the failing allocation costs one collection instead.
/// </summary>
public static class LargeArrays
{
    /// <summary>Arrays from this size live in the large-object heap, which only an explicit compaction moves.</summary>
    public const int LargeObjectBytes = 85_000;

    /// <summary>A zeroed array of <paramref name="length"/> elements.</summary>
    public static T[] New<T>(long length) where T : unmanaged =>
        AllocateOrCompact(length, static n => new T[n]);

    /// <summary>An array whose contents are whatever the heap held (every element is written before it is read).</summary>
    public static T[] Uninitialized<T>(long length) where T : unmanaged =>
        AllocateOrCompact(length, static n => GC.AllocateUninitializedArray<T>(n));

    private static readonly List<Action> PoolClears = [];

    /// <summary>Has <see cref="CompactHeap"/> call <paramref name="clear"/> first (each <see cref="LargeArrayPool{T}"/> lets its arrays go).</summary>
    internal static void OnCompaction(Action clear)
    {
        lock (PoolClears) PoolClears.Add(clear);
    }

    /// <summary>
    /// Returns the collected heap's free space in one piece: the <see cref="LargeArrayPool{T}"/>s let their arrays go,
    /// then two blocking, compacting full collections with the large-object heap compacted. The first also makes the
    /// shared ArrayPool trim its idle arrays, but the pool trims from a callback on the finalizer thread after the
    /// collection, so the second waits for it before it takes what the trim let go.
    /// </summary>
    public static void CompactHeap()
    {
        Action[] clears;
        lock (PoolClears) clears = [.. PoolClears];
        foreach (var clear in clears) clear();
        for (var pass = 0; pass < 2; pass++)
        {
            if (pass > 0) GC.WaitForPendingFinalizers();
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
    }

    private static T[] AllocateOrCompact<T>(long length, Func<int, T[]> allocate) where T : unmanaged
    {
        var n = checked((int)length);
        try
        {
            return allocate(n);
        }
        catch (OutOfMemoryException) when ((long)n * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() >= LargeObjectBytes)
        {
            CompactHeap();
            return allocate(n);
        }
    }
}
