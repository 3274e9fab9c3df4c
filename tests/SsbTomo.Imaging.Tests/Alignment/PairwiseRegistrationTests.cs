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
}
