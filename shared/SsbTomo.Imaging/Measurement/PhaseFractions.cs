namespace SsbTomo.Imaging.Measurement;

/// <summary>Volume fraction of each phase over the valid voxels (label ≠ Outside).</summary>
public sealed record PhaseFractionSet(long ValidVoxels, double Nmc, double Lps, double Carbon, double Void);

public static class PhaseFractions
{
    /// <summary>Voxel count per label 0..4 (index = label). Counts of chunks add exactly.</summary>
    public static long[] Count(Volume<byte> labels)
    {
        var total = new long[PhaseLabel.Count];
        var gate = new object();
        Parallel.For(0, labels.Depth, () => new long[256], (z, _, local) =>
        {
            foreach (var label in labels.Slice(z)) local[label]++;
            return local;
        }, local =>
        {
            lock (gate)
                for (var i = 0; i < total.Length; i++) total[i] += local[i];
            for (var i = PhaseLabel.Count; i < local.Length; i++)
                if (local[i] != 0) throw new ArgumentException($"labels contain {i}, which is not a phase label", nameof(labels));
        });
        return total;
    }

    public static PhaseFractionSet FromCounts(long[] counts)
    {
        if (counts.Length != PhaseLabel.Count)
            throw new ArgumentException($"expected {PhaseLabel.Count} counts (one per label), got {counts.Length}", nameof(counts));
        var valid = counts[PhaseLabel.Nmc] + counts[PhaseLabel.Lps] + counts[PhaseLabel.Carbon] + counts[PhaseLabel.Void];
        double Fraction(byte label) => valid == 0 ? double.NaN : (double)counts[label] / valid;
        return new PhaseFractionSet(valid, Fraction(PhaseLabel.Nmc), Fraction(PhaseLabel.Lps), Fraction(PhaseLabel.Carbon), Fraction(PhaseLabel.Void));
    }
}
