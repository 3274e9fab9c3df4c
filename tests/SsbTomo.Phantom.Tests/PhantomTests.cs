using System.Diagnostics;
using SsbTomo.Imaging;

namespace SsbTomo.Phantom.Tests;

/// <summary>Shared phantoms of the calibration shape (64×192×192 at 50 nm, seed 1), built once.</summary>
public sealed class PresetFixture
{
    public const int D = 64, H = 192, W = 192;

    public PresetFixture()
    {
        foreach (var preset in Enum.GetValues<PhantomPreset>())
        {
            var ph = CathodePhantom.Create(new PhantomOptions(preset, D, H, W, 50, Seed: 1));
            Phantoms[preset] = ph;
            Truth[preset] = TruthCounter.Measure(ph.RenderLabels(0, D));
        }
    }

    public Dictionary<PhantomPreset, CathodePhantom> Phantoms { get; } = [];
    public Dictionary<PhantomPreset, TruthNumbers> Truth { get; } = [];
}

public class PhantomTests(PresetFixture fx) : IClassFixture<PresetFixture>
{
    [Fact]
    public void Pristine_matches_the_paper()
    {
        var t = fx.Truth[PhantomPreset.Pristine];
        Assert.InRange(t.Void, 0.022, 0.034);
        Assert.InRange(t.Nmc, 0.33, 0.43);
        Assert.InRange(t.Carbon, 0.04, 0.09);
        Assert.InRange(t.Lps, 0.45, 0.58);
        Assert.InRange(t.ContactLoss, 0.0, 0.03); // only pores that happen to touch NMC
    }

    [Fact]
    public void Cycled10_adds_less_than_half_a_point_of_void_and_a_little_contact_loss()
    {
        var p = fx.Truth[PhantomPreset.Pristine];
        var t = fx.Truth[PhantomPreset.Cycled10];
        Assert.InRange(t.Void - p.Void, 0.002, 0.007);
        Assert.InRange(t.ContactLoss, p.ContactLoss, 0.07);
        Assert.InRange(t.Nmc, 0.33, 0.43);
        Assert.InRange(t.Carbon, 0.04, 0.09);
    }

    [Fact]
    public void Cycled50_has_paper_void_and_contact_loss()
    {
        var t = fx.Truth[PhantomPreset.Cycled50];
        Assert.InRange(t.Void, 0.085, 0.105);
        Assert.InRange(t.ContactLoss, 0.065, 0.135); // seeds 1..6 at this small field of view: 6.0–13.3 %
        Assert.InRange(t.Nmc, 0.33, 0.43);
        Assert.InRange(t.Carbon, 0.04, 0.09);
        Assert.True(t.ContactLoss > fx.Truth[PhantomPreset.Cycled10].ContactLoss);
    }

    [Fact]
    public void Presets_with_one_seed_share_their_particles()
    {
        var a = fx.Phantoms[PhantomPreset.Pristine].Particles;
        var b = fx.Phantoms[PhantomPreset.Cycled50].Particles;
        Assert.Equal(a, b);
        Assert.Empty(fx.Phantoms[PhantomPreset.Pristine].Cracks);
        Assert.NotEmpty(fx.Phantoms[PhantomPreset.Cycled50].Cracks);
    }

    [Fact]
    public void Cycled50_cracks_are_one_sided()
    {
        // every crack is a cone of half-angle below 90°: its void lies on one side of the particle (Fig. 4f)
        var ph = fx.Phantoms[PhantomPreset.Cycled50];
        Assert.All(ph.Cracks, c => Assert.InRange(c.ConeHalfAngle, 0.1, Math.PI / 3));
    }

    [Fact]
    public void Labels_are_phases_1_to_4_and_slabs_agree_with_the_whole()
    {
        var ph = fx.Phantoms[PhantomPreset.Cycled50];
        var whole = ph.RenderLabels(0, 8);
        Assert.All(whole.Data, b => Assert.InRange(b, PhaseLabel.Nmc, PhaseLabel.Void));
        var slab = ph.RenderLabels(3, 5);
        Assert.Equal(whole.Data.AsSpan(3 * whole.SliceLength, 2 * whole.SliceLength).ToArray(), slab.Data);
        Assert.Equal(PhaseLabel.Nmc, ph.LabelAt(ph.Particles[0].Centre.Z, ph.Particles[0].Centre.Y, ph.Particles[0].Centre.X));
    }

    [Fact]
    public void Same_seed_gives_identical_bytes_and_another_seed_differs()
    {
        var o = new PhantomOptions(PhantomPreset.Cycled10, 16, 64, 80, Seed: 7);
        var a = CathodePhantom.Create(o);
        var b = CathodePhantom.Create(o);
        var c = CathodePhantom.Create(o with { Seed = 8 });
        Assert.Equal(a.RenderLabels(0, 16).Data, b.RenderLabels(0, 16).Data);
        Assert.Equal(a.RenderSlice(5).Pixels, b.RenderSlice(5).Pixels);
        Assert.Equal(a.DriftPx(15), b.DriftPx(15));
        Assert.NotEqual(a.RenderLabels(0, 16).Data, c.RenderLabels(0, 16).Data);
        Assert.NotEqual(a.RenderSlice(5).Pixels, c.RenderSlice(5).Pixels);
        Assert.NotEqual(a.RenderSlice(5).Pixels, a.RenderSlice(6).Pixels);
    }

    [Fact]
    public void Drift_scale_multiplies_the_walk_and_jumps_move_every_later_slice()
    {
        var options = new PhantomOptions(PhantomPreset.Pristine, 60, 32, 32);
        var plain = CathodePhantom.Create(options);
        var doubled = CathodePhantom.Create(options with { DriftScale = 2 });
        var jumped = CathodePhantom.Create(options with { DriftJumps = 2, DriftJumpPx = 12 });

        for (var z = 0; z < 60; z++)
        {
            Assert.Equal(2 * plain.DriftPx(z).Dy, doubled.DriftPx(z).Dy, 1e-9);
            Assert.Equal(2 * plain.DriftPx(z).Dx, doubled.DriftPx(z).Dx, 1e-9);
        }
        var added = Enumerable.Range(0, 60).Select(z => jumped.DriftPx(z) - plain.DriftPx(z)).ToArray();
        Assert.Equal(Shift2D.Zero, added[0]);
        // Piecewise constant: it changes only at the jumps' slices, by 12 px at each (two jumps could share a slice).
        var changes = Enumerable.Range(1, 59).Where(z => (added[z] - added[z - 1]).Length > 1e-9).ToList();
        Assert.InRange(changes.Count, 1, 2);
        if (changes.Count == 2) Assert.All(changes, z => Assert.Equal(12, (added[z] - added[z - 1]).Length, 1e-9));
        Assert.True(jumped.SpecimenLo.Y <= -jumped.MaxDriftPx - 3 && jumped.SpecimenHi.X >= 32 + jumped.MaxDriftPx + 3);
    }

    [Fact]
    public void Drift_starts_at_zero_and_walks_with_a_trend()
    {
        var ph = CathodePhantom.Create(new PhantomOptions(PhantomPreset.Pristine, 400, 32, 32));
        Assert.Equal(Shift2D.Zero, ph.DriftPx(0));
        double maxStep = 0;
        for (int z = 1; z < 400; z++) maxStep = Math.Max(maxStep, (ph.DriftPx(z) - ph.DriftPx(z - 1)).Length);
        Assert.InRange(maxStep, 0.5, 3.0);
        Assert.InRange(Math.Abs(ph.DriftPx(399).Dy), 5, 60); // 0.04..0.06 px/slice trend plus the walk
        Assert.True(ph.SpecimenLo.Y <= -ph.MaxDriftPx - 3 && ph.SpecimenHi.X >= 32 + ph.MaxDriftPx + 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => ph.DriftPx(400));
    }

    [Fact]
    public void A_stationary_phantom_has_no_drift_and_the_same_specimen()
    {
        var drifting = new PhantomOptions(PhantomPreset.Cycled50, 40, 64, 64, Seed: 5);
        var (moving, still) = (CathodePhantom.Create(drifting), CathodePhantom.Create(drifting with { Stationary = true }));
        Assert.True(moving.MaxDriftPx > 0.5);
        Assert.Equal(0, still.MaxDriftPx);
        for (var z = 0; z < 40; z++) Assert.Equal(Shift2D.Zero, still.DriftPx(z));
        // the drift only moves the field of view: the specimen's truth is the same voxels
        Assert.Equal(moving.RenderLabels(0, 40).Data, still.RenderLabels(0, 40).Data);
        Assert.Equal(moving.RenderSlice(0).Pixels, still.RenderSlice(0).Pixels);
    }

    [Fact]
    public void Raw_slices_move_by_DriftPx()
    {
        var ph = CathodePhantom.Create(new PhantomOptions(PhantomPreset.Pristine, 48, 320, 320, Seed: 3));
        int tested = 0;
        for (int z = 47; z > 20 && tested == 0; z -= 3)
        {
            var drift = ph.DriftPx(z);
            if (drift.Length < 1) continue;
            var labels = ph.RenderLabels(z, z + 1);
            var raw = ph.RenderSlice(z);
            foreach (var p in ph.Particles)
            {
                double dz = z + 0.5 - p.Centre.Z;
                if (p.Radius * p.Radius - dz * dz < 12 * 12) continue;
                double rz = Math.Sqrt(p.Radius * p.Radius - dz * dz), reach = rz + Math.Max(Math.Abs(drift.Dy), Math.Abs(drift.Dx)) + 3;
                if (p.Centre.Y - reach < 0 || p.Centre.X - reach < 0 || p.Centre.Y + reach > 320 || p.Centre.X + reach > 320) continue;
                // truth centroid (specimen frame) and raw centroid in the same window moved by the drift
                var truth = Centroid(p.Centre.Y, p.Centre.X, rz + 1, (y, x) => labels[0, y, x] == PhaseLabel.Nmc ? 1 : 0);
                var seen = Centroid(p.Centre.Y + drift.Dy, p.Centre.X + drift.Dx, rz + 1, (y, x) => raw[y, x] > 157 ? 1 : 0);
                Assert.InRange(seen.Y - truth.Y, drift.Dy - 0.4, drift.Dy + 0.4);
                Assert.InRange(seen.X - truth.X, drift.Dx - 0.4, drift.Dx + 0.4);
                tested++;
            }
        }
        Assert.True(tested > 0, "no particle suitable for the drift test");
    }

    private static (double Y, double X) Centroid(double cy, double cx, double r, Func<int, int, int> weight)
    {
        double sy = 0, sx = 0, n = 0;
        for (int y = (int)Math.Floor(cy - r); y <= (int)Math.Ceiling(cy + r); y++)
            for (int x = (int)Math.Floor(cx - r); x <= (int)Math.Ceiling(cx + r); x++)
            {
                double dy = y + 0.5 - cy, dx = x + 0.5 - cx;
                if (dy * dy + dx * dx > r * r) continue;
                int w = weight(y, x);
                sy += w * (y + 0.5); sx += w * (x + 0.5); n += w;
            }
        return (sy / n, sx / n);
    }

    [Fact]
    public void Raw_grey_levels_order_the_phases_with_realistic_noise()
    {
        var ph = fx.Phantoms[PhantomPreset.Cycled50];
        var labels = ph.RenderLabels(0, 1); // slice 0 has no drift
        var raw = ph.RenderSlice(0);
        var sum = new double[5];
        var sum2 = new double[5];
        var n = new double[5];
        for (int y = 2; y < PresetFixture.H - 2; y++)
            for (int x = 2; x < PresetFixture.W - 2; x++)
            {
                // interior pixels only: all 3x3 neighbours share the label
                byte l = labels[0, y, x];
                bool interior = true;
                for (int a = -1; a <= 1 && interior; a++)
                    for (int b = -1; b <= 1; b++)
                        if (labels[0, y + a, x + b] != l) { interior = false; break; }
                if (!interior) continue;
                sum[l] += raw[y, x]; sum2[l] += raw[y, x] * raw[y, x]; n[l]++;
            }
        double Mean(byte l) => sum[l] / n[l];
        double Sd(byte l) => Math.Sqrt(sum2[l] / n[l] - Mean(l) * Mean(l));
        Assert.InRange(Mean(PhaseLabel.Nmc), 170, 220);
        Assert.InRange(Mean(PhaseLabel.Lps), 100, 140);
        Assert.True(Mean(PhaseLabel.Void) < Mean(PhaseLabel.Lps) - 40);
        Assert.InRange(Sd(PhaseLabel.Lps), 7, 20); // noise + texture + curtaining + charging
    }

    [Fact]
    public void Tall_stacks_render_any_slice_without_holding_the_volume()
    {
        var ph = CathodePhantom.Create(new PhantomOptions(PhantomPreset.Pristine, 1000, 32, 48));
        var last = ph.RenderSlice(999);
        Assert.Equal(32 * 48, last.Pixels.Length);
        Assert.Equal(10, ph.RenderLabels(990, 1000).Depth);
    }
}
