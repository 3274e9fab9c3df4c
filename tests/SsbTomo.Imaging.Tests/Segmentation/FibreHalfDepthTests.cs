using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Reference;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class FibreHalfDepthTests
{
    private const double Void = 5000, Carbon = 17000, Lps = 29000, Nmc = 45000;
    private static readonly double[] Means = [Void, Carbon, Lps, Nmc];
    private static readonly double[] Thresholds = [(Void + Carbon) / 2, (Carbon + Lps) / 2, (Lps + Nmc) / 2];
    private const double TubeSigma = 1.5;

    /// <summary>
    /// Electrolyte with carbon fibres of the given radius (straight capsules in several directions) and optionally a
    /// pore, rendered 4x4x4 supersampled, blurred in-plane by <paramref name="blurSigma"/> (the SEM's PSF), with noise, then
    /// denoised as the pipeline does (3D σ 0.8). Radius 0: no fibres. Returns the truth (voxel centres) and the denoised grey levels.
    /// </summary>
    private static (Volume<byte> Truth, Volume<float> Denoised) Fibres(double radius, double blurSigma, bool withPore, int seed, double noise = 300)
    {
        const int depth = 28, height = 40, width = 44;
        (double Z, double Y, double X)[][] axes =
        [
            [(14, 10, -5), (14, 12, 50)],         // in the slice plane, along x
            [(-5, 28, 12), (33, 30, 14)],         // across the slices
            [(-5, 5, 40), (33, 35, 24)],          // oblique
        ];
        var truth = new Volume<byte>(depth, height, width);
        var sharp = new Volume<float>(depth, height, width);
        static double Distance((double Z, double Y, double X) p, (double Z, double Y, double X) a, (double Z, double Y, double X) b)
        {
            var (ab, ap) = ((b.Z - a.Z, b.Y - a.Y, b.X - a.X), (p.Z - a.Z, p.Y - a.Y, p.X - a.X));
            var t = Math.Clamp((ap.Item1 * ab.Item1 + ap.Item2 * ab.Item2 + ap.Item3 * ab.Item3) / (ab.Item1 * ab.Item1 + ab.Item2 * ab.Item2 + ab.Item3 * ab.Item3), 0, 1);
            var (dz, dy, dx) = (ap.Item1 - t * ab.Item1, ap.Item2 - t * ab.Item2, ap.Item3 - t * ab.Item3);
            return Math.Sqrt(dz * dz + dy * dy + dx * dx);
        }
        byte LabelAt((double Z, double Y, double X) p)
        {
            if (withPore && Math.Pow(p.Z - 8, 2) + Math.Pow(p.Y - 30, 2) + Math.Pow(p.X - 34, 2) <= 25) return PhaseLabel.Void;
            return radius > 0 && axes.Any(a => Distance(p, a[0], a[1]) <= radius) ? PhaseLabel.Carbon : PhaseLabel.Lps;
        }
        double GreyOf(byte label) => label == PhaseLabel.Void ? Void : label == PhaseLabel.Carbon ? Carbon : Lps;
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    truth[z, y, x] = LabelAt((z + 0.5, y + 0.5, x + 0.5));
                    var sum = 0.0;
                    for (var s = 0; s < 64; s++)
                        sum += GreyOf(LabelAt((z + (s / 16 + 0.5) / 4, y + (s / 4 % 4 + 0.5) / 4, x + (s % 4 + 0.5) / 4)));
                    sharp[z, y, x] = (float)(sum / 64);
                }
        var blurred = InPlaneGaussian(sharp, blurSigma);
        var random = new Random(seed);
        var raw = new Volume<ushort>(depth, height, width, Array.ConvertAll(blurred.Data, v => (ushort)Math.Clamp(Math.Round(v + noise * random.NextGaussian()), 0, 65535)));
        return (truth, Denoise.Gaussian(raw, 0.8));
    }

    internal static Volume<float> InPlaneGaussian(Volume<float> volume, double sigma)
    {
        var kernel = Denoise.GaussianKernel(sigma);
        var radius = kernel.Length / 2;
        var (depth, height, width) = (volume.Depth, volume.Height, volume.Width);
        var alongX = new Volume<float>(depth, height, width);
        var result = new Volume<float>(depth, height, width);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    double a = 0;
                    for (var k = -radius; k <= radius; k++)
                        a += kernel[k + radius] * volume[z, y, Math.Clamp(x + k, 0, width - 1)];
                    alongX[z, y, x] = (float)a;
                }
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    double a = 0;
                    for (var k = -radius; k <= radius; k++)
                        a += kernel[k + radius] * alongX[z, Math.Clamp(y + k, 0, height - 1), x];
                    result[z, y, x] = (float)a;
                }
        return result;
    }

    private static double CarbonDice(Volume<byte> truth, Volume<byte> labels)
    {
        var agreement = new LabelAgreement();
        agreement.Add(truth, labels);
        return agreement.Dice(PhaseLabel.Carbon);
    }

    [Theory]
    [InlineData(1.6, 1.4)]
    [InlineData(2.2, 1.0)]
    public void Thin_blurred_fibres_get_closer_to_their_true_width(double radius, double blurSigma)
    {
        var (truth, denoised) = Fibres(radius, blurSigma, withPore: false, seed: 1);
        var atThreshold = PhaseSegmentation.Segment(denoised, Thresholds, Means);
        var atHalfDepth = PhaseSegmentation.Segment(denoised, Thresholds, Means, 0, TubeSigma);
        var (before, after) = (CarbonDice(truth, atThreshold), CarbonDice(truth, atHalfDepth));
        Assert.True(after > before + 0.02, $"carbon Dice {before:0.000} at the threshold, {after:0.000} at half depth");
    }

    [Fact]
    public void A_pores_blurred_rim_is_not_taken_for_a_fibre()
    {
        var (truth, denoised) = Fibres(radius: 0, blurSigma: 1.2, withPore: true, seed: 2);
        Assert.DoesNotContain(PhaseLabel.Carbon, truth.Data);
        var labels = PhaseSegmentation.Segment(denoised, Thresholds, Means);
        var withFibres = FibreHalfDepth.Apply(labels, denoised, Means, TubeSigma);
        Assert.Equal(labels.Data, withFibres.Data);
    }

    /// <summary>Slabs read with the z halo and tiles with the smaller in-plane one (the shine-through correction works along z only).</summary>
    /// <remarks>With <paramref name="ownedOnly"/> each window's steps compute only where the later ones read (the segmentation stage's way).</remarks>
    [Theory]
    [InlineData(5, 64, 0.0, false)]
    [InlineData(9, 13, 0.0, false)]
    [InlineData(7, 7, 0.3, false)]
    [InlineData(5, 64, 0.0, true)]
    [InlineData(7, 7, 0.3, true)]
    [InlineData(3, 15, 0.4, true)]
    public void Slabs_and_tiles_with_the_fibre_halo_give_the_whole_volumes_bytes(int slabSlices, int tile, double shineThroughExcess, bool ownedOnly)
    {
        var (_, denoised) = Fibres(radius: 1.6, blurSigma: 1.3, withPore: true, seed: 3, noise: 900);
        var whole = PhaseSegmentation.Segment(denoised, Thresholds, Means, shineThroughExcess, TubeSigma);
        Assert.NotEqual(PhaseSegmentation.Segment(denoised, Thresholds, Means, shineThroughExcess).Data, whole.Data);

        Assert.True(PhaseSegmentation.RequiredHaloPixelsWithFibres(TubeSigma) < PhaseSegmentation.RequiredHaloSlicesWithFibres(TubeSigma, shineThroughExcess));
        Assert.Equal(whole.Data, SegmentedInWindows(denoised, Thresholds, Means, shineThroughExcess, TubeSigma, slabSlices, tile, ownedOnly).Data);
    }

    [Theory]
    [InlineData(5, 13, 0.0)]
    [InlineData(3, 7, 0.3)]
    public void Tiles_without_the_fibres_rule_give_the_whole_volumes_bytes(int slabSlices, int tile, double shineThroughExcess)
    {
        var (_, denoised) = Fibres(radius: 1.6, blurSigma: 1.3, withPore: true, seed: 3, noise: 900);
        var whole = PhaseSegmentation.Segment(denoised, Thresholds, Means, shineThroughExcess);
        Assert.Equal(whole.Data, SegmentedInWindows(denoised, Thresholds, Means, shineThroughExcess, 0, slabSlices, tile, ownedOnly: true).Data);
    }

    /// <summary>
    /// The recipe run slab by slab (the z halo) and tile by tile (the in-plane halo) and the owned voxels put together, as the
    /// segmentation stage does; with <paramref name="ownedOnly"/> each window's steps compute only where the later ones read.
    /// </summary>
    internal static Volume<byte> SegmentedInWindows(Volume<float> denoised, double[] thresholds, double[] means, double shineThroughExcess, double tubeSigma,
        int slabSlices, int tile, bool ownedOnly)
    {
        var halo = PhaseSegmentation.RequiredHaloSlicesWithFibres(tubeSigma, shineThroughExcess);
        var haloPixels = PhaseSegmentation.RequiredHaloPixelsWithFibres(tubeSigma);
        var tiled = new Volume<byte>(denoised.Depth, denoised.Height, denoised.Width);
        for (var z0 = 0; z0 < denoised.Depth; z0 += slabSlices)
        {
            var slab = Halo.Expand(denoised.Depth, z0, Math.Min(denoised.Depth, z0 + slabSlices), halo);
            foreach (var window in TileGrid.Plan(denoised.Height, denoised.Width, tile, tile, haloPixels))
            {
                var read = TileGrid.Crop(Halo.CropZ(denoised, slab.SlabZ0, slab.SlabZ1), window);
                var labels = ownedOnly
                    ? PhaseSegmentation.Segment(read, thresholds, means, shineThroughExcess, tubeSigma, slab.OwnedInSlab, exactArea: window.OwnedInRead)
                    : PhaseSegmentation.Segment(read, thresholds, means, shineThroughExcess, tubeSigma);
                var owned = TileGrid.CropToOwned(labels, slab, window);
                for (var z = 0; z < owned.Depth; z++)
                    for (var y = 0; y < owned.Height; y++)
                        for (var x = 0; x < owned.Width; x++)
                            tiled[slab.OwnedZ0 + z, window.OwnedY0 + y, window.OwnedX0 + x] = owned[z, y, x];
            }
        }
        return tiled;
    }

    [Theory]
    [InlineData(1.6, 1.3, true, 1.5, 300)]
    [InlineData(2.2, 1.0, false, 1.5, 900)]
    [InlineData(2.0, 1.6, true, 2.5, 600)]
    [InlineData(3.0, 1.2, true, 1.0, 300)]
    public void The_fast_rule_gives_the_voxel_by_voxel_references_labels(double radius, double blurSigma, bool withPore, double tubeSigma, double noise)
    {
        var (_, denoised) = Fibres(radius, blurSigma, withPore, seed: 4, noise);
        var labels = PhaseSegmentation.Segment(denoised, Thresholds, Means);
        var box = FibreHalfDepth.NeighbourhoodVoxels(tubeSigma);
        var fast = FibreHalfDepth.Apply(labels, denoised, Means, tubeSigma);
        var reference = FibreHalfDepthReference.Apply(labels, denoised, Means, tubeSigma, box, FibreHalfDepth.DepthShare, CarbonFibreSurvey.MinimumTubeResponse);
        Assert.NotEqual(labels.Data, reference.Data);
        Assert.Equal(reference.Data, fast.Data);
    }

    [Theory]
    [InlineData(0, 28)]
    [InlineData(0, 1)]
    [InlineData(6, 11)]
    [InlineData(9, 10)]
    [InlineData(13, 28)]
    [InlineData(27, 28)]
    [InlineData(16, 28)]
    [InlineData(0, 12)]
    [InlineData(15, 17)]
    [InlineData(11, 13)]
    public void A_span_of_slices_gets_the_whole_volumes_decisions_and_the_rest_keeps_its_labels(int start, int end)
    {
        var (_, denoised) = Fibres(radius: 1.6, blurSigma: 1.3, withPore: true, seed: 5, noise: 600);
        var labels = PhaseSegmentation.Segment(denoised, Thresholds, Means);
        var whole = FibreHalfDepth.Apply(labels, denoised, Means, TubeSigma);
        Assert.NotEqual(labels.Data, whole.Data);
        var spanned = FibreHalfDepth.Apply(labels, denoised, Means, TubeSigma, new SliceSpan(start, end));
        var plane = labels.SliceLength;
        for (var z = 0; z < labels.Depth; z++)
            Assert.Equal((z >= start && z < end ? whole : labels).Data.AsSpan(z * plane, plane).ToArray(), spanned.Data.AsSpan(z * plane, plane).ToArray());
    }

    [Theory]
    [InlineData(0, 28, 3, 20, 5, 30)]
    [InlineData(4, 20, 0, 9, 11, 40)]
    [InlineData(9, 13, 10, 11, 0, 7)]
    public void An_area_of_rows_and_columns_gets_the_whole_volumes_decisions_and_the_rest_keeps_its_labels(int start, int end, int y0, int y1, int x0, int x1)
    {
        var (_, denoised) = Fibres(radius: 1.6, blurSigma: 1.3, withPore: true, seed: 5, noise: 600);
        var labels = PhaseSegmentation.Segment(denoised, Thresholds, Means);
        var whole = FibreHalfDepth.Apply(labels, denoised, Means, TubeSigma);
        var area = new AreaSpan(y0, Math.Min(y1, labels.Height), x0, Math.Min(x1, labels.Width));
        var inArea = FibreHalfDepth.Apply(labels, denoised, Means, TubeSigma, new SliceSpan(start, Math.Min(end, labels.Depth)), exactArea: area);
        var changed = 0;
        for (var z = 0; z < labels.Depth; z++)
            for (var y = 0; y < labels.Height; y++)
                for (var x = 0; x < labels.Width; x++)
                {
                    var exact = z >= start && z < end && y >= area.Y0 && y < area.Y1 && x >= area.X0 && x < area.X1;
                    Assert.Equal((exact ? whole : labels)[z, y, x], inArea[z, y, x]);
                    if (exact && whole[z, y, x] != labels[z, y, x]) changed++;
                }
        Assert.True(changed > 0, "the rule changes voxels in the area");
    }

    [Theory]
    [InlineData(1.6, 1.3, true, 600)]
    [InlineData(2.2, 1.0, false, 900)]
    public void Tube_tests_kept_across_threshold_variants_give_each_variant_its_own_labels(double radius, double blurSigma, bool withPore, double noise)
    {
        // The uncertainty's variants: the same grey levels segmented with thresholds moved either way, each variant's rule run
        // with the tube tests the variants before it kept, two of them at once as the accumulator runs them.
        var (_, denoised) = Fibres(radius, blurSigma, withPore, seed: 6, noise);
        using var cache = new FibreHalfDepth.TubeCoreCache(denoised, TubeSigma, Means);
        double[][] variants = [Thresholds, [.. Thresholds.Select(t => t - 1500)], [.. Thresholds.Select(t => t + 1500)], [Thresholds[0], Thresholds[1] + 2500, Thresholds[2]]];
        var span = new SliceSpan(3, denoised.Depth - 3);
        var kept = new Volume<byte>[variants.Length];
        Parallel.For(0, variants.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 },
            v => kept[v] = PhaseSegmentation.Segment(denoised, variants[v], Means, 0, TubeSigma, span, cache));
        for (var v = 0; v < variants.Length; v++)
            Assert.Equal(PhaseSegmentation.Segment(denoised, variants[v], Means, 0, TubeSigma, span).Data, kept[v].Data);
        Assert.Contains(cache.States.Take((int)denoised.Length), state => state == FibreHalfDepth.TubeCoreCache.Core);
        // Made for other class means, the cache is refused.
        Assert.Throws<ArgumentException>(() => PhaseSegmentation.Segment(denoised, Thresholds, [.. Means.Select(m => 0.9 * m)], 0, TubeSigma, span, cache));
    }

    [Fact]
    public void A_span_finds_the_core_a_whole_box_before_its_first_slice()
    {
        // A dark line along x in slice 9, and one voxel labelled carbon at electrolyte grey two slices behind it (slice 11,
        // the span's first): its only core lies a whole box (2 slices) away, so the span must look for cores there too.
        var (depth, height, width) = (20, 16, 24);
        var intensity = new Volume<float>(depth, height, width);
        var labels = new Volume<byte>(depth, height, width);
        Array.Fill(intensity.Data, (float)Lps);
        Array.Fill(labels.Data, PhaseLabel.Lps);
        for (var x = 0; x < width; x++) (intensity[9, 8, x], labels[9, 8, x]) = (2000f, PhaseLabel.Carbon);
        labels[11, 8, 12] = PhaseLabel.Carbon;
        Assert.Equal(2, FibreHalfDepth.NeighbourhoodVoxels(TubeSigma));

        var whole = FibreHalfDepth.Apply(labels, intensity, Means, TubeSigma);
        Assert.Equal(PhaseLabel.Lps, whole[11, 8, 12]);
        var spanned = FibreHalfDepth.Apply(labels, intensity, Means, TubeSigma, new SliceSpan(11, depth));
        Assert.Equal(PhaseLabel.Lps, spanned[11, 8, 12]);
        Assert.Equal(PhaseLabel.Carbon, spanned[9, 8, 12]);
    }

    [Fact]
    public void The_box_is_the_fibre_radius_rounded_up_and_the_halo_covers_it()
    {
        Assert.Equal(2, FibreHalfDepth.NeighbourhoodVoxels(CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(50))));
        Assert.Equal(1, FibreHalfDepth.NeighbourhoodVoxels(1.0));
        Assert.Equal(6, FibreHalfDepth.NeighbourhoodVoxels(CarbonFibreSurvey.MaximumSigmaVoxels));
        Assert.Equal(HessianEigenvalues.RadiusVoxels(1.5) + 2, FibreHalfDepth.RequiredHaloSlices(1.5));
        Assert.True(PhaseSegmentation.RequiredHaloSlicesWithFibres(1.5) >= PhaseSegmentation.RequiredHaloSlices + 2);
        Assert.Equal(PhaseSegmentation.RequiredHaloSlices, PhaseSegmentation.RequiredHaloSlicesWithFibres(0));
    }
    /// <summary>
    /// The first pass's marks, 32 voxels at a time with a scalar tail, against the rule voxel by voxel: every label, blockers,
    /// NaN grey levels and grey levels one float either side of (and on) the double half-depth level.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(97)]
    [InlineData(1000)]
    public void The_first_passs_marks_equal_the_voxel_by_voxel_rule(int length)
    {
        var random = new Random(length);
        const double Mean = 29000.25, Share = 0.5;
        for (var trial = 0; trial < 20; trial++)
        {
            var labels = new byte[length];
            var blocker = new byte[length];
            var (grey, darkest) = (new float[length], new float[length]);
            for (var i = 0; i < length; i++)
            {
                labels[i] = random.Next(4) switch { 0 => PhaseLabel.Lps, 1 => PhaseLabel.Carbon, 2 => (byte)random.Next(6), _ => random.NextDouble() < 0.5 ? PhaseLabel.Lps : PhaseLabel.Carbon };
                blocker[i] = random.NextDouble() < 0.1 * (trial % 4) ? (byte)255 : (byte)0;
                darkest[i] = (float)(5000 + 25000 * random.NextDouble());
                var half = Mean - Share * (Mean - darkest[i]);
                grey[i] = random.Next(8) switch
                {
                    0 => float.NaN,
                    1 => (float)half,
                    2 => MathF.BitIncrement((float)half),
                    3 => MathF.BitDecrement((float)half),
                    _ => (float)(5000 + 30000 * random.NextDouble()),
                };
                if (random.Next(50) == 0) darkest[i] = float.NaN;
            }
            var expected = Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();
            var marked = (byte[])expected.Clone();
            var expectedCount = 0;
            for (var i = 0; i < length; i++)
            {
                if ((labels[i] != PhaseLabel.Lps && labels[i] != PhaseLabel.Carbon) || blocker[i] != 0) continue;
                var carbon = grey[i] < Mean - Share * (Mean - darkest[i]);
                if (carbon == (labels[i] == PhaseLabel.Carbon)) continue;
                expected[i] = (byte)(labels[i] | 0x80);
                expectedCount++;
            }
            Assert.Equal(expectedCount, FibreHalfDepth.MarkDisagreeing(labels, blocker, grey, darkest, marked, Mean, Share));
            Assert.Equal(expected, marked);
        }
    }

    /// <summary>
    /// The tube test's selection, 32 voxels at a time with a scalar tail, against the rule voxel by voxel: wanted bits, voxels
    /// the cache has tested (cores marked, not selected), marks in the flags themselves or apart, with and without a cache.
    /// </summary>
    [Theory]
    [InlineData(0, true)]
    [InlineData(31, true)]
    [InlineData(32, false)]
    [InlineData(97, true)]
    [InlineData(1000, false)]
    [InlineData(1000, true)]
    public void The_tube_tests_selection_equals_the_voxel_by_voxel_rule(int length, bool cached)
    {
        var random = new Random(length + (cached ? 1 : 0));
        const byte Wanted = 4, Mark = 8;
        for (var trial = 0; trial < 20; trial++)
        {
            var flags = new byte[length];
            var known = cached ? new byte[length] : [];
            for (var i = 0; i < length; i++)
            {
                flags[i] = random.NextDouble() < 0.2 + 0.04 * trial ? (byte)(random.Next(256) | (random.Next(2) * Wanted)) : (byte)0;
                if (cached) known[i] = (byte)(random.NextDouble() < 0.5 ? 0 : random.Next(1, 3));
            }
            var (expectedFlags, expectedSelected) = ((byte[])flags.Clone(), new byte[length]);
            var expectedAny = false;
            for (var i = 0; i < length; i++)
            {
                var select = (expectedFlags[i] & Wanted) != 0;
                if (select && cached && known[i] != 0)
                {
                    if (known[i] == FibreHalfDepth.TubeCoreCache.Core) expectedFlags[i] |= Mark;
                    select = false;
                }
                expectedSelected[i] = select ? (byte)1 : (byte)0;
                expectedAny |= select;
            }
            var selected = Enumerable.Repeat((byte)7, length).ToArray();
            Assert.Equal(expectedAny, FibreHalfDepth.TubeCoreCache.SelectUntested(flags, Wanted, known, flags, Mark, selected));
            Assert.Equal(expectedFlags, flags);
            Assert.Equal(expectedSelected, selected);
            var walked = new List<int>();
            for (var i = FibreHalfDepth.TubeCoreCache.NextSelected(selected, 0); i >= 0; i = FibreHalfDepth.TubeCoreCache.NextSelected(selected, i + 1)) walked.Add(i);
            Assert.Equal(Enumerable.Range(0, length).Where(i => expectedSelected[i] != 0), walked);
        }
    }
}
