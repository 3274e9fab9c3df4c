using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

public class MatrixBackgroundTests
{
    /// <summary>A matrix at 120 with one large bright particle at 195 covering ~40 % of the slice, plus a charging ramp.</summary>
    private static (Image2D<float> Image, bool[] InParticle) LargeParticleWithRamp(int size = 160)
    {
        var image = new Image2D<float>(size, size);
        var inParticle = new bool[size * size];
        var rng = new Random(5);
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var i = y * size + x;
                inParticle[i] = (y - 60) * (y - 60) + (x - 70) * (x - 70) < 56 * 56;
                var scene = inParticle[i] ? 195.0 : 120.0;
                var ramp = 12.0 * (y / (double)size - 0.5) + 8.0 * (x / (double)size - 0.5);
                image[y, x] = (float)(scene + ramp + 3 * (rng.NextDouble() - 0.5));
            }
        return (image, inParticle);
    }

    [Fact]
    public void A_large_slice_read_on_every_second_row_and_column_gives_the_background_of_every_pixel()
    {
        const int size = 1024;
        var (image, inParticle) = LargeParticleWithRamp(size);
        Assert.Equal(2, IntensityNormalization.BackgroundSampleStep(size, size, 16, 16));
        Assert.Equal(1, IntensityNormalization.BackgroundSampleStep(768, 768, 16, 16));

        var everyPixel = IntensityNormalization.FitBackground(image, 16, 2, sampleStep: 1)!;
        var sampled = IntensityNormalization.FitBackground(image, 16, 2, sampleStep: 0)!;
        Assert.NotEqual(everyPixel.Coefficients, sampled.Coefficients); // the step is taken
        // The two backgrounds agree to a small share of the ramp's 20 levels over the slice.
        var a = IntensityNormalization.RemoveBackground(image, everyPixel);
        var b = IntensityNormalization.RemoveBackground(image, sampled);
        var largest = a.Pixels.Zip(b.Pixels, (p, q) => Math.Abs(p - q)).Max();
        Assert.True(largest < 0.2, $"backgrounds differ by up to {largest:0.000} levels");
        var matrix = b.Pixels.Where((_, i) => !inParticle[i]).Select(v => (double)v).ToArray();
        var mean = matrix.Average();
        var spread = Math.Sqrt(matrix.Select(v => (v - mean) * (v - mean)).Average());
        Assert.True(spread < 1.0, $"matrix spread after the sampled fit {spread:0.00} (noise ~0.9)");
    }

    [Fact]
    public void The_dominant_band_is_the_matrix_peak_only()
    {
        var (image, _) = LargeParticleWithRamp();
        var band = IntensityNormalization.DominantPhaseBand(image);
        Assert.InRange(band.Low, 100, 120);
        Assert.InRange(band.High, 120, 150);
    }

    [Fact]
    public void A_ramp_under_a_large_particle_is_removed_without_eating_the_particle()
    {
        var (image, inParticle) = LargeParticleWithRamp();
        var flat = IntensityNormalization.FlattenBackground(image, gridCells: 16);
        var matrix = flat.Pixels.Where((_, i) => !inParticle[i]).Select(v => (double)v).ToArray();
        var particle = flat.Pixels.Where((_, i) => inParticle[i]).Select(v => (double)v).ToArray();
        var matrixSpread = Math.Sqrt(matrix.Select(v => (v - matrix.Average()) * (v - matrix.Average())).Average());
        Assert.True(matrixSpread < 1.5, $"matrix spread after flattening {matrixSpread:0.00} (ramp alone ~4.2, noise ~0.9)");
        Assert.InRange(particle.Average() - matrix.Average(), 73, 77);
    }
}
