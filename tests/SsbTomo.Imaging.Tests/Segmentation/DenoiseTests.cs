using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class DenoiseTests
{
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.7)]
    [InlineData(2.0)]
    public void Gaussian_matches_scipy_gaussian_filter_with_reflect_and_truncate_4(double sigma)
    {
        using var dir = new TempDirectory();
        var input = OracleIo.RandomGrey(7, 19, 23, seed: 11);
        OracleIo.Write(Path.Combine(dir.Path, "in.raw"), input.Data);

        var ours = Denoise.Gaussian(input, sigma);

        PythonOracle.Run(OracleIo.Python("""
            from scipy import ndimage
            d = sys.argv[1]
            a = np.fromfile(d + '/in.raw', dtype='<u2').reshape(7, 19, 23).astype(np.float64)
            ndimage.gaussian_filter(a, float(sys.argv[2]), mode='reflect', truncate=4.0).astype('<f8').tofile(d + '/out.raw')
            """), dir.Path, sigma.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var expected = OracleIo.Read<double>(Path.Combine(dir.Path, "out.raw"));

        Assert.Equal(expected.Length, ours.Data.Length);
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - ours.Data[i]));
        Assert.True(worst < 0.02, $"largest difference to scipy {worst} grey levels");
    }

    [Fact]
    public void Chunks_with_halo_give_the_same_bytes_as_the_whole_stack_including_stack_ends()
    {
        const double sigma = 1.3;
        var stack = OracleIo.RandomGrey(37, 12, 17, seed: 5);
        var whole = Denoise.Gaussian(stack, sigma);
        var halo = Halo.RequiredSlices(sigma);
        Assert.Equal(5, halo);

        var pieces = new List<float>();
        for (var z0 = 0; z0 < stack.Depth; z0 += 8)
        {
            var window = Halo.Expand(stack.Depth, z0, Math.Min(stack.Depth, z0 + 8), halo);
            var slab = Halo.CropZ(stack, window.SlabZ0, window.SlabZ1);
            pieces.AddRange(Halo.CropToOwned(Denoise.Gaussian(slab, sigma), window).Data);
        }
        Assert.Equal(whole.Data, pieces.ToArray());
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.8)]
    [InlineData(2.0)]
    public void Skipping_rows_of_zeros_and_the_vectorised_x_pass_give_the_frozen_gaussians_bits(double sigma)
    {
        // Random grey (no zero rows), and a sparse volume: zeros but for two small blobs, one at a corner.
        var grey = OracleIo.RandomGrey(9, 21, 37, seed: 3);
        var sparse = new Volume<ushort>(13, 30, 41);
        for (var z = 5; z < 8; z++)
            for (var y = 10; y < 13; y++)
                for (var x = 20; x < 26; x++) sparse[z, y, x] = (ushort)(1 + x + y);
        sparse[0, 0, 0] = 65535;
        foreach (var volume in new[] { grey, sparse })
        {
            var expected = Reference.GaussianReference.Gaussian(volume, sigma).Data;
            Assert.Equal(expected, Denoise.Gaussian(volume, sigma).Data);
            Assert.Equal(expected, Denoise.Gaussian(volume, sigma, skipZeroRows: true).Data);
        }
        // The label-table form, through one workspace reused by a larger volume first.
        var labels = new Volume<byte>(sparse.Depth, sparse.Height, sparse.Width, Array.ConvertAll(sparse.Data, v => (byte)(v == 0 ? 2 : v % 3 == 0 ? 1 : 4)));
        var table = new ushort[256];
        (table[1], table[4]) = (1, 7);
        var workspace = new GaussianWorkspace();
        var larger = new Volume<byte>(20, 31, 50);
        Array.Fill(larger.Data, (byte)4);
        Denoise.Gaussian(larger, table, sigma, workspace);
        var mapped = new Volume<ushort>(labels.Depth, labels.Height, labels.Width, Array.ConvertAll(labels.Data, l => table[l]));
        var (smooth, rows) = Denoise.Gaussian(labels, table, sigma, workspace);
        Assert.Equal(Reference.GaussianReference.Gaussian(mapped, sigma).Data, smooth.AsSpan(0, (int)labels.Length).ToArray());
        Assert.Contains(false, rows.AsSpan(0, labels.Depth * labels.Height).ToArray());

        // Only slices 4..9 wanted: the same bits there, the other slices' rows flagged as zeros.
        var whole = smooth.AsSpan(0, (int)labels.Length).ToArray();
        var (part, partRows) = Denoise.Gaussian(labels, table, sigma, workspace, (4, 9));
        var plane = labels.Height * labels.Width;
        Assert.Equal(whole.AsSpan(4 * plane, 5 * plane).ToArray(), part.AsSpan(4 * plane, 5 * plane).ToArray());
        for (var z = 0; z < labels.Depth; z++)
            if (z is < 4 or >= 9) Assert.DoesNotContain(true, partRows.AsSpan(z * labels.Height, labels.Height).ToArray());
    }

    /// <summary>
    /// The denoising stage's step through one workspace kept from window to window (a full window, a smaller one at the
    /// stack's edge, a full one again, and one whose rows are all zeros): each window's bytes are those of a fresh Gaussian
    /// cropped to the owned voxels, whatever the windows before left in the workspace.
    /// </summary>
    [Fact]
    public void The_denoising_step_through_a_reused_workspace_gives_each_windows_own_bytes()
    {
        const double sigma = 1.2;
        var workspace = new GaussianWorkspace();
        var windows = new (Volume<ushort> Window, SlabWindow Slab, TileWindow Tile)[]
        {
            (OracleIo.RandomGrey(14, 23, 31, seed: 11), new SlabWindow(10, 24, 13, 20), new TileWindow(0, 23, 0, 31, 0, 18, 0, 26)),
            (OracleIo.RandomGrey(9, 17, 12, seed: 12), new SlabWindow(30, 39, 33, 39), new TileWindow(40, 57, 60, 72, 45, 57, 65, 72)),
            (OracleIo.RandomGrey(14, 23, 31, seed: 13), new SlabWindow(10, 24, 13, 20), new TileWindow(0, 23, 0, 31, 0, 18, 0, 26)),
            (new Volume<ushort>(9, 17, 12), new SlabWindow(30, 39, 33, 39), new TileWindow(40, 57, 60, 72, 45, 57, 65, 72)),
        };
        foreach (var (window, slab, tile) in windows)
        {
            var expected = TileGrid.CropToOwnedUInt16(Denoise.Gaussian(window, sigma), slab, tile);
            var actual = Denoise.GaussianOwnedUInt16(window, sigma, slab, tile, workspace);
            Assert.Equal((expected.Depth, expected.Height, expected.Width), (actual.Depth, actual.Height, actual.Width));
            Assert.Equal(expected.Data, actual.Data);
        }
        Assert.Throws<ArgumentException>(() => Denoise.GaussianOwnedUInt16(new Volume<ushort>(8, 23, 31), sigma, windows[0].Slab, windows[0].Tile, workspace));
    }

    [Fact]
    public void Reflect_repeats_when_the_kernel_is_wider_than_the_axis()
    {
        // scipy 'reflect' on length 2 (a b), padded by 3 each side: b b a | a b | b a a
        Assert.Equal([1, 1, 0, 0, 1, 1, 0, 0], Denoise.ReflectedIndices(2, 3));
    }

    [Fact]
    public void A_constant_volume_stays_constant()
    {
        var v = new Volume<ushort>(4, 5, 6);
        Array.Fill(v.Data, (ushort)1234);
        Assert.All(Denoise.Gaussian(v, 1.5).Data, x => Assert.Equal(1234f, x, 0.01f));
    }
}
