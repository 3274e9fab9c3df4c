using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Reference;

/// <summary>
/// The shine-through correction as one sequential pass over the plane, slice after slice (the code before its columns
/// ran in parallel blocks, commit 19e61fc): the reference the parallel one must equal byte for byte.
/// </summary>
internal static class ShineThroughCorrectionReference
{
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double voidMean, IReadOnlyList<double> excessPerDistance,
        double solidLevel, double ceiling, byte voidLabel, params byte[] intermediateLabels)
    {
        if (excessPerDistance.Count == 0 || excessPerDistance.Any(e => !(e >= 0 && e <= ShineThroughEstimate.MaximumExcess)))
            throw new ArgumentOutOfRangeException(nameof(excessPerDistance), $"needs at least one excess, each in [0, {ShineThroughEstimate.MaximumExcess}]");
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        var result = labels.Clone();
        var (depth, plane) = (labels.Depth, labels.SliceLength);
        if (depth < 2) return result;
        var intermediate = new bool[256];
        foreach (var label in intermediateLabels) intermediate[label] = true;

        // Run length behind the nearest original void voxel along z: 0 on void, k on the k-th voxel given back, -1 otherwise.
        var runBefore = new int[plane];
        var runHere = new int[plane];
        var first = labels.Slice(0);
        for (var i = 0; i < plane; i++) runBefore[i] = first[i] == voidLabel ? 0 : -1;
        var wall = new float[plane];
        var firstSolid = new int[plane];
        var voidLevel = (float)voidMean;
        var solid = (float)Math.Min(solidLevel, float.MaxValue);
        var top = (float)Math.Min(ceiling, float.MaxValue);
        var shares = new float[ShineThroughCorrection.LookAheadSlices + 1];
        for (var d = 0; d < shares.Length; d++) shares[d] = (float)(0.5 + excessPerDistance[Math.Min(d, excessPerDistance.Count - 1)]);
        for (var z = 1; z < depth; z++)
        {
            var lastAhead = Math.Min(depth - 1, z + ShineThroughCorrection.LookAheadSlices);
            Array.Fill(wall, float.NegativeInfinity);
            Array.Fill(firstSolid, ShineThroughCorrection.LookAheadSlices);
            for (var ahead = lastAhead; ahead > z; ahead--)
            {
                var slice = intensity.Slice(ahead);
                for (var i = 0; i < plane; i++)
                {
                    if (slice[i] > wall[i]) wall[i] = slice[i];
                    if (slice[i] >= solid) firstSolid[i] = ahead - z - 1;
                }
            }
            var source = labels.Slice(z);
            var target = result.Slice(z);
            var here = intensity.Slice(z);
            var front = intensity.Slice(z - 1);
            for (var i = 0; i < plane; i++)
            {
                var label = source[i];
                var run = runBefore[i];
                if (intermediate[label] && run >= 0 && run < ShineThroughCorrection.MaxRunSlices && here[i] >= front[i] && here[i] < voidLevel + shares[firstSolid[i]] * (wall[i] - voidLevel) && here[i] < top)
                {
                    target[i] = voidLabel;
                    runHere[i] = run + 1;
                }
                else runHere[i] = label == voidLabel ? 0 : -1;
            }
            (runBefore, runHere) = (runHere, runBefore);
        }
        return result;
    }
}
