using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

public class ValidRegionTests
{
    [Fact]
    public void Hand_computed_region_for_mixed_integer_and_subpixel_drifts()
    {
        // (2.5, -3): rows need 1 <= p+2.5 < 98 -> p in [-1, 96); columns p-3 in [0, 79] -> [3, 83).
        // (-1.25, 4): rows 1 <= p-1.25 < 98 -> [3, 100); columns p+4 in [0, 79] -> [-4, 76).
        var drifts = new[] { Shift2D.Zero, new Shift2D(2.5, -3), new Shift2D(-1.25, 4) };
        Assert.Equal((3, 96, 3, 76), ValidRegion.Compute(drifts, 100, 80));
    }

    [Fact]
    public void Every_aligned_slice_is_finite_inside_the_region()
    {
        var rng = new Random(3);
        var image = new Image2D<float>(40, 50);
        for (int i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (float)rng.NextDouble();
        var drifts = new[] { Shift2D.Zero, new Shift2D(3.7, -2.2), new Shift2D(-4.1, 5.5), new Shift2D(1, 2) };
        var (y0, y1, x0, x1) = ValidRegion.Compute(drifts, 40, 50);
        foreach (var d in drifts)
        {
            var aligned = SubpixelShift.Apply(image, d);
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                    Assert.True(float.IsFinite(aligned[y, x]), $"drift {d} at ({y},{x})");
        }
    }

    [Fact]
    public void Drifts_larger_than_the_slice_give_a_clear_error()
    {
        var ex = Assert.Throws<ArgumentException>(() => ValidRegion.Compute([Shift2D.Zero, new Shift2D(0, 30.5)], 20, 30));
        Assert.Contains("no common valid region", ex.Message);
        Assert.Throws<ArgumentException>(() => ValidRegion.Compute([], 20, 30));
    }
}
