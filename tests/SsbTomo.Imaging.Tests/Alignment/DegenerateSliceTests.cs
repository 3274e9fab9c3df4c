using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>Slices an estimate cannot be made on: the estimate falls back or is skipped, never an exception.</summary>
public class DegenerateSliceTests
{
    private static Image2D<float> Constant(int h, int w, float value)
    {
        var image = new Image2D<float>(h, w);
        Array.Fill(image.Pixels, value);
        return image;
    }

    /// <summary>
    /// The matrix (100 on a ramp, little noise: the histogram's highest peak) fills <paramref name="matrixBlocks"/>
    /// blocks of a 16x16 grid and 12 % of the other pixels, scattered, so no other block has the quarter of matrix a
    /// sample needs; the rest is textured particle material (140-250).
    /// </summary>
    private static Image2D<float> SparseMatrix(int matrixBlocks, double rampX, double rampY)
    {
        const int size = 160, cell = 10;
        var rng = new Random(matrixBlocks + 1);
        var image = new Image2D<float>(size, size);
        var matrix = new HashSet<(int, int)>();
        // Spread over the slice, so that a plane is determined.
        (int, int)[] spots = [(1, 2), (13, 3), (7, 13), (14, 14), (2, 11), (8, 6)];
        foreach (var spot in spots.Take(matrixBlocks)) matrix.Add(spot);
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var ramp = rampX * (x / (double)size - 0.5) + rampY * (y / (double)size - 0.5);
                var isMatrix = matrix.Contains((y / cell, x / cell)) || rng.NextDouble() < 0.12;
                var scene = isMatrix ? 100.0 + ramp + rng.NextDouble() - 0.5 : 140 + 110 * rng.NextDouble();
                image[y, x] = (float)scene;
            }
        return image;
    }

    [Fact]
    public void Too_few_matrix_blocks_for_a_quadric_give_a_plane_that_removes_the_ramp()
    {
        var image = SparseMatrix(4, rampX: 12, rampY: -8);
        var fit = IntensityNormalization.FitBackground(image);
        Assert.NotNull(fit);
        Assert.Equal(1, fit.Degree);
        Assert.Equal(4, fit.Blocks);
        // Coefficients of 1, u, v: the ramp is 6 u - 4 v in normalised coordinates.
        Assert.InRange(fit.Coefficients[1], 5.5, 6.5);
        Assert.InRange(fit.Coefficients[2], -4.5, -3.5);
    }

    [Fact]
    public void A_slice_without_matrix_blocks_has_no_fit_and_is_left_as_it_is()
    {
        var image = SparseMatrix(0, rampX: 12, rampY: 0);
        Assert.Null(IntensityNormalization.FitBackground(image));
        var flattened = IntensityNormalization.FlattenBackground(image);
        Assert.Equal(image.Pixels, flattened.Pixels);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(255f)]
    [InlineData(65535f)]
    public void Blank_and_saturated_slices_pass_every_correction_unchanged(float value)
    {
        var image = Constant(64, 96, value);
        var flattened = IntensityNormalization.FlattenBackground(image);
        Assert.All(flattened.Pixels, v => Assert.Equal(value, v));
        var destriped = CurtainingFilter.Remove(flattened);
        Assert.All(destriped.Pixels, v => Assert.Equal(value, v));
        Assert.Empty(ParticleSections.Detect(destriped));
        Assert.True(SliceIntensityRanges.IsEmpty(SliceIntensityRanges.Measure(destriped)));
    }

    [Fact]
    public void Empty_ranges_are_left_out_of_the_brightness_match_and_take_their_neighbours()
    {
        var ranges = Enumerable.Range(0, 20).Select(z => new IntensityRange(10 + 0.1 * z, 100 + 0.5 * z)).ToArray();
        ranges[5] = new IntensityRange(0, 0);         // blank
        ranges[6] = new IntensityRange(255, 255);     // saturated
        ranges[0] = new IntensityRange(0, 0);         // blank first slice
        var smoothed = SliceIntensityRanges.SmoothAlongZ(ranges, 5);
        Assert.All(smoothed, r => Assert.False(SliceIntensityRanges.IsEmpty(r)));
        Assert.InRange(smoothed[5].Low, 10.3, 10.8);
        Assert.InRange(smoothed[6].High, 102, 104);
        Assert.InRange(smoothed[0].Low, 10.1, 10.2);
    }

    [Fact]
    public void A_window_of_empty_ranges_takes_the_nearest_slice_with_one()
    {
        IntensityRange[] ranges = [new(10, 90), new(0, 0), new(0, 0), new(0, 0), new(0, 0), new(20, 80)];
        var smoothed = SliceIntensityRanges.SmoothAlongZ(ranges, 3);
        Assert.Equal(new IntensityRange(10, 90), smoothed[2]);
        Assert.Equal(new IntensityRange(20, 80), smoothed[4]);
    }

    [Fact]
    public void When_every_range_is_empty_they_are_returned_unchanged()
    {
        IntensityRange[] ranges = [new(0, 0), new(5, 5)];
        Assert.Equal(ranges, SliceIntensityRanges.SmoothAlongZ(ranges));
    }
}
