using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class PhaseClassifierTests
{
    /// <summary>The definition, one voxel at a time: the count of thresholds at or below the value (np.digitize), NaN outside.</summary>
    private static byte Expected(float value, double[] thresholds, byte[] labels)
    {
        if (float.IsNaN(value)) return PhaseLabel.Outside;
        var cls = thresholds.Count(t => value >= (float)Math.Clamp(t, float.MinValue, float.MaxValue));
        return labels[cls];
    }

    [Theory]
    [InlineData(3, 37)]
    [InlineData(3, 8)]
    [InlineData(1, 5)]
    [InlineData(5, 64)]
    [InlineData(0, 19)]
    public void Every_voxel_gets_the_label_of_the_thresholds_at_or_below_it(int thresholdCount, int width)
    {
        var random = new Random(thresholdCount * 100 + width);
        var thresholds = Enumerable.Range(0, thresholdCount).Select(_ => (double)random.Next(1000, 60000)).Order().ToArray();
        // Two equal thresholds where there are enough: the class between them is empty.
        if (thresholdCount >= 3) thresholds[2] = thresholds[1];
        var labels = Enumerable.Range(0, thresholdCount + 1).Select(k => (byte)(k + 1)).Reverse().ToArray();
        var volume = new Volume<float>(3, 7, width);
        for (var i = 0; i < volume.Data.Length; i++)
            volume.Data[i] = (i % 23) switch
            {
                0 => float.NaN,
                1 => float.PositiveInfinity,
                2 => float.NegativeInfinity,
                3 when thresholdCount > 0 => (float)thresholds[i % thresholdCount],
                4 => -0f,
                _ => (float)(random.NextDouble() * 70000 - 5000),
            };

        var classified = PhaseClassifier.Classify(volume, thresholds, labels);

        for (var i = 0; i < volume.Data.Length; i++)
            Assert.True(Expected(volume.Data[i], thresholds, labels) == classified.Data[i], $"voxel {i}: {volume.Data[i]} gave {classified.Data[i]}");
        Assert.Contains(PhaseLabel.Outside, classified.Data);
    }

    [Fact]
    public void Thresholds_out_of_order_or_a_label_short_are_refused()
    {
        var volume = new Volume<float>(1, 1, 4);
        Assert.Throws<ArgumentException>(() => PhaseClassifier.Classify(volume, [3000, 2000], [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => PhaseClassifier.Classify(volume, [2000, 3000], [1, 2]));
    }
}
