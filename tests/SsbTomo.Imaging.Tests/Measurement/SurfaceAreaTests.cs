using System.Globalization;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Measurement;

public class SurfaceAreaTests
{
    internal static SurfaceAreas Measure(Volume<byte> labels, VoxelSize voxelSize)
    {
        var accumulator = new SurfaceAreaAccumulator(voxelSize);
        accumulator.Add(labels);
        return accumulator.Result();
    }

    internal static SmoothedSurfaceAreaAccumulator MeasureSmoothed(Volume<byte> labels, VoxelSize voxelSize, int slabSlices = 0, int tileSize = 512,
        RowBandSample? rows = null)
    {
        var accumulator = new SmoothedSurfaceAreaAccumulator(voxelSize, rows ?? RowBandSample.AllRows, labels.Height, Measure(labels, voxelSize));
        if (slabSlices <= 0) slabSlices = labels.Depth;
        var halo = SmoothedSurfaceAreaAccumulator.RequiredHalo;
        for (var z0 = 0; z0 < labels.Depth; z0 += slabSlices)
        {
            var window = Halo.Expand(labels.Depth, z0, Math.Min(labels.Depth, z0 + slabSlices), halo);
            var slab = Halo.CropZ(labels, window.SlabZ0, window.SlabZ1);
            foreach (var tile in TileGrid.Plan(labels.Height, labels.Width, tileSize, tileSize, halo))
                accumulator.Add(TileGrid.Crop(slab, tile), window, tile);
        }
        return accumulator;
    }

    /// <summary>A ball of NMC of radius <paramref name="radiusNm"/> (physical units) in LPS, voxel centres inside.</summary>
    internal static Volume<byte> Ball(double radiusNm, VoxelSize voxelSize, int margin = 4)
    {
        int Size(double s) => 2 * (int)Math.Ceiling(radiusNm / s) + 2 * margin + 1;
        var v = new Volume<byte>(Size(voxelSize.ZNm), Size(voxelSize.YNm), Size(voxelSize.XNm));
        var (cz, cy, cx) = ((v.Depth - 1) / 2.0, (v.Height - 1) / 2.0, (v.Width - 1) / 2.0);
        for (var z = 0; z < v.Depth; z++)
            for (var y = 0; y < v.Height; y++)
                for (var x = 0; x < v.Width; x++)
                {
                    var r2 = Math.Pow((z - cz) * voxelSize.ZNm, 2) + Math.Pow((y - cy) * voxelSize.YNm, 2) + Math.Pow((x - cx) * voxelSize.XNm, 2);
                    v[z, y, x] = r2 <= radiusNm * radiusNm ? PhaseLabel.Nmc : PhaseLabel.Lps;
                }
        return v;
    }

    /// <summary>Voronoi cells of random seeds, each cell one of the four phases: flat interfaces at every orientation and triple lines.</summary>
    internal static Volume<byte> Cells(int depth, int height, int width, int seeds, int seed)
    {
        var random = new Random(seed);
        var points = Enumerable.Range(0, seeds).Select(i => (Z: random.NextDouble() * depth, Y: random.NextDouble() * height, X: random.NextDouble() * width,
            Label: (byte)(1 + i % 4))).ToArray();
        var v = new Volume<byte>(depth, height, width);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var best = double.MaxValue;
                    foreach (var p in points)
                    {
                        var d = (p.Z - z) * (p.Z - z) + (p.Y - y) * (p.Y - y) + (p.X - x) * (p.X - x);
                        if (d < best) (best, v[z, y, x]) = (d, p.Label);
                    }
                }
        return v;
    }

    /// <summary>
    /// σ = 1 voxel is a tuning: it trades the staircase (+8 % on any binary surface) for a shrink of curved surfaces. On the
    /// phantom family's thin phases (carbon fibres 0.1-0.35 µm across: radius 1-3.5 voxels at 50 nm; pores of radius
    /// 3-5 voxels) that shrink is the bias, so it is pinned here on a fibre of each radius: lateral area 2πrL of a
    /// cylinder of carbon in LPS, voxel centres inside, running through the volume along x.
    /// </summary>
    [Theory]
    [InlineData(50, 50, 50, 600)]
    [InlineData(20, 20, 40, 300)] // anisotropic: the layer is counted in voxel edges of cube-root thickness (25.2 nm)
    [InlineData(10, 10, 30, 400)]
    public void A_layer_one_voxel_thick_over_a_ball_holds_what_growing_the_ball_by_one_voxel_adds(double xyNm, double xyNm2, double zNm, double radiusNm)
    {
        var voxel = new VoxelSize(xyNm, xyNm2, zNm);
        var edgeNm = Math.Cbrt(voxel.VoxelVolumeNm3);
        var grown = Ball(radiusNm + edgeNm, voxel);
        // The ball itself in the same grid: NMC voxels of the grown ball within the smaller radius.
        var ball = grown.Clone();
        var (cz, cy, cx) = ((ball.Depth - 1) / 2.0, (ball.Height - 1) / 2.0, (ball.Width - 1) / 2.0);
        for (var z = 0; z < ball.Depth; z++)
            for (var y = 0; y < ball.Height; y++)
                for (var x = 0; x < ball.Width; x++)
                {
                    var r2 = Math.Pow((z - cz) * voxel.ZNm, 2) + Math.Pow((y - cy) * voxel.YNm, 2) + Math.Pow((x - cx) * voxel.XNm, 2);
                    if (r2 > radiusNm * radiusNm) ball[z, y, x] = PhaseLabel.Lps;
                }
        long Count(Volume<byte> v) => v.Data.LongCount(l => l == PhaseLabel.Nmc);
        var addedUm3 = (Count(grown) - Count(ball)) * voxel.VoxelVolumeNm3 * 1e-9;
        var areas = Measure(ball, voxel);
        var layerUm3 = areas.LayerShare(PhaseLabel.Nmc, 1) * areas.ValidVolumeUm3;
        Console.WriteLine($"voxel {xyNm}x{xyNm2}x{zNm} nm, ball {radiusNm} nm: layer {layerUm3:0.0000} µm³, grown by one edge {addedUm3:0.0000} µm³");
        // The marching-cubes area of a voxelised ball runs a few per cent over the sphere's (more on coarse z steps), the shell's mean
        // radius over its inner one; an edge taken as the x or z voxel side instead would be 21 % low or 2.4x high on 10x10x30 nm.
        Assert.InRange(layerUm3 / addedUm3, 0.88, 1.15);
        Assert.Equal(0.25 * areas.LayerShare(PhaseLabel.Nmc, 1), areas.LayerShare(PhaseLabel.Nmc, 0.25), 12);
    }

    [Theory]
    // Measured: −73 % at r = 1 (the blurred fibre barely reaches the 0.5 level), −13 to −15 % at 1.5-2, −6 % at 3.5,
    // within ±0.5 % from r = 5. The binary estimator is +35 %, +15 %, +12 %, +1 %, +14 %, +10 % at the same radii.
    [InlineData(1.0, -0.80, -0.65)]
    [InlineData(1.5, -0.20, -0.08)]
    [InlineData(2.0, -0.20, -0.10)]
    [InlineData(3.5, -0.10, -0.03)]
    [InlineData(5.0, -0.02, 0.02)]
    [InlineData(10.0, -0.01, 0.01)]
    public void Smoothed_marching_cubes_shrinks_a_thin_fibres_area_by_a_known_share(double radiusVoxels, double lowest, double highest)
    {
        var voxel = VoxelSize.Isotropic(50);
        var size = 2 * (int)Math.Ceiling(radiusVoxels) + 13;
        var v = new Volume<byte>(size, size, 24);
        var c = (size - 1) / 2.0;
        for (var z = 0; z < size; z++)
            for (var y = 0; y < size; y++)
                for (var x = 0; x < v.Width; x++)
                    v[z, y, x] = (z - c) * (z - c) + (y - c) * (y - c) <= radiusVoxels * radiusVoxels ? PhaseLabel.Carbon : PhaseLabel.Lps;
        // Cubes span x = 0..W-1: the fibre's lateral surface over W - 1 voxels of length.
        var truth = 2 * Math.PI * radiusVoxels * (v.Width - 1) * Math.Pow(voxel.XNm / 1000, 2);
        var relative = MeasureSmoothed(v, voxel).SurfaceUm2()[PhaseLabel.Carbon] / truth - 1;
        var binary = Measure(v, voxel).MarchingCubesSurfaceUm2[PhaseLabel.Carbon] / truth - 1;
        Console.WriteLine($"fibre radius {radiusVoxels} voxels: smoothed {relative:+0.000;-0.000}, binary {binary:+0.000;-0.000}");
        Assert.InRange(relative, lowest, highest);
    }

    /// <summary>
    /// Clusters of 3x3x3 voxels of carbon and void in a checkerboard, in electrolyte (a fine binder and pores under the
    /// resolution, as a segmented real electrode holds): alone each phase vanishes under the Gaussian, together their sum
    /// passes the iso-level, so (S_a + S_b − S_a∪b) / 2 comes out below zero. An area is never negative: it is reported as none.
    /// </summary>
    [Fact]
    public void Smoothed_marching_cubes_never_reports_a_negative_interface_between_specks_too_thin_for_it()
    {
        var voxel = VoxelSize.Isotropic(50);
        var v = new Volume<byte>(24, 24, 48);
        v.Data.AsSpan().Fill(PhaseLabel.Lps);
        for (var z0 = 4; z0 < 18; z0 += 7)
        for (var y0 = 4; y0 < 18; y0 += 7)
        for (var x0 = 4; x0 < 42; x0 += 7)
        for (var z = z0; z < z0 + 3; z++)
        for (var y = y0; y < y0 + 3; y++)
        for (var x = x0; x < x0 + 3; x++)
            v[z, y, x] = (z + y + x) % 2 == 0 ? PhaseLabel.Carbon : PhaseLabel.Void;
        var smoothed = MeasureSmoothed(v, voxel);

        Assert.Equal(0, smoothed.InterfaceUm2(PhaseLabel.Carbon, PhaseLabel.Void));
        Assert.All(Enumerable.Range(1, 4).SelectMany(a => Enumerable.Range(1, 4).Select(b => smoothed.InterfaceUm2((byte)a, (byte)b))),
            area => Assert.True(area >= 0, $"an interface of {area} µm²"));
    }

    [Fact]
    public void A_box_has_its_exact_face_area_with_anisotropic_voxels()
    {
        var voxel = new VoxelSize(20, 10, 30); // x, y, z nm
        var v = new Volume<byte>(12, 14, 16);
        Array.Fill(v.Data, PhaseLabel.Lps);
        const int bz = 5, by = 7, bx = 9;
        for (var z = 3; z < 3 + bz; z++)
            for (var y = 4; y < 4 + by; y++)
                for (var x = 2; x < 2 + bx; x++)
                    v[z, y, x] = PhaseLabel.Nmc;
        var areas = Measure(v, voxel);
        double Lz = bz * 0.030, Ly = by * 0.010, Lx = bx * 0.020;
        var expected = 2 * (Ly * Lx + Lz * Lx + Lz * Ly);
        Assert.Equal(expected, areas.FaceCountSurfaceUm2(PhaseLabel.Nmc), 12);
        Assert.Equal(expected, areas.FaceCountInterfaceUm2(PhaseLabel.Nmc, PhaseLabel.Lps), 12);
        Assert.Equal(2L * by * bx, areas.Faces(PhaseLabel.Nmc, PhaseLabel.Lps, 0));
        Assert.Equal(2L * bz * bx, areas.Faces(PhaseLabel.Lps, PhaseLabel.Nmc, 1));
        Assert.Equal(2L * bz * by, areas.Faces(PhaseLabel.Nmc, PhaseLabel.Lps, 2));
        Assert.Equal(v.Data.Length * 20 * 10 * 30 * 1e-9, areas.ValidVolumeUm3, 12);
        Assert.Equal(0, areas.FaceCountInterfaceUm2(PhaseLabel.Nmc, PhaseLabel.Void));
    }

    [Theory]
    [InlineData(20, 1, 1, 1)]
    [InlineData(24, 1, 1, 1)]
    [InlineData(20, 1, 1, 2)]   // z slices twice as thick (r = 20 in-plane voxels, 10 slices)
    [InlineData(30, 1.5, 1, 2)]
    public void Smoothed_marching_cubes_finds_a_spheres_area_within_one_percent(double radiusVoxels, double x, double y, double z)
    {
        var voxel = new VoxelSize(10 * x, 10 * y, 10 * z);
        var radiusNm = radiusVoxels * 10 * Math.Min(x, Math.Min(y, z));
        var ball = Ball(radiusNm, voxel);
        var truth = 4 * Math.PI * Math.Pow(radiusNm / 1000, 2);

        var smoothed = MeasureSmoothed(ball, voxel).SurfaceUm2()[PhaseLabel.Nmc];
        Assert.InRange(smoothed / truth, 0.99, 1.01);

        // The binary estimators on the same ball: marching cubes follows the staircase (~8 % over), face count ~1.5x.
        var binary = Measure(ball, voxel);
        Assert.InRange(binary.MarchingCubesSurfaceUm2[PhaseLabel.Nmc] / truth, 1.04, 1.14);
        Assert.InRange(binary.FaceCountSurfaceUm2(PhaseLabel.Nmc) / truth, 1.4, 1.6);
    }

    [Fact]
    public void Every_cube_configuration_closes_its_loops_and_complementary_configurations_have_equal_area_where_unambiguous()
    {
        var table = MarchingCubes.BinaryAreaTable(1, 1, 1);
        Assert.Equal(0, table[0]);
        Assert.Equal(0, table[255]);
        Assert.Equal(Math.Sqrt(3) / 8, table[1], 12);      // one corner: a triangle through three edge midpoints
        Assert.Equal(1.0, table[0b0000_1111], 12);          // one face inside: a unit square halfway
        Assert.Equal(Math.Sqrt(2) / 2, table[0b0000_0011], 12); // one edge inside: a rectangle 1 x √2/2
        for (var c = 1; c < 255; c++) Assert.True(table[c] > 0, $"configuration {c} has no surface");
    }

    private const string SkimageAreas = """
        from skimage import measure
        from scipy import ndimage
        d, shape = sys.argv[1], tuple(int(s) for s in sys.argv[2].split(','))
        spacing = tuple(float(s) for s in sys.argv[3].split(','))
        a = np.fromfile(d + '/labels.raw', dtype=np.uint8).reshape(shape)
        def area(field):
            v, f, _, _ = measure.marching_cubes(field, 0.5, spacing=spacing)
            return measure.mesh_surface_area(v, f)
        ind = {p: (a == p).astype(np.float64) for p in (1, 2, 3, 4)}
        smooth = {p: ndimage.gaussian_filter(ind[p], 1.0) for p in ind}
        for p in (1, 2, 3, 4):
            print('phase', p, repr(area(ind[p])), repr(area(smooth[p])))
        for p in (1, 2, 3, 4):
            for q in range(p + 1, 5):
                print('union', p, q, repr(area(ind[p] + ind[q])), repr(area(smooth[p] + smooth[q])))
        """;

    [Theory]
    [InlineData(1, 10.0, 10.0, 10.0)]
    [InlineData(2, 10.0, 10.0, 25.0)]
    [InlineData(3, 12.0, 8.0, 20.0)]
    public void Marching_cubes_areas_match_scikit_image_on_four_phase_cells(int seed, double x, double y, double z)
    {
        var v = Cells(26, 30, 34, 40, seed);
        var voxel = new VoxelSize(x, y, z);
        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "labels.raw"), v.Data);
        var spacing = string.Join(',', new[] { z / 1000, y / 1000, x / 1000 }.Select(s => s.ToString("R", CultureInfo.InvariantCulture)));
        var lines = PythonOracle.Run(OracleIo.Python(SkimageAreas), dir.Path, $"{v.Depth},{v.Height},{v.Width}", spacing)
            .Trim().Split('\n').Select(l => l.Split(' ')).ToArray();

        var binary = Measure(v, voxel);
        var smoothed = MeasureSmoothed(v, voxel);
        var smoothedSurface = smoothed.SurfaceUm2();
        var skPhase = lines.Where(f => f[0] == "phase").ToDictionary(f => byte.Parse(f[1], CultureInfo.InvariantCulture),
            f => (Binary: double.Parse(f[2], CultureInfo.InvariantCulture), Smooth: double.Parse(f[3], CultureInfo.InvariantCulture)));
        foreach (var (p, sk) in skPhase)
        {
            // Smooth field: no ties at the level; only the split of non-planar polygons differs from Lewiner's tables.
            Assert.InRange(smoothedSurface[p] / sk.Smooth, 0.995, 1.005);
            // Binary indicator: every ambiguous face sits on its tie; this estimator follows skimage's tie rule except in
            // two configuration classes and, with anisotropic spacing, in which fan it takes (MarchingCubes' summary).
            // Measured: 0.9996-1.0029 over the three cells.
            Assert.InRange(binary.MarchingCubesSurfaceUm2[p] / sk.Binary, 0.995, 1.005);
        }
        foreach (var f in lines.Where(f => f[0] == "union"))
        {
            var (p, q) = (byte.Parse(f[1], CultureInfo.InvariantCulture), byte.Parse(f[2], CultureInfo.InvariantCulture));
            var skSmoothInterface = (skPhase[p].Smooth + skPhase[q].Smooth - double.Parse(f[4], CultureInfo.InvariantCulture)) / 2;
            Assert.Equal(skSmoothInterface, smoothed.InterfaceUm2(p, q), 0.01 * Math.Max(skPhase[p].Smooth, skPhase[q].Smooth));
        }
    }

    private const string SkimageSingleCubes = """
        from skimage import measure
        spacing = tuple(float(s) for s in sys.argv[1].split(','))
        for c in range(1, 255):
            a = np.zeros((2, 2, 2))
            for i in range(8):
                if c >> i & 1:
                    a[i >> 2 & 1, i >> 1 & 1, i & 1] = 1
            v, f, _, _ = measure.marching_cubes(a, 0.5, spacing=spacing)
            print(c, repr(measure.mesh_surface_area(v, f)))
        """;

    [Theory]
    [InlineData(1.0, 1.0, 1.0, 1e-6, 1e-6)]
    // Anisotropic: skimage's fan apex is fixed by its tables, this estimator takes the largest fan at the spacing.
    // Measured: up to +5.8 %, mean 0.50 % / 0.33 % over the other 206 configurations; the two classes +4 to +13 % and −5 to −27 %.
    [InlineData(0.03, 0.01, 0.02, 0.06, 0.006)]
    [InlineData(0.1, 0.05, 0.05, 0.06, 0.006)]
    public void Single_cube_binary_areas_equal_scikit_image_except_two_documented_classes(double dz, double dy, double dx, double worst, double mean)
    {
        var sk = PythonOracle.Run(OracleIo.Python(SkimageSingleCubes), FormattableString.Invariant($"{dz:R},{dy:R},{dx:R}"))
            .Trim().Split('\n').Select(l => l.Split(' ')).ToDictionary(f => int.Parse(f[0], CultureInfo.InvariantCulture), f => double.Parse(f[1], CultureInfo.InvariantCulture));
        var ours = MarchingCubes.BinaryAreaTable(dz, dy, dx);
        var (sevenLoops, tunnels, others) = (new List<double>(), new List<double>(), new List<double>());
        for (var c = 1; c < 255; c++)
        {
            var r = ours[c] / sk[c] - 1;
            if (MarchingCubes.Loops[c].Any(loop => loop.Length == 7)) sevenLoops.Add(r);        // case 6.2: skimage's strip vs our largest fan
            else if (MarchingCubes.HasTunnel(c) && int.PopCount(c) == 5) tunnels.Add(r);     // 6.1.2: skimage's centre vertex vs least-area band
            else others.Add(r);
        }
        string Range(List<double> r) => FormattableString.Invariant($"{r.Count} configurations, {r.Min():+0.0000;-0.0000} to {r.Max():+0.0000;-0.0000}, mean |r| {r.Average(Math.Abs):0.0000}");
        Console.WriteLine($"seven-vertex loops: {Range(sevenLoops)}; 6.1.2 tunnels: {Range(tunnels)}; the other configurations: {Range(others)}");
        Assert.Equal(24, sevenLoops.Count); // each class: its 24 rotations and reflections
        Assert.Equal(24, tunnels.Count);
        Assert.All(sevenLoops, r => Assert.InRange(r, 0, 0.15));
        Assert.All(tunnels, r => Assert.InRange(r, -0.3, 0));
        Assert.True(others.Max(Math.Abs) <= worst, Range(others));
        Assert.True(others.Average(Math.Abs) <= mean, Range(others));
    }

    [Fact]
    public void TauFactor_electrode_specific_surfaces_equal_TauFactors_published_values()
    {
        const string tiff = "/work/shared/data/taufactor/electrode.tiff";
        Assert.True(File.Exists(tiff), $"{tiff} is missing");
        using var dir = new TempDirectory();
        PythonOracle.Run(OracleIo.Python("""
            import tifffile
            a = tifffile.imread(sys.argv[1])
            m = np.zeros(a.shape, np.uint8)
            m[a == 0], m[a == 85], m[a == 170] = 4, 1, 3
            m.tofile(sys.argv[2] + '/labels.raw')
            """), tiff, dir.Path);
        var v = new Volume<byte>(256, 256, 256, OracleIo.Read<byte>(Path.Combine(dir.Path, "labels.raw")));
        var areas = Measure(v, VoxelSize.Isotropic(1000)); // 1 µm voxels: areas in voxel faces
        // TauFactor's outputs (issue 11): faces / all voxels for pore (0), NMC (85), carbon-binder (170).
        Assert.Equal(0.30683690, areas.FaceCountSurfaceUm2(PhaseLabel.Void) / v.Length, 8);
        Assert.Equal(0.14610451, areas.FaceCountSurfaceUm2(PhaseLabel.Nmc) / v.Length, 8);
        Assert.Equal(0.34222639, areas.FaceCountSurfaceUm2(PhaseLabel.Carbon) / v.Length, 8);
        // Unsmoothed marching cubes, area / all voxels: TauFactor's published values (skimage 0.19.3
        // marching_cubes(mask, 0.5) + mesh_surface_area, no padding), within the issue's 0.5 %.
        Assert.Equal(0.22268115, areas.MarchingCubesSurfaceUm2[PhaseLabel.Void] / v.Length, 0.005 * 0.22268115);
        Assert.Equal(0.10418400, areas.MarchingCubesSurfaceUm2[PhaseLabel.Nmc] / v.Length, 0.005 * 0.10418400);
        Assert.Equal(0.25399911, areas.MarchingCubesSurfaceUm2[PhaseLabel.Carbon] / v.Length, 0.005 * 0.25399911);
    }

    /// <summary>The same valid voxels, voxel faces per axis and pair, and marching-cube areas, to the bit.</summary>
    private static void AssertSameCounts(SurfaceAreas expected, SurfaceAreas actual)
    {
        Assert.Equal(expected.ValidVoxels, actual.ValidVoxels);
        for (byte a = 1; a <= 4; a++)
        {
            Assert.Equal(expected.MarchingCubesSurfaceUm2[a], actual.MarchingCubesSurfaceUm2[a]);
            for (byte b = 1; b <= 4; b++)
            {
                for (var axis = 0; axis < 3; axis++) Assert.Equal(expected.Faces(a, b, axis), actual.Faces(a, b, axis));
                Assert.Equal(expected.MarchingCubesInterfaceUm2(a, b), actual.MarchingCubesInterfaceUm2(a, b));
            }
        }
    }

    /// <summary>Labels in runs along x (so most neighbours are equal, as in a segmentation), Outside voxels among them.</summary>
    internal static Volume<byte> RunsOfLabels(int depth, int height, int width, int seed)
    {
        var random = new Random(seed);
        var v = new Volume<byte>(depth, height, width);
        byte label = 1;
        for (var i = 0; i < v.Data.Length; i++)
        {
            if (random.NextDouble() < 0.15) label = (byte)(random.NextDouble() < 0.05 ? PhaseLabel.Outside : random.Next(1, 5));
            v.Data[i] = label;
        }
        return v;
    }

    [Theory]
    [InlineData(3, 5, 70, 1)]
    [InlineData(4, 9, 33, 2)]
    [InlineData(2, 40, 97, 3)]
    [InlineData(3, 6, 31, 4)] // narrower than the vector lanes
    public void Face_counts_and_cube_states_equal_the_plain_per_voxel_count(int depth, int height, int width, int seed)
    {
        var v = RunsOfLabels(depth, height, width, seed);
        var voxel = new VoxelSize(30, 20, 25);
        var faces = new long[3, PhaseLabel.Count, PhaseLabel.Count];
        var cubes = new long[1 << 16];
        long valid = 0;
        void Face(int axis, byte a, byte b)
        {
            if (a != b && a != PhaseLabel.Outside && b != PhaseLabel.Outside) faces[axis, Math.Min(a, b), Math.Max(a, b)]++;
        }
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    if (v[z, y, x] != PhaseLabel.Outside) valid++;
                    if (z + 1 < depth) Face(0, v[z, y, x], v[z + 1, y, x]);
                    if (y + 1 < height) Face(1, v[z, y, x], v[z, y + 1, x]);
                    if (x + 1 < width) Face(2, v[z, y, x], v[z, y, x + 1]);
                    if (z + 1 >= depth || y + 1 >= height || x + 1 >= width) continue;
                    var corners = new[] { v[z, y, x], v[z, y, x + 1], v[z, y + 1, x], v[z, y + 1, x + 1], v[z + 1, y, x], v[z + 1, y, x + 1], v[z + 1, y + 1, x], v[z + 1, y + 1, x + 1] };
                    if (corners.Contains(PhaseLabel.Outside) || corners.All(c => c == corners[0])) continue;
                    var state = 0;
                    for (var c = 0; c < 8; c++) state |= (corners[c] - 1) << (2 * c);
                    cubes[state]++;
                }
        var expected = new SurfaceAreas(voxel, valid, faces, cubes);
        // Streamed in slabs of two slices, as the metrics stage streams them.
        var accumulator = new SurfaceAreaAccumulator(voxel);
        for (var z0 = 0; z0 < depth; z0 += 2) accumulator.Add(Halo.CropZ(v, z0, Math.Min(depth, z0 + 2)));
        AssertSameCounts(expected, accumulator.Result());

        // ContactLoss over boxes of the same labels: an NMC face against LPS, carbon or void, from each voxel to its next one.
        var random = new Random(seed);
        for (var trial = 0; trial < 20; trial++)
        {
            var (z0, y0, x0) = (random.Next(depth), random.Next(height), random.Next(width));
            var (z1, y1, x1) = (random.Next(z0, depth + 1), random.Next(y0, height + 1), random.Next(x0, width + 1));
            long surface = 0, lost = 0;
            void Contact(byte a, byte b)
            {
                var other = a == PhaseLabel.Nmc ? b : b == PhaseLabel.Nmc ? a : PhaseLabel.Outside;
                if (a == b || other is PhaseLabel.Outside or PhaseLabel.Nmc) return;
                surface++;
                if (other == PhaseLabel.Void) lost++;
            }
            for (var z = z0; z < z1; z++)
                for (var y = y0; y < y1; y++)
                    for (var x = x0; x < x1; x++)
                    {
                        if (z + 1 < depth) Contact(v[z, y, x], v[z + 1, y, x]);
                        if (y + 1 < height) Contact(v[z, y, x], v[z, y + 1, x]);
                        if (x + 1 < width) Contact(v[z, y, x], v[z, y, x + 1]);
                    }
            Assert.Equal(new ContactFaces(surface, lost), ContactLoss.CountFrom(v, z0, z1, y0, y1, x0, x1));
        }
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(3, 7)]
    [InlineData(5, 512)]
    [InlineData(11, 9)]
    public void Slab_streamed_and_tiled_areas_equal_the_whole_volume(int slabSlices, int tileSize)
    {
        var v = Cells(23, 19, 21, 30, 7);
        v[5, 6, 7] = PhaseLabel.Outside; // Outside voxels leave faces and cubes out, wherever the slab border falls
        v[11, 0, 3] = PhaseLabel.Outside;
        var voxel = new VoxelSize(15, 12, 40);
        var whole = Measure(v, voxel);
        var streamed = new SurfaceAreaAccumulator(voxel);
        for (var z0 = 0; z0 < v.Depth; z0 += slabSlices) streamed.Add(Halo.CropZ(v, z0, Math.Min(v.Depth, z0 + slabSlices)));
        AssertSameCounts(whole, streamed.Result());

        var smoothedWhole = MeasureSmoothed(v, voxel);
        var smoothedStreamed = MeasureSmoothed(v, voxel, slabSlices, tileSize);
        for (byte a = 1; a <= 4; a++)
        {
            Assert.Equal(smoothedWhole.SurfaceUm2()[a], smoothedStreamed.SurfaceUm2()[a]); // fixed-point sums: exactly
            for (byte b = (byte)(a + 1); b <= 4; b++)
                Assert.Equal(smoothedWhole.InterfaceUm2(a, b), smoothedStreamed.InterfaceUm2(a, b));
        }
    }

    [Fact]
    public void Contact_loss_of_a_ball_half_in_void_is_one_half_by_every_estimator_and_face_count_matches_ContactLoss()
    {
        var voxel = VoxelSize.Isotropic(50);
        var v = Ball(20 * 50, voxel);
        var centre = v.Depth / 2;
        for (var z = 0; z < centre; z++)
            for (var i = 0; i < v.SliceLength; i++)
                if (v.Slice(z)[i] == PhaseLabel.Lps) v.Slice(z)[i] = PhaseLabel.Void;
        var areas = Measure(v, voxel);
        var legacy = ContactLoss.Count(v);
        Assert.Equal(legacy.LossFraction, areas.FaceCountContactLoss, 12); // isotropic voxels: area weights cancel
        Assert.InRange(areas.FaceCountContactLoss, 0.45, 0.5);              // the centre slice is on the LPS side
        Assert.InRange(areas.MarchingCubesContactLoss, 0.45, 0.52);
        Assert.InRange(MeasureSmoothed(v, voxel).ContactLoss, 0.45, 0.52);
        Assert.Equal(0, areas.MarchingCubesInterfaceUm2(PhaseLabel.Nmc, PhaseLabel.Carbon), 12);
    }

    /// <summary>
    /// The accumulator's shortcuts (vectorised bits, blocks of cubes skipped, a union's area taken from its partner where
    /// the other phase's smoothed field is exactly 0) against the definition computed plainly: every indicator set's
    /// Gaussian (the public Denoise.Gaussian of the set's indicator), every cube's marching-cubes area, the same
    /// fixed-point rounding. Widths not a multiple of a vector, thin fibres, single voxels and Outside voxels included.
    /// </summary>
    /// <remarks>
    /// With a row sample (bands of <paramref name="bandRows"/> rows, every <paramref name="every"/>th, as a large stack's
    /// metrics count them) the sums are the plain definition's on the cubes of the sampled rows, scaled by the voxel faces
    /// between the same phases on every row over those on the sampled rows, for any slabs and tiles (tiles of 7 rows cut
    /// the bands).
    /// </remarks>
    [Theory]
    [InlineData(11, 23, 37, 1, 0, 1, 0, 512)]
    [InlineData(9, 40, 53, 2, 0, 1, 0, 512)]
    [InlineData(9, 40, 53, 2, 8, 3, 0, 512)]
    [InlineData(9, 40, 53, 2, 8, 3, 4, 7)]
    [InlineData(11, 23, 37, 1, 5, 2, 3, 9)]
    public void Smoothed_areas_equal_the_plain_definition_to_the_bit(int depth, int height, int width, int seed, int bandRows, int every,
        int slabSlices, int tileSize)
    {
        var rows = every == 1 ? RowBandSample.AllRows : new RowBandSample(bandRows, every);
        var random = new Random(seed);
        var v = new Volume<byte>(depth, height, width);
        Array.Fill(v.Data, PhaseLabel.Lps);
        void Blob(byte label, int count, int maxRadius)
        {
            for (var n = 0; n < count; n++)
            {
                var (cz, cy, cx, r) = (random.Next(depth), random.Next(height), random.Next(width), 1 + random.Next(maxRadius));
                for (var z = Math.Max(0, cz - r); z < Math.Min(depth, cz + r + 1); z++)
                    for (var y = Math.Max(0, cy - r); y < Math.Min(height, cy + r + 1); y++)
                        for (var x = Math.Max(0, cx - r); x < Math.Min(width, cx + r + 1); x++)
                            if ((z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) v[z, y, x] = label;
            }
        }
        Blob(PhaseLabel.Nmc, 6, 8);
        Blob(PhaseLabel.Void, 10, 3);
        Blob(PhaseLabel.Carbon, 12, 1);
        for (var n = 0; n < 30; n++) v[random.Next(depth), random.Next(height), random.Next(width)] = (byte)(1 + random.Next(4));
        for (var y = 0; y < 3; y++)
            for (var x = 0; x < width; x++) v[depth - 1, y, x] = PhaseLabel.Outside;
        var voxel = new VoxelSize(40, 25, 25);

        var measured = MeasureSmoothed(v, voxel, slabSlices, tileSize, rows);
        var sampledRows = new HashSet<int>(rows.Bands(0, height - 1).SelectMany(band => Enumerable.Range(band.Y0, band.Y1 - band.Y0)));
        var scale = (double)(height - 1) / sampledRows.Count;

        var fields = new float[PhaseLabel.Count][];
        for (byte p = 1; p < PhaseLabel.Count; p++)
            fields[p] = Denoise.Gaussian(new Volume<ushort>(depth, height, width, Array.ConvertAll(v.Data, l => (ushort)(l == p ? 1 : 0))),
                SmoothedSurfaceAreaAccumulator.SigmaVoxels).Data;
        Int128 Plain(byte a, byte b)
        {
            Int128 sum = 0;
            Span<double> values = stackalloc double[8];
            for (var z = 0; z < depth - 1; z++)
                for (var y = 0; y < height - 1; y++)
                    for (var x = 0; x < width - 1; x++)
                    {
                        if (!sampledRows.Contains(y)) continue;
                        var (config, outside) = (0, false);
                        for (var c = 0; c < 8; c++)
                        {
                            var i = ((long)(z + (c >> 2 & 1)) * height + y + (c >> 1 & 1)) * width + x + (c & 1);
                            values[c] = fields[a][i] + (b == 0 ? 0.0 : fields[b][i]);
                            outside |= v.Data[i] == PhaseLabel.Outside;
                            if (values[c] > 0.5) config |= 1 << c;
                        }
                        if (outside || config is 0 or 255) continue;
                        sum += (Int128)Math.Round(MarchingCubes.CubeArea(config, values, 0.5, voxel.ZNm / 1000, voxel.YNm / 1000, voxel.XNm / 1000) * 281474976710656.0);
                    }
            return sum;
        }
        double Um2(Int128 units) => (double)units / 281474976710656.0;
        // Sampled, each area is scaled by the area-weighted voxel faces between its phases on every row over those on the
        // sampled rows (a face between rows y and y + 1 on row y), or by the cube rows' share where the sample has none.
        var (facesAll, facesSampled) = (new double[PhaseLabel.Count, PhaseLabel.Count], new double[PhaseLabel.Count, PhaseLabel.Count]);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    foreach (var (dz, dy, dx, area) in new[] { (1, 0, 0, voxel.XNm * voxel.YNm), (0, 1, 0, voxel.XNm * voxel.ZNm), (0, 0, 1, voxel.YNm * voxel.ZNm) })
                    {
                        if (z + dz >= depth || y + dy >= height || x + dx >= width) continue;
                        var (a, b) = (v[z, y, x], v[z + dz, y + dy, x + dx]);
                        if (a == b || a == PhaseLabel.Outside || b == PhaseLabel.Outside) continue;
                        facesAll[Math.Min(a, b), Math.Max(a, b)] += area;
                        if (rows.Bands(y, y + 1).Any()) facesSampled[Math.Min(a, b), Math.Max(a, b)] += area;
                    }
        double Scale(params (byte A, byte B)[] pairs)
        {
            if (every == 1) return 1;
            var (all, some) = (pairs.Sum(p => facesAll[p.A, p.B]), pairs.Sum(p => facesSampled[p.A, p.B]));
            return some > 0 ? all / some : scale;
        }
        (byte, byte) Pair(byte a, byte b) => (Math.Min(a, b), Math.Max(a, b));
        Assert.InRange(sampledRows.Count, every == 1 ? height - 1 : 1, height - (every == 1 ? 1 : 2));
        for (byte a = 1; a < PhaseLabel.Count; a++)
        {
            var others = Enumerable.Range(1, PhaseLabel.Count - 1).Where(o => o != a).Select(o => Pair(a, (byte)o)).ToArray();
            Assert.Equal(Um2(Plain(a, 0)) * Scale(others), measured.SurfaceUm2()[a], 12);
            for (var b = (byte)(a + 1); b < PhaseLabel.Count; b++)
                Assert.Equal(Math.Max(0, Um2(Plain(a, 0) + Plain(b, 0) - Plain(a, b)) / 2 * Scale((a, b))), measured.InterfaceUm2(a, b), 12);
        }
        if (every == 1) Assert.Equal(Um2(Plain(PhaseLabel.Nmc, 0)), measured.SurfaceUm2()[PhaseLabel.Nmc]);
    }
}
