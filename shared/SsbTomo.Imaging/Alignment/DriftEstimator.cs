namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Estimates each slice's drift relative to slice 0 (drift_k = where a feature of raw slice k lies minus where it
/// lies in raw slice 0) from slices fed one at a time. Holds only the prepared crops/spectra of the last
/// max(offsets) slices.
/// <para>
/// Choice: slice k is registered against several earlier slices k-j (offsets, default 1, 2, 4, 8) and its drift
/// is the peak-weighted mean of the candidates drift_{k-j} + shift(k-j -> k), after dropping candidates more than
/// 0.5 px from their median (a bad registration). Pure chaining (offset 1 only) adds every registration error to all
/// later slices (error ~ sigma sqrt(k)); averaging candidates with a mean look-back of 3.75 slices cuts the
/// random-walk growth of the variance per slice by ~(1/4) / 3.75^2, i.e. ~50x, while near neighbours still share
/// most content (a real stack changes every 50 nm, so far-back references match worse).
/// </para>
/// </summary>
public sealed class DriftEstimator
{
    private readonly int _upsampleFactor;
    private readonly int _maxSizePx;
    private readonly int[] _offsets;
    private readonly (Spectrum Spectrum, Shift2D Drift)[] _history;
    private int _count;

    public DriftEstimator(int upsampleFactor = 20, int maxSizePx = PhaseCorrelation.DefaultMaxSizePx, IReadOnlyList<int>? referenceOffsets = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(upsampleFactor, 1);
        _upsampleFactor = upsampleFactor;
        _maxSizePx = maxSizePx;
        _offsets = (referenceOffsets ?? [1, 2, 4, 8]).Distinct().Order().ToArray();
        if (_offsets.Length == 0 || _offsets[0] < 1)
            throw new ArgumentException("reference offsets must be positive", nameof(referenceOffsets));
        _history = new (Spectrum, Shift2D)[_offsets[^1]];
    }

    /// <summary>Number of slices added so far.</summary>
    public int Count => _count;

    /// <summary>Adds the next raw slice and returns its drift relative to slice 0 (slice 0 returns zero).</summary>
    public Shift2D Add(Image2D<float> slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        var spectrum = Spectrum.Of(slice, _maxSizePx);
        Shift2D drift = Shift2D.Zero;
        if (_count > 0)
        {
            var first = _history[(_count - 1) % _history.Length].Spectrum;
            if (first.Crop.Height != spectrum.Crop.Height || first.Crop.Width != spectrum.Crop.Width)
                throw new ArgumentException($"slice {_count} is {slice.Height}x{slice.Width}, which gives a different registration crop than earlier slices", nameof(slice));
            var candidates = new List<(Shift2D Drift, double Weight)>(_offsets.Length);
            foreach (int j in _offsets)
            {
                if (j > _count) break;
                var (previous, previousDrift) = _history[(_count - j) % _history.Length];
                var result = PhaseCorrelation.Estimate(previous, spectrum, _upsampleFactor, polish: true);
                candidates.Add((previousDrift + result.Shift, Math.Max(result.PeakCorrelation, 1e-6)));
            }
            drift = Combine(candidates);
        }
        _history[_count % _history.Length] = (spectrum, drift);
        _count++;
        return drift;
    }

    private static Shift2D Combine(List<(Shift2D Drift, double Weight)> candidates)
    {
        double medianY = Median(candidates.Select(c => c.Drift.Dy));
        double medianX = Median(candidates.Select(c => c.Drift.Dx));
        double sy = 0, sx = 0, sw = 0;
        foreach (var (d, weight) in candidates)
        {
            if (Math.Abs(d.Dy - medianY) > 0.5 || Math.Abs(d.Dx - medianX) > 0.5) continue;
            sy += weight * d.Dy; sx += weight * d.Dx; sw += weight;
        }
        return sw > 0 ? new Shift2D(sy / sw, sx / sw) : new Shift2D(medianY, medianX);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
