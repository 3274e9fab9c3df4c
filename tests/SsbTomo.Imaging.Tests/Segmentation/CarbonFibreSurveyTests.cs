using System.Globalization;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class HessianEigenvaluesTests
{
    [Theory]
    [InlineData(1.5, 4)]
    [InlineData(1.0, 0)]
    [InlineData(1.0, 8)]
    public void Eigenvalues_match_scipy_gaussian_derivatives_and_numpy_eigvalsh(double sigma, int z)
    {
        using var dir = new TempDirectory();
        var grey = OracleIo.RandomGrey(9, 21, 17, seed: 3);
        // Smooth first so the derivatives are not all noise (the values still vary voxel to voxel).
        var volume = Denoise.Gaussian(grey, 1.0);
        OracleIo.Write(Path.Combine(dir.Path, "in.raw"), volume.Data);

        var (largest, middle, smallest) = HessianEigenvalues.OfSlice(volume, z, sigma);

        PythonOracle.Run(OracleIo.Python("""
            from scipy import ndimage
            d, s, z = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
            a = np.fromfile(d + '/in.raw', dtype='<f4').reshape(9, 21, 17).astype(np.float64)
            def D(order):
                return ndimage.gaussian_filter(a, s, order=order, mode='reflect', truncate=4.0)[z]
            H = np.empty((21, 17, 3, 3))
            H[..., 0, 0] = D((2, 0, 0)); H[..., 1, 1] = D((0, 2, 0)); H[..., 2, 2] = D((0, 0, 2))
            H[..., 0, 1] = H[..., 1, 0] = D((1, 1, 0))
            H[..., 0, 2] = H[..., 2, 0] = D((1, 0, 1))
            H[..., 1, 2] = H[..., 2, 1] = D((0, 1, 1))
            w = np.linalg.eigvalsh(H)[..., ::-1] * s * s
            w.astype('<f8').tofile(d + '/out.raw')
            """), dir.Path, sigma.ToString(CultureInfo.InvariantCulture), z.ToString(CultureInfo.InvariantCulture));
        var expected = OracleIo.Read<double>(Path.Combine(dir.Path, "out.raw"));

        var scale = expected.Max(Math.Abs);
        var worst = 0.0;
        for (var i = 0; i < largest.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expected[3 * i] - largest[i]));
            worst = Math.Max(worst, Math.Abs(expected[3 * i + 1] - middle[i]));
            worst = Math.Max(worst, Math.Abs(expected[3 * i + 2] - smallest[i]));
        }
        Assert.True(worst < 1e-4 * scale, $"largest difference to scipy/numpy {worst} (largest eigenvalue magnitude {scale})");
    }

    [Theory]
    [InlineData(1.5, 4, 7)]
    [InlineData(1.0, 0, 3)]
    [InlineData(2.5, 8, 2)]
    public void Eigenvalues_at_selected_pixels_are_the_whole_slices_in_single_precision(double sigma, int z, int every)
    {
        var volume = Denoise.Gaussian(OracleIo.RandomGrey(9, 21, 17, seed: 5), 1.0);
        var (_, middle, smallest) = HessianEigenvalues.OfSlice(volume, z, sigma);
        var selected = new byte[21 * 17];
        for (var i = 0; i < selected.Length; i += every) selected[i] = 1;
        using var workspace = new HessianEigenvalues.AtSelectedPixels(21, 17, sigma);
        var (atMiddle, atSmallest) = (new float[selected.Length], new float[selected.Length]);
        Array.Fill(atMiddle, -12345f);
        // A second slice through the same workspace first: its planes must not leak into the next.
        workspace.Compute(volume, (z + 3) % 9, selected, atMiddle, atSmallest);
        workspace.Compute(volume, z, selected, atMiddle, atSmallest);
        var scale = middle.Max(Math.Abs);
        for (var i = 0; i < selected.Length; i++)
        {
            if (selected[i] == 0) continue;
            Assert.True(Math.Abs(atMiddle[i] - middle[i]) < 1e-5 * scale, $"λ2 at {i}: {atMiddle[i]} vs {middle[i]}");
            Assert.True(Math.Abs(atSmallest[i] - smallest[i]) < 1e-5 * scale, $"λ3 at {i}: {atSmallest[i]} vs {smallest[i]}");
        }

        // With a minimum λ2, the pixels below it are NaN and the others keep their values.
        var minimum = 0.2 * middle.Max();
        workspace.Compute(volume, z, selected, atMiddle, atSmallest, minimumMiddle: minimum);
        for (var i = 0; i < selected.Length; i++)
        {
            if (selected[i] == 0) Assert.Equal(-12345f, atMiddle[i]);
            else if (middle[i] > minimum * 1.001) Assert.True(Math.Abs(atMiddle[i] - middle[i]) < 1e-5 * scale);
            else if (middle[i] < minimum * 0.999) Assert.True(float.IsNaN(atMiddle[i]), $"λ2 {middle[i]} below {minimum} at {i}: {atMiddle[i]}");
        }
    }

    [Theory]
    [InlineData(1.5, 40, 101)]
    [InlineData(2.5, 23, 16)]
    [InlineData(1.5, 64, 200)]
    public void Eigenvalues_at_selected_pixels_do_not_depend_on_what_else_is_selected(double sigma, int height, int width)
    {
        var volume = Denoise.Gaussian(OracleIo.RandomGrey(9, height, width, seed: height + width), 1.0);
        using var workspace = new HessianEigenvalues.AtSelectedPixels(height, width, sigma);
        var all = new byte[height * width];
        Array.Fill(all, (byte)1);
        var (allMiddle, allSmallest) = (new float[all.Length], new float[all.Length]);
        workspace.Compute(volume, 4, all, allMiddle, allSmallest);
        var random = new Random(7);
        foreach (var share in new[] { 0.002, 0.03, 0.3 })
        {
            // Scattered pixels, short runs along x, and the slice's corners and edges.
            var selected = new byte[all.Length];
            for (var i = 0; i < selected.Length; i++)
                if (random.NextDouble() < share)
                    for (var j = i; j < Math.Min(selected.Length, i + random.Next(1, 5)); j++) selected[j] = 1;
            (selected[0], selected[width - 1], selected[^1], selected[(height / 2) * width]) = (1, 1, 1, 1);
            var (middle, smallest) = (new float[all.Length], new float[all.Length]);
            // Another slice's planes in the workspace first: a pass the selection needs and skips would read them.
            workspace.Compute(volume, 7, all, middle, smallest);
            workspace.Compute(volume, 4, selected, middle, smallest);
            for (var i = 0; i < selected.Length; i++)
            {
                if (selected[i] == 0) continue;
                Assert.Equal(BitConverter.SingleToInt32Bits(allMiddle[i]), BitConverter.SingleToInt32Bits(middle[i]));
                Assert.Equal(BitConverter.SingleToInt32Bits(allSmallest[i]), BitConverter.SingleToInt32Bits(smallest[i]));
            }
        }
    }

    /// <summary>
    /// The passes without a test per tap (every weight non-zero but the first derivative's centre: σ no whole number of
    /// voxels) give the bits of the loops that test each weight: the same products in the same order.
    /// </summary>
    [Theory]
    [InlineData(1.5, 40, 101)]
    [InlineData(1.5, 33, 16)]
    [InlineData(2.5, 23, 77)]
    [InlineData(0.7, 30, 64)]
    [InlineData(1.0, 20, 40)]
    public void Eigenvalues_without_tap_tests_are_the_bits_of_the_tested_loops(double sigma, int height, int width)
    {
        var volume = Denoise.Gaussian(OracleIo.RandomGrey(15, height, width, seed: 3 * height + width), 0.8);
        using var fast = new HessianEigenvalues.AtSelectedPixels(height, width, sigma, withoutTapTests: true);
        using var tested = new HessianEigenvalues.AtSelectedPixels(height, width, sigma, withoutTapTests: false);
        var random = new Random(height * width);
        foreach (var share in new[] { 1.0, 0.3, 0.02 })
        {
            var selected = new byte[height * width];
            for (var i = 0; i < selected.Length; i++) selected[i] = random.NextDouble() < share ? (byte)1 : (byte)0;
            foreach (var z in new[] { 0, 7, 14 })
            {
                var (fastMiddle, fastSmallest, testedMiddle, testedSmallest) = (new float[selected.Length], new float[selected.Length], new float[selected.Length], new float[selected.Length]);
                fast.Compute(volume, z, selected, fastMiddle, fastSmallest);
                tested.Compute(volume, z, selected, testedMiddle, testedSmallest);
                Assert.Equal(testedMiddle.Select(BitConverter.SingleToInt32Bits), fastMiddle.Select(BitConverter.SingleToInt32Bits));
                Assert.Equal(testedSmallest.Select(BitConverter.SingleToInt32Bits), fastSmallest.Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    [Fact]
    public void A_dark_tube_has_two_positive_eigenvalues_across_it_and_one_near_zero_along_it()
    {
        // A dark line along z through (y, x) = (10, 10), Gaussian cross-section σ 1.5, in a bright matrix.
        var volume = new Volume<float>(21, 21, 21);
        for (var z = 0; z < 21; z++)
            for (var y = 0; y < 21; y++)
                for (var x = 0; x < 21; x++)
                    volume[z, y, x] = 100 - 60 * (float)Math.Exp(-((y - 10) * (y - 10) + (x - 10) * (x - 10)) / (2 * 1.5 * 1.5));
        var (largest, middle, smallest) = HessianEigenvalues.OfSlice(volume, 10, 1.5);
        var centre = 10 * 21 + 10;
        Assert.True(middle[centre] > 5, $"across the tube: {largest[centre]}, {middle[centre]}");
        Assert.InRange(largest[centre] / middle[centre], 0.99, 1.01);
        // Not exactly 0: the truncated second-derivative kernel does not sum to 0 (nor does scipy's).
        Assert.True(Math.Abs(smallest[centre]) < 1e-2 * middle[centre], $"along the tube: {smallest[centre]}");
    }

    [Fact]
    public void Symmetric_3x3_eigenvalues_of_known_matrices()
    {
        Assert.Equal((3.0, 2.0, 1.0), HessianEigenvalues.Symmetric3x3(1, 3, 2, 0, 0, 0));
        // [[2,1,0],[1,2,0],[0,0,5]]: 5, 3, 1
        var (a, b, c) = HessianEigenvalues.Symmetric3x3(2, 2, 5, 1, 0, 0);
        Assert.Equal(5, a, 12);
        Assert.Equal(3, b, 12);
        Assert.Equal(1, c, 12);
        // All equal off-diagonals: [[0,1,1],[1,0,1],[1,1,0]]: 2, -1, -1
        (a, b, c) = HessianEigenvalues.Symmetric3x3(0, 0, 0, 1, 1, 1);
        Assert.Equal(2, a, 12);
        Assert.Equal(-1, b, 12);
        Assert.Equal(-1, c, 12);
    }
}

public class CarbonFibreSurveyTests
{
    private const int Bins = 1024;

    /// <summary>The tube filter's scale at 50 nm voxels, where a 0.15 µm fibre is 1.5 voxels in radius.</summary>
    private static readonly double Sigma = CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(50));

    [Fact]
    public void The_tube_scale_is_a_fibre_radius_in_voxels_clamped()
    {
        Assert.Equal(1.5, Sigma);
        Assert.Equal(3.75, CarbonFibreSurvey.TubeSigmaVoxels(new VoxelSize(20, 20, 30)));
        Assert.Equal(CarbonFibreSurvey.MinimumSigmaVoxels, CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(200)));
        Assert.Equal(CarbonFibreSurvey.MaximumSigmaVoxels, CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(5)));
    }
    private const double Min = 0, Max = 65536;

    // Void, carbon (where a grey-level fit might put it), electrolyte, active material.
    private static readonly double[] Means = [5000, 14000, 30000, 50000];
    private static readonly double[] Thresholds = [9500, 22000, 40000];

    /// <summary>
    /// Electrolyte matrix with noise, three dark fibres (radius 1.8 voxels, core grey 21000) along x, y and a diagonal,
    /// and a round pore (void, radius 5) whose blurred rim passes through the fibres' grey levels.
    /// </summary>
    private static Volume<ushort> FibresAndAPore(int seed)
    {
        var random = new Random(seed);
        var volume = new Volume<ushort>(40, 48, 48);
        for (var z = 0; z < volume.Depth; z++)
            for (var y = 0; y < volume.Height; y++)
                for (var x = 0; x < volume.Width; x++)
                {
                    double grey = Means[2];
                    double Fibre(double distance) => Math.Exp(-distance * distance / (2 * 1.8 * 1.8));
                    var fibres = Math.Max(Fibre(Math.Sqrt((y - 12) * (y - 12) + (z - 10) * (z - 10))),
                        Math.Max(Fibre(Math.Sqrt((x - 36) * (x - 36) + (z - 28) * (z - 28))),
                            Fibre(Math.Abs((y - x) / Math.Sqrt(2)) is var d && z is >= 18 and <= 22 ? Math.Sqrt(d * d + (z - 20) * (z - 20)) : 99)));
                    grey -= fibres * (Means[2] - 21000);
                    var pore = Math.Sqrt((z - 30) * (z - 30) + (y - 34) * (y - 34) + (x - 12) * (x - 12));
                    var inPore = 1 / (1 + Math.Exp((pore - 5) / 0.8));
                    grey += inPore * (Means[0] - grey);
                    grey += 600 * (random.NextDouble() - 0.5);
                    volume[z, y, x] = (ushort)Math.Clamp(Math.Round(grey), 0, 65535);
                }
        return volume;
    }

    [Fact]
    public void Fibre_cores_are_found_at_their_grey_level_and_a_pores_rim_is_not_taken_for_carbon()
    {
        var volume = FibresAndAPore(seed: 1);
        var whole = new SlabWindow(0, volume.Depth, 0, volume.Depth);
        var counts = CarbonFibreSurvey.Survey(volume, whole, Thresholds, Means, Bins, Min, Max, Sigma);
        var found = counts.TubeHistogram.Sum();
        Assert.True(found > 20, $"{found} fibre-core voxels on the surveyed slices");
        var level = CarbonLevel.Quantile(counts.TubeHistogram, 0.5, Bins, Min, Max);
        // A blurred 1.8-voxel fibre's core keeps most of its contrast: between its true core and the electrolyte.
        Assert.InRange(level, 21000, 26000);
        // Nothing from the pore: no surveyed voxel darker than the fibres' cores.
        var darkest = Array.FindIndex(counts.TubeHistogram, c => c > 0);
        Assert.True(Histogram.LowerEdge(darkest + 1, Bins, Min, Max) > 20000, $"darkest fibre-core bin starts at {Histogram.LowerEdge(darkest, Bins, Min, Max)}");
        // The electrolyte interior is there, around its mean.
        Assert.InRange(CarbonLevel.Quantile(counts.ElectrolyteCoreHistogram, 0.5, Bins, Min, Max), 29500, 30500);
    }

    [Fact]
    public void Merged_chunk_surveys_equal_the_whole_stack_survey_for_any_chunking()
    {
        var volume = FibresAndAPore(seed: 2);
        var whole = CarbonFibreSurvey.Survey(volume, new SlabWindow(0, volume.Depth, 0, volume.Depth), Thresholds, Means, Bins, Min, Max, Sigma);
        foreach (var chunkSlices in new[] { 7, 16, 3 })
        {
            var parts = new List<FibreSurveyCounts>();
            for (var z0 = 0; z0 < volume.Depth; z0 += chunkSlices)
            {
                var window = Halo.Expand(volume.Depth, z0, Math.Min(volume.Depth, z0 + chunkSlices), CarbonFibreSurvey.RequiredHaloSlices(Sigma));
                parts.Add(CarbonFibreSurvey.Survey(Halo.CropZ(volume, window.SlabZ0, window.SlabZ1), window, Thresholds, Means, Bins, Min, Max, Sigma));
            }
            var merged = FibreSurveyCounts.Merge(parts);
            Assert.Equal(whole.TubeHistogram, merged.TubeHistogram);
            Assert.Equal(whole.ElectrolyteCoreHistogram, merged.ElectrolyteCoreHistogram);
        }
    }

    [Theory]
    [InlineData(128, 256, 320, 4)] // the demo stack
    [InlineData(64, 1024, 1024, 4)]
    [InlineData(20, 3072, 4096, 4)] // 252 Mvoxel: still the minimum
    [InlineData(320, 1536, 2048, 16)] // 1 Gvoxel: 20 slices of 3.1 Mpixel
    [InlineData(2000, 3072, 4096, 394)] // a real acquisition: 5 slices of 12.6 Mpixel
    [InlineData(3, 10000, 10000, 4)] // never sparser than the minimum, even where the stack has fewer slices
    public void The_survey_stride_keeps_the_surveyed_pixels_near_the_target_on_large_stacks(int depth, int height, int width, int stride)
    {
        Assert.Equal(stride, CarbonFibreSurvey.SliceStrideFor(depth, height, width));
        var surveyed = (long)CarbonFibreSurvey.SurveyedSlices(0, depth, stride) * height * width;
        if (stride > CarbonFibreSurvey.MinimumSliceStride)
            Assert.InRange(surveyed, CarbonFibreSurvey.TargetSurveyedPixels / 2, CarbonFibreSurvey.TargetSurveyedPixels * 5 / 4);
    }

    [Fact]
    public void A_sparser_stride_surveys_only_the_slices_on_it_and_merges_the_same_for_any_chunking()
    {
        // A fibre along z, cut by every slice, beside the three fibres and the pore.
        var volume = FibresAndAPore(seed: 3);
        for (var z = 0; z < volume.Depth; z++)
            for (var y = 0; y < volume.Height; y++)
                for (var x = 0; x < volume.Width; x++)
                {
                    var distance = Math.Sqrt((y - 40) * (y - 40) + (x - 40) * (x - 40));
                    volume[z, y, x] = (ushort)Math.Min(volume[z, y, x], Means[2] - (Means[2] - 21000) * Math.Exp(-distance * distance / (2 * 1.8 * 1.8)));
                }
        var whole = new SlabWindow(0, volume.Depth, 0, volume.Depth);
        // Stride 8 surveys slices 0, 8, 16, ...: the stride-4 survey's counts less those of the slices 4, 12, 20, ...
        var every4 = CarbonFibreSurvey.Survey(volume, whole, TileWindow.Whole(volume.Height, volume.Width), Thresholds, Means, Bins, Min, Max, Sigma, sliceStride: 4);
        var every8 = CarbonFibreSurvey.Survey(volume, whole, TileWindow.Whole(volume.Height, volume.Width), Thresholds, Means, Bins, Min, Max, Sigma, sliceStride: 8);
        var between = new List<FibreSurveyCounts>();
        for (var z = 4; z < volume.Depth; z += 8)
        {
            var window = Halo.Expand(volume.Depth, z, z + 1, CarbonFibreSurvey.RequiredHaloSlices(Sigma));
            between.Add(CarbonFibreSurvey.Survey(Halo.CropZ(volume, window.SlabZ0, window.SlabZ1), window, Thresholds, Means, Bins, Min, Max, Sigma));
        }
        var oddFours = FibreSurveyCounts.Merge(between);
        Assert.True(every8.TubeHistogram.Sum() > 0 && oddFours.TubeHistogram.Sum() > 0, $"fibre cores on both sets of slices: {every8.TubeHistogram.Sum()}, {oddFours.TubeHistogram.Sum()}, all {every4.TubeHistogram.Sum()}");
        Assert.Equal(every4.TubeHistogram, every8.TubeHistogram.Zip(oddFours.TubeHistogram, (a, b) => a + b).ToArray());
        Assert.Equal(every4.ElectrolyteCoreHistogram, every8.ElectrolyteCoreHistogram.Zip(oddFours.ElectrolyteCoreHistogram, (a, b) => a + b).ToArray());
        foreach (var chunkSlices in new[] { 5, 13 })
        {
            var parts = new List<FibreSurveyCounts>();
            for (var z0 = 0; z0 < volume.Depth; z0 += chunkSlices)
            {
                var window = Halo.Expand(volume.Depth, z0, Math.Min(volume.Depth, z0 + chunkSlices), CarbonFibreSurvey.RequiredHaloSlices(Sigma));
                parts.Add(CarbonFibreSurvey.Survey(Halo.CropZ(volume, window.SlabZ0, window.SlabZ1), window,
                    TileWindow.Whole(volume.Height, volume.Width), Thresholds, Means, Bins, Min, Max, Sigma, sliceStride: 8));
            }
            Assert.Equal(every8.TubeHistogram, FibreSurveyCounts.Merge(parts).TubeHistogram);
        }
    }

    [Fact]
    public void Merged_tile_surveys_equal_the_whole_stack_survey()
    {
        var volume = FibresAndAPore(seed: 4);
        var whole = CarbonFibreSurvey.Survey(volume, new SlabWindow(0, volume.Depth, 0, volume.Depth), Thresholds, Means, Bins, Min, Max, Sigma);
        Assert.True(whole.TubeHistogram.Sum() > 20);
        var halo = CarbonFibreSurvey.RequiredHaloSlices(Sigma);
        foreach (var (chunkSlices, tile) in new[] { (16, 13), (7, 30), (40, 5) })
        {
            var parts = new List<FibreSurveyCounts>();
            for (var z0 = 0; z0 < volume.Depth; z0 += chunkSlices)
            {
                var slab = Halo.Expand(volume.Depth, z0, Math.Min(volume.Depth, z0 + chunkSlices), halo);
                foreach (var t in TileGrid.Plan(volume.Height, volume.Width, tile, tile, halo))
                {
                    parts.Add(CarbonFibreSurvey.Survey(TileGrid.Crop(Halo.CropZ(volume, slab.SlabZ0, slab.SlabZ1), t), slab, t, Thresholds, Means, Bins, Min, Max, Sigma));
                }
            }
            var merged = FibreSurveyCounts.Merge(parts);
            Assert.Equal(whole.TubeHistogram, merged.TubeHistogram);
            Assert.Equal(whole.ElectrolyteCoreHistogram, merged.ElectrolyteCoreHistogram);
        }
    }

    private static FibreSurveyCounts SurveyWithFibresAt(double fibreLevel, long fibreVoxels, double electrolyteSpread = 500)
    {
        var tubes = new long[Bins];
        tubes[Histogram.BinOf(fibreLevel, Bins, Min, Max)] = fibreVoxels;
        var electrolyte = new long[Bins];
        // A Gaussian electrolyte interior of the given SD around its mean.
        for (var b = 0; b < Bins; b++)
        {
            var centre = Histogram.LowerEdge(b, Bins, Min, Max) + 32;
            electrolyte[b] = (long)Math.Round(1e5 * Math.Exp(-0.5 * Math.Pow((centre - Means[2]) / electrolyteSpread, 2)));
        }
        return new FibreSurveyCounts(tubes, electrolyte);
    }

    [Fact]
    public void Fibres_well_above_the_fits_carbon_replace_it_and_move_its_thresholds_to_the_midpoints()
    {
        var decision = CarbonLevel.Decide(SurveyWithFibresAt(22000, 400), Thresholds, Means, Bins, Min, Max);
        Assert.True(decision.Replaced);
        Assert.InRange(decision.FibreCoreLevel, 21952, 22016); // inside 22000's bin
        Assert.Equal([Means[0], decision.FibreCoreLevel, Means[2], Means[3]], decision.ClassMeans);
        Assert.Equal([(Means[0] + decision.FibreCoreLevel) / 2, (decision.FibreCoreLevel + Means[2]) / 2, Thresholds[2]], decision.Thresholds);
    }

    [Fact]
    public void Fibres_well_below_the_fits_carbon_replace_it_too()
    {
        double[] carbonTooBright = [5000, 25000, 30000, 50000];
        var decision = CarbonLevel.Decide(SurveyWithFibresAt(16000, 400), [15000, 27500, 40000], carbonTooBright, Bins, Min, Max);
        Assert.True(decision.Replaced);
        Assert.InRange(decision.ClassMeans[1], 16000, 16064);
    }

    [Fact]
    public void Fibres_near_the_fits_carbon_leave_the_fit_alone()
    {
        // 0.1 of the void-to-electrolyte contrast (25000) above the fit's carbon: within the agreement band.
        var decision = CarbonLevel.Decide(SurveyWithFibresAt(16500, 400), Thresholds, Means, Bins, Min, Max);
        Assert.False(decision.Replaced);
        Assert.Same(Thresholds, decision.Thresholds);
        Assert.Same(Means, decision.ClassMeans);
        Assert.InRange(decision.FibreCoreLevel, 16448, 16512);
    }

    [Fact]
    public void Too_few_fibre_voxels_or_fibres_inside_the_electrolytes_noise_estimate_nothing()
    {
        var few = CarbonLevel.Decide(SurveyWithFibresAt(22000, CarbonLevel.MinimumFibreVoxels - 1), Thresholds, Means, Bins, Min, Max);
        Assert.False(few.Replaced);
        Assert.True(double.IsNaN(few.FibreCoreLevel));
        // With an electrolyte SD of 4000, 2.5 SD below its mean is 20000: "fibres" at 22000 are its noise.
        var noise = CarbonLevel.Decide(SurveyWithFibresAt(22000, 400, electrolyteSpread: 4000), Thresholds, Means, Bins, Min, Max);
        Assert.False(noise.Replaced);
        Assert.Equal(0, noise.FibreCoreVoxels);
    }

    [Fact]
    public void Robust_spread_of_a_gaussian_histogram_is_its_sd()
    {
        var electrolyte = SurveyWithFibresAt(22000, 0, electrolyteSpread: 1500).ElectrolyteCoreHistogram;
        Assert.InRange(CarbonLevel.RobustSpread(electrolyte, Bins, Min, Max), 1400, 1600);
    }
}
