using System.Runtime.CompilerServices;
using SsbTomo.Imaging.Tests.Alignment;

namespace SsbTomo.Imaging.Tests;

/// <summary>
/// The pool for chunk- and slice-sized arrays: it hands back what was returned, rounds sizes by no more than a quarter,
/// keeps a bounded number per length, and lets everything go when the heap is compacted, so a stage never begins with the
/// previous stage's arrays.
/// </summary>
[Collection(WorkingMemoryCollection.Name)]
public sealed class LargeArrayPoolTests
{
    /// <summary>An element type no other code pools, so other tests' rentals cannot disturb the counts.</summary>
    private readonly record struct Probe(int Value);

    private static readonly LargeArrayPool<Probe> Pool = LargeArrayPool<Probe>.Shared;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 4)]
    [InlineData(16, 16)]
    [InlineData(17, 20)]
    [InlineData(33, 40)]
    [InlineData(1 << 24, 1 << 24)]
    [InlineData((1 << 24) + 13, 20 << 20)]
    [InlineData(12_582_912, 12_582_912)]
    [InlineData(3_148_800, 3_145_728 + 524_288)]
    public void A_rental_is_rounded_up_to_a_quarter_octave(int asked, int expected) =>
        Assert.Equal(expected, LargeArrayPool<Probe>.PooledLength(asked));

    [Fact]
    public void Rounding_adds_at_most_a_quarter_and_a_rounded_length_stays_as_it_is()
    {
        var random = new Random(7);
        for (var i = 0; i < 10_000; i++)
        {
            var asked = random.Next(17, int.MaxValue / 2);
            var pooled = LargeArrayPool<Probe>.PooledLength(asked);
            Assert.InRange(pooled, asked, asked + asked / 4);
            Assert.Equal(pooled, LargeArrayPool<Probe>.PooledLength(pooled));
        }
    }

    [Fact]
    public void A_returned_array_is_rented_again_for_any_length_that_rounds_to_it_and_not_for_another()
    {
        LargeArrays.CompactHeap();
        var first = Pool.Rent(1000);
        Assert.Equal(1024, first.Length);
        Pool.Return(first);
        Assert.Same(first, Pool.Rent(900));
        Pool.Return(first);
        Assert.NotSame(first, Pool.Rent(1100));
        Assert.Same(first, Pool.Rent(1024));
        Assert.Empty(Pool.Rent(0));
    }

    [Fact]
    public void No_more_than_the_cap_of_one_length_is_kept_and_arrays_of_other_lengths_are_let_go()
    {
        LargeArrays.CompactHeap();
        var rented = Enumerable.Range(0, LargeArrayPool<Probe>.MaxPerLength + 3).Select(_ => Pool.Rent(5000)).ToList();
        foreach (var array in rented) Pool.Return(array);
        Assert.Equal(LargeArrayPool<Probe>.MaxPerLength * (long)LargeArrayPool<Probe>.PooledLength(5000), Pool.HeldElements);
        Pool.Return(new Probe[5001]);
        Assert.Equal(LargeArrayPool<Probe>.MaxPerLength * (long)LargeArrayPool<Probe>.PooledLength(5000), Pool.HeldElements);
    }

    /// <summary>
    /// What the pool keeps is gone after a compaction (before each message under a memory budget): the arrays are
    /// collected, not only forgotten by the pool.
    /// </summary>
    [Fact]
    public void Compacting_the_heap_lets_the_pooled_arrays_go()
    {
        var kept = ReturnedArray(1 << 20);
        Assert.True(Pool.HeldElements >= 1 << 20);
        LargeArrays.CompactHeap();
        Assert.Equal(0, Pool.HeldElements);
        Assert.False(kept.TryGetTarget(out _));
    }

    /// <summary>
    /// The pooled arrays hold whatever their last user left: the alignment kernels that rent from the pool must write every
    /// value they read, so a stack registers the same pairs from a pool full of NaN arrays of every length (up to the cap)
    /// as from an empty one. Neither the cap nor the rounding can then change a result, only how often an array is made.
    /// </summary>
    [Fact]
    public void A_stack_registers_the_same_from_a_pool_of_poisoned_arrays_as_from_an_empty_one()
    {
        const int slices = 10, size = 96;
        var stack = ImageTools.DriftingStack(new BlobScene(600, size, size, seed: 13), slices, size, driftSeed: 14, noiseSeed: 70);
        LargeArrays.CompactHeap();
        var clean = new SsbTomo.Imaging.Alignment.PairwiseRegistration();
        var expected = stack.Select(slice => clean.Add(slice)).ToList();

        for (var length = 1; length <= 1 << 16; length = LargeArrayPool<float>.PooledLength(length + 1))
        {
            var floats = Enumerable.Range(0, LargeArrayPool<float>.MaxPerLength).Select(_ => LargeArrayPool<float>.Shared.Rent(length)).ToList();
            var doubles = Enumerable.Range(0, LargeArrayPool<double>.MaxPerLength).Select(_ => LargeArrayPool<double>.Shared.Rent(length)).ToList();
            foreach (var array in floats) { Array.Fill(array, float.NaN); LargeArrayPool<float>.Shared.Return(array); }
            foreach (var array in doubles) { Array.Fill(array, double.NaN); LargeArrayPool<double>.Shared.Return(array); }
        }
        var poisoned = new SsbTomo.Imaging.Alignment.PairwiseRegistration();
        for (var k = 0; k < slices; k++)
        {
            var measured = poisoned.Add(stack[k]);
            Assert.Equal(expected[k].HasStructure, measured.HasStructure);
            Assert.Equal(expected[k].Pairs, measured.Pairs);
        }
        LargeArrays.CompactHeap();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<Probe[]> ReturnedArray(int length)
    {
        var array = Pool.Rent(length);
        Pool.Return(array);
        return new WeakReference<Probe[]>(array);
    }
}
