namespace SsbTomo.Imaging.Alignment;

/// <summary>How <see cref="DriftEstimator"/> registers a pair of slices.</summary>
public enum DriftMethod
{
    /// <summary>
    /// Robust consensus of many local (patch) shifts on band-passed slices, started from a global phase correlation
    /// (see <see cref="PatchConsensusOptions"/>). Insensitive to the apparent motion of structure that evolves from
    /// slice to slice. The default.
    /// </summary>
    PatchConsensus,

    /// <summary>One global regularised phase correlation with DFT upsampling and polish per pair (the original method).</summary>
    GlobalPhaseCorrelation,
}

/// <summary>
/// Estimates each slice's drift relative to slice 0 (drift_k = where a feature of raw slice k lies minus where it
/// lies in raw slice 0) from slices fed one at a time. Holds only the prepared crops of the last max(offsets) slices
/// (and the spectrum of the previous one).
/// <para>
/// Choice: slice k is registered against several earlier slices k-j (offsets, default 1, 2, 4, 8) and its drift
/// is the weighted mean of the candidates drift_{k-j} + shift(k-j -> k), after dropping candidates more than
/// 0.5 px from their median (a bad registration). Pure chaining (offset 1 only) adds every registration error to all
/// later slices (error ~ sigma sqrt(k)); averaging candidates with a mean look-back of 3.75 slices cuts the
/// random-walk growth of the variance per slice by ~(1/4) / 3.75^2, i.e. ~50x, while near neighbours still share
/// most content (a real stack changes every 50 nm, so far-back references match worse).
/// </para>
/// <para>
/// Pair registration (<see cref="DriftMethod.PatchConsensus"/>): the offset-1 pair is first registered globally by
/// phase correlation (robust to large steps); that gives a start for the patch-consensus refinement; the other
/// offsets start from the refined offset-1 drift. A global registration alone is biased on real stacks because the
/// structure moves apparently while it evolves through the section (particles growing and shrinking, inclined
/// fibres and cracks); that bias is systematic, so it accumulates along the stack. The patch consensus removes it.
/// </para>
/// </summary>
public sealed class DriftEstimator
{
    private readonly int _upsampleFactor;
    private readonly int _maxSizePx;
    private readonly int[] _offsets;
    private readonly DriftMethod _method;
    private readonly PatchConsensusOptions _patches;
    private readonly Entry[] _history;
    private Spectrum? _previousSpectrum;
    private int _count;

    private sealed record Entry(Spectrum? Spectrum, BandImage? Band, Shift2D Drift);

    public DriftEstimator(int upsampleFactor = 20, int maxSizePx = PhaseCorrelation.DefaultMaxSizePx, IReadOnlyList<int>? referenceOffsets = null,
        DriftMethod method = DriftMethod.PatchConsensus, PatchConsensusOptions? patches = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(upsampleFactor, 1);
        _upsampleFactor = upsampleFactor;
        _maxSizePx = maxSizePx;
        _offsets = (referenceOffsets ?? [1, 2, 4, 8]).Distinct().Order().ToArray();
        if (_offsets.Length == 0 || _offsets[0] < 1)
            throw new ArgumentException("reference offsets must be positive", nameof(referenceOffsets));
        _method = method;
        _patches = patches ?? PatchConsensusOptions.Default;
        _patches.Validate();
        _history = new Entry[_offsets[^1]];
    }

    /// <summary>Number of slices added so far.</summary>
    public int Count => _count;

    /// <summary>Adds the next raw slice and returns its drift relative to slice 0 (slice 0 returns zero).</summary>
    public Shift2D Add(Image2D<float> slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        var spectrum = Spectrum.Of(slice, _maxSizePx);
        if (_previousSpectrum is { } first && (first.Crop.Height != spectrum.Crop.Height || first.Crop.Width != spectrum.Crop.Width))
            throw new ArgumentException($"slice {_count} is {slice.Height}x{slice.Width}, which gives a different registration crop than earlier slices", nameof(slice));
        Shift2D drift = Shift2D.Zero;
        Entry entry;
        if (_method == DriftMethod.GlobalPhaseCorrelation)
        {
            entry = new Entry(spectrum, null, Shift2D.Zero);
            if (_count > 0) drift = AddGlobal(spectrum);
            entry = entry with { Drift = drift };
        }
        else
        {
            var band = BandImage.Of(slice, _maxSizePx, _patches);
            if (_count > 0) drift = AddPatches(spectrum, band);
            entry = new Entry(null, band, drift);
        }
        _history[_count % _history.Length] = entry;
        _previousSpectrum = spectrum;
        _count++;
        return drift;
    }

    private Shift2D AddGlobal(Spectrum spectrum)
    {
        var candidates = new List<(Shift2D Drift, double Weight)>(_offsets.Length);
        foreach (int j in _offsets)
        {
            if (j > _count) break;
            var previous = _history[(_count - j) % _history.Length];
            var result = PhaseCorrelation.Estimate(previous.Spectrum!, spectrum, _upsampleFactor, polish: true);
            candidates.Add((previous.Drift + result.Shift, Math.Max(result.PeakCorrelation, 1e-6)));
        }
        return Combine(candidates);
    }

    private Shift2D AddPatches(Spectrum spectrum, BandImage band)
    {
        var last = _history[(_count - 1) % _history.Length];
        // Global start for the nearest pair: robust to steps of many pixels; the consensus refines it.
        var global = PhaseCorrelation.Estimate(_previousSpectrum!, spectrum, upsampleFactor: 4, polish: false);
        var nearest = PatchConsensus.Estimate(last.Band!, band, global.Shift, _patches);
        if (nearest is null)
        {
            // Too small for patches: the global registration with polish.
            var polished = PhaseCorrelation.Estimate(_previousSpectrum!, spectrum, _upsampleFactor, polish: true);
            return last.Drift + polished.Shift;
        }
        var predicted = last.Drift + nearest.Value.Shift;
        var candidates = new List<(Shift2D Drift, double Weight)>(_offsets.Length) { (predicted, nearest.Value.Weight) };
        foreach (int j in _offsets)
        {
            if (j == 1 || j > _count) continue;
            var previous = _history[(_count - j) % _history.Length];
            var result = PatchConsensus.Estimate(previous.Band!, band, predicted - previous.Drift, _patches);
            if (result is { } r) candidates.Add((previous.Drift + r.Shift, r.Weight));
        }
        return Combine(candidates);
    }

    private static Shift2D Combine(List<(Shift2D Drift, double Weight)> candidates)
    {
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

}
