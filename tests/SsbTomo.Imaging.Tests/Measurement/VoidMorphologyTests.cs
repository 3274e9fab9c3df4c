using System.Globalization;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Measurement;

public class VoidMorphologyTests
{
    private static VoidMorphology Morphology(Volume<byte> labels, VoxelSize voxel, int slabSlices = 0)
    {
        var accumulator = new ComponentAccumulator(PhaseLabel.Void);
        if (slabSlices <= 0) slabSlices = labels.Depth;
        for (var z0 = 0; z0 < labels.Depth; z0 += slabSlices) accumulator.Add(Halo.CropZ(labels, z0, Math.Min(labels.Depth, z0 + slabSlices)));
        Assert.Equal(labels.Depth, accumulator.Depth);
        return VoidMorphology.From(accumulator.Components(), voxel, labels.Depth, labels.Height, labels.Width);
    }

    private static VoidNearNmcAccumulator NearNmc(Volume<byte> labels, VoxelSize voxel, double distanceUm, int slabSlices = 0, int tileSize = 512)
    {
        var accumulator = new VoidNearNmcAccumulator(voxel, distanceUm);
        if (slabSlices <= 0) slabSlices = labels.Depth;
        var halo = accumulator.HaloVoxels;
        for (var z0 = 0; z0 < labels.Depth; z0 += slabSlices)
        {
            var window = Halo.Expand(labels.Depth, z0, Math.Min(labels.Depth, z0 + slabSlices), halo);
            var slab = Halo.CropZ(labels, window.SlabZ0, window.SlabZ1);
            foreach (var tile in TileGrid.Plan(labels.Height, labels.Width, tileSize, tileSize, halo))
                accumulator.Add(TileGrid.Crop(slab, tile), window, tile);
        }
        return accumulator;
    }

    /// <summary>NMC balls, void blobs (balls and thin sheets) and LPS elsewhere.</summary>
    private static Volume<byte> Microstructure(int depth, int height, int width, int seed)
    {
        var random = new Random(seed);
        var v = new Volume<byte>(depth, height, width);
        Array.Fill(v.Data, PhaseLabel.Lps);
        void Ball(byte phase, double r)
        {
            var (cz, cy, cx) = (random.NextDouble() * depth, random.NextDouble() * height, random.NextDouble() * width);
            for (var z = 0; z < depth; z++)
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                        if ((z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r) v[z, y, x] = phase;
        }
        for (var i = 0; i < 6; i++) Ball(PhaseLabel.Nmc, 3 + 4 * random.NextDouble());
        for (var i = 0; i < 12; i++) Ball(PhaseLabel.Void, 0.8 + 2.5 * random.NextDouble());
        for (var i = 0; i < 3; i++)
        {
            var (z0, y0, x0) = (random.Next(depth - 2), random.Next(height - 8), random.Next(width - 10));
            for (var y = y0; y < y0 + 8; y++)
                for (var x = x0; x < x0 + 10; x++)
                    v[z0, y, x] = PhaseLabel.Void;
        }
        v[0, 0, 0] = PhaseLabel.Carbon;
        return v;
    }

    [Theory]
    [InlineData(1, 10.0, 10.0, 10.0)]
    [InlineData(2, 10.0, 10.0, 30.0)]
    [InlineData(3, 7.0, 13.0, 21.0)]
    public void Distance_transform_equals_scipy_with_sampling(int seed, double x, double y, double z)
    {
        var v = Microstructure(17, 19, 23, seed);
        var voxel = new VoxelSize(x, y, z);
        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "labels.raw"), v.Data);
        PythonOracle.Run(OracleIo.Python("""
            from scipy import ndimage
            d, shape = sys.argv[1], tuple(int(s) for s in sys.argv[2].split(','))
            sampling = tuple(float(s) for s in sys.argv[3].split(','))
            a = np.fromfile(d + '/labels.raw', dtype=np.uint8).reshape(shape)
            ndimage.distance_transform_edt(a != 1, sampling=sampling).astype('<f8').tofile(d + '/edt.raw')
            """), dir.Path, "17,19,23", FormattableString.Invariant($"{z:R},{y:R},{x:R}"));
        var expected = OracleIo.Read<double>(Path.Combine(dir.Path, "edt.raw"));
        var ours = DistanceTransform.SquaredNm2(v, label => label == PhaseLabel.Nmc, voxel);
        Assert.Equal(expected.Length, ours.Length);
        for (var i = 0; i < ours.Length; i++) Assert.Equal(expected[i], Math.Sqrt(ours[i]), 1e-9 * Math.Max(1, expected[i]));
    }

    [Fact]
    public void Distance_transform_without_a_feature_is_infinite_and_one_site_gives_exact_distances()
    {
        var v = new Volume<byte>(4, 5, 6);
        Assert.All(DistanceTransform.SquaredNm2(v, label => label == PhaseLabel.Nmc, VoxelSize.Isotropic(1)), d => Assert.True(double.IsPositiveInfinity(d)));
        v[1, 2, 3] = PhaseLabel.Nmc;
        var voxel = new VoxelSize(3, 5, 7);
        var d2 = DistanceTransform.SquaredNm2(v, label => label == PhaseLabel.Nmc, voxel);
        for (var z = 0; z < 4; z++)
            for (var y = 0; y < 5; y++)
                for (var x = 0; x < 6; x++)
                    Assert.Equal(Math.Pow((z - 1) * 7, 2) + Math.Pow((y - 2) * 5, 2) + Math.Pow((x - 3) * 3, 2), d2[(z * 5 + y) * 6 + x], 9);
    }

    /// <summary>A reach beyond the volume: the bounded transform is the whole one on the marked columns (here whole rows, the
    /// granularity at which it skips the z pass) and bounds it from above on the others.</summary>
    [Fact]
    public void Distance_transform_on_marked_columns_equals_the_whole_transform_there_and_bounds_it_elsewhere()
    {
        var random = new Random(5);
        var v = new Volume<byte>(9, 13, 17);
        for (var i = 0; i < v.Data.Length; i++) v.Data[i] = random.NextDouble() < 0.03 ? PhaseLabel.Nmc : PhaseLabel.Void;
        var voxel = new VoxelSize(30, 20, 45);
        var columns = new bool[13 * 17];
        for (var y = 0; y < 13; y++)
            if (random.NextDouble() < 0.4) columns.AsSpan(y * 17, 17).Fill(true);
        var whole = DistanceTransform.SquaredNm2(v, label => label == PhaseLabel.Nmc, voxel);
        var marked = DistanceTransform.SquaredNm2WithinReach(v, label => label == PhaseLabel.Nmc, voxel, 1e6, columns);
        var unmarkedDiffer = 0;
        for (var z = 0; z < 9; z++)
            for (var column = 0; column < columns.Length; column++)
            {
                var i = z * columns.Length + column;
                if (columns[column]) Assert.Equal(whole[i], marked[i]);
                else
                {
                    Assert.True(marked[i] >= whole[i]);
                    if (marked[i] != whole[i]) unmarkedDiffer++;
                }
            }
        Assert.True(unmarkedDiffer > 0); // the unmarked columns did skip the z pass
    }

    /// <summary>
    /// The bounded transform against the whole one: the same doubles wherever the distance is within the reach, above the
    /// reach elsewhere, an upper bound on unmarked columns; isotropic and anisotropic voxels, reaches that are whole
    /// numbers of voxels along an axis and ones that are not, one and several threads.
    /// </summary>
    [Theory]
    [InlineData(1, 50, 50, 50, 500, false, KernelThreads.All)]
    [InlineData(2, 50, 50, 50, 230, true, KernelThreads.All)]
    [InlineData(3, 10, 10, 30, 90, true, 1)]
    [InlineData(4, 30, 20, 10, 120, false, 3)]
    [InlineData(5, 7, 13, 21, 0, true, KernelThreads.All)]
    [InlineData(6, 25, 25, 25, 10000, false, 1)]
    public void Distance_within_reach_equals_the_whole_transform_there_and_exceeds_the_reach_elsewhere(int seed, double xNm, double yNm, double zNm,
        double reachNm, bool markSomeColumns, int threads)
    {
        var v = Microstructure(21, 37, 43, seed);
        var voxel = new VoxelSize(xNm, yNm, zNm);
        var random = new Random(seed);
        var columns = markSomeColumns ? Enumerable.Range(0, 37 * 43).Select(_ => random.NextDouble() < 0.3).ToArray() : null;
        var whole = DistanceTransform.SquaredNm2(v, label => label == PhaseLabel.Nmc, voxel);
        var bounded = DistanceTransform.SquaredNm2WithinReach(v, label => label == PhaseLabel.Nmc, voxel, reachNm, columns, threads);
        var limit = reachNm * reachNm * (1 + 1e-12);
        int within = 0, beyond = 0;
        for (var i = 0; i < whole.Length; i++)
        {
            if (columns is not null && !columns[i % columns.Length])
            {
                Assert.True(bounded[i] >= whole[i]);
                continue;
            }
            if (whole[i] <= limit)
            {
                Assert.Equal(whole[i], bounded[i]);
                within++;
            }
            else
            {
                Assert.True(bounded[i] > limit, $"voxel {i}: {bounded[i]} nm² within the reach {reachNm} nm, the transform says {whole[i]}");
                beyond++;
            }
        }
        Assert.True(within > 0 && (beyond > 0 || reachNm >= 10000), "the reach should split the voxels");
    }

    /// <summary>
    /// Where every spacing is a whole number of nm and the squared offsets within the reach stay float integers, the
    /// single-precision passes give the double passes' values, voxel for voxel (within the reach and beyond); elsewhere the
    /// single-precision call refuses.
    /// </summary>
    [Theory]
    [InlineData(1, 50, 50, 50, 500, false)]
    [InlineData(2, 50, 50, 30, 230, true)]
    [InlineData(3, 7, 13, 21, 100, true)]
    [InlineData(4, 30, 20, 10, 120, false)]
    public void Single_precision_within_reach_is_the_double_values_where_exact(int seed, double xNm, double yNm, double zNm, double reachNm, bool markSomeColumns)
    {
        var v = Microstructure(21, 37, 43, seed);
        var voxel = new VoxelSize(xNm, yNm, zNm);
        Assert.True(DistanceTransform.IsExactInSingle(voxel, reachNm));
        var random = new Random(seed);
        var columns = markSomeColumns ? Enumerable.Range(0, 37 * 43).Select(_ => random.NextDouble() < 0.3).ToArray() : null;
        var doubles = DistanceTransform.SquaredNm2WithinReach(v, label => label == PhaseLabel.Nmc, voxel, reachNm, columns);
        var singles = new float[v.Data.Length + 5];
        DistanceTransform.SquaredNm2WithinReach(v, label => label == PhaseLabel.Nmc, voxel, reachNm, columns, singles);
        for (var i = 0; i < doubles.Length; i++) Assert.Equal(doubles[i], (double)singles[i]);

        // 48.7 nm is no whole number of nm, and 20 µm at 1 nm is 4e8 nm²: neither is exact in floats.
        Assert.False(DistanceTransform.IsExactInSingle(new VoxelSize(48.7, 48.7, 50), 500));
        Assert.False(DistanceTransform.IsExactInSingle(new VoxelSize(1, 1, 1), 20_000));
        Assert.Throws<ArgumentException>(() =>
            DistanceTransform.SquaredNm2WithinReach(v, label => label == PhaseLabel.Nmc, new VoxelSize(48.7, 48.7, 50), 500, null, singles));
    }

    /// <summary>
    /// The passes in whole units of the squared spacings' greatest common divisor are the double passes' values divided by
    /// the unit wherever those are within the reach, and "beyond" everywhere else, voxel for voxel, on marked and unmarked
    /// columns, in bytes and in 16 bits (where both fit, the same values), widths under one vector and over several, one
    /// and several threads; spacings that are no whole number of nm, and limits past 16 bits, have no units.
    /// </summary>
    [Theory]
    [InlineData(1, 50, 50, 50, 500, false, KernelThreads.All)] // the metrics' default: 100 units of 2500 nm²
    [InlineData(2, 50, 50, 30, 230, true, KernelThreads.All)]
    [InlineData(3, 10, 10, 30, 90, true, 1)]
    [InlineData(4, 30, 20, 10, 120, false, 3)] // 144 units of 100 nm²: 16 bits only
    [InlineData(5, 7, 13, 21, 100, true, KernelThreads.All)] // unit 1 nm²: 10,000 units
    [InlineData(6, 25, 25, 25, 0, false, 1)]
    public void Whole_units_within_reach_are_the_double_values_divided_where_within_and_beyond_elsewhere(int seed, double xNm, double yNm, double zNm,
        double reachNm, bool markSomeColumns, int threads)
    {
        var voxel = new VoxelSize(xNm, yNm, zNm);
        var units = ReachUnits.For(voxel, reachNm);
        Assert.NotNull(units);
        Assert.Equal(Enumerable.Aggregate([(long)(xNm * xNm), (long)(yNm * yNm), (long)(zNm * zNm)], (a, b) => (long)System.Numerics.BigInteger.GreatestCommonDivisor(a, b)), units.UnitNm2);
        int within = 0, beyond = 0;
        foreach (var (depth, height, width) in new[] { (21, 37, 43), (6, 9, 20), (5, 70, 131) })
        {
            var v = Microstructure(depth, height, width, seed);
            var random = new Random(seed);
            var columns = markSomeColumns ? Enumerable.Range(0, height * width).Select(_ => random.NextDouble() < 0.3).ToArray() : null;
            var doubles = DistanceTransform.SquaredNm2WithinReach(v, label => label == PhaseLabel.Nmc, voxel, reachNm, columns, threads);
            var limitNm2 = reachNm * reachNm * (1 + 1e-12);
            var wide = new ushort[v.Data.Length + 3];
            DistanceTransform.SquaredUnitsWithinReach(v, label => label == PhaseLabel.Nmc, voxel, units, columns, wide, threads);
            var narrow = new byte[units.FitsInBytes ? v.Data.Length : 0];
            if (units.FitsInBytes) DistanceTransform.SquaredUnitsWithinReach(v, label => label == PhaseLabel.Nmc, voxel, units, columns, narrow, threads);
            for (var i = 0; i < doubles.Length; i++)
            {
                var expected = doubles[i] <= limitNm2 ? doubles[i] / units.UnitNm2 : units.Beyond;
                Assert.Equal(expected, wide[i]);
                if (units.FitsInBytes) Assert.Equal(expected, narrow[i]);
                if (expected <= units.Limit) within++;
                else beyond++;
            }
        }
        Assert.True(beyond > 0 && within > 0, "the reach should split the voxels");
    }

    [Fact]
    public void Units_need_whole_nanometre_spacings_and_a_limit_within_16_bits()
    {
        Assert.Null(ReachUnits.For(new VoxelSize(48.7, 48.7, 50), 500));
        Assert.Null(ReachUnits.For(new VoxelSize(1, 1, 1), 200)); // 40,000 units of 1 nm²: no room for a sum in 16 bits
        var units = ReachUnits.For(new VoxelSize(50, 50, 50), 500)!;
        Assert.Equal((2500L, 100, 101, true), (units.UnitNm2, units.Limit, units.Beyond, units.FitsInBytes));
        Assert.False(ReachUnits.For(new VoxelSize(30, 20, 10), 120)!.FitsInBytes);
        var v = Microstructure(8, 12, 14, 1);
        Assert.Throws<ArgumentException>(() =>
            DistanceTransform.SquaredUnitsWithinReach(v, label => label == PhaseLabel.Nmc, new VoxelSize(30, 20, 10), ReachUnits.For(new VoxelSize(30, 20, 10), 120)!, null, new byte[v.Data.Length]));
    }

    /// <summary>
    /// The single-precision bound is float's, 2^24, not a voxel size's: at 1 nm voxels a reach of 2364 nm sums to
    /// 3 · 2364² = 16,765,488 nm² (exact), 2365 nm to 16,779,675 (not); 100 nm voxels and a 3 µm reach are past it, and a
    /// 12.5 nm voxel is no whole number of nm.
    /// </summary>
    [Fact]
    public void Single_precision_is_exact_up_to_floats_largest_run_of_whole_numbers()
    {
        Assert.True(DistanceTransform.IsExactInSingle(new VoxelSize(1, 1, 1), 2364));
        Assert.False(DistanceTransform.IsExactInSingle(new VoxelSize(1, 1, 1), 2365));
        Assert.True(DistanceTransform.IsExactInSingle(new VoxelSize(50, 50, 50), 500));
        Assert.False(DistanceTransform.IsExactInSingle(new VoxelSize(100, 100, 100), 3000));
        Assert.False(DistanceTransform.IsExactInSingle(new VoxelSize(12.5, 12.5, 12.5), 500));
    }

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.1)]
    [InlineData(0.2)]
    public void Void_near_nmc_share_equals_scipy_and_does_not_depend_on_the_slab_or_tile_size(double distanceUm)
    {
        var v = Microstructure(29, 21, 25, 4);
        var voxel = new VoxelSize(20, 25, 40);
        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "labels.raw"), v.Data);
        var expected = PythonOracle.Run(OracleIo.Python("""
            from scipy import ndimage
            d = sys.argv[1]
            a = np.fromfile(d + '/labels.raw', dtype=np.uint8).reshape((29, 21, 25))
            dist = ndimage.distance_transform_edt(a != 1, sampling=(0.040, 0.025, 0.020))
            void = a == 4
            print(int(void.sum()), int((void & (dist <= float(sys.argv[2]) * (1 + 1e-12))).sum()))
            """), dir.Path, distanceUm.ToString("R", CultureInfo.InvariantCulture)).Trim().Split(' ').Select(long.Parse).ToArray();
        Assert.True(expected[1] > 0 && expected[1] < expected[0], "the distance should split the void");
        foreach (var (slab, tile) in new[] { (0, 512), (1, 3), (2, 512), (5, 6), (8, 11) })
        {
            var near = NearNmc(v, voxel, distanceUm, slab, tile);
            Assert.Equal(expected[0], near.VoidVoxels);
            Assert.Equal(expected[1], near.NearVoxels);
        }
    }

    /// <summary>
    /// Windows (slabs x tiles with the accumulator's halo) against the distance transform of the whole volume thresholded
    /// at d, on distances that are whole numbers of voxels along some axis and ones that are not, isotropic and anisotropic.
    /// </summary>
    [Theory]
    [InlineData(50, 50, 50, 0.5)]
    [InlineData(50, 50, 50, 0.23)]
    [InlineData(25, 25, 25, 0.1)]
    [InlineData(10, 10, 30, 0.09)]
    [InlineData(30, 20, 10, 0.12)]
    public void Void_near_nmc_counts_in_windows_equal_the_whole_volume_transform_thresholded(double xNm, double yNm, double zNm, double distanceUm)
    {
        var v = Microstructure(40, 47, 53, 11);
        var voxel = new VoxelSize(xNm, yNm, zNm);
        var squared = DistanceTransform.SquaredNm2(v, label => label == PhaseLabel.Nmc, voxel);
        var limit = Math.Pow(distanceUm * 1000, 2) * (1 + 1e-12);
        long voids = 0, near = 0;
        for (var i = 0; i < v.Data.Length; i++)
        {
            if (v.Data[i] != PhaseLabel.Void) continue;
            voids++;
            if (squared[i] <= limit) near++;
        }
        Assert.True(near > 0 && near < voids, "the distance should split the void");
        foreach (var (slab, tile) in new[] { (0, 512), (7, 13), (16, 20) })
        {
            var counted = NearNmc(v, voxel, distanceUm, slab, tile);
            Assert.Equal(voids, counted.VoidVoxels);
            Assert.Equal(near, counted.NearVoxels);
        }
    }

    [Fact]
    public void Components_sizes_and_principal_axes_equal_scipy_label_and_numpy_covariance()
    {
        var v = Microstructure(23, 27, 31, 5);
        var voxel = new VoxelSize(10, 15, 30);
        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "labels.raw"), v.Data);
        var lines = PythonOracle.Run(OracleIo.Python("""
            from scipy import ndimage
            d = sys.argv[1]
            a = np.fromfile(d + '/labels.raw', dtype=np.uint8).reshape((23, 27, 31))
            s = np.array([0.030, 0.015, 0.010])
            ids, n = ndimage.label(a == 4, structure=np.ones((3, 3, 3)))
            for i in range(1, n + 1):
                c = np.argwhere(ids == i) * s
                cov = np.cov(c.T, bias=True) + np.diag(s * s / 12)
                l = np.sort(np.linalg.eigvalsh(cov))[::-1]
                print(len(c), *(repr(x) for x in l), *(repr(x) for x in c.mean(axis=0)))
            """), dir.Path).Trim().Split('\n').Select(l => l.Split(' ').Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray())
            .OrderByDescending(f => f[0]).ThenBy(f => f[4]).ThenBy(f => f[5]).ThenBy(f => f[6]).ToArray();

        foreach (var slab in new[] { 0, 1, 4, 7 })
        {
            var morphology = Morphology(v, voxel, slab);
            Assert.Equal(lines.Length, morphology.Components.Count);
            for (var i = 0; i < lines.Length; i++)
            {
                var (f, c) = (lines[i], morphology.Components[i]);
                Assert.Equal((long)f[0], c.Voxels);
                for (var k = 0; k < 3; k++) Assert.Equal(f[4 + k], c.CentroidUm[k], 1e-9);
                for (var k = 0; k < 3; k++) Assert.Equal(2 * Math.Sqrt(5 * f[1 + k]), c.AxesUm[k], 1e-7);
                Assert.Equal(1 - Math.Sqrt(f[3] / f[2]), c.Flatness, 1e-6);
            }
        }
    }

    [Fact]
    public void A_thin_sheet_is_flake_like_and_a_ball_is_round()
    {
        var v = new Volume<byte>(40, 40, 40);
        Array.Fill(v.Data, PhaseLabel.Lps);
        for (var z = 5; z < 7; z++) // a 2-slice crack 30 x 30 voxels wide
            for (var y = 5; y < 35; y++)
                for (var x = 5; x < 35; x++)
                    v[z, y, x] = PhaseLabel.Void;
        for (var z = 12; z < 40; z++)
            for (var y = 0; y < 40; y++)
                for (var x = 0; x < 40; x++)
                    if (Math.Pow(z - 25.5, 2) + Math.Pow(y - 20, 2) + Math.Pow(x - 20, 2) <= 100) v[z, y, x] = PhaseLabel.Void;
        var morphology = Morphology(v, VoxelSize.Isotropic(50));
        Assert.Equal(2, morphology.Components.Count);
        var sheet = morphology.Components.Single(c => c.Voxels == 2 * 30 * 30);
        var ball = morphology.Components.Single(c => c != sheet);
        Assert.Equal(1 - 2.0 / 30, sheet.Flatness, 9); // axes √(λ) ∝ 2 and 30 voxels: S/I = 2/30 exactly
        Assert.Equal(0, sheet.Elongation, 9);
        Assert.True(sheet.FlakeLike);
        Assert.InRange(ball.Flatness, 0, 0.02);
        Assert.InRange(ball.Elongation, 0, 0.02);
        Assert.False(ball.FlakeLike);
        Assert.Equal(Math.Cbrt(6 * ball.Voxels * 1.25e-4 / Math.PI), ball.EquivalentDiameterUm, 12);
        Assert.Equal(2.0 * 30 * 30 / (2 * 30 * 30 + ball.Voxels), morphology.FlakeLikeVolumeShare, 12);

        // Thick z slices: the same sheet in physical units is thicker relative to its width.
        var thick = Morphology(v, new VoxelSize(50, 50, 150));
        Assert.Equal(1 - 6.0 / 30, thick.Components.Single(c => c.Voxels == 2 * 30 * 30).Flatness, 9);
    }

    [Fact]
    public void A_through_channel_percolates_along_its_axis_only_also_when_streamed()
    {
        var v = new Volume<byte>(12, 10, 14);
        Array.Fill(v.Data, PhaseLabel.Lps);
        for (var z = 0; z < 12; z++) // along z, wandering diagonally (26-connected only)
        {
            v[z, 3 + z % 2, 4 + z % 2] = PhaseLabel.Void;
        }
        for (var x = 0; x < 13; x++) v[8, 8, x] = PhaseLabel.Void; // along x, one voxel short of the far face
        foreach (var slab in new[] { 0, 1, 5 })
        {
            var morphology = Morphology(v, VoxelSize.Isotropic(50), slab);
            Assert.Equal([true, false, false], morphology.Percolates);
            Assert.Equal(2, morphology.Components.Count);
            Assert.Equal([true, false, false], morphology.Components.Single(c => c.Voxels == 12).Percolates);
        }
        v[8, 8, 13] = PhaseLabel.Void;
        Assert.Equal([true, false, true], Morphology(v, VoxelSize.Isotropic(50)).Percolates);
    }

    [Fact]
    public void Size_distribution_counts_every_component_once_and_its_quantiles_are_nearest_rank()
    {
        var v = Microstructure(25, 25, 25, 9);
        var voxel = VoxelSize.Isotropic(100);
        var morphology = Morphology(v, voxel);
        Assert.Equal(morphology.Components.Count, morphology.CountPerBin.Sum());
        Assert.Equal(1.0, morphology.VolumeSharePerBin.Sum(), 12);
        var diameters = morphology.Components.Select(c => c.EquivalentDiameterUm).Order().ToArray();
        Assert.Equal(diameters[(int)Math.Ceiling(0.5 * diameters.Length) - 1], morphology.NumberQuantilesUm[1]);
        for (var i = 0; i < morphology.BinEdgesUm.Length; i++)
        {
            var (lo, hi) = (morphology.BinEdgesUm[i], i + 1 < morphology.BinEdgesUm.Length ? morphology.BinEdgesUm[i + 1] : double.PositiveInfinity);
            Assert.Equal(diameters.Count(d => d >= lo && d < hi), morphology.CountPerBin[i]);
        }
    }
}
