using System.Diagnostics;
using Xunit.Abstractions;

namespace SsbTomo.Phantom.Tests;

/// <summary>Prints truth numbers and timings; skipped unless SSBTOMO_PHANTOM_REPORT=1 (used to calibrate presets).</summary>
public class CalibrationReport(ITestOutputHelper output)
{
    [Fact]
    public void Report()
    {
        var spec = Environment.GetEnvironmentVariable("SSBTOMO_PHANTOM_REPORT");
        if (string.IsNullOrEmpty(spec)) return;
        var parts = spec.Split('x', ',');
        int d = int.Parse(parts[0]), h = int.Parse(parts[1]), w = int.Parse(parts[2]);
        int seeds = parts.Length > 3 ? int.Parse(parts[3]) : 1;
        foreach (var preset in Enum.GetValues<PhantomPreset>())
            for (int seed = 1; seed <= seeds; seed++)
            {
                var sw = Stopwatch.StartNew();
                var ph = CathodePhantom.Create(new PhantomOptions(preset, d, h, w, Seed: seed));
                double create = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                var labels = ph.RenderLabels(0, d);
                double lab = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                for (int z = 0; z < 5; z++) ph.RenderSlice(z);
                double slice = sw.Elapsed.TotalMilliseconds / 5;
                var t = TruthCounter.Measure(labels);
                output.WriteLine($"{preset} seed {seed}: {t}; particles {ph.Particles.Count} cracks {ph.Cracks.Count} flakes {ph.CrackFlakes.Count} fibres {ph.Fibres.Count} pores {ph.Pores.Count}; create {create:0} ms labels {lab:0} ms slice {slice:0.0} ms");
            }
    }
}
