using SsbTomo.Imaging;

namespace SsbTomo.Phantom.Tests;

/// <summary>A given microstructure imaged as the FIB-SEM would (<see cref="CathodePhantom.FromLabels"/>), and pores carved into it.</summary>
public class LabelSpecimenTests
{
    /// <summary>
    /// A specimen of slabs along x: NMC, electrolyte, carbon, void, each 6 voxels thick, and in every other slice band a
    /// void plate (z 10-11) in front of NMC (z 12 on), so that its pores show what lies behind them.
    /// </summary>
    private static Volume<byte> Slabs(int depth, int height, int width)
    {
        var labels = new Volume<byte>(depth, height, width);
        byte[] order = [PhaseLabel.Nmc, PhaseLabel.Lps, PhaseLabel.Carbon, PhaseLabel.Void];
        for (var z = 0; z < depth; z++)
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            labels[z, y, x] = order[x / 6 % 4];
        return labels;
    }

    [Fact]
    public void The_truth_is_the_specimen_inside_its_margin_and_its_slices_are_rendered_with_the_drift()
    {
        var options = new PhantomOptions(PhantomPreset.Cycled50, 12, 8, 8, 50, Seed: 3);
        var margin = CathodePhantom.MarginFor(options);
        var specimen = Slabs(20, 40 + 2 * margin, 48 + 2 * margin);
        var phantom = CathodePhantom.FromLabels(new LabelSpecimen(specimen, margin), options);

        Assert.Equal((40, 48), (phantom.Options.Height, phantom.Options.Width));
        var truth = phantom.RenderLabels(0, 12);
        for (var z = 0; z < 12; z++)
        for (var y = 0; y < 40; y++)
        for (var x = 0; x < 48; x++)
            Assert.Equal(specimen[z, y + margin, x + margin], truth[z, y, x]);
        Assert.Empty(phantom.Particles);

        // The slabs run along y, so a slice's grey profile across x shows them; its brightest column is NMC and its
        // darkest void, wherever the drift puts them.
        var slice = phantom.RenderSlice16(11);
        var columns = Enumerable.Range(0, 48).Select(x => Enumerable.Range(0, 40).Average(y => (double)slice[y, x])).ToArray();
        var drift = phantom.DriftPx(11);
        var brightest = Array.IndexOf(columns, columns.Max());
        var darkest = Array.IndexOf(columns, columns.Min());
        Assert.Equal(PhaseLabel.Nmc, specimen[0, 0, Math.Clamp((int)Math.Floor(brightest - drift.Dx) + margin, 0, specimen.Width - 1)]);
        Assert.Equal(PhaseLabel.Void, specimen[0, 0, Math.Clamp((int)Math.Floor(darkest - drift.Dx) + margin, 0, specimen.Width - 1)]);
    }

    [Fact]
    public void Upsampled_each_label_voxel_is_a_block_of_phantom_voxels()
    {
        var options = new PhantomOptions(PhantomPreset.Pristine, 10, 8, 8, 50, Seed: 5);
        var margin = CathodePhantom.MarginFor(options);
        const int scale = 3;
        var labels = new Volume<byte>(8, 30, 30);
        var rng = new Random(5);
        for (var i = 0; i < labels.Data.Length; i++) labels.Data[i] = (byte)rng.Next(1, 5);
        var specimen = new LabelSpecimen(labels, margin, scale);
        Assert.Equal((24, 90, 90), (specimen.Depth, specimen.Height, specimen.Width));

        var phantom = CathodePhantom.FromLabels(specimen, options);
        Assert.Equal((90 - 2 * margin, 90 - 2 * margin), (phantom.Options.Height, phantom.Options.Width));
        var truth = phantom.RenderLabels(0, 10);
        for (var z = 0; z < 10; z++)
        for (var y = 0; y < phantom.Options.Height; y++)
        for (var x = 0; x < phantom.Options.Width; x++)
            Assert.Equal(labels[z / scale, (y + margin) / scale, (x + margin) / scale], truth[z, y, x]);
    }

    [Fact]
    public void A_pore_in_front_of_a_particle_shows_it_and_a_deep_pore_stays_dark()
    {
        var options = new PhantomOptions(PhantomPreset.Cycled50, 8, 8, 8, 50, Seed: 4) { Stationary = true };
        var margin = CathodePhantom.MarginFor(options);
        var (depth, height, width) = (16, 32 + 2 * margin, 64 + 2 * margin);
        var specimen = new Volume<byte>(depth, height, width);
        // Left half: void in slice 4, NMC behind it. Right half: void all the way down.
        for (var z = 0; z < depth; z++)
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            specimen[z, y, x] = x < width / 2 ? (z == 4 ? PhaseLabel.Void : PhaseLabel.Nmc) : PhaseLabel.Void;
        var phantom = CathodePhantom.FromLabels(new LabelSpecimen(specimen, margin), options);
        var slice = phantom.RenderSlice16(4);
        double Mean(int x0, int x1) => Enumerable.Range(4, 24).SelectMany(y => Enumerable.Range(x0, x1 - x0).Select(x => (double)slice[y, x])).Average();
        var litPore = Mean(4, 24);
        var deepPore = Mean(40, 60);
        var nmc = Enumerable.Range(4, 24).SelectMany(y => Enumerable.Range(4, 20).Select(x => (double)phantom.RenderSlice16(6)[y, x])).Average();
        var a = options.Resolved.Appearance;
        // The lit pore lies the shine-through strength of the way from the dark pore to the particle (the curtains,
        // charging and gain move the levels a little).
        var share = (litPore - deepPore) / (nmc - deepPore);
        Assert.InRange(share, a.ShineThroughStrength - 0.08, a.ShineThroughStrength + 0.08);
    }

    [Fact]
    public void A_margin_smaller_than_the_drift_reaches_is_refused()
    {
        var options = new PhantomOptions(PhantomPreset.Cycled50, 12, 8, 8, 50, Seed: 3);
        var margin = CathodePhantom.MarginFor(options);
        var error = Assert.Throws<ArgumentException>(() => CathodePhantom.FromLabels(new LabelSpecimen(Slabs(20, 64, 64), margin - 1), options));
        Assert.Contains($"{margin} px", error.Message);
        Assert.Throws<ArgumentException>(() => new LabelSpecimen(new Volume<byte>(2, 16, 16), 0)); // label 0 is no phase
    }

    [Fact]
    public void Pores_are_carved_into_the_electrolyte_only_to_the_fraction_asked_half_of_them_at_the_particles()
    {
        var labels = Slabs(32, 48, 96);
        for (var i = 0; i < labels.Data.Length; i++)
            if (labels.Data[i] == PhaseLabel.Void) labels.Data[i] = PhaseLabel.Lps; // no void to start from
        var before = (byte[])labels.Data.Clone();
        var reached = LabelSpecimen.CarvePores(labels, 0.05, 1.5, 4, 0.5, seed: 7);

        Assert.InRange(reached, 0.05, 0.056);
        Assert.Equal(reached, labels.Data.Count(l => l == PhaseLabel.Void) / (double)labels.Data.Length, 12);
        for (var i = 0; i < before.Length; i++)
            if (labels.Data[i] == PhaseLabel.Void) Assert.Equal(PhaseLabel.Lps, before[i]);
            else Assert.Equal(before[i], labels.Data[i]);

        // Some of the void touches NMC (contact lost), most of it does not.
        long voidNextToNmc = 0, voids = 0;
        for (var z = 0; z < labels.Depth; z++)
        for (var y = 0; y < labels.Height; y++)
        for (var x = 1; x < labels.Width - 1; x++)
        {
            if (labels[z, y, x] != PhaseLabel.Void) continue;
            voids++;
            if (labels[z, y, x - 1] == PhaseLabel.Nmc || labels[z, y, x + 1] == PhaseLabel.Nmc) voidNextToNmc++;
        }
        Assert.InRange(voidNextToNmc / (double)voids, 0.03, 0.5);

        var again = Slabs(32, 48, 96);
        for (var i = 0; i < again.Data.Length; i++)
            if (again.Data[i] == PhaseLabel.Void) again.Data[i] = PhaseLabel.Lps;
        LabelSpecimen.CarvePores(again, 0.05, 1.5, 4, 0.5, seed: 7);
        Assert.Equal(labels.Data, again.Data);
    }
}
