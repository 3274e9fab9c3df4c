using System.Text.Json;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class PhantomPipelineTests(PhantomRunFixture run) : IClassFixture<PhantomRunFixture>
{
    [Fact]
    public void The_job_completes() => Assert.Equal(0, run.ExitCode);

    [Fact]
    public void Void_fraction_is_within_half_a_percentage_point_of_truth()
    {
        Assert.Equal(0, run.ExitCode);
        Assert.InRange(run.Comparison.VoidErrorPercentPoints, -0.5, 0.5);
    }

    [Fact]
    public void Contact_loss_is_within_two_percentage_points_of_truth()
    {
        Assert.Equal(0, run.ExitCode);
        Assert.InRange(run.Comparison.ContactLossErrorPercentPoints, -2, 2);
    }

    [Fact]
    public void Drift_is_recovered_within_half_a_pixel_rms()
    {
        Assert.Equal(0, run.ExitCode);
        Assert.InRange(run.Comparison.DriftRmsErrorPx, 0, 0.5);
    }

    [Fact]
    public void Every_phase_fraction_is_within_two_percentage_points()
    {
        Assert.Equal(0, run.ExitCode);
        foreach (var (phase, (truth, measured)) in run.Comparison.PhaseFractions)
            Assert.True(Math.Abs(measured - truth) <= 0.02, $"{phase}: truth {truth:P2}, measured {measured:P2}");
    }

    [Fact]
    public void Metrics_give_every_number_an_ordered_interval_near_the_truth() => UncertaintyChecks.AssertIntervals(run.Comparison);

    [Fact]
    public void The_share_drive_originals_are_unchanged()
    {
        Assert.Equal(run.StackHashesBefore, StackFiles.Hashes(Path.Combine(run.PhantomDir, "stack")));
    }

    [Fact]
    public void Labels_open_in_zarr_python_in_the_cropped_frame_with_phase_values()
    {
        Assert.Equal(0, run.ExitCode);
        using var alignment = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(run.RunDir, "alignment.json")));
        var crop = alignment.RootElement.GetProperty("crop_yx").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var output = PythonOracle.Run("""
            import sys, zarr, numpy as np
            g = zarr.open_group(sys.argv[1], mode='r')
            a = g['0'][:]
            print(a.shape[0], a.shape[1], a.shape[2], int(a.min()), int(a.max()), g.attrs['multiscales'][0]['version'])
            """, Path.Combine(run.RunDir, JobResults.Labels)).Split();
        Assert.Equal("64", output[0]);
        Assert.Equal((crop[1] - crop[0]).ToString(), output[1]);
        Assert.Equal((crop[3] - crop[2]).ToString(), output[2]);
        Assert.Equal("1", output[3]);
        Assert.Equal("4", output[4]);
        Assert.Equal("0.4", output[5]);
    }
}

/// <summary>The walking skeleton's acceptance criteria, on exactly the stack they name.</summary>
public class AcceptanceStackTests(AcceptanceRunFixture run) : IClassFixture<AcceptanceRunFixture>
{
    [Fact]
    public void Void_contact_loss_and_drift_are_within_the_acceptance_bounds()
    {
        Assert.Equal(0, run.ExitCode);
        var c = run.Comparison;
        Assert.True(Math.Abs(c.VoidErrorPercentPoints) <= 0.5, $"void error {c.VoidErrorPercentPoints:+0.00;-0.00} pp");
        Assert.True(Math.Abs(c.ContactLossErrorPercentPoints) <= 2, $"contact loss error {c.ContactLossErrorPercentPoints:+0.00;-0.00} pp");
        Assert.True(c.DriftRmsErrorPx <= 0.5, $"drift RMS error {c.DriftRmsErrorPx:F3} px");
    }

    [Fact]
    public void Metrics_give_every_number_an_ordered_interval_near_the_truth()
    {
        Assert.Equal(0, run.ExitCode);
        UncertaintyChecks.AssertIntervals(run.Comparison);
    }
}

public static class UncertaintyChecks
{
    /// <summary>
    /// Every fraction and the contact loss has an interval holding the reported value. A fraction's interval is the threshold
    /// variants' range widened by the boundary-placement layer (a quarter voxel over the phase's surface), and holds the
    /// truth (before that layer the threshold variants alone missed: seed-7 phantom void 0.06 pp, acceptance stack void
    /// 0.24 pp, carbon 0.35 pp); the layer stays a fraction of a percentage point for void on these stacks, so a layer that
    /// swallowed every error would fail. The contact loss interval is the variants' only and may miss by its measured 0.17-0.61 pp
    /// (margin 1.5 pp).
    /// </summary>
    public static void AssertIntervals(SsbTomo.Cli.PhantomComparison c)
    {
        Assert.NotNull(c.FractionIntervals);
        foreach (var (phase, (truth, measured)) in c.PhaseFractions)
        {
            var (lo, hi) = c.FractionIntervals![phase];
            Assert.True(lo <= measured && measured <= hi, $"{phase}: {measured:P2} outside its own interval [{lo:P2}, {hi:P2}]");
            Assert.True(lo <= truth && truth <= hi, $"{phase}: truth {truth:P2} outside [{lo:P2}, {hi:P2}]");
            if (phase == "void") Assert.True(hi - lo <= 0.025, $"void interval [{lo:P2}, {hi:P2}] wider than 2.5 pp");
        }
        var (lossLo, lossHi) = c.ContactLossInterval ?? throw new Xunit.Sdk.XunitException("no contact_loss_interval");
        Assert.True(lossLo <= c.ContactLoss.Measured && c.ContactLoss.Measured <= lossHi, $"contact loss {c.ContactLoss.Measured:P2} outside [{lossLo:P2}, {lossHi:P2}]");
        var lossMiss = Math.Max(0, Math.Max(lossLo - c.ContactLoss.Truth, c.ContactLoss.Truth - lossHi));
        Assert.True(lossMiss <= 0.015, $"contact loss truth {c.ContactLoss.Truth:P2} is {100 * lossMiss:0.00} pp from [{lossLo:P2}, {lossHi:P2}]");
        // Well-separated phantom phases: no overlap warning.
        Assert.Empty(c.Warnings);
    }
}
