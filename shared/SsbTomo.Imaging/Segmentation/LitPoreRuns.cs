namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Gives back to a pore the runs of voxels that strong shine-through lit into carbon's grey range from front to back.
/// The SEM sees into an open pore the solid behind it, more of it the closer that solid is (Prill et al. 2013, "Simulation
/// of FIB-SEM images for analysis of porous microstructures", Scanning 35:189): along the milling direction (+z, deeper) a
/// pore's column drops where the milling enters it and then brightens steadily towards its back wall. Where the pores
/// show more than about half their wall's contrast, no voxel of a small pore or of the slices next to its wall stays
/// below the void threshold, so <see cref="ShineThroughCorrection"/>, which grows from a void voxel, has nothing to start
/// from; the pore reads as a run of carbon. A carbon fibre crossed by a column is a dip too, but a flat or symmetric one:
/// blur rounds both its edges alike. So the shape along z tells them apart: the profile's asymmetry is what
/// <see cref="ShineThroughEstimate"/> measures over the whole stack, and this rule asks it of each run.
/// <para>
/// The rule, per (y, x) column, on a stack whose measured shine-through goes beyond what the midpoint rule recovers
/// (a positive correction, <see cref="ShineThroughEstimate.RecoveredByMidpoint"/>): a run of void- or carbon-labelled
/// voxels in front of a brighter voxel along z, its last <see cref="MaxRunSlices"/> voxels only (a lit pore's light
/// comes from within a few decay lengths of its wall), at least <see cref="MinRunSlices"/> long, whose darkest voxel lies
/// in its front half and below half-way from the void|carbon threshold to carbon's level, and whose grey rises over the
/// three voxels before the wall-adjacent one (that one is half wall under blur) by at least <see cref="RiseShare"/> of
/// the wall's contrast above void. Then the voxels from the darkest one to the wall become void, and those in front of it
/// that lie below half-way between the voxel in front of the run and the darkest one (the front's partial-volume edge).
/// </para>
/// <para>
/// Measured on finished family runs (the rule prototyped on the pipeline's labels, 2026-12-04): fresh seeds 301-318 at
/// 128x256x320 — void 303 −2.25 → −1.09, 308 −3.53 → −1.81, 310 −0.44 → +0.16, 315 −2.67 → −2.11, 318 −1.80 → −1.33 pp,
/// contact loss closer on each, carbon Dice up; the stacks under the gate unchanged. Seeds 1-24 at 64x192x224: 10 −0.98
/// → −0.23, 23 −1.34 → −0.43 pp; 3, 7, 8, 11, 18 move +0.2 to +0.3 pp.
/// </para>
/// <para>
/// A voxel's result depends on the labels and grey levels <see cref="ReachBeforeSlices"/> before and
/// <see cref="ReachAfterSlices"/> after it; columns are independent, so the result does not depend on threads or tiles.
/// </para>
/// </summary>
public static class LitPoreRuns
{
    /// <summary>How many voxels in front of its wall a run is judged on: shine-through decays over 1-10 slices.</summary>
    public const int MaxRunSlices = 12;

    /// <summary>The darkest voxel, then three rising voxels and the wall-adjacent one.</summary>
    public const int MinRunSlices = 5;

    /// <summary>
    /// Rise over the three voxels before the wall-adjacent one, as a share of the wall's grey above the void level: a
    /// pore lit at 0.3-0.6 of its wall's contrast with a decay of 3-10 slices rises by 0.15-0.3 of it from its darkest
    /// voxel; a flat fibre by its noise. A tuning, not physics: 0.1 and 0.2 move no family member (seeds 3-23 and 303-330
    /// tried) by more than 0.12 pp of void.
    /// </summary>
    public const double RiseShare = 0.15;

    /// <summary>Slices before a voxel whose labels and grey levels its result reads (the run's front voxel included).</summary>
    public const int ReachBeforeSlices = MaxRunSlices + 1;

    /// <summary>Slices after a voxel whose labels and grey levels its result reads (the run's wall included).</summary>
    public const int ReachAfterSlices = MaxRunSlices;

    /// <summary>What <see cref="ApplyInPlace"/> allocates per pixel of a slice: each column's run start.</summary>
    public const int ScratchBytesPerSlicePixel = sizeof(int);

    /// <summary>
    /// Relabels <paramref name="labels"/> in place (void, carbon, LPS, NMC by <see cref="PhaseLabel"/>) given the denoised
    /// <paramref name="intensity"/>: the void|carbon threshold, the class means (void, carbon, electrolyte, active material)
    /// and the stack's shine-through correction (the excess beyond <see cref="ShineThroughEstimate.RecoveredByMidpoint"/>;
    /// 0 leaves the labels as they are). Exact on the slices of <paramref name="exact"/> when the labels are exact from
    /// <see cref="ReachBeforeSlices"/> before it to <see cref="ReachAfterSlices"/> after it.
    /// </summary>
    public static void ApplyInPlace(Volume<byte> labels, Volume<float> intensity, double voidCarbonThreshold, double[] classMeans,
        double shineThroughCorrection, SliceSpan exact)
    {
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        if (classMeans.Length != 4)
            throw new ArgumentException("four class means (void, carbon, electrolyte, active material) are needed", nameof(classMeans));
        exact.CheckInside(labels.Depth, nameof(exact));
        if (!(shineThroughCorrection > 0) || exact.Length == 0 || labels.SliceLength == 0) return;
        var walk = exact.Grow(ReachBeforeSlices, ReachAfterSlices, labels.Depth);
        var judge = new RunJudge((float)classMeans[0], (float)(0.5 * (voidCarbonThreshold + classMeans[1])));
        var plane = labels.SliceLength;
        var blocks = Math.Min(plane, 4 * Environment.ProcessorCount);
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, b =>
            RelabelColumns(labels, intensity, (int)((long)plane * b / blocks), (int)((long)plane * (b + 1) / blocks), walk, judge));
    }

    private readonly record struct RunJudge(float VoidLevel, float DarkestCeiling);

    private static bool IsDark(byte label) => label == PhaseLabel.Void || label == PhaseLabel.Carbon;

    /// <summary>
    /// The rule on the columns [<paramref name="first"/>, <paramref name="end"/>), walking the slices of <paramref name="walk"/>
    /// in order: each dark run is judged when the walk reaches the voxel behind it. Relabelling turns carbon into void, so
    /// the runs the walk finds do not change.
    /// </summary>
    private static void RelabelColumns(Volume<byte> labels, Volume<float> intensity, int first, int end, SliceSpan walk, RunJudge judge)
    {
        var count = end - first;
        var runStart = new int[count];
        Array.Fill(runStart, -1);
        for (var z = walk.Start; z < walk.End; z++)
        {
            var slice = labels.Slice(z).Slice(first, count);
            for (var i = 0; i < count; i++)
            {
                if (IsDark(slice[i]))
                {
                    if (runStart[i] < 0) runStart[i] = z;
                    continue;
                }
                if (runStart[i] >= 0 && z - runStart[i] >= MinRunSlices)
                    JudgeRun(labels, intensity, first + i, runStart[i], z, judge);
                runStart[i] = -1;
            }
        }
    }

    /// <summary>The run [<paramref name="start"/>, <paramref name="wall"/>) of one column, its last <see cref="MaxRunSlices"/> voxels.</summary>
    private static void JudgeRun(Volume<byte> labels, Volume<float> intensity, int column, int start, int wall, RunJudge judge)
    {
        var from = Math.Max(start, wall - MaxRunSlices);
        var length = wall - from;
        // The front's edge needs the voxel in front of the run: a run that starts the volume has none.
        if (from == 0 || length < MinRunSlices) return;
        var plane = (long)labels.SliceLength;
        var grey = intensity.Data;
        float Grey(int z) => grey[z * plane + column];
        var wallGrey = Grey(wall);
        if (!(wallGrey > judge.VoidLevel)) return;
        var darkest = 0;
        for (var k = 1; k < length; k++)
            if (Grey(from + k) < Grey(from + darkest)) darkest = k;
        var bottom = Grey(from + darkest);
        if (darkest > length / 2 || !(bottom <= judge.DarkestCeiling)) return;
        // The rise over the three voxels before the wall-adjacent one, which is half wall under blur.
        float nearWall = Grey(wall - 2), before = Grey(wall - 3), earlier = Grey(wall - 4);
        if (!(nearWall >= before && before >= earlier)) return;
        if (!(nearWall - bottom >= RiseShare * (wallGrey - judge.VoidLevel))) return;
        var frontEdge = 0.5f * (Grey(from - 1) + bottom);
        var data = labels.Data;
        for (var k = 0; k < length; k++)
            if (k >= darkest || Grey(from + k) < frontEdge)
                data[(from + k) * plane + column] = PhaseLabel.Void;
    }
}
