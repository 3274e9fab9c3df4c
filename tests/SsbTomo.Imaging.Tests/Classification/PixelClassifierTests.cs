using SsbTomo.Imaging.Classification;

namespace SsbTomo.Imaging.Tests.Classification;

public class PixelClassifierTests
{
    /// <summary>A bright square and a dark stripe on a mid-grey noisy background: three phases.</summary>
    private static (Image2D<ushort> Image, Image2D<byte> Labels) Scene(int seed)
    {
        var random = new Random(seed);
        var (h, w) = (96, 110);
        var image = new Image2D<ushort>(h, w);
        var labels = new Image2D<byte>(h, w);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var phase = x is > 20 and < 50 && y is > 30 and < 70 ? 3 : x is > 70 and < 80 ? 1 : 2;
                image[y, x] = (ushort)(phase * 900 + random.Next(0, 700));
                if ((x + 3 * y) % 17 == 0) labels[y, x] = (byte)phase;
            }
        return (image, labels);
    }

    private static readonly string[] Phases = ["dark", "matrix", "bright"];

    [Fact]
    public void Labels_are_the_same_for_any_tile_size()
    {
        var (image, labels) = Scene(1);
        var (classifier, report) = PixelClassifier.Train([new LabelledImage("scene", image, labels)], Phases, 16,
            PixelFeatures.Bank([1.0, 3.5], includeFineSmoothing: true), new ForestSettings(Trees: 20), tileSize: 37);
        Assert.True(report.OutOfBagAccuracy > 0.9, $"out-of-bag accuracy {report.OutOfBagAccuracy}");
        var (other, _) = Scene(2);
        var whole = classifier.Segment(other, "other", tileSize: 512);
        Assert.Equal(whole.Pixels, classifier.Segment(other, "other", tileSize: 29).Pixels);
        Assert.Equal(whole.Pixels, classifier.Segment(other, "other", tileSize: 64).Pixels);
        Assert.All(whole.Pixels, v => Assert.InRange(v, (byte)1, (byte)3));
    }

    [Fact]
    public void Slices_of_a_stack_are_labelled_the_same_for_any_tile_size_and_from_a_z_window_with_the_z_halo()
    {
        var scenes = Enumerable.Range(10, 14).Select(Scene).ToArray();
        var (h, w) = (scenes[0].Image.Height, scenes[0].Image.Width);
        var stack = new Volume<ushort>(scenes.Length, h, w);
        for (var z = 0; z < scenes.Length; z++) scenes[z].Image.Pixels.CopyTo(stack.Slice(z));
        var bank = new List<FeatureSpec>([.. PixelFeatures.Bank([1.0], includeFineSmoothing: false), .. PixelFeatures.ZContext(1.0)]);
        var (classifier, _) = PixelClassifier.Train([LabelledImage.InStack("slice 3", stack, 3, scenes[3].Labels), LabelledImage.InStack("slice 9", stack, 9, scenes[9].Labels)],
            Phases, 16, bank, new ForestSettings(Trees: 10));
        var whole = classifier.SegmentStack(stack, "stack", 0, stack.Depth);
        Assert.Equal(whole.Data, classifier.SegmentStack(stack, "stack", 0, stack.Depth, tileSize: 23).Data);
        var zHalo = classifier.HaloSlices;
        Assert.Equal(PixelFeatures.ZHalo(bank) + 4, zHalo); // 3 phases with distinct means: the mixel clean-up's 4 slices too
        foreach (var (z0, z1) in new[] { (0, 4), (4, 9), (9, 14) })
        {
            var (r0, r1) = (Math.Max(0, z0 - zHalo), Math.Min(stack.Depth, z1 + zHalo));
            var window = new Volume<ushort>(r1 - r0, h, w, stack.Data.AsSpan(r0 * h * w, (r1 - r0) * h * w).ToArray());
            var labels = classifier.SegmentSlices(window, "window", z0 - r0, z1 - r0);
            Assert.Equal(whole.Data.AsSpan(z0 * h * w, (z1 - z0) * h * w).ToArray(), labels.Data.AsSpan((z0 - r0) * h * w, (z1 - z0) * h * w).ToArray());
            Assert.All(labels.Data.AsSpan(0, (z0 - r0) * h * w).ToArray(), v => Assert.Equal(0, v));
        }
    }

    [Fact]
    public void The_manifest_round_trips_and_refuses_another_phase_table_bit_depth_or_format()
    {
        var (image, labels) = Scene(3);
        var (classifier, _) = PixelClassifier.Train([new LabelledImage("scene", image, labels)], Phases, 16,
            PixelFeatures.Bank([1.0], includeFineSmoothing: false), new ForestSettings(Trees: 5));
        var json = classifier.Manifest.ToJson();
        var back = PixelClassifierManifest.FromJson(json);
        Assert.Equal(classifier.Manifest.Phases, back.Phases);
        Assert.Equal(classifier.Manifest.Features, back.Features);
        Assert.Equal(classifier.Manifest.Forest, back.Forest);
        Assert.Contains("\"bit_depth\": 16", json);
        Assert.Contains("HessianOfGaussianEigenvalues", json);

        back.Check(Phases, 16);
        Assert.Contains("trained for phases dark,matrix,bright", Assert.Throws<ModelMismatchException>(() => back.Check(["dark", "bright"], 16)).Message);
        Assert.Contains("trained on 16-bit images and these are 8-bit", Assert.Throws<ModelMismatchException>(() => back.Check(Phases, 8)).Message);
        var current = $"\"format_version\": {PixelClassifierManifest.CurrentFormatVersion}";
        Assert.Contains(current, json);
        Assert.Contains("format version 99", Assert.Throws<ModelMismatchException>(() =>
            PixelClassifierManifest.FromJson(json.Replace(current, "\"format_version\": 99"))).Message);
        // A model of the 2D-only bank (format 1) is refused, not read with another bank's meaning.
        Assert.Contains("format version 1 ", Assert.Throws<ModelMismatchException>(() =>
            PixelClassifierManifest.FromJson(json.Replace(current, "\"format_version\": 1"))).Message);

        var reloaded = PixelClassifier.Load(back, classifier.Forest.ToBytes());
        Assert.Equal(classifier.Segment(image, "scene").Pixels, reloaded.Segment(image, "scene").Pixels);
        var twoPhaseManifest = back with { Phases = ["dark", "bright"] };
        Assert.Contains("mixed up", Assert.Throws<InvalidDataException>(() => PixelClassifier.Load(twoPhaseManifest, classifier.Forest.ToBytes())).Message);
    }

    [Fact]
    public void A_phase_table_outside_2_to_6_distinct_names_is_refused()
    {
        Assert.Throws<ArgumentException>(() => PixelClassifier.CheckPhases(["only"]));
        Assert.Throws<ArgumentException>(() => PixelClassifier.CheckPhases(["a", "b", "c", "d", "e", "f", "g"]));
        Assert.Contains("must differ", Assert.Throws<ArgumentException>(() => PixelClassifier.CheckPhases(["pore", "pore"])).Message);
        PixelClassifier.CheckPhases(["pore", "particle"]);
    }
}
