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
/// The rule: a voxel labelled carbon or electrolyte, with a fibre core within <see cref="NeighbourhoodVoxels"/> (box
/// half-width) and no void or active-material voxel there (the blurred rim of a pore or particle is not a fibre), is
/// carbon when its grey level is below the electrolyte mean minus <see cref="DepthShare"/> of the way down to the darkest
/// voxel of that box, electrolyte otherwise. A fibre core is the survey's (<see cref="CarbonFibreSurvey"/>): the Hessian's
/// middle eigenvalue λ2·σ² above <see cref="CarbonFibreSurvey.MinimumTubeResponse"/> of the void-to-electrolyte contrast
/// and |λ3| &lt; <see cref="CarbonFibreSurvey.MaximumAxialShare"/>·λ2 (a dark tube, Frangi et al. 1998). Voxels away from
/// fibres keep their labels.
/// </para>
/// <para>
/// On 16 finished runs of the family (64x192x224, re-segmented) this moved carbon Dice from 0.643 to 0.687 in the median
/// without touching void or contact loss (it never relabels void or active material, nor next to them) (`-- carbon`).
/// The segmentation stage does not pass a σ yet, so the pipeline's labels are without it: the Hessian of every slice
/// takes the segment step to ~3.5x its CPU (`-- memory segment 16,384,384`), beyond the 3x budget for the whole
/// segmentation, and the box search is a plain 5³ loop. Computing the Hessian only near the survey's tube cores and the
/// box as separable min/max passes come before wiring it in (SegmentChunkConsumer, the threshold variants, the segment
/// window's memory estimate: one slice's Hessian scratch per core and two bytes a voxel).
/// Each voxel's result depends on the input within <see cref="RequiredHaloSlices"/>: slabs read with that halo and
/// cropped give the whole volume's bytes.
/// </para>
/// </summary>
public static class FibreHalfDepth
{
    /// <summary>Box half-width searched for a fibre core and the dip's bottom: a fibre's radius under blur (2-6 voxels across).</summary>
    public const int NeighbourhoodVoxels = 2;

    /// <summary>Half the depth: the majority of the voxel's blurred content is carbon.</summary>
    public const double DepthShare = 0.5;

    /// <summary>Halo for a result exact on the owned voxels: the Hessian's kernel plus the box.</summary>
    public static int RequiredHaloSlices(double sigmaVoxels) => HessianEigenvalues.RadiusVoxels(sigmaVoxels) + NeighbourhoodVoxels;

    /// <summary>
    /// Labels with the fibres' carbon|electrolyte boundary moved to half depth.
    /// </summary>
    /// <param name="labels">Segmented labels (void, carbon, LPS, NMC).</param>
    /// <param name="intensity">The denoised grey levels the labels came from.</param>
    /// <param name="classMeans">Means of void, carbon, electrolyte and active material.</param>
    /// <param name="sigmaVoxels">The tube filter's σ (<see cref="CarbonFibreSurvey.TubeSigmaVoxels"/>).</param>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double[] classMeans, double sigmaVoxels)
    {
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        if (classMeans.Length != 4)
            throw new ArgumentException("four class means (void, carbon, electrolyte, active material) are needed", nameof(classMeans));
        if (labels.Length == 0 || !(classMeans[2] - classMeans[0] > 0)) return labels.Clone();
        return Apply(labels, intensity, classMeans, Cores(intensity, classMeans, sigmaVoxels, CarbonFibreSurvey.MinimumTubeResponse),
            NeighbourhoodVoxels, DepthShare);
    }

    /// <summary>
    /// Fibre cores: voxels whose Hessian (σ <paramref name="sigmaVoxels"/>) has a middle eigenvalue λ2·σ² above
    /// <paramref name="minimumResponseShare"/> of the void-to-electrolyte contrast and |λ3| &lt;
    /// <see cref="CarbonFibreSurvey.MaximumAxialShare"/>·λ2, the survey's dark-tube test.
    /// </summary>
    public static bool[] Cores(Volume<float> intensity, double[] classMeans, double sigmaVoxels, double minimumResponseShare)
    {
        var minimumResponse = (float)(minimumResponseShare * (classMeans[2] - classMeans[0]));
        var sliceLength = intensity.SliceLength;
        var core = new bool[intensity.Length];
        // One slice's Hessian scratch per core at most (the segmentation's memory budget counts one per core).
        var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        Parallel.For(0, intensity.Depth, options, z =>
        {
            var (_, middle, smallest) = HessianEigenvalues.OfSlice(intensity, z, sigmaVoxels);
            var offset = (long)z * sliceLength;
            for (var i = 0; i < sliceLength; i++)
                core[offset + i] = middle[i] > minimumResponse && Math.Abs(smallest[i]) < CarbonFibreSurvey.MaximumAxialShare * middle[i];
        });
        return core;
    }

    /// <summary>
    /// The rule with given fibre <paramref name="cores"/> (one per voxel), box half-width and depth share; the pipeline's
    /// values are <see cref="NeighbourhoodVoxels"/> and <see cref="DepthShare"/>, the carbon study varies them.
    /// </summary>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double[] classMeans, bool[] cores, int neighbourhoodVoxels,
        double depthShare)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var result = labels.Clone();
        var core = cores;
        var r = neighbourhoodVoxels;
        var electrolyteMean = classMeans[2];
        Parallel.For(0, depth, z =>
        {
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var i = ((long)z * height + y) * width + x;
                    var label = labels.Data[i];
                    if (label != PhaseLabel.Lps && label != PhaseLabel.Carbon) continue;
                    var nearCore = false;
                    var blocked = false;
                    var darkest = float.PositiveInfinity;
                    for (var zz = Math.Max(0, z - r); zz <= Math.Min(depth - 1, z + r) && !blocked; zz++)
                        for (var yy = Math.Max(0, y - r); yy <= Math.Min(height - 1, y + r) && !blocked; yy++)
                            for (var xx = Math.Max(0, x - r); xx <= Math.Min(width - 1, x + r); xx++)
                            {
                                var j = ((long)zz * height + yy) * width + xx;
                                var neighbour = labels.Data[j];
                                if (neighbour == PhaseLabel.Void || neighbour == PhaseLabel.Nmc) { blocked = true; break; }
                                nearCore |= core[j];
                                darkest = Math.Min(darkest, intensity.Data[j]);
                            }
                    if (blocked || !nearCore) continue;
                    var halfDepth = electrolyteMean - depthShare * (electrolyteMean - darkest);
                    result.Data[i] = intensity.Data[i] < halfDepth ? PhaseLabel.Carbon : PhaseLabel.Lps;
                }
        });
        return result;
    }
}
