using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class NoiseLevelTests
{
    /// <summary>Discs of radius 20 on a background, one per 64x64 cell (their edges ~4 % of the pixels), with white noise of σ, rounded to <paramref name="step"/>.</summary>
    private static Volume<ushort> NoisyDiscs(int depth, double sigma, int step = 1, int seed = 5)
    {
        var random = new Random(seed);
        var volume = new Volume<ushort>(depth, 128, 192);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < 128; y++)
                for (var x = 0; x < 192; x++)
                {
                    var inDisc = Math.Pow(y % 64 - 32, 2) + Math.Pow(x % 64 - 32 + z % 3, 2) < 400;
                    var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                    var value = (inDisc ? 40000 : 20000) + sigma * gaussian;
                    volume[z, y, x] = (ushort)Math.Clamp(Math.Round(value / step) * step, 0, 65535);
                }
        return volume;
    }

    [Theory]
    [InlineData(20.0, 1)] // a quiet 16-bit stack: median |e| ~15 grey levels, in the fourth bin of NoiseLevel.BinWidth
    [InlineData(300.0, 1)]
    [InlineData(1500.0, 1)]
    [InlineData(3 * 257.0, 257)] // an 8-bit stack mapped to 16 bits: noise of 3 of its levels
    public void The_noise_is_read_from_the_residuals_in_spite_of_the_edges(double sigma, int step)
    {
        var residuals = new long[NoiseLevel.Bins];
        NoiseLevel.AddResiduals(NoisyDiscs(4, sigma, step), residuals);
        // Within 10 %: the edges lift the median |e| by a few per cent, the comb of an 8-bit stack a few more.
        Assert.InRange(NoiseLevel.Sigma(residuals)!.Value, 0.95 * sigma, 1.1 * sigma);
    }

    [Fact]
    public void Slabs_counted_apart_add_up_to_the_whole_stack()
    {
        var stack = NoisyDiscs(6, 800);
        var whole = new long[NoiseLevel.Bins];
        NoiseLevel.AddResiduals(stack, whole);
        var parts = new long[NoiseLevel.Bins];
        foreach (var (z0, z1) in new[] { (0, 2), (2, 5), (5, 6) })
        {
            var slab = new Volume<ushort>(z1 - z0, stack.Height, stack.Width);
            Array.Copy(stack.Data, (long)z0 * stack.Height * stack.Width, slab.Data, 0, slab.Data.LongLength);
            NoiseLevel.AddResiduals(slab, parts);
        }
        Assert.Equal(whole, parts);
    }

    /// <summary>
    /// The counts are those of the plain definition, bin of |4·c − four neighbours| / 16 per interior pixel, on one thread
    /// and on many, for widths with and without a remainder after the vector lanes (eight pixels) and the four interleaved histograms.
    /// </summary>
    [Theory]
    [InlineData(33)]
    [InlineData(36)]
    [InlineData(3)]
    [InlineData(77)]
    [InlineData(10)]
    public void The_counts_are_the_plain_definitions_on_any_number_of_threads(int width)
    {
        var random = new Random(width);
        var stack = new Volume<ushort>(5, 17, width);
        for (var i = 0; i < stack.Data.Length; i++) stack.Data[i] = (ushort)(i % 7 == 0 ? random.Next(65536) : 30000 + random.Next(200));
        var expected = new long[NoiseLevel.Bins];
        for (var z = 0; z < stack.Depth; z++)
            for (var y = 1; y < stack.Height - 1; y++)
                for (var x = 1; x < width - 1; x++)
                {
                    int At(int dy, int dx) => stack[z, y + dy, x + dx];
                    var e = 4 * At(0, 0) - At(0, -1) - At(0, 1) - At(-1, 0) - At(1, 0);
                    expected[Math.Min(Math.Abs(e) / 16, NoiseLevel.Bins - 1)]++;
                }
        foreach (var threads in new[] { 1, 2, KernelThreads.All })
        {
            var counted = new long[NoiseLevel.Bins];
            NoiseLevel.AddResiduals(stack, counted, threads);
            Assert.Equal(expected, counted);
        }
    }

    [Fact]
    public void A_flat_stack_has_no_noise_and_an_empty_one_no_estimate()
    {
        var residuals = new long[NoiseLevel.Bins];
        NoiseLevel.AddResiduals(new Volume<ushort>(2, 8, 8), residuals);
        Assert.Equal(2 * 6 * 6, residuals[0]);
        Assert.True(NoiseLevel.Sigma(residuals) < NoiseLevel.BinWidth);
        Assert.Null(NoiseLevel.Sigma(new long[NoiseLevel.Bins]));
    }

    [Theory]
    [InlineData(100.0, 2000.0, NoiseLevel.QuietDenoiseSigma)]
    [InlineData(200.0, 2000.0, NoiseLevel.DefaultDenoiseSigma)]
    [InlineData(400.0, 2000.0, NoiseLevel.NoisyDenoiseSigma)]
    [InlineData(null, 2000.0, NoiseLevel.DefaultDenoiseSigma)]
    [InlineData(100.0, null, NoiseLevel.DefaultDenoiseSigma)]
    [InlineData(100.0, -50.0, NoiseLevel.DefaultDenoiseSigma)]
    [InlineData(0.0, 2000.0, NoiseLevel.DefaultDenoiseSigma)]
    public void Quiet_stacks_are_smoothed_less_and_noisy_ones_more(double? noise, double? contrast, double sigma) =>
        Assert.Equal(sigma, NoiseLevel.DenoiseSigmaFor(noise, contrast));
}
