using SsbTomo.Imaging;
using SsbTomo.Imaging.Classification;
using SsbTomo.Phantom;
using Xunit.Abstractions;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// The trainable path on the phantom family: four phases trained from sparse strokes on 3 raw slices, measured on other
/// raw slices of the same stack against the truth.
/// </summary>
public sealed class TrainablePhantomTests(ITestOutputHelper output)
{
    public static readonly string[] Phases = ["nmc", "lps", "carbon", "void"];

    /// <summary>Truth of raw slice z: the specimen at each pixel centre, moved by that slice's drift.</summary>
    internal static Image2D<byte> TruthOfRawSlice(CathodePhantom phantom, int z)
    {
        var (h, w) = (phantom.Options.Height, phantom.Options.Width);
        var drift = phantom.DriftPx(z);
        var truth = new Image2D<byte>(h, w);
        Parallel.For(0, h, y =>
        {
            for (var x = 0; x < w; x++) truth[y, x] = phantom.LabelAt(z + 0.5, y + 0.5 - drift.Dy, x + 0.5 - drift.Dx);
        });
        return truth;
    }

    /// <summary>Strokes as a person draws them (<see cref="SsbTomo.TestSupport.Strokes.Draw"/>).</summary>
    internal static Image2D<byte> Strokes(Image2D<byte> truth, int seed, double share = 0.02, int strokeLength = 12) =>
        SsbTomo.TestSupport.Strokes.Draw(truth, seed, share, strokeLength);

    internal static (double VoidDice, double LabelledShare) TrainAndMeasure(int familySeed, int[] trainSlices, int[] testSlices, int depth, int height, int width)
    {
        var phantom = CathodePhantom.Create(PhantomFamily.Draw(familySeed, depth, height, width));
        // The raw stack, not aligned: the z-context features see neighbours displaced by the drift (≈ 0.4 px a slice).
        var stack = new Volume<ushort>(depth, height, width);
        for (var z = 0; z < depth; z++) phantom.RenderSlice16(z).Pixels.CopyTo(stack.Slice(z));
        var training = new List<LabelledImage>();
        double labelledShare = 0;
        foreach (var z in trainSlices)
        {
            var strokes = Strokes(TruthOfRawSlice(phantom, z), seed: familySeed * 100 + z);
            labelledShare = Math.Max(labelledShare, strokes.Pixels.Count(v => v != 0) / (double)strokes.Pixels.Length);
            training.Add(LabelledImage.InStack($"slice {z}", stack, z, strokes));
        }
        var (classifier, _) = PixelClassifier.Train(training, Phases, phantom.BitDepth, forest: new ForestSettings(Trees: 50));
        var labels = classifier.SegmentStack(stack, "raw stack", 0, depth);
        long both = 0, truthVoid = 0, segmentedVoid = 0;
        foreach (var z in testSlices)
        {
            var truth = TruthOfRawSlice(phantom, z);
            var segmented = labels.Slice(z);
            for (var i = 0; i < truth.Pixels.Length; i++)
            {
                var (t, s) = (truth.Pixels[i] == PhaseLabel.Void, segmented[i] == PhaseLabel.Void);
                if (t) truthVoid++;
                if (s) segmentedVoid++;
                if (t && s) both++;
            }
        }
        return (2.0 * both / (truthVoid + segmentedVoid), labelledShare);
    }

    /// <summary>
    /// The first four family members, not chosen. The target is void Dice ≥ 0.90. Per-slice 2D features without
    /// the mixel clean-up gave 0.927, 0.945, 0.821, 0.897; the default bank (2D + z-context + 3D) on the raw stack with
    /// the clean-up gives 0.940, 0.951, 0.854, 0.929. The bound is what the code holds today on these draws, so a change
    /// that loses accuracy fails; the comparison with the unsupervised path on the same voxels is the benchmark's
    /// (`-- trainable-family`, README).
    /// </summary>
    [Theory]
    [InlineData(1, 0.93)]
    [InlineData(2, 0.94)]
    [InlineData(3, 0.84)]
    [InlineData(4, 0.92)]
    public void Trained_on_3_slices_with_at_most_2_percent_labelled_void_Dice_holds_on_held_out_slices(int familySeed, double bound)
    {
        var (dice, share) = TrainAndMeasure(familySeed, trainSlices: [1, 5, 9], testSlices: [3, 7, 11], depth: 12, height: 192, width: 224);
        output.WriteLine($"family {familySeed}: void Dice {dice:0.000}, labelled {share:P2} of a training slice");
        Assert.True(share <= 0.02, $"labelled {share:P2}");
        Assert.True(dice >= bound, $"family {familySeed}: void Dice {dice:0.000} < {bound}");
    }
}
