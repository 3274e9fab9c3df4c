using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Reference;

namespace SsbTomo.Imaging.Tests.Measurement;

/// <summary>
/// The run-based, slab-parallel labelling must give exactly the ids, count and sizes of the original
/// voxel-by-voxel labelling (<see cref="ConnectedComponentsReference"/>, itself checked against scipy), for any
/// slab split; <see cref="ComponentChunk.Of"/> must give the same chunk summary as before.
/// </summary>
public class ConnectedComponentsEquivalenceTests
{
    private static Volume<byte> Random(int depth, int height, int width, int seed, double share)
    {
        var random = new Random(seed);
        var v = new Volume<byte>(depth, height, width);
        for (var i = 0; i < v.Data.Length; i++) v.Data[i] = random.NextDouble() < share ? PhaseLabel.Void : (byte)random.Next(1, 4);
        return v;
    }

    /// <summary>Spheres and long rods (components spanning many slabs, rows and runs), plus sparse speckle.</summary>
    private static Volume<byte> Structured(int depth, int height, int width, int seed)
    {
        var random = new Random(seed);
        var v = new Volume<byte>(depth, height, width);
        Array.Fill(v.Data, PhaseLabel.Lps);
        for (var s = 0; s < 30; s++)
        {
            double cz = random.Next(depth), cy = random.Next(height), cx = random.Next(width), r = 1 + random.NextDouble() * 4;
            for (var z = 0; z < depth; z++)
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                        if ((z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) v[z, y, x] = PhaseLabel.Void;
        }
        for (var rod = 0; rod < 4; rod++)
        {
            int y0 = random.Next(height), x0 = random.Next(width), dy = random.Next(-1, 2), dx = random.Next(-1, 2);
            for (var z = 0; z < depth; z++)
            {
                int y = ((y0 + dy * z) % height + height) % height, x = ((x0 + dx * z) % width + width) % width;
                v[z, y, x] = PhaseLabel.Void;
            }
        }
        for (var i = 0; i < v.Data.Length / 50; i++) v.Data[random.Next(v.Data.Length)] = PhaseLabel.Void;
        return v;
    }

    private static void AssertSame(Volume<byte> v, byte phase = PhaseLabel.Void)
    {
        var expected = ConnectedComponentsReference.Label(v, phase);
        var actual = ConnectedComponents.Label(v, phase);
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Sizes, actual.Sizes);
        Assert.Equal(expected.Ids, actual.Ids);
        foreach (var slabs in new[] { 1, 2, 3, 5, Math.Max(1, v.Depth) })
        {
            var split = ConnectedComponents.Label(v, phase, slabs);
            Assert.Equal(expected.Ids, split.Ids);
            Assert.Equal(expected.Sizes, split.Sizes);
        }

        var chunk = ComponentChunk.Of(v, phase);
        var slice = v.SliceLength;
        Assert.Equal((v.Height, v.Width), (chunk.Height, chunk.Width));
        Assert.Equal(expected.Sizes, chunk.Sizes);
        Assert.Equal(v.Depth == 0 ? new int[slice] : expected.Ids.AsSpan(0, slice).ToArray(), chunk.FirstSliceIds);
        Assert.Equal(v.Depth == 0 ? new int[slice] : expected.Ids.AsSpan((v.Depth - 1) * slice, slice).ToArray(), chunk.LastSliceIds);
    }

    [Theory]
    [InlineData(1, 0.05)]
    [InlineData(2, 0.2)]
    [InlineData(3, 0.35)]
    [InlineData(4, 0.5)]
    [InlineData(5, 0.7)]
    [InlineData(6, 0.95)]
    public void Random_masks_equal_the_reference(int seed, double share) => AssertSame(Random(23, 29, 31, seed, share));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Structured_masks_equal_the_reference(int seed) => AssertSame(Structured(37, 45, 41, seed));

    [Theory]
    [InlineData(0, 4, 4)]
    [InlineData(1, 1, 1)]
    [InlineData(1, 1, 57)]
    [InlineData(1, 33, 1)]
    [InlineData(29, 1, 1)]
    [InlineData(17, 1, 9)]
    [InlineData(2, 2, 2)]
    [InlineData(9, 7, 1)]
    public void Degenerate_shapes_equal_the_reference(int depth, int height, int width)
    {
        for (var seed = 0; seed < 5; seed++) AssertSame(Random(depth, height, width, 50 + seed, 0.5));
    }

    [Fact]
    public void Full_and_empty_masks_equal_the_reference()
    {
        var full = new Volume<byte>(7, 8, 9);
        Array.Fill(full.Data, PhaseLabel.Void);
        AssertSame(full);
        AssertSame(full, PhaseLabel.Nmc);
    }

    [Fact]
    public void Other_phases_of_a_segmented_volume_equal_the_reference()
    {
        var v = Random(19, 24, 26, 8, 0.25);
        foreach (var phase in new[] { PhaseLabel.Outside, PhaseLabel.Nmc, PhaseLabel.Lps, PhaseLabel.Carbon, PhaseLabel.Void }) AssertSame(v, phase);
    }

    [Fact]
    public void Accumulated_chunks_still_equal_the_reference_whole_volume()
    {
        var v = Structured(41, 30, 33, 12);
        var whole = ConnectedComponents.Summarize(ConnectedComponentsReference.Label(v, PhaseLabel.Void));
        foreach (var chunkSlices in new[] { 1, 3, 8, 41 })
        {
            var accumulator = new ComponentAccumulator(PhaseLabel.Void);
            for (var z = 0; z < v.Depth; z += chunkSlices) accumulator.Add(Halo.CropZ(v, z, Math.Min(v.Depth, z + chunkSlices)));
            var result = accumulator.Result();
            Assert.Equal((whole.Count, whole.LargestVoxels, whole.TotalVoxels), (result.Count, result.LargestVoxels, result.TotalVoxels));
            Assert.Equal(whole.SizesDescending, result.SizesDescending);
        }
    }
}
