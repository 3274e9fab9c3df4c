using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Tests.Reference;

namespace SsbTomo.Imaging.Tests.Measurement;

/// <summary>
/// The optimised marker-controlled watershed (neighbours from a table, flags before the plateau walk, a FIFO per
/// elevation for the flood) gives the same markers, ids and numbering as the original (<see cref="MarkerWatershedReference"/>,
/// itself checked against skimage in <see cref="NmcParticlesTests"/>), on distance maps of packed balls and on random
/// elevations with many ties, thin shapes and volumes one voxel thick along an axis.
/// </summary>
public sealed class MarkerWatershedEquivalenceTests
{
    public static TheoryData<int, int, int, int, int> Shapes => new()
    {
        // depth, height, width, seed, levels (few levels: large plateaus and ties in the flood)
        { 9, 11, 13, 1, 3 },
        { 9, 11, 13, 2, 40 },
        { 1, 17, 19, 3, 4 },
        { 12, 1, 15, 4, 5 },
        { 10, 14, 1, 5, 6 },
        { 1, 1, 50, 6, 3 },
        { 6, 7, 8, 7, 1000 },
        { 2, 3, 2, 8, 3 },
        { 2, 2, 9, 9, 4 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Random_elevations_with_ties_give_the_reference_markers_and_ids(int depth, int height, int width, int seed, int levels)
    {
        var random = new Random(seed);
        var length = depth * height * width;
        var mask = new bool[length];
        var elevation = new float[length];
        for (var i = 0; i < length; i++)
        {
            mask[i] = random.NextDouble() < 0.8;
            // Smooth-ish: a ramp plus noise, quantised, so plateaus, saddles and equal levels all occur; a few negative
            // zeros among the zeros (the flood must order them as zeros).
            elevation[i] = (float)Math.Round((Math.Sin(i * 0.37) + 1.2 * random.NextDouble()) * levels / 2.2) / levels * 5;
            if (elevation[i] == 0 && random.Next(2) == 0) elevation[i] = -0f;
            // Now and then a value no distance map has: the order of NaN and the infinities must be the reference's too.
            if (random.Next(40) == 0) elevation[i] = random.Next(3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
        }
        AssertSameAsReference(elevation, mask, depth, height, width, h: 5f / levels);
        AssertSameAsReference(elevation, mask, depth, height, width, h: 0f);
    }

    [Fact]
    public void Distance_maps_of_packed_balls_give_the_reference_markers_and_ids()
    {
        var random = new Random(11);
        var (depth, height, width) = (28, 34, 38);
        var v = new Volume<byte>(depth, height, width);
        Array.Fill(v.Data, PhaseLabel.Lps);
        for (var b = 0; b < 30; b++)
        {
            var (cz, cy, cx, radius) = (random.NextDouble() * depth, random.NextDouble() * height, random.NextDouble() * width, 3 + 5 * random.NextDouble());
            for (var z = 0; z < depth; z++)
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                        if ((z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx) <= radius * radius)
                            v[z, y, x] = PhaseLabel.Nmc;
        }
        var voxel = new VoxelSize(XNm: 50, YNm: 50, ZNm: 60);
        var squared = DistanceTransform.SquaredNm2(v, label => label != PhaseLabel.Nmc, voxel);
        var mask = v.Data.Select(label => label == PhaseLabel.Nmc).ToArray();
        var distance = squared.Select((d, i) => mask[i] ? (float)Math.Sqrt(d) : 0f).ToArray();
        AssertSameAsReference(distance, mask, depth, height, width, h: 120f);
        AssertSameAsReference(distance, mask, depth, height, width, h: 20f);
    }

    [Fact]
    public void Nan_elevations_are_flooded_first_as_the_reference_does()
    {
        var (depth, height, width) = (3, 4, 5);
        var elevation = Enumerable.Range(0, 60).Select(i => i % 7 == 0 ? float.NaN : i % 5).Select(e => (float)e).ToArray();
        var mask = Enumerable.Repeat(true, 60).ToArray();
        var markers = new int[60];
        markers[0] = 1;
        markers[37] = 2;
        markers[59] = 3;
        Assert.Equal(MarkerWatershedReference.Flood(elevation, mask, markers, depth, height, width),
            MarkerWatershed.Flood(elevation, mask, markers, depth, height, width));
    }

    private static void AssertSameAsReference(float[] elevation, bool[] mask, int depth, int height, int width, float h)
    {
        var (markers, count) = MarkerWatershed.HMaximaMarkers(elevation, mask, depth, height, width, h);
        var (expectedMarkers, expectedCount) = MarkerWatershedReference.HMaximaMarkers(elevation, mask, depth, height, width, h);
        Assert.Equal(expectedCount, count);
        Assert.Equal(expectedMarkers, markers);
        Assert.True(count > 0 || !mask.Contains(true));

        var ids = MarkerWatershed.Flood(elevation, mask, markers, depth, height, width);
        Assert.Equal(MarkerWatershedReference.Flood(elevation, mask, markers, depth, height, width), ids);

        var expectedIds = (int[])ids.Clone();
        var expectedTotal = MarkerWatershedReference.NumberUnreached(expectedIds, mask, depth, height, width, count);
        // Markers on a few voxels only, so that parts of the mask stay unreached and get numbered.
        var sparse = markers.Select((m, i) => m > 0 && i % 3 == 0 ? m : 0).ToArray();
        var sparseIds = MarkerWatershed.Flood(elevation, mask, sparse, depth, height, width);
        var expectedSparse = MarkerWatershedReference.Flood(elevation, mask, sparse, depth, height, width);
        Assert.Equal(expectedSparse, sparseIds);
        Assert.Equal(MarkerWatershedReference.NumberUnreached(expectedSparse, mask, depth, height, width, count),
            MarkerWatershed.NumberUnreached(sparseIds, mask, depth, height, width, count));
        Assert.Equal(expectedSparse, sparseIds);
        Assert.Equal(expectedTotal, MarkerWatershed.NumberUnreached(ids, mask, depth, height, width, count));
        Assert.Equal(expectedIds, ids);
    }
}
