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
/// One phase's closed surface mesh in µm, built slab by slab so that memory follows the slab, not the volume, and equal to
/// the mesh of the whole volume at once whatever the slabs (the same vertices, triangles and bytes).
/// <list type="number">
/// <item><b>Field</b>: the phase's indicator smoothed by a Gaussian of σ = 1 voxel
/// (<see cref="SmoothedSurfaceAreaAccumulator.SigmaVoxels"/>, the field the smoothed areas of metrics.json are measured
/// on); voxels outside the valid region and beyond the volume's edge count as 0, so the surface closes there.</item>
/// <item><b>Marching cubes</b> at 0.5 (Lorensen &amp; Cline 1987, doi:10.1145/37401.37422) with the loops of
/// <see cref="MarchingCubes"/> (each ambiguous face keeps its inside corners joined, so neighbouring cubes agree and the
/// surface has no cracks), vertices interpolated along cube edges and identified by their edge in the whole volume: a
/// vertex on a slab boundary is the same vertex, with the same position, in both slabs. Each loop is a fan from its
/// first vertex, oriented outwards.</item>
/// <item><b>Decimation</b> (optional) by <see cref="VertexClustering"/> (Lindstrom 2000), fed the triangles in the
/// volume's cube order as the slabs arrive; memory is one slab plus the decimated mesh.</item>
/// <item><b>Smoothing</b> of the result by <see cref="TaubinSmoothing"/> (Taubin 1995), which does not shrink it. It runs
/// on the decimated mesh, after the slabs, so a slab needs no halo for it.</item>
/// </list>
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
    private readonly ITriangleSink _sink;
    private int _nextOwnedLayer = -1;

    /// <param name="isPhase">Which labels are the phase (the indicator is 1 there).</param>
    /// <param name="classifyContact">Record per vertex what lies on the other side (<see cref="SurfaceContact"/>).</param>
    public PhaseSurfaceBuilder(Func<byte, bool> isPhase, VoxelSize voxelSize, int depth, int height, int width, SurfaceOptions options,
        bool classifyContact = false)
    {
        ArgumentNullException.ThrowIfNull(isPhase);
        ArgumentNullException.ThrowIfNull(voxelSize);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.TaubinIterations);
        (_voxel, _depth, _height, _width, _options, _classifyContact) = (voxelSize, depth, height, width, options, classifyContact);
        for (var label = 0; label < 256; label++) _indicator[label] = isPhase((byte)label) ? (ushort)1 : (ushort)0;
        _sink = options.TargetTriangles is { } target
            ? new VertexClustering(Math.Max(voxelSize.XNm, Math.Max(voxelSize.YNm, voxelSize.ZNm)) / 1000, target)
            : new WeldedTriangles();
    }

    public PhaseSurfaceBuilder(byte phase, VoxelSize voxelSize, int depth, int height, int width, SurfaceOptions options, bool classifyContact = false)
        : this(label => label == phase, voxelSize, depth, height, width, options, classifyContact) { }

    /// <summary>
    /// Slices of labels each slab needs beyond its own on each side (where the volume goes on): the Gaussian's radius
    /// around the slices its cube layers join.
    /// </summary>
    public static int HaloSlices => Denoise.GaussianRadiusVoxels(SmoothedSurfaceAreaAccumulator.SigmaVoxels) + 1;

    /// <summary>
    /// Memory per voxel of a slab while one phase is meshed, at its peak: the labels, the indicator (uint16), the
    /// Gaussian's passes and the padded field (float and a flag), or later the slab's undecimated mesh where the surface is
    /// dense (welded triangles, vertex keys and positions, the welding table: ~0.5 triangles a voxel in a carbon-rich
    /// 50 nm stack).
    /// </summary>
    public const int BytesPerSlabVoxel = 48;

    /// <summary>
    /// Slices a slab owns so that it and its halo fit <paramref name="budgetBytes"/>: a multiple of
    /// <paramref name="chunkSlices"/> when more than a chunk fits (reads stay chunk-aligned), else as many as fit, at least
    /// one. Whole slices: a slice so large that one slice and its halo do not fit is meshed over the budget.
    /// </summary>
    public static int OwnedSlicesPerSlab(int depth, int height, int width, long budgetBytes, int chunkSlices)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSlices);
        var fits = budgetBytes / Math.Max(1L, (long)height * width * BytesPerSlabVoxel) - 2 * HaloSlices;
        var owned = fits >= chunkSlices ? fits / chunkSlices * chunkSlices : fits;
        return (int)Math.Clamp(owned, 1, Math.Max(1, depth));
    }

    /// <summary>
    /// One slab: <paramref name="slices"/> holds the labels of slices [<paramref name="firstSlice"/>, firstSlice + depth),
    /// which must cover [ownedZ0 − <see cref="HaloSlices"/>, ownedZ1 + HaloSlices) within the volume. Slabs must come in
    /// order and cover the volume.
    /// </summary>
    public void AddSlab(Volume<byte> slices, int firstSlice, int ownedZ0, int ownedZ1)
    {
        ArgumentNullException.ThrowIfNull(slices);
        if (slices.Height != _height || slices.Width != _width)
            throw new ArgumentException($"slices are {slices.Height}x{slices.Width}, the volume {_height}x{_width}", nameof(slices));
        if (ownedZ0 != Math.Max(0, _nextOwnedLayer) || ownedZ1 <= ownedZ0 || ownedZ1 > _depth)
            throw new ArgumentException($"slab [{ownedZ0}, {ownedZ1}) does not continue the slabs before it (next slice {Math.Max(0, _nextOwnedLayer)})");
        var halo = HaloSlices;
        if (firstSlice > Math.Max(0, ownedZ0 - halo) || firstSlice + slices.Depth < Math.Min(_depth, ownedZ1 + halo))
            throw new ArgumentException($"slab [{ownedZ0}, {ownedZ1}) needs slices [{Math.Max(0, ownedZ0 - halo)}, {Math.Min(_depth, ownedZ1 + halo)}), "
                + $"got [{firstSlice}, {firstSlice + slices.Depth})", nameof(slices));

        // Cube layer c joins slices c and c + 1; layer −1 and layer depth − 1 close the surface against the zeros beyond the edge.
        var ownedFirst = ownedZ0 == 0 ? -1 : ownedZ0;
        var field = SmoothedIndicator(slices, firstSlice, ownedFirst, ownedZ1);
        var mesh = SlabMesh.Extract(field, ownedFirst, ownedZ1, _voxel);
        var contacts = _classifyContact ? mesh.Contacts(field, slices, firstSlice, _indicator) : null;
        mesh.Emit(_sink, ownedFirst, ownedZ1, contacts);
        _nextOwnedLayer = ownedZ1;
    }

    /// <summary>The mesh, once every slab was added.</summary>
    public SurfaceMesh Result()
    {
        if (_nextOwnedLayer != _depth && _depth > 0)
            throw new InvalidOperationException($"slabs cover slices [0, {Math.Max(0, _nextOwnedLayer)}) of {_depth}");
        var mesh = _sink.Result(_classifyContact);
        return _options.TaubinIterations > 0 ? TaubinSmoothing.Apply(mesh, _options.TaubinIterations) : mesh;
    }

    /// <summary>The whole volume as one slab.</summary>
    public static SurfaceMesh Build(Volume<byte> labels, byte phase, VoxelSize voxelSize, SurfaceOptions options, bool classifyContact = false)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var builder = new PhaseSurfaceBuilder(phase, voxelSize, labels.Depth, labels.Height, labels.Width, options, classifyContact);
        if (labels.Depth > 0) builder.AddSlab(labels, 0, 0, labels.Depth);
        return builder.Result();
    }

    /// <summary>
    /// The Gaussian-smoothed indicator on slices [first, end] (the slices cube layers [first, end) touch; −1 and depth are
    /// beyond the volume), 0 where the label is Outside, padded by zeros.
    /// </summary>
    private PaddedField SmoothedIndicator(Volume<byte> slices, int firstSlice, int meshFirst, int meshEnd)
    {
        var indicator = new Volume<ushort>(slices.Depth, _height, _width);
        Parallel.For(0, slices.Depth, z =>
        {
            var labels = slices.Slice(z);
            var target = indicator.Slice(z);
            for (var i = 0; i < labels.Length; i++) target[i] = _indicator[labels[i]];
        });
        var smooth = Denoise.Gaussian(indicator, SmoothedSurfaceAreaAccumulator.SigmaVoxels);
        var field = new PaddedField(meshFirst, meshEnd + 1 - meshFirst, _height, _width);
        Parallel.For(Math.Max(0, meshFirst), Math.Min(_depth, meshEnd + 1), z =>
        {
            for (var y = 0; y < _height; y++)
            {
                var source = ((long)(z - firstSlice) * _height + y) * _width;
                var target = field.Index(z, y, 0);
                for (var x = 0; x < _width; x++)
                {
                    var value = slices.Data[source + x] == PhaseLabel.Outside ? 0f : smooth.Data[source + x];
                    field.Values[target + x] = value;
                    field.Inside[target + x] = value > Level ? (byte)1 : (byte)0;
                }
            }
        });
        return field;
    }

    /// <summary>
    /// The smoothed indicator on slices [first, first + slices), zeros beyond the volume on every side: one voxel of
    /// padding in y and x, slices −1 and depth when they are included. <see cref="Inside"/> marks values above the level.
    /// </summary>
    internal sealed class PaddedField
    {
        public PaddedField(int first, int slices, int height, int width)
        {
            (First, Height, Width, RowLength, PlaneLength) = (first, height, width, width + 2, (long)(height + 2) * (width + 2));
            Values = new float[slices * PlaneLength];
            Inside = new byte[slices * PlaneLength];
        }

        public int First { get; }
        public int Height { get; }
        public int Width { get; }
        public int RowLength { get; }
        public long PlaneLength { get; }
        public float[] Values { get; }
        public byte[] Inside { get; }

        /// <summary>Where voxel (z, y, x) is, for y in [−1, height] and x in [−1, width].</summary>
        public long Index(int z, int y, int x) => (z - First) * PlaneLength + (long)(y + 1) * RowLength + x + 1;

        public float this[int z, int y, int x] => Values[Index(z, y, x)];
    }
}
