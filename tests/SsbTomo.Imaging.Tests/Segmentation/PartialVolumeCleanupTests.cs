using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Measurement;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class PartialVolumeCleanupTests
{
    private static readonly byte[] DarkToBright = PhaseClassifier.BseDarkToBright;

    /// <summary>BSE-like grey levels per label (void darkest, NMC brightest).</summary>
    private static ushort GreyOf(byte label) => label switch
    {
        PhaseLabel.Void => 6000,
        PhaseLabel.Carbon => 20000,
        PhaseLabel.Lps => 34000,
        PhaseLabel.Nmc => 52000,
        _ => 0,
    };

    /// <summary>Truth labels → grey image blurred by σ=1 voxel with Gaussian noise: what the microscope gives.</summary>
    private static Volume<ushort> Image(Volume<byte> truth, double noiseGrey, int seed)
    {
        var sharp = new Volume<ushort>(truth.Depth, truth.Height, truth.Width, Array.ConvertAll(truth.Data, GreyOf));
        var blurred = Denoise.Gaussian(sharp, 1.0);
        var random = new Random(seed);
        var image = new Volume<ushort>(truth.Depth, truth.Height, truth.Width);
        for (var i = 0; i < image.Data.Length; i++)
        {
            var g = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            image.Data[i] = (ushort)Math.Clamp(Math.Round(blurred.Data[i] + noiseGrey * g), 0, 65535);
        }
        return image;
    }

    /// <summary>Half-cracked NMC sphere in LPS, with a carbon fibre along z so that all four phases exist.</summary>
    private static Volume<byte> CrackedSphereWithFibre()
    {
        var truth = ContactAndFractionTests.HalfCrackedSphere(48, 13, 4);
        for (var z = 0; z < 48; z++)
            for (var y = 0; y < 48; y++)
                for (var x = 0; x < 48; x++)
                    if ((y - 7) * (y - 7) + (x - 7) * (x - 7) <= 16) truth[z, y, x] = PhaseLabel.Carbon;
        return truth;
    }

    private sealed record Segmented(Volume<byte> Raw, Volume<byte> Cleaned);

    /// <summary>The whole chain: denoise, histogram, 4-class multi-Otsu, classify, clean up.</summary>
    private static Segmented Segment(Volume<ushort> image)
    {
        var denoised = Denoise.Gaussian(image, 1.0);
        var histogram = Histogram.Compute(denoised, Histogram.DefaultBins, Histogram.DefaultMin, Histogram.DefaultMax);
        var thresholdBins = MultiOtsu.Thresholds(histogram, 4);
        var thresholds = MultiOtsu.ToIntensities(thresholdBins, Histogram.DefaultBins, Histogram.DefaultMin, Histogram.DefaultMax);
        var means = MultiOtsu.ClassMeans(histogram, thresholdBins, Histogram.DefaultMin, Histogram.DefaultMax);
        var raw = PhaseClassifier.Classify(denoised, thresholds, DarkToBright);
        return new Segmented(raw, PartialVolumeCleanup.Apply(raw, denoised, DarkToBright, means));
    }

    [Fact]
    public void Blurred_noisy_crack_next_to_nmc_is_recovered_after_cleanup()
    {
        var truth = CrackedSphereWithFibre();
        var expected = ContactLoss.Count(truth);
        var segmented = Segment(Image(truth, noiseGrey: 1500, seed: 7));
        var before = ContactLoss.Count(segmented.Raw);
        var after = ContactLoss.Count(segmented.Cleaned);

        Assert.True(before.NmcVoid < 0.5 * expected.NmcVoid, $"blur should hide most NMC|void faces before cleanup: {before} vs truth {expected}");
        Assert.InRange(after.NmcVoid, 0.95 * expected.NmcVoid, 1.05 * expected.NmcVoid);
        Assert.InRange(after.LossFraction, expected.LossFraction - 0.03, expected.LossFraction + 0.03);
    }

    [Fact]
    public void A_genuine_three_voxel_lps_layer_between_nmc_and_void_survives()
    {
        // x < 16 NMC, x 16..18 LPS, x 19..31 void, except a carbon block (needed for four classes) at the far end.
        var truth = new Volume<byte>(16, 24, 32);
        for (var z = 0; z < 16; z++)
            for (var y = 0; y < 24; y++)
                for (var x = 0; x < 32; x++)
                    truth[z, y, x] = x < 16 ? PhaseLabel.Nmc : x < 19 ? PhaseLabel.Lps : x >= 28 && y >= 12 ? PhaseLabel.Carbon : PhaseLabel.Void;
        var segmented = Segment(Image(truth, noiseGrey: 1000, seed: 3));
        var cleaned = segmented.Cleaned;

        Assert.Equal(0, ContactLoss.Count(cleaned).NmcVoid);
        for (var z = 0; z < 16; z++)
            for (var y = 0; y < 24; y++)
            {
                Assert.Equal(PhaseLabel.Lps, cleaned[z, y, 16]);
                Assert.Equal(PhaseLabel.Lps, cleaned[z, y, 17]);
            }
    }

    [Fact]
    public void Chunks_with_halo_give_the_same_labels_as_the_whole_volume()
    {
        var truth = CrackedSphereWithFibre();
        var denoised = Denoise.Gaussian(Image(truth, 1500, 11), 1.0);
        double[] means = [6000, 20000, 34000, 52000];
        double[] thresholds = [13000, 27000, 43000];
        var raw = PhaseClassifier.Classify(denoised, thresholds, DarkToBright);
        var whole = PartialVolumeCleanup.Apply(raw, denoised, DarkToBright, means);
        Assert.NotEqual(raw.Data, whole.Data);

        var halo = PartialVolumeCleanup.RequiredHaloSlices();
        var pieces = new List<byte>();
        for (var z0 = 0; z0 < raw.Depth; z0 += 10)
        {
            var window = Halo.Expand(raw.Depth, z0, Math.Min(raw.Depth, z0 + 10), halo);
            var slab = PartialVolumeCleanup.Apply(Halo.CropZ(raw, window.SlabZ0, window.SlabZ1), Halo.CropZ(denoised, window.SlabZ0, window.SlabZ1), DarkToBright, means);
            pieces.AddRange(Halo.CropToOwned(slab, window).Data);
        }
        Assert.Equal(whole.Data, pieces.ToArray());
    }

    [Fact]
    public void One_voxel_skin_between_bright_and_dark_goes_to_the_nearer_side()
    {
        var labels = new Volume<byte>(1, 1, 5, [PhaseLabel.Nmc, PhaseLabel.Nmc, PhaseLabel.Lps, PhaseLabel.Void, PhaseLabel.Void]);
        var intensity = new Volume<float>(1, 1, 5, [52000, 50000, 30000, 8000, 6000]);
        var cleaned = PartialVolumeCleanup.Apply(labels, intensity, DarkToBright, [6000, 20000, 34000, 52000]);
        Assert.Equal([PhaseLabel.Nmc, PhaseLabel.Nmc, PhaseLabel.Nmc, PhaseLabel.Void, PhaseLabel.Void], cleaned.Data);
    }
    /// <summary>
    /// A six-phase table in 2D (labels 1..6 dark to bright, grey 1000·label): a blurred edge between phases 2 and 5
    /// classifies as a skin of 3 and 4, which goes to 2 and 5 by grey level; an edge between neighbours 5|6 and a
    /// 3-px true layer of phase 3 between 1 and 6 are left alone.
    /// </summary>
    [Fact]
    public void A_six_phase_table_in_2D_gives_a_skin_between_non_neighbours_to_those_two_and_leaves_neighbours_and_layers_alone()
    {
        byte[] darkToBright = [1, 2, 3, 4, 5, 6];
        double[] means = [1000, 2000, 3000, 4000, 5000, 6000];
        // One row per case; 1 row images are enough: only the in-plane x line can qualify.
        (byte[] Labels, float[] Grey, byte[] Expected)[] rows =
        [
            ([2, 2, 3, 4, 5, 5], [2000, 2100, 2900, 4200, 4900, 5000], [2, 2, 2, 5, 5, 5]),
            ([2, 2, 4, 5, 5, 5], [2000, 2000, 3600, 5000, 5000, 5000], [2, 2, 5, 5, 5, 5]),
            ([2, 2, 3, 5, 5, 5], [2000, 2000, 3400, 5000, 5000, 5000], [2, 2, 2, 5, 5, 5]),
            ([5, 5, 5, 6, 6, 6], [5000, 5000, 5400, 5900, 6000, 6000], [5, 5, 5, 6, 6, 6]),
            ([1, 3, 3, 3, 6, 6], [1000, 3000, 3000, 3000, 6000, 6000], [1, 3, 3, 3, 6, 6]),
        ];
        // Each row padded by 3 copies of its end values: the rule does not trust an end voxel of an intermediate
        // class whose line leaves the image within reach (it might lie in a thin band beyond).
        static T[] Pad<T>(T[] row) => [.. Enumerable.Repeat(row[0], 3), .. row, .. Enumerable.Repeat(row[^1], 3)];
        foreach (var (labels, grey, expected) in rows.Select(r => (Pad(r.Labels), Pad(r.Grey), Pad(r.Expected))))
        {
            var cleaned = PartialVolumeCleanup.Apply(new Image2D<byte>(1, labels.Length, labels), new Image2D<float>(1, grey.Length, grey), darkToBright, means);
            Assert.Equal(expected, cleaned.Pixels);
        }
    }
}
