using SsbTomo.Cli;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Classification;
using SsbTomo.Storage;
using SsbTomo.Storage.Images;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>`ssbtomo train` and `segment` on folders of unrelated 2D PNG images with a known answer.</summary>
public sealed class TrainableSegmentationTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(_root.Path, name)).FullName;

    /// <summary>
    /// Bright discs (particles, label 2) of random radii on a dark background with a texture of its own (pores, label 1),
    /// blurred edges and noise; the grey levels, contrast and noise differ from image to image.
    /// </summary>
    internal static (Image2D<ushort> Image, Image2D<byte> Truth) Discs(int seed, int size = 128)
    {
        var random = new Random(seed);
        var discs = Enumerable.Range(0, random.Next(6, 11))
            .Select(_ => (Y: random.NextDouble() * size, X: random.NextDouble() * size, R: 5 + random.NextDouble() * 12)).ToArray();
        var (dark, bright, noise) = (40 + random.Next(30), 150 + random.Next(60), 8 + random.Next(10));
        var image = new Image2D<ushort>(size, size);
        var truth = new Image2D<byte>(size, size);
        var phase = random.NextDouble() * 6;
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                // distance inside the nearest disc's rim: > 0 inside; the grey level ramps over ±1.5 px (blur)
                var inside = discs.Max(d => d.R - Math.Sqrt((y + 0.5 - d.Y) * (y + 0.5 - d.Y) + (x + 0.5 - d.X) * (x + 0.5 - d.X)));
                var share = Math.Clamp(0.5 + inside / 3, 0, 1);
                var texture = 18 * Math.Sin(x / 2.5 + phase) * Math.Sin(y / 3.5);
                var value = dark + texture + share * (bright - dark - texture) + noise * Gaussian(random);
                image[y, x] = (ushort)Math.Clamp(Math.Round(value), 0, 255);
                truth[y, x] = inside > 0 ? (byte)2 : (byte)1;
            }
        return (image, truth);
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Sparse strokes from the truth: every 16th row and column, only ≥ 3 px inside a phase, every other pixel.</summary>
    internal static Image2D<byte> Strokes(Image2D<byte> truth)
    {
        var labels = new Image2D<byte>(truth.Height, truth.Width);
        for (var y = 3; y < truth.Height - 3; y++)
            for (var x = 3; x < truth.Width - 3; x++)
            {
                if ((y % 16 != 8 && x % 16 != 8) || (x + y) % 2 != 0) continue;
                var t = truth[y, x];
                var interior = true;
                for (var dy = -3; dy <= 3 && interior; dy++)
                    for (var dx = -3; dx <= 3 && interior; dx++)
                        interior = truth[y + dy, x + dx] == t;
                if (interior) labels[y, x] = t;
            }
        return labels;
    }

    private static Image2D<ushort> Widen(Image2D<byte> labels) => new(labels.Height, labels.Width, Array.ConvertAll(labels.Pixels, v => (ushort)v));

    [Fact]
    public void Trained_on_strokes_over_3_PNGs_it_segments_5_held_out_PNGs_with_particle_Dice_above_0_95()
    {
        var (images, labels, heldOut, outDir, model) = (Folder("images"), Folder("labels"), Folder("heldout"), Folder("out"), Path.Combine(_root.Path, "model"));
        long labelled = 0, pixels = 0;
        foreach (var seed in new[] { 1, 2, 3 })
        {
            var (image, truth) = Discs(seed);
            var strokes = Strokes(truth);
            labelled += strokes.Pixels.Count(v => v != 0);
            pixels += strokes.Pixels.Length;
            PngImage.Write(Path.Combine(images, $"sample-{seed}.png"), image, 8);
            PngImage.Write(Path.Combine(labels, $"sample-{seed}.png"), Widen(strokes), 8);
        }
        Assert.InRange(labelled / (double)pixels, 0.01, 0.06);
        var truths = new Dictionary<string, Image2D<byte>>();
        foreach (var seed in new[] { 11, 12, 13, 14, 15 })
        {
            var (image, truth) = Discs(seed);
            PngImage.Write(Path.Combine(heldOut, $"other-{seed}.png"), image, 8);
            truths[$"other-{seed}"] = truth;
        }

        Assert.Equal(0, TrainableSegmentation.Train(images, labels, ["pore", "particle"], model, new ForestSettings(Trees: 50), PixelFeatures.Default2D));
        Assert.Equal(0, TrainableSegmentation.Segment(heldOut, ["pore", "particle"], model, outDir));

        foreach (var (stem, truth) in truths)
        {
            var written = ImageSet.Read(Path.Combine(outDir, stem + ".tif"));
            Assert.Equal(8, written.BitDepth);
            var segmented = ImageSet.AsLabels(written.Pages[0], stem);
            Assert.All(segmented.Pixels, v => Assert.InRange(v, (byte)1, (byte)2));
            var dice = LabelScores.Dice(truth, segmented, 2);
            Assert.True(dice >= 0.95, $"{stem}: particle Dice {dice:0.000}");
            Assert.True(LabelScores.Dice(truth, segmented, 1) >= 0.95, $"{stem}: pore Dice {LabelScores.Dice(truth, segmented, 1):0.000}");
        }
        // Lone PNGs: a 2D model, without the z-context features that would only repeat each image's smoothing.
        Assert.DoesNotContain("AlongZ", File.ReadAllText(Path.Combine(model, TrainableSegmentation.ManifestFile)));
        var report = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(model, TrainableSegmentation.ReportFile)))!;
        Assert.Equal(labelled, (long)report["labelled_pixels"]!["pore"]! + (long)report["labelled_pixels"]!["particle"]!);
        Assert.True((double)report["out_of_bag"]!["accuracy"]! > 0.95);
    }

    [Fact]
    public void Bad_input_is_refused_with_the_file_named()
    {
        var (images, labels, model) = (Folder("images"), Folder("labels"), Path.Combine(_root.Path, "model"));
        var (image, truth) = Discs(1, size: 64);
        PngImage.Write(Path.Combine(images, "a.png"), image, 8);
        string Error(Action action) => Assert.ThrowsAny<Exception>(action).Message;
        string[] phases = ["pore", "particle"];
        var settings = new ForestSettings(Trees: 5);

        Assert.Contains("a.png: no label image a.tif, .tiff or .png", Error(() => TrainableSegmentation.Train(images, labels, phases, model, settings, PixelFeatures.Default2D)));

        PngImage.Write(Path.Combine(labels, "a.png"), new Image2D<ushort>(32, 64), 8);
        Assert.Contains("a.png: 64x32 pixels, but a.png is 64x64", Error(() => TrainableSegmentation.Train(images, labels, phases, model, settings, PixelFeatures.Default2D)));

        var three = Widen(Strokes(truth));
        three[10, 10] = 3;
        PngImage.Write(Path.Combine(labels, "a.png"), three, 8);
        Assert.Contains("a.png: label 3 at x=10, y=10 is above the 2 phases", Error(() => TrainableSegmentation.Train(images, labels, phases, model, settings, PixelFeatures.Default2D)));

        var onlyPores = Widen(Strokes(truth));
        for (var i = 0; i < onlyPores.Pixels.Length; i++) if (onlyPores.Pixels[i] == 2) onlyPores.Pixels[i] = 0;
        PngImage.Write(Path.Combine(labels, "a.png"), onlyPores, 8);
        Assert.Contains("no labelled pixels for particle (2)", Error(() => TrainableSegmentation.Train(images, labels, phases, model, settings, PixelFeatures.Default2D)));

        PngImage.Write(Path.Combine(labels, "a.png"), Widen(Strokes(truth)), 8);
        Assert.Equal(0, TrainableSegmentation.Train(images, labels, phases, model, settings, PixelFeatures.Default2D));

        // A model refuses another phase table and another bit depth, saying what it was trained for.
        Assert.Contains("trained for phases pore,particle", Error(() => TrainableSegmentation.Segment(images, ["particle", "pore"], model, Folder("o1"))));
        var sixteen = Folder("sixteen");
        PngImage.Write(Path.Combine(sixteen, "b.png"), image, 16);
        Assert.Contains("b.png: the model was trained on 8-bit images and these are 16-bit", Error(() => TrainableSegmentation.Segment(sixteen, phases, model, Folder("o2"))));
        Assert.Contains("no model.json", Error(() => TrainableSegmentation.Segment(images, phases, Folder("empty"), Folder("o3"))));
    }

    [Fact]
    public void A_multi_page_TIFF_stack_is_trained_and_segmented_page_by_page()
    {
        var (images, labels, outDir, model) = (Folder("images"), Folder("labels"), Folder("out"), Path.Combine(_root.Path, "model"));
        var pages = new[] { 4, 5, 6 }.Select(s => Discs(s, size: 64)).ToArray();
        var voxel = VoxelSize.Isotropic(10);
        TiffSliceWriter.WriteMultiPage(Path.Combine(images, "stack.tif"), pages.Select(p => Narrow(p.Image)), voxel);
        // only the middle page is labelled; the others are all 0
        TiffSliceWriter.WriteMultiPage(Path.Combine(labels, "stack.tif"),
            pages.Select((p, i) => i == 1 ? Strokes(p.Truth) : new Image2D<byte>(64, 64)), voxel);
        Assert.Equal(0, TrainableSegmentation.Train(images, labels, ["pore", "particle"], model, new ForestSettings(Trees: 30), PixelFeatures.Default2D));
        Assert.Equal(0, TrainableSegmentation.Segment(images, ["pore", "particle"], model, outDir));
        // A multi-page file is a stack: the model has the z-context features.
        Assert.Contains("SmoothingDifferenceAlongZ", File.ReadAllText(Path.Combine(model, TrainableSegmentation.ManifestFile)));
        var written = ImageSet.Read(Path.Combine(outDir, "stack.tif"));
        Assert.Equal(3, written.Pages.Count);
        for (var i = 0; i < 3; i++)
            Assert.True(LabelScores.Dice(pages[i].Truth, ImageSet.AsLabels(written.Pages[i], "stack"), 2) > 0.9, $"page {i}");
    }

    private static Image2D<byte> Narrow(Image2D<ushort> image) => new(image.Height, image.Width, Array.ConvertAll(image.Pixels, v => (byte)v));
}
