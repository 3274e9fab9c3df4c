using System.Numerics;

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
    /// The middle and smallest eigenvalues of <see cref="OfSlice"/> at selected pixels of a slice only, for callers that
    /// need them at a few per cent of the voxels (<see cref="FibreHalfDepth"/>). The derivative passes run along z on the
    /// rows that the selected pixels' in-plane kernels reach, along y on the selected pixels' rows and along x at the
    /// selected pixels alone, in single precision (vectorised; within ~1e-6 of the contrast of <see cref="OfSlice"/>'s
    /// doubles), and the eigenvalues only where the trace λ1+λ2+λ3 (times σ²) exceeds the caller's minimum. Each pixel's
    /// value is the same sums in the same order whatever else is selected, so it does not depend on the selection or on
    /// the vector width. One workspace per thread: it keeps its planes from slice to slice.
    /// </summary>
    public sealed class AtSelectedPixels
    {
        /// <summary>What a workspace holds per pixel of a slice: three z-derivative planes and six y-derivative planes, floats.</summary>
        public const int ScratchBytesPerSlicePixel = 9 * sizeof(float);

        private readonly int _height, _width;
        private readonly double _scale;
        private readonly float[] _smooth, _first, _second;
        private readonly int[] _ySources, _xSources;
        private readonly float[] _zSmooth, _zFirst, _zSecond;
        // Along y: zSecond·smooth (hzz), zSmooth·second (hyy), zSmooth·smooth (hxx), zFirst·first (hyz), zFirst·smooth (hxz), zSmooth·first (hxy).
        private readonly float[][] _alongY;
        // Per row, the columns [from, to) its pass covers (to = 0: none): along y the selected pixels' x kernels, along z theirs.
        private readonly int[] _yFrom, _yTo, _zFrom, _zTo;
        private int[] _zSources = [];
        private int _zSourcesDepth = -1;

        public AtSelectedPixels(int height, int width, double sigmaVoxels)
        {
            if (!(sigmaVoxels > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "σ must be positive");
            (_height, _width) = (height, width);
            _scale = sigmaVoxels * sigmaVoxels;
            static float[] Single(double[] kernel) => Array.ConvertAll(kernel, w => (float)w);
            (_smooth, _first, _second) = (Single(DerivativeKernel(sigmaVoxels, 0)), Single(DerivativeKernel(sigmaVoxels, 1)), Single(DerivativeKernel(sigmaVoxels, 2)));
            var radius = _smooth.Length / 2;
            _ySources = Denoise.ReflectedIndices(height, radius);
            _xSources = Denoise.ReflectedIndices(width, radius);
            var sliceLength = height * width;
            (_zSmooth, _zFirst, _zSecond) = (new float[sliceLength], new float[sliceLength], new float[sliceLength]);
            _alongY = new float[6][];
            for (var c = 0; c < _alongY.Length; c++) _alongY[c] = new float[sliceLength];
            (_yFrom, _yTo, _zFrom, _zTo) = (new int[height], new int[height], new int[height], new int[height]);
        }

        /// <summary>
        /// λ2·σ² and λ3·σ² of slice <paramref name="z"/> of <paramref name="volume"/> (reflected beyond its ends, as
        /// <see cref="OfSlice"/>) written at the pixels where <paramref name="selected"/> is non-zero, λ2·σ² exceeds
        /// <paramref name="minimumMiddle"/> and the trace·σ² exceeds <paramref name="minimumTrace"/>; NaN at the other
        /// selected pixels, whose eigenvalues are not computed (both tests come first, from the inertia of H·σ² − mI and
        /// the diagonal). Pixels not selected are left as they were.
        /// </summary>
        public void Compute(Volume<float> volume, int z, ReadOnlySpan<byte> selected, Span<float> middle, Span<float> smallest,
            double minimumMiddle = double.NegativeInfinity, double minimumTrace = double.NegativeInfinity)
        {
            if (volume.Height != _height || volume.Width != _width)
                throw new ArgumentException($"the workspace is for {_height}x{_width} slices", nameof(volume));
            ArgumentOutOfRangeException.ThrowIfNegative(z);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, volume.Depth);
            var (height, width) = (_height, _width);
            var radius = _smooth.Length / 2;
            if (_zSourcesDepth != volume.Depth) (_zSources, _zSourcesDepth) = (Denoise.ReflectedIndices(volume.Depth, radius), volume.Depth);
            var zSources = _zSources;
            Array.Fill(_zFrom, width);
            Array.Clear(_zTo);
            Array.Clear(_yTo);
            var any = false;
            for (var y = 0; y < height; y++)
            {
                var row = selected.Slice(y * width, width);
                var firstX = row.IndexOfAnyExcept((byte)0);
                if (firstX < 0) continue;
                any = true;
                var lastX = row.LastIndexOfAnyExcept((byte)0);
                // The x kernel of a selected pixel reads columns within radius of it (reflected ones too: they lie nearer).
                (_yFrom[y], _yTo[y]) = (Math.Max(0, firstX - radius), Math.Min(width, lastX + radius + 1));
                for (var k = 0; k <= 2 * radius; k++)
                {
                    var source = _ySources[y + k];
                    _zFrom[source] = Math.Min(_zFrom[source], _yFrom[y]);
                    _zTo[source] = Math.Max(_zTo[source], _yTo[y]);
                }
            }
            if (!any) return;

            // Along z on the columns the y and x kernels reach: the three kernels at once, each sum in kernel order.
            for (var y = 0; y < height; y++)
            {
                if (_zTo[y] == 0) continue;
                AlongZ(volume, zSources, z, y * width + _zFrom[y], _zTo[y] - _zFrom[y]);
            }
            // Along y on the selected rows' columns the x kernels reach: the six products at once.
            for (var y = 0; y < height; y++)
                if (_yTo[y] != 0) AlongY(y);
            // Along x at the selected pixels: the diagonal first, the rest and the eigenvalues where the trace allows a tube.
            for (var y = 0; y < height; y++)
            {
                if (_yTo[y] == 0) continue;
                var row = y * width;
                for (var x = _yFrom[y]; x < _yTo[y]; x++)
                {
                    if (selected[row + x] == 0) continue;
                    var (hzz, hyy, hxx) = AlongX(row, x, 0, _smooth, _smooth, _second);
                    if (!((hzz + hyy + hxx) * _scale > minimumTrace))
                    {
                        middle[row + x] = smallest[row + x] = float.NaN;
                        continue;
                    }
                    var (hyz, hxz, hxy) = AlongX(row, x, 3, _smooth, _first, _first);
                    if (!MiddleMayExceed(hzz, hyy, hxx, hyz, hxz, hxy, minimumMiddle / _scale))
                    {
                        middle[row + x] = smallest[row + x] = float.NaN;
                        continue;
                    }
                    var (_, b, c) = Symmetric3x3(hzz, hyy, hxx, hyz, hxz, hxy);
                    middle[row + x] = (float)(b * _scale);
                    smallest[row + x] = (float)(c * _scale);
                }
            }
        }

        /// <summary>
        /// False only when the middle eigenvalue of [[a, d, e], [d, b, f], [e, f, c]] is surely at most <paramref name="m"/>:
        /// fewer than two eigenvalues above a slightly lower bound, counted by Sylvester's law of inertia (the sign changes
        /// of the leading principal minors of the matrix minus that bound are its negative eigenvalues). A zero minor
        /// leaves the count undecided (true). Far cheaper than the eigenvalues, which the caller computes when true.
        /// </summary>
        private static bool MiddleMayExceed(double a, double b, double c, double d, double e, double f, double m)
        {
            if (double.IsNegativeInfinity(m)) return true;
            var t = m - 1e-6 * Math.Abs(m) - 1e-12;
            var (p, q, r) = (a - t, b - t, c - t);
            var minor1 = p;
            var minor2 = p * q - d * d;
            var minor3 = p * (q * r - f * f) - d * (d * r - f * e) + e * (d * f - q * e);
            if (minor1 == 0 || minor2 == 0 || minor3 == 0) return true;
            var negatives = (minor1 < 0 ? 1 : 0) + (Math.Sign(minor1) != Math.Sign(minor2) ? 1 : 0) + (Math.Sign(minor2) != Math.Sign(minor3) ? 1 : 0);
            return negatives <= 1;
        }

        /// <summary>The three z derivatives over [from, from + length) of slice z: for each lane, the kernels' products added in kernel order (zero weights skipped).</summary>
        private void AlongZ(Volume<float> volume, int[] zSources, int z, int from, int length)
        {
            var taps = _smooth.Length;
            var i = 0;
            if (Vector.IsHardwareAccelerated)
                for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    Vector<float> smooth = default, first = default, second = default;
                    for (var k = 0; k < taps; k++)
                    {
                        var v = new Vector<float>(volume.Slice(zSources[z + k]).Slice(from + i, Vector<float>.Count));
                        if (_smooth[k] != 0) smooth += new Vector<float>(_smooth[k]) * v;
                        if (_first[k] != 0) first += new Vector<float>(_first[k]) * v;
                        if (_second[k] != 0) second += new Vector<float>(_second[k]) * v;
                    }
                    smooth.CopyTo(_zSmooth.AsSpan(from + i));
                    first.CopyTo(_zFirst.AsSpan(from + i));
                    second.CopyTo(_zSecond.AsSpan(from + i));
                }
            for (; i < length; i++)
            {
                float smooth = 0, first = 0, second = 0;
                for (var k = 0; k < taps; k++)
                {
                    var v = volume.Slice(zSources[z + k])[from + i];
                    if (_smooth[k] != 0) smooth += _smooth[k] * v;
                    if (_first[k] != 0) first += _first[k] * v;
                    if (_second[k] != 0) second += _second[k] * v;
                }
                (_zSmooth[from + i], _zFirst[from + i], _zSecond[from + i]) = (smooth, first, second);
            }
        }

        /// <summary>The six y products of row y over its columns: zSecond·smooth, zSmooth·second, zSmooth·smooth, zFirst·first, zFirst·smooth, zSmooth·first.</summary>
        private void AlongY(int y)
        {
            var width = _width;
            var (from, to) = (y * width + _yFrom[y], y * width + _yTo[y]);
            var taps = _smooth.Length;
            var i = from;
            if (Vector.IsHardwareAccelerated)
                for (; i <= to - Vector<float>.Count; i += Vector<float>.Count)
                {
                    Vector<float> zz = default, yy = default, xx = default, yz = default, xz = default, xy = default;
                    for (var k = 0; k < taps; k++)
                    {
                        var source = _ySources[y + k] * width + (i - y * width);
                        var (s, f, d) = (new Vector<float>(_zSmooth.AsSpan(source)), new Vector<float>(_zFirst.AsSpan(source)), new Vector<float>(_zSecond.AsSpan(source)));
                        if (_smooth[k] != 0)
                        {
                            var w = new Vector<float>(_smooth[k]);
                            zz += w * d;
                            xx += w * s;
                            xz += w * f;
                        }
                        if (_second[k] != 0) yy += new Vector<float>(_second[k]) * s;
                        if (_first[k] != 0)
                        {
                            var w = new Vector<float>(_first[k]);
                            yz += w * f;
                            xy += w * s;
                        }
                    }
                    zz.CopyTo(_alongY[0].AsSpan(i));
                    yy.CopyTo(_alongY[1].AsSpan(i));
                    xx.CopyTo(_alongY[2].AsSpan(i));
                    yz.CopyTo(_alongY[3].AsSpan(i));
                    xz.CopyTo(_alongY[4].AsSpan(i));
                    xy.CopyTo(_alongY[5].AsSpan(i));
                }
            for (; i < to; i++)
            {
                float zz = 0, yy = 0, xx = 0, yz = 0, xz = 0, xy = 0;
                for (var k = 0; k < taps; k++)
                {
                    var source = _ySources[y + k] * width + (i - y * width);
                    var (s, f, d) = (_zSmooth[source], _zFirst[source], _zSecond[source]);
                    if (_smooth[k] != 0)
                    {
                        zz += _smooth[k] * d;
                        xx += _smooth[k] * s;
                        xz += _smooth[k] * f;
                    }
                    if (_second[k] != 0) yy += _second[k] * s;
                    if (_first[k] != 0)
                    {
                        yz += _first[k] * f;
                        xy += _first[k] * s;
                    }
                }
                (_alongY[0][i], _alongY[1][i], _alongY[2][i], _alongY[3][i], _alongY[4][i], _alongY[5][i]) = (zz, yy, xx, yz, xz, xy);
            }
        }

        /// <summary>Three x sums at pixel x of a row, of the y products first, first + 1 and first + 2 with the given kernels, each in kernel order.</summary>
        private (double, double, double) AlongX(int row, int x, int first, float[] kernelA, float[] kernelB, float[] kernelC)
        {
            var (a, b, c) = (_alongY[first], _alongY[first + 1], _alongY[first + 2]);
            float sumA = 0, sumB = 0, sumC = 0;
            var radius = kernelA.Length / 2;
            if (x >= radius && x + radius < _width)
            {
                var start = row + x - radius;
                for (var k = 0; k < kernelA.Length; k++)
                {
                    sumA += kernelA[k] * a[start + k];
                    sumB += kernelB[k] * b[start + k];
                    sumC += kernelC[k] * c[start + k];
                }
            }
            else
                for (var k = 0; k < kernelA.Length; k++)
                {
                    var j = row + _xSources[x + k];
                    sumA += kernelA[k] * a[j];
                    sumB += kernelB[k] * b[j];
                    sumC += kernelC[k] * c[j];
                }
            return (sumA, sumB, sumC);
        }
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
