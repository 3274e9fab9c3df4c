using System.Text.Json;
using SsbTomo.Cli;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// A job's registration crop (<c>ssbtomo run --registration-crop</c>, SubmitJob.RegistrationCropPx) reaches the alignment:
/// alignment.json says which crop each slice was registered on, the registrations differ from the default's, and the
/// drift is still the phantom's.
/// </summary>
public class RegistrationCropTests
{
    [Fact]
    public async Task A_jobs_registration_crop_is_used_and_recorded_and_the_drift_holds()
    {
        using var dir = new TempDirectory("ssbtomo-registration-crop");
        var phantom = Path.Combine(dir.Path, "phantom");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Cycled50, 12, 96, 112, 50, Seed: 3), phantom);
        var (cropped, standard) = (Path.Combine(dir.Path, "cropped"), Path.Combine(dir.Path, "standard"));

        Assert.Equal(0, await RunCommand.RunAsync(Path.Combine(phantom, "stack"), cropped, null, 8, verbose: false, CancellationToken.None,
            registrationCropPx: 64));
        Assert.Equal(0, await RunCommand.RunAsync(Path.Combine(phantom, "stack"), standard, null, 8, verbose: false, CancellationToken.None));

        static JsonElement Report(string run) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(run, "alignment.json"))).RootElement;
        Assert.Equal(64, Report(cropped).GetProperty("registration_crop_px").GetInt32());
        Assert.Equal(Imaging.Alignment.PairwiseRegistration.DefaultCropPx, Report(standard).GetProperty("registration_crop_px").GetInt32());

        static (double Dy, double Dx)[] Drifts(JsonElement report, string field) => [.. report.GetProperty("slices").EnumerateArray()
            .Select(s => (s.GetProperty(field)[0].GetDouble(), s.GetProperty(field)[1].GetDouble()))];
        // The 96x112 slices are registered whole by default and on their central 64x64 with the job's crop.
        Assert.NotEqual(Drifts(Report(standard), "registered_drift_px"), Drifts(Report(cropped), "registered_drift_px"));

        var truth = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(phantom, "truth.json"))).RootElement.GetProperty("drift_px").EnumerateArray()
            .Select(p => (Dy: p[0].GetDouble(), Dx: p[1].GetDouble())).ToArray();
        var drift = Drifts(Report(cropped), "drift_px");
        var error = drift.Select((d, z) => (Dy: d.Dy - truth[z].Dy, Dx: d.Dx - truth[z].Dx)).ToArray();
        var (meanDy, meanDx) = (error.Average(e => e.Dy), error.Average(e => e.Dx));
        var rms = Math.Sqrt(error.Average(e => Math.Pow(e.Dy - meanDy, 2) + Math.Pow(e.Dx - meanDx, 2)));
        Assert.True(rms <= 0.5, $"drift RMS error with the 64-pixel crop {rms:0.000} px");
    }

    [Fact]
    public async Task A_crop_outside_the_range_is_refused_before_anything_runs()
    {
        using var dir = new TempDirectory("ssbtomo-registration-crop-refused");
        var phantom = Path.Combine(dir.Path, "phantom");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 4, 64, 64, 50, Seed: 1), phantom);
        var output = Path.Combine(dir.Path, "run");

        foreach (var crop in new[] { 32, 16385 })
            Assert.Equal(2, await RunCommand.RunAsync(Path.Combine(phantom, "stack"), output, null, null, verbose: false, CancellationToken.None,
                registrationCropPx: crop));
        Assert.False(File.Exists(Path.Combine(output, "alignment.json")));
    }

    [Fact]
    public void Chunks_on_one_crop_report_it_and_chunks_on_several_report_none_and_warn()
    {
        Assert.Equal((1024, null), Alignment.RegistrationCrops.Of([1024, 1024, 1024]));
        // A chunk stored before the crop was recorded was registered on the default.
        Assert.Equal((Imaging.Alignment.PairwiseRegistration.DefaultCropPx, null), Alignment.RegistrationCrops.Of([null, 512]));
        var (crop, warning) = Alignment.RegistrationCrops.Of([512, 1024, null]);
        Assert.Null(crop);
        Assert.Contains("crops of 512, 1024 pixels", warning);
    }
}
