using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Phantom;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Realistic inputs, generated once per run: phantom truth labels → BSE-like grey levels → blur σ=1 →
/// Gaussian noise → uint16 "raw" image → denoise σ=1 → 4-class multi-Otsu → segmented labels → partial-volume clean-up.
/// </summary>
internal sealed class BenchData
{
    public required Volume<byte> Truth { get; init; }
    public required Volume<ushort> Raw { get; init; }
    public required Volume<float> Denoised { get; init; }
    public required Volume<byte> Labels { get; init; }
    public required double[] ClassMeans { get; init; }

    /// <summary>Labels after the partial-volume clean-up: what contact faces and void components are measured on.</summary>
    public required Volume<byte> Cleaned { get; init; }

    public static byte[] DarkToBright => PhaseClassifier.BseDarkToBright;

    private static ushort GreyOf(byte label) => label switch
    {
        PhaseLabel.Void => 6000,
        PhaseLabel.Carbon => 20000,
        PhaseLabel.Lps => 34000,
        PhaseLabel.Nmc => 52000,
        _ => 0,
    };

    public static BenchData Generate(int depth, int height, int width, double noiseGrey = 1500, int seed = 1)
    {
        var truth = CathodePhantom.Create(new PhantomOptions(PhantomPreset.Cycled50, depth, height, width, Seed: seed)).RenderLabels(0, depth);
        var sharp = new Volume<ushort>(depth, height, width, Array.ConvertAll(truth.Data, GreyOf));
        var blurred = Denoise.Gaussian(sharp, 1.0);
        var raw = new Volume<ushort>(depth, height, width);
        var sliceLength = raw.SliceLength;
        Parallel.For(0, depth, z =>
        {
            var random = new Random(seed * 7919 + z);
            for (var i = z * sliceLength; i < (z + 1) * sliceLength; i++)
            {
                var g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                raw.Data[i] = (ushort)Math.Clamp(Math.Round(blurred.Data[i] + noiseGrey * g), 0, 65535);
            }
        });
        var denoised = Denoise.Gaussian(raw, 1.0);
        var histogram = Histogram.Compute(denoised, Histogram.DefaultBins, Histogram.DefaultMin, Histogram.DefaultMax);
        var bins = MultiOtsu.Thresholds(histogram, 4);
        var thresholds = MultiOtsu.ToIntensities(bins, Histogram.DefaultBins, Histogram.DefaultMin, Histogram.DefaultMax);
        var means = MultiOtsu.ClassMeans(histogram, bins, Histogram.DefaultMin, Histogram.DefaultMax);
        var labels = PhaseClassifier.Classify(denoised, thresholds, DarkToBright);
        var cleaned = PartialVolumeCleanup.Apply(labels, denoised, DarkToBright, means);
        return new BenchData { Truth = truth, Raw = raw, Denoised = denoised, Labels = labels, ClassMeans = means, Cleaned = cleaned };
    }
}
