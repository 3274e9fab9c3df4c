using System.Globalization;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Measurement;

public class ConnectedComponentsTests
{
    private const string ScipyLabel = """
        from scipy import ndimage
        d, shape, phase = sys.argv[1], tuple(int(s) for s in sys.argv[2].split(',')), int(sys.argv[3])
        a = np.fromfile(d + '/labels.raw', dtype=np.uint8).reshape(shape)
        ids, n = ndimage.label(a == phase, structure=np.ones((3, 3, 3)))
        ids.astype('<i4').tofile(d + '/ids.raw')
        print(n)
        """;

    private static Volume<byte> RandomLabels(int depth, int height, int width, int seed, double phaseShare)
    {
        var random = new Random(seed);
        var v = new Volume<byte>(depth, height, width);
        for (var i = 0; i < v.Data.Length; i++)
            v.Data[i] = random.NextDouble() < phaseShare ? PhaseLabel.Void : (byte)random.Next(1, 4);
        return v;
    }

    [Theory]
    [InlineData(1, 0.15)]
    [InlineData(2, 0.25)]
    [InlineData(3, 0.35)]
    public void Ids_counts_and_sizes_equal_scipy_label_with_full_3x3x3_structure(int seed, double share)
    {
        var v = RandomLabels(13, 17, 19, seed, share);
        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "labels.raw"), v.Data);
        var count = int.Parse(PythonOracle.Run(OracleIo.Python(ScipyLabel), dir.Path, "13,17,19", "4").Trim(), CultureInfo.InvariantCulture);

        var ours = ConnectedComponents.Label(v, PhaseLabel.Void);

        Assert.Equal(count, ours.Count);
        Assert.Equal(OracleIo.Read<int>(Path.Combine(dir.Path, "ids.raw")), ours.Ids);
        Assert.Equal(ours.Ids.Count(i => i != 0), ours.Sizes.Sum());
    }

    [Theory]
    [InlineData(4, 0.3, 1)]
    [InlineData(5, 0.3, 4)]
    [InlineData(6, 0.2, 7)]
    public void Chunked_accumulation_equals_whole_volume_labelling(int seed, double share, int chunkSlices)
    {
        var v = RandomLabels(29, 15, 16, seed, share);
        var whole = ConnectedComponents.Summarize(ConnectedComponents.Label(v, PhaseLabel.Void));
        var accumulator = new ComponentAccumulator(PhaseLabel.Void);
        for (var z = 0; z < v.Depth; z += chunkSlices)
            accumulator.Add(Halo.CropZ(v, z, Math.Min(v.Depth, z + chunkSlices)));
        Assert.Equal(whole, accumulator.Result() with { SizesDescending = whole.SizesDescending });
        Assert.Equal(whole.SizesDescending, accumulator.Result().SizesDescending);
    }

    [Fact]
    public void Diagonal_touch_across_a_chunk_boundary_joins_components()
    {
        var v = new Volume<byte>(2, 3, 3);
        v[0, 0, 0] = PhaseLabel.Void;
        v[1, 1, 1] = PhaseLabel.Void;
        var accumulator = new ComponentAccumulator(PhaseLabel.Void);
        accumulator.Add(Halo.CropZ(v, 0, 1));
        accumulator.Add(Halo.CropZ(v, 1, 2));
        Assert.Equal(1, accumulator.Result().Count);
        Assert.Equal(2, accumulator.Result().LargestVoxels);
    }

    [Fact]
    public void TauFactor_electrode_component_counts_match_scipy_whole_and_chunked()
    {
        const string tiff = "/work/shared/data/taufactor/electrode.tiff";
        Assert.True(File.Exists(tiff), $"{tiff} is missing");
        using var dir = new TempDirectory();
        var output = PythonOracle.Run(OracleIo.Python("""
            import tifffile
            from scipy import ndimage
            a = tifffile.imread(sys.argv[1])
            a.astype(np.uint8).tofile(sys.argv[2] + '/labels.raw')
            for value in (0, 85, 170):
                ids, n = ndimage.label(a == value, structure=np.ones((3, 3, 3)))
                sizes = np.bincount(ids.ravel())[1:]
                print(value, n, int(sizes.max()), int(sizes.sum()))
            print(*a.shape)
            """), tiff, dir.Path);
        var lines = output.Trim().Split('\n');
        var shape = lines[3].Split(' ').Select(int.Parse).ToArray();
        var volume = new Volume<byte>(shape[0], shape[1], shape[2], OracleIo.Read<byte>(Path.Combine(dir.Path, "labels.raw")));
        var published = new Dictionary<byte, int> { [0] = 789, [85] = 81, [170] = 4305 }; // SOURCE.txt, 26-connectivity

        foreach (var line in lines.Take(3))
        {
            var f = line.Split(' ').Select(long.Parse).ToArray();
            var phase = (byte)f[0];
            var whole = ConnectedComponents.Summarize(ConnectedComponents.Label(volume, phase));
            Assert.Equal(published[phase], whole.Count);
            Assert.Equal((f[1], f[2], f[3]), ((long)whole.Count, whole.LargestVoxels, whole.TotalVoxels));

            var accumulator = new ComponentAccumulator(phase);
            for (var z = 0; z < volume.Depth; z += 16) accumulator.Add(Halo.CropZ(volume, z, z + 16));
            var chunked = accumulator.Result();
            Assert.Equal((whole.Count, whole.LargestVoxels, whole.TotalVoxels), (chunked.Count, chunked.LargestVoxels, chunked.TotalVoxels));
            Assert.Equal(whole.SizesDescending, chunked.SizesDescending);
        }
    }
}
