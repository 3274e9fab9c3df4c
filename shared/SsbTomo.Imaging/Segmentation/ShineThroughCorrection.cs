using System.Numerics;
using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Gives back to a pore the voxels that shine-through made look solid. The SEM sees into an open pore: a pore voxel
/// shows part of the contrast of the first solid behind it, more the closer that solid is (Prill et al. 2013,
/// "Simulation of FIB-SEM images for analysis of porous microstructures", Scanning 35:189; the "last occurrence" idea
/// of Salzer et al. 2012, Materials Characterization 69:115). Along the milling direction (+z, deeper) a pore's column
/// therefore brightens towards its back wall, and its last slices can read as carbon or electrolyte. The rule, per
/// (y, x) column: a voxel of an intermediate class (carbon or electrolyte) directly behind a void voxel along z (the
/// original void, or one this rule gave back, at most <see cref="MaxRunSlices"/> in a row) becomes void when it is
/// not darker than that voxel (the pore brightens towards its wall; a solid does not) and lies below the midpoint
/// between the void mean and the brightest voxel within <see cref="LookAheadSlices"/> behind it (the wall), raised by
/// the stack's measured shine-through excess (<see cref="ShineThroughEstimate"/>): the partial-volume midpoint along z,
/// which also places a z-blurred back wall where it is, judged as if the pore voxel did not show its wall. Without a
/// measured excess (0) the rule recovers shine-through of up to half the contrast of the wall, and leaves the back
/// walls of stacks without shine-through where they are (a fixed higher point would not: tried, +0.4-1.0 pp void).
/// <para>
/// Measured on finished family runs (`-- cleanup`): strong shine-through members 10, 23, 24 void −2.4/−2.3/−1.9 →
/// −1.2/−1.5/−1.4 pp; members without much shine-through move by −0.15 to +0.45 pp. Raised by the measured excess
/// (prototype on the same finished runs): 10, 23, 24 −1.33/−1.56/−1.45 → −0.40/−0.84/−1.12 pp, the others within
/// 0.1 pp of before (at most +0.25 pp). A voxel's result depends on the clean-up's labels within
/// <see cref="MaxRunSlices"/> before and <see cref="LookAheadSlices"/> after it.
/// </para>
/// </summary>
public static class ShineThroughCorrection
{
    /// <summary>How far behind a voxel the wall is looked for (shine-through decays over 1-10 slices).</summary>
    public const int LookAheadSlices = 8;

    /// <summary>Longest run of voxels given back behind one original void voxel.</summary>
    public const int MaxRunSlices = 8;

    public static int RequiredHaloSlices => Math.Max(LookAheadSlices, MaxRunSlices);

    /// <summary>What <see cref="Apply(Volume{byte}, Volume{float}, double, IReadOnlyList{double}, double, double, byte, byte[])"/>
    /// allocates per pixel of a slice beside its result: the run lengths before and at the slice, ints.</summary>
    public const int ScratchBytesPerSlicePixel = 2 * sizeof(int);

    /// <summary>
    /// Corrected copy of <paramref name="labels"/> (z = milling direction, deeper with z) given the denoised
    /// <paramref name="intensity"/>, the void class mean and the stack's shine-through excess (0-<see cref="ShineThroughEstimate.MaximumExcess"/>).
    /// Only <paramref name="intermediateLabels"/> can become <paramref name="voidLabel"/>.
    /// </summary>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double voidMean, double shineThroughExcess, byte voidLabel,
        params byte[] intermediateLabels) =>
        Apply(labels, intensity, voidMean, [shineThroughExcess], double.PositiveInfinity, voidLabel, intermediateLabels);

    /// <summary>
    /// As above with the excess per distance from the back wall: a voxel whose first voxel at or above
    /// <paramref name="solidLevel"/> lies d + 1 slices behind it is judged with <paramref name="excessPerDistance"/>[d]
    /// (the last entry beyond the list, and where no such voxel lies within <see cref="LookAheadSlices"/>).
    /// </summary>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double voidMean, IReadOnlyList<double> excessPerDistance,
        double solidLevel, byte voidLabel, params byte[] intermediateLabels) =>
        Apply(labels, intensity, voidMean, excessPerDistance, solidLevel, double.PositiveInfinity, voidLabel, intermediateLabels);

    /// <summary>
    /// As above; a voxel at or above <paramref name="ceiling"/> is never given back. The pipeline passes the
    /// electrolyte's class mean: where a pore's column meets electrolyte and active material lies a few slices behind
    /// it, the wall the rule sees is the active material, whose void-to-wall midpoint can lie above the electrolyte's
    /// own level when active material is much brighter than electrolyte (family member 3: 2.3 times the void-to-LPS
    /// contrast). The electrolyte in front of it was then given to the pore, and the pore touched the particle: contact
    /// loss +4.5 pp, void +0.4 pp. A pore voxel lit above the electrolyte's mean is left solid, which the strongest
    /// shine-through members pay for (family 24 void −1.45 → −1.50 pp). Measured on 16 finished family runs with
    /// `-- cleanup`: void within ±0.5 pp 56 → 69 %, within ±1.5 pp 100 % before and after; member 3 void +0.40 → +0.09 pp
    /// and contact loss +4.45 → +3.28 pp, member 8 void +0.53 → +0.36 pp.
    /// </summary>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double voidMean, IReadOnlyList<double> excessPerDistance,
        double solidLevel, double ceiling, byte voidLabel, params byte[] intermediateLabels) =>
        Apply(labels, intensity, voidMean, excessPerDistance, solidLevel, ceiling, SliceSpan.All(labels.Depth), voidLabel, intermediateLabels);

    /// <summary>
    /// As above on the slices of <paramref name="exact"/> alone: the walk along each column starts
    /// <see cref="MaxRunSlices"/> slices before the span (a run given back before that has ended by the span's first
    /// slice, so the walks agree from there) and stops at its end; slices outside the span keep <paramref name="labels"/>
    /// or hold the walk's first steps, which are not exact. Within the span the bytes are those of a walk over every slice.
    /// </summary>
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double voidMean, IReadOnlyList<double> excessPerDistance,
        double solidLevel, double ceiling, SliceSpan exact, byte voidLabel, params byte[] intermediateLabels)
    {
        if (excessPerDistance.Count == 0 || excessPerDistance.Any(e => !(e >= 0 && e <= ShineThroughEstimate.MaximumExcess)))
            throw new ArgumentOutOfRangeException(nameof(excessPerDistance), $"needs at least one excess, each in [0, {ShineThroughEstimate.MaximumExcess}]");
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        exact.CheckInside(labels.Depth, nameof(exact));
        var result = labels.Clone();
        var (depth, plane) = (labels.Depth, labels.SliceLength);
        if (depth < 2 || plane == 0 || exact.Length == 0) return result;
        var (walkStart, walkEnd) = (Math.Max(0, exact.Start - MaxRunSlices), exact.End);
        var intermediate = new bool[256];
        foreach (var label in intermediateLabels) intermediate[label] = true;
        var voidLevel = (float)voidMean;
        var solid = (float)Math.Min(solidLevel, float.MaxValue);
        var top = (float)Math.Min(ceiling, float.MaxValue);
        var shares = new float[LookAheadSlices + 1];
        for (var d = 0; d < shares.Length; d++) shares[d] = (float)(0.5 + excessPerDistance[Math.Min(d, excessPerDistance.Count - 1)]);
        // Each (y, x) column is corrected on its own, so blocks of columns run in parallel and give the same bytes as one
        // pass over the plane (ShineThroughCorrectionTests compares with that pass).
        var blocks = Math.Min(plane, 4 * Environment.ProcessorCount);
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, b =>
            CorrectColumns(labels, intensity, result, (int)((long)plane * b / blocks), (int)((long)plane * (b + 1) / blocks), walkStart, walkEnd,
                voidLevel, solid, top, shares, voidLabel, intermediate));
        return result;
    }

    /// <summary>
    /// The rule on the columns [<paramref name="first"/>, <paramref name="end"/>) of the plane, walking the slices from
    /// <paramref name="walkStart"/> (its runs start there) to before <paramref name="walkEnd"/>. The wall (the
    /// brightest voxel behind) and the first solid voxel behind are looked up only for the voxels that pass the rule's other
    /// tests (a few per cent: intermediate voxels right behind a pore's run that do not darken), in the same slices in the
    /// same order as a pass over the whole plane would.
    /// </summary>
    private static void CorrectColumns(Volume<byte> labels, Volume<float> intensity, Volume<byte> result, int first, int end, int walkStart, int walkEnd,
        float voidLevel, float solid, float top, float[] shares, byte voidLabel, bool[] intermediate)
    {
        var (depth, count, plane) = (labels.Depth, end - first, labels.SliceLength);
        // Run length behind the nearest original void voxel along z: 0 on void, k on the k-th voxel given back, -1 otherwise.
        var runBefore = new sbyte[count];
        var runHere = new sbyte[count];
        var firstSlice = labels.Slice(walkStart).Slice(first, count);
        for (var i = 0; i < count; i++) runBefore[i] = firstSlice[i] == voidLabel ? (sbyte)0 : (sbyte)-1;
        var grey = intensity.Data;
        for (var z = walkStart + 1; z < walkEnd; z++)
        {
            var lastAhead = Math.Min(depth - 1, z + LookAheadSlices);
            var source = labels.Slice(z).Slice(first, count);
            // 32 columns at a time, each first as if nothing were given back (0 on void, -1 elsewhere); only the columns with a
            // run that may go on (a few behind each pore) are tested one by one.
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var (voidLabels, none, longest) = (Vector256.Create(voidLabel), Vector256.Create((sbyte)-1), Vector256.Create((sbyte)MaxRunSlices));
                for (; i + Vector256<byte>.Count <= count; i += Vector256<byte>.Count)
                {
                    var run = Vector256.Create((ReadOnlySpan<sbyte>)runBefore.AsSpan(i, Vector256<sbyte>.Count));
                    (~Vector256.Equals(Vector256.Create(source.Slice(i, Vector256<byte>.Count)), voidLabels)).AsSByte().CopyTo(runHere.AsSpan(i));
                    for (var going = (Vector256.GreaterThan(run, none) & Vector256.LessThan(run, longest)).ExtractMostSignificantBits(); going != 0; going &= going - 1)
                        Continue(i + BitOperations.TrailingZeroCount(going));
                }
            }
            for (; i < count; i++)
            {
                runHere[i] = source[i] == voidLabel ? (sbyte)0 : (sbyte)-1;
                Continue(i);
            }
            (runBefore, runHere) = (runHere, runBefore);

            // Column i, its default already in runHere: a voxel of an intermediate class right behind a run shorter than the
            // longest, brightening, below the top and the midpoint to its wall, is given back to the pore.
            void Continue(int i)
            {
                var run = runBefore[i];
                var (at, inFront) = ((long)z * plane + first + i, (long)(z - 1) * plane + first + i);
                var value = grey[at];
                if (intermediate[labels.Data[at]] && run >= 0 && run < MaxRunSlices && value >= grey[inFront] && value < top && value < Midpoint(first + i, z))
                {
                    result.Data[at] = voidLabel;
                    runHere[i] = (sbyte)(run + 1);
                }
            }

            // The void level raised towards the brightest voxel within the look-ahead behind (z, column), by the share at
            // the distance of the first solid voxel there.
            float Midpoint(int column, int z)
            {
                var wall = float.NegativeInfinity;
                var firstSolid = LookAheadSlices;
                for (var ahead = lastAhead; ahead > z; ahead--)
                {
                    var value = grey[(long)ahead * plane + column];
                    if (value > wall) wall = value;
                    if (value >= solid) firstSolid = ahead - z - 1;
                }
                return voidLevel + shares[firstSolid] * (wall - voidLevel);
            }
        }
    }
}
