using SsbTomo.Alignment;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// The alignment service's store of registration histories: a history goes to the chunk that starts where it ended, once,
/// and only when it holds that chunk's halo; the oldest go first, and none larger than the limit is kept.
/// </summary>
public class RegistrationHistoryCacheTests
{
    private static PairwiseRegistration.History HistoryOf(int slices, int seed)
    {
        var random = new Random(seed);
        var registration = new PairwiseRegistration(maxThreads: 1);
        for (var k = 0; k < slices; k++)
        {
            var slice = new Image2D<float>(64, 64);
            for (var i = 0; i < slice.Pixels.Length; i++) slice.Pixels[i] = (float)random.NextDouble();
            registration.Add(slice);
        }
        return registration.DetachHistory();
    }

    [Fact]
    public void A_history_goes_once_to_the_chunk_that_starts_where_it_ended()
    {
        var cache = new RegistrationHistoryCache(capacity: 2, maxBytes: long.MaxValue);
        var history = HistoryOf(10, 1);
        cache.Put("jobs/a", 16, history);
        Assert.Null(cache.Take("jobs/b", 16, history.CropPx, 8));        // another job
        Assert.Null(cache.Take("jobs/a", 24, history.CropPx, 8));        // another chunk
        Assert.Null(cache.Take("jobs/a", 16, 2 * history.CropPx, 8));    // another crop
        Assert.Same(history, cache.Take("jobs/a", 16, history.CropPx, 8));
        Assert.Null(cache.Take("jobs/a", 16, history.CropPx, 8));        // taken
        Assert.Equal(1, cache.Hits);
    }

    [Fact]
    public void A_history_without_the_whole_halo_is_not_handed_out()
    {
        var cache = new RegistrationHistoryCache(capacity: 2, maxBytes: long.MaxValue);
        var short3 = HistoryOf(3, 2);
        Assert.Equal(3, short3.Slices);
        cache.Put("jobs/a", 3, short3);
        Assert.Null(cache.Take("jobs/a", 3, short3.CropPx, 8));
        Assert.Equal(0, cache.Hits);
    }

    [Fact]
    public void The_oldest_go_first_and_none_too_large_is_kept()
    {
        var cache = new RegistrationHistoryCache(capacity: 2, maxBytes: long.MaxValue);
        var (first, second, third) = (HistoryOf(8, 3), HistoryOf(8, 4), HistoryOf(8, 5));
        cache.Put("jobs/a", 8, first);
        cache.Put("jobs/a", 16, second);
        cache.Put("jobs/a", 24, third);
        Assert.Null(cache.Take("jobs/a", 8, first.CropPx, 8));
        Assert.Same(second, cache.Take("jobs/a", 16, second.CropPx, 8));
        Assert.Same(third, cache.Take("jobs/a", 24, third.CropPx, 8));

        var small = new RegistrationHistoryCache(capacity: 2, maxBytes: first.Bytes - 1);
        var fourth = HistoryOf(8, 6);
        Assert.True(fourth.Bytes > 8 * 64 * 64 * 4, $"a history of 8 slices of 64x64 holds {fourth.Bytes} bytes");
        small.Put("jobs/a", 8, fourth);
        Assert.Null(small.Take("jobs/a", 8, fourth.CropPx, 8));
        var none = new RegistrationHistoryCache(capacity: 0, maxBytes: long.MaxValue);
        none.Put("jobs/a", 8, HistoryOf(8, 7));
        Assert.Null(none.Take("jobs/a", 8, PairwiseRegistration.DefaultCropPx, 8));
    }
}
