namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Voxel count, first and second coordinate sums (voxel indices, z from the stack's first slice) and bounding box of
/// one component. Integer sums add exactly, so moments of the pieces of a component cut by slab borders merge into the
/// whole component's moments whatever the cut.
/// </summary>
public readonly record struct ComponentMoments(
    long Count, long Sz, long Sy, long Sx, long Szz, long Syy, long Sxx, long Szy, long Szx, long Syx,
    int MinZ, int MaxZ, int MinY, int MaxY, int MinX, int MaxX)
{
    public static readonly ComponentMoments Empty = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, int.MaxValue, int.MinValue, int.MaxValue, int.MinValue, int.MaxValue, int.MinValue);

    internal static long SumOfSquares(long k) => k * (k + 1) * (2 * k + 1) / 6; // 0² + 1² + … + k², 0 for k = −1

    public ComponentMoments Merge(ComponentMoments o) => new(
        Count + o.Count, Sz + o.Sz, Sy + o.Sy, Sx + o.Sx, Szz + o.Szz, Syy + o.Syy, Sxx + o.Sxx, Szy + o.Szy, Szx + o.Szx, Syx + o.Syx,
        Math.Min(MinZ, o.MinZ), Math.Max(MaxZ, o.MaxZ), Math.Min(MinY, o.MinY), Math.Max(MaxY, o.MaxY), Math.Min(MinX, o.MinX), Math.Max(MaxX, o.MaxX));

    /// <summary>The same component with z counted from <paramref name="offset"/> slices earlier.</summary>
    public ComponentMoments ShiftZ(int offset) => Count == 0 ? this : this with
    {
        Sz = Sz + offset * Count,
        Szz = Szz + 2L * offset * Sz + (long)offset * offset * Count,
        Szy = Szy + offset * Sy,
        Szx = Szx + offset * Sx,
        MinZ = MinZ + offset,
        MaxZ = MaxZ + offset,
    };

    /// <summary>
    /// Covariance (µm², z/y/x order) of the component as a union of solid voxel boxes: the covariance of the voxel
    /// centres plus each box's own variance s²/12 along each axis. The box term keeps a one-voxel-thick sheet from
    /// scoring as infinitely thin and a single voxel as a point. Centre sums are exact integers, so the centred
    /// products n·S_ij − S_i·S_j are exact (128-bit) before the one division.
    /// </summary>
    public double[,] CovarianceUm2(VoxelSize voxelSize)
    {
        if (Count == 0) throw new InvalidOperationException("an empty component has no covariance");
        double[] s = [voxelSize.ZNm / 1000, voxelSize.YNm / 1000, voxelSize.XNm / 1000];
        long[] first = [Sz, Sy, Sx];
        long[,] second = { { Szz, Szy, Szx }, { Szy, Syy, Syx }, { Szx, Syx, Sxx } };
        var n = (Int128)Count;
        var c = new double[3, 3];
        for (var i = 0; i < 3; i++)
            for (var j = 0; j < 3; j++)
            {
                var centred = n * second[i, j] - (Int128)first[i] * first[j];
                c[i, j] = (double)centred / ((double)Count * Count) * s[i] * s[j] + (i == j ? s[i] * s[i] / 12 : 0);
            }
        return c;
    }
}

/// <summary>Shape and position of one component, in µm.</summary>
/// <param name="AxesUm">Full axis lengths L ≥ I ≥ S of the ellipsoid with the same second moments (2·√(5λ)).</param>
/// <param name="Flatness">1 − S/I = 1 − √(λ3/λ2): 0 for a ball or a rod, towards 1 for a sheet (a crack).</param>
/// <param name="Elongation">1 − I/L = 1 − √(λ2/λ1): 0 for a ball or a disc, towards 1 for a needle.</param>
/// <param name="FlakeLike">S/I &lt; 2/3 (Zingg's disc and blade classes) and at least <see cref="ComponentShapes.MinShapeVoxels"/> voxels.</param>
/// <param name="Percolates">Touches both opposite faces of the volume along z, y, x.</param>
public sealed record ComponentShape(
    long Voxels, double VolumeUm3, double EquivalentDiameterUm, double[] CentroidUm, double[] AxesUm,
    double Flatness, double Elongation, bool FlakeLike, bool[] Percolates);

/// <summary>
/// Component shape from its moments. Principal axes are the eigenvalues λ1 ≥ λ2 ≥ λ3 of the covariance of the
/// component's voxels in µm (<see cref="ComponentMoments.CovarianceUm2"/>); their square roots are proportional to the
/// axes of the equivalent ellipsoid. Axis ratios S/I and I/L classify shape as Zingg (1935, "Beitrag zur
/// Schotteranalyse", Schweiz. Mineral. Petrogr. Mitt. 15:39) with his 2/3 limits; Blott &amp; Pye (2008, Sedimentology
/// 55:31, doi:10.1111/j.1365-3091.2007.00892.x) review these ratios. A crack (thin, wide) has S ≪ I: flatness near 1; a
/// round pore has S ≈ I ≈ L: flatness and elongation near 0.
/// </summary>
public static class ComponentShapes
{
    /// <summary>Components smaller than 3x3x3 voxels are not classed as flake-like: their axes are the voxels' own.</summary>
    public const long MinShapeVoxels = 27;

    public static ComponentShape Describe(ComponentMoments m, VoxelSize voxelSize, int depth, int height, int width)
    {
        var voxelUm3 = voxelSize.VoxelVolumeNm3 * 1e-9;
        var volume = m.Count * voxelUm3;
        var (l1, l2, l3) = SymmetricEigenvalues(m.CovarianceUm2(voxelSize));
        double Axis(double l) => 2 * Math.Sqrt(5 * Math.Max(0, l));
        var flatness = l2 <= 0 ? 0 : 1 - Math.Sqrt(Math.Max(0, l3) / l2);
        var elongation = l1 <= 0 ? 0 : 1 - Math.Sqrt(Math.Max(0, l2) / l1);
        return new ComponentShape(
            m.Count, volume, Math.Cbrt(6 * volume / Math.PI),
            [m.Sz / (double)m.Count * voxelSize.ZNm / 1000, m.Sy / (double)m.Count * voxelSize.YNm / 1000, m.Sx / (double)m.Count * voxelSize.XNm / 1000],
            [Axis(l1), Axis(l2), Axis(l3)],
            flatness, elongation, m.Count >= MinShapeVoxels && flatness > 1.0 / 3,
            [m.MinZ == 0 && m.MaxZ == depth - 1, m.MinY == 0 && m.MaxY == height - 1, m.MinX == 0 && m.MaxX == width - 1]);
    }

    /// <summary>
    /// Eigenvalues of a symmetric 3x3 matrix, largest first, in closed form (Smith 1961, "Eigenvalues of a symmetric
    /// 3 × 3 matrix", Commun. ACM 4(4):168, doi:10.1145/355578.366316).
    /// </summary>
    public static (double L1, double L2, double L3) SymmetricEigenvalues(double[,] a)
    {
        var offDiagonal = a[0, 1] * a[0, 1] + a[0, 2] * a[0, 2] + a[1, 2] * a[1, 2];
        var q = (a[0, 0] + a[1, 1] + a[2, 2]) / 3;
        var p2 = Sq(a[0, 0] - q) + Sq(a[1, 1] - q) + Sq(a[2, 2] - q) + 2 * offDiagonal;
        if (p2 <= 1e-30 * Math.Max(1, q * q))
            return (q, q, q);
        var p = Math.Sqrt(p2 / 6);
        // B = (A − qI) / p; r = det(B) / 2 lies in [−1, 1] up to rounding.
        double b00 = (a[0, 0] - q) / p, b11 = (a[1, 1] - q) / p, b22 = (a[2, 2] - q) / p, b01 = a[0, 1] / p, b02 = a[0, 2] / p, b12 = a[1, 2] / p;
        var r = (b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02) + b02 * (b01 * b12 - b11 * b02)) / 2;
        var phi = Math.Acos(Math.Clamp(r, -1, 1)) / 3;
        var l1 = q + 2 * p * Math.Cos(phi);
        var l3 = q + 2 * p * Math.Cos(phi + 2 * Math.PI / 3);
        return (l1, 3 * q - l1 - l3, l3);
    }

    private static double Sq(double x) => x * x;
}
