namespace SsbTomo.Imaging.Alignment;

/// <summary>One slice registered against the slice <paramref name="Offset"/> places before it.</summary>
/// <param name="PeakRatio">Coarse global phase correlation's peak over its highest rival: whether the pair matches at all.</param>
/// <param name="CoarseShift">That coarse registration (1/4 px, no polish).</param>
/// <param name="Shift">The refined registration: patch consensus (<paramref name="ByPatches"/>), else global phase correlation with polish.</param>
/// <param name="Weight">Inverse variance of <paramref name="Shift"/> (patch consensus), or the correlation peak (global).</param>
public readonly record struct PairRegistration(int Offset, double PeakRatio, Shift2D CoarseShift, Shift2D Shift, double Weight, bool ByPatches);

/// <summary>What drift estimation needs of one slice: whether it has any structure, and its pairs with the slices before it.</summary>
/// <param name="Pairs">One per reference offset that reaches into the stack (none for slice 0), by ascending offset.</param>
public sealed record SliceRegistration(bool HasStructure, IReadOnlyList<PairRegistration> Pairs)
{
    public PairRegistration? At(int offset)
    {
        foreach (var pair in Pairs)
            if (pair.Offset == offset) return pair;
        return null;
    }
}

/// <summary>
/// Registers each slice against the slices a fixed set of offsets before it (default 1, 2, 4, 8), whatever became of
/// those slices: the measurements of slice k depend on raw slices k − max(offset) .. k alone. A slab of slices preceded
/// by max(offset) halo slices is therefore measured exactly as in one pass over the whole stack, which is what lets the
/// measurement be cut into chunks for any number of workers; <see cref="DriftChain"/> then makes the sequential trust
/// decisions on the measurements.
/// <para>
/// Each pair is registered globally first (coarse phase correlation; its peak ratio decides whether the pair matches),
/// then refined by patch consensus started from the chain of the refined offset-1 shifts across the gap where every
/// neighbour pair in it matched, else from its own coarse shift (see <see cref="Start"/>): the best predictions that need
/// no trust decision.
/// </para>
/// </summary>
public sealed class PairwiseRegistration
{
    private readonly int _upsampleFactor;
    private readonly int _maxSizePx;
    private readonly int[] _offsets;
    private readonly DriftMethod _method;
    private readonly PatchConsensusOptions _patches;
    private readonly Prepared?[] _history;
    private readonly int _maxThreads;
    private int _count;

    /// <summary>Whether <see cref="DetachHistory"/> gave the prepared slices away: nothing more may be added.</summary>
    private bool _detached;

    /// <summary>The slice the last <see cref="Remember"/> let go of: the next slice's spectrum and band image are written into its arrays.</summary>
    private Prepared? _spare;
    private readonly bool _recycleArrays;

    /// <param name="Link">Coarse registration against the slice before (default for the first).</param>
    /// <param name="RefinedLink">The refined registration against the slice before (zero for the first).</param>
    internal sealed record Prepared(Spectrum Spectrum, BandImage? Band, RegistrationResult Link, Shift2D RefinedLink)
    {
        public long Bytes => 8L * (Spectrum.Re.Length + Spectrum.Im.Length) + 4L * (Spectrum.Crop.Pixels.Length + Spectrum.PolishCrop.Pixels.Length)
            + (Band?.Bytes ?? 0);
    }

    /// <param name="maxThreads">Threads each registration may use (<see cref="KernelThreads"/>); the measurements are the same for any.</param>
    public PairwiseRegistration(int upsampleFactor = 20, int maxSizePx = DefaultCropPx, IReadOnlyList<int>? referenceOffsets = null,
        DriftMethod method = DriftMethod.PatchConsensus, PatchConsensusOptions? patches = null, int maxThreads = KernelThreads.All)
        : this(upsampleFactor, maxSizePx, referenceOffsets, method, patches, maxThreads, recycleArrays: true)
    {
    }

    /// <param name="recycleArrays">False: every slice's spectrum and band image in fresh arrays (tests: the measurements must not depend on it).</param>
    internal PairwiseRegistration(int upsampleFactor, int maxSizePx, IReadOnlyList<int>? referenceOffsets, DriftMethod method,
        PatchConsensusOptions? patches, int maxThreads, bool recycleArrays)
    {
        _recycleArrays = recycleArrays;
        ArgumentOutOfRangeException.ThrowIfLessThan(upsampleFactor, 1);
        KernelThreads.Check(maxThreads);
        _maxThreads = maxThreads;
        _upsampleFactor = upsampleFactor;
        _maxSizePx = maxSizePx;
        _offsets = (referenceOffsets ?? DefaultOffsets).Distinct().Order().ToArray();
        if (_offsets.Length == 0 || _offsets[0] < 1)
            throw new ArgumentException("reference offsets must be positive", nameof(referenceOffsets));
        if (_offsets[0] != 1)
            throw new ArgumentException("the reference offsets must include 1: the trust chain starts from the previous slice", nameof(referenceOffsets));
        _method = method;
        _patches = patches ?? PatchConsensusOptions.Default;
        _patches.Validate();
        _history = new Prepared?[_offsets[^1]];
    }

    public static IReadOnlyList<int> DefaultOffsets { get; } = [1, 2, 4, 8];

    /// <summary>
    /// The slices a registration has prepared, as the slab after them needs them: the last max(offset) slices' spectra,
    /// band images and links to the slice before each (<see cref="DetachHistory"/>). A registration continued from it
    /// (<see cref="ContinueFrom"/>) measures the next slices exactly as one that took those slices as its halo
    /// (<see cref="AddReference"/>): a slice's measurements read the links of at most max(offset) − 1 slices back, and
    /// every one of those was linked to its real predecessor either way. What it saves: a slab of 16 slices re-prepared
    /// and re-linked its 8 halo slices, ~8 % of the alignment measurement's CPU at 1536x2048
    /// (`-- alignment --size 16,1536,2048 --no-peer`). Taken by one registration only: it writes later slices into the
    /// arrays of the slices it lets go of.
    /// </summary>
    public sealed class History
    {
        internal History(PairwiseRegistration source, Prepared?[] slots, int count)
        {
            (Settings, _slots, Count) = (source, slots, count);
            Bytes = slots.Sum(slot => slot?.Bytes ?? 0);
        }

        private Prepared?[]? _slots;

        /// <summary>The registration the slices came from (its settings; it takes no more slices).</summary>
        internal PairwiseRegistration Settings { get; }

        /// <summary>Slices the registration had added, halo slices included.</summary>
        internal int Count { get; }

        /// <summary>How many slices before the next one it holds: max(offset), or all of them near the stack's start.</summary>
        public int Slices => Math.Min(Count, Settings._history.Length);

        /// <summary>Edge of the registration crop its slices were prepared on.</summary>
        public int CropPx => Settings._maxSizePx;

        /// <summary>Bytes the prepared slices' arrays hold (~7 MB a slice on the default crop).</summary>
        public long Bytes { get; }

        internal Prepared?[] Take() => Interlocked.Exchange(ref _slots, null)
            ?? throw new InvalidOperationException("a registration was already continued from this history");
    }

    /// <summary>
    /// Ends this registration and hands its prepared slices to the registration of the slab after it
    /// (<see cref="ContinueFrom"/>); <see cref="Add"/> and <see cref="AddReference"/> refuse slices afterwards.
    /// </summary>
    public History DetachHistory()
    {
        ThrowIfDetached();
        _detached = true;
        _spare = null;
        return new History(this, (Prepared?[])_history.Clone(), _count);
    }

    /// <summary>
    /// A registration with <paramref name="history"/>'s settings whose next slice is the one after the history's last: the
    /// same measurements as a fresh one that took those slices as references (<see cref="History"/>).
    /// </summary>
    /// <param name="maxThreads">Threads each registration may use; the measurements are the same for any.</param>
    public static PairwiseRegistration ContinueFrom(History history, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(history);
        var source = history.Settings;
        var registration = new PairwiseRegistration(source._upsampleFactor, source._maxSizePx, source._offsets, source._method, source._patches,
            maxThreads, source._recycleArrays);
        history.Take().CopyTo(registration._history, 0);
        registration._count = history.Count;
        return registration;
    }

    private void ThrowIfDetached()
    {
        if (_detached) throw new InvalidOperationException("this registration's slices were handed on (DetachHistory); continue from its history");
    }

    /// <summary>
    /// Edge of the centred crop each slice is registered on: 512, a quarter of the pixels of
    /// <see cref="PhaseCorrelation.DefaultMaxSizePx"/>. The pairs measure how slices move relative to each other; where each
    /// slice is, the drift takes from the particle sections, found over the whole slice (<see cref="AnchoredDriftEstimator"/>,
    /// its chunked twin in the alignment service), and each pair's weight there is its own measured variance, so a pair
    /// measured on fewer patches counts for less. Measured against 1024 (`-- drift --family 3,8,12,13,19,23 --shape
    /// 40,768,1024`, 2026-12-06): the anchored drift 0.007 / 0.016 / 0.044 / 0.051 / 0.023 / 0.066 → 0.009 / 0.016 / 0.030 /
    /// 0.028 / 0.022 / 0.061 px RMS; the 1-Gvoxel phantom (320x1536x2048) 0.015 → 0.014 px, its alignment stage 173 → 130
    /// CPU-s. The pairs alone, without sections, chain 1.5-4x worse (0.10-0.41 → 0.17-0.64 px over 40 slices): a specimen
    /// without compact bright sections relies on them, and a larger crop (the constructor's maxSizePx) is its remedy.
    /// Slices up to 512 pixels are registered whole either way. A pair's shift must stay below half the crop (256 px).
    /// </summary>
    public const int DefaultCropPx = 512;

    /// <summary>The offsets, ascending; the largest is the halo a slab needs before its first slice.</summary>
    public IReadOnlyList<int> Offsets => _offsets;

    /// <summary>Slices added so far (the first one's index is 0, whatever slice of the stack it is).</summary>
    public int Count => _count;

    /// <summary>
    /// Measures the next raw slice against the ones before it. With more than one thread the pairs run side by side, each
    /// on one thread: the coarse correlations of every offset, then the previous slice's refinement (the others start from
    /// it), then the farther pairs' refinements. Each pair's kernels are short loops that wait at every barrier, so pairs
    /// side by side keep the cores busier than one pair on several threads; the measurements are the same bits.
    /// </summary>
    public SliceRegistration Add(Image2D<float> slice)
    {
        ThrowIfDetached();
        var (spectrum, band) = Prepare(slice);
        var offsets = _offsets.Where(offset => offset <= _count).ToArray();
        var pairThreads = offsets.Length > 1 && KernelThreads.AllowsMany(_maxThreads) ? 1 : _maxThreads;
        var coarse = new RegistrationResult[offsets.Length];
        KernelThreads.For(0, offsets.Length, _maxThreads, i =>
            coarse[i] = PhaseCorrelation.Estimate(Back(offsets[i])!.Spectrum, spectrum, upsampleFactor: 4, polish: false, pairThreads));
        var pairs = new PairRegistration[offsets.Length];
        var link = offsets.Length > 0 ? coarse[0] : default;
        if (offsets.Length > 0) pairs[0] = Refine(1, Back(1)!, spectrum, band, link, Start(1, link, link, default), _maxThreads);
        KernelThreads.For(1, offsets.Length, _maxThreads, i =>
            pairs[i] = Refine(offsets[i], Back(offsets[i])!, spectrum, band, coarse[i], Start(offsets[i], coarse[i], link, pairs[0].Shift), pairThreads));
        Remember(spectrum, band, link, offsets.Length > 0 ? pairs[0].Shift : Shift2D.Zero);
        return new SliceRegistration(HasStructure(spectrum), pairs);
    }

    /// <summary>
    /// Takes a slice before the ones to measure (a slab's halo) as a reference only: prepared and linked to the one before
    /// it, as the measured slices need, but not registered against its own references.
    /// </summary>
    public void AddReference(Image2D<float> slice)
    {
        ThrowIfDetached();
        var (spectrum, band) = Prepare(slice);
        if (_count == 0)
        {
            Remember(spectrum, band, default, Shift2D.Zero);
            return;
        }
        var link = PhaseCorrelation.Estimate(Back(1)!.Spectrum, spectrum, upsampleFactor: 4, polish: false, _maxThreads);
        Remember(spectrum, band, link, Refine(1, Back(1)!, spectrum, band, link, link.Shift, _maxThreads).Shift);
    }

    private (Spectrum Spectrum, BandImage? Band) Prepare(Image2D<float> slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        var spare = _spare;
        _spare = null;
        var spectrum = Spectrum.Of(slice, _maxSizePx, _maxThreads, spare?.Spectrum);
        var previous = _count > 0 ? Back(1) : null;
        if (previous is not null && (previous.Spectrum.Crop.Height != spectrum.Crop.Height || previous.Spectrum.Crop.Width != spectrum.Crop.Width))
            throw new ArgumentException($"slice {_count} is {slice.Height}x{slice.Width}, which gives a different registration crop than earlier slices", nameof(slice));
        return (spectrum, _method == DriftMethod.PatchConsensus ? BandImage.Of(slice, _maxSizePx, _patches, _maxThreads, spare?.Band) : null);
    }

    private void Remember(Spectrum spectrum, BandImage? band, RegistrationResult link, Shift2D refinedLink)
    {
        // The slice in this slot is max(offset) back from the next: no registration reads it again.
        _spare = _recycleArrays ? _history[_count % _history.Length] : null;
        _history[_count % _history.Length] = new Prepared(spectrum, band, link, refinedLink);
        _count++;
    }

    private Prepared? Back(int offset) => offset <= _count ? _history[(_count - offset) % _history.Length] : null;

    /// <param name="start">Where the patch consensus starts: the coarse shift for the previous slice, the chained refined
    /// shifts to the slice before for a slice further back.</param>
    private PairRegistration Refine(int offset, Prepared reference, Spectrum spectrum, BandImage? band, RegistrationResult coarse, Shift2D start, int threads)
    {
        if (band is not null)
        {
            if (PatchConsensus.Estimate(reference.Band!, band, start, _patches, threads) is { } patches)
                return new PairRegistration(offset, coarse.PeakRatio, coarse.Shift, patches.Shift, patches.Weight, ByPatches: true);
        }
        // Global method, or too small for patches: the global registration with polish.
        var polished = PhaseCorrelation.Estimate(reference.Spectrum, spectrum, _upsampleFactor, polish: true, threads);
        return new PairRegistration(offset, coarse.PeakRatio, coarse.Shift, polished.Shift, Math.Max(polished.PeakCorrelation, 1e-6), ByPatches: false);
    }

    /// <summary>
    /// Where the patch consensus of a pair starts. For the slice before: its coarse shift. For a slice further back: the
    /// refined offset-1 shifts from it up to this slice, added up, when every one of those neighbour pairs matched
    /// (coarse peak ratio at least <see cref="DriftEstimator.MinPeakRatio"/>): where the far slice should match, measured
    /// through the nearest neighbours, which match best. A far pair's own global registration is a worse start: structure
    /// that evolves through the section biases it, and the patch consensus, started off by that bias, settles on it
    /// (family member 1: drift 0.31 → 1.28 px RMS when far pairs started there). A chain through a bad frame is no start
    /// either: then the pair's own coarse shift where it matched, else the chained coarse shifts.
    /// </summary>
    private Shift2D Start(int offset, RegistrationResult coarse, RegistrationResult link, Shift2D refinedLink)
    {
        if (offset == 1) return coarse.Shift;
        var chained = refinedLink;
        var matched = link.PeakRatio >= DriftEstimator.MinPeakRatio;
        for (var back = 1; back < offset && matched; back++)
        {
            var previous = Back(back)!;
            matched = previous.Link.PeakRatio >= DriftEstimator.MinPeakRatio;
            chained += previous.RefinedLink;
        }
        if (matched) return chained;
        return coarse.PeakRatio >= DriftEstimator.MinPeakRatio ? coarse.Shift : ChainedLinks(offset, link);
    }

    /// <summary>The coarse offset-1 shifts from <paramref name="offset"/> slices back up to this slice, added up.</summary>
    private Shift2D ChainedLinks(int offset, RegistrationResult link)
    {
        var sum = link.Shift;
        for (var back = 1; back < offset; back++) sum += Back(back)!.Link.Shift;
        return sum;
    }

    /// <summary>A crop with no variation (blank or saturated) has an all-zero spectrum.</summary>
    private static bool HasStructure(Spectrum spectrum)
    {
        foreach (var v in spectrum.Re) if (v != 0) return true;
        foreach (var v in spectrum.Im) if (v != 0) return true;
        return false;
    }
}
