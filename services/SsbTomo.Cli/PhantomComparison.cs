using System.Text.Json;

namespace SsbTomo.Cli;

/// <summary>How far a run's numbers are from a phantom's truth.</summary>
public sealed record PhantomComparison(
    IReadOnlyDictionary<string, (double Truth, double Measured)> PhaseFractions,
    (double Truth, double Measured) ContactLoss,
    (int Truth, int Measured) VoidComponents,
    double DriftRmsErrorPx,
    double DriftMaxErrorPx)
{
    public double VoidErrorPercentPoints => 100 * (PhaseFractions["void"].Measured - PhaseFractions["void"].Truth);
    public double ContactLossErrorPercentPoints => 100 * (ContactLoss.Measured - ContactLoss.Truth);

    public static PhantomComparison Load(string phantomDir, string runDir)
    {
        using var truth = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(phantomDir, "truth.json")));
        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDir, "metrics.json")));
        using var alignment = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDir, "alignment.json")));
        var t = truth.RootElement;
        var m = metrics.RootElement;

        var fractions = t.GetProperty("phase_fractions").EnumerateObject()
            .ToDictionary(p => p.Name, p => (p.Value.GetDouble(), m.GetProperty("phase_fractions").GetProperty(p.Name).GetDouble()));

        var truthDrift = t.GetProperty("drift_px").EnumerateArray().Select(ReadPair).ToArray();
        var measuredDrift = alignment.RootElement.GetProperty("slices").EnumerateArray()
            .ToDictionary(s => s.GetProperty("index").GetInt32(), s => ReadPair(s.GetProperty("drift_px")));
        if (measuredDrift.Count != truthDrift.Length)
            throw new InvalidDataException($"alignment.json has {measuredDrift.Count} slices, truth.json {truthDrift.Length}");
        var squared = truthDrift.Select((d, k) => Sq(measuredDrift[k].Dy - d.Dy) + Sq(measuredDrift[k].Dx - d.Dx)).ToArray();

        return new PhantomComparison(
            fractions,
            (t.GetProperty("contact_loss_fraction").GetDouble(), m.GetProperty("contact_loss_fraction").GetDouble()),
            (t.GetProperty("void").GetProperty("components").GetInt32(), m.GetProperty("void").GetProperty("components").GetInt32()),
            Math.Sqrt(squared.Average()),
            Math.Sqrt(squared.Max()));
    }

    private static double Sq(double v) => v * v;

    private static (double Dy, double Dx) ReadPair(JsonElement pair) => (pair[0].GetDouble(), pair[1].GetDouble());
}
