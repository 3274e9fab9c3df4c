using SsbTomo.Imaging.Alignment;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Alignment;

public class BulkPeakMatchingTests
{
    /// <summary>A slice of three phases with Gaussian noise: pores at 30, electrolyte at 100, active material at 180.</summary>
    private static Image2D<float> Slice(double poreShare, int seed, double gain = 1)
    {
        var random = new Random(seed);
        var image = new Image2D<float>(200, 200);
        for (var i = 0; i < image.Pixels.Length; i++)
        {
            var u = random.NextDouble();
            double level = u < poreShare ? 30 : u < poreShare + (1 - poreShare) * 0.55 ? 100 : 180;
            image.Pixels[i] = (float)(gain * (level + 6 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())));
        }
        return image;
    }

    [Fact]
    public void Bulk_peaks_are_found_whatever_the_pore_share()
    {
        foreach (var share in new[] { 0.02, 0.2 })
        {
            var peaks = SliceIntensityRanges.MeasureBrightness(Slice(share, 1)).BulkPeaks;
            Assert.NotNull(peaks);
            Assert.InRange(peaks!.Value.Low, 97, 103);
            Assert.InRange(peaks.Value.High, 177, 183);
        }
    }

    /// <summary>
    /// Percentile matching darkens a slice with many pores (its 5 % percentile lies in the pores); matching the bulk
    /// peaks maps the electrolyte of every slice to the same level, and a gain drift is undone.
    /// </summary>
    [Fact]
    public void Slices_with_different_pore_shares_get_the_same_electrolyte_level()
    {
        var slices = Enumerable.Range(0, 30).Select(z => Slice(z < 15 ? 0.2 : 0.03, z, gain: 1 + 0.002 * z)).ToArray();
        var matched = SliceIntensityRanges.MatchBulkPeaks(slices.Select(SliceIntensityRanges.MeasureBrightness).ToArray(), windowSlices: 1);
        Assert.NotNull(matched);
        double Electrolyte(int z)
        {
            var target = new ushort[slices[z].Pixels.Length];
            SliceIntensityRanges.ToUInt16(slices[z], matched![z], (0, 200, 0, 200), target);
            var values = target.Select(v => (double)v).Where((_, i) => Math.Abs(slices[z].Pixels[i] / (1 + 0.002 * z) - 100) < 12).ToArray();
            return values.Average();
        }
        var spread = Enumerable.Range(0, 30).Select(Electrolyte).ToArray();
        Assert.True(spread.Max() - spread.Min() < 0.01 * (SliceIntensityRanges.UInt16High - SliceIntensityRanges.UInt16Low),
            $"electrolyte level varies by {spread.Max() - spread.Min():0} between slices");

        var percentile = SliceIntensityRanges.SmoothAlongZ(slices.Select(SliceIntensityRanges.Measure).ToArray(), windowSlices: 1);
        double PercentileElectrolyte(int z)
        {
            var target = new ushort[slices[z].Pixels.Length];
            SliceIntensityRanges.ToUInt16(slices[z], percentile[z], (0, 200, 0, 200), target);
            return target.Where((_, i) => Math.Abs(slices[z].Pixels[i] / (1 + 0.002 * z) - 100) < 12).Average(v => (double)v);
        }
        Assert.True(Math.Abs(PercentileElectrolyte(0) - PercentileElectrolyte(29)) > 5 * (spread.Max() - spread.Min()),
            "the test scene does not move the percentiles: it would not tell the two rules apart");
    }

    [Fact]
    public void Without_two_bulk_peaks_in_most_slices_there_is_no_peak_matching()
    {
        var random = new Random(4);
        var flat = new Image2D<float>(100, 100);
        for (var i = 0; i < flat.Pixels.Length; i++) flat.Pixels[i] = (float)(100 + 20 * random.NextDouble());
        var brightness = SliceIntensityRanges.MeasureBrightness(flat);
        Assert.Null(brightness.BulkPeaks);
        Assert.Null(SliceIntensityRanges.MatchBulkPeaks([brightness, brightness, SliceIntensityRanges.MeasureBrightness(Slice(0.05, 1))]));
    }

    [Fact]
    public void Bulk_pair_ignores_ripples_and_needs_a_valley()
    {
        var counts = new double[100];
        for (var i = 0; i < 100; i++)
            counts[i] = 1000 * Math.Exp(-0.5 * Math.Pow((i - 30) / 4.0, 2)) + 600 * Math.Exp(-0.5 * Math.Pow((i - 70) / 4.0, 2)) + (i == 90 ? 20 : 0);
        Assert.Equal((30, 70), HistogramPeaks.BulkPair(counts, 1));
        var single = Enumerable.Range(0, 100).Select(i => 1000 * Math.Exp(-0.5 * Math.Pow((i - 50) / 10.0, 2)) + (i == 90 ? 20 : 0)).ToArray();
        Assert.Null(HistogramPeaks.BulkPair(single, 1));
    }

    /// <summary>
    /// The peak histogram (256 bins over the 0.5-99.5 % range, smoothed by 2 bins) on the hardest 8-bit input: few
    /// integer levels and little noise, with a fractional background removed (as flattening leaves it), so the bins do
    /// not fall on whole levels and the histogram is a comb. The bulk peaks must still be the electrolyte's and the
    /// active material's, not two teeth.
    /// </summary>
    [Theory]
    [InlineData(40, 1)]
    [InlineData(60, 2)]
    [InlineData(170, 3)]
    public void Bulk_peaks_of_a_quantised_slice_with_a_removed_background_are_the_bulk_phases(int levels, int seed)
    {
        var random = new Random(seed);
        var image = new Image2D<float>(256, 256);
        var step = 255.0 / levels;
        for (var y = 0; y < 256; y++)
            for (var x = 0; x < 256; x++)
            {
                var u = random.NextDouble();
                double level = u < 0.08 ? 30 : u < 0.5 ? 100 : 180;
                var quantised = step * Math.Round((level + 1.5 * (random.NextDouble() - 0.5)) / step);
                image[y, x] = (float)(quantised - 0.013 * x - 0.007 * y);
            }
        var peaks = SliceIntensityRanges.MeasureBrightness(image).BulkPeaks;
        Assert.NotNull(peaks);
        Assert.InRange(peaks!.Value.Low, 100 - step - 3, 100 + step);
        Assert.InRange(peaks.Value.High, 180 - step - 3, 180 + step);
    }
}
