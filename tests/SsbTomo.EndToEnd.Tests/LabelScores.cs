using SsbTomo.Imaging;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>Agreement of a segmentation with the truth, for the segmentation tests.</summary>
internal static class LabelScores
{
    /// <summary>Dice coefficient of <paramref name="phase"/>: 2|T ∩ S| / (|T| + |S|); 1 when neither image has the phase.</summary>
    public static double Dice(Image2D<byte> truth, Image2D<byte> segmented, byte phase)
    {
        long both = 0, a = 0, b = 0;
        for (var i = 0; i < truth.Pixels.Length; i++)
        {
            var (t, s) = (truth.Pixels[i] == phase, segmented.Pixels[i] == phase);
            if (t) a++;
            if (s) b++;
            if (t && s) both++;
        }
        return a + b == 0 ? 1 : 2.0 * both / (a + b);
    }
}
