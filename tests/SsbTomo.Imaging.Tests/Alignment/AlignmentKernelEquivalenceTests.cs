using SsbTomo.Imaging.Alignment;
using SsbTomo.Imaging.Tests.Reference;
using Xunit;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// The faster curtaining filter (running median by counts and block copies, column medians gathered in strips), band images, normalised Gaussian blur, patch consensus, the cubic B-spline shift and the background removal (SIMD passes, the reference's gradients and whole
/// cells' gradient products kept between pairs, the blurred weights of a hole-free image computed once per distinct row)
/// give the frozen reference's results bit for bit, so the drift they measure is unchanged.
/// </summary>
public class AlignmentKernelEquivalenceTests
{
    [Theory]
    [InlineData(37, 53, 1.0, false)]
    [InlineData(37, 53, 2.0, true)]
    [InlineData(64, 70, 0.5, false)]
    [InlineData(5, 6, 2.0, false)]   // fewer rows than the kernel: every row is a border row
    [InlineData(13, 40, 2.0, false)] // exactly 2r + 1 rows
    [InlineData(14, 3, 1.0, true)]   // narrower than a SIMD vector
    public void GaussianBlurMatchesTheReference(int h, int w, double sigma, bool holes)
    {
        var (data, weight) = Scene(h, w, seed: h * 31 + w, holes);
        var expected = GaussianBlurReference.Normalised(data, weight, h, w, sigma);
        var actual = GaussianBlur.Normalised(data, weight, h, w, sigma);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(220, 260, false)]
    [InlineData(301, 417, true)]  // widths not a multiple of any vector, NaN outside a field
    [InlineData(9, 13, false)]    // smaller than a few vectors
    public void ParticleSectionsMatchTheReference(int h, int w, bool holes)
    {
        var scene = new SectionScene(h, w);
        var rng = new Random(h * 7 + w);
        for (var k = 0; k < h * w / 2500 + 3; k++)
        {
            var r = 6 + 20 * rng.NextDouble();
            scene.Ellipse(rng.NextDouble() * h, rng.NextDouble() * w, r, r * (0.8 + 0.6 * rng.NextDouble()), 195);
        }
        scene.DarkSpecks(count: h * w / 600, grey: 25, seed: 3);
        var image = scene.Render(noiseSigma: 6, seed: 4);
        if (holes)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                    if (y + x < 40 || x > w - 9) image[y, x] = float.NaN;
        var smoothed = SmoothedSlice.Of(image, ParticleDetectionOptions.ForDrift.SmoothingSigmaPx);
        foreach (var options in new[] { ParticleDetectionOptions.ForDrift, ParticleDetectionOptions.Default })
        {
            var expected = ParticleSectionsReference.Detect(image, smoothed, options);
            Assert.Equal(expected, ParticleSections.Detect(image, smoothed, options));
            if (h > 100) Assert.NotEmpty(expected);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BandImagesMatchTheReference(bool holes)
    {
        var image = Slice(150, 171, new Shift2D(0, 0), holes);
        var options = PatchConsensusOptions.Default;
        Assert.Equal(BandImageReference.Of(image, 128, options).Data, BandImage.Of(image, 128, options).Data);
        Assert.Equal(BandImageReference.Of(image, 1024, options).Data, BandImage.Of(image, 1024, options).Data);
    }

    [Theory]
    [InlineData(0.4, -0.7, 0.0, 0.0, false)]
    [InlineData(2.3, 1.6, 2.0, 2.0, false)]
    [InlineData(-5.2, 7.9, -4.5, 7.0, true)] // large shift: cells along two edges are cut by the resampling's valid region
    [InlineData(9.5, -12.25, 0.0, 0.0, false)] // start far off: several clipped iterations
    public void PatchConsensusMatchesTheReference(double dy, double dx, double startY, double startX, bool holes)
    {
        var options = PatchConsensusOptions.Default;
        var reference = Slice(133, 161, Shift2D.Zero, holes);
        var moving = Slice(133, 161, new Shift2D(dy, dx), holes);
        var expected = PatchConsensusReference.Estimate(
            BandImageReference.Of(reference, 1024, options), BandImageReference.Of(moving, 1024, options), new Shift2D(startY, startX), options);
        var referenceBand = BandImage.Of(reference, 1024, options);
        var actual = PatchConsensus.Estimate(referenceBand, BandImage.Of(moving, 1024, options), new Shift2D(startY, startX), options);
        Assert.NotNull(expected);
        Assert.NotNull(actual);
        Assert.Equal(expected.Value.Shift, actual.Value.Shift);
        Assert.Equal(expected.Value.Spread, actual.Value.Spread);
        Assert.Equal(expected.Value.Patches, actual.Value.Patches);
        Assert.Equal(expected.Value.EffectivePatches, actual.Value.EffectivePatches);
        // The reference's kept terms serve a second pair with another moving slice unchanged.
        var other = Slice(133, 161, new Shift2D(-dy, dx / 2), holes);
        var expectedOther = PatchConsensusReference.Estimate(
            BandImageReference.Of(reference, 1024, options), BandImageReference.Of(other, 1024, options), Shift2D.Zero, options);
        var actualOther = PatchConsensus.Estimate(referenceBand, BandImage.Of(other, 1024, options), Shift2D.Zero, options);
        Assert.Equal(expectedOther?.Shift, actualOther?.Shift);
        Assert.Equal(expectedOther?.Spread, actualOther?.Spread);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(1000, false)]
    [InlineData(16129, false)] // the patches of a 1024-pixel crop
    [InlineData(5000, true)]   // few distinct values: long runs of ties, -0 beside +0, NaN, infinities
    public void StableOrderIsTheOrderOfAStableSort(int count, bool ties)
    {
        var random = new Random(count + (ties ? 1 : 0));
        double[] special = [0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e-310, -1e-310, double.MaxValue, -double.MaxValue];
        var values = new double[count];
        for (var i = 0; i < count; i++)
            values[i] = ties
                ? (random.Next(4) == 0 ? special[random.Next(special.Length)] : random.Next(-3, 4) * 0.25)
                : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 8));
        // LINQ's OrderBy is stable and orders doubles by CompareTo: NaN first, -0 equal to +0.
        var expected = Enumerable.Range(0, count).OrderBy(i => values[i]).ToArray();
        var order = new int[count];
        PatchConsensus.StableOrder(values, order, new ulong[count], new ulong[count], new int[count]);
        Assert.Equal(expected, order);
    }

    [Theory]
    [InlineData(1, 1, "floats")]
    [InlineData(2, 1, "floats")]
    [InlineData(1_048_576, 1, "floats")]
    [InlineData(100_003, 3, "floats")]
    [InlineData(200_000, 1, "levels")]  // whole grey levels: long runs of ties
    [InlineData(50_000, 1, "special")]  // NaN and infinities left out, zeros of both signs among the order statistics
    [InlineData(50_000, 2, "zeros")]    // mostly zeros: every percentile rests on one
    public void PercentilesAreThoseOfAQuickselectOfTheFiniteSamples(int count, int stride, string kind)
    {
        var random = new Random(count + stride);
        var samples = new float[count];
        for (var i = 0; i < count; i++)
            samples[i] = kind switch
            {
                "levels" => random.Next(40, 60),
                "special" => random.Next(10) switch { 0 => float.NaN, 1 => float.PositiveInfinity, 2 => -0f, 3 => 0f, _ => (float)(random.NextDouble() - 0.5) },
                "zeros" => random.Next(20) == 0 ? (float)random.NextDouble() : (random.Next(2) == 0 ? 0f : -0f),
                _ => (float)((random.NextDouble() - 0.3) * Math.Pow(10, random.Next(-3, 6))),
            };
        (double, double)[] pairs = [(0.0, 100.0), (0.5, 99.5), (5.0, 95.0), (1.0, 99.0), (50.0, 50.0)];
        var expected = new List<(double Low, double High)>();
        foreach (var (low, high) in pairs)
        {
            var finite = samples.Where((_, i) => i % stride == 0).Where(float.IsFinite).ToArray();
            double expectedLow = Statistics.Percentile(finite, low), expectedHigh = Statistics.Percentile(finite, high);
            expected.Add((expectedLow, expectedHigh));
            var actual = Statistics.Percentiles(samples, stride, low, high);
            Assert.NotNull(actual);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expectedLow), BitConverter.DoubleToInt64Bits(actual.Value.Low));
            Assert.Equal(BitConverter.DoubleToInt64Bits(expectedHigh), BitConverter.DoubleToInt64Bits(actual.Value.High));
        }
        // All pairs at once: each pair's bits as on its own (a pair that rests on a zero takes its own copy).
        var together = new (double Low, double High)[pairs.Length];
        Assert.True(Statistics.Percentiles(samples, stride, pairs, together));
        for (var k = 0; k < pairs.Length; k++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[k].Low), BitConverter.DoubleToInt64Bits(together[k].Low));
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[k].High), BitConverter.DoubleToInt64Bits(together[k].High));
        }
        Assert.Null(Statistics.Percentiles([float.NaN, float.NegativeInfinity], 1, 5, 95));
        Assert.False(Statistics.Percentiles([float.NaN], 1, pairs, together));
    }

    [Theory]
    [InlineData(300, 333, 12, 128, false, false)] // width not a multiple of the 16-column strip, 2 blocks
    [InlineData(97, 40, 5, 256, true, false)]     // one block, NaN rows and pixels
    [InlineData(64, 7, 3, 16, false, false)]      // narrower than one strip, 4 blocks
    [InlineData(120, 200, 12, 64, true, true)]    // whole grey levels (a raw slice without a background fit): windows full of equal values
    public void CurtainingFilterMatchesTheReference(int h, int w, int maxStripeWidthPx, int blockHeightPx, bool holes, bool wholeLevels)
    {
        var image = Slice(h, w, Shift2D.Zero, holes);
        var random = new Random(w);
        var stripes = Enumerable.Range(0, w).Select(_ => (float)(0.1 * (random.NextDouble() - 0.5))).ToArray();
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                image.Pixels[y * w + x] += stripes[x] * (1 + (float)y / h);
        if (wholeLevels)
            for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = MathF.Round(image.Pixels[i] * 20);
        if (holes) image.Pixels[h / 2 * w + w / 2] = float.NaN;
        var expected = CurtainingFilterReference.Remove(image, maxStripeWidthPx, blockHeightPx);
        var actual = CurtainingFilter.Remove(image, maxStripeWidthPx, blockHeightPx);
        Assert.Equal(expected.Pixels, actual.Pixels);
    }

    [Theory]
    [InlineData(150, 171, 0.37, -0.21, false)]
    [InlineData(150, 171, -3.6, 5.75, false)]  // a few pixels: rows and columns beyond the shift are NaN (a NaN input spreads through the prefilter's whole line)
    [InlineData(40, 37, 2.0, -4.0, false)]     // whole pixels: three nonzero taps, the last row and column in range
    [InlineData(33, 6, 0.5, 1.5, false)]       // narrower than a SIMD vector: every pixel on the scalar path
    [InlineData(20, 45, 0.25, 42.75, false)]   // two columns left, the second with a mirrored tap: no SIMD interior
    [InlineData(64, 200, -1.9, -195.5, false)] // four columns left at the far end, the first with a mirrored tap
    [InlineData(1, 40, 0.0, 0.3, false)]       // one row: the prefilter's columns are single samples
    [InlineData(30, 1, -0.4, 0.0, false)]      // one column
    public void SubpixelShiftMatchesTheReference(int h, int w, double dy, double dx, bool holes)
    {
        var image = Slice(h, w, Shift2D.Zero, holes);
        var shift = new Shift2D(dy, dx);
        var expected = SubpixelShiftReference.Apply(image, shift).Pixels;
        Assert.Contains(expected, float.IsFinite); // NaN equals NaN: a case whose every pixel is outside would test nothing
        Assert.Equal(expected, SubpixelShift.Apply(image, shift).Pixels);
    }

    [Theory]
    [InlineData(2, BackgroundModel.Subtract, 97, 131)]
    [InlineData(3, BackgroundModel.Divide, 64, 70)]
    [InlineData(1, BackgroundModel.Subtract, 9, 5)] // narrower than a SIMD vector
    [InlineData(0, BackgroundModel.Divide, 1, 40)]  // one row
    public void BackgroundRemovalMatchesTheReference(int degree, BackgroundModel model, int h, int w)
    {
        var image = Slice(h, w, Shift2D.Zero, holes: false);
        for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = 1000 + 800 * image.Pixels[i];
        image.Pixels[image.Pixels.Length / 2] = float.NaN;
        var random = new Random(degree * 7 + w);
        var coefficients = Enumerable.Range(0, (degree + 1) * (degree + 2) / 2).Select(j => j == 0 ? 1200.0 : 60 * (random.NextDouble() - 0.5)).ToArray();
        var fit = new BackgroundFit(degree, coefficients, 1150.5, 64);
        var expected = BackgroundRemovalReference.Remove(image, degree, coefficients, fit.Level, model);
        Assert.Equal(expected.Pixels, IntensityNormalization.RemoveBackground(image, fit, model).Pixels);
    }

    private static Image2D<float> Slice(int h, int w, Shift2D shift, bool holes)
    {
        var image = new BlobScene(160, h, w, seed: 11).Render(h, w, shift);
        var noise = new Random(h + w);
        for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] += (float)(0.02 * (noise.NextDouble() - 0.5));
        if (holes)
            for (var y = 0; y < h / 5; y++)
                for (var x = 0; x < w; x++)
                    image.Pixels[y * w + x] = float.NaN; // a band outside the field of view, as after a shift
        return image;
    }

    private static (float[] Data, float[] Weight) Scene(int h, int w, int seed, bool holes)
    {
        var random = new Random(seed);
        var data = new float[h * w];
        var weight = new float[h * w];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 100);
            weight[i] = holes && random.NextDouble() < 0.2 ? 0f : 1f;
        }
        return (data, weight);
    }
}
