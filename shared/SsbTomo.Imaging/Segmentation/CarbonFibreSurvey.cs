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
/// Only slices whose stack index is a multiple of <see cref="SliceStride"/> are surveyed (a median needs no more),
/// and each result depends only on the slab's voxels within <see cref="RequiredHaloSlices"/>(σ) of the slice: the merged
/// counts are the same for any chunking.
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

    /// <summary>Survey every n-th slice of the stack.</summary>
    public const int SliceStride = 4;

    public static int RequiredHaloSlices(double sigmaVoxels) => Math.Max(HessianEigenvalues.RadiusVoxels(sigmaVoxels), PoreClearanceVoxels);

    /// <summary>
    /// What <see cref="Survey(Volume{ushort}, SlabWindow, TileWindow, double[], double[], int, double, double, double, int)"/>
    /// allocates per pixel of the read window for each slice it surveys, garbage included: three double planes along z,
    /// six Hessian components each with its row pass (two doubles), three eigenvalue floats, three box extremes each with
    /// its row pass (two floats). A slice's scratch is freed when the next begins, so at most one set per thread is live.
    /// </summary>
    public const int ScratchBytesPerSlicePixel = 3 * 8 + 6 * 2 * 8 + 3 * 4 + 3 * 2 * 4;

    /// <summary>How many slices of the owned range [<paramref name="ownedZ0"/>, <paramref name="ownedZ1"/>) the survey looks at.</summary>
    public static int SurveyedSlices(int ownedZ0, int ownedZ1)
    {
        var first = ownedZ0 + (SliceStride - ownedZ0 % SliceStride) % SliceStride;
        return first >= ownedZ1 ? 0 : (ownedZ1 - 1 - first) / SliceStride + 1;
    }

    /// <summary>
    /// Bytes the survey allocates per voxel of a window <paramref name="windowSlices"/> deep (read with its halo) beside the
    /// window itself: its float copy, and the scratch of the slices surveyed at once (<paramref name="parallelism"/> threads,
    /// at most one slice each) spread over the window's slices.
    /// </summary>
    public static double WorkingBytesPerVoxel(int windowSlices, int surveyedSlices, int parallelism)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(windowSlices, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        return sizeof(float) + (double)Math.Min(parallelism, Math.Max(0, surveyedSlices)) * ScratchBytesPerSlicePixel / windowSlices;
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
    public static FibreSurveyCounts Survey(Volume<ushort> slab, SlabWindow window, TileWindow tile, double[] thresholds, double[] classMeans,
        int bins, double min, double max, double sigmaVoxels, int parallelism = 0)
    {
        if (slab.Height != tile.ReadHeight || slab.Width != tile.ReadWidth)
            throw new ArgumentException($"slab is {slab.Height}x{slab.Width} pixels, the tile expects {tile.ReadHeight}x{tile.ReadWidth}", nameof(slab));
        if (slab.Depth != window.SlabSlices)
            throw new ArgumentException($"slab has {slab.Depth} slices, window expects {window.SlabSlices}", nameof(slab));
        if (thresholds.Length != 3 || classMeans.Length != 4)
            throw new ArgumentException("four classes (void, carbon, electrolyte, active material) and three thresholds are needed", nameof(thresholds));
        var tubes = new long[bins];
        var electrolyte = new long[bins];
        var first = window.OwnedZ0 + (SliceStride - window.OwnedZ0 % SliceStride) % SliceStride;
        var surveyed = new List<int>();
        for (var z = first; z < window.OwnedZ1; z += SliceStride) surveyed.Add(z - window.SlabZ0);
        if (surveyed.Count == 0) return new FibreSurveyCounts(tubes, electrolyte);

        var intensity = new Volume<float>(slab.Depth, slab.Height, slab.Width, Array.ConvertAll(slab.Data, v => (float)v));
        var contrast = classMeans[2] - classMeans[0];
        var minimumResponse = MinimumTubeResponse * contrast;
        var (voidBelow, electrolyteFrom, electrolyteBelow) = ((float)thresholds[0], (float)thresholds[1], (float)thresholds[2]);
        var lockObject = new object();
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallelism > 0 ? parallelism : Environment.ProcessorCount };
        Parallel.ForEach(surveyed, options, z =>
        {
            var localTubes = new long[bins];
            var localElectrolyte = new long[bins];
            var (_, middle, smallest) = HessianEigenvalues.OfSlice(intensity, z, sigmaVoxels);
            var darkest = BoxExtreme(intensity, z, PoreClearanceVoxels, takeMinimum: true);
            var coreMin = BoxExtreme(intensity, z, ElectrolyteCoreVoxels, takeMinimum: true);
            var coreMax = BoxExtreme(intensity, z, ElectrolyteCoreVoxels, takeMinimum: false);
            var values = intensity.Slice(z);
            var (ownedY0, ownedX0) = tile.OwnedStartInRead;
            for (var y = ownedY0; y < ownedY0 + tile.OwnedHeight; y++)
            {
                for (var i = y * slab.Width + ownedX0; i < y * slab.Width + ownedX0 + tile.OwnedWidth; i++)
                {
                    var v = values[i];
                    if (coreMin[i] >= electrolyteFrom && coreMax[i] < electrolyteBelow)
                        localElectrolyte[Histogram.BinOf(v, bins, min, max)]++;
                    if (middle[i] > minimumResponse && Math.Abs(smallest[i]) < MaximumAxialShare * middle[i] && darkest[i] >= voidBelow)
                        localTubes[Histogram.BinOf(v, bins, min, max)]++;
                }
            }
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

    /// <summary>Minimum (or maximum) over the box of half-width r around each voxel of slice z, clipped at the volume's edges.</summary>
    private static float[] BoxExtreme(Volume<float> volume, int z, int r, bool takeMinimum)
    {
        var (height, width) = (volume.Height, volume.Width);
        var result = new float[height * width];
        Array.Fill(result, takeMinimum ? float.PositiveInfinity : float.NegativeInfinity);
        var rows = new float[height * width];
        for (var zz = Math.Max(0, z - r); zz <= Math.Min(volume.Depth - 1, z + r); zz++)
        {
            var plane = volume.Slice(zz);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var best = plane[y * width + x];
                    for (var xx = Math.Max(0, x - r); xx <= Math.Min(width - 1, x + r); xx++)
                    {
                        var v = plane[y * width + xx];
                        best = takeMinimum ? Math.Min(best, v) : Math.Max(best, v);
                    }
                    rows[y * width + x] = best;
                }
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var best = result[y * width + x];
                    for (var yy = Math.Max(0, y - r); yy <= Math.Min(height - 1, y + r); yy++)
                    {
                        var v = rows[yy * width + x];
                        best = takeMinimum ? Math.Min(best, v) : Math.Max(best, v);
                    }
                    result[y * width + x] = best;
                }
        }
        return result;
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

    public static CarbonLevelDecision Decide(FibreSurveyCounts survey, double[] thresholds, double[] classMeans, int bins, double min, double max)
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
        var replace = !double.IsNaN(level) && contrast > 0 && Math.Abs(level - carbonMean) / contrast > ReplaceBeyondContrastShare;
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
            if (seen >= half) return 1.4826 * d;
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
