using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Study only: denoising filters other than the segmentation stage's 3D Gaussian (σ 0.8 voxels), applied to a finished
/// run's aligned volume so the studies can re-segment the family with them. SSBTOMO_STUDY_DENOISE picks one:
/// "g3 S" (the pipeline's Gaussian at σ S), "aniso XY Z" (separable Gaussian, σ XY in-plane and Z along z; 0 = no pass),
/// "median3" (3x3x3 median), "median2d" (3x3 in-plane median), "none", "sharp S A T" (the Gaussian at σ S, then unsharp
/// masking with amount A at σ T; session 30, figures in CleanupStudy).
/// </summary>
internal static class DenoiseVariants
{
    public static Volume<ushort> Apply(Volume<ushort> aligned, string variant)
    {
        var parts = variant.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double Arg(int i) => double.Parse(parts[i], CultureInfo.InvariantCulture);
        return parts[0] switch
        {
            "g3" => Denoise.Gaussian(aligned, Arg(1)).ToUInt16(),
            "aniso" => Anisotropic(aligned, Arg(1), Arg(2)).ToUInt16(),
            "median3" => Median(aligned, 1),
            "median2d" => Median(aligned, 0),
            "none" => aligned,
            "sharp" => Sharpened(Denoise.Gaussian(aligned, Arg(1)), Arg(2), Arg(3), Arg(3)).ToUInt16(),
            _ => throw new ArgumentException($"unknown denoise variant '{variant}'"),
        };
    }

    /// <summary>
    /// Unsharp masking, d + A·(d − G*d) with a separable Gaussian of σ <paramref name="sigmaXy"/> in-plane and
    /// <paramref name="sigmaZ"/> along z (0: no pass), clamped to the 16-bit range: one Van Cittert step towards the blur
    /// undone (session 30: "sharp S A T" here, the "sharpen" rules of CleanupStudy).
    /// </summary>
    public static Volume<float> Sharpened(Volume<float> denoised, double amount, double sigmaXy, double sigmaZ)
    {
        var (d, h, w) = (denoised.Depth, denoised.Height, denoised.Width);
        var blurred = Anisotropic(denoised.Data, d, h, w, sigmaXy, sigmaZ);
        var result = new float[blurred.Length];
        for (long k = 0; k < result.Length; k++)
            result[k] = (float)Math.Clamp(denoised.Data[k] + amount * (denoised.Data[k] - blurred[k]), 0, 65535);
        return new Volume<float>(d, h, w, result);
    }

    private static Volume<float> Anisotropic(Volume<ushort> input, double sigmaXy, double sigmaZ) =>
        new(input.Depth, input.Height, input.Width, Anisotropic(Array.ConvertAll(input.Data, v => (float)v), input.Depth, input.Height, input.Width, sigmaXy, sigmaZ));

    private static float[] Anisotropic(float[] data, int d, int h, int w, double sigmaXy, double sigmaZ)
    {
        if (sigmaXy > 0)
        {
            data = Pass(data, d, h, w, sigmaXy, 2);
            data = Pass(data, d, h, w, sigmaXy, 1);
        }
        if (sigmaZ > 0) data = Pass(data, d, h, w, sigmaZ, 0);
        return data;
    }

    private static float[] Pass(float[] source, int d, int h, int w, double sigma, int axis)
    {
        var weights = Denoise.GaussianKernel(sigma);
        var radius = weights.Length / 2;
        var length = axis switch { 0 => d, 1 => h, _ => w };
        var stride = axis switch { 0 => (long)h * w, 1 => w, _ => 1L };
        var sources = Denoise.ReflectedIndices(length, radius);
        var result = new float[source.Length];
        Parallel.For(0, d, z =>
        {
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var k = ((long)z * h + y) * w + x;
                    var position = axis switch { 0 => z, 1 => y, _ => x };
                    var origin = k - position * stride;
                    double sum = 0;
                    for (var i = 0; i < weights.Length; i++) sum += weights[i] * source[origin + sources[position + i] * stride];
                    result[k] = (float)sum;
                }
        });
        return result;
    }

    private static Volume<ushort> Median(Volume<ushort> input, int reachZ)
    {
        var (d, h, w) = (input.Depth, input.Height, input.Width);
        var result = new Volume<ushort>(d, h, w);
        Parallel.For(0, d, z =>
        {
            var window = new ushort[27];
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var n = 0;
                    for (var dz = -reachZ; dz <= reachZ; dz++)
                        for (var dy = -1; dy <= 1; dy++)
                            for (var dx = -1; dx <= 1; dx++)
                            {
                                var (zz, yy, xx) = (Math.Clamp(z + dz, 0, d - 1), Math.Clamp(y + dy, 0, h - 1), Math.Clamp(x + dx, 0, w - 1));
                                window[n++] = input.Data[((long)zz * h + yy) * w + xx];
                            }
                    Array.Sort(window, 0, n);
                    result.Data[((long)z * h + y) * w + x] = window[n / 2];
                }
        });
        return result;
    }
}
