namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Voxel-wise agreement of a segmentation with reference labels: the confusion matrix (reference label × segmented
/// label, both 0..4) accumulated slab by slab, and from it each phase's Dice coefficient 2|A∩B| / (|A| + |B|)
/// (Dice 1945). Counts of slabs add exactly, so the result does not depend on how the volume was cut.
/// </summary>
public sealed class LabelAgreement
{
    private readonly long[,] _counts = new long[PhaseLabel.Count, PhaseLabel.Count];

    public void Add(Volume<byte> reference, Volume<byte> segmented)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(segmented);
        if (reference.Depth != segmented.Depth || reference.Height != segmented.Height || reference.Width != segmented.Width)
            throw new ArgumentException(
                $"reference is {reference.Depth}x{reference.Height}x{reference.Width}, segmentation {segmented.Depth}x{segmented.Height}x{segmented.Width}",
                nameof(segmented));
        var truth = reference.Data;
        var labels = segmented.Data;
        for (long i = 0; i < truth.LongLength; i++)
        {
            int t = truth[i], l = labels[i];
            if (t >= PhaseLabel.Count || l >= PhaseLabel.Count)
                throw new ArgumentException($"label {Math.Max(t, l)} at voxel {i} is not a phase label");
            _counts[t, l]++;
        }
    }

    /// <summary>Voxels with reference label <paramref name="reference"/> and segmented label <paramref name="segmented"/>.</summary>
    public long Count(byte reference, byte segmented) => _counts[reference, segmented];

    /// <summary>Dice coefficient of one phase; NaN when the phase is absent from both.</summary>
    public double Dice(byte phase)
    {
        long both = _counts[phase, phase], inReference = 0, inSegmented = 0;
        for (var k = 0; k < PhaseLabel.Count; k++)
        {
            inReference += _counts[phase, k];
            inSegmented += _counts[k, phase];
        }
        return inReference + inSegmented == 0 ? double.NaN : 2.0 * both / (inReference + inSegmented);
    }
}
