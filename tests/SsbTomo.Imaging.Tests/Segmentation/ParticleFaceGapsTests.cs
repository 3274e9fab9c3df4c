using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class ParticleFaceGapsTests(ITestOutputHelper output)
{
    private const double Void = 5000, Carbon = 17000, Lps = 29000, Nmc = 45000;
    private static readonly double[] Means = [Void, Carbon, Lps, Nmc];
    private static readonly double[] Thresholds = [(Void + Carbon) / 2, (Carbon + Lps) / 2, (Lps + Nmc) / 2];
    private const double TubeSigma = 1.5;

    /// <summary>
    /// A particle in electrolyte with a delamination crack on its +x side (a crescent up to <paramref name="gapVoxels"/> thick,
    /// tapering to nothing over 70°; 0: none) and two carbon fibres touching its −x side (along y; along x, ending on it), rendered 4x4x4 supersampled, blurred
    /// in-plane by <paramref name="blurSigma"/>, with noise, denoised as the pipeline does (3D σ 0.8).
    /// </summary>
    private static (Volume<byte> Truth, Volume<float> Denoised) Particle(double gapVoxels, double blurSigma, int seed, double noise = 600)
    {
        const int depth = 26, height = 40, width = 46;
        const double radius = 9, cone = 70 * Math.PI / 180;
        (double Z, double Y, double X) centre = (13, 20, 20);
        var truth = new Volume<byte>(depth, height, width);
        var sharp = new Volume<float>(depth, height, width);
        byte LabelAt(double z, double y, double x)
        {
            var (dz, dy, dx) = (z - centre.Z, y - centre.Y, x - centre.X);
            var r = Math.Sqrt(dz * dz + dy * dy + dx * dx);
            if (r <= radius) return PhaseLabel.Nmc;
            var angle = Math.Acos(Math.Clamp(dx / r, -1, 1));
            if (gapVoxels > 0 && angle < cone && r <= radius + gapVoxels * (1 - angle / cone)) return PhaseLabel.Void;
            // Two fibres touching the particle's −x side: one along y, one along x ending on the particle.
            var (fz, fx) = (z - centre.Z, x - (centre.X - radius - 1.2));
            if (Math.Sqrt(fz * fz + fx * fx) <= 2.2) return PhaseLabel.Carbon;
            var (ez, ey) = (z - (centre.Z + 4), y - (centre.Y + 4));
            if (x < centre.X && Math.Sqrt(ez * ez + ey * ey) <= 2.2) return PhaseLabel.Carbon;
            return PhaseLabel.Lps;
        }
        static double GreyOf(byte label) => label switch { PhaseLabel.Void => Void, PhaseLabel.Carbon => Carbon, PhaseLabel.Nmc => Nmc, _ => Lps };
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    truth[z, y, x] = LabelAt(z + 0.5, y + 0.5, x + 0.5);
                    var sum = 0.0;
                    for (var s = 0; s < 64; s++)
                        sum += GreyOf(LabelAt(z + (s / 16 + 0.5) / 4, y + (s / 4 % 4 + 0.5) / 4, x + (s % 4 + 0.5) / 4));
                    sharp[z, y, x] = (float)(sum / 64);
                }
        var blurred = FibreHalfDepthTests.InPlaneGaussian(sharp, blurSigma);
        var random = new Random(seed);
        var raw = new Volume<ushort>(depth, height, width, Array.ConvertAll(blurred.Data, v => (ushort)Math.Clamp(Math.Round(v + noise * random.NextGaussian()), 0, 65535)));
        return (truth, Denoise.Gaussian(raw, 0.8));
    }

    /// <summary>The recipe before the gaps: classification, clean-up and the fibres' rule (no shine-through, so no lit pore runs).</summary>
    private static Volume<byte> WithoutGaps(Volume<float> denoised) =>
        FibreHalfDepth.Apply(PhaseSegmentation.Segment(denoised, Thresholds, Means), denoised, Means, TubeSigma);

    /// <summary>Carbon-labelled voxels of the truth's fibre with an active-material label within <see cref="ParticleFaceGaps.ReachVoxels"/> voxels along an axis.</summary>
    private static int FibreCarbonNearParticle(Volume<byte> truth, Volume<byte> labels)
    {
        var count = 0;
        for (var z = 0; z < truth.Depth; z++)
            for (var y = 0; y < truth.Height; y++)
                for (var x = 0; x < truth.Width; x++)
                {
                    if (truth[z, y, x] != PhaseLabel.Carbon || labels[z, y, x] != PhaseLabel.Carbon) continue;
                    var near = false;
                    for (var d = -ParticleFaceGaps.ReachVoxels; d <= ParticleFaceGaps.ReachVoxels && !near; d++)
                        near = (x + d >= 0 && x + d < truth.Width && labels[z, y, x + d] == PhaseLabel.Nmc)
                            || (y + d >= 0 && y + d < truth.Height && labels[z, y + d, x] == PhaseLabel.Nmc)
                            || (z + d >= 0 && z + d < truth.Depth && labels[z + d, y, x] == PhaseLabel.Nmc);
                    if (near) count++;
                }
        return count;
    }

    [Theory]
    [InlineData(4.0, 1.3, 1)]
    [InlineData(3.0, 1.5, 2)]
    [InlineData(5.0, 1.0, 3)]
    public void A_thin_crack_along_a_particle_reads_as_contact_loss_and_the_fibre_touching_it_stays_carbon(double gapVoxels, double blurSigma, int seed)
    {
        var (truth, denoised) = Particle(gapVoxels, blurSigma, seed);
        var before = WithoutGaps(denoised);
        var after = before.Clone();
        ParticleFaceGaps.ApplyInPlace(after, denoised, Means, Thresholds[1], TubeSigma, SliceSpan.All(after.Depth));
        var (lossTruth, lossBefore, lossAfter) = (ContactLoss.Count(truth).LossFraction, ContactLoss.Count(before).LossFraction, ContactLoss.Count(after).LossFraction);
        output.WriteLine($"contact loss: truth {lossTruth:0.000}, before {lossBefore:0.000}, after {lossAfter:0.000}");
        // The crescent's blurred face layer read carbon: the recipe without the rule loses (nearly) all of the contact loss.
        Assert.True(lossBefore < 0.25 * lossTruth);
        Assert.True(lossAfter > lossBefore + 0.01, $"contact loss {lossBefore:0.000} → {lossAfter:0.000} (truth {lossTruth:0.000})");
        Assert.True(lossAfter <= lossTruth);
        // What it turns void is the crack, or the particle's own edge the crack darkens (the face moves, it is not made up).
        long changed = 0, crackOrEdge = 0;
        for (var k = 0; k < after.Length; k++)
        {
            if (after.Data[k] == before.Data[k]) continue;
            Assert.Equal((PhaseLabel.Carbon, PhaseLabel.Void), (before.Data[k], after.Data[k]));
            Assert.NotEqual(PhaseLabel.Carbon, truth.Data[k]);
            changed++;
            if (truth.Data[k] is PhaseLabel.Void or PhaseLabel.Nmc) crackOrEdge++;
        }
        Assert.True(crackOrEdge >= 0.9 * changed, $"{crackOrEdge} of {changed} changed voxels are the crack or the particle's edge");
        // The fibre touches the particle within the reach and keeps its carbon there: its tube cores protect it.
        var fibreNear = FibreCarbonNearParticle(truth, before);
        Assert.True(fibreNear > 20, $"{fibreNear} fibre voxels near the particle");
        Assert.Equal(fibreNear, FibreCarbonNearParticle(truth, after));
    }

    [Theory]
    [InlineData(1.3, 4)]
    [InlineData(1.0, 5)]
    public void A_particle_without_a_crack_keeps_its_labels(double blurSigma, int seed)
    {
        var (truth, denoised) = Particle(0, blurSigma, seed);
        Assert.DoesNotContain(PhaseLabel.Void, truth.Data);
        var before = WithoutGaps(denoised);
        var after = before.Clone();
        ParticleFaceGaps.ApplyInPlace(after, denoised, Means, Thresholds[1], TubeSigma, SliceSpan.All(after.Depth));
        Assert.Equal(before.Data, after.Data);
    }

    /// <summary>The recipe, the gaps last, in slabs with the z halo and tiles with the in-plane one, computing only the owned slices or all.</summary>
    [Theory]
    [InlineData(0.0, 0.5, 0.0, 0.5)]
    [InlineData(0.3, 0.7, 0.4, 1.0)]
    [InlineData(0.45, 0.55, 0.1, 0.9)]
    public void An_area_of_rows_and_columns_gets_the_whole_volumes_gaps(double y0, double y1, double x0, double x1)
    {
        var (_, denoised) = Particle(4.0, 1.3, seed: 1);
        var before = WithoutGaps(denoised);
        var whole = before.Clone();
        ParticleFaceGaps.ApplyInPlace(whole, denoised, Means, Thresholds[1], TubeSigma, SliceSpan.All(whole.Depth));
        // The area cuts through the gaps: its edges at shares of the rows and columns the rule changes.
        var (rows, columns) = (new List<int>(), new List<int>());
        for (var i = 0; i < whole.Data.Length; i++)
            if (whole.Data[i] != before.Data[i]) (rows, columns) = ([.. rows, i / whole.Width % whole.Height], [.. columns, i % whole.Width]);
        int At(List<int> at, double share) => (int)Math.Round(at.Min() + share * (at.Max() + 1 - at.Min()));
        var area = new AreaSpan(At(rows, y0), At(rows, y1), At(columns, x0), At(columns, x1));
        var inArea = before.Clone();
        ParticleFaceGaps.ApplyInPlace(inArea, denoised, Means, Thresholds[1], TubeSigma, SliceSpan.All(whole.Depth), exactArea: area);
        var changed = 0;
        for (var z = 0; z < whole.Depth; z++)
            for (var y = area.Y0; y < area.Y1; y++)
                for (var x = area.X0; x < area.X1; x++)
                {
                    Assert.Equal(whole[z, y, x], inArea[z, y, x]);
                    if (whole[z, y, x] != before[z, y, x]) changed++;
                }
        Assert.True(changed > 0, "the rule changes voxels in the area");
    }

    [Theory]
    [InlineData(5, 64, 0.0, false)]
    [InlineData(7, 11, 0.0, true)]
    [InlineData(4, 9, 0.3, true)]
    [InlineData(9, 13, 0.3, false)]
    public void Slabs_and_tiles_with_the_halo_give_the_whole_volumes_bytes(int slabSlices, int tile, double shineThroughExcess, bool ownedOnly)
    {
        var (_, denoised) = Particle(4.0, 1.3, seed: 6);
        var whole = PhaseSegmentation.Segment(denoised, Thresholds, Means, shineThroughExcess, TubeSigma);
        var before = WithoutGaps(denoised);
        Assert.True(whole.Data.Count(l => l == PhaseLabel.Void) > before.Data.Count(l => l == PhaseLabel.Void) + 100, "the gaps' rule changes the labels");

        var halo = PhaseSegmentation.RequiredHaloSlicesWithFibres(TubeSigma, shineThroughExcess);
        Assert.True(ParticleFaceGaps.RequiredHaloSlices(TubeSigma) <= Math.Min(halo, PhaseSegmentation.RequiredHaloPixelsWithFibres(TubeSigma)));
        Assert.Equal(whole.Data, FibreHalfDepthTests.SegmentedInWindows(denoised, Thresholds, Means, shineThroughExcess, TubeSigma, slabSlices, tile, ownedOnly).Data);
    }

    [Theory]
    [InlineData(3.0, 1.5, 7)]
    [InlineData(4.0, 1.3, 6)]
    public void The_gaps_given_the_half_depth_rules_tube_tests_are_the_gaps_that_test_on_their_own(double gap, double blur, int seed)
    {
        // The recipe keeps the half-depth rule's tube tests for the faces' gaps (PhaseSegmentation.Segment): the voxels both
        // look at are tested once, and the gaps must come out as if each had tested its own.
        var (_, denoised) = Particle(gap, blur, seed);
        var classified = PhaseSegmentation.Segment(denoised, Thresholds, Means);
        var span = SliceSpan.All(denoised.Depth);
        var own = FibreHalfDepth.Apply(classified, denoised, Means, TubeSigma, span);
        ParticleFaceGaps.ApplyInPlace(own, denoised, Means, Thresholds[1], TubeSigma, span);
        using var kept = new FibreHalfDepth.TubeCoreCache(denoised, TubeSigma, Means);
        var shared = FibreHalfDepth.Apply(classified, denoised, Means, TubeSigma, span, kept);
        var testedByTheRule = kept.States.Take((int)denoised.Length).Count(state => state != 0);
        ParticleFaceGaps.ApplyInPlace(shared, denoised, Means, Thresholds[1], TubeSigma, span, kept);
        Assert.True(testedByTheRule > 0, "the half-depth rule tested voxels the gaps could take");
        Assert.True(kept.States.Take((int)denoised.Length).Count(state => state != 0) > testedByTheRule, "the gaps tested voxels of their own too");
        Assert.Equal(own.Data, shared.Data);
        Assert.NotEqual(classified.Data, shared.Data);
    }

    [Fact]
    public void Tube_tests_kept_across_threshold_variants_give_each_variant_its_own_labels()
    {
        var (_, denoised) = Particle(3.0, 1.5, seed: 7);
        double[][] variants = [Thresholds, [Thresholds[0] - 1500, Thresholds[1] - 1500, Thresholds[2]], [Thresholds[0] + 1500, Thresholds[1] + 1500, Thresholds[2]]];
        using var cache = new FibreHalfDepth.TubeCoreCache(denoised, TubeSigma, Means);
        foreach (var thresholds in variants)
        {
            var expected = PhaseSegmentation.Segment(denoised, thresholds, Means, 0, TubeSigma);
            var cached = PhaseSegmentation.Segment(denoised, thresholds, Means, 0, TubeSigma, SliceSpan.All(denoised.Depth), cache);
            Assert.Equal(expected.Data, cached.Data);
        }
        using var other = new FibreHalfDepth.TubeCoreCache(denoised, TubeSigma, [Void, Carbon, Lps + 4000, Nmc]);
        Assert.Throws<ArgumentException>(() => ParticleFaceGaps.ApplyInPlace(WithoutGaps(denoised), denoised, Means, Thresholds[1], TubeSigma,
            SliceSpan.All(denoised.Depth), other));
    }
    /// <summary>
    /// The candidates' flags and the gap's seeds, 32 voxels at a time in parallel slices, against the rule voxel by voxel: every
    /// voxel of the span's slices written (others untouched), grey levels on, and one float either side of, the double
    /// threshold, NaN, seeds in index order.
    /// </summary>
    [Theory]
    [InlineData(5, 37)]
    [InlineData(4, 64)]
    [InlineData(6, 101)]
    public void Candidates_and_seeds_are_the_voxel_by_voxel_rules(int depth, int plane)
    {
        var random = new Random(depth * plane);
        const double Threshold = 23000.3;
        var length = depth * plane;
        var labels = new byte[length];
        var near = new byte[length];
        var intensity = new float[length];
        for (var k = 0; k < length; k++)
        {
            labels[k] = random.Next(3) == 0 ? PhaseLabel.Carbon : (byte)random.Next(6);
            near[k] = random.Next(4) == 0 ? (byte)0 : (byte)random.Next(1, 3);
            intensity[k] = random.Next(6) switch
            {
                0 => (float)Threshold,
                1 => MathF.BitIncrement((float)Threshold),
                2 => MathF.BitDecrement((float)Threshold),
                3 => float.NaN,
                _ => (float)(15000 + 16000 * random.NextDouble()),
            };
        }
        var span = new SliceSpan(1, depth - 1);
        var flags = Enumerable.Range(0, length).Select(k => (byte)(k * 13)).ToArray();
        var expected = (byte[])flags.Clone();
        var expectedSeeds = new List<int>();
        for (var k = span.Start * plane; k < span.End * plane; k++)
        {
            expected[k] = 0;
            if (near[k] == 0 || labels[k] != PhaseLabel.Carbon) continue;
            expected[k] = ParticleFaceGaps.Candidate;
            if (intensity[k] < Threshold) { expected[k] |= ParticleFaceGaps.Potential; expectedSeeds.Add(k); }
        }
        var seeds = ParticleFaceGaps.FlagCandidates(labels, intensity, near, flags, Threshold, span, plane, new ParallelOptions { MaxDegreeOfParallelism = 2 });
        Assert.Equal(expectedSeeds, seeds);
        Assert.Equal(expected, flags);
    }
}
