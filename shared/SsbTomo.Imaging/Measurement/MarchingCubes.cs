namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Area of the marching-cubes iso-surface (Lorensen &amp; Cline 1987, "Marching cubes: a high resolution 3D surface
/// construction algorithm", SIGGRAPH '87, doi:10.1145/37401.37422) cube by cube, without building a mesh: only the
/// area is needed, so each cube's polygons are summed and dropped.
/// <para>
/// Written here because no maintained NuGet package triangulates a scalar volume (none is listed among the served
/// packages), and because streaming needs the cube-by-cube form: a layer of cubes needs two slices only.
/// </para>
/// <para>
/// The cube's polygons are derived from its 8 corner signs instead of a hand-copied 256-case table: on each face the
/// iso-line joins the two cut edges; a face with four cut edges (diagonal corners inside) is resolved by always
/// cutting off each outside corner (the inside corners stay joined across the face). The rule depends on the face's
/// corners only, so two cubes sharing a face agree and the surface is closed — the holes of the original table
/// (Dürst 1988, "Additional reference to marching cubes", Computer Graphics 22(2):72) cannot occur. Every cut edge lies
/// on exactly two faces, so the face segments link into closed loops; each loop is triangulated as a fan around its
/// vertex centroid (exact for planar loops, a symmetric choice for non-planar ones).
/// <para>
/// Two area rules share these loops. <see cref="CubeArea"/> (any field, vertices interpolated) fans each loop around its
/// vertex centroid: within 0.5 % of scikit-image on smooth fields, where no face is ambiguous in practice.
/// <see cref="BinaryAreaTable"/> (a binary indicator at 0.5, vertices at edge midpoints) follows what
/// skimage.measure.marching_cubes (Lewiner et al. 2003, "Efficient implementation of marching cubes' cases with
/// topological guarantees", J. Graphics Tools 8(2):1, doi:10.1080/10867651.2003.10487582; the MC33 case set of
/// Chernyaev 1995, CERN CN/95-17) does on such an indicator, so that its areas are comparable with TauFactor's and
/// PoreSpy's, which call skimage. On a binary indicator every face and interior test of MC33 sits exactly on its tie
/// (A·C − B·D = 0), and skimage's tie rule then (found by running it on all 254 single-cube configurations):
/// <list type="bullet">
/// <item>keeps the inside corners of every ambiguous face joined — the rule of the loops above;</item>
/// <item>adds a tunnel in two configurations only: three inside corners pairwise on a common face (MC33 case 7,
/// subcase 7.4.2) and three outside corners of which two share an edge (case 6 on the complement, subcase 6.1.2).
/// There the cube's two loops are joined by a band, triangulated here by the least-area stitching of the two loops
/// (Fuchs, Kedem &amp; Uselton 1977, "Optimal surface reconstruction from planar contours", Commun. ACM 20(10):693,
/// doi:10.1145/359842.359846);</item>
/// <item>triangulates each non-planar loop by a fan from one vertex (its case tables), which on these configurations is
/// the fan of largest area; this class takes that fan.</item>
/// </list>
/// Measured against skimage 0.19.3 on every configuration at unit spacing: equal (float32) except the seven-vertex loop
/// of case 6.2 (+1.9 %: skimage's strip is not a fan) and the 6.1.2 tunnel (−9.7 %: skimage routes it through a centre
/// vertex). With anisotropic spacing skimage's fan is fixed by its tables and this class takes the largest at that
/// spacing: single cubes differ by up to 6 % (mean 0.5 %), whole surfaces of four-phase cells by ≤ 0.3 %. On
/// TauFactor's electrode.tiff the per-phase areas are within 0.4 % of skimage's (tests).
/// </para>
/// Corner i of a cube at (z, y, x) is (z + (i &gt;&gt; 2 &amp; 1), y + (i &gt;&gt; 1 &amp; 1), x + (i &amp; 1)); the configuration's bit i is set
/// when corner i is inside.
/// </summary>
public static class MarchingCubes
{
    /// <summary>The 12 cube edges as corner pairs (corners differing in one bit, lower corner first).</summary>
    internal static readonly (int A, int B)[] Edges = BuildEdges();

    /// <summary>Per configuration, its closed loops as lists of edge indices (vertices lie on those edges).</summary>
    internal static readonly int[][][] Loops = BuildLoops();

    /// <summary>
    /// Area of the surface in one cube of a binary indicator (level halfway, so every vertex is an edge midpoint), per
    /// configuration, by skimage's rules on binary data (class summary), in the units of <paramref name="spacingZ"/>,
    /// <paramref name="spacingY"/>, <paramref name="spacingX"/>.
    /// </summary>
    public static double[] BinaryAreaTable(double spacingZ, double spacingY, double spacingX)
    {
        var table = new double[256];
        for (var config = 1; config < 255; config++)
        {
            var loops = Loops[config];
            var points = loops.Select(loop => loop.Select(e => Midpoint(e, spacingZ, spacingY, spacingX)).ToArray()).ToArray();
            if (HasTunnel(config))
                table[config] = LeastAreaBand(points[0], points[1]);
            else
                foreach (var loop in points) table[config] += LargestFanArea(loop);
        }
        return table;
    }

    /// <summary>
    /// Whether skimage joins the cube's two loops by a tunnel on a binary indicator: three inside corners pairwise
    /// face-diagonal (MC33 7.4.2), or three outside corners of which two share an edge and the third is face-diagonal
    /// to one of them and body-diagonal to the other (6.1.2 on the complement).
    /// </summary>
    internal static bool HasTunnel(int config)
    {
        var inside = System.Numerics.BitOperations.PopCount((uint)config);
        if (inside == 3) return PairDistances(config) == (0, 3, 0);
        if (inside == 5) return PairDistances(~config & 0xFF) == (1, 1, 1);
        return false;
    }

    /// <summary>How many pairs of the set's corners share an edge, a face diagonal, the body diagonal.</summary>
    private static (int Edge, int Face, int Body) PairDistances(int corners)
    {
        var (edge, face, body) = (0, 0, 0);
        for (var a = 0; a < 8; a++)
            for (var b = a + 1; b < 8; b++)
                if ((corners >> a & 1) != 0 && (corners >> b & 1) != 0)
                    switch (System.Numerics.BitOperations.PopCount((uint)(a ^ b)))
                    {
                        case 1: edge++; break;
                        case 2: face++; break;
                        default: body++; break;
                    }
        return (edge, face, body);
    }

    private static (double Z, double Y, double X) Midpoint(int edge, double spacingZ, double spacingY, double spacingX)
    {
        var (a, b) = Edges[edge];
        return (spacingZ * ((a >> 2 & 1) + (b >> 2 & 1)) / 2, spacingY * ((a >> 1 & 1) + (b >> 1 & 1)) / 2, spacingX * ((a & 1) + (b & 1)) / 2);
    }

    private static double Triangle((double Z, double Y, double X) a, (double Z, double Y, double X) b, (double Z, double Y, double X) c) =>
        TriangleArea(b.Z - a.Z, b.Y - a.Y, b.X - a.X, c.Z - a.Z, c.Y - a.Y, c.X - a.X);

    /// <summary>The largest area among the fans of the loop from each of its vertices.</summary>
    private static double LargestFanArea((double Z, double Y, double X)[] loop)
    {
        var n = loop.Length;
        var best = 0.0;
        for (var apex = 0; apex < n; apex++)
        {
            var area = 0.0;
            for (var k = 1; k + 1 < n; k++) area += Triangle(loop[apex], loop[(apex + k) % n], loop[(apex + k + 1) % n]);
            best = Math.Max(best, area);
        }
        return best;
    }

    /// <summary>
    /// The least area of a band of triangles between two closed loops, each triangle one edge of a loop and a vertex of the
    /// other (Fuchs et al. 1977: a shortest path in the toroidal graph of stitchings; both directions of the second loop
    /// and every vertex it may start at are tried).
    /// </summary>
    private static double LeastAreaBand((double Z, double Y, double X)[] a, (double Z, double Y, double X)[] b)
    {
        var (na, nb) = (a.Length, b.Length);
        var best = double.PositiveInfinity;
        var cost = new double[na + 1, nb + 1];
        foreach (var reversed in new[] { false, true })
            for (var start = 0; start < nb; start++)
            {
                (double Z, double Y, double X) B(int j) => b[reversed ? ((start - j) % nb + nb) % nb : (start + j) % nb];
                for (var i = 0; i <= na; i++)
                    for (var j = 0; j <= nb; j++)
                    {
                        if (i == 0 && j == 0) { cost[0, 0] = 0; continue; }
                        var c = double.PositiveInfinity;
                        if (i > 0) c = cost[i - 1, j] + Triangle(a[(i - 1) % na], a[i % na], B(j));
                        if (j > 0) c = Math.Min(c, cost[i, j - 1] + Triangle(a[i % na], B(j - 1), B(j)));
                        cost[i, j] = c;
                    }
                best = Math.Min(best, cost[na, nb]);
            }
        return best;
    }

    /// <summary>
    /// Area of the iso-surface at <paramref name="level"/> inside one cube whose corner values are
    /// <paramref name="values"/> (corner order as in the class summary; inside = value &gt; level), vertices placed by
    /// linear interpolation along the cut edges.
    /// </summary>
    [System.Runtime.CompilerServices.SkipLocalsInit]
    public static double CubeArea(int config, ReadOnlySpan<double> values, double level, double spacingZ, double spacingY, double spacingX)
    {
        var area = 0.0;
        Span<double> vz = stackalloc double[12], vy = stackalloc double[12], vx = stackalloc double[12];
        foreach (var loop in Loops[config])
        {
            double cz = 0, cy = 0, cx = 0;
            for (var k = 0; k < loop.Length; k++)
            {
                // Corner a is the edge's lower end; b differs from it along one axis only.
                var (a, b) = Edges[loop[k]];
                var t = (level - values[a]) / (values[b] - values[a]);
                var axis = b ^ a;
                vz[k] = spacingZ * ((a >> 2 & 1) + (axis == 4 ? t : 0));
                vy[k] = spacingY * ((a >> 1 & 1) + (axis == 2 ? t : 0));
                vx[k] = spacingX * ((a & 1) + (axis == 1 ? t : 0));
                cz += vz[k];
                cy += vy[k];
                cx += vx[k];
            }
            var inverse = 1.0 / loop.Length;
            (cz, cy, cx) = (cz * inverse, cy * inverse, cx * inverse);
            for (var k = 0; k < loop.Length; k++)
            {
                var n = k + 1 == loop.Length ? 0 : k + 1;
                area += TriangleArea(vz[k] - cz, vy[k] - cy, vx[k] - cx, vz[n] - cz, vy[n] - cy, vx[n] - cx);
            }
        }
        return area;
    }

    private static double TriangleArea(double az, double ay, double ax, double bz, double by, double bx)
    {
        var cz = ay * bx - ax * by;
        var cy = ax * bz - az * bx;
        var cx = az * by - ay * bz;
        return 0.5 * Math.Sqrt(cz * cz + cy * cy + cx * cx);
    }

    private static (int, int)[] BuildEdges()
    {
        var edges = new List<(int, int)>();
        for (var a = 0; a < 8; a++)
            for (var bit = 0; bit < 3; bit++)
                if ((a >> bit & 1) == 0) edges.Add((a, a | 1 << bit));
        return [.. edges];
    }

    private static int EdgeIndex(int a, int b)
    {
        if (a > b) (a, b) = (b, a);
        return Array.IndexOf(Edges, (a, b));
    }

    /// <summary>The 6 faces, each as its 4 corners in cyclic order.</summary>
    private static int[][] Faces()
    {
        var faces = new List<int[]>();
        for (var axis = 0; axis < 3; axis++)
        {
            var (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
            for (var side = 0; side < 2; side++)
            {
                var b = side << axis;
                faces.Add([b, b | 1 << u, b | 1 << u | 1 << v, b | 1 << v]);
            }
        }
        return [.. faces];
    }

    private static int[][][] BuildLoops()
    {
        var faces = Faces();
        var loops = new int[256][][];
        for (var config = 0; config < 256; config++)
        {
            bool Inside(int corner) => (config >> corner & 1) != 0;
            var neighbours = new List<int>[12];
            for (var e = 0; e < 12; e++) neighbours[e] = [];
            void Segment(int e1, int e2)
            {
                neighbours[e1].Add(e2);
                neighbours[e2].Add(e1);
            }
            foreach (var f in faces)
            {
                var cut = new List<int>(); // edge k of the face joins corners k and k+1
                for (var k = 0; k < 4; k++)
                    if (Inside(f[k]) != Inside(f[(k + 1) % 4])) cut.Add(k);
                if (cut.Count == 2) Segment(EdgeIndex(f[cut[0]], f[(cut[0] + 1) % 4]), EdgeIndex(f[cut[1]], f[(cut[1] + 1) % 4]));
                else if (cut.Count == 4)
                {
                    // Cut off each outside corner k: its two face edges (k-1, k) and (k, k+1).
                    for (var k = 0; k < 4; k++)
                        if (!Inside(f[k]))
                            Segment(EdgeIndex(f[(k + 3) % 4], f[k]), EdgeIndex(f[k], f[(k + 1) % 4]));
                }
            }
            var seen = new bool[12];
            var list = new List<int[]>();
            for (var start = 0; start < 12; start++)
            {
                if (seen[start] || neighbours[start].Count == 0) continue;
                if (neighbours[start].Count != 2) throw new InvalidOperationException($"configuration {config}: edge {start} has {neighbours[start].Count} segments");
                var loop = new List<int> { start };
                seen[start] = true;
                var (previous, current) = (start, neighbours[start][0]);
                while (current != start)
                {
                    loop.Add(current);
                    seen[current] = true;
                    var next = neighbours[current][0] == previous ? neighbours[current][1] : neighbours[current][0];
                    (previous, current) = (current, next);
                }
                list.Add([.. loop]);
            }
            loops[config] = [.. list];
        }
        return loops;
    }
}
