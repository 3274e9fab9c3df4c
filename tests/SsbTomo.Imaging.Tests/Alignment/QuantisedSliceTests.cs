using SsbTomo.TestSupport;
using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// 8-bit slices with little noise: a phase covers a few integer grey levels, so a histogram whose bins do not hold a
/// whole number of levels is a comb, and the walk down the matrix peak stopped at the first tooth.
/// </summary>
public class QuantisedSliceTests
{
    /// <summary>
    /// Matrix on a charging ramp, bright round particles and dark pores, low noise, rounded to integers after scaling so
    /// that the 0.5..99.5 percentile range spans about <paramref name="levels"/> grey levels.
    /// </summary>
    internal static (Image2D<float> Image, bool[] Matrix) Scene(int levels, int seed, int size = 256, double noise = 0.6)
    {
        var rng = new Random(seed);
        var image = new Image2D<float>(size, size);
        var matrix = new bool[size * size];
        var particles = Enumerable.Range(0, 14).Select(_ => (Y: rng.NextDouble() * size, X: rng.NextDouble() * size, R: 10 + rng.NextDouble() * 16)).ToArray();
        var pores = Enumerable.Range(0, 40).Select(_ => (Y: rng.NextDouble() * size, X: rng.NextDouble() * size, R: 2 + rng.NextDouble() * 4)).ToArray();
        var scale = levels / 170.0;
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var ramp = 16.0 * ((double)x / size - 0.5) + 10.0 * ((double)y / size - 0.5);
                var v = 110.0;
                var isMatrix = true;
                foreach (var p in particles)
                    if ((y - p.Y) * (y - p.Y) + (x - p.X) * (x - p.X) < p.R * p.R) { v = 190; isMatrix = false; }
                foreach (var p in pores)
                    if ((y - p.Y) * (y - p.Y) + (x - p.X) * (x - p.X) < p.R * p.R) { v = 30; isMatrix = false; }
                v += ramp + noise * rng.NextGaussian();
                image[y, x] = (float)Math.Round(v * scale);
                matrix[y * size + x] = isMatrix;
            }
        return (image, matrix);
    }

    /// <summary>Before the bins held whole levels, 9 of these 12 scenes gave a band with 53-80 % of the matrix.</summary>
    [Theory]
    [InlineData(60, 1)]
    [InlineData(60, 2)]
    [InlineData(60, 3)]
    [InlineData(60, 4)]
    [InlineData(60, 5)]
    [InlineData(60, 6)]
    [InlineData(170, 1)]
    [InlineData(170, 2)]
    [InlineData(170, 3)]
    [InlineData(170, 4)]
    [InlineData(170, 5)]
    [InlineData(170, 6)]
    public void The_matrix_band_of_a_low_noise_8_bit_slice_covers_the_matrix(int levels, int seed)
    {
        var (image, matrix) = Scene(levels, seed);
        var band = IntensityNormalization.DominantPhaseBand(image);
        int inside = 0, total = 0;
        for (var i = 0; i < matrix.Length; i++)
        {
            if (!matrix[i]) continue;
            total++;
            if (image.Pixels[i] >= band.Low && image.Pixels[i] <= band.High) inside++;
        }
        Assert.True(inside >= 0.9 * total, $"band {band} holds {inside} of {total} matrix pixels");
    }

    [Theory]
    [InlineData(60)]
    [InlineData(170)]
    public void A_low_noise_8_bit_slice_is_flattened_with_the_full_polynomial(int levels)
    {
        var (image, matrix) = Scene(levels, 4);
        var flat = IntensityNormalization.FitBackground(image);
        Assert.NotNull(flat);
        Assert.Equal(2, flat.Degree);
        var corrected = IntensityNormalization.RemoveBackground(image, flat);
        double Spread(Image2D<float> im)
        {
            var values = im.Pixels.Where((_, i) => matrix[i]).Select(v => (double)v).ToArray();
            var mean = values.Average();
            return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        }
        // The ramp alone spreads the matrix by ~5.6 levels at 170 levels; flattened, rounding and noise are left.
        Assert.True(Spread(corrected) < 0.45 * Spread(image), $"matrix spread {Spread(image):0.00} -> {Spread(corrected):0.00}");
    }

    [Fact]
    public void Bins_hold_whole_levels_of_integer_data()
    {
        float[] sixty = [.. Enumerable.Range(0, 60).Select(v => (float)(v + 10))];
        Assert.Equal(new HistogramBins(9.5, 1, 60), HistogramBins.Spanning(sixty, 10, 69, 128));
        float[] wide = [.. Enumerable.Range(0, 170).Select(v => (float)v)];
        Assert.Equal(new HistogramBins(-0.5, 2, 85), HistogramBins.Spanning(wide, 0, 169, 128));
        // 8-bit data scaled into 16 bits (x257): the lattice step is found, and a bin holds one level.
        float[] scaled = [.. Enumerable.Range(20, 60).Select(v => (float)(v * 257))];
        Assert.Equal(new HistogramBins(20 * 257 - 128.5, 257, 60), HistogramBins.Spanning(scaled, 20 * 257, 79 * 257, 128));
        // A percentile between levels: the range is cut at the levels inside it.
        Assert.Equal(new HistogramBins(10.5, 1, 58), HistogramBins.Spanning(sixty, 10.4, 68.6, 128));
        // Continuous values: the range in maxBins equal bins.
        float[] continuous = [0.25f, 1.5f, 3.75f];
        Assert.Equal(new HistogramBins(0.25, 3.5 / 128, 128), HistogramBins.Spanning(continuous, 0.25, 3.75, 128));
    }
}
