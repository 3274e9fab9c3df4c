using System.Text.Json;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Storage;

namespace SsbTomo.Cli;

/// <summary>
/// How far a run's numbers are from a phantom's truth. The run measures the aligned, cropped frame (alignment.json
/// crop_yx), so the truth is measured over the same voxels of truth_labels, not taken from truth.json, which covers
/// the whole field of view (over the crop the two differ by up to ~1 pp per phase on small stacks).
/// </summary>
public sealed record PhantomComparison(
    IReadOnlyDictionary<string, (double Truth, double Measured)> PhaseFractions,
    (double Truth, double Measured) ContactLoss,
    (int Truth, int Measured) VoidComponents,
    double DriftRmsErrorPx,
    double DriftMaxErrorPx,
    IReadOnlyDictionary<string, double> Dice)
{
    /// <summary>metrics.json's phase_fraction_intervals, when the run has them.</summary>
    public IReadOnlyDictionary<string, (double Low, double High)>? FractionIntervals { get; init; }

    public (double Low, double High)? ContactLossInterval { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Slices of alignment.json whose registration was not trusted.</summary>
    public int UntrustedSlices { get; init; }

    /// <summary>The denoising σ (voxels) the run chose for the stack's noise (metrics.json uncertainty.denoising); null from runs before it.</summary>
    public double? DenoiseSigma { get; init; }

    public double VoidErrorPercentPoints => 100 * (PhaseFractions["void"].Measured - PhaseFractions["void"].Truth);
    public double ContactLossErrorPercentPoints => 100 * (ContactLoss.Measured - ContactLoss.Truth);

    public static async Task<PhantomComparison> LoadAsync(string phantomDir, string runDir, CancellationToken ct = default)
    {
        using var truth = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(phantomDir, "truth.json")));
        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDir, "metrics.json")));
        using var alignment = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDir, "alignment.json")));
        var t = truth.RootElement;
        var m = metrics.RootElement;

        var crop = alignment.RootElement.GetProperty("crop_yx").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var (inCrop, agreement) = await MeasureTruthAsync(phantomDir, runDir, crop, ct);
        var truthFractions = new Dictionary<string, double>
        {
            ["nmc"] = inCrop.Fractions.Nmc, ["lps"] = inCrop.Fractions.Lps, ["carbon"] = inCrop.Fractions.Carbon, ["void"] = inCrop.Fractions.Void,
        };
        var fractions = truthFractions.ToDictionary(p => p.Key, p => (p.Value, m.GetProperty("phase_fractions").GetProperty(p.Key).GetDouble()));

        var truthDrift = t.GetProperty("drift_px").EnumerateArray().Select(ReadPair).ToArray();
        var measuredDrift = alignment.RootElement.GetProperty("slices").EnumerateArray()
            .ToDictionary(s => s.GetProperty("index").GetInt32(), s => ReadPair(s.GetProperty("drift_px")));
        if (measuredDrift.Count != truthDrift.Length)
            throw new InvalidDataException($"alignment.json has {measuredDrift.Count} slices, truth.json {truthDrift.Length}");
        var squared = truthDrift.Select((d, k) => Sq(measuredDrift[k].Dy - d.Dy) + Sq(measuredDrift[k].Dx - d.Dx)).ToArray();

        return new PhantomComparison(
            fractions,
            (inCrop.Contact.LossFraction, m.GetProperty("contact_loss_fraction").GetDouble()),
            (inCrop.VoidComponents.Count, m.GetProperty("void").GetProperty("components").GetInt32()),
            Math.Sqrt(squared.Average()),
            Math.Sqrt(squared.Max()),
            new Dictionary<string, double>
            {
                ["nmc"] = agreement.Dice(PhaseLabel.Nmc), ["lps"] = agreement.Dice(PhaseLabel.Lps),
                ["carbon"] = agreement.Dice(PhaseLabel.Carbon), ["void"] = agreement.Dice(PhaseLabel.Void),
            })
        {
            FractionIntervals = m.TryGetProperty("phase_fraction_intervals", out var fi)
                ? fi.EnumerateObject().ToDictionary(p => p.Name, p => ReadPair(p.Value))
                : null,
            ContactLossInterval = m.TryGetProperty("contact_loss_interval", out var ci) ? ReadPair(ci) : null,
            Warnings = m.TryGetProperty("warnings", out var w) ? w.EnumerateArray().Select(e => e.GetString()!).ToArray() : [],
            DenoiseSigma = m.TryGetProperty("uncertainty", out var u) && u.TryGetProperty("denoising", out var d)
                ? d.GetProperty("sigma_voxels").GetDouble()
                : null,
            UntrustedSlices = alignment.RootElement.GetProperty("slices").EnumerateArray()
                .Count(s => s.TryGetProperty("registration_trusted", out var trusted) && !trusted.GetBoolean()),
        };
    }

    /// <summary>
    /// The truth labels over the run's crop, and their voxel-wise agreement with the run's labels (same frame:
    /// voxel (z, y, x) of the labels is slice-0 position (z, y0+y, x0+x)), slab by slab (memory stays one slab).
    /// </summary>
    private static async Task<(MicrostructureSummary, LabelAgreement)> MeasureTruthAsync(string phantomDir, string runDir, int[] cropYx, CancellationToken ct)
    {
        var labels = await OmeZarr.OpenLevelAsync<byte>(new FileSystemBlobStore(phantomDir), "truth_labels", 0, ct);
        var segmented = await OmeZarr.OpenLevelAsync<byte>(new FileSystemBlobStore(runDir), new JobLayout("").Labels, 0, ct);
        var accumulator = new MicrostructureAccumulator();
        var agreement = new LabelAgreement();
        var slab = labels.Chunks[0];
        for (var z0 = 0; z0 < labels.Shape[0]; z0 += slab)
        {
            var z1 = Math.Min(labels.Shape[0], z0 + slab);
            var truth = await labels.ReadRegionAsync(z0, z1, cropYx[0], cropYx[1], cropYx[2], cropYx[3], ct);
            accumulator.Add(truth);
            agreement.Add(truth, await segmented.ReadRegionAsync(z0, z1, 0, segmented.Shape[1], 0, segmented.Shape[2], ct));
        }
        return (accumulator.Result(), agreement);
    }

    private static double Sq(double v) => v * v;

    private static (double Dy, double Dx) ReadPair(JsonElement pair) => (pair[0].GetDouble(), pair[1].GetDouble());
}
