using System.Numerics;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Reconstruction;

/// <summary>How a phase surface is built: smoothing passes and the decimation target.</summary>
/// <param name="TaubinIterations">λ|μ pairs of Taubin smoothing (0: none).</param>
/// <param name="TargetTriangles">Decimate by vertex clustering to at most about this many triangles; null keeps every
/// triangle of marching cubes (the whole mesh then stays in memory: for measuring and tests, not for large volumes).</param>
public sealed record SurfaceOptions(int TaubinIterations = SurfaceOptions.DefaultTaubinIterations, int? TargetTriangles = SurfaceOptions.DefaultTargetTriangles)
{
    public const int DefaultTaubinIterations = 5;
    public const int DefaultTargetTriangles = 200_000;

    /// <summary>Marching cubes only: no smoothing, no decimation (the surface whose area is measured).</summary>
    public static SurfaceOptions Unprocessed { get; } = new(0, null);
}

/// <summary>
/// One phase's closed surface mesh in µm, built window by window (a z-slab × a y/x tile, each read with the halo the
/// smoothing needs) so that memory follows the window, not the volume or the slice, and equal to the mesh of the whole
/// volume at once whatever the windows and the order they come in.
/// <list type="number">
/// <item><b>Field</b>: the phase's indicator smoothed by a Gaussian of σ = 1 voxel
/// (<see cref="SmoothedSurfaceAreaAccumulator.SigmaVoxels"/>, the field the smoothed areas of metrics.json are measured
/// on); voxels outside the valid region and beyond the volume's edge count as 0, so the surface closes there. A window's
/// halo (<see cref="HaloSlices"/> on every side) makes its field equal to the whole volume's bit for bit on the cubes it
/// owns: the Gaussian looks at most its radius away, and a window at the volume's edge sees the edge where it is.</item>
/// <item><b>Marching cubes</b> at 0.5 (Lorensen &amp; Cline 1987, doi:10.1145/37401.37422) with the loops of
/// <see cref="MarchingCubes"/> (each ambiguous face keeps its inside corners joined, so neighbouring cubes agree and the
/// surface has no cracks), vertices interpolated along cube edges and identified by their edge in the whole volume: a
/// vertex on a window boundary is the same vertex, with the same position, in both windows. Each loop is a fan from its
/// first vertex, oriented outwards. Every triangle carries its place in the whole volume's cube order, and the sinks
/// order their output by it, so the windows' order does not show in the result.</item>
/// <item><b>Decimation</b> (optional) by <see cref="VertexClustering"/> (Lindstrom 2000) on one grid of cells over the
/// whole volume, fed the triangles as the windows arrive; memory is one window plus the decimated mesh.</item>
/// <item><b>Smoothing</b> of the result by <see cref="TaubinSmoothing"/> (Taubin 1995), which does not shrink it. It runs
/// on the decimated mesh, after the windows, so a window needs no halo for it.</item>
/// </list>
/// Undecimated, the stitched mesh equals the whole volume's byte for byte for any windows. Decimated, windows of whole
/// slices added in z order give the same bytes too; other windows give the same triangles and cells, with each cell's
/// vertex placed from the same quadrics summed in another order (positions equal to rounding).
/// </summary>
public sealed class PhaseSurfaceBuilder
{
    /// <summary>The level of the smoothed indicator the surface follows.</summary>
    public const double Level = 0.5;

    /// <summary>The indicator by label value (1 for the phase's labels): a table, not a call per voxel.</summary>
    private readonly ushort[] _indicator = new ushort[256];
    private readonly VoxelSize _voxel;
    private readonly int _depth, _height, _width;
    private readonly SurfaceOptions _options;
    private readonly bool _classifyContact;
    private readonly (double X, double Y, double Z) _originUm;
    private readonly ITriangleSink _sink;
    private readonly SurfaceWorkspace _workspace;
    private long _ownedVoxels;

    /// <summary>Wall time spent so far in each step (for the benchmark's breakdown).</summary>
    public SurfaceBuildTimes Times { get; } = new();

    /// <summary>
    /// The decimation's final cell side in voxels (1 undecimated), known once <see cref="Result"/> ran: the finest detail
    /// the mesh keeps.
    /// </summary>
    public int DecimationCellVoxels => _sink is VertexClustering clustering ? clustering.CellSides : 1;

    /// <param name="isPhase">Which labels are the phase (the indicator is 1 there).</param>
    /// <param name="classifyContact">Record per vertex what lies on the other side (<see cref="SurfaceContact"/>).</param>
    /// <param name="workspace">Working arrays to use, shared with other builders fed the same windows one after another
    /// (null: the builder's own); kept from window to window.</param>
    /// <param name="originUm">Where voxel (0, 0, 0)'s centre is, µm (x, y, z): a coarser level of a pyramid is centred half
    /// a coarse voxel less half a fine one beyond the full resolution's, and a mesh built from it sits, and is decimated on
    /// cells, in the full resolution's frame.</param>
    public PhaseSurfaceBuilder(Func<byte, bool> isPhase, VoxelSize voxelSize, int depth, int height, int width, SurfaceOptions options,
        bool classifyContact = false, SurfaceWorkspace? workspace = null, (double X, double Y, double Z) originUm = default)
    {
        ArgumentNullException.ThrowIfNull(isPhase);
        ArgumentNullException.ThrowIfNull(voxelSize);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.TaubinIterations);
        (_voxel, _depth, _height, _width, _options, _classifyContact, _originUm) = (voxelSize, depth, height, width, options, classifyContact, originUm);
        _workspace = workspace ?? new SurfaceWorkspace();
        for (var label = 0; label < 256; label++) _indicator[label] = isPhase((byte)label) ? (ushort)1 : (ushort)0;
        _sink = options.TargetTriangles is { } target
            ? new VertexClustering(Math.Max(voxelSize.XNm, Math.Max(voxelSize.YNm, voxelSize.ZNm)) / 1000, target)
            : new WeldedTriangles();
    }

    public PhaseSurfaceBuilder(byte phase, VoxelSize voxelSize, int depth, int height, int width, SurfaceOptions options, bool classifyContact = false,
        SurfaceWorkspace? workspace = null, (double X, double Y, double Z) originUm = default)
        : this(label => label == phase, voxelSize, depth, height, width, options, classifyContact, workspace, originUm) { }

    /// <summary>
    /// Voxels of labels each window needs beyond the ones it owns on every side (where the volume goes on): the
    /// Gaussian's radius around the voxels its cubes join.
    /// </summary>
    public static int HaloSlices => Denoise.GaussianRadiusVoxels(SmoothedSurfaceAreaAccumulator.SigmaVoxels) + 1;

    /// <summary>
    /// Memory per voxel of a window while one phase is meshed, at its peak: the labels, the Gaussian's two float passes and
    /// the padded field (float and a flag), the welding table (a bit per voxel edge and a running count per 64 of them) and
    /// the window's undecimated mesh where the surface is dense (triangles, their places in cube order, vertex keys and
    /// positions: ~0.5 triangles a voxel in a carbon-rich 50 nm stack). Kept at the value it had when the table took an int
    /// per edge (12 bytes a voxel more), so the windows, and with them the decimated bytes, did not change.
    /// </summary>
    public const int BytesPerSlabVoxel = 48;

    /// <summary>
    /// Slices a slab owns so that it and its halo fit <paramref name="budgetBytes"/> as whole slices: a multiple of
    /// <paramref name="chunkSlices"/> when more than a chunk fits (reads stay chunk-aligned); when not even one chunk of
    /// whole slices fits, one chunk, to be cut into y/x tiles (<see cref="TileGrid.ForBudget"/>).
    /// </summary>
    public static int OwnedSlicesPerSlab(int depth, int height, int width, long budgetBytes, int chunkSlices)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSlices);
        var fits = budgetBytes / Math.Max(1L, (long)height * width * BytesPerSlabVoxel) - 2 * HaloSlices;
        var owned = fits >= chunkSlices ? fits / chunkSlices * chunkSlices : chunkSlices;
        return (int)Math.Clamp(owned, 1, Math.Max(1, depth));
    }

    /// <summary>
    /// One slab of whole slices: <paramref name="slices"/> holds the labels of slices [<paramref name="firstSlice"/>,
    /// firstSlice + depth), which must cover [ownedZ0 − <see cref="HaloSlices"/>, ownedZ1 + HaloSlices) within the volume.
    /// </summary>
    public void AddSlab(Volume<byte> slices, int firstSlice, int ownedZ0, int ownedZ1)
    {
        ArgumentNullException.ThrowIfNull(slices);
        if (ownedZ1 <= ownedZ0 || ownedZ0 < 0 || ownedZ1 > _depth || firstSlice < 0 || firstSlice + slices.Depth > _depth)
            throw new ArgumentException($"slab [{ownedZ0}, {ownedZ1}) read as slices [{firstSlice}, {firstSlice + slices.Depth}) is not inside the volume's {_depth} slices");
        AddWindow(slices, new SlabWindow(firstSlice, firstSlice + slices.Depth, ownedZ0, ownedZ1), TileWindow.Whole(_height, _width));
    }

    /// <summary>
    /// One window: <paramref name="labels"/> holds the labels of slices [SlabZ0, SlabZ1) × rows [ReadY0, ReadY1) ×
    /// columns [ReadX0, ReadX1), which must reach <see cref="HaloSlices"/> beyond the owned voxels on every side (or the
    /// volume's edge). Windows may come in any order; together their owned voxels must cover the volume once.
    /// </summary>
    public void AddWindow(Volume<byte> labels, SlabWindow slab, TileWindow tile)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Depth != slab.SlabSlices || labels.Height != tile.ReadHeight || labels.Width != tile.ReadWidth)
            throw new ArgumentException($"labels are {labels.Depth}x{labels.Height}x{labels.Width}, the window reads "
                + $"{slab.SlabSlices}x{tile.ReadHeight}x{tile.ReadWidth}", nameof(labels));
        var halo = HaloSlices;
        CheckAxis("slices", slab.SlabZ0, slab.SlabZ1, slab.OwnedZ0, slab.OwnedZ1, _depth, halo);
        CheckAxis("rows", tile.ReadY0, tile.ReadY1, tile.OwnedY0, tile.OwnedY1, _height, halo);
        CheckAxis("columns", tile.ReadX0, tile.ReadX1, tile.OwnedX0, tile.OwnedX1, _width, halo);

        // Cube (z, y, x) joins voxels z..z + 1, y..y + 1, x..x + 1; cubes at −1 close the surface against the zeros beyond
        // the edge, and so do the last ones (at depth − 1, height − 1, width − 1) on the other side.
        var cubes = new CubeBox(slab.OwnedZ0 == 0 ? -1 : slab.OwnedZ0, slab.OwnedZ1, tile.OwnedY0 == 0 ? -1 : tile.OwnedY0, tile.OwnedY1,
            tile.OwnedX0 == 0 ? -1 : tile.OwnedX0, tile.OwnedX1);
        var clock = PartClock.Start();
        var field = SmoothedIndicator(labels, slab, tile, cubes);
        Times.Field += clock.Lap();
        var mesh = SlabMesh.Extract(field, cubes, _height, _width, _voxel, _originUm, _workspace);
        var contacts = _classifyContact ? mesh.Contacts(field, labels, slab.SlabZ0, tile.ReadY0, tile.ReadX0, _depth, _indicator) : null;
        Times.MarchingCubes += clock.Lap();
        mesh.Emit(_sink, contacts);
        Times.Decimation += clock.Lap();
        _ownedVoxels += (long)slab.OwnedSlices * tile.OwnedHeight * tile.OwnedWidth;
    }

    private static void CheckAxis(string axis, int read0, int read1, int owned0, int owned1, int size, int halo)
    {
        if (owned0 < 0 || owned1 > size || owned0 >= owned1)
            throw new ArgumentException($"owned {axis} [{owned0}, {owned1}) are not a non-empty range of the volume's {size}");
        if (read0 > Math.Max(0, owned0 - halo) || read1 < Math.Min(size, owned1 + halo) || read0 < 0 || read1 > size)
            throw new ArgumentException($"owned {axis} [{owned0}, {owned1}) need [{Math.Max(0, owned0 - halo)}, {Math.Min(size, owned1 + halo)}) "
                + $"read, got [{read0}, {read1})");
    }

    /// <summary>The mesh, once every voxel was owned by a window.</summary>
    public SurfaceMesh Result()
    {
        var total = (long)_depth * _height * _width;
        if (_ownedVoxels != total)
            throw new InvalidOperationException($"windows owned {_ownedVoxels} voxels of the volume's {total}");
        var clock = PartClock.Start();
        var mesh = _sink.Result(_classifyContact);
        Times.Decimation += clock.Lap();
        var result = _options.TaubinIterations > 0 ? TaubinSmoothing.Apply(mesh, _options.TaubinIterations) : mesh;
        Times.Smoothing += clock.Lap();
        return result;
    }

    /// <summary>The whole volume as one window.</summary>
    public static SurfaceMesh Build(Volume<byte> labels, byte phase, VoxelSize voxelSize, SurfaceOptions options, bool classifyContact = false)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var builder = new PhaseSurfaceBuilder(phase, voxelSize, labels.Depth, labels.Height, labels.Width, options, classifyContact);
        if (labels.Length > 0) builder.AddSlab(labels, 0, 0, labels.Depth);
        return builder.Result();
    }

    /// <summary>
    /// The Gaussian-smoothed indicator on the voxels the window's cubes join (beyond the volume: 0), 0 where the label is
    /// Outside.
    /// </summary>
    private PaddedField SmoothedIndicator(Volume<byte> labels, SlabWindow slab, TileWindow tile, CubeBox cubes)
    {
        // The field needs the Gaussian on its own slices only (the window's halo slices are inputs, not outputs).
        var fieldSlices = (Math.Max(0, cubes.Z0) - slab.SlabZ0, Math.Min(_depth, cubes.Z1 + 1) - slab.SlabZ0);
        var (smooth, nonZeroRows) = Denoise.Gaussian(labels, _indicator, SmoothedSurfaceAreaAccumulator.SigmaVoxels, _workspace.Gaussian, fieldSlices);
        var field = _workspace.Field(cubes);
        // Every row of the field is written (its arrays come from the last window): the voxels inside the volume on rows
        // the Gaussian reached, zeros everywhere else (rows of zeros, beyond the volume's edge).
        var (x0, x1) = (Math.Max(0, field.FirstX), Math.Min(_width, field.EndX));
        Parallel.For(field.FirstZ, field.EndZ, z =>
        {
            for (var y = field.FirstY; y < field.EndY; y++)
            {
                var target = field.Index(z, y, field.FirstX);
                var values = field.Values.AsSpan((int)target, field.RowLength);
                var inside = field.Inside.AsSpan((int)target, field.RowLength);
                var row = (long)(z - slab.SlabZ0) * labels.Height + y - tile.ReadY0;
                if (z < 0 || z >= _depth || y < 0 || y >= _height || !nonZeroRows[row])
                {
                    values.Clear();
                    inside.Clear();
                    field.RowHasInside[field.Row(z, y)] = false;
                    continue;
                }
                values[..(x0 - field.FirstX)].Clear();
                inside[..(x0 - field.FirstX)].Clear();
                values[(x1 - field.FirstX)..].Clear();
                inside[(x1 - field.FirstX)..].Clear();
                var source = row * labels.Width - tile.ReadX0;
                var any = false;
                for (var x = x0; x < x1; x++)
                {
                    var value = labels.Data[source + x] == PhaseLabel.Outside ? 0f : smooth[source + x];
                    values[x - field.FirstX] = value;
                    var isInside = value > Level;
                    inside[x - field.FirstX] = isInside ? (byte)1 : (byte)0;
                    any |= isInside;
                }
                field.RowHasInside[field.Row(z, y)] = any;
            }
        });
        return field;
    }

    /// <summary>Wall and CPU time of a builder's steps: the smoothed field, marching cubes (with the contact classes), handing
    /// the triangles to the sink and its result (the decimation, or the welding of every triangle), Taubin smoothing. The
    /// CPU time is the process's, so it is the step's only while nothing else runs in the process (the benchmark).</summary>
    public sealed class SurfaceBuildTimes
    {
        public PartTime Field { get; set; }
        public PartTime MarchingCubes { get; set; }
        public PartTime Decimation { get; set; }
        public PartTime Smoothing { get; set; }

        public void Add(SurfaceBuildTimes other)
        {
            ArgumentNullException.ThrowIfNull(other);
            (Field, MarchingCubes, Decimation, Smoothing) = (Field + other.Field, MarchingCubes + other.MarchingCubes,
                Decimation + other.Decimation, Smoothing + other.Smoothing);
        }
    }

    /// <summary>Cubes [Z0, Z1) × [Y0, Y1) × [X0, X1), named by their lowest corner (−1: the cube beyond the first voxel).</summary>
    internal readonly record struct CubeBox(int Z0, int Z1, int Y0, int Y1, int X0, int X1);

    /// <summary>
    /// The smoothed indicator on the voxels a box of cubes joins, [Z0, Z1 + 1) × [Y0, Y1 + 1) × [X0, X1 + 1): zeros where
    /// that reaches beyond the volume. <see cref="Inside"/> marks values above the level.
    /// </summary>
    internal sealed class PaddedField
    {
        /// <summary>A field over <paramref name="cubes"/> in the given arrays (at least as long as it needs), as they are: the
        /// caller writes every voxel and row flag.</summary>
        public PaddedField(CubeBox cubes, float[] values, byte[] inside, bool[] rowHasInside)
        {
            (FirstZ, EndZ, FirstY, EndY, FirstX, EndX) = (cubes.Z0, cubes.Z1 + 1, cubes.Y0, cubes.Y1 + 1, cubes.X0, cubes.X1 + 1);
            RowLength = EndX - FirstX;
            PlaneLength = (long)(EndY - FirstY) * RowLength;
            Length = (EndZ - FirstZ) * PlaneLength;
            var rows = (long)(EndZ - FirstZ) * (EndY - FirstY);
            if (values.LongLength < Length || inside.LongLength < Length || rowHasInside.LongLength < rows)
                throw new ArgumentException($"arrays of {values.LongLength}, {inside.LongLength} and {rowHasInside.LongLength} elements for a field of {Length} voxels in {rows} rows");
            (Values, Inside, RowHasInside) = (values, inside, rowHasInside);
        }

        public static long Voxels(CubeBox cubes) => (long)(cubes.Z1 + 1 - cubes.Z0) * (cubes.Y1 + 1 - cubes.Y0) * (cubes.X1 + 1 - cubes.X0);

        public static long Rows(CubeBox cubes) => (long)(cubes.Z1 + 1 - cubes.Z0) * (cubes.Y1 + 1 - cubes.Y0);

        /// <summary>Voxels of the field (its arrays may be longer).</summary>
        public long Length { get; }

        public int FirstZ { get; }
        public int EndZ { get; }
        public int FirstY { get; }
        public int EndY { get; }
        public int FirstX { get; }
        public int EndX { get; }
        public int RowLength { get; }
        public long PlaneLength { get; }
        /// <summary>The field's values in its first <see cref="Length"/> elements.</summary>
        public float[] Values { get; }
        public byte[] Inside { get; }

        /// <summary>Per row of the field (<see cref="Row"/>), whether any of its voxels is inside.</summary>
        public bool[] RowHasInside { get; }

        public long Row(int z, int y) => (long)(z - FirstZ) * (EndY - FirstY) + y - FirstY;

        /// <summary>Where voxel (z, y, x) of the volume is.</summary>
        public long Index(int z, int y, int x) => (z - FirstZ) * PlaneLength + (long)(y - FirstY) * RowLength + x - FirstX;

        public float this[int z, int y, int x] => Values[Index(z, y, x)];
    }
}

/// <summary>
/// The working arrays of <see cref="PhaseSurfaceBuilder"/> (the Gaussian's two passes, the padded field, the welding
/// table), kept from window to window: windows of one size then reuse them instead of allocating fresh arrays the OS must
/// zero page by page. Builders fed the same windows one after another (never at once) may share one.
/// </summary>
public sealed class SurfaceWorkspace
{
    private float[] _values = [];
    private byte[] _inside = [];
    private bool[] _rowHasInside = [];
    private ulong[] _used = [];
    private int[] _wordStart = [];

    internal GaussianWorkspace Gaussian { get; } = new();

    /// <summary>A field over <paramref name="cubes"/> in the kept arrays, holding whatever the last window left.</summary>
    internal PhaseSurfaceBuilder.PaddedField Field(PhaseSurfaceBuilder.CubeBox cubes)
    {
        var (voxels, rows) = (PhaseSurfaceBuilder.PaddedField.Voxels(cubes), PhaseSurfaceBuilder.PaddedField.Rows(cubes));
        if (_values.LongLength < voxels) (_values, _inside) = (new float[voxels], new byte[voxels]);
        if (_rowHasInside.LongLength < rows) _rowHasInside = new bool[rows];
        return new PhaseSurfaceBuilder.PaddedField(cubes, _values, _inside, _rowHasInside);
    }

    /// <summary>The welding table: <paramref name="words"/> cleared 64-bit words of used-slot bits, and as many running
    /// counts.</summary>
    internal (ulong[] Used, int[] WordStart) WeldingTable(long words)
    {
        if (_used.LongLength < words) (_used, _wordStart) = (new ulong[words], new int[words]);
        _used.AsSpan(0, (int)words).Clear();
        return (_used, _wordStart);
    }
}


/// <summary>Wall time and the process's CPU time (all its threads) spent in a part of a computation.</summary>
public readonly record struct PartTime(TimeSpan Wall, TimeSpan Cpu)
{
    public static PartTime operator +(PartTime a, PartTime b) => new(a.Wall + b.Wall, a.Cpu + b.Cpu);

    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Wall.TotalSeconds:0.00} s / {Cpu.TotalSeconds:0.00} s CPU");
}

/// <summary>Measures consecutive parts: each <see cref="Lap"/> is the time since the start or the last lap.</summary>
public sealed class PartClock
{
    private readonly System.Diagnostics.Stopwatch _wall = System.Diagnostics.Stopwatch.StartNew();
    private TimeSpan _cpu = Environment.CpuUsage.TotalTime;

    public static PartClock Start() => new();

    public PartTime Lap()
    {
        var (wall, cpu) = (_wall.Elapsed, Environment.CpuUsage.TotalTime);
        var part = new PartTime(wall, cpu - _cpu);
        _wall.Restart();
        _cpu = cpu;
        return part;
    }
}
