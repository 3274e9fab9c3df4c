using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class ImageSetOtsuTests
{
    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Vertical bands of flat grey levels (band widths from <paramref name="shares"/>) plus Gaussian noise; the truth is the band's phase 1..k.</summary>
    private static (Image2D<ushort> Image, Image2D<byte> Truth) Bands(int seed, double[] levels, double[] shares, double noise, int top, int size = 96)
    {
        var random = new Random(seed);
        var image = new Image2D<ushort>(size, size);
        var truth = new Image2D<byte>(size, size);
        for (var x = 0; x < size; x++)
        {
            var (phase, edge) = (0, shares[0]);
            while (x >= edge * size && phase < levels.Length - 1) edge += shares[++phase];
            for (var y = 0; y < size; y++)
            {
                image[y, x] = (ushort)Math.Clamp(Math.Round(levels[phase] + noise * Normal(random)), 0, top);
                truth[y, x] = (byte)(phase + 1);
            }
        }
        return (image, truth);
    }

    private static Image2D<float> AsFloat(Image2D<ushort> image) => new(image.Height, image.Width, Array.ConvertAll(image.Pixels, v => (float)v));

    [Fact]
    public void Two_flat_16_bit_levels_with_noise_are_split_exactly_with_a_threshold_between_them()
    {
        var (image, truth) = Bands(1, [1000, 3000], [0.4, 0.6], noise: 60, top: 65535);
        var otsu = new ImageSetOtsu(16);
        otsu.Add(AsFloat(image).Pixels);
        var thresholds = otsu.Thresholds(2);
        Assert.Single(thresholds);
        Assert.InRange(thresholds[0], 1000 + 5 * 60, 3000 - 5 * 60);
        Assert.Equal(truth.Pixels, ImageSetOtsu.Classify(AsFloat(image), thresholds, 16).Pixels);
    }

    [Fact]
    public void Three_flat_8_bit_levels_with_noise_are_split_exactly_after_the_sigma_1_smoothing_away_from_the_edges()
    {
        var (image, truth) = Bands(2, [40, 120, 200], [0.3, 0.3, 0.4], noise: 15, top: 255);
        var noisy = new ImageSetOtsu(8);
        noisy.Add(AsFloat(image).Pixels);
        var smoothed = ImageSetOtsu.Smooth(image);
        var otsu = new ImageSetOtsu(8);
        otsu.Add(smoothed.Pixels);
        var thresholds = otsu.Thresholds(3);
        Assert.Equal(2, thresholds.Length);
        Assert.InRange(thresholds[0], 70, 90);
        Assert.InRange(thresholds[1], 150, 170);
        var labels = ImageSetOtsu.Classify(smoothed, thresholds, 8);
        // σ 1 blurs the band edges over ±2 px; everywhere else the answer is exact. The unsmoothed noise (σ 15,
        // 2.7σ to the midpoint) does misclassify some pixels: the smoothing is what makes the split exact.
        var (wrong, wrongUnsmoothed) = (0, 0);
        var raw = ImageSetOtsu.Classify(AsFloat(image), noisy.Thresholds(3), 8);
        for (var y = 0; y < image.Height; y++)
            for (var x = 0; x < image.Width; x++)
            {
                if (Math.Abs(x - 0.3 * 96) < 3 || Math.Abs(x - 0.6 * 96) < 3) continue;
                if (labels[y, x] != truth[y, x]) wrong++;
                if (raw[y, x] != truth[y, x]) wrongUnsmoothed++;
            }
        Assert.Equal(0, wrong);
        Assert.True(wrongUnsmoothed > 0, "the unsmoothed noise was expected to cross a threshold somewhere");
    }

    [Fact]
    public void Eight_bit_thresholds_are_grey_levels_on_the_integer_grid()
    {
        // Counts at exactly 10 and 20: every split 10..19 scores the same; the middle of the empty run is taken.
        var otsu = new ImageSetOtsu(8);
        otsu.Add(Enumerable.Repeat(10f, 30).Concat(Enumerable.Repeat(20f, 70)).ToArray());
        Assert.Equal([14], otsu.Thresholds(2));

        // A noisy image with no empty level between the clusters: the thresholds are MultiOtsu's on the 256-level
        // histogram of the rounded values, i.e. grey levels.
        var random = new Random(3);
        var values = Enumerable.Range(0, 5000).Select(i => (float)Math.Clamp((i % 3 == 0 ? 60 : i % 3 == 1 ? 130 : 190) + 20 * Normal(random), 0, 255)).ToArray();
        var histogram = new long[256];
        foreach (var v in values) histogram[(int)MathF.Round(v)]++;
        otsu = new ImageSetOtsu(8);
        otsu.Add(values);
        Assert.DoesNotContain(0L, histogram[60..190]);
        Assert.Equal(MultiOtsu.Thresholds(histogram, 3), otsu.Thresholds(3));
        // Rounding decides: 10.49 is level 10 (dark), 10.5 rounds to even 10, 10.51 is level 11.
        var image = new Image2D<float>(1, 3, [10.49f, 10.5f, 10.51f]);
        Assert.Equal([1, 1, 2], ImageSetOtsu.Classify(image, [10], 8).Pixels);
    }

    [Fact]
    public void A_set_whose_images_differ_in_proportion_gets_one_threshold_that_splits_each_image_exactly()
    {
        // Image a is 85 % dark, image b 15 % dark: Otsu per image would put the thresholds in different places.
        var (a, truthA) = Bands(4, [1000, 2000], [0.85, 0.15], noise: 40, top: 65535);
        var (b, truthB) = Bands(5, [1000, 2000], [0.15, 0.85], noise: 40, top: 65535);
        int[] Alone(Image2D<ushort> image)
        {
            var one = new ImageSetOtsu(16);
            one.Add(AsFloat(image).Pixels);
            return one.Thresholds(2);
        }
        Assert.NotEqual(Alone(a), Alone(b));

        var set = new ImageSetOtsu(16);
        set.Add(AsFloat(a).Pixels);
        set.Add(AsFloat(b).Pixels);
        var reversed = new ImageSetOtsu(16);
        reversed.Add(AsFloat(b).Pixels);
        reversed.Add(AsFloat(a).Pixels);
        var thresholds = set.Thresholds(2);
        Assert.Equal(thresholds, reversed.Thresholds(2));
        Assert.Equal(2 * 96 * 96, set.Count);
        Assert.Equal(truthA.Pixels, ImageSetOtsu.Classify(AsFloat(a), thresholds, 16).Pixels);
        Assert.Equal(truthB.Pixels, ImageSetOtsu.Classify(AsFloat(b), thresholds, 16).Pixels);
    }

    [Fact]
    public void Sixteen_bit_sets_with_a_narrow_range_use_the_integer_grid_and_wide_ones_at_most_1024_bins()
    {
        // Narrow: levels 100 and 104 only, 5 bins of one level; thresholds 100-103 are all optimal, the (lower) middle is 101.
        var narrow = new ImageSetOtsu(16);
        narrow.Add([100f, 100f, 104f, 104f]);
        Assert.Equal([101], narrow.Thresholds(2));

        // Wide: 0 and 65535 only; 1024 bins of 64 levels, the middle of the empty bins 1-1022 is bin 511,
        // whose last level is 511·64 + 63.
        var wide = new ImageSetOtsu(16);
        wide.Add([0f, 0f, 65535f, 65535f]);
        Assert.Equal([32767], wide.Thresholds(2));

        // Wide with levels 1000 and 1999 (span 1000 < 1024): the integer grid, so the threshold is level (1000+1998)/2.
        var grid = new ImageSetOtsu(16);
        grid.Add([1000f, 1999f]);
        Assert.Equal([1499], grid.Thresholds(2));
    }

    [Fact]
    public void Too_few_grey_levels_for_the_phases_are_refused()
    {
        var otsu = new ImageSetOtsu(8);
        otsu.Add([5f, 5f, 9f]);
        Assert.Contains("too few grey levels for 3 phases", Assert.Throws<ArgumentException>(() => otsu.Thresholds(3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageSetOtsu(12));
    }

    [Fact]
    public void The_smoothing_is_the_depth_1_Gaussian_and_keeps_a_flat_image_flat()
    {
        var flat = new Image2D<ushort>(20, 30, Enumerable.Repeat((ushort)777, 600).ToArray());
        Assert.All(ImageSetOtsu.Smooth(flat).Pixels, v => Assert.Equal(777f, v, 0.01f));
        var random = new Random(6);
        var noisy = new Image2D<ushort>(20, 30, Enumerable.Range(0, 600).Select(_ => (ushort)random.Next(1000)).ToArray());
        var expected = Denoise.Gaussian(new Volume<ushort>(1, 20, 30, noisy.Pixels), 1.0).Data;
        Assert.Equal(expected, ImageSetOtsu.Smooth(noisy).Pixels);
    }
    [Fact]
    public void Class_means_are_each_class_s_mean_grey_level_over_the_set()
    {
        var otsu = new ImageSetOtsu(8);
        otsu.Add([10f, 10f, 12.4f]);   // rounds to 10, 10, 12
        otsu.Add([50f, 53f, 200f]);
        var means = otsu.ClassMeans([30, 100, 150]);
        Assert.Equal(4, means.Length);
        Assert.Equal(32.0 / 3, means[0], 12);
        Assert.Equal(51.5, means[1], 12);
        Assert.True(double.IsNaN(means[2]), "a class no pixel falls into has no mean");
        Assert.Equal(200.0, means[3], 12);
    }

    /// <summary>
    /// Left half phase 1, right half phase 3, and a true phase-2 stripe 8 px wide inside phase 3: where 1 and 3 touch,
    /// the σ 1 smoothing makes a 2-px middle-grey skin that the thresholds give to phase 2; <see cref="ImageSetOtsu.Segment"/>
    /// gives it back to 1 and 3 and keeps the true stripe, whose edges with 1 and 3 are between neighbours.
    /// </summary>
    [Theory]
    [InlineData(8, 40.0, 120.0, 200.0, 6.0)]
    [InlineData(16, 9000.0, 24000.0, 41000.0, 600.0)]
    public void Segment_gives_the_middle_grey_skin_between_the_darkest_and_brightest_phase_to_them_and_keeps_a_true_middle_layer(
        int bitDepth, double dark, double middle, double bright, double noise)
    {
        const int size = 64;
        var random = new Random(bitDepth);
        var truth = new Image2D<byte>(size, size);
        var image = new Image2D<ushort>(size, size);
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var phase = x < 30 ? 1 : x is >= 44 and < 52 ? 2 : 3;
                truth[y, x] = (byte)phase;
                image[y, x] = (ushort)Math.Clamp(Math.Round(new[] { dark, middle, bright }[phase - 1] + noise * Normal(random)), 0, (1 << bitDepth) - 1);
            }
        var smoothed = ImageSetOtsu.Smooth(image);
        var otsu = new ImageSetOtsu(bitDepth);
        otsu.Add(smoothed.Pixels);
        var thresholds = otsu.Thresholds(3);
        var means = otsu.ClassMeans(thresholds);

        var byThreshold = ImageSetOtsu.Classify(smoothed, thresholds, bitDepth);
        var skin = Enumerable.Range(0, size).Count(y => byThreshold[y, 29] == 2 || byThreshold[y, 30] == 2);
        Assert.True(skin > size / 2, $"the thresholds alone were expected to leave a middle-phase skin at x 29-30 on most rows, found on {skin}");

        var segmented = ImageSetOtsu.Segment(smoothed, thresholds, means, bitDepth);
        Assert.Equal(truth.Pixels, segmented.Pixels);
    }
}
