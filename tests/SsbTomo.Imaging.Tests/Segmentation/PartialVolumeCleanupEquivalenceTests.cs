using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Measurement;
using SsbTomo.Imaging.Tests.Reference;

namespace SsbTomo.Imaging.Tests.Segmentation;

/// <summary>
/// The optimised <see cref="PartialVolumeCleanup"/> must give exactly the bytes of the original straightforward
/// implementation (<see cref="PartialVolumeCleanupReference"/>) on random worst cases, blurred noisy structures,
/// degenerate shapes, other band widths, contrasts and class lists, and whatever the z-blocking.
/// </summary>
public class PartialVolumeCleanupEquivalenceTests
{
    private static readonly byte[] DarkToBright = PhaseClassifier.BseDarkToBright;
    private static readonly double[] Means = [6000, 20000, 34000, 52000];

    /// <summary>Independent random labels (with some Outside) and intensities near each label's class mean.</summary>
    private static (Volume<byte> Labels, Volume<float> Intensity) RandomCase(int depth, int height, int width, int seed, double outsideShare = 0.03, double nanShare = 0)
    {
        var random = new Random(seed);
        var labels = new Volume<byte>(depth, height, width);
        var intensity = new Volume<float>(depth, height, width);
        for (var i = 0; i < labels.Data.Length; i++)
        {
            if (random.NextDouble() < outsideShare) { labels.Data[i] = PhaseLabel.Outside; intensity.Data[i] = float.NaN; continue; }
            var rank = random.Next(DarkToBright.Length);
            labels.Data[i] = DarkToBright[rank];
            intensity.Data[i] = random.NextDouble() < nanShare ? float.NaN : (float)(Means[rank] + random.Next(-14000, 14000));
        }
        return (labels, intensity);
    }

    /// <summary>Random spheres of each phase in LPS, rendered to grey, blurred, noised, denoised and classified.</summary>
    private static (Volume<byte> Labels, Volume<float> Intensity) StructuredCase(int depth, int height, int width, int seed, double noise)
    {
        var random = new Random(seed);
        var truth = new Volume<byte>(depth, height, width);
        Array.Fill(truth.Data, PhaseLabel.Lps);
        for (var s = 0; s < depth * height * width / 400; s++)
        {
            var label = new[] { PhaseLabel.Nmc, PhaseLabel.Nmc, PhaseLabel.Void, PhaseLabel.Carbon }[random.Next(4)];
            double cz = random.Next(depth), cy = random.Next(height), cx = random.Next(width), r = 1 + random.NextDouble() * 5;
            for (var z = 0; z < depth; z++)
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                        if ((z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) truth[z, y, x] = label;
        }
        return Render(truth, noise, seed);
    }

    private static (Volume<byte> Labels, Volume<float> Intensity) Render(Volume<byte> truth, double noise, int seed)
    {
        var random = new Random(seed + 1000);
        var grey = new Volume<ushort>(truth.Depth, truth.Height, truth.Width, Array.ConvertAll(truth.Data, l => l switch
        {
            PhaseLabel.Void => (ushort)6000, PhaseLabel.Carbon => (ushort)20000, PhaseLabel.Lps => (ushort)34000, PhaseLabel.Nmc => (ushort)52000, _ => (ushort)0,
        }));
        var blurred = Denoise.Gaussian(grey, 1.0);
        var noisy = new Volume<ushort>(truth.Depth, truth.Height, truth.Width);
        for (var i = 0; i < noisy.Data.Length; i++)
        {
            var g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            noisy.Data[i] = (ushort)Math.Clamp(Math.Round(blurred.Data[i] + noise * g), 0, 65535);
        }
        var denoised = Denoise.Gaussian(noisy, 1.0);
        return (PhaseClassifier.Classify(denoised, [13000, 27000, 43000], DarkToBright), denoised);
    }

    /// <returns>How many voxels the clean-up changed (so that a test can show it is not vacuous).</returns>
    private static int AssertSame(Volume<byte> labels, Volume<float> intensity, byte[] darkToBright, double[] means, int band = PartialVolumeCleanup.DefaultMaxBandVoxels, double contrast = PartialVolumeCleanup.DefaultMinimumEdgeContrast)
    {
        var expected = PartialVolumeCleanupReference.Apply(labels, intensity, darkToBright, means, band, contrast);
        var actual = PartialVolumeCleanup.Apply(labels, intensity, darkToBright, means, band, contrast);
        Assert.Equal(expected.Data, actual.Data);
        foreach (var blocks in new[] { 1, 2, 3, Math.Max(1, labels.Depth) })
            Assert.Equal(expected.Data, PartialVolumeCleanup.Apply(labels, intensity, darkToBright, means, band, contrast, blocks).Data);
        // A span of slices: the reference's bytes there, the input labels elsewhere.
        var (start, end) = (labels.Depth / 3, Math.Max(labels.Depth / 3, labels.Depth - 2));
        var spanned = PartialVolumeCleanup.Apply(labels, intensity, darkToBright, means, new SliceSpan(start, end), band, contrast);
        var plane = labels.SliceLength;
        for (var z = 0; z < labels.Depth; z++)
            Assert.Equal((z >= start && z < end ? expected : labels).Data.AsSpan(z * plane, plane).ToArray(), spanned.Data.AsSpan(z * plane, plane).ToArray());
        // And an area of rows and columns in that span (a tile's owned voxels in its window; columns off the 32-voxel runs' grid).
        var area = new AreaSpan(labels.Height / 4, labels.Height - labels.Height / 5, labels.Width / 3 + 1, labels.Width - labels.Width / 7);
        var inArea = PartialVolumeCleanup.Apply(labels, intensity, darkToBright, means, new SliceSpan(start, end), band, contrast, area);
        for (var z = 0; z < labels.Depth; z++)
            for (var y = 0; y < labels.Height; y++)
                for (var x = 0; x < labels.Width; x++)
                {
                    var exact = z >= start && z < end && y >= area.Y0 && y < area.Y1 && x >= area.X0 && x < area.X1;
                    Assert.Equal((exact ? expected : labels)[z, y, x], inArea[z, y, x]);
                }
        return expected.Data.Where((label, i) => label != labels.Data[i]).Count();
    }

    [Theory]
    [InlineData(1, 2, 0.6)]
    [InlineData(2, 2, 0.0)]
    [InlineData(3, 2, 1.0)]
    [InlineData(4, 1, 0.6)]
    [InlineData(5, 3, 0.6)]
    [InlineData(6, 4, 0.3)]
    public void Random_labels_equal_the_reference(int seed, int band, double contrast)
    {
        var (labels, intensity) = RandomCase(11, 17, 19, seed, nanShare: seed == 2 ? 0.02 : 0);
        Assert.True(AssertSame(labels, intensity, DarkToBright, Means, band, contrast) > 0);
    }

    [Theory]
    [InlineData(1, 1500.0, 2)]
    [InlineData(2, 3000.0, 2)]
    [InlineData(3, 800.0, 1)]
    [InlineData(4, 1500.0, 3)]
    public void Blurred_noisy_structures_equal_the_reference(int seed, double noise, int band)
    {
        var (labels, intensity) = StructuredCase(20, 40, 44, seed, noise);
        Assert.True(AssertSame(labels, intensity, DarkToBright, Means, band) > 100);
    }

    /// <summary>Rows wide enough for several 32-voxel runs of the line-shape test, and a tail after them.</summary>
    [Theory]
    [InlineData(7, 1500.0, 2, 16, 30, 133)]
    [InlineData(8, 1500.0, 1, 12, 20, 101)]
    [InlineData(9, 3000.0, 2, 5, 9, 70)]
    public void Wide_rows_equal_the_reference(int seed, double noise, int band, int depth, int height, int width)
    {
        var (labels, intensity) = StructuredCase(depth, height, width, seed, noise);
        Assert.True(AssertSame(labels, intensity, DarkToBright, Means, band) > 100);
        var (random, randomIntensity) = RandomCase(depth, height, width, seed);
        Assert.True(AssertSame(random, randomIntensity, DarkToBright, Means, band) > 0);
    }

    /// <summary>
    /// Rows evaluated 32 voxels at a time (bands of two, three or four classes, lines inside the volume): structured and
    /// random labels, edge contrasts from none to the whole gap, grey levels that are NaN, widths with and without a tail.
    /// </summary>
    [Theory]
    [InlineData(11, 1500.0, 12, 14, 100, 0.6)]
    [InlineData(12, 3000.0, 10, 12, 164, 0.0)]
    [InlineData(13, 800.0, 9, 9, 68, 1.0)]
    [InlineData(14, 1500.0, 13, 11, 97, 0.3)]
    public void Runs_of_32_voxels_equal_the_reference(int seed, double noise, int depth, int height, int width, double contrast)
    {
        var (labels, intensity) = StructuredCase(depth, height, width, seed, noise);
        Assert.True(AssertSame(labels, intensity, DarkToBright, Means, contrast: contrast) > 0);
        var (random, randomIntensity) = RandomCase(depth, height, width, seed, nanShare: 0.02);
        Assert.True(AssertSame(random, randomIntensity, DarkToBright, Means, contrast: contrast) > 0);
        // Three classes: carbon merged into void (then the only intermediate class is LPS).
        byte[] voidLpsNmc = [PhaseLabel.Void, PhaseLabel.Lps, PhaseLabel.Nmc];
        double[] threeMeans = [6000, 34000, 52000];
        AssertSame(new Volume<byte>(depth, height, width, Array.ConvertAll(labels.Data, l => l == PhaseLabel.Carbon ? PhaseLabel.Void : l)), intensity,
            voidLpsNmc, threeMeans, contrast: contrast);
        var randomThree = new Volume<byte>(depth, height, width, Array.ConvertAll(random.Data, l => l == PhaseLabel.Carbon ? PhaseLabel.Void : l));
        Assert.True(AssertSame(randomThree, randomIntensity, voidLpsNmc, threeMeans, contrast: contrast) > 0);
    }

    [Fact]
    public void Runs_that_reach_labels_beyond_the_rank_table_equal_the_reference()
    {
        // Four ranked labels, one of them beyond 15, and an unranked one beyond 15 in some rows.
        byte[] order = [PhaseLabel.Void, 200, PhaseLabel.Lps, PhaseLabel.Nmc];
        var (labels, intensity) = StructuredCase(12, 14, 100, 15, 1500);
        var random = new Random(15);
        var mapped = Array.ConvertAll(labels.Data, l => l == PhaseLabel.Carbon ? (byte)200 : l);
        for (var i = 0; i < mapped.Length; i++)
            if ((i / 100) % 5 == 0 && random.NextDouble() < 0.05) mapped[i] = 99;
        Assert.True(AssertSame(new Volume<byte>(12, 14, 100, mapped), intensity, order, Means) > 100);
    }

    /// <summary>
    /// A carbon skin between void and NMC whose grey level, or whose edge's contrast, is the float just below or at a
    /// threshold that no float holds (the rule compares floats with doubles): runs and the reference must agree to the bit.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_grey_level_or_contrast_next_to_a_double_threshold_goes_the_same_way_as_the_reference(int variant)
    {
        double[] means = [0, 10000, 20000, 30000.7];
        var (midpoint, contrastNeeded) = (0.5 * (means[0] + means[3]), PartialVolumeCleanup.DefaultMinimumEdgeContrast * (means[3] - means[0]));
        // Both round down to a float, so a float threshold of the nearest float would decide the voxels below wrongly.
        Assert.True((float)midpoint < midpoint && (float)contrastNeeded < contrastNeeded);
        var (centreGrey, nmcGrey) = variant switch
        {
            0 => ((float)midpoint, 30000.7f),
            1 => (MathF.BitIncrement((float)midpoint), 30000.7f),
            2 => (20000f, (float)contrastNeeded),
            _ => (20000f, MathF.BitIncrement((float)contrastNeeded)),
        };
        var (depth, height, width) = (12, 12, 72);
        var labels = new Volume<byte>(depth, height, width);
        var intensity = new Volume<float>(depth, height, width);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    (labels[z, y, x], intensity[z, y, x]) = x < 36 ? (PhaseLabel.Void, 0f) : x == 36 ? (PhaseLabel.Carbon, centreGrey) : (PhaseLabel.Nmc, nmcGrey);
        var changed = AssertSame(labels, intensity, DarkToBright, means);
        Assert.Equal(variant == 2 ? 0 : depth * height, changed);
    }

    [Fact]
    public void Cracked_sphere_equals_the_reference()
    {
        var (labels, intensity) = Render(ContactAndFractionTests.HalfCrackedSphere(40, 12, 3), 1500, 9);
        Assert.True(AssertSame(labels, intensity, DarkToBright, Means) > 100);
    }

    [Theory]
    [InlineData(1, 1, 40)]
    [InlineData(1, 30, 1)]
    [InlineData(2, 2, 2)]
    [InlineData(3, 5, 4)]
    [InlineData(4, 9, 3)]
    [InlineData(40, 1, 1)]
    [InlineData(5, 6, 7)]
    public void Thin_and_tiny_volumes_equal_the_reference(int depth, int height, int width)
    {
        for (var seed = 0; seed < 6; seed++)
        {
            var (labels, intensity) = RandomCase(depth, height, width, 100 + seed);
            AssertSame(labels, intensity, DarkToBright, Means);
            AssertSame(labels, intensity, DarkToBright, Means, band: 1, contrast: 0);
        }
    }

    [Fact]
    public void Five_classes_and_unlisted_labels_equal_the_reference()
    {
        // Labels 0..6; only 5 of them ranked (6 and 0 unranked), dark to bright in a non-monotone label order.
        byte[] order = [4, 3, 5, 2, 1];
        double[] means = [5000, 15000, 25000, 38000, 52000];
        var random = new Random(77);
        var labels = new Volume<byte>(12, 21, 23);
        var intensity = new Volume<float>(12, 21, 23);
        for (var i = 0; i < labels.Data.Length; i++)
        {
            labels.Data[i] = (byte)random.Next(0, 7);
            intensity.Data[i] = random.Next(0, 60000);
        }
        Assert.True(AssertSame(labels, intensity, order, means) > 0);
        Assert.True(AssertSame(labels, intensity, order, means, band: 3, contrast: 0.2) > 0);
    }

    [Fact]
    public void Labels_beyond_the_rank_tables_sixteen_entries_equal_the_reference()
    {
        // Ranks are looked up 32 labels at a time in a table of the first 16 labels; a run of 32 with a larger label
        // (ranked 200 and 17, unranked 99) takes the one-by-one lookup. Some rows hold only small labels, some mix them.
        byte[] order = [200, 3, 17, 2, 1];
        double[] means = [5000, 15000, 25000, 38000, 52000];
        byte[] small = [0, 1, 2, 3, 4], large = [0, 1, 2, 3, 4, 17, 99, 200];
        var random = new Random(78);
        var labels = new Volume<byte>(10, 24, 75);
        var intensity = new Volume<float>(10, 24, 75);
        for (var i = 0; i < labels.Data.Length; i++)
        {
            var row = i / labels.Width;
            labels.Data[i] = row % 3 == 0 ? small[random.Next(small.Length)] : large[random.Next(large.Length)];
            intensity.Data[i] = random.Next(0, 60000);
        }
        Assert.True(AssertSame(labels, intensity, order, means) > 0);
        Assert.True(AssertSame(labels, intensity, order, means, band: 1, contrast: 0) > 0);
    }

    [Fact]
    public void Two_or_three_classes_equal_the_reference()
    {
        var (labels, intensity) = RandomCase(9, 13, 15, 5);
        AssertSame(labels, intensity, [PhaseLabel.Void, PhaseLabel.Lps, PhaseLabel.Nmc], [6000, 34000, 52000]);
        AssertSame(labels, intensity, [PhaseLabel.Void, PhaseLabel.Nmc], [6000, 52000]);
        AssertSame(labels, intensity, [PhaseLabel.Nmc], [52000]);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    public void The_2D_overload_with_k_classes_equals_the_reference_on_a_one_slice_volume(int classes)
    {
        var order = Enumerable.Range(1, classes).Select(l => (byte)l).ToArray();
        var means = Enumerable.Range(0, classes).Select(r => 5000.0 + 50000.0 * r / (classes - 1)).ToArray();
        var random = new Random(classes);
        var (height, width) = (37, 41);
        var labels = new byte[height * width];
        var grey = new float[height * width];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = (byte)random.Next(0, classes + 1); // 0 unranked
            grey[i] = random.Next(0, 60000);
        }
        var expected = PartialVolumeCleanupReference.Apply(new Volume<byte>(1, height, width, labels), new Volume<float>(1, height, width, grey), order, means);
        var actual = PartialVolumeCleanup.Apply(new Image2D<byte>(height, width, labels), new Image2D<float>(height, width, grey), order, means);
        Assert.Equal(expected.Data, actual.Pixels);
        Assert.True(expected.Data.Where((label, i) => label != labels[i]).Count() > 10);
    }

    [Fact]
    public void Empty_volume_gives_an_empty_volume()
    {
        var labels = new Volume<byte>(0, 5, 5);
        Assert.Empty(PartialVolumeCleanup.Apply(labels, new Volume<float>(0, 5, 5), DarkToBright, Means).Data);
    }
}
