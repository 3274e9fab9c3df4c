using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

public class SliceIntensityRangesTests
{
    [Fact]
    public void Gain_and_offset_drift_is_undone_by_matching_ranges()
    {
        var rng = new Random(3);
        var clean = new Image2D<float>(64, 64);
        for (var i = 0; i < clean.Pixels.Length; i++) clean.Pixels[i] = rng.Next(4) * 50 + 20;
        var drifted = new Image2D<float>(64, 64, clean.Pixels.Select(v => 1.08f * v - 7f).ToArray());
        var crop = (0, 64, 0, 64);
        var a = new ushort[64 * 64];
        var b = new ushort[64 * 64];
        SliceIntensityRanges.ToUInt16(clean, SliceIntensityRanges.Measure(clean), crop, a);
        SliceIntensityRanges.ToUInt16(drifted, SliceIntensityRanges.Measure(drifted), crop, b);
        Assert.All(a.Zip(b), p => Assert.InRange(p.First - p.Second, -1, 1));
    }

    [Fact]
    public void Smoothing_along_z_removes_a_one_slice_outlier_but_keeps_a_slow_trend()
    {
        var ranges = Enumerable.Range(0, 30).Select(z => new IntensityRange(10 + 0.1 * z, 100 + 0.5 * z)).ToArray();
        ranges[12] = new IntensityRange(40, 160);
        var smoothed = SliceIntensityRanges.SmoothAlongZ(ranges, 7);
        Assert.InRange(smoothed[12].Low, 11.0, 11.5);
        Assert.InRange(smoothed[25].High, 111.0, 113.0);
    }

    [Fact]
    public void Pixels_outside_the_image_become_zero()
    {
        var slice = new Image2D<float>(1, 2, [float.NaN, 50]);
        var dest = new ushort[2];
        SliceIntensityRanges.ToUInt16(slice, new IntensityRange(0, 100), (0, 1, 0, 2), dest);
        Assert.Equal(0, dest[0]);
        Assert.Equal(32768, dest[1]);
    }
}
