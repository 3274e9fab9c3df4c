using Microsoft.Extensions.Options;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Alignment;

/// <summary>
/// The registration slices the last alignment chunks of this process prepared (<see cref="PairwiseRegistration.History"/>),
/// each kept for the chunk that starts where it ended: that chunk takes them instead of reading and preparing its halo
/// slices again (~8 % of the measurement's CPU with 16-slice chunks), and measures the same bits either way. A chunk that
/// finds none (another worker measured the chunk before, a redelivery, a restart) reads its halo as before. At most
/// <see cref="SsbTomoOptions.AlignmentWorkers"/> histories are kept, the oldest let go first, and none larger than a
/// quarter of a window (<see cref="SsbTomoOptions.WindowBudgetBytes"/>): ~56 MB each on the default 512-pixel crop.
/// </summary>
public sealed class RegistrationHistoryCache
{
    private readonly record struct Key(string JobPrefix, int NextSlice, int CropPx);

    private readonly Lock _gate = new();
    private readonly LinkedList<(Key Key, PairwiseRegistration.History History)> _entries = new();
    private readonly int _capacity;
    private readonly long _maxBytes;

    public RegistrationHistoryCache(IOptions<SsbTomoOptions> options)
        : this(Math.Max(1, options.Value.AlignmentWorkers), options.Value.WindowBudgetBytes / 4)
    {
    }

    /// <param name="capacity">Histories kept at most (0: none, every chunk reads its halo).</param>
    /// <param name="maxBytes">The largest history kept.</param>
    public RegistrationHistoryCache(int capacity, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        (_capacity, _maxBytes) = (capacity, maxBytes);
    }

    /// <summary>Histories handed to a chunk so far (tests).</summary>
    public int Hits { get; private set; }

    /// <summary>
    /// The history a chunk of <paramref name="jobPrefix"/> left that ends just before slice <paramref name="nextSlice"/> and
    /// holds the <paramref name="haloSlices"/> slices before it, prepared on <paramref name="cropPx"/>; removed from the cache
    /// (one registration continues from it). Null: none.
    /// </summary>
    public PairwiseRegistration.History? Take(string jobPrefix, int nextSlice, int cropPx, int haloSlices)
    {
        var key = new Key(jobPrefix, nextSlice, cropPx);
        lock (_gate)
        {
            for (var node = _entries.First; node is not null; node = node.Next)
            {
                if (node.Value.Key != key) continue;
                _entries.Remove(node);
                if (node.Value.History.Slices != haloSlices) return null;
                Hits++;
                return node.Value.History;
            }
        }
        return null;
    }

    /// <summary>Keeps the slices a chunk of <paramref name="jobPrefix"/> ending before <paramref name="nextSlice"/> prepared.</summary>
    public void Put(string jobPrefix, int nextSlice, PairwiseRegistration.History history)
    {
        if (_capacity == 0 || history.Bytes > _maxBytes) return;
        lock (_gate)
        {
            _entries.AddLast((new Key(jobPrefix, nextSlice, history.CropPx), history));
            while (_entries.Count > _capacity) _entries.RemoveFirst();
        }
    }
}
