using SsbTomo.TestSupport;
using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// The alignment blurs each measured slice once for its smoothed bulk peaks and its particle sections
/// (<see cref="SmoothedSlice"/>); with the shared blur both give what they give alone.
/// </summary>
public class SmoothedSliceTests
{
    private static Image2D<float> Slice()
    {
        var scene = new SectionScene(180, 210);
        foreach (var (y, x, r) in new (double, double, double)[] { (50.3, 60.7, 18), (120.6, 90.2, 25.5), (140.2, 180.8, 21), (5.4, 150.2, 24) })
            scene.Ellipse(y, x, r, r, 195);
        scene.DarkSpecks(count: 90, grey: 25, seed: 5);
        var image = scene.Render(noiseSigma: 6, seed: 7);
        for (var x = 0; x < 30; x++) image[170, x] = float.NaN; // a strip outside the field, as after a shift
        return image;
    }

    [Fact]
    public void Brightness_and_particle_sections_from_the_shared_blur_equal_their_own()
    {
        var slice = Slice();
        var smoothed = SmoothedSlice.Of(slice, SliceIntensityRanges.PeakImageSmoothingPx, maxThreads: 2);

        var shared = ParticleSections.Detect(slice, smoothed, ParticleDetectionOptions.ForDrift);
        Assert.Equal(ParticleSections.Detect(slice, ParticleDetectionOptions.ForDrift), shared);
        Assert.NotEmpty(shared);
        var brightness = SliceIntensityRanges.MeasureBrightness(slice, smoothed);
        Assert.Equal(SliceIntensityRanges.MeasureBrightness(slice), brightness);
        Assert.NotNull(brightness.SmoothedBulkPeaks);
        // The measurement's lanes take the range and the brightness with one count of the percentiles.
        Assert.Equal((SliceIntensityRanges.Measure(slice), brightness), SliceIntensityRanges.MeasureWithBrightness(slice, smoothed));
    }

    /// <summary>A flat slice (no range) and one of zeros of both signs give what the two calls give alone.</summary>
    [Theory]
    [InlineData("flat")]
    [InlineData("zeros")]
    public void Range_and_brightness_together_equal_them_apart_on_flat_and_signed_zero_slices(string kind)
    {
        var slice = Slice();
        for (var i = 0; i < slice.Pixels.Length; i++)
            if (float.IsFinite(slice.Pixels[i]))
                slice.Pixels[i] = kind == "flat" ? 300 : i % 3 == 0 ? -0f : i % 3 == 1 ? 0f : slice.Pixels[i] - 100;
        var smoothed = SmoothedSlice.Of(slice, SliceIntensityRanges.PeakImageSmoothingPx);
        var (range, brightness) = SliceIntensityRanges.MeasureWithBrightness(slice, smoothed);
        var (aloneRange, aloneBrightness) = (SliceIntensityRanges.Measure(slice), SliceIntensityRanges.MeasureBrightness(slice, smoothed));
        Assert.Equal(BitConverter.DoubleToInt64Bits(aloneRange.Low), BitConverter.DoubleToInt64Bits(range.Low));
        Assert.Equal(BitConverter.DoubleToInt64Bits(aloneRange.High), BitConverter.DoubleToInt64Bits(range.High));
        Assert.Equal(BitConverter.DoubleToInt64Bits(aloneBrightness.Percentiles.Low), BitConverter.DoubleToInt64Bits(brightness.Percentiles.Low));
        Assert.Equal(BitConverter.DoubleToInt64Bits(aloneBrightness.Percentiles.High), BitConverter.DoubleToInt64Bits(brightness.Percentiles.High));
        Assert.Equal(aloneBrightness, brightness);
    }

    /// <summary>
    /// A blur that takes over another slice's arrays (the measurement's lanes, slice after slice) is the fresh blur's bits:
    /// every valid flag and smoothed pixel is written again; a blur of another shape is not taken over.
    /// </summary>
    [Fact]
    public void A_blur_into_an_earlier_slices_arrays_equals_a_fresh_one()
    {
        var slice = Slice();
        var fresh = SmoothedSlice.Of(slice, SliceIntensityRanges.PeakImageSmoothingPx);
        var other = new Image2D<float>(slice.Height, slice.Width);
        for (var i = 0; i < other.Pixels.Length; i++) other.Pixels[i] = i % 7 == 0 ? float.NaN : 1000 - i % 313;
        var earlier = SmoothedSlice.Of(other, SliceIntensityRanges.PeakImageSmoothingPx);
        var (valid, smooth) = (earlier.Valid, earlier.Smooth);
        var reused = SmoothedSlice.Of(slice, SliceIntensityRanges.PeakImageSmoothingPx, maxThreads: 2, reuse: earlier);
        Assert.Same(valid, reused.Valid);
        Assert.Same(smooth, reused.Smooth);
        Assert.Equal(fresh.Valid, reused.Valid);
        Assert.Equal(fresh.Smooth, reused.Smooth);
        var narrower = SmoothedSlice.Of(new Image2D<float>(slice.Height, slice.Width - 1), SliceIntensityRanges.PeakImageSmoothingPx);
        Assert.NotSame(narrower.Smooth, SmoothedSlice.Of(slice, SliceIntensityRanges.PeakImageSmoothingPx, reuse: narrower).Smooth);
    }

    /// <summary>The measurement consumer hands one blur to both; they must want the same σ.</summary>
    [Fact]
    public void The_drift_sections_and_the_smoothed_bulk_peaks_read_the_same_blur() =>
        Assert.Equal(SliceIntensityRanges.PeakImageSmoothingPx, ParticleDetectionOptions.ForDrift.SmoothingSigmaPx);

    [Fact]
    public void A_blur_at_another_sigma_or_of_another_shape_is_refused()
    {
        var slice = Slice();
        var wider = SmoothedSlice.Of(slice, 2.0);
        Assert.Throws<ArgumentException>(() => SliceIntensityRanges.MeasureBrightness(slice, wider));
        Assert.Throws<ArgumentException>(() => ParticleSections.Detect(slice, wider, ParticleDetectionOptions.ForDrift));
        var other = SmoothedSlice.Of(new Image2D<float>(slice.Height, slice.Width + 1), SliceIntensityRanges.PeakImageSmoothingPx);
        Assert.Throws<ArgumentException>(() => SliceIntensityRanges.MeasureBrightness(slice, other));
    }
}
