namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Puts a pore's boundary half-way between the pore's own darkest grey and its wall's, not half-way between the class
/// means. A blurred object's iso-surface at the midpoint of the full contrast lies inside it wherever the object is
/// small or curved: the point-spread function lends every pore voxel light from the walls around it, more the smaller
/// the pore (a blurred ball's half-contrast surface moves in by about σ²/r), and a pore lit from behind never reaches
/// the void class mean at all. The half-way point of the object's own depth is the classic remedy for the size of
/// blurred objects (the full width at half maximum; Prewitt &amp; Mendelsohn 1966, "The analysis of cell images", Ann.
/// N. Y. Acad. Sci. 128:1035, for the threshold at half the local contrast). Measured on the fresh family seeds 301-330
/// at 128x256x320 (finished runs, benchmark <c>cleanup</c>): the void of the runs' labels misses 46-63 % of the pores'
/// outer voxel layer on the members that read void 1.8-4.0 pp low, and 2-28 % of the layer beneath.
/// <para>
/// The rule, one pass over the recipe's labels: a carbon or electrolyte voxel that faces a void voxel (6-neighbours)
/// becomes void when its grey is below the midpoint between the darkest void voxel within <see cref="ReachVoxels"/>
/// (Chebyshev, in 3D) and its own class mean. A pore that reaches the void level keeps the class-mean midpoint; a fibre
/// beside a pore keeps its voxels above half-way from the pore's floor to carbon's level. Voxels next to the active
/// material are bright with its light and do not pass, so contact loss stays as the recipe leaves it. Each voxel's
/// result depends on the labels and grey levels within <see cref="ReachVoxels"/> of it: pass windows with that much
/// more halo than the steps before need, in z and in y and x.
/// </para>
/// </summary>
public static class PoreOwnMidpoint
{
    /// <summary>How far the pore's darkest voxel is looked for: a pore's floor is a voxel or two in from its rim.</summary>
    public const int ReachVoxels = 2;

    /// <summary>
    /// Applies the rule to the slices of <paramref name="exact"/> of <paramref name="labels"/> in place (every decision
    /// reads the labels as they were before the pass). <paramref name="classMeans"/>: void, carbon, electrolyte, active
    /// material on the grey scale of <paramref name="intensity"/>. Returns the number of voxels given to the pores.
    /// </summary>
    public static long ApplyInPlace(Volume<byte> labels, Volume<float> intensity, double[] classMeans, SliceSpan exact)
    {
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity differ in shape", nameof(intensity));
        if (classMeans.Length != 4)
            throw new ArgumentException("four class means (void, carbon, electrolyte, active material) are needed", nameof(classMeans));
        exact.CheckInside(labels.Depth, nameof(exact));
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var plane = (long)height * width;
        var (carbonMean, electrolyteMean) = (classMeans[1], classMeans[2]);
        var changes = new List<long>[exact.Length];
        Parallel.For(0, exact.Length, s =>
        {
            var z = exact.Start + s;
            var found = new List<long>();
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var k = z * plane + (long)y * width + x;
                    var label = labels.Data[k];
                    if (label is not (PhaseLabel.Carbon or PhaseLabel.Lps)) continue;
                    var facesVoid = (x > 0 && labels.Data[k - 1] == PhaseLabel.Void) || (x + 1 < width && labels.Data[k + 1] == PhaseLabel.Void)
                        || (y > 0 && labels.Data[k - width] == PhaseLabel.Void) || (y + 1 < height && labels.Data[k + width] == PhaseLabel.Void)
                        || (z > 0 && labels.Data[k - plane] == PhaseLabel.Void) || (z + 1 < depth && labels.Data[k + plane] == PhaseLabel.Void);
                    if (!facesVoid) continue;
                    var floor = float.PositiveInfinity;
                    for (var a = Math.Max(0, z - ReachVoxels); a <= Math.Min(depth - 1, z + ReachVoxels); a++)
                        for (var b = Math.Max(0, y - ReachVoxels); b <= Math.Min(height - 1, y + ReachVoxels); b++)
                        {
                            var row = a * plane + (long)b * width;
                            for (var c = Math.Max(0, x - ReachVoxels); c <= Math.Min(width - 1, x + ReachVoxels); c++)
                                if (labels.Data[row + c] == PhaseLabel.Void && intensity.Data[row + c] < floor) floor = intensity.Data[row + c];
                        }
                    var own = label == PhaseLabel.Carbon ? carbonMean : electrolyteMean;
                    if (intensity.Data[k] < 0.5 * (floor + own)) found.Add(k);
                }
            changes[s] = found;
        });
        long given = 0;
        foreach (var list in changes)
        {
            foreach (var k in list) labels.Data[k] = PhaseLabel.Void;
            given += list.Count;
        }
        return given;
    }
}
