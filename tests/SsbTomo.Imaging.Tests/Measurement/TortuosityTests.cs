using System.Diagnostics;
using System.Globalization;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Tests.Segmentation;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Measurement;

public sealed class TortuosityTests(ITestOutputHelper output)
{
    private const byte Pore = 7;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Straight_channels_along_the_axis_have_tortuosity_one(int axis)
    {
        var v = new Volume<byte>(14, 11, 9);
        // Three channels of different cross-sections running the whole length of the axis.
        foreach (var (a, b, size) in new[] { (1, 1, 1), (4, 2, 2), (6, 6, 3) })
            for (var along = 0; along < Extent(v, axis); along++)
                for (var da = 0; da < size; da++)
                    for (var db = 0; db < size; db++)
                        At(v, axis, along, a + da, b + db) = Pore;
        // At the tightest tolerance: the solve starts from the coarse level's solution, not from the linear profile that is
        // exact here, so τ is as near 1 as the residual allows.
        var result = Tortuosity.Compute(v, Pore, axis, new VoxelSize(10, 17, 31), Tortuosity.MinimumTolerance);
        Assert.True(result.Converged);
        Assert.Equal(1, result.PercolatingFraction);
        Assert.Equal(1, result.Factor, 1e-6);
        Assert.Equal(result.VolumeFraction, result.RelativeDiffusivity, 6);
    }

    [Theory]
    [InlineData(10, 10, 22.0 * 22 / 144)]     // isotropic: τ = (path voxels / slices)², 22 voxels over 12 slices
    [InlineData(10, 30, 22 * (12 + 10.0 / 9) / 144)] // side steps 3x shorter than the transport step conduct 9x better
    public void A_one_voxel_staircase_has_the_series_resistance_of_its_links(double xNm, double zNm, double expected)
    {
        // One voxel on each face slice, two (x = k − 1, k) on each slice between: a chain of D − 1 z-links and D − 2
        // x-links of conductance (h_z/h_x)². Its resistance in transport-link units is ½ + ½ at the faces plus the links';
        // ε = (2D − 2) / N and D_rel = D / (R·H·W), so τ = (2D − 2)·R / D².
        const int depth = 12;
        var v = new Volume<byte>(depth, 3, depth);
        v[0, 1, 0] = v[depth - 1, 1, depth - 2] = Pore;
        for (var k = 1; k < depth - 1; k++) v[k, 1, k - 1] = v[k, 1, k] = Pore;
        var result = Tortuosity.Compute(v, Pore, 0, new VoxelSize(xNm, 10, zNm));
        var resistance = 1 + (depth - 1) + (depth - 2) / Math.Pow(zNm / xNm, 2);
        Assert.Equal((2 * depth - 2) * resistance / (depth * depth), result.Factor, 1e-6 * expected);
        Assert.Equal(expected, result.Factor, 1e-6 * expected);
        Assert.True(result.FluxSpread < 1e-5, $"flux spread {result.FluxSpread}");
    }

    [Fact]
    public void Dead_ends_and_isolated_pores_carry_no_flux_but_count_in_the_volume_fraction()
    {
        var channel = new Volume<byte>(16, 8, 8);
        for (var z = 0; z < 16; z++) channel[z, 3, 3] = Pore;
        var alone = Tortuosity.Compute(channel, Pore, 0, VoxelSize.Isotropic(50));

        var v = channel.Clone();
        for (var x = 4; x < 8; x++) v[8, 3, x] = Pore;       // a dead end off the channel
        for (var z = 2; z < 6; z++) v[z, 6, 6] = Pore;        // an isolated pore
        for (var z = 0; z < 5; z++) v[z, 0, 7] = Pore;        // touches the inlet only
        var result = Tortuosity.Compute(v, Pore, 0, VoxelSize.Isotropic(50));
        Assert.True(result.Converged);
        Assert.Equal(alone.RelativeDiffusivity, result.RelativeDiffusivity, 7);
        Assert.Equal((16.0 + 4 + 4 + 5) / v.Length, result.VolumeFraction, 12);
        Assert.Equal(20.0 / 29, result.PercolatingFraction, 12);
        Assert.Equal(29.0 / 16, result.Factor, 5);
    }

    [Fact]
    public void A_phase_that_does_not_connect_the_faces_has_infinite_tortuosity()
    {
        var v = new Volume<byte>(10, 6, 6);
        for (var z = 0; z < 9; z++) v[z, 2, 2] = Pore;
        for (var z = 1; z < 10; z++) v[z, 3, 3] = Pore; // touches the first column only diagonally: no face, no flux
        var result = Tortuosity.Compute(v, Pore, 0, VoxelSize.Isotropic(10));
        Assert.False(result.Percolates);
        Assert.Equal(double.PositiveInfinity, result.Factor);
        Assert.Equal(0, result.RelativeDiffusivity);
        Assert.Equal(0, result.PercolatingFraction);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    public void Equals_a_direct_scipy_solve_of_the_same_system_on_random_pores_with_anisotropic_voxels(int axis, int seed)
    {
        var v = RandomPores(19, 23, 17, seed);
        var voxel = new VoxelSize(12, 20, 35);
        var result = Tortuosity.Compute(v, Pore, axis, voxel, Tortuosity.MinimumTolerance);
        Assert.True(result.Converged, $"relative residual {result.RelativeResidual}");
        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "v.raw"), v.Data);
        var tau = double.Parse(PythonOracle.Run(OracleIo.Python(Oracle), Path.Combine(dir.Path, "v.raw"),
            $"{v.Depth},{v.Height},{v.Width}", $"{voxel.ZNm},{voxel.YNm},{voxel.XNm}", $"{axis}", $"{Pore}").Trim(), CultureInfo.InvariantCulture);
        output.WriteLine($"axis {axis}: tau {result.Factor} (scipy {tau}), {result.Iterations} iterations, residual {result.RelativeResidual}, spread {result.FluxSpread}, eps {result.VolumeFraction}, percolating {result.PercolatingFraction}");
        Assert.True(result.PercolatingFraction is > 0.5 and < 1, $"percolating fraction {result.PercolatingFraction}: the volume should have dead pores");
        // At a relative residual of 1e-6 (the float vectors' floor) τ sits within ~1e-5 of the exact solve: on axis 1 the
        // near-critical pores leave a flux spread of 1.2e-4, and the error is ~10x the residual (9.6e-6 with the unfused
        // Galerkin solver, 1.0e-5 with the fused rediscretised one; axes 0 and 2: ≤ 2.3e-6).
        Assert.Equal(tau, result.Factor, tau * 2e-5);
    }

    [Theory]
    [InlineData(3, 20, 22, 0, 10, 10, 1)]   // too thin for a wave block of 4 slices: the passes one after another
    [InlineData(5, 21, 19, 0, 10, 10, 2)]   // one block
    [InlineData(9, 18, 20, 0, 10, 10, 3)]   // two blocks of 4 and 5 slices (two cores), coarse slices of 2
    [InlineData(23, 19, 17, 0, 12, 35, 4)]  // slices thicker than the pixels: coarse slices of 1 fine slice
    [InlineData(17, 24, 41, 2, 10, 10, 5)]  // along x: 41 slices after the permutation
    public void Waves_give_the_bits_of_the_passes_one_after_another(int depth, int height, int width, int axis, double xyNm, double zNm, int seed)
    {
        var v = RandomPores(depth, height, width, seed);
        var voxel = new VoxelSize(xyNm, xyNm, zNm);
        var waves = Tortuosity.Compute(v, [Pore], axis, voxel, Tortuosity.MinimumTolerance, Tortuosity.DefaultMaxIterations, null, passesInWaves: true);
        var passes = Tortuosity.Compute(v, [Pore], axis, voxel, Tortuosity.MinimumTolerance, Tortuosity.DefaultMaxIterations, null, passesInWaves: false);
        output.WriteLine($"{depth}x{height}x{width} axis {axis}: tau {waves.Factor} / {passes.Factor}, {waves.Iterations} / {passes.Iterations} iterations, residual {waves.RelativeResidual} / {passes.RelativeResidual}");
        Assert.True(passes.Percolates && passes.Iterations >= 3, $"the case should solve for a few iterations: {passes}");
        Assert.Equal(passes.Iterations, waves.Iterations);
        Assert.Equal(BitConverter.DoubleToInt64Bits(passes.Factor), BitConverter.DoubleToInt64Bits(waves.Factor));
        Assert.Equal(BitConverter.DoubleToInt64Bits(passes.RelativeResidual), BitConverter.DoubleToInt64Bits(waves.RelativeResidual));
        Assert.Equal(BitConverter.DoubleToInt64Bits(passes.FluxSpread), BitConverter.DoubleToInt64Bits(waves.FluxSpread));
    }

    [Fact]
    public void TauFactor_electrode_pore_tortuosity_along_axis_0_is_TauFactors_published_value()
    {
        const string tiff = "/work/shared/data/taufactor/electrode.tiff";
        Assert.True(File.Exists(tiff), $"{tiff} is missing");
        using var dir = new TempDirectory();
        PythonOracle.Run(OracleIo.Python("""
            import tifffile
            tifffile.imread(sys.argv[1]).astype(np.uint8).tofile(sys.argv[2] + '/labels.raw')
            """), tiff, dir.Path);
        var v = new Volume<byte>(256, 256, 256, OracleIo.Read<byte>(Path.Combine(dir.Path, "labels.raw")));
        var clock = Stopwatch.StartNew();
        var result = Tortuosity.Compute(v, 0, 0, VoxelSize.Isotropic(1));
        output.WriteLine($"tau {result.Factor:0.00000}, D_eff/D0 {result.RelativeDiffusivity:0.00000}, eps {result.VolumeFraction:0.000000}, "
            + $"{result.Iterations} iterations, residual {result.RelativeResidual:0.0e0}, flux spread {result.FluxSpread:0.0e0}, {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(result.Converged);
        Assert.Equal(0.449917, result.VolumeFraction, 6);
        Assert.Equal(2.0776, result.Factor, 2.0776 * 0.01); // TauFactor's notebook output (SOURCE.txt)
        Assert.True(result.FluxSpread < 0.01, $"flux spread {result.FluxSpread}"); // TauFactor stops at 0.01
    }

    private const string Oracle = """
        import scipy.sparse as sp, scipy.sparse.linalg as sla
        from scipy import ndimage
        shape = tuple(int(s) for s in sys.argv[2].split(','))
        h = [float(s) for s in sys.argv[3].split(',')]
        axis, phase = int(sys.argv[4]), int(sys.argv[5])
        a = np.fromfile(sys.argv[1], np.uint8).reshape(shape)
        mask = np.moveaxis(a == phase, axis, 0)
        h = [h[axis]] + [h[i] for i in range(3) if i != axis]
        eps = mask.mean()
        lab, _ = ndimage.label(mask)  # 6-connected
        keep = np.intersect1d(np.unique(lab[0]), np.unique(lab[-1]))
        act = np.isin(lab, keep[keep > 0])
        idx = -np.ones(mask.shape, np.int64); m = int(act.sum()); idx[act] = np.arange(m)
        diag = np.zeros(m); b = np.zeros(m); rows = []; cols = []; vals = []
        for ax in range(3):
            w = (h[0] / h[ax]) ** 2
            lo = [slice(None)] * 3; hi = [slice(None)] * 3
            lo[ax] = slice(0, -1); hi[ax] = slice(1, None)
            both = act[tuple(lo)] & act[tuple(hi)]
            i = idx[tuple(lo)][both]; j = idx[tuple(hi)][both]
            np.add.at(diag, i, w); np.add.at(diag, j, w)
            rows += [i, j]; cols += [j, i]; vals += [np.full(len(i), -w)] * 2
        first = idx[0][act[0]]; last = idx[-1][act[-1]]
        diag[first] += 2; diag[last] += 2; b[last] += 2
        A = sp.csr_matrix((np.concatenate(vals + [diag]), (np.concatenate(rows + [np.arange(m)]), np.concatenate(cols + [np.arange(m)]))), shape=(m, m))
        x = sla.spsolve(A.tocsc(), b)
        q = 2 * x[first].sum()
        d_rel = mask.shape[0] * q / (mask.shape[1] * mask.shape[2])
        print(repr(eps / d_rel))
        """;

    /// <summary>Smoothed noise thresholded near the percolation threshold: winding pores, dead ends and isolated ones.</summary>
    private static Volume<byte> RandomPores(int depth, int height, int width, int seed)
    {
        var random = new Random(seed);
        var noise = new double[depth, height, width];
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++) noise[z, y, x] = random.NextDouble();
        var v = new Volume<byte>(depth, height, width);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    double sum = 0;
                    var n = 0;
                    for (var dz = -1; dz <= 1; dz++)
                        for (var dy = -1; dy <= 1; dy++)
                            for (var dx = -1; dx <= 1; dx++)
                            {
                                var (zz, yy, xx) = (z + dz, y + dy, x + dx);
                                if (zz < 0 || yy < 0 || xx < 0 || zz >= depth || yy >= height || xx >= width) continue;
                                sum += noise[zz, yy, xx];
                                n++;
                            }
                    v[z, y, x] = sum / n > 0.5 ? Pore : (byte)1;
                }
        return v;
    }

    private static int Extent(Volume<byte> v, int axis) => axis switch { 0 => v.Depth, 1 => v.Height, _ => v.Width };

    /// <summary>The voxel at <paramref name="along"/> the axis and (a, b) across it.</summary>
    private static ref byte At(Volume<byte> v, int axis, int along, int a, int b)
    {
        if (axis == 0) return ref v[along, a, b];
        if (axis == 1) return ref v[a, along, b];
        return ref v[a, b, along];
    }
}
