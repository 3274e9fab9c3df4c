using System.Numerics;
using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

public class Fft2DTests
{
    [Theory]
    [InlineData(2, 2, 2)]
    [InlineData(8, 16, 8)]
    [InlineData(16, 8, 11)]
    [InlineData(4, 64, 3)]
    [InlineData(64, 32, 64)]
    [InlineData(32, 128, 30)]
    public void Forward_half_spectrum_matches_a_direct_dft(int height, int width, int sourceRows)
    {
        var image = RandomImage(height, width, sourceRows, seed: height * 1000 + width);
        var (re, im) = Forward(image, height, width, sourceRows);
        int halfWidth = Fft2D.HalfWidth(width);
        double worst = 0, scale = 0;
        for (int ky = 0; ky < height; ky++)
            for (int kx = 0; kx < halfWidth; kx++)
            {
                var expected = Complex.Zero;
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                        expected += image[y * width + x] * Complex.FromPolarCoordinates(1, -2 * Math.PI * ((double)ky * y / height + (double)kx * x / width));
                worst = Math.Max(worst, (expected - new Complex(re[ky * halfWidth + kx], im[ky * halfWidth + kx])).Magnitude);
                scale = Math.Max(scale, expected.Magnitude);
            }
        Assert.InRange(worst, 0, 1e-12 * Math.Max(scale, 1));
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(8, 32)]
    [InlineData(32, 8)]
    [InlineData(256, 512)]
    public void Inverse_of_forward_is_the_image_times_its_size(int height, int width)
    {
        var image = RandomImage(height, width, height, seed: 7);
        var (re, im) = Forward(image, height, width, height);
        int halfLength = height * Fft2D.HalfWidth(width);
        var output = new double[height * width];
        var (reCopy, imCopy) = ((double[])re.Clone(), (double[])im.Clone());
        Fft2D.InverseReal(height, width, re, im, new double[halfLength], new double[halfLength], output);
        for (int i = 0; i < output.Length; i++)
            Assert.InRange(output[i] / ((double)height * width) - image[i], -1e-12, 1e-12);
        Assert.Equal(reCopy, re);
        Assert.Equal(imCopy, im);
    }

    [Fact]
    public void Inverse_of_any_half_spectrum_is_the_real_part_of_the_full_inverse()
    {
        // Not every half spectrum comes from a real image (DC and Nyquist columns need not be Hermitian in ky):
        // the result must still be the real part of the inverse of the conjugate-symmetric extension.
        const int height = 16, width = 8;
        int halfWidth = Fft2D.HalfWidth(width);
        var random = new Random(3);
        var re = Enumerable.Range(0, height * halfWidth).Select(_ => random.NextDouble() - 0.5).ToArray();
        var im = Enumerable.Range(0, height * halfWidth).Select(_ => random.NextDouble() - 0.5).ToArray();
        var output = new double[height * width];
        Fft2D.InverseReal(height, width, re, im, new double[re.Length], new double[re.Length], output);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var sum = Complex.Zero;
                for (int ky = 0; ky < height; ky++)
                    for (int kx = 0; kx < width; kx++)
                    {
                        var value = kx < halfWidth
                            ? new Complex(re[ky * halfWidth + kx], im[ky * halfWidth + kx])
                            : Complex.Conjugate(new Complex(re[(height - ky) % height * halfWidth + width - kx], im[(height - ky) % height * halfWidth + width - kx]));
                        sum += value * Complex.FromPolarCoordinates(1, 2 * Math.PI * ((double)ky * y / height + (double)kx * x / width));
                    }
                Assert.InRange(output[y * width + x] - sum.Real, -1e-12, 1e-12);
            }
    }

    [Fact]
    public void Sizes_that_are_not_powers_of_two_are_rejected()
    {
        var re = new double[64];
        var im = new double[64];
        Assert.Throws<ArgumentException>(() => Fft2D.ForwardReal(6, 8, 6, (_, row) => row.Clear(), re, im));
    }

    private static double[] RandomImage(int height, int width, int sourceRows, int seed)
    {
        var random = new Random(seed);
        var image = new double[height * width];
        for (int i = 0; i < sourceRows * width; i++) image[i] = random.NextDouble() * 2 - 1;
        return image;
    }

    private static (double[] Re, double[] Im) Forward(double[] image, int height, int width, int sourceRows)
    {
        int halfLength = height * Fft2D.HalfWidth(width);
        // Pre-filled with garbage: every output value must be written.
        var re = Enumerable.Repeat(double.NaN, halfLength).ToArray();
        var im = Enumerable.Repeat(double.NaN, halfLength).ToArray();
        Fft2D.ForwardReal(height, width, sourceRows, (y, row) =>
        {
            Assert.InRange(y, 0, sourceRows - 1);
            image.AsSpan(y * width, width).CopyTo(row);
        }, re, im);
        return (re, im);
    }
}
