using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;

namespace SsbTomo.TestSupport;

/// <summary>
/// Everything an anchored drift solve takes, as the drift study dumps it (`-- drift --family N --dump DIR`,
/// DIR/familyN-solve.tsv): per slice the true and the registered drift and whether the registration was trusted, per
/// track its sections' centres and variance scales. Replayed by the fixture tests and the study's `drift-replay`.
/// </summary>
public sealed record AnchoredSolveFixture(Shift2D[] Truth, Shift2D[] Registered, bool[] Trusted, ParticleTrack[] Tracks)
{
    public static AnchoredSolveFixture Load(string path)
    {
        var rows = File.ReadLines(path).Where(line => !line.StartsWith('#')).Select(line => line.Split('\t')).ToArray();
        static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);
        var slices = rows.Where(r => r[0] == "slice").ToArray();
        var tracks = rows.Where(r => r[0] == "track").GroupBy(r => r[1]).Select(g => g.ToArray())
            .Select(s => new ParticleTrack(int.Parse(s[0][2], CultureInfo.InvariantCulture), [.. s.Select(r => Number(r[3]))], [.. s.Select(r => Number(r[4]))],
                [.. s.Select(r => Number(r[5]))], [.. s.Select(r => Number(r[6]))])).ToArray();
        return new([.. slices.Select(r => new Shift2D(Number(r[2]), Number(r[3])))], [.. slices.Select(r => new Shift2D(Number(r[4]), Number(r[5])))],
            [.. slices.Select(r => r[6] == "1")], tracks);
    }

    /// <summary>Root mean square of the 2D error of <paramref name="estimate"/> against <see cref="Truth"/>.</summary>
    public double Rms(IReadOnlyList<Shift2D> estimate) =>
        Math.Sqrt(estimate.Zip(Truth, (e, t) => (e - t).Dy * (e - t).Dy + (e - t).Dx * (e - t).Dx).Average());
}
