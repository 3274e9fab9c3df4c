using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Void morphology from the void's 26-connected components (<see cref="ComponentAccumulator.Components"/>): size
/// distribution by equivalent sphere diameter d = (6V/π)^⅓, percolation along each axis (one component touches both
/// opposite faces of the volume), and shape (<see cref="ComponentShapes"/>), so flake-like cracks and round pores are
/// told apart.
/// </summary>
/// <param name="Components">Every component, largest first (ties by centroid z, y, x, then bounding-box corner, so the order is reproducible).</param>
/// <param name="BinEdgesUm">Equivalent-diameter bin edges, µm (1-2-5 series; last bin open).</param>
/// <param name="CountPerBin">Components per bin.</param>
/// <param name="VolumeSharePerBin">Share of the void volume per bin.</param>
/// <param name="NumberQuantilesUm">d10, d50, d90 of the number distribution of equivalent diameters, µm (nearest rank).</param>
/// <param name="VolumeMedianUm">Diameter of the component that holds the median void voxel (largest first), µm.</param>
/// <param name="Percolates">z, y, x: some component touches both opposite faces along that axis.</param>
/// <param name="FlakeLikeVolumeShare">Share of the void volume in flake-like components.</param>
public sealed record VoidMorphology(
    IReadOnlyList<ComponentShape> Components, double[] BinEdgesUm, long[] CountPerBin, double[] VolumeSharePerBin,
    double[] NumberQuantilesUm, double VolumeMedianUm, bool[] Percolates, double FlakeLikeVolumeShare)
{
    public static readonly double[] DefaultBinEdgesUm = [0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50];

    public static VoidMorphology From(IEnumerable<ComponentMoments> components, VoxelSize voxelSize, int depth, int height, int width)
    {
        // Largest first; ties by centroid, then first corner: the same order whatever the slabs the components came from.
        var shapes = components.Where(m => m.Count > 0)
            .OrderByDescending(m => m.Count).ThenBy(m => m.Sz).ThenBy(m => m.Sy).ThenBy(m => m.Sx).ThenBy(m => m.MinZ).ThenBy(m => m.MinY).ThenBy(m => m.MinX)
            .Select(m => ComponentShapes.Describe(m, voxelSize, depth, height, width))
            .ToArray();
        var edges = DefaultBinEdgesUm;
        var counts = new long[edges.Length];
        var volumes = new double[edges.Length];
        var total = shapes.Sum(s => (double)s.Voxels);
        foreach (var s in shapes)
        {
            var bin = Array.FindLastIndex(edges, e => s.EquivalentDiameterUm >= e);
            counts[bin]++;
            volumes[bin] += s.Voxels;
        }
        var byDiameter = shapes.Select(s => s.EquivalentDiameterUm).Order().ToArray();
        double Quantile(double q) => byDiameter.Length == 0 ? double.NaN : byDiameter[Math.Clamp((int)Math.Ceiling(q * byDiameter.Length) - 1, 0, byDiameter.Length - 1)];
        var volumeMedian = double.NaN;
        var cumulative = 0.0;
        foreach (var s in shapes)
        {
            cumulative += s.Voxels;
            if (cumulative >= total / 2) { volumeMedian = s.EquivalentDiameterUm; break; }
        }
        return new VoidMorphology(
            shapes, edges, counts, volumes.Select(v => total == 0 ? 0 : v / total).ToArray(),
            [Quantile(0.1), Quantile(0.5), Quantile(0.9)], volumeMedian,
            [shapes.Any(s => s.Percolates[0]), shapes.Any(s => s.Percolates[1]), shapes.Any(s => s.Percolates[2])],
            total == 0 ? 0 : shapes.Where(s => s.FlakeLike).Sum(s => (double)s.Voxels) / total);
    }
}

/// <summary>
/// Share of the void within a distance d of an NMC surface: void voxels whose centre lies within d of the centre of an
/// NMC voxel (the exact anisotropic Euclidean distance, <see cref="DistanceTransform.SquaredNm2WithinReach"/>: exact up to d,
/// which is all the threshold reads; in whole units of the squared spacings, bytes at 50 nm and 0.5 µm, where the voxel
/// size allows: <see cref="DistanceTransform.SquaredUnitsWithinReach{T}"/>, the same counts at a third of the CPU on the
/// 1-Gvoxel phantom's labels, <c>-- metrics-stage</c>), over all void voxels. Streams windows (slab x tile) read with <see cref="RequiredHalo"/> voxels of halo: an NMC voxel
/// within d lies at most ⌊d / s⌋ voxels away along each axis, so the thresholded answer is exact although distances
/// beyond the halo are not.
/// </summary>
public sealed class VoidNearNmcAccumulator
{
    private readonly VoxelSize _voxelSize;
    private readonly double _limitNm2;
    private long _void, _near;
    // Kept from window to window (the windows of a stack are the same size but at its ends); the stage's window budget counts
    // them. Whole units of the squared spacings in bytes or 16 bits where they fit (whole-nm voxels: ReachUnits), else single
    // precision where it gives the same values (DistanceTransform.IsExactInSingle), else double.
    private double[] _squared = [];
    private float[] _squaredSingle = [];
    private byte[] _unitsByte = [];
    private ushort[] _unitsUInt16 = [];
    private readonly ReachUnits? _units;
    private readonly bool _single;

    public VoidNearNmcAccumulator(VoxelSize voxelSize, double distanceUm)
    {
        if (!(distanceUm >= 0) || double.IsInfinity(distanceUm))
            throw new ArgumentOutOfRangeException(nameof(distanceUm), distanceUm, "the distance must be a finite non-negative number of µm");
        _voxelSize = voxelSize;
        DistanceUm = distanceUm;
        // A voxel exactly at d (d a whole number of voxels) counts whatever the rounding of the squares.
        _limitNm2 = Math.Pow(distanceUm * 1000, 2) * (1 + 1e-12);
        _single = DistanceTransform.IsExactInSingle(voxelSize, distanceUm * 1000);
        _units = ReachUnits.For(voxelSize, distanceUm * 1000);
    }

    public double DistanceUm { get; }

    /// <summary>Halo voxels each side (z, y and x) a window needs: ⌊d / s⌋ along the axis with the finest spacing s.</summary>
    public static int RequiredHalo(double distanceUm, VoxelSize voxelSize) =>
        DistanceTransform.ReachVoxels(distanceUm * 1000, Math.Min(voxelSize.ZNm, Math.Min(voxelSize.YNm, voxelSize.XNm)));

    public int HaloVoxels => RequiredHalo(DistanceUm, _voxelSize);

    /// <summary>One window (a tile of a slab plus <see cref="HaloVoxels"/> of halo where the volume goes on); counts its owned voxels.</summary>
    public void Add(Volume<byte> window, SlabWindow slab, TileWindow tile)
    {
        if (window.Depth != slab.SlabSlices || window.Height != tile.ReadHeight || window.Width != tile.ReadWidth)
            throw new ArgumentException(
                $"window is {window.Depth}x{window.Height}x{window.Width}, expected {slab.SlabSlices}x{tile.ReadHeight}x{tile.ReadWidth}", nameof(window));
        var (y0, x0) = tile.OwnedStartInRead;
        // Only the owned void voxels' distances are read: the last pass runs on the columns that hold one.
        var columns = new bool[(long)window.Height * window.Width];
        var marks = MemoryMarshal.Cast<bool, byte>(columns.AsSpan());
        for (var z = slab.OwnedStartInSlab; z < slab.OwnedStartInSlab + slab.OwnedSlices; z++)
            for (var y = y0; y < y0 + tile.OwnedHeight; y++)
            {
                var row = window.Data.AsSpan((int)(((long)z * window.Height + y) * window.Width + x0), tile.OwnedWidth);
                var column = marks.Slice(y * window.Width + x0, tile.OwnedWidth);
                var x = 0;
                // A bool is a byte of 0 or 1: the void test's all-ones lanes masked to 1.
                for (; x <= row.Length - Vector<byte>.Count; x += Vector<byte>.Count)
                    (new Vector<byte>(column[x..]) | (Vector.Equals(new Vector<byte>(row[x..]), new Vector<byte>(PhaseLabel.Void)) & Vector<byte>.One)).CopyTo(column[x..]);
                for (; x < row.Length; x++) column[x] |= row[x] == PhaseLabel.Void ? (byte)1 : (byte)0;
            }
        if (_units is { FitsInBytes: true }) CountNearInUnits(window, slab, tile, columns, _units, ref _unitsByte);
        else if (_units is not null) CountNearInUnits(window, slab, tile, columns, _units, ref _unitsUInt16);
        else if (_single) CountNear(window, slab, tile, columns, ref _squaredSingle);
        else CountNear(window, slab, tile, columns, ref _squared);
    }

    /// <summary>As <see cref="CountNear{T}"/> on the squared distances in whole units of the squared spacings: within the distance where at most the units' limit.</summary>
    private void CountNearInUnits<T>(Volume<byte> window, SlabWindow slab, TileWindow tile, bool[] columns, ReachUnits units, ref T[] squared)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>, System.Numerics.IUnsignedNumber<T>, System.Numerics.IMinMaxValue<T>
    {
        var (y0, x0) = tile.OwnedStartInRead;
        if (squared.LongLength < window.Data.LongLength) squared = new T[window.Data.LongLength];
        DistanceTransform.SquaredUnitsWithinReach(window, label => label == PhaseLabel.Nmc, _voxelSize, units, columns, squared);
        var limit = T.CreateTruncating(units.Limit);
        for (var z = slab.OwnedStartInSlab; z < slab.OwnedStartInSlab + slab.OwnedSlices; z++)
            for (var y = y0; y < y0 + tile.OwnedHeight; y++)
            {
                var row = ((long)z * window.Height + y) * window.Width;
                var i = row + x0;
                if (typeof(T) == typeof(byte))
                {
                    // Void and near voxels counted 32 at a time: a mask of each, their set bits.
                    var labels = window.Data.AsSpan();
                    var values = MemoryMarshal.Cast<T, byte>(squared.AsSpan());
                    var (voidLabel, limitByte) = (Vector256.Create(PhaseLabel.Void), Vector256.Create(byte.CreateTruncating(units.Limit)));
                    for (; i <= row + x0 + tile.OwnedWidth - Vector256<byte>.Count; i += Vector256<byte>.Count)
                    {
                        var isVoid = Vector256.Equals(Vector256.Create(labels.Slice((int)i, Vector256<byte>.Count)), voidLabel);
                        var near = isVoid & Vector256.LessThanOrEqual(Vector256.Create(values.Slice((int)i, Vector256<byte>.Count)), limitByte);
                        _void += BitOperations.PopCount(isVoid.ExtractMostSignificantBits());
                        _near += BitOperations.PopCount(near.ExtractMostSignificantBits());
                    }
                }
                for (; i < row + x0 + tile.OwnedWidth; i++)
                {
                    if (window.Data[i] != PhaseLabel.Void) continue;
                    _void++;
                    if (squared[i] <= limit) _near++;
                }
            }
    }

    /// <summary>The window's squared distances in <typeparamref name="T"/>, then its owned void voxels and those within the distance.</summary>
    private void CountNear<T>(Volume<byte> window, SlabWindow slab, TileWindow tile, bool[] columns, ref T[] squared)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var (y0, x0) = tile.OwnedStartInRead;
        if (squared.LongLength < window.Data.LongLength) squared = new T[window.Data.LongLength];
        DistanceTransform.SquaredNm2WithinReach(window, label => label == PhaseLabel.Nmc, _voxelSize, DistanceUm * 1000, columns, squared);
        for (var z = slab.OwnedStartInSlab; z < slab.OwnedStartInSlab + slab.OwnedSlices; z++)
            for (var y = y0; y < y0 + tile.OwnedHeight; y++)
            {
                var row = ((long)z * window.Height + y) * window.Width;
                for (var i = row + x0; i < row + x0 + tile.OwnedWidth; i++)
                {
                    if (window.Data[i] != PhaseLabel.Void) continue;
                    _void++;
                    if (double.CreateTruncating(squared[i]) <= _limitNm2) _near++;
                }
            }
    }

    public long VoidVoxels => _void;

    public long NearVoxels => _near;

    /// <summary>Near-NMC share of the void; NaN without void.</summary>
    public double Share => _void == 0 ? double.NaN : (double)_near / _void;
}
