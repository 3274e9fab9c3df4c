using System.Numerics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>Noise reduction before thresholding.</summary>
public static class Denoise
{
    /// <summary>Gaussian truncation in standard deviations, as scipy.ndimage.gaussian_filter's default.</summary>
    public const double TruncateSigmas = 4.0;

    /// <summary>Kernel half-width in voxels: int(truncate·σ + 0.5), as scipy.</summary>
    public static int GaussianRadiusVoxels(double sigmaVoxels)
    {
        if (!(sigmaVoxels >= 0) || double.IsInfinity(sigmaVoxels))
            throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "sigma must be a finite non-negative number of voxels");
        return (int)(TruncateSigmas * sigmaVoxels + 0.5);
    }

    /// <summary>Normalised 1D Gaussian weights for offsets -radius..radius (scipy's _gaussian_kernel1d).</summary>
    public static double[] GaussianKernel(double sigmaVoxels)
    {
        var radius = GaussianRadiusVoxels(sigmaVoxels);
        var weights = new double[2 * radius + 1];
        if (radius == 0)
        {
            weights[0] = 1;
            return weights;
        }
        var sum = 0.0;
        for (var i = -radius; i <= radius; i++)
        {
            weights[i + radius] = Math.Exp(-0.5 / (sigmaVoxels * sigmaVoxels) * i * i);
            sum += weights[i + radius];
        }
        for (var i = 0; i < weights.Length; i++) weights[i] /= sum;
        return weights;
    }

    /// <summary>
    /// Separable 3D Gaussian with the same σ along z, y, x, 'reflect' boundary (d c b a | a b c d | d c b a)
    /// and 4σ truncation like scipy.ndimage.gaussian_filter. Passes run x, then y, then z, accumulating in
    /// float in a fixed order, so a voxel's value depends only on its neighbourhood: cropping a slab with
    /// <see cref="Halo.RequiredSlices"/> halo slices gives the same bytes as filtering the whole stack.
    /// </summary>
    public static Volume<float> Gaussian(Volume<ushort> input, double sigmaVoxels)
    {
        var weights = Array.ConvertAll(GaussianKernel(sigmaVoxels), w => (float)w);
        var (depth, height, width) = (input.Depth, input.Height, input.Width);
        var alongX = new Volume<float>(depth, height, width);
        if (input.Length == 0) return alongX;

        var xSources = ReflectedIndices(width, weights.Length / 2);
        Parallel.For(0, depth, z =>
        {
            var source = input.Data.AsSpan(z * input.SliceLength, input.SliceLength);
            var target = alongX.Slice(z);
            var padded = new float[width + weights.Length - 1];
            for (var y = 0; y < height; y++)
            {
                var row = source.Slice(y * width, width);
                for (var i = 0; i < padded.Length; i++) padded[i] = row[xSources[i]];
                ConvolveRow(padded, weights, target.Slice(y * width, width));
            }
        });

        var alongY = new Volume<float>(depth, height, width);
        var ySources = ReflectedIndices(height, weights.Length / 2);
        Parallel.For(0, depth, z =>
        {
            var source = alongX.Slice(z);
            var target = alongY.Slice(z);
            for (var y = 0; y < height; y++)
            {
                var output = target.Slice(y * width, width);
                for (var k = 0; k < weights.Length; k++)
                    MultiplyAdd(source.Slice(ySources[y + k] * width, width), weights[k], output);
            }
        });

        var result = alongX; // reuse: the x pass is no longer needed
        result.Data.AsSpan().Clear();
        var zSources = ReflectedIndices(depth, weights.Length / 2);
        Parallel.For(0, depth, z =>
        {
            var output = result.Slice(z);
            for (var k = 0; k < weights.Length; k++)
                MultiplyAdd(alongY.Slice(zSources[z + k]), weights[k], output);
        });
        return result;
    }

    /// <summary>
    /// For padded positions p = 0..n+2·radius-1 (p = i + radius), the source index under scipy's 'reflect'
    /// rule, mirrored repeatedly when the radius exceeds the length.
    /// </summary>
    public static int[] ReflectedIndices(int length, int radius)
    {
        var indices = new int[length + 2 * radius];
        var period = 2 * length;
        for (var p = 0; p < indices.Length; p++)
        {
            var m = (p - radius) % period;
            if (m < 0) m += period;
            indices[p] = m < length ? m : period - 1 - m;
        }
        return indices;
    }

    private static void ConvolveRow(float[] padded, float[] weights, Span<float> output)
    {
        for (var x = 0; x < output.Length; x++)
        {
            var sum = 0f;
            for (var k = 0; k < weights.Length; k++) sum += weights[k] * padded[x + k];
            output[x] = sum;
        }
    }

    /// <summary>output += weight · source, element by element (no fused multiply-add, so exact across machines).</summary>
    internal static void MultiplyAdd(ReadOnlySpan<float> source, float weight, Span<float> output)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<float>.Count)
        {
            var w = new Vector<float>(weight);
            for (; i <= source.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var product = w * new Vector<float>(source.Slice(i));
                (new Vector<float>(output.Slice(i)) + product).CopyTo(output.Slice(i));
            }
        }
        for (; i < source.Length; i++) output[i] += weight * source[i];
    }
}
