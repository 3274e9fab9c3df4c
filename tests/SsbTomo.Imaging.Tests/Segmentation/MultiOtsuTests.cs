using System.Globalization;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class MultiOtsuTests
{
    private static int[] Skimage(long[] histogram, int classes)
    {
        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "h.raw"), histogram);
        var output = PythonOracle.Run(OracleIo.Python("""
            from skimage.filters import threshold_multiotsu
            h = np.fromfile(sys.argv[1] + '/h.raw', dtype='<i8')
            print(' '.join(str(int(t)) for t in threshold_multiotsu(hist=h, classes=int(sys.argv[2]))))
            """), dir.Path, classes.ToString(CultureInfo.InvariantCulture));
        return output.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
    }

    private static long[] Mixture(int bins, int seed, params (double Mean, double Sd, int Count)[] modes)
    {
        var random = new Random(seed);
        var h = new long[bins];
        foreach (var (mean, sd, count) in modes)
            for (var i = 0; i < count; i++)
            {
                var u1 = 1 - random.NextDouble();
                var g = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * random.NextDouble());
                h[Math.Clamp((int)Math.Floor(mean + sd * g), 0, bins - 1)]++;
            }
        return h;
    }

    public static TheoryData<string, int> Cases => new()
    {
        { "four-phase-256", 4 },
        { "three-phase-256", 3 },
        { "three-spikes", 3 },
        { "skewed-with-empty-ends-200", 4 },
        { "two-phase-1024", 2 },
        { "three-phase-1024", 3 },
    };

    private static long[] Histogram(string name) => name switch
    {
        "four-phase-256" => Mixture(256, 1, (30, 8, 20000), (90, 10, 50000), (150, 9, 60000), (210, 12, 80000)),
        "three-phase-256" => Mixture(256, 2, (40, 15, 10000), (120, 20, 30000), (200, 10, 5000)),
        "three-spikes" => SpikeHistogram(),
        "skewed-with-empty-ends-200" => Mixture(200, 3, (60, 4, 3000), (80, 6, 9000), (110, 5, 20000), (140, 3, 700)),
        "two-phase-1024" => Mixture(1024, 4, (300, 50, 40000), (700, 60, 20000)),
        "three-phase-1024" => Mixture(1024, 5, (200, 40, 40000), (500, 60, 30000), (800, 30, 20000)),
        _ => throw new ArgumentException(name),
    };

    private static long[] SpikeHistogram()
    {
        var h = new long[256];
        h[20] = 500; h[128] = 1000; h[230] = 300;
        return h;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Thresholds_equal_skimage_threshold_multiotsu_on_the_same_histogram(string name, int classes)
    {
        var h = Histogram(name);
        Assert.Equal(Skimage(h, classes), MultiOtsu.Thresholds(h, classes));
    }

    [Fact]
    public void Three_spikes_split_right_after_each_of_the_two_lower_spikes()
    {
        Assert.Equal([20, 128], MultiOtsu.Thresholds(SpikeHistogram(), 3));
    }

    [Fact]
    public void Four_classes_on_4096_bins_recovers_the_mode_gaps_quickly()
    {
        var h = Mixture(4096, 9, (500, 100, 20000), (1500, 120, 50000), (2500, 100, 60000), (3500, 120, 80000));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var t = MultiOtsu.Thresholds(h, 4);
        Assert.True(watch.Elapsed.TotalSeconds < 5, $"took {watch.Elapsed}");
        Assert.InRange(t[0], 850, 1150);
        Assert.InRange(t[1], 1850, 2150);
        Assert.InRange(t[2], 2850, 3150);
    }

    [Fact]
    public void Threshold_intensity_is_the_upper_bin_edge_and_class_means_sit_inside_their_classes()
    {
        Assert.Equal(16.0 * 11, MultiOtsu.ToIntensity(10, 4096, 0, 65536));
        var h = SpikeHistogram();
        var means = MultiOtsu.ClassMeans(h, [20, 128], 0, 256);
        Assert.Equal([20.5, 128.5, 230.5], means);
    }

    [Fact]
    public void Histograms_of_chunks_merge_to_the_histogram_of_the_whole()
    {
        var v = OracleIo.RandomGrey(9, 10, 11, seed: 3);
        var whole = SsbTomo.Imaging.Segmentation.Histogram.Compute(v, 4096, 0, 65536);
        var merged = SsbTomo.Imaging.Segmentation.Histogram.Merge(
            SsbTomo.Imaging.Segmentation.Histogram.Compute(Halo.CropZ(v, 0, 4), 4096, 0, 65536),
            SsbTomo.Imaging.Segmentation.Histogram.Compute(Halo.CropZ(v, 4, 9), 4096, 0, 65536));
        Assert.Equal(whole, merged);
        Assert.Equal(v.Length, whole.Sum());
        var asFloat = new Volume<float>(9, 10, 11, Array.ConvertAll(v.Data, x => (float)x));
        Assert.Equal(whole, SsbTomo.Imaging.Segmentation.Histogram.Compute(asFloat, 4096, 0, 65536));
        // Runs of one grey (the integer histogram's four tallies take neighbours in turn) and slices of 7 x 9 voxels, at the
        // alignment's 1024 bins: the same counts as the float histogram's voxel by voxel.
        var runs = new Volume<ushort>(5, 7, 9, [.. Enumerable.Range(0, 5 * 7 * 9).Select(i => (ushort)(i / 13 % 3 * 20000 + i % 5))]);
        Assert.Equal(SsbTomo.Imaging.Segmentation.Histogram.Compute(new Volume<float>(5, 7, 9, Array.ConvertAll(runs.Data, x => (float)x)), 1024, 0, 65536),
            SsbTomo.Imaging.Segmentation.Histogram.Compute(runs, 1024, 0, 65536));
    }
}
