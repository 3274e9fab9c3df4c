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
        var labels = new Volume<byte>(denoised.Depth, denoised.Height, denoised.Width);
        Parallel.For(0, denoised.Depth, z =>
        {
            var source = denoised.Slice(z);
            var target = labels.Slice(z);
            for (var i = 0; i < source.Length; i++)
            {
                var v = source[i];
                if (float.IsNaN(v))
                {
                    target[i] = PhaseLabel.Outside;
                    continue;
                }
                var cls = 0;
                while (cls < thresholds.Length && v >= thresholds[cls]) cls++;
                target[i] = labelsDarkToBright[cls];
            }
        });
        return labels;
    }

    /// <summary>BSE order of the four phases from dark to bright: void, carbon, LPS, NMC.</summary>
    public static byte[] BseDarkToBright => [PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps, PhaseLabel.Nmc];
}
