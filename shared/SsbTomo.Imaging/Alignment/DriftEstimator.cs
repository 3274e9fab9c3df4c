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
/// <para>
/// Trust (after Keane &amp; Adrian's peak-detectability criterion for correlation matches, 1992): a slice is
/// registered against the previous slice, or, when that one was not trusted, against the most recent trusted slice;
/// the global phase correlation of that pair must have a peak at least <see cref="MinPeakRatio"/> times its highest
/// rival. A slice that matches no trusted slice (a blank, saturated or noise frame, a frame of another field) is not
/// trusted: its drift is a placeholder (the last trusted drift), it is never a reference for later slices, and
/// <see cref="AnchoredDriftEstimator"/> interpolates it. The first slice with structure is trusted by definition. Two
/// untrusted slices in a row that match each other start the chain again from the second (the scene changed for good
/// rather than one frame being bad).
/// </para>
/// </summary>
public sealed class DriftEstimator
{
    /// <summary>
    /// Smallest peak-to-rival ratio of a trusted pair. Measured with RegistrationResult.PeakRatio on phantom pairs
    /// (4 presets, 128x160 to 256x320): consecutive slices 4.7-16.8, with added noise of σ 25 grey levels 3.6-10.1,
    /// of σ 60 1.9-5.2; a slice against a noise, dark or blank frame 0-1.41 (1.76 once at σ 60).
    /// </summary>
    public const double MinPeakRatio = 2.0;

    private readonly int _upsampleFactor;
    private readonly int _maxSizePx;
    private readonly int[] _offsets;
    private readonly DriftMethod _method;
    private readonly PatchConsensusOptions _patches;
    private readonly Entry[] _history;
    private readonly List<bool> _trusted = [];
    private readonly List<double> _peakRatios = [];
    private Entry? _previous;
    private Entry? _lastTrusted;
    private int _count;

    /// <param name="LinkRatio">Peak ratio of this slice against the slice before it (0 for the first).</param>
    private sealed record Entry(int Index, Spectrum? Spectrum, BandImage? Band, Shift2D Drift, bool Trusted, double LinkRatio);

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

    /// <summary>Per slice: whether its drift was measured against a trusted slice (see the class remarks).</summary>
    public IReadOnlyList<bool> Trusted => _trusted;

    /// <summary>
    /// Per slice: the peak-to-rival ratio of the pair that decided its trust (the best one tried); the first slice with
    /// structure has no pair and reports infinity, a flat first slice 0.
    /// </summary>
    public IReadOnlyList<double> PeakRatios => _peakRatios;

    /// <summary>
    /// Adds the next raw slice and returns its drift relative to slice 0 (slice 0 returns zero; an untrusted slice
    /// returns the last trusted drift as a placeholder).
    /// </summary>
    public Shift2D Add(Image2D<float> slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        var spectrum = Spectrum.Of(slice, _maxSizePx);
        if (_previous is { } first && (first.Spectrum!.Crop.Height != spectrum.Crop.Height || first.Spectrum!.Crop.Width != spectrum.Crop.Width))
            throw new ArgumentException($"slice {_count} is {slice.Height}x{slice.Width}, which gives a different registration crop than earlier slices", nameof(slice));
        var band = _method == DriftMethod.PatchConsensus ? BandImage.Of(slice, _maxSizePx, _patches) : null;

        var link = _previous is { } p ? PhaseCorrelation.Estimate(p.Spectrum!, spectrum, upsampleFactor: 4, polish: false) : default;
        double linkRatio = _previous is null ? 0 : link.PeakRatio;
        if (_lastTrusted is null)
        {
            // The origin: the first slice with structure. Its drift is zero by definition.
            var structured = HasStructure(spectrum);
            return Record(new Entry(_count, spectrum, band, Shift2D.Zero, structured, linkRatio), structured ? double.PositiveInfinity : 0);
        }
        Entry reference;
        RegistrationResult start;
        if (_previous!.Trusted && linkRatio >= MinPeakRatio)
        {
            (reference, start) = (_previous, link);
        }
        else if (!ReferenceEquals(_lastTrusted, _previous) && Register(_lastTrusted, spectrum) is { PeakRatio: >= MinPeakRatio } retry)
        {
            (reference, start) = (_lastTrusted, retry);
        }
        else if (_previous is { Trusted: false, LinkRatio: >= MinPeakRatio } && linkRatio >= MinPeakRatio)
        {
            // Two untrusted slices in a row that match each other and not the past: a new chain starts here, from
            // where the previous slice was taken to be.
            return Record(new Entry(_count, spectrum, band, _previous.Drift, true, linkRatio), linkRatio);
        }
        else
        {
            var best = ReferenceEquals(_lastTrusted, _previous) ? linkRatio : Math.Max(linkRatio, Register(_lastTrusted, spectrum).PeakRatio);
            return Record(new Entry(_count, spectrum, band, _lastTrusted.Drift, false, linkRatio), best);
        }
        var drift = _method == DriftMethod.GlobalPhaseCorrelation
            ? AddGlobal(spectrum, reference)
            : AddPatches(spectrum, band!, reference, start.Shift);
        return Record(new Entry(_count, spectrum, band, drift, true, linkRatio), start.PeakRatio);
    }

    private Shift2D Record(Entry entry, double ratio)
    {
        // Spectra are ~10 MB each: the history keeps them only where its slices are registered globally again.
        _history[_count % _history.Length] = _method == DriftMethod.GlobalPhaseCorrelation ? entry : entry with { Spectrum = null };
        _previous = entry;
        if (entry.Trusted) _lastTrusted = entry;
        _trusted.Add(entry.Trusted);
        _peakRatios.Add(ratio);
        _count++;
        return entry.Drift;
    }

    private static RegistrationResult Register(Entry reference, Spectrum spectrum) =>
        PhaseCorrelation.Estimate(reference.Spectrum!, spectrum, upsampleFactor: 4, polish: false);

    /// <summary>A crop with no variation (blank or saturated) has an all-zero spectrum.</summary>
    private static bool HasStructure(Spectrum spectrum)
    {
        foreach (var v in spectrum.Re) if (v != 0) return true;
        foreach (var v in spectrum.Im) if (v != 0) return true;
        return false;
    }

    /// <summary>Trusted earlier slices at the reference offsets, other than <paramref name="reference"/>.</summary>
    private IEnumerable<Entry> OtherReferences(Entry reference)
    {
        foreach (int j in _offsets)
        {
            if (j > _count) break;
            var entry = _history[(_count - j) % _history.Length];
            if (entry.Trusted && entry.Index != reference.Index) yield return entry;
        }
    }

    private Shift2D AddGlobal(Spectrum spectrum, Entry reference)
    {
        var result = PhaseCorrelation.Estimate(reference.Spectrum!, spectrum, _upsampleFactor, polish: true);
        var candidates = new List<(Shift2D Drift, double Weight)>(_offsets.Length) { (reference.Drift + result.Shift, Math.Max(result.PeakCorrelation, 1e-6)) };
        foreach (var previous in OtherReferences(reference))
        {
            var other = PhaseCorrelation.Estimate(previous.Spectrum!, spectrum, _upsampleFactor, polish: true);
            if (other.PeakRatio >= MinPeakRatio)
                candidates.Add((previous.Drift + other.Shift, Math.Max(other.PeakCorrelation, 1e-6)));
        }
        return Combine(candidates);
    }

    private Shift2D AddPatches(Spectrum spectrum, BandImage band, Entry reference, Shift2D start)
    {
        // The global start is robust to steps of many pixels; the consensus refines it.
        var nearest = PatchConsensus.Estimate(reference.Band!, band, start, _patches);
        if (nearest is null)
        {
            // Too small for patches: the global registration with polish.
            var polished = PhaseCorrelation.Estimate(reference.Spectrum!, spectrum, _upsampleFactor, polish: true);
            return reference.Drift + polished.Shift;
        }
        var predicted = reference.Drift + nearest.Value.Shift;
        var candidates = new List<(Shift2D Drift, double Weight)>(_offsets.Length) { (predicted, nearest.Value.Weight) };
        foreach (var previous in OtherReferences(reference))
        {
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
