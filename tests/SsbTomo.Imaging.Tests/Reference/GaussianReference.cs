using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Reference;

/// <summary>
/// Denoise.Gaussian as it was before the zero-row skip and the vectorised x pass moved into it (commit 158e72b), frozen:
/// the faster version must give these bits.
/// </summary>
internal static class GaussianReference
{
    public static Volume<float> Gaussian(Volume<ushort> input, double sigmaVoxels)
    {
        var weights = Array.ConvertAll(Denoise.GaussianKernel(sigmaVoxels), w => (float)w);
        var (depth, height, width) = (input.Depth, input.Height, input.Width);
        var alongX = new Volume<float>(depth, height, width);
        if (input.Length == 0) return alongX;

        var xSources = Denoise.ReflectedIndices(width, weights.Length / 2);
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
        var ySources = Denoise.ReflectedIndices(height, weights.Length / 2);
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
        var zSources = Denoise.ReflectedIndices(depth, weights.Length / 2);
        Parallel.For(0, depth, z =>
        {
            var output = result.Slice(z);
            for (var k = 0; k < weights.Length; k++)
                MultiplyAdd(alongY.Slice(zSources[z + k]), weights[k], output);
        });
        return result;
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

    private static void MultiplyAdd(ReadOnlySpan<float> source, float weight, Span<float> output)
    {
        for (var i = 0; i < source.Length; i++) output[i] += weight * source[i];
    }
}
