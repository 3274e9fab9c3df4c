namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// The sequential part of drift estimation: from each slice's pairwise registrations (<see cref="PairwiseRegistration"/>),
/// in slice order, decides which slices are trusted and chains their drift relative to the origin. Needs no pixels, so
/// it runs once on measurements collected from any number of workers.
/// <para>
/// Trust (after Keane &amp; Adrian's peak-detectability criterion for correlation matches, 1992): a slice is registered
/// against the previous slice, or, when that one was not trusted, against the nearest trusted slice at a measured
/// offset (2, 4, 8: the most recent trusted slice itself whenever it lies at one of them); that pair's coarse peak must
/// be at least <see cref="DriftEstimator.MinPeakRatio"/> times its highest rival. A slice that matches no trusted slice
/// is not trusted: its drift is a placeholder (the last trusted drift) and it is never a reference. The first slice with
/// structure is the origin. Two untrusted slices in a row that match each other start the chain again from the second
/// (the scene changed for good rather than one frame being bad). A run of untrusted slices longer than the largest
/// offset can therefore only end by such a restart.
/// </para>
/// <para>
/// Drift: the weighted mean of the candidates drift_r + shift(r → k) over the reference and every other trusted slice at
/// a measured offset, after dropping candidates more than 0.5 px from their median (a bad registration). Pure chaining
/// (offset 1 only) adds every registration error to all later slices (error ~ σ√k); averaging candidates with a mean
/// look-back of 3.75 slices cuts the random-walk growth of the variance per slice by ~(1/4) / 3.75², i.e. ~50x.
/// </para>
/// </summary>
public sealed class DriftChain
{
    private readonly List<Shift2D> _drift = [];
    private readonly List<bool> _trusted = [];
    private readonly List<double> _peakRatios = [];
    private readonly List<double> _linkRatios = [];
    private int _lastTrusted = -1;

    public int Count => _drift.Count;

    /// <summary>Per slice, relative to the origin; an untrusted slice holds the last trusted drift.</summary>
    public IReadOnlyList<Shift2D> Drift => _drift;

    public IReadOnlyList<bool> Trusted => _trusted;

    /// <summary>
    /// Per slice, the coarse peak ratio of the pair that decided its trust (the best one tried); the origin reports
    /// infinity, a flat slice before it 0.
    /// </summary>
    public IReadOnlyList<double> PeakRatios => _peakRatios;

    /// <summary>Chains the next slice and returns its drift.</summary>
    public Shift2D Add(SliceRegistration slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        var k = Count;
        var link = slice.At(1);
        var linkRatio = link?.PeakRatio ?? 0;
        if (_lastTrusted < 0)
            return Record(Shift2D.Zero, slice.HasStructure, slice.HasStructure ? double.PositiveInfinity : 0, linkRatio);

        var previous = k - 1;
        if (_trusted[previous] && linkRatio >= DriftEstimator.MinPeakRatio)
            return Record(Combine(slice, link!.Value), true, linkRatio, linkRatio);
        var retry = _trusted[previous] ? null : NearestTrustedPair(slice);
        if (retry is { PeakRatio: >= DriftEstimator.MinPeakRatio } matched)
            return Record(Combine(slice, matched), true, matched.PeakRatio, linkRatio);
        if (!_trusted[previous] && _linkRatios[previous] >= DriftEstimator.MinPeakRatio && linkRatio >= DriftEstimator.MinPeakRatio)
            return Record(_drift[previous], true, linkRatio, linkRatio);
        return Record(_drift[_lastTrusted], false, Math.Max(linkRatio, retry?.PeakRatio ?? 0), linkRatio);
    }

    private PairRegistration? NearestTrustedPair(SliceRegistration slice)
    {
        foreach (var pair in slice.Pairs)
            if (pair.Offset > 1 && _trusted[Count - pair.Offset]) return pair;
        return null;
    }

    private Shift2D Combine(SliceRegistration slice, PairRegistration reference)
    {
        var k = Count;
        var candidates = new List<(Shift2D Drift, double Weight)>(slice.Pairs.Count) { (_drift[k - reference.Offset] + reference.Shift, reference.Weight) };
        foreach (var other in slice.Pairs)
        {
            if (other.Offset == reference.Offset || !_trusted[k - other.Offset] || other.ByPatches != reference.ByPatches) continue;
            // A patch consensus that found enough patches is a measurement; a global registration must also match.
            if (!other.ByPatches && other.PeakRatio < DriftEstimator.MinPeakRatio) continue;
            candidates.Add((_drift[k - other.Offset] + other.Shift, other.Weight));
        }
        double medianY = Statistics.Median(candidates.Select(c => c.Drift.Dy));
        double medianX = Statistics.Median(candidates.Select(c => c.Drift.Dx));
        double sy = 0, sx = 0, sw = 0;
        foreach (var (d, weight) in candidates)
        {
            if (Math.Abs(d.Dy - medianY) > 0.5 || Math.Abs(d.Dx - medianX) > 0.5) continue;
            sy += weight * d.Dy; sx += weight * d.Dx; sw += weight;
        }
        return sw > 0 ? new Shift2D(sy / sw, sx / sw) : new Shift2D(medianY, medianX);
    }

    private Shift2D Record(Shift2D drift, bool trusted, double ratio, double linkRatio)
    {
        if (trusted) _lastTrusted = Count;
        _drift.Add(drift);
        _trusted.Add(trusted);
        _peakRatios.Add(ratio);
        _linkRatios.Add(linkRatio);
        return drift;
    }
}
