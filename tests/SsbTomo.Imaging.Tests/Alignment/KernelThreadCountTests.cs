using SsbTomo.Imaging.Alignment;
using SsbTomo.Imaging.Measurement;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// Every alignment kernel that spreads its loops over threads gives the same bits with one thread as with any other
/// count: the alignment workers run their kernels on their share of the cores (SsbTomo:AlignmentKernelThreads), and the
/// stored measurements and aligned slices must not depend on how many workers shared a process. Each kernel runs on the
/// calling thread alone (1), on a few threads (2, 3: more than this machine's cores, other splits of the rows) and on
/// as many as the thread pool gives (<see cref="KernelThreads.All"/>), and the results are compared bit for bit.
/// </summary>
public class KernelThreadCountTests
{
    public static TheoryData<int> ThreadCounts => [2, 3, KernelThreads.All];

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Curtaining_filter_and_its_replay_give_the_same_bits(int threads)
    {
        var image = StripedSlice(300, 333, holes: true);
        var one = CurtainingFilter.Remove(image, out var offsetsOne, maxThreads: 1);
        var many = CurtainingFilter.Remove(image, out var offsetsMany, maxThreads: threads);
        Assert.Equal(Bits(one.Pixels), Bits(many.Pixels));
        Assert.Equal(Bits(offsetsOne.Values), Bits(offsetsMany.Values));
        Assert.Equal(Bits(offsetsOne.Apply(image, maxThreads: 1).Pixels), Bits(offsetsOne.Apply(image, maxThreads: threads).Pixels));
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Slice_correction_and_its_replay_give_the_same_bits(int threads)
    {
        var slice = StripedSlice(256, 300, holes: false);
        for (var y = 0; y < slice.Height; y++)
            for (var x = 0; x < slice.Width; x++)
                slice.Pixels[y * slice.Width + x] += 0.3f * y / slice.Height - 0.2f * x / slice.Width; // a charging gradient
        var fit = IntensityNormalization.FitBackground(slice);
        Assert.NotNull(fit);
        var correction = new SliceCorrection(fit, Flat: false);
        var one = correction.Apply(slice, out var curtainsOne, maxThreads: 1);
        var many = correction.Apply(slice, out var curtainsMany, maxThreads: threads);
        Assert.Equal(Bits(one.Pixels), Bits(many.Pixels));
        Assert.Equal(Bits(curtainsOne!.Values), Bits(curtainsMany!.Values));
        Assert.Equal(Bits(correction.Replay(slice, curtainsOne, maxThreads: 1).Pixels), Bits(correction.Replay(slice, curtainsOne, maxThreads: threads).Pixels));
        Assert.Equal(
            Bits(IntensityNormalization.RemoveBackground(slice, fit!, BackgroundModel.Divide, maxThreads: 1).Pixels),
            Bits(IntensityNormalization.RemoveBackground(slice, fit!, BackgroundModel.Divide, maxThreads: threads).Pixels));
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Subpixel_shift_gives_the_same_bits(int threads)
    {
        var image = StripedSlice(211, 257, holes: true);
        foreach (var shift in new[] { new Shift2D(0.37, -1.62), new Shift2D(-3, 2), new Shift2D(12.5, 0.01) })
            Assert.Equal(Bits(SubpixelShift.Apply(image, shift, maxThreads: 1).Pixels), Bits(SubpixelShift.Apply(image, shift, maxThreads: threads).Pixels));
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Fourier_transforms_give_the_same_bits(int threads)
    {
        const int height = 128, width = 64, rows = 100;
        var random = new Random(5);
        var image = Enumerable.Range(0, rows * width).Select(_ => random.NextDouble() - 0.5).ToArray();
        void Source(int y, Span<double> row) => image.AsSpan(y * width, width).CopyTo(row);
        int half = height * Fft2D.HalfWidth(width);
        var (reOne, imOne, reMany, imMany) = (new double[half], new double[half], new double[half], new double[half]);
        Fft2D.ForwardReal(height, width, rows, Source, reOne, imOne, maxThreads: 1);
        Fft2D.ForwardReal(height, width, rows, Source, reMany, imMany, maxThreads: threads);
        Assert.Equal(Bits(reOne), Bits(reMany));
        Assert.Equal(Bits(imOne), Bits(imMany));
        var (backOne, backMany) = (new double[height * width], new double[height * width]);
        Fft2D.InverseReal(height, width, reOne, imOne, new double[half], new double[half], backOne, maxThreads: 1);
        Fft2D.InverseReal(height, width, reOne, imOne, new double[half], new double[half], backMany, maxThreads: threads);
        Assert.Equal(Bits(backOne), Bits(backMany));
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Phase_correlation_gives_the_same_result(int threads)
    {
        var scene = new BlobScene(400, 200, 240, seed: 3);
        var reference = scene.Render(200, 240, Shift2D.Zero);
        var moving = scene.Render(200, 240, new Shift2D(2.3, -4.6));
        ImageTools.AddNoise(reference, 0.02, 1);
        ImageTools.AddNoise(moving, 0.02, 2);
        foreach (var polish in new[] { false, true })
        {
            var one = PhaseCorrelation.Estimate(reference, moving, polish: polish, maxThreads: 1);
            var many = PhaseCorrelation.Estimate(reference, moving, polish: polish, maxThreads: threads);
            Assert.Equal(Bits([one.Shift.Dy, one.Shift.Dx, one.PeakCorrelation, one.PeakRatio]), Bits([many.Shift.Dy, many.Shift.Dx, many.PeakCorrelation, many.PeakRatio]));
        }
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Band_images_blurs_and_patch_consensus_give_the_same_result(int threads)
    {
        var options = PatchConsensusOptions.Default;
        var scene = new BlobScene(500, 190, 230, seed: 9);
        var reference = scene.Render(190, 230, Shift2D.Zero);
        var moving = scene.Render(190, 230, new Shift2D(-1.4, 2.7));
        ImageTools.AddNoise(reference, 0.02, 4);
        ImageTools.AddNoise(moving, 0.02, 5);
        for (var x = 0; x < moving.Width; x++) moving.Pixels[x] = float.NaN; // a row outside the field, as after a shift
        var (referenceOne, movingOne) = (BandImage.Of(reference, 1024, options, maxThreads: 1), BandImage.Of(moving, 1024, options, maxThreads: 1));
        var (referenceMany, movingMany) = (BandImage.Of(reference, 1024, options, maxThreads: threads), BandImage.Of(moving, 1024, options, maxThreads: threads));
        Assert.Equal(Bits(referenceOne.Data), Bits(referenceMany.Data));
        Assert.Equal(Bits(movingOne.Data), Bits(movingMany.Data));
        var one = PatchConsensus.Estimate(referenceOne, movingOne, Shift2D.Zero, options, maxThreads: 1);
        var many = PatchConsensus.Estimate(referenceMany, movingMany, Shift2D.Zero, options, maxThreads: threads);
        Assert.NotNull(one);
        Assert.Equal(one, many);
        Assert.Equal(Bits(one.Value.Shift.Dy), Bits(many!.Value.Shift.Dy));
        Assert.Equal(Bits(one.Value.Shift.Dx), Bits(many.Value.Shift.Dx));
        var weight = moving.Pixels.Select(v => float.IsFinite(v) ? 1f : 0f).ToArray();
        var data = moving.Pixels.Select(v => float.IsFinite(v) ? v : 0f).ToArray();
        Assert.Equal(Bits(GaussianBlur.Normalised(data, weight, 190, 230, 1.5, maxThreads: 1)), Bits(GaussianBlur.Normalised(data, weight, 190, 230, 1.5, maxThreads: threads)));
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Pairwise_registration_of_a_stack_gives_the_same_measurements(int threads)
    {
        const int slices = 10, size = 96;
        var scene = new BlobScene(600, size, size, seed: 7);
        var random = new Random(8);
        var drift = Shift2D.Zero;
        var one = new PairwiseRegistration(maxThreads: 1);
        var many = new PairwiseRegistration(maxThreads: threads);
        for (var k = 0; k < slices; k++)
        {
            drift += new Shift2D(random.NextGaussian() * 0.8, random.NextGaussian() * 0.8);
            var slice = scene.Render(size, size, drift);
            ImageTools.AddNoise(slice, 10 / 255.0, 40 + k);
            var (measuredOne, measuredMany) = (one.Add(slice), many.Add(slice));
            Assert.Equal(measuredOne.HasStructure, measuredMany.HasStructure);
            Assert.Equal(measuredOne.Pairs, measuredMany.Pairs);
            Assert.Equal(Bits([.. measuredOne.Pairs.SelectMany(p => new[] { p.Shift.Dy, p.Shift.Dx, p.Weight })]),
                Bits([.. measuredMany.Pairs.SelectMany(p => new[] { p.Shift.Dy, p.Shift.Dx, p.Weight })]));
        }
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Particle_sections_and_their_arcs_give_the_same_sections(int threads)
    {
        var slice = DiscSlice(240, 260);
        var one = ParticleSections.Detect(slice, ParticleDetectionOptions.ForDrift, maxThreads: 1);
        var many = ParticleSections.Detect(slice, ParticleDetectionOptions.ForDrift, maxThreads: threads);
        Assert.NotEmpty(one);
        Assert.Equal(one, many);
        // Some sections come from arcs (the discs cut by the field edge), not only from whole blobs.
        Assert.True(one.Length > ParticleSections.Detect(slice, ParticleDetectionOptions.Default, maxThreads: 1).Length);
    }

    [Theory]
    [MemberData(nameof(ThreadCounts))]
    public void Connected_components_give_the_same_labels(int threads)
    {
        var random = new Random(12);
        var volume = new Volume<byte>(20, 40, 50);
        for (var i = 0; i < volume.Data.Length; i++) volume.Data[i] = (byte)(random.NextDouble() < 0.35 ? 1 : 0);
        var one = ConnectedComponents.Label(volume, 1, slabs: 0, maxThreads: 1);
        var many = ConnectedComponents.Label(volume, 1, slabs: 0, maxThreads: threads);
        Assert.Equal(one.Ids, many.Ids);
        Assert.Equal(one.Sizes, many.Sizes);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void A_thread_count_below_one_is_refused(int threads)
    {
        var image = StripedSlice(16, 16, holes: false);
        Assert.Throws<ArgumentOutOfRangeException>(() => CurtainingFilter.Remove(image, maxThreads: threads));
        Assert.Throws<ArgumentOutOfRangeException>(() => SubpixelShift.Apply(image, new Shift2D(0.5, 0.5), maxThreads: threads));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PairwiseRegistration(maxThreads: threads));
    }

    private static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];

    private static long[] Bits(params double[] values) => [.. values.Select(BitConverter.DoubleToInt64Bits)];

    /// <summary>A blob scene with noise and column stripes that fade along y; holes: a NaN band and a NaN pixel.</summary>
    private static Image2D<float> StripedSlice(int h, int w, bool holes)
    {
        var image = new BlobScene(300, h, w, seed: h + w).Render(h, w, Shift2D.Zero);
        ImageTools.AddNoise(image, 0.02, h * w);
        var random = new Random(w);
        var stripes = Enumerable.Range(0, w).Select(_ => (float)(0.1 * (random.NextDouble() - 0.5))).ToArray();
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                image.Pixels[y * w + x] += stripes[x] * (1 + (float)y / h);
        if (holes)
        {
            for (var y = 0; y < h / 6; y++)
                for (var x = 0; x < w; x++)
                    image.Pixels[y * w + x] = float.NaN;
            image.Pixels[h / 2 * w + w / 2] = float.NaN;
        }
        return image;
    }

    /// <summary>Bright discs (some cut by the field edge, two touching) on a darker matrix with noise.</summary>
    private static Image2D<float> DiscSlice(int h, int w)
    {
        var image = new Image2D<float>(h, w);
        (double Y, double X, double R)[] discs =
        [
            (60, 60, 18), (60, 150, 14), (170, 80, 20), (150, 190, 16), (0, 120, 22), (200, 259, 25), (110, 25, 12), (110, 48, 12),
        ];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var inside = discs.Any(d => (y - d.Y) * (y - d.Y) + (x - d.X) * (x - d.X) <= d.R * d.R);
                var matrix = (x / 40 + y / 40) % 3 == 0 ? 0.3f : 0.45f; // two darker phases beside the particles
                image.Pixels[y * w + x] = inside ? 0.9f : matrix;
            }
        ImageTools.AddNoise(image, 0.03, 17);
        return image;
    }
}
