using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>A slab measured after its halo gives the numbers one pass over the whole stack gives, wherever the slab starts.</summary>
public class PairwiseRegistrationTests
{
    [Fact]
    public void A_slab_after_its_halo_measures_what_the_whole_pass_measures()
    {
        const int slices = 20, size = 96;
        var stack = ImageTools.DriftingStack(new BlobScene(600, size, size, seed: 7), slices, size, driftSeed: 8, noiseSeed: 40);
        // Slice 11 is noise: its pairs do not match, and the later slices' far pairs start from the chained links.
        stack[11] = new Image2D<float>(size, size);
        ImageTools.AddNoise(stack[11], 0.2, 3);

        var whole = new PairwiseRegistration();
        var expected = stack.Select(whole.Add).ToArray();
        Assert.Equal([1, 2, 4, 8], whole.Offsets);
        Assert.Contains(expected[11].Pairs, p => p.PeakRatio < DriftEstimator.MinPeakRatio);

        foreach (var z0 in new[] { 3, 9, 12 })
        {
            var slab = new PairwiseRegistration();
            for (var z = Math.Max(0, z0 - slab.Offsets[^1]); z < z0; z++) slab.AddReference(stack[z]);
            for (var z = z0; z < slices; z++)
            {
                var measured = slab.Add(stack[z]);
                Assert.Equal(expected[z].HasStructure, measured.HasStructure);
                Assert.Equal(expected[z].Pairs, measured.Pairs);
            }
        }
    }

    [Theory]
    [InlineData(5, 16)]
    [InlineData(3, 9)]
    [InlineData(8, 12)]
    [InlineData(11, 19)]
    public void A_slab_continued_from_the_slab_before_measures_what_its_halo_gives(int z0, int z1)
    {
        const int slices = 20, size = 96;
        var stack = ImageTools.DriftingStack(new BlobScene(600, size, size, seed: 5), slices, size, driftSeed: 6, noiseSeed: 41);
        // Slice 10 is noise: the far pairs after it start from the chained coarse links, which the history must carry too.
        stack[10] = new Image2D<float>(size, size);
        ImageTools.AddNoise(stack[10], 0.2, 4);
        foreach (var recycle in new[] { true, false })
        {
            var halo = new PairwiseRegistration(20, PairwiseRegistration.DefaultCropPx, null, DriftMethod.PatchConsensus, null, KernelThreads.All, recycle);
            for (var z = Math.Max(0, z0 - halo.Offsets[^1]); z < z0; z++) halo.AddReference(stack[z]);
            var expected = Enumerable.Range(z0, z1 - z0).Select(z => halo.Add(stack[z])).ToArray();
            var expectedAfter = halo.Add(stack[z1]);

            // The slab before, measured from the stack's start in one thread, hands its slices on.
            var before = new PairwiseRegistration(20, PairwiseRegistration.DefaultCropPx, null, DriftMethod.PatchConsensus, null, 1, recycle);
            for (var z = 0; z < z0; z++) before.Add(stack[z]);
            var history = before.DetachHistory();
            Assert.Equal(Math.Min(z0, 8), history.Slices);
            Assert.Throws<InvalidOperationException>(() => before.Add(stack[z0]));
            var continued = PairwiseRegistration.ContinueFrom(history);
            Assert.Throws<InvalidOperationException>(() => PairwiseRegistration.ContinueFrom(history));
            for (var z = z0; z < z1; z++)
            {
                var measured = continued.Add(stack[z]);
                Assert.Equal(expected[z - z0].HasStructure, measured.HasStructure);
                Assert.Equal(expected[z - z0].Pairs, measured.Pairs);
            }
            // And once more through a second hand-over, whose slots were written by the continued registration.
            var again = PairwiseRegistration.ContinueFrom(continued.DetachHistory());
            Assert.Equal(expectedAfter.Pairs, again.Add(stack[z1]).Pairs);
        }
    }
}
