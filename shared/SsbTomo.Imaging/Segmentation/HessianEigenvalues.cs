namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Eigenvalues of the Hessian of a Gaussian-smoothed volume, one slice at a time, scale-normalised (times σ²) so
/// that a structure's response does not depend on σ (Lindeberg 1998, "Feature detection with automatic scale
/// selection", IJCV 30:79). A dark tube in a bright matrix has two large positive eigenvalues across it and one
/// near zero along it; a dark blob has three positive, a dark sheet one (Frangi et al. 1998, "Multiscale vessel
/// enhancement filtering", MICCAI, LNCS 1496:130).
/// <para>
/// The derivatives are scipy.ndimage.gaussian_filter's with <c>order</c> 1 or 2 along an axis (the normalised
/// Gaussian's derivative, 4σ truncation, 'reflect' boundary at the slab's ends), so scipy is the oracle.
/// </para>
/// </summary>
public static class HessianEigenvalues
{
    /// <summary>Kernel half-width along each axis: the z halo a slab needs for its owned slices to be exact.</summary>
    public static int RadiusVoxels(double sigmaVoxels) => Denoise.GaussianRadiusVoxels(sigmaVoxels);

    /// <summary>
    /// Eigenvalues λ1 ≥ λ2 ≥ λ3 (times σ²) at every voxel of slice <paramref name="z"/> of <paramref name="volume"/>,
    /// each as a row-major height×width plane. Slices beyond the volume's ends are reflected; pass a slab with
    /// <see cref="RadiusVoxels"/> halo slices so that interior slices see their real neighbours.
    /// </summary>
    public static (float[] Largest, float[] Middle, float[] Smallest) OfSlice(Volume<float> volume, int z, double sigmaVoxels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, volume.Depth);
        if (!(sigmaVoxels > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "σ must be positive");
        var smooth = DerivativeKernel(sigmaVoxels, 0);
        var first = DerivativeKernel(sigmaVoxels, 1);
        var second = DerivativeKernel(sigmaVoxels, 2);
        var (height, width) = (volume.Height, volume.Width);

        // Along z first (one plane per kernel), then y and x in the plane.
        var zSmooth = AlongZ(volume, z, smooth);
        var zFirst = AlongZ(volume, z, first);
        var zSecond = AlongZ(volume, z, second);
        var hzz = InPlane(zSecond, height, width, smooth, smooth);
        var hyz = InPlane(zFirst, height, width, first, smooth);
        var hxz = InPlane(zFirst, height, width, smooth, first);
        var hyy = InPlane(zSmooth, height, width, second, smooth);
        var hxy = InPlane(zSmooth, height, width, first, first);
        var hxx = InPlane(zSmooth, height, width, smooth, second);

        var scale = sigmaVoxels * sigmaVoxels;
        var largest = new float[height * width];
        var middle = new float[height * width];
        var smallest = new float[height * width];
        for (var i = 0; i < largest.Length; i++)
        {
            var (a, b, c) = Symmetric3x3(hzz[i], hyy[i], hxx[i], hyz[i], hxz[i], hxy[i]);
            largest[i] = (float)(a * scale);
            middle[i] = (float)(b * scale);
            smallest[i] = (float)(c * scale);
        }
        return (largest, middle, smallest);
    }

    /// <summary>
    /// scipy's _gaussian_kernel1d(σ, order, radius) reversed, as gaussian_filter1d applies it (a convolution):
    /// weights[j] multiply the sample at offset j − radius.
    /// </summary>
    internal static double[] DerivativeKernel(double sigmaVoxels, int order)
    {
        var radius = Denoise.GaussianRadiusVoxels(sigmaVoxels);
        var phi = new double[2 * radius + 1];
        var sum = 0.0;
        for (var x = -radius; x <= radius; x++) sum += phi[x + radius] = Math.Exp(-0.5 / (sigmaVoxels * sigmaVoxels) * x * x);
        for (var i = 0; i < phi.Length; i++) phi[i] /= sum;
        var s2 = sigmaVoxels * sigmaVoxels;
        var kernel = new double[phi.Length];
        for (var x = -radius; x <= radius; x++)
        {
            var p = phi[x + radius];
            kernel[x + radius] = order switch
            {
                0 => p,
                1 => -x / s2 * p,
                2 => (x * x / (s2 * s2) - 1 / s2) * p,
                _ => throw new ArgumentOutOfRangeException(nameof(order), order, "orders 0, 1 and 2 only"),
            };
        }
        Array.Reverse(kernel);
        return kernel;
    }

    private static double[] AlongZ(Volume<float> volume, int z, double[] kernel)
    {
        var radius = kernel.Length / 2;
        var sources = Denoise.ReflectedIndices(volume.Depth, radius);
        var plane = new double[volume.SliceLength];
        for (var k = 0; k < kernel.Length; k++)
        {
            var weight = kernel[k];
            if (weight == 0) continue;
            var source = volume.Slice(sources[z + k]);
            for (var i = 0; i < plane.Length; i++) plane[i] += weight * source[i];
        }
        return plane;
    }

    private static double[] InPlane(double[] plane, int height, int width, double[] alongY, double[] alongX)
    {
        var ry = alongY.Length / 2;
        var rx = alongX.Length / 2;
        var ySources = Denoise.ReflectedIndices(height, ry);
        var xSources = Denoise.ReflectedIndices(width, rx);
        var rows = new double[plane.Length];
        for (var y = 0; y < height; y++)
        {
            var output = rows.AsSpan(y * width, width);
            for (var k = 0; k < alongY.Length; k++)
            {
                var weight = alongY[k];
                if (weight == 0) continue;
                var source = plane.AsSpan(ySources[y + k] * width, width);
                for (var x = 0; x < width; x++) output[x] += weight * source[x];
            }
        }
        var result = new double[plane.Length];
        for (var y = 0; y < height; y++)
        {
            var row = rows.AsSpan(y * width, width);
            var output = result.AsSpan(y * width, width);
            for (var x = 0; x < width; x++)
            {
                var sum = 0.0;
                for (var k = 0; k < alongX.Length; k++) sum += alongX[k] * row[xSources[x + k]];
                output[x] = sum;
            }
        }
        return result;
    }

    /// <summary>
    /// Eigenvalues of the symmetric matrix [[a, d, e], [d, b, f], [e, f, c]], descending, by the closed form for
    /// the roots of its characteristic cubic (Smith 1961, "Eigenvalues of a symmetric 3×3 matrix", CACM 4:168).
    /// </summary>
    internal static (double Largest, double Middle, double Smallest) Symmetric3x3(double a, double b, double c, double d, double e, double f)
    {
        var offDiagonal = d * d + e * e + f * f;
        if (offDiagonal == 0) return Sort3(a, b, c);
        var q = (a + b + c) / 3;
        var (aq, bq, cq) = (a - q, b - q, c - q);
        var p2 = aq * aq + bq * bq + cq * cq + 2 * offDiagonal;
        var p = Math.Sqrt(p2 / 6);
        // det((M - qI) / p) / 2, clamped against rounding
        var determinant = aq * (bq * cq - f * f) - d * (d * cq - f * e) + e * (d * f - bq * e);
        var r = Math.Clamp(determinant / (2 * p * p * p), -1, 1);
        var phi = Math.Acos(r) / 3;
        var largest = q + 2 * p * Math.Cos(phi);
        var smallest = q + 2 * p * Math.Cos(phi + 2 * Math.PI / 3);
        return (largest, 3 * q - largest - smallest, smallest);
    }

    private static (double, double, double) Sort3(double a, double b, double c)
    {
        if (a < b) (a, b) = (b, a);
        if (b < c) (b, c) = (c, b);
        if (a < b) (a, b) = (b, a);
        return (a, b, c);
    }
}
