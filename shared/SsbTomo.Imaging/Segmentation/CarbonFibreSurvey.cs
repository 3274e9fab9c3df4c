using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// What one slab contributes to the stack's carbon grey-level estimate: the grey-level histogram of voxels that lie on
/// dark tubes away from any pore (carbon nanofibre cores), and that of the electrolyte's interior (its spread tells
/// a fibre from noise). Histograms of all slabs add bin by bin.
/// </summary>
public sealed record FibreSurveyCounts(long[] TubeHistogram, long[] ElectrolyteCoreHistogram)
{
    public static FibreSurveyCounts Merge(IEnumerable<FibreSurveyCounts> parts)
    {
        var list = parts.ToList();
        return new FibreSurveyCounts(Histogram.Merge(list.Select(p => p.TubeHistogram).ToList()),
            Histogram.Merge(list.Select(p => p.ElectrolyteCoreHistogram).ToList()));
    }
}

/// <summary>
/// Finds the carbon phase by its shape rather than its grey level. In the paper's cathodes carbon is nanofibres
/// (CNF, 0.1-0.35 µm across): under the SEM's blur a fibre's grey level sits between the pores' and the
/// electrolyte's, exactly where the blurred rim of every pore and the shine-through inside pores also sit. A
/// histogram mixture then can place its "carbon" class on the pores' rims (seen on phantoms with blur ≥ 1.3 px or
/// strong shine-through: the class mean at a third of the way from void to electrolyte while the fibres' cores are
/// at two thirds), and the void fraction comes out several points low. Fibre cores are found instead as voxels whose
/// Hessian (σ = <see cref="TubeSigmaVoxels"/>: a fibre's radius in voxels) has a dark-tube signature (Frangi et al. 1998): the middle eigenvalue
/// λ2·σ² above <see cref="MinimumTubeResponse"/> of the void-to-electrolyte contrast and the smallest one
/// |λ3| &lt; λ2 / 2 (along the fibre), with no void-class voxel within <see cref="PoreClearanceVoxels"/> (not a
/// pore's rim). Their median grey level is the carbon level (<see cref="CarbonLevel"/>).
/// <para>
/// Only slices whose stack index is a multiple of the stack's stride are surveyed (<see cref="SliceStrideFor"/>: every
/// <see cref="MinimumSliceStride"/>th, sparser on stacks of more than <see cref="TargetSurveyedPixels"/> pixels in those
/// slices; a median needs no more), and each result depends only on the slab's voxels within
/// <see cref="RequiredHaloSlices"/>(σ) of the slice: the merged counts are the same for any chunking.
/// </para>
/// <para>
/// Speed (the counts are those of the plain version kept in the tests' <c>Reference/CarbonFibreSurveyReference.cs</c>, to
/// the voxel): the uint16 window is read as it is; the Hessian is the plain sums vectorised across pixels
/// (<see cref="HessianEigenvalues.SliceRows"/>), taken in-plane and solved only at owned pixels clear of void whose trace
/// allows a tube; the boxes' minima and maxima against the thresholds are "some voxel fails" flags ORed separably. On
/// 32x384x384 this costs ~50-70 ms of CPU per 4.7 Mvoxel (the plain version: ~700-800 ms; <c>-- --chunk-path</c>).
/// </para>
/// </summary>
public static class CarbonFibreSurvey
{
    /// <summary>
    /// Radius of a typical carbon nanofibre (0.15 µm across; the paper's CNF and the phantom family span 0.1-0.35 µm):
    /// physics, in nm, so the tube filter's scale follows the voxel size (1.5 voxels at 50 nm).
    /// </summary>
    public const double FibreRadiusNm = 75;

    /// <summary>Below a voxel the Hessian sees only noise and blur; above 6 voxels the halo and cost grow for nothing.</summary>
    public const double MinimumSigmaVoxels = 1, MaximumSigmaVoxels = 6;

    /// <summary>The tube filter's σ for a stack: a fibre's radius in in-plane voxels, clamped.</summary>
    public static double TubeSigmaVoxels(VoxelSize voxelSize) =>
        Math.Clamp(FibreRadiusNm / (0.5 * (voxelSize.XNm + voxelSize.YNm)), MinimumSigmaVoxels, MaximumSigmaVoxels);

    /// <summary>λ2·σ² of a fibre core, as a share of the void-to-electrolyte contrast (blurred 2-7 px fibres give 0.05-0.15).</summary>
    public const double MinimumTubeResponse = 0.05;

    /// <summary>Along a tube the curvature is at most this share of the curvature across it.</summary>
    public const double MaximumAxialShare = 0.5;

    /// <summary>A tube voxel with a void-class voxel this close (box half-width) is taken to be a pore's rim.</summary>
    public const int PoreClearanceVoxels = 3;

    /// <summary>An electrolyte voxel is interior when its whole box of this half-width is electrolyte-class.</summary>
    public const int ElectrolyteCoreVoxels = 1;

    /// <summary>
    /// Survey at least every n-th slice of the stack: a cost tuning (the former fixed stride), not physics. Measured across
    /// the phantom family (8- and 16-bit, `-- survey-stride`): surveying 4 or 8 times fewer slices than this moves the
    /// fibre-core level by at most 0.037 of the void-to-electrolyte contrast and changes no carbon decision.
    /// </summary>
    public const int MinimumSliceStride = 4;

    /// <summary>
    /// About the pixels a large stack's survey looks at: the stride grows until its slices hold no more than this. A cost
    /// tuning, not physics or a phantom's proportion: the two histograms give a median and a spread, whose precision follows
    /// the pixels counted, not the stack's size. The demo stack (128x256x320) surveys 2.6 Mpixel at the minimum stride;
    /// 64 Mpixel is 24 times that, and on the family's 64x192x224 members (8- and 16-bit) 0.16 Mpixel (stride 16) already
    /// gave every member's carbon decision and its level within 0.037 of the contrast (`-- survey-stride`, SurveyStrideStudy). At 1 Gvoxel
    /// (320x1536x2048) the stride is 16 instead of 4 (20 slices instead of 80), a 2000x3072x4096 acquisition surveys 5 of
    /// its slices; stacks up to 256 Mvoxel keep the minimum stride.
    /// </summary>
    public const long TargetSurveyedPixels = 64_000_000;

    /// <summary>
    /// The survey's slice stride for a <paramref name="depth"/> x <paramref name="height"/> x <paramref name="width"/> stack:
    /// <see cref="MinimumSliceStride"/>, or the least stride whose slices hold about <see cref="TargetSurveyedPixels"/>
    /// where the stack is larger. Fixed by the stack's shape alone, so every chunk surveys the same slices.
    /// </summary>
    public static int SliceStrideFor(int depth, int height, int width)
    {
        var voxels = (long)depth * height * width;
        var stride = (voxels + TargetSurveyedPixels - 1) / TargetSurveyedPixels;
        return (int)Math.Clamp(stride, MinimumSliceStride, Math.Max(MinimumSliceStride, depth));
    }

    public static int RequiredHaloSlices(double sigmaVoxels) => Math.Max(HessianEigenvalues.RadiusVoxels(sigmaVoxels), PoreClearanceVoxels);

    /// <summary>
    /// What <see cref="Survey(Volume{ushort}, SlabWindow, TileWindow, double[], double[], int, double, double, double, int)"/>
    /// allocates per pixel of the read window for each slice it surveys at once (one per thread, kept from slice to slice):
    /// the Hessian's three z-derivative planes in doubles (<see cref="HessianEigenvalues.SliceRows"/>), and four uint16
    /// planes of the two box tests (any void-class voxel, any voxel outside the electrolyte class; along z, then along x).
    /// Rows along y and x are O(width) on top.
    /// </summary>
    public const int ScratchBytesPerSlicePixel = HessianEigenvalues.SliceRows.ScratchBytesPerSlicePixel + 4 * sizeof(ushort);

    /// <summary>How many slices of the owned range [<paramref name="ownedZ0"/>, <paramref name="ownedZ1"/>) the survey looks at with this stride.</summary>
    public static int SurveyedSlices(int ownedZ0, int ownedZ1, int sliceStride = MinimumSliceStride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sliceStride, 1);
        var first = ownedZ0 + (sliceStride - ownedZ0 % sliceStride) % sliceStride;
        return first >= ownedZ1 ? 0 : (ownedZ1 - 1 - first) / sliceStride + 1;
    }

    /// <summary>
    /// Bytes the survey allocates per voxel of a window <paramref name="windowSlices"/> deep (read with its halo) beside the
    /// window itself: the scratch of the slices surveyed at once (<paramref name="parallelism"/> threads, at most one slice
    /// each) spread over the window's slices. It reads the uint16 window as it is (no float copy).
    /// </summary>
    public static double WorkingBytesPerVoxel(int windowSlices, int surveyedSlices, int parallelism)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSlices, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        return (double)Math.Min(parallelism, Math.Max(0, surveyedSlices)) * ScratchBytesPerSlicePixel / windowSlices;
    }

    /// <summary>
    /// Counts for the owned slices of <paramref name="slab"/> (denoised grey levels, read through
    /// <paramref name="window"/> with <see cref="RequiredHaloSlices"/> halo), with the stack-wide thresholds and
    /// class means (void, carbon, electrolyte, active material) of the grey-level fit and histogram binning.
    /// </summary>
    public static FibreSurveyCounts Survey(Volume<ushort> slab, SlabWindow window, double[] thresholds, double[] classMeans,
        int bins, double min, double max, double sigmaVoxels) =>
        Survey(slab, window, TileWindow.Whole(slab.Height, slab.Width), thresholds, classMeans, bins, min, max, sigmaVoxels);

    /// <summary>As above for one y/x tile of the slab (read with the same halo around it): counts its owned pixels only.</summary>
    /// <param name="parallelism">Slices surveyed at once, each with its own scratch (<see cref="WorkingBytesPerVoxel"/>); 0 for
    /// one per core. The counts do not depend on it.</param>
    /// <param name="sliceStride">The stack's stride (<see cref="SliceStrideFor"/>): slices whose stack index is a multiple of it are surveyed.</param>
    public static FibreSurveyCounts Survey(Volume<ushort> slab, SlabWindow window, TileWindow tile, double[] thresholds, double[] classMeans,
        int bins, double min, double max, double sigmaVoxels, int parallelism = 0, int sliceStride = MinimumSliceStride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sliceStride, 1);
        if (slab.Height != tile.ReadHeight || slab.Width != tile.ReadWidth)
            throw new ArgumentException($"slab is {slab.Height}x{slab.Width} pixels, the tile expects {tile.ReadHeight}x{tile.ReadWidth}", nameof(slab));
        if (slab.Depth != window.SlabSlices)
            throw new ArgumentException($"slab has {slab.Depth} slices, window expects {window.SlabSlices}", nameof(slab));
        if (thresholds.Length != 3 || classMeans.Length != 4)
            throw new ArgumentException("four classes (void, carbon, electrolyte, active material) and three thresholds are needed", nameof(thresholds));
        var tubes = new long[bins];
        var electrolyte = new long[bins];
        var first = window.OwnedZ0 + (sliceStride - window.OwnedZ0 % sliceStride) % sliceStride;
        var surveyed = new List<int>();
        for (var z = first; z < window.OwnedZ1; z += sliceStride) surveyed.Add(z - window.SlabZ0);
        if (surveyed.Count == 0) return new FibreSurveyCounts(tubes, electrolyte);

        var minimumResponse = MinimumTubeResponse * (classMeans[2] - classMeans[0]);
        var cuts = new GreyCuts((float)thresholds[0], (float)thresholds[1], (float)thresholds[2]);
        var lockObject = new object();
        // One worker per thread, each with its own scratch for all its slices (dealt round-robin); counts add up in any order.
        var workers = Math.Min(parallelism > 0 ? parallelism : Environment.ProcessorCount, surveyed.Count);
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
        {
            var localTubes = new long[bins];
            var localElectrolyte = new long[bins];
            var scratch = new Scratch(slab.Height, slab.Width, sigmaVoxels);
            for (var s = worker; s < surveyed.Count; s += workers)
                SurveySlice(slab, surveyed[s], tile, cuts, minimumResponse, scratch, localTubes, localElectrolyte, bins, min, max);
            lock (lockObject)
            {
                for (var b = 0; b < bins; b++)
                {
                    tubes[b] += localTubes[b];
                    electrolyte[b] += localElectrolyte[b];
                }
            }
        });
        return new FibreSurveyCounts(tubes, electrolyte);
    }

    /// <summary>
    /// One slice's counts. A tube voxel needs no void-class voxel (grey &lt; the void threshold) in its pore-clearance box;
    /// an electrolyte-core voxel no voxel outside [electrolyte threshold, active-material threshold) in its core box: the
    /// box's minimum and maximum tested against the thresholds, as "any voxel fails" flags ORed along z, x and y (exact).
    /// The Hessian's eigenvalues are computed at the owned pixels that pass the pore clearance only.
    /// </summary>
    private static void SurveySlice(Volume<ushort> slab, int z, TileWindow tile, GreyCuts cuts, double minimumResponse, Scratch scratch,
        long[] tubes, long[] electrolyte, int bins, double min, double max)
    {
        var (height, width) = (slab.Height, slab.Width);
        var hessian = scratch.Hessian;
        hessian.AlongZ(slab, z);
        var scale = hessian.Scale;
        // A counted tube has λ1 ≥ λ2 > m and λ3 > −λ2/2, so its trace exceeds 1.5·m: the eigenvalues are needed only where
        // the trace (times σ²) exceeds 1.4·m, which leaves room for every rounding of the closed form and the float tests.
        var traceBound = minimumResponse > 0 ? 1.4 * minimumResponse / scale : double.NegativeInfinity;
        var nearVoid = BoxFlagsAlongZX(slab, z, PoreClearanceVoxels, cuts, poreClearance: true, scratch.VoidAlongZ, scratch.VoidAlongX);
        var outsideCore = BoxFlagsAlongZX(slab, z, ElectrolyteCoreVoxels, cuts, poreClearance: false, scratch.CoreAlongZ, scratch.CoreAlongX);
        var values = slab.Slice(z);
        var (ownedY0, ownedX0) = tile.OwnedStartInRead;
        var ownedX1 = ownedX0 + tile.OwnedWidth;
        for (var y = ownedY0; y < ownedY0 + tile.OwnedHeight; y++)
        {
            var voidRow = AlongY(nearVoid, scratch.VoidRow, height, width, y, PoreClearanceVoxels);
            var coreRow = AlongY(outsideCore, scratch.CoreRow, height, width, y, ElectrolyteCoreVoxels);
            var row = values.Slice(y * width, width);
            for (var x = ownedX0; x < ownedX1; x++)
                if (coreRow[x] == 0) electrolyte[Histogram.BinOf(row[x], bins, min, max)]++;
            var clear = voidRow[ownedX0..ownedX1].IndexOf((ushort)0);
            if (clear < 0) continue;
            hessian.InPlane(y, ownedX0, ownedX1);
            for (var x = ownedX0 + clear; x < ownedX1; x++)
            {
                if (voidRow[x] != 0 || !hessian.TraceMayExceed(x, traceBound)) continue;
                var (_, b, c) = hessian.Eigenvalues(x);
                var (middle, smallest) = ((float)(b * scale), (float)(c * scale));
                if (middle > minimumResponse && Math.Abs(smallest) < MaximumAxialShare * middle)
                    tubes[Histogram.BinOf(row[x], bins, min, max)]++;
            }
        }
    }

    /// <summary>
    /// The three thresholds as cuts in uint16 grey levels. The survey's tests "(float)g ≥ t" and "!((float)g &lt; t)" are
    /// monotone in g, so each holds exactly from the first grey level where it does (a NaN threshold: the first never holds,
    /// the second always), and the integer comparisons are the float ones.
    /// </summary>
    private sealed class GreyCuts(float voidBelow, float electrolyteFrom, float electrolyteBelow)
    {
        private readonly int _voidFrom = FirstWhere(g => g >= voidBelow), _electrolyteFrom = FirstWhere(g => g >= electrolyteFrom),
            _electrolyteTo = FirstWhere(g => !(g < electrolyteBelow));

        /// <summary>!((float)g ≥ the void threshold): the box's minimum fails "≥ the void threshold" when a voxel does.</summary>
        public Vector256<ushort> IsVoid(Vector256<ushort> grey) => Below(grey, _voidFrom);

        /// <summary>!((float)g ≥ the electrolyte threshold and (float)g &lt; the active-material threshold): the box's minimum or maximum fails when a voxel does.</summary>
        public Vector256<ushort> IsNotElectrolyte(Vector256<ushort> grey) => Below(grey, _electrolyteFrom) | ~Below(grey, _electrolyteTo);

        public bool IsVoid(ushort grey) => grey < _voidFrom;
        public bool IsNotElectrolyte(ushort grey) => grey < _electrolyteFrom || grey >= _electrolyteTo;

        private static Vector256<ushort> Below(Vector256<ushort> grey, int cut) =>
            cut > ushort.MaxValue ? Vector256<ushort>.AllBitsSet : Vector256.LessThan(grey, Vector256.Create((ushort)cut));

        /// <summary>The smallest grey level in [0, 65536] where a test monotone in the grey level holds (65536: none).</summary>
        private static int FirstWhere(Func<float, bool> holds)
        {
            var (low, high) = (0, ushort.MaxValue + 1);
            while (low < high)
            {
                var mid = (low + high) / 2;
                if (holds(mid)) high = mid;
                else low = mid + 1;
            }
            return low;
        }
    }

    /// <summary>One worker's planes, kept from slice to slice.</summary>
    private sealed class Scratch(int height, int width, double sigmaVoxels)
    {
        public readonly HessianEigenvalues.SliceRows Hessian = new(height, width, sigmaVoxels);
        public readonly ushort[] VoidAlongZ = new ushort[height * width], VoidAlongX = new ushort[height * width];
        public readonly ushort[] CoreAlongZ = new ushort[height * width], CoreAlongX = new ushort[height * width];
        public readonly ushort[] VoidRow = new ushort[width], CoreRow = new ushort[width];
    }

    /// <summary>
    /// Flags (all bits set: some voxel fails the test, <see cref="GreyCuts.IsVoid(ushort)"/> for the pore clearance,
    /// <see cref="GreyCuts.IsNotElectrolyte(ushort)"/> otherwise) ORed over slices z ± r (clipped at the slab's ends) into
    /// <paramref name="alongZ"/>, then along x over ± r (clipped at the row's ends) into <paramref name="alongX"/>, returned.
    /// </summary>
    private static ushort[] BoxFlagsAlongZX(Volume<ushort> slab, int z, int r, GreyCuts cuts, bool poreClearance, ushort[] alongZ, ushort[] alongX)
    {
        var (length, width) = (slab.SliceLength, slab.Width);
        alongZ.AsSpan().Clear();
        for (var zz = Math.Max(0, z - r); zz <= Math.Min(slab.Depth - 1, z + r); zz++)
        {
            var source = slab.Slice(zz);
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; i <= length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
                {
                    var grey = Vector256.LoadUnsafe(ref source[i]);
                    var fails = poreClearance ? cuts.IsVoid(grey) : cuts.IsNotElectrolyte(grey);
                    (Vector256.LoadUnsafe(ref alongZ[i]) | fails).StoreUnsafe(ref alongZ[i]);
                }
            for (; i < length; i++)
                if (poreClearance ? cuts.IsVoid(source[i]) : cuts.IsNotElectrolyte(source[i])) alongZ[i] = ushort.MaxValue;
        }
        alongZ.CopyTo(alongX, 0);
        for (var start = 0; start < length; start += width)
            for (var k = 1; k <= r && k < width; k++)
            {
                var n = width - k;
                ElementwiseInPlace.Or(alongX.AsSpan(start, n), alongZ.AsSpan(start + k, n));
                ElementwiseInPlace.Or(alongX.AsSpan(start + k, n), alongZ.AsSpan(start, n));
            }
        return alongX;
    }

    /// <summary>Row y of the flags ORed along y over ± r (clipped at the plane's ends).</summary>
    private static ReadOnlySpan<ushort> AlongY(ushort[] alongX, ushort[] row, int height, int width, int y, int r)
    {
        var target = row.AsSpan();
        alongX.AsSpan(Math.Max(0, y - r) * width, width).CopyTo(target);
        for (var yy = Math.Max(0, y - r) + 1; yy <= Math.Min(height - 1, y + r); yy++) ElementwiseInPlace.Or(target, alongX.AsSpan(yy * width, width));
        return target;
    }
}

/// <summary>The carbon level found by <see cref="CarbonFibreSurvey"/> and what it did to the grey-level fit.</summary>
/// <param name="FibreCoreLevel">Median grey level of the fibre cores (NaN when too few were found).</param>
/// <param name="FibreCoreVoxels">Surveyed fibre-core voxels below the electrolyte's noise band.</param>
/// <param name="Replaced">True when the fit's carbon class was replaced by the fibre level.</param>
/// <param name="Thresholds">Thresholds to segment with (the fit's unless replaced).</param>
/// <param name="ClassMeans">Class means to segment with (the fit's unless replaced).</param>
public sealed record CarbonLevelDecision(double FibreCoreLevel, long FibreCoreVoxels, bool Replaced, double[] Thresholds, double[] ClassMeans);

/// <summary>
/// Decides whether the grey-level fit's carbon class is the fibres or the pores' rims. The fibre cores' median grey
/// level (only those darker than the electrolyte's interior by <see cref="NoiseBandSds"/> of its spread, so noise in
/// the electrolyte does not count as fibres) is compared with the fit's carbon mean; when they differ by more than
/// <see cref="ReplaceBeyondContrastShare"/> of the void-to-electrolyte contrast, the fit's carbon class was not the
/// fibres: above them it was the pores' blurred rims or shine-through, below them the darker half of a textured
/// electrolyte. The carbon mean then becomes the fibre level and the two thresholds next to it move half-way between
/// the neighbouring means (the partial-volume midpoint). Otherwise the fit stands (on the family phantoms where the
/// fit is right both estimates agree within 0.07 of the contrast).
/// </summary>
public static class CarbonLevel
{
    public const double NoiseBandSds = 2.5;
    public const double ReplaceBeyondContrastShare = 0.2;

    /// <summary>Fewest fibre-core voxels (over the surveyed slices) for a median worth acting on.</summary>
    public const long MinimumFibreVoxels = 250;

    public static CarbonLevelDecision Decide(FibreSurveyCounts survey, double[] thresholds, double[] classMeans, int bins, double min, double max) =>
        Decide(survey, thresholds, classMeans, bins, min, max, ReplaceBeyondContrastShare);

    /// <summary>As above, replacing the fit's carbon class when the fibre level differs from it by more than <paramref name="replaceBeyondShare"/> of the contrast.</summary>
    public static CarbonLevelDecision Decide(FibreSurveyCounts survey, double[] thresholds, double[] classMeans, int bins, double min, double max, double replaceBeyondShare)
    {
        var (voidMean, carbonMean, electrolyteMean) = (classMeans[0], classMeans[1], classMeans[2]);
        var contrast = electrolyteMean - voidMean;
        var spread = RobustSpread(survey.ElectrolyteCoreHistogram, bins, min, max);
        var ceiling = electrolyteMean - NoiseBandSds * (double.IsNaN(spread) ? 0 : spread);
        var below = new long[bins];
        for (var b = 0; b < bins; b++)
            if (Histogram.LowerEdge(b + 1, bins, min, max) <= ceiling) below[b] = survey.TubeHistogram[b];
        var count = below.Sum();
        var level = count >= MinimumFibreVoxels ? Quantile(below, 0.5, bins, min, max) : double.NaN;
        var replace = !double.IsNaN(level) && contrast > 0 && Math.Abs(level - carbonMean) / contrast > replaceBeyondShare;
        if (!replace) return new CarbonLevelDecision(level, count, false, thresholds, classMeans);
        double[] means = [voidMean, level, electrolyteMean, classMeans[3]];
        double[] moved = [(voidMean + level) / 2, (level + electrolyteMean) / 2, thresholds[2]];
        return new CarbonLevelDecision(level, count, true, moved, means);
    }

    /// <summary>1.4826 × the median absolute deviation of a histogram (the SD of a Gaussian), NaN when empty.</summary>
    internal static double RobustSpread(long[] histogram, int bins, double min, double max)
    {
        if (histogram.Sum() == 0) return double.NaN;
        var median = Quantile(histogram, 0.5, bins, min, max);
        var width = (max - min) / bins;
        var deviations = new SortedDictionary<double, long>();
        for (var b = 0; b < bins; b++)
            if (histogram[b] > 0)
            {
                var d = Math.Abs(Histogram.LowerEdge(b, bins, min, max) + width / 2 - median);
                deviations[d] = deviations.GetValueOrDefault(d) + histogram[b];
            }
        var half = histogram.Sum() / 2.0;
        var seen = 0L;
        foreach (var (d, n) in deviations)
        {
            seen += n;
            if (seen >= half) return Alignment.Statistics.GaussianSdPerMad * d;
        }
        return double.NaN;
    }

    /// <summary>The q-quantile of a histogram, linear inside the bin.</summary>
    internal static double Quantile(long[] histogram, double q, int bins, double min, double max)
    {
        var total = histogram.Sum();
        if (total == 0) return double.NaN;
        var target = q * total;
        var width = (max - min) / bins;
        var seen = 0.0;
        for (var b = 0; b < bins; b++)
        {
            if (histogram[b] == 0) continue;
            if (seen + histogram[b] >= target)
                return Histogram.LowerEdge(b, bins, min, max) + width * (target - seen) / histogram[b];
            seen += histogram[b];
        }
        return max;
    }
}
