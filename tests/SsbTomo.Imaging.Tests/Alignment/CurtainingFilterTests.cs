using SsbTomo.Imaging.Alignment;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Alignment;

public class CurtainingFilterTests(ITestOutputHelper output)
{
    [Fact]
    public void Stripes_on_a_blob_image_are_removed_while_the_blobs_stay()
    {
        const int h = 256, w = 320;
        // Particles a few to ~15 px across, with vertical edges; stripes 1-5 px wide.
        var clean = new BlobScene(400, h, w, seed: 31, minSigmaPx: 2, maxSigmaPx: 8).Render(h, w, Shift2D.Zero);
        var profile = ImageTools.StripeProfile(w, 0.05, seed: 4);
        var striped = new Image2D<float>(h, w, (float[])clean.Pixels.Clone());
        ImageTools.AddStripes(striped, profile);
        var filtered = CurtainingFilter.Remove(striped);

        double before = StripeEnergy(striped, clean), after = StripeEnergy(filtered, clean);
        double rmsBefore = Rms(striped, clean), rmsAfter = Rms(filtered, clean);
        var cleanFiltered = CurtainingFilter.Remove(clean);
        double rmsOnClean = Rms(cleanFiltered, clean);
        double blobRms = Math.Sqrt(clean.Pixels.Select(p => (p - 0.5) * (p - 0.5)).Average());
        output.WriteLine($"stripe energy {before:E3} -> {after:E3} ({100 * (1 - after / before):F1} % removed); RMS vs clean {rmsBefore:F4} -> {rmsAfter:F4}; filter on clean image changes it by RMS {rmsOnClean:F4} (blob contrast RMS {blobRms:F4})");
        Assert.True(after < 0.2 * before, "stripe energy must drop by more than 80 %");
        Assert.True(rmsAfter < 0.45 * rmsBefore, $"RMS vs clean {rmsAfter}");
        Assert.True(rmsOnClean < 0.1 * blobRms, $"filter changes a stripe-free image by RMS {rmsOnClean}");
    }

    [Fact]
    public void Blocks_of_256_rows_read_on_every_second_row_lose_the_stripes_as_when_read_on_every_row()
    {
        const int h = 768, w = 320;
        var clean = new BlobScene(1200, h, w, seed: 17, minSigmaPx: 2, maxSigmaPx: 8).Render(h, w, Shift2D.Zero);
        var striped = new Image2D<float>(h, w, (float[])clean.Pixels.Clone());
        ImageTools.AddStripes(striped, ImageTools.StripeProfile(w, 0.05, seed: 9));
        ImageTools.AddNoise(striped, 0.03, seed: 5);
        Assert.Equal(2, CurtainingFilter.RowStride(h, 3));

        var everyRow = CurtainingFilter.Remove(striped, out _, 12, 256, null, KernelThreads.All, rowStride: 1);
        var everySecondRow = CurtainingFilter.Remove(striped, out _, 12, 256, null, KernelThreads.All, rowStride: 0);

        double before = StripeEnergy(striped, clean), afterAll = StripeEnergy(everyRow, clean), afterHalf = StripeEnergy(everySecondRow, clean);
        output.WriteLine($"stripe energy {before:E3} -> every row {afterAll:E3} ({100 * (1 - afterAll / before):F1} % removed), every second row {afterHalf:E3} ({100 * (1 - afterHalf / before):F1} %)");
        Assert.True(afterHalf < 0.2 * before, "stripe energy must drop by more than 80 %");
        Assert.True(afterHalf < 1.5 * afterAll, $"every second row leaves {afterHalf:E3}, every row {afterAll:E3}");
        Assert.NotEqual(everyRow.Pixels, everySecondRow.Pixels); // the stride is taken
    }

    [Fact]
    public void A_vertical_step_edge_is_not_touched()
    {
        var image = new Image2D<float>(64, 64);
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
                image[y, x] = x < 30 ? 0.2f : 0.8f;
        var filtered = CurtainingFilter.Remove(image);
        Assert.All(filtered.Pixels.Zip(image.Pixels), p => Assert.Equal(p.Second, p.First, 5));
    }

    /// <summary>Energy of the column means of (image - clean) after removing the overall mean.</summary>
    private static double StripeEnergy(Image2D<float> image, Image2D<float> clean)
    {
        var columns = new double[image.Width];
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                columns[x] += (image[y, x] - clean[y, x]) / image.Height;
        double mean = columns.Average();
        return columns.Sum(c => (c - mean) * (c - mean));
    }

    private static double Rms(Image2D<float> a, Image2D<float> b)
    {
        double mean = a.Pixels.Zip(b.Pixels, (p, q) => (double)p - q).Average();
        return Math.Sqrt(a.Pixels.Zip(b.Pixels, (p, q) => (p - q - mean) * (p - q - mean)).Average());
    }
}
