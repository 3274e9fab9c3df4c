using System.Numerics;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Reconstruction;

/// <summary>
/// Receives a surface's triangles window by window. Each triangle comes with its place in the whole volume's cube order
/// (<see cref="SlabMesh.TriangleOrder"/>), and a sink's result depends on those places, not on the order of arrival.
/// </summary>
internal interface ITriangleSink
{
    /// <summary>A window's triangles follow; their vertices are numbered 0 .. <paramref name="vertexCount"/> − 1 within it.</summary>
    void BeginSlab(int vertexCount);

    /// <summary>
    /// One cube layer of the window, complete: its triangles as the window's vertex numbers (three each) and their places in
    /// cube order, with the window's vertex keys (their edges in the whole volume), positions in µm (three each) and
    /// contact classes (null: none).
    /// </summary>
    void AddLayer(int[] triangles, long[] orders, long[] vertexKeys, double[] positions, SurfaceContact[]? contacts);

    SurfaceMesh Result(bool withContacts);
}

/// <summary>
/// Every triangle kept; vertices welded by their edge in the volume (the marching-cubes mesh itself), triangles in cube
/// order and vertices in the order they first appear in them, whatever order the windows came in.
/// </summary>
internal sealed class WeldedTriangles : ITriangleSink
{
    private readonly Dictionary<long, int> _index = [];
    private readonly List<float> _positions = [];
    private readonly List<SurfaceContact> _contacts = [];
    private readonly List<int> _triangles = [];
    private readonly List<long> _order = [];

    public void BeginSlab(int vertexCount) { }

    public void AddLayer(int[] triangles, long[] orders, long[] vertexKeys, double[] positions, SurfaceContact[]? contacts)
    {
        for (var t = 0; t < orders.Length; t++)
        {
            for (var k = 0; k < 3; k++)
            {
                var v = triangles[3 * t + k];
                if (!_index.TryGetValue(vertexKeys[v], out var i))
                {
                    i = _index.Count;
                    _index.Add(vertexKeys[v], i);
                    _positions.Add((float)positions[3 * v]);
                    _positions.Add((float)positions[3 * v + 1]);
                    _positions.Add((float)positions[3 * v + 2]);
                    _contacts.Add(contacts?[v] ?? SurfaceContact.None);
                }
                _triangles.Add(i);
            }
            _order.Add(orders[t]);
        }
    }

    public SurfaceMesh Result(bool withContacts)
    {
        var count = _order.Count;
        var byOrder = new int[count];
        for (var t = 0; t < count; t++) byOrder[t] = t;
        var orders = _order.ToArray();
        Array.Sort(orders, byOrder);
        var renumber = new int[_index.Count];
        Array.Fill(renumber, -1);
        var positions = new float[_positions.Count];
        var contacts = new SurfaceContact[_contacts.Count];
        var triangles = new int[3 * count];
        var next = 0;
        for (var t = 0; t < count; t++)
            for (var k = 0; k < 3; k++)
            {
                var old = _triangles[3 * byOrder[t] + k];
                if (renumber[old] < 0)
                {
                    renumber[old] = next;
                    for (var axis = 0; axis < 3; axis++) positions[3 * next + axis] = _positions[3 * old + axis];
                    contacts[next++] = _contacts[old];
                }
                triangles[3 * t + k] = renumber[old];
            }
        return new SurfaceMesh(positions, triangles, withContacts ? contacts : null);
    }
}

/// <summary>
/// The marching-cubes mesh of one window's cubes: triangles per cube layer as the window's vertex numbers, with their
/// places in the whole volume's cube order, and the welded vertices with their keys and positions in µm.
/// </summary>
internal sealed class SlabMesh
{
    /// <summary>Per configuration, its loops oriented counter-clockwise seen from outside (right-handed x, y, z).</summary>
    private static readonly int[][][] OrientedLoops = BuildOrientedLoops();

    /// <summary>Triangles one cube can have (fans of its loops), rounded up to a power of two for <see cref="TriangleOrder"/>.</summary>
    private const int TrianglesPerCube = 16;

    private readonly int[][] _layerTriangles;
    private readonly long[][] _layerOrders;
    private readonly long[] _vertexKeys;
    private readonly double[] _positions;
    private readonly int _height, _width;

    private SlabMesh(int[][] layerTriangles, long[][] layerOrders, long[] vertexKeys, double[] positions, int height, int width) =>
        (_layerTriangles, _layerOrders, _vertexKeys, _positions, _height, _width) = (layerTriangles, layerOrders, vertexKeys, positions, height, width);

    /// <summary>
    /// The place of the <paramref name="index"/>-th triangle of cube (z, y, x) in the whole volume's cube order: z, then y,
    /// then x, then the cube's own fans.
    /// </summary>
    public static long TriangleOrder(int z, int y, int x, int index, int height, int width) =>
        ((((long)z + 1) * (height + 1) + y + 1) * (width + 1) + x + 1) * TrianglesPerCube + index;

    /// <summary>Marching cubes on the cubes of <paramref name="cubes"/> (cube (z, y, x) joins voxels z..z + 1, y..y + 1, x..x + 1).</summary>
    /// <param name="workspace">Holds the welding table.</param>
    public static SlabMesh Extract(PhaseSurfaceBuilder.PaddedField field, PhaseSurfaceBuilder.CubeBox cubes, int height, int width, VoxelSize voxel,
        (double X, double Y, double Z) originUm, SurfaceWorkspace workspace)
    {
        var layers = Math.Max(0, cubes.Z1 - cubes.Z0);
        // Every edge of the field's voxel grid has a slot (its lower corner's place in the field, × 3 axes). The cube
        // layers are extracted in parallel as slots; the slots used are numbered in slot order (so the numbering does not
        // depend on threads), which welds the vertices shared by neighbouring cubes and layers. The used slots are bits of
        // a table, each plane's bits padded to whole 64-bit words; a slot's vertex number is the count of used slots
        // before it (the words' running counts plus the bits below it in its word).
        var (rows, columns) = (field.EndY - field.FirstY, field.RowLength);
        var planeSlots = 3L * rows * columns;
        var planes = field.EndZ - field.FirstZ;
        if (planeSlots * planes > Array.MaxLength)
            throw new ArgumentException($"a window of {planeSlots * planes / 3} voxels has more edges than an array holds; use smaller windows", nameof(field));
        var edgeOffsets = new int[MarchingCubes.Edges.Length];
        for (var e = 0; e < edgeOffsets.Length; e++)
        {
            var (a, b) = MarchingCubes.Edges[e];
            var axis = (a ^ b) switch { 1 => 0, 2 => 1, _ => 2 };
            edgeOffsets[e] = (int)((((a >> 2 & 1) * rows + (a >> 1 & 1)) * columns + (a & 1)) * 3 + axis);
        }
        var layerSlots = new int[layers][];
        var layerOrders = new long[layers][];
        Parallel.For(0, layers, layer =>
            (layerSlots[layer], layerOrders[layer]) = ExtractLayer(field, cubes, cubes.Z0 + layer, height, width, edgeOffsets));

        var planeWords = (int)((planeSlots + 63) / 64);
        var (used, wordStart) = workspace.WeldingTable((long)planes * planeWords);
        // Layer l has slots in planes l and l + 1 only: the even layers touch disjoint planes, then the odd ones.
        for (var parity = 0; parity < 2; parity++)
            Parallel.For(0, (layers - parity + 1) / 2, half =>
            {
                var layer = 2 * half + parity;
                foreach (var slot in layerSlots[layer])
                {
                    var (plane, inPlane) = PlaneOf(slot, layer, (int)planeSlots);
                    used[(long)plane * planeWords + (inPlane >> 6)] |= 1UL << (inPlane & 63);
                }
            });
        var perPlane = new int[planes + 1];
        Parallel.For(0, planes, p =>
        {
            var count = 0;
            foreach (var word in used.AsSpan(p * planeWords, planeWords)) count += System.Numerics.BitOperations.PopCount(word);
            perPlane[p + 1] = count;
        });
        for (var p = 0; p < planes; p++) perPlane[p + 1] += perPlane[p];
        var vertexKeys = new long[perPlane[planes]];
        Parallel.For(0, planes, p =>
        {
            var next = perPlane[p];
            for (var w = 0; w < planeWords; w++)
            {
                var word = used[p * planeWords + w];
                wordStart[p * planeWords + w] = next;
                for (; word != 0; word &= word - 1)
                {
                    var slot = 64 * w + System.Numerics.BitOperations.TrailingZeroCount(word);
                    var (corner, axis) = Math.DivRem(slot, 3);
                    var (row, column) = Math.DivRem(corner, columns);
                    vertexKeys[next++] = Key(field.FirstZ + p, row + field.FirstY, column + field.FirstX, axis, height, width);
                }
            }
        });
        var layerTriangles = new int[layers][];
        Parallel.For(0, layers, layer =>
        {
            var slots = layerSlots[layer];
            var triangles = new int[slots.Length];
            for (var k = 0; k < slots.Length; k++)
            {
                var (plane, inPlane) = PlaneOf(slots[k], layer, (int)planeSlots);
                var w = (long)plane * planeWords + (inPlane >> 6);
                triangles[k] = wordStart[w] + System.Numerics.BitOperations.PopCount(used[w] & ((1UL << (inPlane & 63)) - 1));
            }
            layerTriangles[layer] = triangles;
            layerSlots[layer] = null!;
        });

        var positions = new double[3 * vertexKeys.Length];
        var (dx, dy, dz) = (voxel.XNm / 1000, voxel.YNm / 1000, voxel.ZNm / 1000);
        Parallel.For(0, vertexKeys.Length, i =>
        {
            var (z, y, x, axis) = DecodeKey(vertexKeys[i], height, width);
            var a = field[z, y, x];
            var b = axis switch { 0 => field[z, y, x + 1], 1 => field[z, y + 1, x], _ => field[z + 1, y, x] };
            var t = ((double)PhaseSurfaceBuilder.Level - a) / ((double)b - a);
            positions[3 * i] = originUm.X + (x + (axis == 0 ? t : 0)) * dx;
            positions[3 * i + 1] = originUm.Y + (y + (axis == 1 ? t : 0)) * dy;
            positions[3 * i + 2] = originUm.Z + (z + (axis == 2 ? t : 0)) * dz;
        });
        return new SlabMesh(layerTriangles, layerOrders, vertexKeys, positions, height, width);
    }

    /// <summary>The plane of the field a slot of cube layer <paramref name="layer"/> lies in (that layer's or the next) and
    /// its place in the plane, without a division.</summary>
    private static (int Plane, int InPlane) PlaneOf(int slot, int layer, int planeSlots)
    {
        var inPlane = slot - layer * planeSlots;
        return inPlane < planeSlots ? (layer, inPlane) : (layer + 1, inPlane - planeSlots);
    }

    /// <summary>
    /// The triangles of cube layer <paramref name="z"/> of the box as the field slots of their vertices' edges (lower
    /// corner's place × 3 + axis), in cube order, and their places in the volume's cube order.
    /// </summary>
    private static (int[] Slots, long[] Orders) ExtractLayer(PhaseSurfaceBuilder.PaddedField field, PhaseSurfaceBuilder.CubeBox cubes, int z,
        int height, int width, int[] edgeOffsets)
    {
        var slots = new List<int>();
        var orders = new List<long>();
        var inside = field.Inside;
        var (rowHasInside, rowsPerPlane) = (field.RowHasInside, field.EndY - field.FirstY);
        for (var y = cubes.Y0; y < cubes.Y1; y++)
        {
            // A cube row whose four voxel rows are all outside has no surface.
            var row = field.Row(z, y);
            if (!(rowHasInside[row] || rowHasInside[row + 1] || rowHasInside[row + rowsPerPlane] || rowHasInside[row + rowsPerPlane + 1])) continue;
            long r00 = field.Index(z, y, cubes.X0), r01 = r00 + field.RowLength, r10 = r00 + field.PlaneLength, r11 = r10 + field.RowLength;
            var count = cubes.X1 - cubes.X0;
            var i = 0;
            while (i < count)
            {
                // Whole vectors of cubes first: most are all outside (0) or all inside (255) and are passed over together.
                if (Vector.IsHardwareAccelerated && i + Vector<byte>.Count <= count)
                {
                    var vector = Configurations(inside, r00 + i, r01 + i, r10 + i, r11 + i);
                    if (Vector.EqualsAll(vector, Vector<byte>.Zero) || Vector.EqualsAll(vector, new Vector<byte>(255)))
                    {
                        i += Vector<byte>.Count;
                        continue;
                    }
                    for (var end = i + Vector<byte>.Count; i < end; i++) AddCube(vector[i - (end - Vector<byte>.Count)], i);
                    continue;
                }
                AddCube(inside[r00 + i] | inside[r00 + i + 1] << 1 | inside[r01 + i] << 2 | inside[r01 + i + 1] << 3
                    | inside[r10 + i] << 4 | inside[r10 + i + 1] << 5 | inside[r11 + i] << 6 | inside[r11 + i + 1] << 7, i);
                i++;
            }

            void AddCube(int config, int i)
            {
                if (config is 0 or 255) return;
                var x = cubes.X0 + i;
                var slot = (int)(3 * (r00 + i));
                var triangle = 0;
                foreach (var loop in OrientedLoops[config])
                    for (var k = 1; k + 1 < loop.Length; k++)
                    {
                        slots.Add(slot + edgeOffsets[loop[0]]);
                        slots.Add(slot + edgeOffsets[loop[k]]);
                        slots.Add(slot + edgeOffsets[loop[k + 1]]);
                        orders.Add(TriangleOrder(z, y, x, triangle++, height, width));
                    }
            }
        }
        return ([.. slots], [.. orders]);
    }

    /// <summary>
    /// The configurations (corner c = (dz, dy, dx) inside as bit c) of <see cref="Vector{T}.Count"/> cubes in a row, from
    /// the inside flags of their four voxel rows (0/1 bytes) starting at the first cube's lower corners.
    /// </summary>
    private static Vector<byte> Configurations(byte[] inside, long r00, long r01, long r10, long r11)
    {
        Vector<byte> At(long start, int shift) => Vector.ShiftLeft(new Vector<byte>(inside.AsSpan((int)start)), shift);
        return At(r00, 0) | At(r00 + 1, 1) | At(r01, 2) | At(r01 + 1, 3) | At(r10, 4) | At(r10 + 1, 5) | At(r11, 6) | At(r11 + 1, 7);
    }

    /// <summary>
    /// What lies beyond each vertex: the label of its edge's end outside the surface (lower field value), or, where that
    /// voxel still belongs to the phase (a lone voxel the smoothing left below the level), of the next voxel on along the
    /// edge. <paramref name="labels"/> is the window, its first voxel at (<paramref name="z0"/>, <paramref name="y0"/>,
    /// <paramref name="x0"/>) of the volume; <paramref name="indicator"/> is 1 for the phase's labels.
    /// </summary>
    public SurfaceContact[] Contacts(PhaseSurfaceBuilder.PaddedField field, Volume<byte> labels, int z0, int y0, int x0, int depth, ushort[] indicator)
    {
        var contacts = new SurfaceContact[_vertexKeys.Length];
        Parallel.For(0, contacts.Length, i =>
        {
            var (z, y, x, axis) = DecodeKey(_vertexKeys[i], _height, _width);
            var (dz, dy, dx) = axis switch { 0 => (0, 0, 1), 1 => (0, 1, 0), _ => (1, 0, 0) };
            // Step from the inside end through the outside end.
            if (field[z + dz, y + dy, x + dx] < field[z, y, x]) (z, y, x) = (z + dz, y + dy, x + dx);
            else (dz, dy, dx) = (-dz, -dy, -dx);
            for (var step = 0; step < 2; step++, (z, y, x) = (z + dz, y + dy, x + dx))
            {
                if (z < 0 || z >= depth || y < 0 || y >= _height || x < 0 || x >= _width) return;
                // Within the volume a step stays within the window's halo (three voxels beyond its cubes at most).
                var label = labels[z - z0, y - y0, x - x0];
                if (indicator[label] != 0) continue;
                contacts[i] = label switch
                {
                    PhaseLabel.Lps => SurfaceContact.Electrolyte,
                    PhaseLabel.Void => SurfaceContact.Void,
                    PhaseLabel.Carbon => SurfaceContact.Carbon,
                    _ => SurfaceContact.None,
                };
                return;
            }
        });
        return contacts;
    }

    /// <summary>Hands the window's triangles to the sink, layer by layer.</summary>
    public void Emit(ITriangleSink sink, SurfaceContact[]? contacts)
    {
        sink.BeginSlab(_vertexKeys.Length);
        for (var layer = 0; layer < _layerTriangles.Length; layer++)
            sink.AddLayer(_layerTriangles[layer], _layerOrders[layer], _vertexKeys, _positions, contacts);
    }

    /// <summary>Key of the edge from voxel (z, y, x) along <paramref name="axis"/> (0 x, 1 y, 2 z): its lower corner in the
    /// volume padded by one voxel, and its axis.</summary>
    private static long Key(int z, int y, int x, int axis, int height, int width) =>
        (((long)z + 1) * (height + 2) + y + 1) * (width + 2) * 3 + ((long)x + 1) * 3 + axis;

    private static (int Z, int Y, int X, int Axis) DecodeKey(long key, int height, int width)
    {
        var axis = (int)(key % 3);
        var corner = key / 3;
        var x = (int)(corner % (width + 2)) - 1;
        corner /= width + 2;
        var y = (int)(corner % (height + 2)) - 1;
        var z = (int)(corner / (height + 2)) - 1;
        return (z, y, x, axis);
    }

    /// <summary>
    /// <see cref="MarchingCubes.Loops"/> with each loop turned so that its Newell normal (edge midpoints, x y z order) points
    /// from the inside corners to the outside ones.
    /// </summary>
    private static int[][][] BuildOrientedLoops()
    {
        if (MarchingCubes.Loops.Max(loops => loops.Sum(loop => loop.Length - 2)) > TrianglesPerCube)
            throw new InvalidOperationException("a cube has more triangles than TriangleOrder leaves room for");
        static (double X, double Y, double Z) Corner(int c) => (c & 1, c >> 1 & 1, c >> 2 & 1);
        var result = new int[256][][];
        for (var config = 0; config < 256; config++)
        {
            result[config] = MarchingCubes.Loops[config].Select(loop =>
            {
                double ox = 0, oy = 0, oz = 0, nx = 0, ny = 0, nz = 0;
                var points = loop.Select(e =>
                {
                    var (a, b) = MarchingCubes.Edges[e];
                    var (pa, pb) = (Corner(a), Corner(b));
                    // Outward: from the inside corner to the outside one.
                    var sign = (config >> a & 1) != 0 ? 1 : -1;
                    ox += sign * (pb.X - pa.X); oy += sign * (pb.Y - pa.Y); oz += sign * (pb.Z - pa.Z);
                    return ((pa.X + pb.X) / 2, (pa.Y + pb.Y) / 2, (pa.Z + pb.Z) / 2);
                }).ToArray();
                for (var k = 0; k < points.Length; k++)
                {
                    var (p, q) = (points[k], points[(k + 1) % points.Length]);
                    nx += (p.Item2 - q.Item2) * (p.Item3 + q.Item3);
                    ny += (p.Item3 - q.Item3) * (p.Item1 + q.Item1);
                    nz += (p.Item1 - q.Item1) * (p.Item2 + q.Item2);
                }
                return nx * ox + ny * oy + nz * oz < 0 ? loop.Reverse().ToArray() : loop;
            }).ToArray();
        }
        return result;
    }
}
