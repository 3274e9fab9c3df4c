using MathNet.Numerics.IntegralTransforms;
using Complex = System.Numerics.Complex;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// In-place 2D FFT, rows then columns, with MathNet's 1D transform (radix-2 for powers of two, Bluestein otherwise);
/// MathNet's managed provider has no multidimensional transform. Forward is unscaled, inverse divides by h*w.
/// </summary>
internal static class Fft2D
{
    public static void Forward(Complex[] data, int height, int width) => Transform(data, height, width, inverse: false);

    public static void Inverse(Complex[] data, int height, int width) => Transform(data, height, width, inverse: true);

    private static void Transform(Complex[] data, int height, int width, bool inverse)
    {
        var options = FourierOptions.Matlab;
        Parallel.For(0, height, () => new Complex[width], (y, _, buffer) =>
        {
            data.AsSpan(y * width, width).CopyTo(buffer);
            if (inverse) Fourier.Inverse(buffer, options); else Fourier.Forward(buffer, options);
            buffer.AsSpan().CopyTo(data.AsSpan(y * width, width));
            return buffer;
        }, _ => { });
        // Columns in blocks so that the gathers walk memory row by row.
        const int block = 16;
        int blocks = (width + block - 1) / block;
        Parallel.For(0, blocks, () => new Complex[block][], (b, _, buffers) =>
        {
            int x0 = b * block, n = Math.Min(block, width - x0);
            for (int j = 0; j < n; j++) buffers[j] ??= new Complex[height];
            for (int y = 0; y < height; y++)
            {
                int rowBase = y * width + x0;
                for (int j = 0; j < n; j++) buffers[j][y] = data[rowBase + j];
            }
            for (int j = 0; j < n; j++)
            {
                if (inverse) Fourier.Inverse(buffers[j], options); else Fourier.Forward(buffers[j], options);
            }
            for (int y = 0; y < height; y++)
            {
                int rowBase = y * width + x0;
                for (int j = 0; j < n; j++) data[rowBase + j] = buffers[j][y];
            }
            return buffers;
        }, _ => { });
    }
}
