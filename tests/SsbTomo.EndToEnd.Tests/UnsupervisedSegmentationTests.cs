using Xunit.Abstractions;
using SsbTomo.Cli;
using SsbTomo.Imaging;
using SsbTomo.Storage;
using SsbTomo.Storage.Images;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>`ssbtomo segment` without --model: multi-level Otsu thresholds fitted once over the set, known answers.</summary>
public sealed class UnsupervisedSegmentationTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_root.Path, name)).FullName;

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>
    /// A phase map 1..k: background phase 1, then random shapes of phase 2..k painted over it; the kind of shape and
    /// how many differ by <paramref name="kind"/> (0 discs, 1 rectangles, 2 a smooth random field's level sets), so the
    /// images share nothing but the grey level of each phase.
    /// </summary>
    private static Image2D<byte> Phases(int seed, int kind, int phases, int height = 128, int width = 144)
    {
        var random = new Random(seed);
        var truth = new Image2D<byte>(height, width, Enumerable.Repeat((byte)1, height * width).ToArray());
        if (kind == 2)
        {
            var (a, b, c, cut) = (random.NextDouble() * 6, random.NextDouble() * 6, 0.03 + random.NextDouble() * 0.04, random.NextDouble() * 0.8 - 0.4);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var field = Math.Sin(c * x + a) * Math.Cos(c * 1.3 * y + b) + 0.5 * Math.Sin(c * 0.7 * (x + y));
                    var phase = 1 + (int)Math.Clamp(Math.Floor((field - cut + 1.5) / 3.0 * phases), 0, phases - 1);
                    truth[y, x] = (byte)phase;
                }
            return truth;
        }
        var count = random.Next(4, 14);
        for (var s = 0; s < count; s++)
        {
            var phase = (byte)random.Next(2, phases + 1);
            var (cy, cx, r) = (random.NextDouble() * height, random.NextDouble() * width, 7 + random.NextDouble() * 16);
            var (h, w) = (8 + random.Next(40), 8 + random.Next(50));
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var inside = kind == 0
                        ? (y + 0.5 - cy) * (y + 0.5 - cy) + (x + 0.5 - cx) * (x + 0.5 - cx) < r * r
                        : Math.Abs(y - cy) < h / 2.0 && Math.Abs(x - cx) < w / 2.0;
                    if (inside) truth[y, x] = phase;
                }
        }
        return truth;
    }

    /// <summary>Each phase's grey level plus Gaussian noise.</summary>
    private static Image2D<ushort> Render(Image2D<byte> truth, double[] levels, double noise, int top, int seed)
    {
        var random = new Random(seed);
        return new Image2D<ushort>(truth.Height, truth.Width,
            Array.ConvertAll(truth.Pixels, p => (ushort)Math.Clamp(Math.Round(levels[p - 1] + noise * Normal(random)), 0, top)));
    }

    private static double Share(Image2D<byte> truth, byte phase) => truth.Pixels.Count(v => v == phase) / (double)truth.Pixels.Length;

    [Fact]
    public async Task Without_a_model_a_folder_of_unrelated_2_phase_PNGs_is_segmented_with_Dice_at_least_0_98()
    {
        var (images, outDir) = (Folder("images"), Folder("out"));
        var truths = new Dictionary<string, Image2D<byte>>();
        var shares = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            var truth = Phases(seed: 100 + i, kind: i % 3, phases: 2);
            shares.Add(Share(truth, 2));
            PngImage.Write(Path.Combine(images, $"image-{i}.png"), Render(truth, [70, 170], noise: 14, top: 255, seed: 200 + i), 8);
            truths[$"image-{i}"] = truth;
        }
        Assert.True(shares.Max() - shares.Min() > 0.2, $"bright shares {string.Join(", ", shares.Select(s => s.ToString("0.00")))} should differ");

        // Through the command line, without --model.
        var exit = await TrainableSegmentation.CreateSegment().Parse([images, "--phases", "pore,particle", "--out", outDir]).InvokeAsync();
        Assert.Equal(0, exit);

        foreach (var (stem, truth) in truths)
        {
            var written = ImageSet.Read(Path.Combine(outDir, stem + ".tif"));
            Assert.Equal(8, written.BitDepth);
            Assert.Single(written.Pages);
            var segmented = ImageSet.AsLabels(written.Pages[0], stem);
            Assert.All(segmented.Pixels, v => Assert.InRange(v, (byte)1, (byte)2));
            for (byte phase = 1; phase <= 2; phase++)
            {
                var dice = LabelScores.Dice(truth, segmented, phase);
                Assert.True(dice >= 0.98, $"{stem}: phase {phase} Dice {dice:0.000}");
            }
        }
    }

    [Fact]
    public void Without_a_model_a_16_bit_TIFF_stack_is_segmented_into_3_phases_with_one_set_of_thresholds()
    {
        var (images, outDir) = (Folder("images"), Folder("out"));
        var truths = Enumerable.Range(0, 4).Select(z => Phases(seed: 300 + z, kind: z % 3, phases: 3)).ToArray();
        var pages = truths.Select((t, z) => Render(t, [9000, 24000, 41000], noise: 1500, top: 65535, seed: 400 + z)).ToArray();
        TiffSliceWriter.WriteMultiPage(Path.Combine(images, "stack.tif"), pages, VoxelSize.Isotropic(5));
        // a second file, single page, to check one histogram over files
        var single = Phases(seed: 310, kind: 1, phases: 3);
        TiffSliceWriter.Write(Path.Combine(images, "single.tif"), Render(single, [9000, 24000, 41000], noise: 1500, top: 65535, seed: 410), VoxelSize.Isotropic(5));

        Assert.Equal(0, TrainableSegmentation.SegmentUnsupervised(images, ["pore", "carbon", "particle"], outDir));

        var written = ImageSet.Read(Path.Combine(outDir, "stack.tif"));
        Assert.Equal(8, written.BitDepth);
        Assert.Equal(truths.Length, written.Pages.Count);
        var all = truths.Append(single).Zip(written.Pages.Append(ImageSet.Read(Path.Combine(outDir, "single.tif")).Pages[0]));
        foreach (var ((truth, page), z) in all.Select((p, z) => (p, z)))
        {
            var segmented = ImageSet.AsLabels(page, $"page {z}");
            Assert.All(segmented.Pixels, v => Assert.InRange(v, (byte)1, (byte)3));
            for (byte phase = 1; phase <= 3; phase++)
            {
                if (Share(truth, phase) < 0.02) continue; // a phase absent from an image has no meaningful Dice
                var dice = LabelScores.Dice(truth, segmented, phase);
                output.WriteLine($"image {z}: phase {phase} Dice {dice:0.0000}");
                // Where the darkest and brightest phases touch, the σ 1 smoothing makes a pixel of middle grey on the
                // boundary that any grey-level threshold gives to the middle phase (a one-pixel skin): by thresholds
                // alone the middle phase's Dice was 0.92 and the brightest's 0.974; the partial-volume clean-up gives
                // the skin back to the two phases it is a mixture of: now ≥ 0.994 for every phase of every image.
                Assert.True(dice >= 0.99, $"image {z}: phase {phase} Dice {dice:0.000}");
            }
        }
    }

    [Fact]
    public void Without_a_model_bad_input_is_refused_with_a_sentence()
    {
        var (images, outDir) = (Folder("images"), Folder("out"));
        var flat = new Image2D<ushort>(16, 16, Enumerable.Repeat((ushort)50, 256).ToArray());
        PngImage.Write(Path.Combine(images, "a.png"), flat, 8);
        string Error(Action action) => Assert.ThrowsAny<Exception>(action).Message;
        Assert.Contains("too few grey levels for 2 phases", Error(() => TrainableSegmentation.SegmentUnsupervised(images, ["pore", "particle"], outDir)));
        Assert.Contains("2 to 6 phases", Error(() => TrainableSegmentation.SegmentUnsupervised(images, ["only"], outDir)));
        PngImage.Write(Path.Combine(images, "b.png"), flat, 16);
        Assert.Contains("one set of thresholds needs one bit depth", Error(() => TrainableSegmentation.SegmentUnsupervised(images, ["pore", "particle"], outDir)));
    }
}
