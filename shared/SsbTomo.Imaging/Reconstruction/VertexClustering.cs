namespace SsbTomo.Imaging.Reconstruction;

/// <summary>
/// Decimation by vertex clustering with quadric error metrics, streamed: Lindstrom 2000, "Out-of-core simplification of
/// large polygonal models", SIGGRAPH 2000, doi:10.1145/344779.344912 (vertex clustering after Rossignac &amp; Borrel 1993;
/// the quadrics of Garland &amp; Heckbert 1997, "Surface simplification using quadric error metrics", SIGGRAPH '97,
/// doi:10.1145/258734.258849). Space is cut into cubic cells; every vertex in a cell becomes the cell's one vertex, placed
/// where the summed squared distance to the planes of the cell's triangles (area-weighted) is least; a triangle survives
/// when its three vertices fall in three cells. It needs one pass over the triangles and memory for the output only, so
/// a mesh larger than memory is decimated as its slabs arrive.
/// <para>
/// The target is met by coarsening: the cells start one voxel wide; whenever a cube layer leaves more cells than the
/// target allows (about two triangles per vertex on a closed surface), each 2×2×2 block of cells becomes one. Quadrics
/// add, and a coarse cell holds exactly the vertices of its eight fine ones, so this equals clustering at the coarse size
/// from the start. Unlike edge collapse (Garland &amp; Heckbert), clustering may join nearby sheets of the surface, and
/// the result need not be a manifold where the surface is thinner than a cell.
/// </para>
/// <para>
/// The result does not depend on the order the triangles arrive in (windows of a volume in any order): the cells are one
/// grid over the whole volume, and the final cell size is the smallest doubling at which the whole surface fits the
/// target (a partial surface never has more cells than the whole, so no order coarsens past it). Of the triangles that
/// fall into the same three cells, the one first in cube order keeps its orientation; triangles are listed in cube order
/// of their first source and cells in the order their first vertex appears in it, as one pass in cube order would.
/// Only the quadric sums' rounding follows the arrival order.
/// </para>
/// </summary>
internal sealed class VertexClustering : ITriangleSink
{
    /// <summary>Quadric eigenvalues below this share of the largest are treated as 0 (flat or straight cells: the mean
    /// vertex is kept along those directions, Lindstrom 2000 §3.2).</summary>
    private const double EigenvalueCutoff = 1e-3;

    private readonly int _maxClusters;
    private readonly double _firstCellUm;
    private double _cellUm;
    private Dictionary<long, int> _cellIndex = [];
    private List<Cluster> _clusters = [];
    // Each kept triangle with the cube order of its first source; _seen finds it by its three cells.
    private List<(int A, int B, int C, long Order)> _triangles = [];
    private Dictionary<(int, int, int), int> _seen = [];
    // The cluster of each vertex of the current slab (−1: not seen yet): its cell is found once, not once per triangle.
    private int[] _clusterOfVertex = [];

    private sealed class Cluster
    {
        public long Cell;
        // Upper triangle of A (xx, xy, xz, yy, yz, zz), b, and the plain vertex sum.
        public readonly double[] Quadric = new double[9];
        public double SumX, SumY, SumZ;
        public long Count;
        // Cube order × 3 + corner of the first vertex that fell into the cell: the cells' order in the result.
        public long FirstSeen = long.MaxValue;
        public readonly double[] ContactArea = new double[4];

        public void Merge(Cluster other)
        {
            for (var k = 0; k < Quadric.Length; k++) Quadric[k] += other.Quadric[k];
            (SumX, SumY, SumZ, Count) = (SumX + other.SumX, SumY + other.SumY, SumZ + other.SumZ, Count + other.Count);
            for (var k = 0; k < ContactArea.Length; k++) ContactArea[k] += other.ContactArea[k];
            FirstSeen = Math.Min(FirstSeen, other.FirstSeen);
        }
    }

    /// <param name="cellUm">The starting cell size (one voxel, its largest side).</param>
    /// <param name="targetTriangles">About how many triangles the result may have.</param>
    public VertexClustering(double cellUm, int targetTriangles)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cellUm);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetTriangles, 4);
        (_firstCellUm, _cellUm, _maxClusters) = (cellUm, cellUm, targetTriangles / 2);
    }

    /// <summary>The cell's side as a count of the starting cells (a power of two; final once <see cref="Result"/> ran).</summary>
    public int CellSides => (int)Math.Round(_cellUm / _firstCellUm);

    public void BeginSlab(int vertexCount)
    {
        _clusterOfVertex = new int[vertexCount];
        Array.Fill(_clusterOfVertex, -1);
    }

    /// <summary>Per triangle: its area-weighted plane's quadric terms (A's upper triangle, b) and a third of its area.</summary>
    private const int TermsPerTriangle = 10;

    private double[] _terms = [];

    /// <summary>
    /// A layer's triangles: their planes' quadric terms computed in parallel (each from its own triangle only), then summed
    /// into the cells in cube order on one thread, so the sums and the result do not depend on the thread count.
    /// </summary>
    public void AddLayer(int[] triangles, long[] orders, long[] vertexKeys, double[] positions, SurfaceContact[]? contacts)
    {
        var count = orders.Length;
        if (_terms.Length < TermsPerTriangle * count) _terms = new double[TermsPerTriangle * count];
        var terms = _terms;
        const int Batch = 4096;
        Parallel.For(0, (count + Batch - 1) / Batch, batch =>
        {
            for (var t = batch * Batch; t < Math.Min(count, (batch + 1) * Batch); t++)
                PlaneTerms(positions, triangles[3 * t], triangles[3 * t + 1], triangles[3 * t + 2], terms.AsSpan(TermsPerTriangle * t, TermsPerTriangle));
        });
        Span<int> ids = stackalloc int[3];
        for (var t = 0; t < count; t++)
        {
            var term = terms.AsSpan(TermsPerTriangle * t, TermsPerTriangle);
            for (var k = 0; k < 3; k++)
            {
                var vertex = triangles[3 * t + k];
                var (x, y, z) = (positions[3 * vertex], positions[3 * vertex + 1], positions[3 * vertex + 2]);
                ref var id = ref _clusterOfVertex[vertex];
                if (id < 0) ClusterAt(x, y, z, out id);
                ids[k] = id;
                var cluster = _clusters[id];
                var q = cluster.Quadric;
                for (var j = 0; j < 9; j++) q[j] += term[j];
                cluster.SumX += x; cluster.SumY += y; cluster.SumZ += z;
                cluster.Count++;
                cluster.FirstSeen = Math.Min(cluster.FirstSeen, 3 * orders[t] + k);
                cluster.ContactArea[(int)(contacts?[vertex] ?? SurfaceContact.None)] += term[9];
            }
            AddTriangle(ids[0], ids[1], ids[2], orders[t]);
        }
        while (_clusters.Count > _maxClusters) Coarsen();
    }

    /// <summary>The triangle's plane n·x + d = 0 (unit n) weighted by its area, as quadric terms, and a third of the area.</summary>
    private static void PlaneTerms(double[] positions, int a, int b, int c, Span<double> terms)
    {
        var (ax, ay, az) = (positions[3 * a], positions[3 * a + 1], positions[3 * a + 2]);
        double ux = positions[3 * b] - ax, uy = positions[3 * b + 1] - ay, uz = positions[3 * b + 2] - az;
        double vx = positions[3 * c] - ax, vy = positions[3 * c + 1] - ay, vz = positions[3 * c + 2] - az;
        double nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
        var length = Math.Sqrt(nx * nx + ny * ny + nz * nz);
        var area = length / 2;
        if (length > 0) (nx, ny, nz) = (nx / length, ny / length, nz / length);
        var d = -(nx * ax + ny * ay + nz * az);
        terms[0] = area * nx * nx; terms[1] = area * nx * ny; terms[2] = area * nx * nz;
        terms[3] = area * ny * ny; terms[4] = area * ny * nz; terms[5] = area * nz * nz;
        terms[6] = area * d * nx; terms[7] = area * d * ny; terms[8] = area * d * nz;
        terms[9] = area / 3;
    }

    private Cluster ClusterAt(double x, double y, double z, out int id)
    {
        var cell = CellKey(x, y, z);
        if (!_cellIndex.TryGetValue(cell, out id))
        {
            id = _clusters.Count;
            _cellIndex.Add(cell, id);
            _clusters.Add(new Cluster { Cell = cell });
        }
        return _clusters[id];
    }

    // 21 bits per axis; cells are offset so that positions down to −2^20 cells are non-negative.
    private const long Offset = 1L << 20;

    private long CellKey(double x, double y, double z) =>
        ((long)Math.Floor(z / _cellUm) + Offset) << 42 | ((long)Math.Floor(y / _cellUm) + Offset) << 21 | ((long)Math.Floor(x / _cellUm) + Offset);

    /// <summary>The cell of the doubled grid holding a cell (cells at −1 stay at −1: floor division).</summary>
    private static long ParentKey(long cell)
    {
        static long Half(long index) => ((index - Offset) >> 1) + Offset;
        const long Mask = (1L << 21) - 1;
        return Half(cell >> 42 & Mask) << 42 | Half(cell >> 21 & Mask) << 21 | Half(cell & Mask);
    }

    private void AddTriangle(int a, int b, int c, long order)
    {
        if (a == b || b == c || a == c) return;
        // One triangle per set of three cells, whichever way round; the first in cube order keeps its orientation.
        var key = Sorted(a, b, c);
        ref var at = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_seen, key, out var exists);
        if (!exists)
        {
            at = _triangles.Count;
            _triangles.Add((a, b, c, order));
        }
        else if (order < _triangles[at].Order) _triangles[at] = (a, b, c, order);
    }

    private static (int, int, int) Sorted(int a, int b, int c)
    {
        if (a > b) (a, b) = (b, a);
        if (b > c) (b, c) = (c, b);
        if (a > b) (a, b) = (b, a);
        return (a, b, c);
    }

    /// <summary>Doubles the cell size: each cluster joins the one of its parent cell, in the order clusters were made.</summary>
    private void Coarsen()
    {
        _cellUm *= 2;
        var index = new Dictionary<long, int>();
        var clusters = new List<Cluster>();
        var map = new int[_clusters.Count];
        for (var i = 0; i < _clusters.Count; i++)
        {
            var parent = ParentKey(_clusters[i].Cell);
            if (!index.TryGetValue(parent, out var id))
            {
                id = clusters.Count;
                index.Add(parent, id);
                clusters.Add(new Cluster { Cell = parent });
            }
            clusters[id].Merge(_clusters[i]);
            map[i] = id;
        }
        var triangles = _triangles;
        (_cellIndex, _clusters, _triangles, _seen) = (index, clusters, [], []);
        for (var v = 0; v < _clusterOfVertex.Length; v++)
            if (_clusterOfVertex[v] >= 0) _clusterOfVertex[v] = map[_clusterOfVertex[v]];
        foreach (var (a, b, c, order) in triangles) AddTriangle(map[a], map[b], map[c], order);
    }

    public SurfaceMesh Result(bool withContacts)
    {
        while (_clusters.Count > _maxClusters) Coarsen();
        // Cells in the order their first vertex appears in cube order, triangles in the order of their first source.
        var cellOrder = new int[_clusters.Count];
        for (var i = 0; i < cellOrder.Length; i++) cellOrder[i] = i;
        Array.Sort(_clusters.Select(c => c.FirstSeen).ToArray(), cellOrder);
        var renumber = new int[cellOrder.Length];
        for (var i = 0; i < cellOrder.Length; i++) renumber[cellOrder[i]] = i;
        var positions = new float[3 * _clusters.Count];
        var contacts = withContacts ? new SurfaceContact[_clusters.Count] : null;
        Parallel.For(0, _clusters.Count, i =>
        {
            var cluster = _clusters[cellOrder[i]];
            var (x, y, z) = Place(cluster);
            (positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]) = ((float)x, (float)y, (float)z);
            if (contacts is null) return;
            var areas = cluster.ContactArea;
            var best = 0;
            for (var k = 1; k < areas.Length; k++)
                if (areas[k] > areas[best]) best = k;
            contacts[i] = (SurfaceContact)best;
        });
        var kept = _triangles.ToArray();
        Array.Sort(kept.Select(t => t.Order).ToArray(), kept);
        var triangles = new int[3 * kept.Length];
        for (var t = 0; t < kept.Length; t++)
            (triangles[3 * t], triangles[3 * t + 1], triangles[3 * t + 2]) = (renumber[kept[t].A], renumber[kept[t].B], renumber[kept[t].C]);
        return new SurfaceMesh(positions, triangles, contacts);
    }

    /// <summary>
    /// The point of least quadric error, x = m + A⁺(−b − A m) about the cell's mean vertex m, with A's pseudo-inverse
    /// keeping eigenvalues above <see cref="EigenvalueCutoff"/> of the largest.
    /// </summary>
    private static (double X, double Y, double Z) Place(Cluster cluster)
    {
        var q = cluster.Quadric;
        double mx = cluster.SumX / cluster.Count, my = cluster.SumY / cluster.Count, mz = cluster.SumZ / cluster.Count;
        double[,] a = { { q[0], q[1], q[2] }, { q[1], q[3], q[4] }, { q[2], q[4], q[5] } };
        double[] r =
        [
            -q[6] - (q[0] * mx + q[1] * my + q[2] * mz),
            -q[7] - (q[1] * mx + q[3] * my + q[4] * mz),
            -q[8] - (q[2] * mx + q[4] * my + q[5] * mz),
        ];
        var (values, vectors) = SymmetricEigen3(a);
        var largest = Math.Max(Math.Abs(values[0]), Math.Max(Math.Abs(values[1]), Math.Abs(values[2])));
        double x = mx, y = my, z = mz;
        if (largest == 0) return (x, y, z);
        for (var k = 0; k < 3; k++)
        {
            if (Math.Abs(values[k]) < EigenvalueCutoff * largest) continue;
            var projection = (vectors[0, k] * r[0] + vectors[1, k] * r[1] + vectors[2, k] * r[2]) / values[k];
            x += projection * vectors[0, k];
            y += projection * vectors[1, k];
            z += projection * vectors[2, k];
        }
        return (x, y, z);
    }

    /// <summary>Eigenvalues and eigenvectors (columns) of a symmetric 3×3 matrix by cyclic Jacobi rotations.</summary>
    private static (double[] Values, double[,] Vectors) SymmetricEigen3(double[,] a)
    {
        var v = new double[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
        for (var sweep = 0; sweep < 50; sweep++)
        {
            var off = a[0, 1] * a[0, 1] + a[0, 2] * a[0, 2] + a[1, 2] * a[1, 2];
            if (off < 1e-30 * (a[0, 0] * a[0, 0] + a[1, 1] * a[1, 1] + a[2, 2] * a[2, 2]) || off == 0) break;
            for (var p = 0; p < 2; p++)
                for (var qq = p + 1; qq < 3; qq++)
                {
                    if (a[p, qq] == 0) continue;
                    var theta = (a[qq, qq] - a[p, p]) / (2 * a[p, qq]);
                    var t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    var c = 1 / Math.Sqrt(t * t + 1);
                    var s = t * c;
                    for (var k = 0; k < 3; k++)
                    {
                        var (akp, akq) = (a[k, p], a[k, qq]);
                        a[k, p] = c * akp - s * akq;
                        a[k, qq] = s * akp + c * akq;
                    }
                    for (var k = 0; k < 3; k++)
                    {
                        var (apk, aqk) = (a[p, k], a[qq, k]);
                        a[p, k] = c * apk - s * aqk;
                        a[qq, k] = s * apk + c * aqk;
                    }
                    for (var k = 0; k < 3; k++)
                    {
                        var (vkp, vkq) = (v[k, p], v[k, qq]);
                        v[k, p] = c * vkp - s * vkq;
                        v[k, qq] = s * vkp + c * vkq;
                    }
                }
        }
        return ([a[0, 0], a[1, 1], a[2, 2]], v);
    }
}
