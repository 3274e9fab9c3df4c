using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Reference;

namespace SsbTomo.Imaging.Tests.Segmentation;

/// <summary>
/// The fast survey and Hessian against their frozen copies (<see cref="CarbonFibreSurveyReference"/>,
/// <see cref="HessianReference"/>): the same counts to the voxel and the same eigenvalue bits, on cathode-like volumes
/// of 8- and 16-bit grey levels, whole, in z chunks with their halo and in y/x tiles, at several tube scales.
/// </summary>
public class CarbonFibreSurveyReferenceTests
{
    /// <summary>
    /// A cathode-like volume: electrolyte matrix, bright active-material spheres, dark pores, carbon fibres (capsules of
    /// radius 0.8-2.5 voxels in random directions), rendered 2x2x2 supersampled, blurred (σ 1), with noise, denoised as the
    /// pipeline does (σ 0.8) and rounded to grey levels of <paramref name="bitDepth"/> bits. Returns the class means too.
    /// </summary>
    internal static (Volume<ushort> Grey, double[] Means) Cathode(int depth, int height, int width, int bitDepth, int seed)
    {
        var random = new Random(seed);
        var full = (1 << bitDepth) - 1;
        // Void, carbon, electrolyte, active material: shares of the full scale drawn around a BSE-like order.
        double[] means = [full * (0.08 + 0.04 * random.NextDouble()), full * (0.30 + 0.06 * random.NextDouble()),
            full * (0.50 + 0.06 * random.NextDouble()), full * (0.78 + 0.08 * random.NextDouble())];
        (double Z, double Y, double X) Point() => (random.NextDouble() * depth, random.NextDouble() * height, random.NextDouble() * width);
        var particles = Enumerable.Range(0, 1 + depth * height * width / 12000).Select(_ => (Centre: Point(), Radius: 4 + 5 * random.NextDouble())).ToArray();
        var pores = Enumerable.Range(0, 2 + depth * height * width / 6000).Select(_ => (Centre: Point(), Radius: 1.5 + 3 * random.NextDouble())).ToArray();
        var fibres = Enumerable.Range(0, 3 + depth * height * width / 3000).Select(_ =>
        {
            var a = Point();
            var (dz, dy, dx) = (random.NextDouble() - 0.5, random.NextDouble() - 0.5, random.NextDouble() - 0.5);
            var length = 10 + 30 * random.NextDouble();
            var norm = Math.Sqrt(dz * dz + dy * dy + dx * dx);
            return (A: a, B: (a.Z + dz / norm * length, a.Y + dy / norm * length, a.X + dx / norm * length), Radius: 0.8 + 1.7 * random.NextDouble());
        }).ToArray();
        static double Squared((double Z, double Y, double X) p, (double Z, double Y, double X) c) =>
            (p.Z - c.Z) * (p.Z - c.Z) + (p.Y - c.Y) * (p.Y - c.Y) + (p.X - c.X) * (p.X - c.X);
        static double SegmentDistance((double Z, double Y, double X) p, (double Z, double Y, double X) a, (double Z, double Y, double X) b)
        {
            var (abz, aby, abx) = (b.Z - a.Z, b.Y - a.Y, b.X - a.X);
            var t = Math.Clamp(((p.Z - a.Z) * abz + (p.Y - a.Y) * aby + (p.X - a.X) * abx) / (abz * abz + aby * aby + abx * abx), 0, 1);
            return Math.Sqrt(Squared(p, (a.Z + t * abz, a.Y + t * aby, a.X + t * abx)));
        }
        double GreyAt((double Z, double Y, double X) p)
        {
            if (pores.Any(o => Squared(p, o.Centre) <= o.Radius * o.Radius)) return means[0];
            if (particles.Any(o => Squared(p, o.Centre) <= o.Radius * o.Radius)) return means[3];
            return fibres.Any(f => SegmentDistance(p, f.A, f.B) <= f.Radius) ? means[1] : means[2];
        }
        var sharp = new Volume<ushort>(depth, height, width);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var sum = 0.0;
                    for (var s = 0; s < 8; s++) sum += GreyAt((z + 0.25 + 0.5 * (s & 1), y + 0.25 + 0.5 * ((s >> 1) & 1), x + 0.25 + 0.5 * (s >> 2)));
                    sharp[z, y, x] = (ushort)Math.Round(sum / 8);
                }
        var blurred = Denoise.Gaussian(sharp, 1.0);
        var noisy = new Volume<ushort>(depth, height, width,
            Array.ConvertAll(blurred.Data, v => (ushort)Math.Clamp(Math.Round(v + 0.03 * full * (random.NextDouble() - 0.5)), 0, full)));
        var denoised = Denoise.Gaussian(noisy, 0.8);
        var grey = new Volume<ushort>(depth, height, width, Array.ConvertAll(denoised.Data, v => (ushort)Math.Clamp(Math.Round(v), 0, full)));
        return (grey, means);
    }

    private static double[] Midpoints(double[] means) => [(means[0] + means[1]) / 2, (means[1] + means[2]) / 2, (means[2] + means[3]) / 2];

    public static TheoryData<int, int, double> Cases => new()
    {
        { 16, 1, 1.5 },
        { 8, 2, 1.5 },
        { 16, 3, 1.0 },
        { 8, 4, 2.5 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Counts_equal_the_frozen_survey_whole_chunked_and_tiled(int bitDepth, int seed, double sigma)
    {
        var (grey, means) = Cathode(26, 45, 53, bitDepth, seed);
        var thresholds = Midpoints(means);
        var (bins, max) = (bitDepth == 8 ? 256 : 1024, bitDepth == 8 ? 256.0 : 65536.0);
        var whole = new SlabWindow(0, grey.Depth, 0, grey.Depth);
        var tileWhole = TileWindow.Whole(grey.Height, grey.Width);
        var fast = CarbonFibreSurvey.Survey(grey, whole, tileWhole, thresholds, means, bins, 0, max, sigma);
        var reference = CarbonFibreSurveyReference.Survey(grey, whole, tileWhole, thresholds, means, bins, 0, max, sigma);
        Assert.Equal(reference.TubeHistogram, fast.TubeHistogram);
        Assert.Equal(reference.ElectrolyteCoreHistogram, fast.ElectrolyteCoreHistogram);
        // Not an empty comparison: both tests find voxels, and not every voxel.
        Assert.InRange(fast.TubeHistogram.Sum(), 20, grey.Length / 8);
        Assert.InRange(fast.ElectrolyteCoreHistogram.Sum(), 100, grey.Length / 4);

        var halo = CarbonFibreSurvey.RequiredHaloSlices(sigma);
        foreach (var (chunkSlices, tileHeight, tileWidth) in new[] { (9, 17, 23), (5, 45, 11), (26, 8, 53) })
            for (var z0 = 0; z0 < grey.Depth; z0 += chunkSlices)
            {
                var slab = Halo.Expand(grey.Depth, z0, Math.Min(grey.Depth, z0 + chunkSlices), halo);
                var slabGrey = Halo.CropZ(grey, slab.SlabZ0, slab.SlabZ1);
                foreach (var tile in TileGrid.Plan(grey.Height, grey.Width, tileHeight, tileWidth, halo))
                {
                    var tileGrey = TileGrid.Crop(slabGrey, tile);
                    var part = CarbonFibreSurvey.Survey(tileGrey, slab, tile, thresholds, means, bins, 0, max, sigma, parallelism: 2);
                    var expected = CarbonFibreSurveyReference.Survey(tileGrey, slab, tile, thresholds, means, bins, 0, max, sigma);
                    Assert.Equal(expected.TubeHistogram, part.TubeHistogram);
                    Assert.Equal(expected.ElectrolyteCoreHistogram, part.ElectrolyteCoreHistogram);
                }
            }
    }

    [Fact]
    public void Counts_equal_the_frozen_survey_for_thresholds_anywhere()
    {
        var (grey, means) = Cathode(14, 30, 37, 16, seed: 5);
        var window = new SlabWindow(0, grey.Depth, 0, grey.Depth);
        var tile = TileWindow.Whole(grey.Height, grey.Width);
        var mid = Midpoints(means);
        // Thresholds on and beside grey levels (their float rounding), outside the range, out of order, and NaN.
        double[][] sets =
        [
            mid,
            [Math.Round(mid[0]), Math.Round(mid[1]) + 0.5, Math.Round(mid[2]) - 1e-9],
            [Math.Round(mid[0]) + 1e-12, Math.Round(mid[1]) - 0.25, Math.Round(mid[2]) + 0.999],
            [-5, 0, 65535],
            [0, 65535.5, 70000],
            [mid[0], mid[2], mid[1]],
            [double.NaN, mid[1], mid[2]],
            [mid[0], double.NaN, double.PositiveInfinity],
            [double.NegativeInfinity, mid[1], double.NaN],
        ];
        foreach (var thresholds in sets)
        {
            var fast = CarbonFibreSurvey.Survey(grey, window, tile, thresholds, means, 1024, 0, 65536, 1.5);
            var reference = CarbonFibreSurveyReference.Survey(grey, window, tile, thresholds, means, 1024, 0, 65536, 1.5);
            Assert.Equal(reference.TubeHistogram, fast.TubeHistogram);
            Assert.Equal(reference.ElectrolyteCoreHistogram, fast.ElectrolyteCoreHistogram);
        }
    }

    [Fact]
    public void Counts_equal_the_frozen_survey_on_slices_narrower_than_the_kernel()
    {
        // The kernel (13 taps at σ 1.5) reflects more than once across 5 rows and 3 columns; widths below a vector's lanes.
        foreach (var (height, width) in new[] { (5, 3), (7, 9), (12, 17), (1, 40) })
        {
            var (grey, means) = Cathode(9, height, width, 16, seed: height * 100 + width);
            var window = new SlabWindow(0, grey.Depth, 0, grey.Depth);
            var tile = TileWindow.Whole(height, width);
            var thresholds = Midpoints(means);
            var fast = CarbonFibreSurvey.Survey(grey, window, tile, thresholds, means, 1024, 0, 65536, 1.5);
            var reference = CarbonFibreSurveyReference.Survey(grey, window, tile, thresholds, means, 1024, 0, 65536, 1.5);
            Assert.Equal(reference.TubeHistogram, fast.TubeHistogram);
            Assert.Equal(reference.ElectrolyteCoreHistogram, fast.ElectrolyteCoreHistogram);
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(3.2)]
    public void Slice_eigenvalues_are_the_frozen_double_precision_ones_bit_for_bit(double sigma)
    {
        foreach (var (depth, height, width) in new[] { (11, 29, 37), (4, 5, 3), (7, 16, 64) })
        {
            var (grey, _) = Cathode(depth, height, width, 16, seed: depth + height + width);
            // Float grey levels with fractions, as the denoised volume the studies pass.
            var volume = Denoise.Gaussian(grey, 0.7);
            for (var z = 0; z < depth; z++)
            {
                var fast = HessianEigenvalues.OfSlice(volume, z, sigma);
                var reference = HessianReference.OfSlice(volume, z, sigma);
                Assert.Equal(Bits(reference.Largest), Bits(fast.Largest));
                Assert.Equal(Bits(reference.Middle), Bits(fast.Middle));
                Assert.Equal(Bits(reference.Smallest), Bits(fast.Smallest));
            }
        }
    }

    private static int[] Bits(float[] values) => Array.ConvertAll(values, BitConverter.SingleToInt32Bits);
}
