using System.Globalization;
using SsbTomo.Imaging.Classification;
using SsbTomo.Imaging.Tests.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Classification;

public class PixelFeaturesTests
{
    private const int Height = 37, Width = 45;

    private static float[] Image(int seed)
    {
        // Smooth structure plus noise: a mix of blobs and edges, so every filter has something to respond to.
        var random = new Random(seed);
        var image = new float[Height * Width];
        for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++)
                image[y * Width + x] = (float)(1000 + 400 * Math.Sin(x / 3.0) * Math.Cos(y / 5.0) + (x > 20 ? 300 : 0) + random.Next(0, 200));
        return image;
    }

    [Theory]
    [InlineData(0.7)]
    [InlineData(1.6)]
    [InlineData(3.5)]
    [InlineData(10.0)]
    public void Every_filter_matches_scipy_ndimage_and_skimage_feature(double sigma)
    {
        using var dir = new TempDirectory();
        var image = Image(3);
        OracleIo.Write(Path.Combine(dir.Path, "in.raw"), image);
        var specs = PixelFeatures.Bank([sigma], includeFineSmoothing: false);
        var ours = PixelFeatures.Compute(image, Height, Width, specs);

        PythonOracle.Run(OracleIo.Python($$"""
            from scipy import ndimage as ndi
            from skimage.feature import hessian_matrix_eigvals, structure_tensor_eigenvalues
            d, s = sys.argv[1], float(sys.argv[2])
            a = np.fromfile(d + '/in.raw', dtype='<f4').reshape({{Height}}, {{Width}}).astype(np.float64)
            g = lambda img, sig, order=0: ndi.gaussian_filter(img, sig, order=order, mode='reflect', truncate=4.0)
            out = [g(a, s), ndi.gaussian_laplace(a, s, mode='reflect', truncate=4.0),
                   ndi.gaussian_gradient_magnitude(a, s, mode='reflect', truncate=4.0), g(a, s) - g(a, 0.66 * s)]
            # ilastik's structure tensor: gradients at the inner scale s, products smoothed at the outer scale s/2
            gy, gx = g(a, s, (1, 0)), g(a, s, (0, 1))
            t = [g(gy * gy, 0.5 * s), g(gy * gx, 0.5 * s), g(gx * gx, 0.5 * s)]
            out += list(structure_tensor_eigenvalues(t))
            h = [g(a, s, (2, 0)), g(a, s, (1, 1)), g(a, s, (0, 2))]
            out += list(hessian_matrix_eigvals(h))
            np.stack(out).astype('<f8').tofile(d + '/out.raw')
            """), dir.Path, sigma.ToString(CultureInfo.InvariantCulture));
        var expected = OracleIo.Read<double>(Path.Combine(dir.Path, "out.raw"));

        var names = PixelFeatures.Names(specs);
        Assert.Equal(8, ours.Length);
        for (var f = 0; f < ours.Length; f++)
        {
            var plane = expected.AsSpan(f * Height * Width, Height * Width);
            var scale = 0.0;
            foreach (var v in plane) scale = Math.Max(scale, Math.Abs(v));
            var worst = 0.0;
            for (var i = 0; i < plane.Length; i++) worst = Math.Max(worst, Math.Abs(plane[i] - ours[f][i]));
            // float accumulation against scipy's double: relative to the plane's largest magnitude
            Assert.True(worst <= 1e-4 * scale + 1e-3, $"{names[f]}: largest difference {worst} against a largest value {scale}");
        }
    }

    [Theory]
    [InlineData(16)]
    [InlineData(23)]
    public void Tiles_read_with_the_halo_give_the_whole_image_bit_for_bit(int tileSize)
    {
        var (h, w) = (90, 77);
        var random = new Random(9);
        var image = new float[h * w];
        for (var i = 0; i < image.Length; i++) image[i] = random.Next(0, 4096);
        var specs = PixelFeatures.Default2D;
        Assert.Equal(33, PixelFeatures.Count(specs));
        Assert.Equal(30, PixelFeatures.Halo(specs)); // σ 5: inner radius 20 + outer (2.5) radius 10

        var whole = PixelFeatures.Compute(image, h, w, specs);
        var tiled = PixelFeatures.ComputeTiled(image, h, w, specs, tileSize);
        for (var f = 0; f < whole.Length; f++) Assert.Equal(whole[f], tiled[f]);
    }

    [Fact]
    public void A_halo_one_pixel_short_changes_the_owned_pixels()
    {
        // The other half of the halo argument: the stated halo is needed, not just enough.
        var (h, w) = (80, 80);
        var random = new Random(4);
        var image = new float[h * w];
        for (var i = 0; i < image.Length; i++) image[i] = random.Next(0, 4096);
        var specs = new[] { new FeatureSpec(FeatureKind.StructureTensorEigenvalues, 1.6) };
        var halo = PixelFeatures.Halo(specs);
        Assert.Equal(6 + 3, halo); // int(4·1.6 + 0.5) + int(4·0.8 + 0.5)
        var whole = PixelFeatures.Compute(image, h, w, specs);

        var (y0, x0, size) = (30, 30, 20);
        float[] Owned(int margin)
        {
            var side = size + 2 * margin;
            var window = new float[side * side];
            for (var y = 0; y < side; y++) image.AsSpan((y0 - margin + y) * w + x0 - margin, side).CopyTo(window.AsSpan(y * side, side));
            var planes = PixelFeatures.Compute(window, side, side, specs);
            var owned = new float[size * size];
            for (var y = 0; y < size; y++) planes[0].AsSpan((margin + y) * side + margin, size).CopyTo(owned.AsSpan(y * size, size));
            return owned;
        }
        var expected = new float[size * size];
        for (var y = 0; y < size; y++) whole[0].AsSpan((y0 + y) * w + x0, size).CopyTo(expected.AsSpan(y * size, size));
        Assert.Equal(expected, Owned(halo));
        Assert.NotEqual(expected, Owned(halo - 1));
    }

    private const int Depth = 9;

    private static float[] Stack(int seed)
    {
        // Blobs that come and go along z plus noise, so that every z-context filter has something to respond to.
        var random = new Random(seed);
        var stack = new float[Depth * Height * Width];
        for (var z = 0; z < Depth; z++)
            for (var y = 0; y < Height; y++)
                for (var x = 0; x < Width; x++)
                    stack[(z * Height + y) * Width + x] = (float)(1000 + 400 * Math.Sin(x / 3.0 + z) * Math.Cos(y / 5.0 - 0.5 * z) + (x > 20 + z ? 300 : 0) + random.Next(0, 200));
        return stack;
    }

    private static float[][] InStack(float[] stack, int depth, int z, IReadOnlyList<FeatureSpec> specs, int height = Height, int width = Width) =>
        PixelFeatures.ComputeInStack(s => stack.AsSpan(s * height * width, height * width).ToArray(), depth, z, height, width, specs);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    public void The_z_context_and_3D_filters_match_scipy_ndimage_on_a_stack(int z)
    {
        using var dir = new TempDirectory();
        var stack = Stack(5);
        OracleIo.Write(Path.Combine(dir.Path, "in.raw"), stack);
        var specs = PixelFeatures.ZContext(1.0);
        var ours = InStack(stack, Depth, z, specs);

        PythonOracle.Run(OracleIo.Python($$"""
            from scipy import ndimage as ndi
            d, z = sys.argv[1], int(sys.argv[2])
            a = np.fromfile(d + '/in.raw', dtype='<f4').reshape({{Depth}}, {{Height}}, {{Width}}).astype(np.float64)
            s2 = np.stack([ndi.gaussian_filter(p, 1.0, mode='reflect', truncate=4.0) for p in a])
            pad = np.pad(s2, ((8, 8), (0, 0), (0, 0)), mode='symmetric')  # numpy's 'symmetric' is scipy's 'reflect'
            at = lambda dz: pad[z + 8 + dz]
            out = [at(0) - at(dz) for dz in (-1, -2, -4, 1, 2, 4)]
            out += [np.min([at(-j) for j in range(3)], axis=0), np.min([at(-j) for j in range(7)], axis=0)]
            out += [np.max([at(j) for j in range(3)], axis=0), np.max([at(j) for j in range(7)], axis=0)]
            out += [ndi.gaussian_filter(a, s, mode='reflect', truncate=4.0)[z] for s in (1.0, 1.6)]
            out += [ndi.gaussian_laplace(a, s, mode='reflect', truncate=4.0)[z] for s in (1.0, 1.6)]
            np.stack(out).astype('<f8').tofile(d + '/out.raw')
            """), dir.Path, z.ToString(CultureInfo.InvariantCulture));
        var expected = OracleIo.Read<double>(Path.Combine(dir.Path, "out.raw"));

        var names = PixelFeatures.Names(specs);
        Assert.Equal(14, ours.Length);
        for (var f = 0; f < ours.Length; f++)
        {
            var plane = expected.AsSpan(f * Height * Width, Height * Width);
            var scale = 0.0;
            foreach (var v in plane) scale = Math.Max(scale, Math.Abs(v));
            var worst = 0.0;
            for (var i = 0; i < plane.Length; i++) worst = Math.Max(worst, Math.Abs(plane[i] - ours[f][i]));
            Assert.True(worst <= 1e-4 * scale + 1e-3, $"{names[f]} at slice {z}: largest difference {worst} against a largest value {scale}");
        }
    }

    [Fact]
    public void A_z_window_with_the_z_halo_gives_the_whole_stack_s_features_bit_for_bit_and_one_slice_less_does_not()
    {
        var (depth, h, w) = (30, 40, 44);
        var random = new Random(11);
        var stack = new float[depth * h * w];
        for (var i = 0; i < stack.Length; i++) stack[i] = random.Next(0, 4096);
        var specs = PixelFeatures.Default;
        var zHalo = PixelFeatures.ZHalo(specs);
        Assert.Equal(6, zHalo); // 3D σ 1.6: int(4·1.6 + 0.5); the z-context's reach 6
        Assert.Equal(47, PixelFeatures.Count(specs));
        float[][] Windowed(int z, int before, int after)
        {
            var (z0, z1) = (Math.Max(0, z - before), Math.Min(depth, z + after + 1));
            return InStack(stack.AsSpan(z0 * h * w, (z1 - z0) * h * w).ToArray(), z1 - z0, z - z0, specs, h, w);
        }
        foreach (var z in new[] { 0, 3, 6, 15, 25, 29 })
        {
            var whole = InStack(stack, depth, z, specs, h, w);
            var windowed = Windowed(z, zHalo, zHalo);
            for (var f = 0; f < whole.Length; f++) Assert.Equal(whole[f], windowed[f]);
        }
        // In the middle a slice less context on either side changes some plane.
        var middle = InStack(stack, depth, 15, specs, h, w);
        Assert.Contains(Enumerable.Range(0, middle.Length), f => !middle[f].AsSpan().SequenceEqual(Windowed(15, zHalo - 1, zHalo)[f]));
        Assert.Contains(Enumerable.Range(0, middle.Length), f => !middle[f].AsSpan().SequenceEqual(Windowed(15, zHalo, zHalo - 1)[f]));
    }

    [Fact]
    public void A_lone_image_is_a_stack_of_one_slice()
    {
        var image = Image(2);
        var planes = PixelFeatures.Compute(image, Height, Width, PixelFeatures.ZContext(1.0));
        var smooth = PixelFeatures.Compute(image, Height, Width, [new FeatureSpec(FeatureKind.GaussianSmoothing, 1.0)])[0];
        for (var f = 0; f < 6; f++) Assert.All(planes[f], v => Assert.Equal(0f, v));
        for (var f = 6; f < 10; f++) Assert.Equal(smooth, planes[f]);
        // 3D smoothing of one mirrored slice: the slice's 2D smoothing times the z kernel's float sum (1 within rounding)
        for (var i = 0; i < smooth.Length; i++) Assert.Equal(smooth[i], planes[10][i], 1e-5f * Math.Abs(smooth[i]));
        Assert.Throws<ArgumentException>(() => PixelFeatures.Compute(image, Height, Width, [new FeatureSpec(FeatureKind.MinimumAlongZ, 1.0)]));
        Assert.Throws<ArgumentException>(() => PixelFeatures.Compute(image, Height, Width, [new FeatureSpec(FeatureKind.GaussianSmoothing, 1.0, 2)]));
    }
}
