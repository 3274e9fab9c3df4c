using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>Assigns each voxel the phase label of its intensity class.</summary>
public static class PhaseClassifier
{
    /// <summary>
    /// Class index = number of thresholds t with value ≥ t (np.digitize semantics); the voxel gets
    /// <paramref name="labelsDarkToBright"/>[class]. NaN voxels get <see cref="PhaseLabel.Outside"/>.
    /// Voxel-wise, so chunks need no halo.
    /// </summary>
    public static Volume<byte> Classify(Volume<float> denoised, double[] thresholdsAscending, byte[] labelsDarkToBright)
    {
        if (labelsDarkToBright.Length != thresholdsAscending.Length + 1)
            throw new ArgumentException($"{thresholdsAscending.Length} thresholds need {thresholdsAscending.Length + 1} labels, got {labelsDarkToBright.Length}", nameof(labelsDarkToBright));
        for (var i = 1; i < thresholdsAscending.Length; i++)
            if (!(thresholdsAscending[i] >= thresholdsAscending[i - 1]))
                throw new ArgumentException("thresholds must be ascending", nameof(thresholdsAscending));

        var thresholds = Array.ConvertAll(thresholdsAscending, t => (float)Math.Clamp(t, float.MinValue, float.MaxValue));
        // The label of each class index, and after them Outside for NaN.
        byte[] labelOf = [.. labelsDarkToBright, PhaseLabel.Outside];
        var labels = new Volume<byte>(denoised.Depth, denoised.Height, denoised.Width);
        Parallel.For(0, denoised.Depth, z => ClassifyRun(denoised.Slice(z), labels.Slice(z), thresholds, labelOf));
        return labels;
    }

    /// <summary>
    /// The class of each value: the count of thresholds at or below it (with ascending thresholds the same as stepping up
    /// them while the value reaches the next), a vector of values at a time without a branch per value, the row's tail one
    /// at a time by the same count.
    /// </summary>
    private static void ClassifyRun(ReadOnlySpan<float> source, Span<byte> target, float[] thresholds, byte[] labelOf)
    {
        var nanClass = thresholds.Length + 1;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lanes = Vector256<float>.Count;
            Span<int> classes = stackalloc int[lanes];
            for (; i <= source.Length - lanes; i += lanes)
            {
                var values = Vector256.Create(source.Slice(i, lanes));
                var count = Vector256<int>.Zero;
                foreach (var t in thresholds) count -= Vector256.GreaterThanOrEqual(values, Vector256.Create(t)).AsInt32();
                var nan = ~Vector256.Equals(values, values).AsInt32();
                Vector256.ConditionalSelect(nan, Vector256.Create(nanClass), count).CopyTo(classes);
                for (var j = 0; j < lanes; j++) target[i + j] = labelOf[classes[j]];
            }
        }
        for (; i < source.Length; i++)
        {
            var v = source[i];
            var cls = 0;
            foreach (var t in thresholds) cls += v >= t ? 1 : 0;
            target[i] = labelOf[float.IsNaN(v) ? nanClass : cls];
        }
    }

    /// <summary>BSE order of the four phases from dark to bright: void, carbon, LPS, NMC.</summary>
    public static byte[] BseDarkToBright => [PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps, PhaseLabel.Nmc];
}
