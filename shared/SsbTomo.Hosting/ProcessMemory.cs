using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace SsbTomo.Hosting;

/// <summary>
/// Holds a process to its memory budget (<see cref="SsbTomoOptions.MemoryBudgetMb"/>). The stages size their windows to a
/// quarter of it, but a stage that streams large slices leaves its garbage behind faster than the collector's default
/// pacing returns it, and a 3072x4096 stack then grew a process to 16 GB. A hard limit on the collected heap makes the
/// collector work to it (AppContext "GCHeapHardLimit" plus <see cref="GC.RefreshMemoryLimit"/>, .NET 8+), at the budget
/// less <see cref="OutsideHeapMb"/>: the runtime, the JIT's code, thread stacks and native buffers (zstd, libtiff) live
/// outside the collected heap (~130-170 MiB measured: a small job peaks at 220 MiB, a 2 GiB heap at 2.2 GB). A tighter
/// limit already in force (a container's memory limit, an explicit DOTNET_GCHeapHardLimit) is kept.
/// Process-wide: call it from a service's Program or the CLI, never from a host that shares its process (tests).
/// </summary>
public static class ProcessMemory
{
    /// <summary>What the process needs beside the collected heap, in MiB.</summary>
    public const int OutsideHeapMb = 192;

    /// <summary>The smallest budget that leaves the heap as much as the runtime takes outside it.</summary>
    public const int MinimumBudgetMb = 2 * OutsideHeapMb;

    private static volatile bool _limited;

    /// <summary>Whether <see cref="LimitTo"/> holds this process to a heap limit.</summary>
    public static bool IsLimited => _limited;

    /// <summary>The heap limit in force afterwards, in bytes.</summary>
    public static long LimitTo(int budgetMb)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetMb, MinimumBudgetMb);
        var budget = (long)(budgetMb - OutsideHeapMb) * 1024 * 1024;
        var current = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (current <= 0 || current > budget)
        {
            AppContext.SetData("GCHeapHardLimit", (ulong)budget);
            GC.RefreshMemoryLimit();
            current = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        }
        _limited = true;
        TransparentHugePages.AdviseCollectedHeap();
        return current;
    }

    /// <summary>
    /// <see cref="CompactHeap"/> when the process runs under <see cref="LimitTo"/>'s limit; otherwise nothing (a test host
    /// shares its process and sets no limit). The stages call it before each message's work (<see cref="StageRunner"/>):
    /// every chunk allocates windows or slabs of whole slices as single arrays of tens to hundreds of MiB, and the chunk
    /// before, often of another stage with other sizes, leaves its arrays' regions free but committed. Under the hard limit
    /// a fresh large array could then not be committed although most of the heap was garbage: on the 320x1536x2048 stack
    /// two of ten alignment chunks ran out of memory allocating their 201 MB slab with 780-900 MiB live of an 1856 MiB heap
    /// (the full collection the allocation set off did not help, with the concurrent collector or without), and in another
    /// run two survey chunks allocating a window. Compacted first, none did, and the alignment's chunks took no longer
    /// (16.1 s each against 16.9 s with the two retries). The "780-900 MiB live" were mostly the previous chunk's pooled
    /// buffers in the shared ArrayPool; the stages now pool them in <see cref="Imaging.LargeArrayPool{T}"/>, which the
    /// compaction empties, and a message begins with 13-60 MiB live instead of 300-870 (1 Gvoxel, session 46).
    /// </summary>
    public static void CompactHeapWhenLimited()
    {
        if (IsLimited) CompactHeap();
    }

    /// <summary>
    /// Returns the collected heap's free space in one piece before a pass that allocates a few arrays of hundreds of MiB at
    /// once (the tortuosity solve, the particle split). The streamed stages before it leave the large-object heap, which
    /// the collector does not compact by default, in pieces, and idle arrays in the shared ArrayPool (its trim runs on a
    /// full collection and frees them for the next one): under the hard limit the 64x1024x1024 phantom's particle split
    /// once ran out of memory allocating a 71 MB array with ~400 MiB live in its 1856 MiB heap, and the retry repeated the
    /// whole measurement (157 against 81-83 CPU-s). Two blocking, compacting full collections: the first also trims the
    /// pool, the second takes what the trim let go.
    /// </summary>
    public static void CompactHeap() => Imaging.LargeArrays.CompactHeap();

    /// <summary>Applies the configured budget ("SsbTomo:MemoryBudgetMb", default 2048) to this service's process.</summary>
    public static IHostApplicationBuilder LimitProcessMemory(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(SsbTomoOptions.Section).Get<SsbTomoOptions>() ?? new SsbTomoOptions();
        LimitTo(options.MemoryBudgetMb);
        return builder;
    }
}
