namespace SsbTomo.Imaging;

/// <summary>
/// How many threads a kernel's loops may use (the <c>maxThreads</c> argument of the alignment kernels). The loops split
/// their work by index, every index writes its own outputs, and any sum over indices is added in index order after the
/// loop, so a kernel gives the same bits for any count: the count decides speed only.
/// <para>
/// Why a caller limits it: a process that runs several kernels side by side (alignment workers sharing a pod's cores)
/// gives each its share of the cores. Left unlimited, each worker's loops spread over every core, and the workers'
/// loops then wait for each other at every loop's end (its barrier), which costs most when other processes hold cores.
/// </para>
/// </summary>
public static class KernelThreads
{
    /// <summary>No limit of the kernel's own: the thread pool decides, as <see cref="Parallel.For(int, int, Action{int})"/> does.</summary>
    public const int All = -1;

    /// <summary>Throws unless <paramref name="maxThreads"/> is <see cref="All"/> or at least 1.</summary>
    public static void Check(int maxThreads, string? paramName = null)
    {
        if (maxThreads != All && maxThreads < 1)
            throw new ArgumentOutOfRangeException(paramName ?? nameof(maxThreads), maxThreads, $"threads must be at least 1, or {nameof(KernelThreads)}.{nameof(All)} ({All})");
    }

    /// <summary>Whether <paramref name="maxThreads"/> allows more than the calling thread.</summary>
    public static bool AllowsMany(int maxThreads) => maxThreads == All || maxThreads > 1;

    /// <summary>body(from .. to-1): over at most <paramref name="maxThreads"/> pool threads, or in order on this thread for 1.</summary>
    internal static void For(int from, int to, int maxThreads, Action<int> body)
    {
        if (!AllowsMany(maxThreads))
        {
            for (int i = from; i < to; i++) body(i);
            return;
        }
        Parallel.For(from, to, Options(maxThreads), body);
    }

    /// <summary>
    /// body(i, scratch) for i in from .. to-1, with one <paramref name="scratch"/> per thread (made by
    /// <paramref name="newScratch"/>): scratch is working memory only, never a partial result.
    /// </summary>
    internal static void For<TScratch>(int from, int to, int maxThreads, Func<TScratch> newScratch, Action<int, TScratch> body)
    {
        if (!AllowsMany(maxThreads))
        {
            if (to <= from) return;
            var scratch = newScratch();
            for (int i = from; i < to; i++) body(i, scratch);
            return;
        }
        Parallel.For(from, to, Options(maxThreads), newScratch, (i, _, scratch) =>
        {
            body(i, scratch);
            return scratch;
        }, _ => { });
    }

    private static readonly ParallelOptions Unlimited = new();

    private static ParallelOptions Options(int maxThreads) =>
        maxThreads == All ? Unlimited : new ParallelOptions { MaxDegreeOfParallelism = maxThreads };
}
