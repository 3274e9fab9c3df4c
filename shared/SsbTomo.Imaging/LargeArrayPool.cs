using System.Buffers;
using System.Numerics;

namespace SsbTomo.Imaging;

/// <summary>
/// Pools the arrays of megabytes that the stages rent for a chunk or a slice (a storage chunk's decoded values, its
/// encoded bytes, a slice's float planes in alignment) and lets all of them go whenever the heap is compacted
/// (<see cref="LargeArrays.CompactHeap"/>: before each message under a memory budget, and when a large allocation fails).
/// <see cref="ArrayPool{T}.Shared"/> is not used for these: it keeps, per size, one array per thread and up to 32 per
/// core, and lets them go only 10-60 s after their last use, so each stage began with the arrays the one before it had
/// pooled. On the 320x1536x2048 phantom 300-870 MiB of the 1856 MiB heap were such arrays (power-of-two double, float,
/// uint16 and byte arrays, `dotnet-dump` after the compaction) when an alignment, denoising or survey message began, and
/// the survey's windows then ran out of memory on every retry. Sizes are rounded up to a quarter octave (ArrayPool's
/// whole octave gave a fast-zstd chunk of 16 MiB and a few bytes a 32 MiB array), and at most <see cref="MaxPerLength"/>
/// arrays of one length are kept: of each length no more than were in use at once since the last compaction, since an
/// array is made only when none of its length is free (blobs of varying size spread over a few lengths, each counted
/// alone). A process without a memory budget (a test host) never compacts, and keeps them for its life.
/// </summary>
public sealed class LargeArrayPool<T> : ArrayPool<T> where T : unmanaged
{
    /// <summary>The process's pool for arrays of <typeparamref name="T"/>.</summary>
    public static new LargeArrayPool<T> Shared { get; } = new();

    private readonly Dictionary<int, Stack<T[]>> _free = [];
    private readonly Lock _gate = new();

    private LargeArrayPool() => LargeArrays.OnCompaction(Clear);

    /// <summary>
    /// Arrays of one length kept at most: twice a Zarr array's reads in flight (<c>ZarrArray.MaxConcurrency</c>); the
    /// alignment's two lanes and its registration hold up to a dozen slice-sized arrays of one length at once.
    /// </summary>
    public const int MaxPerLength = 16;

    /// <summary>An array of at least <paramref name="minimumLength"/> elements holding whatever it held before.</summary>
    public override T[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        if (minimumLength == 0) return [];
        var length = PooledLength(minimumLength);
        lock (_gate)
            if (_free.TryGetValue(length, out var free) && free.TryPop(out var array)) return array;
        return LargeArrays.Uninitialized<T>(length);
    }

    /// <summary>Keeps <paramref name="array"/> for the next <see cref="Rent"/> of its length (arrays of other lengths are let go).</summary>
    public override void Return(T[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0 || array.Length != PooledLength(array.Length)) return;
        if (clearArray) Array.Clear(array);
        lock (_gate)
        {
            if (!_free.TryGetValue(array.Length, out var free)) _free[array.Length] = free = new Stack<T[]>();
            if (free.Count < MaxPerLength) free.Push(array);
        }
    }

    /// <summary>Lets every kept array go.</summary>
    public void Clear()
    {
        lock (_gate) _free.Clear();
    }

    /// <summary>Elements the pool keeps (tests).</summary>
    public long HeldElements
    {
        get
        {
            lock (_gate) return _free.Sum(e => (long)e.Key * e.Value.Count);
        }
    }

    /// <summary>
    /// The length a rental of <paramref name="minimumLength"/> gets: a power of two up to 16, then the next multiple of a
    /// quarter of the power of two below it (16, 20, 24, 28, 32, 40, ...), at most a quarter more than asked for.
    /// </summary>
    public static int PooledLength(int minimumLength)
    {
        if (minimumLength <= 16) return (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, minimumLength));
        var step = (1 << (31 - BitOperations.LeadingZeroCount((uint)minimumLength))) >> 2;
        var rounded = ((long)minimumLength + step - 1) / step * step;
        return rounded > Array.MaxLength ? minimumLength : (int)rounded;
    }
}
