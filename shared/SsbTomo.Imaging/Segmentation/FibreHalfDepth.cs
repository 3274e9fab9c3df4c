using System.Numerics;
using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Gives a thin carbon fibre the width at half its own depth. Under the SEM's blur and the denoising Gaussian a fibre
/// 2-6 voxels across is a shallow dark dip in the electrolyte: its core does not reach carbon's grey level, so the
/// stack-wide carbon|electrolyte threshold (half-way between the two class means) cuts it too narrow when the dip is
/// shallow, and too wide around the deep cores of thick fibres. Where the blurred carbon share of a voxel is at least
/// one half (the majority decision, which <c>-- carbon --ceiling</c> shows reaches carbon Dice 0.93 in the median of
/// the phantom family), its grey level lies at least half-way from the electrolyte down to the dip's bottom: the
/// full width at half depth, the classical width of a blurred line (Steger 1998, "An unbiased detector of curvilinear
/// structures", IEEE Trans. Pattern Anal. Mach. Intell. 20(2):113-125, doi:10.1109/34.659930).
/// <para>
/// The rule: a voxel labelled carbon or electrolyte, with no void or active-material voxel within
/// <see cref="NeighbourhoodVoxels"/> (box half-width; the blurred rim of a pore or particle is not a fibre) and a fibre
/// core there, is carbon when its grey level is below the electrolyte mean minus <see cref="DepthShare"/> of the way down
/// to the darkest voxel of that box, electrolyte otherwise. A fibre core is a carbon-labelled voxel with the survey's
/// dark-tube signature (<see cref="CarbonFibreSurvey"/>): the Hessian's middle eigenvalue λ2·σ² above
/// <see cref="CarbonFibreSurvey.MinimumTubeResponse"/> of the void-to-electrolyte contrast and |λ3| &lt;
/// <see cref="CarbonFibreSurvey.MaximumAxialShare"/>·λ2 (a dark tube, Frangi et al. 1998). Voxels away from fibres keep
/// their labels. The box is a fibre's radius, the tube σ rounded up (2 voxels at 50 nm).
/// </para>
/// <para>
/// Speed: the box's darkest voxel and its void/active-material test are separable running extremes (vectorised, per
/// slice). A voxel can only change when the half-depth decision differs from its label ("undecided", 2-3 % of the
/// voxels); only then does it need a core, and only carbon voxels within the box of an undecided one (6-10 %) need the
/// Hessian (<see cref="HessianEigenvalues.AtSelectedPixels"/>: single precision, eigenvalues only where the trace and the
/// inertia allow a tube). Requiring the core to be carbon-labelled is what keeps that set small. On 16 finished family runs
/// the segment step takes 1.50x the CPU of the step without the rule (the whole-slice version: 7.1x;
/// <c>-- segment-cpu</c>).
/// </para>
/// <para>
/// Accuracy (<c>-- carbon</c>, 27 finished runs: family 1-24 and three presets, re-segmented): carbon Dice median 0.711 →
/// 0.733 (mean 0.684 → 0.695; family 1-16: 0.695 → 0.714), better on 21 runs, worse on 5 (at most −0.016, family 21);
/// void and contact loss identical on every run (the rule never relabels void or active material, nor next to them). The
/// ungated core test (any voxel's) gave 0.732 / 0.697.
/// </para>
/// <para>
/// Each voxel's result depends on the labels within <see cref="NeighbourhoodVoxels"/> and the grey levels within
/// <see cref="RequiredHaloSlices"/>: slabs read with that halo (beside the labels' own) and cropped give the whole
/// volume's bytes, and the result does not depend on the number of threads.
/// </para>
/// </summary>
public static class FibreHalfDepth
{
    /// <summary>Half the depth: the majority of the voxel's blurred content is carbon.</summary>
    public const double DepthShare = 0.5;

    /// <summary>
    /// Box half-width searched for a fibre core and the dip's bottom: a fibre's radius, the tube σ rounded up (from a
    /// fibre's blurred edge its core and its bottom lie about a radius away).
    /// </summary>
    public static int NeighbourhoodVoxels(double sigmaVoxels) => (int)Math.Ceiling(sigmaVoxels);

    /// <summary>Halo for a result exact on the owned voxels: the Hessian's kernel plus the box (labels: their own halo plus the box).</summary>
    public static int RequiredHaloSlices(double sigmaVoxels) => HessianEigenvalues.RadiusVoxels(sigmaVoxels) + NeighbourhoodVoxels(sigmaVoxels);

    /// <summary>What <see cref="Apply(Volume{byte}, Volume{float}, double[], double)"/> allocates per voxel: its result and the core marks.</summary>
    public const int BytesPerVoxel = 2;

    /// <summary>
    /// What one thread's scratch holds per pixel of a slice (at most one per core, for the whole call): the Hessian's
    /// planes, three float box planes (two of them hold the eigenvalues in the core pass), four byte planes.
    /// </summary>
    public const int ScratchBytesPerSlicePixel = HessianEigenvalues.AtSelectedPixels.ScratchBytesPerSlicePixel + 3 * sizeof(float) + 4;

    /// <summary>Marks an undecided voxel in the result until its box's cores are known (labels are below it).</summary>
    private const byte Undecided = 0x80;


    /// <summary>
    /// Labels with the fibres' carbon|electrolyte boundary moved to half depth.
    /// </summary>
    /// <param name="labels">Segmented labels (void, carbon, LPS, NMC).</param>
    /// <param name="intensity">The denoised grey levels the labels came from.</param>
    /// <param name="classMeans">Means of void, carbon, electrolyte and active material.</param>
    /// <param name="sigmaVoxels">The tube filter's σ (<see cref="CarbonFibreSurvey.TubeSigmaVoxels"/>).</param>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double[] classMeans, double sigmaVoxels) =>
        Apply(labels, intensity, classMeans, sigmaVoxels, NeighbourhoodVoxels(sigmaVoxels), DepthShare, CarbonFibreSurvey.MinimumTubeResponse);

    /// <summary>
    /// The rule with a given box half-width, depth share and tube threshold (a share of the void-to-electrolyte contrast);
    /// the pipeline's are <see cref="NeighbourhoodVoxels"/>, <see cref="DepthShare"/> and
    /// <see cref="CarbonFibreSurvey.MinimumTubeResponse"/>, the carbon study varies them.
    /// </summary>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double[] classMeans, double sigmaVoxels,
        int neighbourhoodVoxels, double depthShare, double minimumTubeResponse) =>
        Apply(labels, intensity, classMeans, sigmaVoxels, neighbourhoodVoxels, depthShare, minimumTubeResponse, SliceSpan.All(labels.Depth));

    /// <summary>
    /// The rule decided on the slices of <paramref name="exact"/> alone (the others keep <paramref name="labels"/>): a voxel's
    /// decision needs the cores within its box, and a core within the box of an undecided voxel is looked for whenever that
    /// voxel is marked, so marking the span's voxels and looking for cores a box beyond it give the span's bytes of a pass
    /// over every slice, and the Hessians of the slices outside it are never computed. Likewise in the plane: only the voxels of
    /// <paramref name="exactArea"/>'s rows and columns are decided (null: all), and no core is looked for beyond its box.
    /// </summary>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double[] classMeans, double sigmaVoxels, SliceSpan exact,
        TubeCoreCache? cores = null, AreaSpan? exactArea = null) =>
        Apply(labels, intensity, classMeans, sigmaVoxels, NeighbourhoodVoxels(sigmaVoxels), DepthShare, CarbonFibreSurvey.MinimumTubeResponse, exact, cores,
            exactArea);

    /// <summary>
    /// The dark-tube test's outcome per voxel of one intensity volume, kept across calls of the rule on that same volume with
    /// different labels (the uncertainty's threshold variants re-segment one band of rows nine times): a voxel's test depends
    /// on the grey levels, the σ and the class means' contrast only, so a voxel tested once is not tested again. Calls may run
    /// at once: a voxel two of them test gets the same outcome from each. The nine segmentations of a 64x84x1017 band of the
    /// 64x1024x1024 phantom: 3.56-3.88 → 3.07-3.25 CPU-s (<c>-- segment-cpu --variant-bands</c>), the same labels.
    /// </summary>
    public sealed class TubeCoreCache(Volume<float> intensity, double sigmaVoxels, double[] classMeans) : IDisposable
    {
        /// <summary>
        /// Per voxel: 0 not yet tested, <see cref="Core"/>, or <see cref="NotCore"/> (the first intensity.Length entries of an
        /// array from <see cref="LargeArrayPool{T}"/>, zeroed, which <see cref="Dispose"/> gives back: one per window).
        /// </summary>
        internal readonly byte[] States = RentCleared(intensity.Length);

        private static byte[] RentCleared(long length)
        {
            var states = LargeArrayPool<byte>.Shared.Rent(checked((int)length));
            Array.Clear(states, 0, (int)length);
            return states;
        }

        private int _disposed;

        /// <summary>Gives the states back to the pool; the cache is not used after.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) LargeArrayPool<byte>.Shared.Return(States);
        }
        internal const byte Core = 1, NotCore = 2;

        /// <summary>The first voxel at or after <paramref name="from"/> that <see cref="SelectUntested"/> selected, -1 if none.</summary>
        internal static int NextSelected(ReadOnlySpan<byte> selected, int from)
        {
            var next = selected[from..].IndexOfAnyExcept((byte)0);
            return next < 0 ? -1 : from + next;
        }

        /// <summary>
        /// After the Hessian at the voxels <see cref="SelectUntested"/> selected: the cores get <paramref name="coreMark"/> or-ed
        /// into <paramref name="marks"/>, and <paramref name="known"/> (empty: no cache) keeps every outcome.
        /// </summary>
        internal static void RecordOutcomes(ReadOnlySpan<byte> selected, ReadOnlySpan<float> middle, ReadOnlySpan<float> smallest, float minimumResponse,
            Span<byte> known, Span<byte> marks, byte coreMark)
        {
            for (var i = NextSelected(selected, 0); i >= 0; i = NextSelected(selected, i + 1))
            {
                var core = IsTubeCore(middle[i], smallest[i], minimumResponse);
                if (core) marks[i] |= coreMark;
                if (!known.IsEmpty) known[i] = core ? Core : NotCore;
            }
        }

        /// <summary>
        /// Selects (1 in <paramref name="selected"/>, else 0) the voxels of a slice whose <paramref name="flags"/> hold a bit of
        /// <paramref name="wanted"/> and that <paramref name="known"/> (a slice of <see cref="States"/>; empty: no cache) has
        /// not tested yet; of the tested ones, the cores get <paramref name="coreMark"/> or-ed into <paramref name="marks"/>
        /// (which may be <paramref name="flags"/>). Whether any voxel is selected. 32 voxels at a time: most of a slice is
        /// nothing to test.
        /// </summary>
        internal static bool SelectUntested(ReadOnlySpan<byte> flags, byte wanted, ReadOnlySpan<byte> known, Span<byte> marks, byte coreMark, Span<byte> selected)
        {
            var cached = !known.IsEmpty;
            var i = 0;
            var any = Vector256<byte>.Zero;
            if (Vector256.IsHardwareAccelerated)
            {
                var (want, mark, one, core) = (Vector256.Create(wanted), Vector256.Create(coreMark), Vector256.Create((byte)1), Vector256.Create(Core));
                for (; i + Vector256<byte>.Count <= flags.Length; i += Vector256<byte>.Count)
                {
                    var select = ~Vector256.Equals(Vector256.Create(flags.Slice(i, Vector256<byte>.Count)) & want, Vector256<byte>.Zero);
                    if (cached && select != Vector256<byte>.Zero)
                    {
                        var state = Vector256.Create(known.Slice(i, Vector256<byte>.Count));
                        var tested = select & ~Vector256.Equals(state, Vector256<byte>.Zero);
                        var cores = tested & Vector256.Equals(state, core);
                        if (cores != Vector256<byte>.Zero)
                            (Vector256.Create((ReadOnlySpan<byte>)marks.Slice(i, Vector256<byte>.Count)) | (cores & mark)).CopyTo(marks.Slice(i, Vector256<byte>.Count));
                        select &= ~tested;
                    }
                    (select & one).CopyTo(selected.Slice(i, Vector256<byte>.Count));
                    any |= select;
                }
            }
            var anyLeft = false;
            for (; i < flags.Length; i++)
            {
                var select = (flags[i] & wanted) != 0;
                if (select && cached && known[i] != 0)
                {
                    if (known[i] == Core) marks[i] |= coreMark;
                    select = false;
                }
                selected[i] = select ? (byte)1 : (byte)0;
                anyLeft |= select;
            }
            return anyLeft || any != Vector256<byte>.Zero;
        }

        /// <summary>What the cache holds per voxel of the volume it belongs to: one state.</summary>
        public const int BytesPerVoxel = sizeof(byte);

        internal Volume<float> Intensity { get; } = intensity;
        internal double SigmaVoxels { get; } = sigmaVoxels;
        internal float MinimumResponse { get; } = MinimumResponseFor(CarbonFibreSurvey.MinimumTubeResponse, classMeans);
    }

    /// <summary>The survey's dark-tube signature at one voxel: λ2·σ² above the minimum response and |λ3| under the axial share of it.</summary>
    internal static bool IsTubeCore(float middle, float smallest, float minimumResponse) =>
        middle > minimumResponse && Math.Abs(smallest) < CarbonFibreSurvey.MaximumAxialShare * middle;

    /// <summary>A dark tube's λ1 ≥ λ2 > m and λ3 > −λ2/2 give a trace above 1.5·m: the eigenvalues are needed only there.</summary>
    internal static double TubeTraceBound(float minimumResponse) => (2 - CarbonFibreSurvey.MaximumAxialShare) * minimumResponse;

    /// <summary>A core's least λ2·σ²: <paramref name="share"/> of the void-to-electrolyte contrast.</summary>
    internal static float MinimumResponseFor(double share, double[] classMeans) => (float)(share * (classMeans[2] - classMeans[0]));

    private static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double[] classMeans, double sigmaVoxels,
        int neighbourhoodVoxels, double depthShare, double minimumTubeResponse, SliceSpan exact, TubeCoreCache? cache = null, AreaSpan? exactArea = null)
    {
        var minimumResponse = MinimumResponseFor(minimumTubeResponse, classMeans);
        if (cache is not null && (!ReferenceEquals(cache.Intensity, intensity) || cache.SigmaVoxels != sigmaVoxels || cache.MinimumResponse != minimumResponse))
            throw new ArgumentException("the tube-core cache was made for another intensity volume, σ or contrast", nameof(cache));
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        if (classMeans.Length != 4)
            throw new ArgumentException("four class means (void, carbon, electrolyte, active material) are needed", nameof(classMeans));
        if (!(sigmaVoxels > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "σ must be positive");
        ArgumentOutOfRangeException.ThrowIfNegative(neighbourhoodVoxels);
        exact.CheckInside(labels.Depth, nameof(exact));
        var area = exactArea ?? AreaSpan.All(labels.Height, labels.Width);
        area.CheckInside(labels.Height, labels.Width, nameof(exactArea));
        var result = labels.Clone();
        if (labels.Length == 0 || exact.Length == 0 || area.IsEmpty || !(classMeans[2] - classMeans[0] > 0)) return result;

        var job = new Job(labels, intensity, result, classMeans[2], neighbourhoodVoxels, depthShare, minimumResponse, cache, area);
        // One worker per core, each with its own scratch for the three passes; slices are dealt round-robin.
        var workers = Math.Min(Environment.ProcessorCount, labels.Depth);
        var scratch = new Scratch?[workers];
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers };
        void EverySlice(SliceSpan slices, Action<int, Scratch> pass) => Parallel.For(0, workers, options, w =>
        {
            var own = scratch[w] ??= new Scratch(labels.Height, labels.Width, sigmaVoxels);
            for (var z = slices.Start + w; z < slices.End; z += workers) pass(z, own);
        });
        try
        {
            EverySlice(exact, job.MarkUndecided);
            EverySlice(exact.Grow(neighbourhoodVoxels, neighbourhoodVoxels, labels.Depth), job.FindCores);
            EverySlice(exact, job.Decide);
        }
        finally
        {
            foreach (var own in scratch) own?.Dispose();
        }
        return result;
    }

    /// <summary>One thread's planes, reused from slice to slice; the Hessian's go back to the pool when the rule is done.</summary>
    private sealed class Scratch(int height, int width, double sigmaVoxels) : IDisposable
    {
        public void Dispose() => Hessian.Dispose();

        public readonly float[] AlongZ = new float[height * width], AlongX = new float[height * width], Darkest = new float[height * width];
        public readonly byte[] AnyAlongZ = new byte[height * width], AnyAlongX = new byte[height * width], Any = new byte[height * width];
        public readonly byte[] Selected = new byte[height * width];
        public readonly HessianEigenvalues.AtSelectedPixels Hessian = new(height, width, sigmaVoxels);
    }

    private sealed class Job(Volume<byte> labels, Volume<float> intensity, Volume<byte> result, double electrolyteMean, int radius, double depthShare, float minimumResponse,
        TubeCoreCache? cache, AreaSpan area)
    {
        private readonly int _depth = labels.Depth, _height = labels.Height, _width = labels.Width;
        private readonly int[] _undecidedInSlice = new int[labels.Depth];
        private readonly byte[] _cores = new byte[labels.Length];

        /// <summary>Pass 1: eligible voxels (carbon or electrolyte, no void or active material in the box) whose half-depth decision differs from their label.</summary>
        public void MarkUndecided(int z, Scratch s)
        {
            var (first, last) = (Math.Max(0, z - radius), Math.Min(_depth - 1, z + radius));
            // Void or active material anywhere in the box.
            var voidLabel = new Vector<byte>(PhaseLabel.Void);
            var nmcLabel = new Vector<byte>(PhaseLabel.Nmc);
            var blocker = s.AnyAlongZ.AsSpan();
            blocker.Clear();
            for (var zz = first; zz <= last; zz++)
            {
                var source = labels.Slice(zz);
                var i = 0;
                if (Vector.IsHardwareAccelerated)
                    for (; i <= source.Length - Vector<byte>.Count; i += Vector<byte>.Count)
                    {
                        var v = new Vector<byte>(source[i..]);
                        (new Vector<byte>(blocker[i..]) | Vector.Equals(v, voidLabel) | Vector.Equals(v, nmcLabel)).CopyTo(blocker[i..]);
                    }
                for (; i < source.Length; i++)
                    if (source[i] is PhaseLabel.Void or PhaseLabel.Nmc) blocker[i] = byte.MaxValue;
            }
            AnyInPlane(s);
            // The box's darkest grey level.
            intensity.Slice(first).CopyTo(s.AlongZ);
            for (var zz = first + 1; zz <= last; zz++) ElementwiseInPlace.Min(s.AlongZ, intensity.Slice(zz));
            MinInPlane(s);

            // Only the area's voxels are decided: the cores are then looked for within their boxes alone.
            var undecided = 0;
            foreach (var (start, length) in area.RunsInSlice(_width))
                undecided += MarkDisagreeing(labels.Slice(z).Slice(start, length), s.Any.AsSpan(start, length), intensity.Slice(z).Slice(start, length),
                    s.Darkest.AsSpan(start, length), result.Slice(z).Slice(start, length), electrolyteMean, depthShare);
            _undecidedInSlice[z] = undecided;
        }

        /// <summary>Pass 2: the dark-tube test at the carbon voxels within the box of an undecided voxel.</summary>
        public void FindCores(int z, Scratch s)
        {
            var (first, last) = (Math.Max(0, z - radius), Math.Min(_depth - 1, z + radius));
            var any = false;
            for (var zz = first; zz <= last && !any; zz++) any = _undecidedInSlice[zz] > 0;
            if (!any) return;
            s.AnyAlongZ.AsSpan().Clear();
            for (var zz = first; zz <= last; zz++) ElementwiseInPlace.Or(s.AnyAlongZ, result.Slice(zz));
            AnyInPlane(s);
            var sliceLabels = labels.Slice(z);
            var selected = s.Selected.AsSpan();
            var cores = _cores.AsSpan(z * _height * _width, _height * _width);
            var known = cache is null ? [] : cache.States.AsSpan(z * _height * _width, _height * _width);
            // Carbon voxels in the box of an undecided one (the box's flags: Any); a voxel the cache has tested takes its outcome
            // from there.
            CarbonIn(sliceLabels, s.Any);
            if (!TubeCoreCache.SelectUntested(s.Any, Undecided, known, cores, 1, selected)) return;
            var (middle, smallest) = (s.AlongZ, s.AlongX);
            s.Hessian.Compute(intensity, z, selected, middle, smallest, minimumResponse, TubeTraceBound(minimumResponse));
            TubeCoreCache.RecordOutcomes(selected, middle, smallest, minimumResponse, known, cores, 1);
        }

        /// <summary>Clears the box flags of the voxels that are not carbon (only carbon voxels are tested for a tube).</summary>
        private static void CarbonIn(ReadOnlySpan<byte> sliceLabels, Span<byte> boxFlags)
        {
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var carbon = Vector256.Create(PhaseLabel.Carbon);
                for (; i + Vector256<byte>.Count <= boxFlags.Length; i += Vector256<byte>.Count)
                    (Vector256.Create((ReadOnlySpan<byte>)boxFlags.Slice(i, Vector256<byte>.Count))
                        & Vector256.Equals(Vector256.Create(sliceLabels.Slice(i, Vector256<byte>.Count)), carbon)).CopyTo(boxFlags.Slice(i, Vector256<byte>.Count));
            }
            for (; i < boxFlags.Length; i++)
                if (sliceLabels[i] != PhaseLabel.Carbon) boxFlags[i] = 0;
        }

        /// <summary>Pass 3: an undecided voxel with a core in its box takes the half-depth decision (the other label); the others keep theirs.</summary>
        public void Decide(int z, Scratch s)
        {
            if (_undecidedInSlice[z] == 0) return;
            var (first, last) = (Math.Max(0, z - radius), Math.Min(_depth - 1, z + radius));
            s.AnyAlongZ.AsSpan().Clear();
            for (var zz = first; zz <= last; zz++) ElementwiseInPlace.Or(s.AnyAlongZ, _cores.AsSpan(zz * _height * _width, _height * _width));
            AnyInPlane(s);
            var marked = result.Slice(z);
            for (var i = 0; i < marked.Length; i++)
            {
                if ((marked[i] & Undecided) == 0) continue;
                var label = (byte)(marked[i] & ~Undecided);
                marked[i] = s.Any[i] == 0 ? label : label == PhaseLabel.Carbon ? PhaseLabel.Lps : PhaseLabel.Carbon;
            }
        }

        /// <summary>s.Any = OR of s.AnyAlongZ over the in-plane square of half-width radius (x, then y), clipped at the edges.</summary>
        private void AnyInPlane(Scratch s) => SquareInPlane<byte>(s.AnyAlongZ, s.AnyAlongX, s.Any, ElementwiseInPlace.Or);

        /// <summary>s.Darkest = min of s.AlongZ over the in-plane square of half-width radius (x, then y), clipped at the edges.</summary>
        private void MinInPlane(Scratch s) => SquareInPlane<float>(s.AlongZ, s.AlongX, s.Darkest, ElementwiseInPlace.Min);

        /// <summary>
        /// <paramref name="result"/> = <paramref name="combine"/> of <paramref name="source"/> over the in-plane square of
        /// half-width radius, separably: along x into <paramref name="alongX"/>, then along y.
        /// </summary>
        private void SquareInPlane<T>(T[] source, T[] alongX, T[] result, CombineInPlace<T> combine)
        {
            var (height, width) = (_height, _width);
            source.CopyTo(alongX, 0);
            for (var y = 0; y < height; y++)
            {
                var start = y * width;
                for (var k = 1; k <= radius && k < width; k++)
                {
                    var n = width - k;
                    combine(alongX.AsSpan(start, n), source.AsSpan(start + k, n));
                    combine(alongX.AsSpan(start + k, n), source.AsSpan(start, n));
                }
            }
            for (var y = 0; y < height; y++)
            {
                var target = result.AsSpan(y * width, width);
                alongX.AsSpan(y * width, width).CopyTo(target);
                for (var yy = Math.Max(0, y - radius); yy <= Math.Min(height - 1, y + radius); yy++)
                    if (yy != y) combine(target, alongX.AsSpan(yy * width, width));
            }
        }
    }

    private delegate void CombineInPlace<T>(Span<T> target, ReadOnlySpan<T> other);

    /// <summary>
    /// Marks <see cref="Undecided"/> (beside the label) in <paramref name="marked"/> every carbon or electrolyte voxel with no
    /// blocker in its box (<paramref name="boxHasBlocker"/> 0) whose half-depth decision, carbon below
    /// electrolyteMean − depthShare·(electrolyteMean − darkest), differs from its label; returns how many. 32 voxels at a time
    /// where the vectors allow, in the same double arithmetic as one by one (widening a float to a double is exact, and
    /// neither path fuses the multiply and the subtraction), so both mark the same voxels.
    /// </summary>
    internal static int MarkDisagreeing(ReadOnlySpan<byte> labels, ReadOnlySpan<byte> boxHasBlocker, ReadOnlySpan<float> grey, ReadOnlySpan<float> darkest,
        Span<byte> marked, double electrolyteMean, double depthShare)
    {
        var count = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var (lps, carbon) = (Vector256.Create(PhaseLabel.Lps), Vector256.Create(PhaseLabel.Carbon));
            var (mean, share) = (Vector256.Create(electrolyteMean), Vector256.Create(depthShare));
            for (; i + Vector256<byte>.Count <= labels.Length; i += Vector256<byte>.Count)
            {
                var label = Vector256.Create(labels.Slice(i, Vector256<byte>.Count));
                var isCarbon = Vector256.Equals(label, carbon);
                var eligible = ((Vector256.Equals(label, lps) | isCarbon)
                    & Vector256.Equals(Vector256.Create(boxHasBlocker.Slice(i, Vector256<byte>.Count)), Vector256<byte>.Zero)).ExtractMostSignificantBits();
                if (eligible == 0) continue;
                var darker = 0u;
                for (var k = 0; k < Vector256<byte>.Count; k += Vector256<float>.Count)
                {
                    var g = Vector256.Create(grey.Slice(i + k, Vector256<float>.Count));
                    var d = Vector256.Create(darkest.Slice(i + k, Vector256<float>.Count));
                    var (gLow, gHigh) = Vector256.Widen(g);
                    var (dLow, dHigh) = Vector256.Widen(d);
                    var below = Vector256.LessThan(gLow, mean - share * (mean - dLow)).ExtractMostSignificantBits()
                        | Vector256.LessThan(gHigh, mean - share * (mean - dHigh)).ExtractMostSignificantBits() << 4;
                    darker |= below << k;
                }
                var disagree = eligible & (darker ^ isCarbon.ExtractMostSignificantBits());
                count += BitOperations.PopCount(disagree);
                for (; disagree != 0; disagree &= disagree - 1)
                {
                    var at = i + BitOperations.TrailingZeroCount(disagree);
                    marked[at] = (byte)(labels[at] | Undecided);
                }
            }
        }
        for (; i < labels.Length; i++)
        {
            var label = labels[i];
            if ((label != PhaseLabel.Lps && label != PhaseLabel.Carbon) || boxHasBlocker[i] != 0) continue;
            var halfDepth = electrolyteMean - depthShare * (electrolyteMean - darkest[i]);
            var decided = grey[i] < halfDepth ? PhaseLabel.Carbon : PhaseLabel.Lps;
            if (decided == label) continue;
            marked[i] = (byte)(label | Undecided);
            count++;
        }
        return count;
    }
}
