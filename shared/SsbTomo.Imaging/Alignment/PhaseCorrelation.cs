using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Translation between two images by phase correlation with sub-pixel refinement by matrix-multiply DFT
/// upsampling around the peak (Guizar-Sicairos, Thurman &amp; Fienup, Opt. Lett. 33, 156 (2008); the method
/// of scikit-image's <c>phase_cross_correlation</c>). Sign convention: a feature at p in the reference lies at
/// p + Shift in the moving image (scikit-image returns the negative of this).
/// </summary>
public static class PhaseCorrelation
{
    /// <summary>Default edge length of the centred crop that is registered; 1024 keeps FFTs radix-2 and fast.</summary>
    public const int DefaultMaxSizePx = 1024;

    /// <summary>
    /// Estimates the shift of <paramref name="moving"/> relative to <paramref name="reference"/>.
    /// Only the centred crop of at most <paramref name="maxSizePx"/> x <paramref name="maxSizePx"/> is used
    /// (the same crop in both), so shifts must stay below half the crop. Each crop has its mean removed and
    /// a separable Tukey window (alpha 0.5) applied against edge wrap-around.
    /// Resolution of the refinement is 1/<paramref name="upsampleFactor"/> px, improved further by a
    /// 3-point parabola fit on the upsampled peak. The window biases that estimate towards zero by up to ~0.1 px,
    /// so by default (<paramref name="polish"/>) it is then refined by Gauss-Newton least squares on the pixels
    /// themselves (cubic B-spline resampling, unwindowed overlap, means removed), which is unbiased.
    /// </summary>
    /// <param name="maxThreads">Threads the registration may use (<see cref="KernelThreads"/>); the result is the same for any.</param>
    public static RegistrationResult Estimate(Image2D<float> reference, Image2D<float> moving, int upsampleFactor = 20, int maxSizePx = DefaultMaxSizePx, bool polish = true,
        int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(moving);
        KernelThreads.Check(maxThreads);
        if (reference.Height != moving.Height || reference.Width != moving.Width)
            throw new ArgumentException($"images differ in size: reference {reference.Height}x{reference.Width}, moving {moving.Height}x{moving.Width}", nameof(moving));
        if (!KernelThreads.AllowsMany(maxThreads))
            return Estimate(Spectrum.Of(reference, maxSizePx, maxThreads), Spectrum.Of(moving, maxSizePx, maxThreads), upsampleFactor, polish, maxThreads);
        // The two transforms are independent and run side by side. With two threads that alone keeps both busy, so each
        // runs on one thread: no per-loop barriers, which cost most when other processes compete for the cores.
        // GetResult (not Wait or Parallel.Invoke) so a size error surfaces as the ArgumentException itself.
        int threads = maxThreads == KernelThreads.All ? Environment.ProcessorCount : maxThreads;
        int inside = threads > 2 ? maxThreads : 1;
        var referenceSpectrum = Task.Run(() => Spectrum.Of(reference, maxSizePx, inside));
        var m = Spectrum.Of(moving, maxSizePx, inside);
        var r = referenceSpectrum.GetAwaiter().GetResult();
        return Estimate(r, m, upsampleFactor, polish, maxThreads);
    }

    /// <summary>Registers two prepared spectra (same crop size); used by <see cref="DriftEstimator"/> to reuse FFTs.</summary>
    internal static RegistrationResult Estimate(Spectrum reference, Spectrum moving, int upsampleFactor, bool polish, int maxThreads = KernelThreads.All)
    {
        var spectral = EstimateSpectral(reference, moving, upsampleFactor, maxThreads);
        if (!polish) return spectral;
        var refined = Polish(reference, moving, spectral.Shift, maxThreads);
        return spectral with { Shift = refined };
    }

    private static RegistrationResult EstimateSpectral(Spectrum reference, Spectrum moving, int upsampleFactor, int maxThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(upsampleFactor, 1);
        if (reference.Crop.Height != moving.Crop.Height || reference.Crop.Width != moving.Crop.Width)
            throw new ArgumentException("spectra differ in size", nameof(moving));
        int h = reference.Height, w = reference.Width;
        int halfLength = h * reference.HalfWidth;
        // Work arrays come from the large-array pool: registering a stack reuses them instead of faulting in ~25 MB of
        // fresh memory per pair.
        var pool = LargeArrayPool<double>.Shared;
        var productRe = pool.Rent(halfLength);
        var productIm = pool.Rent(halfLength);
        var workRe = pool.Rent(halfLength);
        var workIm = pool.Rent(halfLength);
        var correlation = pool.Rent(h * w);
        try
        {
            // workRe holds the magnitudes between the two passes of the normalisation, before the inverse needs it.
            double scale = CrossPowerSpectrum(reference, moving, productRe, productIm, workRe, maxThreads);
            // A flat crop (blank or saturated frame) has no spectrum: nothing to match, no shift measured.
            if (!double.IsFinite(scale)) return new RegistrationResult(Shift2D.Zero, 0, 0);
            Fft2D.InverseReal(h, w, productRe, productIm, workRe, workIm, correlation, maxThreads);
            var (peakY, peakX) = ArgMax(correlation, h, w);
            double dy = peakY > h / 2 ? peakY - h : peakY;
            double dx = peakX > w / 2 ? peakX - w : peakX;
            // The inverse is unscaled (h*w times the inverse DFT) and the product not yet multiplied by scale.
            double peak = correlation[peakY * w + peakX] * scale / ((double)h * w);
            double ratio = PeakToRival(correlation, h, w, peakY, peakX);
            if (upsampleFactor == 1)
                return new RegistrationResult(new Shift2D(dy, dx), peak, ratio);
            return Refine(productRe, productIm, scale, h, w, dy, dx, upsampleFactor, maxThreads) with { PeakRatio = ratio };
        }
        finally
        {
            pool.Return(productRe);
            pool.Return(productIm);
            pool.Return(workRe);
            pool.Return(workIm);
            pool.Return(correlation);
        }
    }

    /// <summary>
    /// conj(F_ref) F_mov / (|conj(F_ref) F_mov| + eps) into (<paramref name="productRe"/>, <paramref name="productIm"/>),
    /// as a half spectrum: its inverse FFT peaks at the shift in our convention. Returns the factor (applied by the
    /// callers to the few values they use, not to the whole array) that makes identical images peak at 1.
    /// Pure phase normalisation (eps = 0) gives noise-only frequencies the same weight as the signal and fails on
    /// noisy, blurred SEM images; eps = 10x the mean magnitude whitens strong (signal) frequencies and leaves weak
    /// (noise) frequencies down-weighted, as plain cross-correlation would.
    /// Means and sums are over the full spectrum: columns 1..width/2-1 of the half spectrum stand for two frequencies each.
    /// </summary>
    private static double CrossPowerSpectrum(Spectrum reference, Spectrum moving, double[] productRe, double[] productIm, double[] magnitudes, int maxThreads)
    {
        int h = reference.Height, halfWidth = reference.HalfWidth, last = halfWidth - 1;
        var rowSums = new double[h];
        KernelThreads.For(0, h, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y) =>
        {
            int start = y * halfWidth;
            var rRe = reference.Re.AsSpan(start, halfWidth);
            var rIm = reference.Im.AsSpan(start, halfWidth);
            var mRe = moving.Re.AsSpan(start, halfWidth);
            var mIm = moving.Im.AsSpan(start, halfWidth);
            var pRe = productRe.AsSpan(start, halfWidth);
            var pIm = productIm.AsSpan(start, halfWidth);
            var pAbs = magnitudes.AsSpan(start, halfWidth);
            double edges = 0, interior = 0;
            for (int k = 0; k < halfWidth; k++)
            {
                double re = rRe[k] * mRe[k] + rIm[k] * mIm[k];
                double im = rRe[k] * mIm[k] - rIm[k] * mRe[k];
                pRe[k] = re;
                pIm[k] = im;
                double magnitude = Math.Sqrt(re * re + im * im);
                pAbs[k] = magnitude;
                if (k == 0 || k == last) edges += magnitude;
                else interior += magnitude;
            }
            rowSums[y] = edges + 2 * interior;
        });
        int fullLength = h * reference.Width;
        double eps = RegularisationFraction * SumInOrder(rowSums) / fullLength + double.Epsilon;
        KernelThreads.For(0, h, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y) =>
        {
            var pRe = productRe.AsSpan(y * halfWidth, halfWidth);
            var pIm = productIm.AsSpan(y * halfWidth, halfWidth);
            var pAbs = magnitudes.AsSpan(y * halfWidth, halfWidth);
            double edges = 0, interior = 0;
            for (int k = 0; k < halfWidth; k++)
            {
                double inverse = 1 / (pAbs[k] + eps);
                pRe[k] *= inverse;
                pIm[k] *= inverse;
                if (k == 0 || k == last) edges += pAbs[k] * inverse;
                else interior += pAbs[k] * inverse;
            }
            rowSums[y] = edges + 2 * interior;
        });
        return fullLength / SumInOrder(rowSums);
    }

    /// <summary>Sum in index order, so parallel per-row partial sums give the same total on every run.</summary>
    private static double SumInOrder(double[] values)
    {
        double sum = 0;
        foreach (double v in values) sum += v;
        return sum;
    }

    private const double RegularisationFraction = 10.0;

    /// <summary>Half-width of the square around the peak that belongs to it when looking for its rival.</summary>
    internal const int RivalExclusionPx = 8;

    /// <summary>
    /// The correlation peak over the highest value outside the (2·<see cref="RivalExclusionPx"/>+1)² square around it
    /// (periodically); 0 when the peak is not positive. The peak-to-second-peak ratio is the usual confidence of a
    /// correlation match (e.g. Keane &amp; Adrian 1992, Meas. Sci. Technol. 3, 1202, for PIV): two images that share a
    /// shifted structure give one peak that stands out, unrelated images (noise, another field) give a floor of peaks
    /// of similar height.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double PeakToRival(double[] data, int height, int width, int peakY, int peakX)
    {
        double peak = data[peakY * width + peakX];
        if (!(peak > 0)) return 0;
        double rival = double.NegativeInfinity;
        for (int y = 0; y < height; y++)
        {
            int ry = Math.Abs(y - peakY);
            bool nearRow = Math.Min(ry, height - ry) <= RivalExclusionPx;
            var row = data.AsSpan(y * width, width);
            for (int x = 0; x < width; x++)
            {
                if (nearRow)
                {
                    int rx = Math.Abs(x - peakX);
                    if (Math.Min(rx, width - rx) <= RivalExclusionPx) continue;
                }
                if (row[x] > rival) rival = row[x];
            }
        }
        return rival > 0 ? peak / rival : double.PositiveInfinity;
    }

    /// <summary>
    /// Position of the largest value (the first one in row-major order on ties). One thread: it is a single cheap
    /// sweep, and every parallel loop ends in a barrier that stalls when another process holds a core.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int Y, int X) ArgMax(double[] data, int height, int width)
    {
        int best = 0;
        var values = data.AsSpan(0, height * width);
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return (best / width, best % width);
    }

    /// <summary>
    /// Evaluates the inverse DFT of the cross-power spectrum on an n x n grid of spacing 1/upsample centred on
    /// (dy, dx), as two small matrix products (kernelY * product * kernelX^T), then fits a parabola through the
    /// best grid point and its neighbours along each axis.
    /// The product is a half spectrum; the missing columns are conjugates of stored ones, and so are their kernel
    /// values, so the first (large) product runs over half the frequencies: with
    /// A[ky, c] = sum over kx = 1..w/2-1 of P[ky, kx] K[c, kx], the full sum over kx is
    /// P[ky, 0] + A[ky, c] + conj(A[-ky, c]) + P[ky, w/2] K[c, w/2].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static RegistrationResult Refine(double[] productRe, double[] productIm, double scale, int h, int w, double dy, double dx, int upsampleFactor, int maxThreads)
    {
        int n = (int)Math.Ceiling(upsampleFactor * 1.5);
        int centre = n / 2;
        int halfWidth = Fft2D.HalfWidth(w), nyquist = halfWidth - 1;
        // Round the coarse estimate to the upsampled grid (it is integer already, kept general).
        dy = Math.Round(dy * upsampleFactor) / upsampleFactor;
        dx = Math.Round(dx * upsampleFactor) / upsampleFactor;
        var (kxRe, kxIm) = Kernel(w, halfWidth, n, dx, centre, upsampleFactor);
        var (kyRe, kyIm) = Kernel(h, h, n, dy, centre, upsampleFactor);

        // half[ky, c] = sum over kx = 1..w/2-1 of product[ky, kx] * kernelX[c, kx]
        var halfRe = new double[h * n];
        var halfIm = new double[h * n];
        int interior = nyquist - 1;
        KernelThreads.For(0, h, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (ky) =>
        {
            var pRe = productRe.AsSpan(ky * halfWidth + 1, interior);
            var pIm = productIm.AsSpan(ky * halfWidth + 1, interior);
            for (int c = 0; c < n; c++)
            {
                var (sr, si) = ComplexDot(pRe, pIm, kxRe.AsSpan(c * halfWidth + 1, interior), kxIm.AsSpan(c * halfWidth + 1, interior));
                halfRe[ky * n + c] = sr;
                halfIm[ky * n + c] = si;
            }
        });
        // tmp[c, ky] = sum over all kx of product[ky, kx] * kernelX[c, kx], stored by c so the next sum runs along memory.
        var tmpRe = new double[n * h];
        var tmpIm = new double[n * h];
        for (int ky = 0; ky < h; ky++)
        {
            int mirror = (h - ky) & (h - 1);
            double p0r = productRe[ky * halfWidth], p0i = productIm[ky * halfWidth];
            double pnr = productRe[ky * halfWidth + nyquist], pni = productIm[ky * halfWidth + nyquist];
            for (int c = 0; c < n; c++)
            {
                double knr = kxRe[c * halfWidth + nyquist], kni = kxIm[c * halfWidth + nyquist];
                tmpRe[c * h + ky] = p0r + halfRe[ky * n + c] + halfRe[mirror * n + c] + (pnr * knr - pni * kni);
                tmpIm[c * h + ky] = p0i + halfIm[ky * n + c] - halfIm[mirror * n + c] + (pnr * kni + pni * knr);
            }
        }
        // out[r, c] = real( sum_ky kernelY[r, ky] * tmp[c, ky] ) * scale / (h*w)
        var output = new double[n * n];
        double factor = scale / ((double)h * w);
        // n*n*h (~1M) multiply-adds: one thread, not worth a barrier.
        for (int r = 0; r < n; r++)
        {
            var yRe = kyRe.AsSpan(r * h, h);
            var yIm = kyIm.AsSpan(r * h, h);
            for (int c = 0; c < n; c++)
            {
                var (sr, _) = ComplexDot(tmpRe.AsSpan(c * h, h), tmpIm.AsSpan(c * h, h), yRe, yIm);
                output[r * n + c] = sr * factor;
            }
        }
        int best = 0;
        for (int i = 1; i < output.Length; i++)
            if (output[i] > output[best]) best = i;
        int br = best / n, bc = best % n;
        double fy = br > 0 && br < n - 1 ? ParabolaVertex(output[best - n], output[best], output[best + n]) : 0;
        double fx = bc > 0 && bc < n - 1 ? ParabolaVertex(output[best - 1], output[best], output[best + 1]) : 0;
        var shift = new Shift2D(dy + (br - centre + fy) / upsampleFactor, dx + (bc - centre + fx) / upsampleFactor);
        return new RegistrationResult(shift, output[best]);
    }

    /// <summary>sum_k a[k] * b[k] for complex vectors stored as separate real and imaginary parts, with SIMD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double Re, double Im) ComplexDot(ReadOnlySpan<double> aRe, ReadOnlySpan<double> aIm, ReadOnlySpan<double> bRe, ReadOnlySpan<double> bIm)
    {
        int length = aRe.Length, width = Vector<double>.Count, k = 0;
        var sumRe = Vector<double>.Zero;
        var sumIm = Vector<double>.Zero;
        for (; k <= length - width; k += width)
        {
            var ar = new Vector<double>(aRe.Slice(k, width));
            var ai = new Vector<double>(aIm.Slice(k, width));
            var br = new Vector<double>(bRe.Slice(k, width));
            var bi = new Vector<double>(bIm.Slice(k, width));
            sumRe += ar * br - ai * bi;
            sumIm += ar * bi + ai * br;
        }
        double re = Vector.Sum(sumRe), im = Vector.Sum(sumIm);
        for (; k < length; k++)
        {
            re += aRe[k] * bRe[k] - aIm[k] * bIm[k];
            im += aRe[k] * bIm[k] + aIm[k] * bRe[k];
        }
        return (re, im);
    }

    /// <summary>
    /// Inverse-compositional Gauss-Newton refinement of a translation on the crops: minimises
    /// sum over the overlap of (moving(p + s) - mean - (reference(p) - mean))^2. Returns the start if it diverges
    /// (moves more than 1 px) or the overlap is too small.
    /// </summary>
    private static Shift2D Polish(Spectrum reference, Spectrum moving, Shift2D start, int maxThreads)
    {
        var r = reference.PolishCrop;
        var movingCrop = moving.PolishCrop;
        int h = r.Height, w = r.Width;
        var gy = new float[h * w];
        var gx = new float[h * w];
        KernelThreads.For(1, h - 1, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y) =>
        {
            for (int x = 1; x < w - 1; x++)
            {
                gy[y * w + x] = 0.5f * (r[y + 1, x] - r[y - 1, x]);
                gx[y * w + x] = 0.5f * (r[y, x + 1] - r[y, x - 1]);
            }
        });
        var shift = start;
        var resampled = new Image2D<float>(h, w);
        // Per-row partial sums, added in row order afterwards: parallel, and the same result on every run.
        var rowMeans = new double[h * 3];
        var rowNormal = new double[h * 5];
        for (int iteration = 0; iteration < 6; iteration++)
        {
            SubpixelShift.Apply(movingCrop, shift, resampled, maxThreads);
            KernelThreads.For(1, h - 1, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y) =>
            {
                double rowA = 0, rowR = 0;
                int rowCount = 0;
                for (int x = 1; x < w - 1; x++)
                {
                    float a = resampled[y, x], b = r[y, x];
                    if (!float.IsFinite(a) || !float.IsFinite(b)) continue;
                    rowA += a; rowR += b; rowCount++;
                }
                rowMeans[3 * y] = rowA;
                rowMeans[3 * y + 1] = rowR;
                rowMeans[3 * y + 2] = rowCount;
            });
            double sa = 0, sr = 0;
            long count = 0;
            for (int y = 1; y < h - 1; y++)
            {
                sa += rowMeans[3 * y]; sr += rowMeans[3 * y + 1]; count += (long)rowMeans[3 * y + 2];
            }
            if (count < 64) return start;
            float ma = (float)(sa / count), mr = (float)(sr / count);
            KernelThreads.For(1, h - 1, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y) =>
            {
                double syy = 0, syx = 0, sxx = 0, sy = 0, sx = 0;
                for (int x = 1; x < w - 1; x++)
                {
                    int i = y * w + x;
                    float a = resampled.Pixels[i], b = r.Pixels[i];
                    if (!float.IsFinite(a) || !float.IsFinite(b)) continue;
                    double e = (a - ma) - (b - mr);
                    double dy = gy[i], dx = gx[i];
                    syy += dy * dy; syx += dy * dx; sxx += dx * dx;
                    sy += dy * e; sx += dx * e;
                }
                rowNormal[5 * y] = syy; rowNormal[5 * y + 1] = syx; rowNormal[5 * y + 2] = sxx;
                rowNormal[5 * y + 3] = sy; rowNormal[5 * y + 4] = sx;
            });
            double hyy = 0, hyx = 0, hxx = 0, by = 0, bx = 0;
            for (int y = 1; y < h - 1; y++)
            {
                hyy += rowNormal[5 * y]; hyx += rowNormal[5 * y + 1]; hxx += rowNormal[5 * y + 2];
                by += rowNormal[5 * y + 3]; bx += rowNormal[5 * y + 4];
            }
            double det = hyy * hxx - hyx * hyx;
            if (!(det > 0)) return start;
            double stepY = -(hxx * by - hyx * bx) / det;
            double stepX = -(hyy * bx - hyx * by) / det;
            shift += new Shift2D(stepY, stepX);
            if ((shift - start).Length > 1.0) return start;
            if (Math.Abs(stepY) + Math.Abs(stepX) < 1e-3) break;
        }
        return shift;
    }

    /// <summary>
    /// kernel[j, k] = exp(+2 pi i f(k) (centreShift + (j - centre)/upsample) / length) for k &lt; <paramref name="stored"/>,
    /// f = signed FFT frequency. Frequencies f and -f give conjugate values (the angle only changes sign), so each
    /// sine and cosine is computed once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double[] Re, double[] Im) Kernel(int length, int stored, int n, double centreShift, int centre, int upsampleFactor)
    {
        var re = new double[n * stored];
        var im = new double[n * stored];
        int positive = (length + 1) / 2;
        // At most n * length / 2 sines and cosines (~15k): one thread, not worth a barrier.
        for (int j = 0; j < n; j++)
        {
            double position = centreShift + (double)(j - centre) / upsampleFactor;
            var rowRe = re.AsSpan(j * stored, stored);
            var rowIm = im.AsSpan(j * stored, stored);
            for (int k = 0; k < Math.Min(positive, stored); k++)
            {
                var (sin, cos) = Math.SinCos(2 * Math.PI * k * position / length);
                rowRe[k] = cos;
                rowIm[k] = sin;
            }
            for (int k = positive; k < stored; k++)
            {
                int mirror = length - k;
                if (mirror < positive)
                {
                    rowRe[k] = rowRe[mirror];
                    rowIm[k] = -rowIm[mirror];
                }
                else
                {
                    // Nyquist (f = -length/2) has no stored positive partner.
                    var (sin, cos) = Math.SinCos(2 * Math.PI * (k - length) * position / length);
                    rowRe[k] = cos;
                    rowIm[k] = sin;
                }
            }
        }
        return (re, im);
    }

    /// <summary>Offset in [-0.5, 0.5] of the vertex of the parabola through (-1, a), (0, b), (1, c).</summary>
    private static double ParabolaVertex(double a, double b, double c)
    {
        double denominator = a - 2 * b + c;
        if (denominator >= 0) return 0;
        return Math.Clamp(0.5 * (a - c) / denominator, -0.5, 0.5);
    }
}

/// <summary>
/// The FFT of a centred, mean-free, Tukey-windowed crop of one image, zero-padded to powers of two, as the half
/// spectrum of a real image (<see cref="Fft2D.HalfWidth"/> columns; the rest are conjugates).
/// </summary>
internal sealed class Spectrum
{
    private Spectrum(Image2D<float> crop, Image2D<float> polishCrop, double[] re, double[] im, int paddedHeight, int paddedWidth)
    {
        Crop = crop;
        PolishCrop = polishCrop;
        Height = paddedHeight;
        Width = paddedWidth;
        HalfWidth = Fft2D.HalfWidth(paddedWidth);
        Re = re;
        Im = im;
    }

    /// <summary>Padded size of the transformed image.</summary>
    public int Height { get; }
    public int Width { get; }

    /// <summary>Stored frequencies per row, 0..Width/2.</summary>
    public int HalfWidth { get; }

    /// <summary>Real and imaginary parts, Height x HalfWidth, row-major.</summary>
    public double[] Re { get; }
    public double[] Im { get; }

    /// <summary>The unwindowed centred crop, lightly smoothed ([1 2 1]/4 each way, symmetric so unbiased), for the spatial refinement.</summary>
    public Image2D<float> Crop { get; }

    /// <summary>The centred part (at most <see cref="PolishSizePx"/> square) of <see cref="Crop"/> used by the spatial refinement.</summary>
    public Image2D<float> PolishCrop { get; }

    public const int PolishSizePx = 512;

    /// <param name="maxThreads">Threads the transform may use (<see cref="KernelThreads"/>); the spectrum is the same for any.</param>
    public static Spectrum Of(Image2D<float> image, int maxSizePx, int maxThreads = KernelThreads.All) => Of(image, maxSizePx, maxThreads, recycled: null);

    /// <summary>
    /// As above, written into the arrays of <paramref name="recycled"/> where they have this spectrum's shapes (a spectrum
    /// no longer in use: <see cref="PairwiseRegistration"/> passes the one it has just let go of); the same numbers as a
    /// fresh one. Why: a slice-sized array the collector hands back to the kernel costs a page fault per 4 KiB page
    /// when it is touched again, ~15 µs each on a virtual machine with shadow page tables. With the band image's arrays
    /// recycled the same way, a registered 1536x2048 slice faults 717 times instead of 4218 and takes 180 instead of
    /// 227 CPU-ms (`-- alignment --size 24,1536,2048 --no-peer`), and a 1-Gvoxel run's alignment stage 0.60 M faults
    /// instead of 1.09 M (`ssbtomo run --profile`).
    /// </summary>
    public static Spectrum Of(Image2D<float> image, int maxSizePx, int maxThreads, Spectrum? recycled)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSizePx, 8);
        int h = Math.Min(image.Height, maxSizePx), w = Math.Min(image.Width, maxSizePx);
        if (h < 8 || w < 8)
            throw new ArgumentException($"image {image.Height}x{image.Width} is too small to register (needs at least 8x8)", nameof(image));
        int y0 = (image.Height - h) / 2, x0 = (image.Width - w) / 2;
        var rowSums = new double[h];
        var rowCounts = new int[h];
        KernelThreads.For(0, h, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y) =>
        {
            double sum = 0;
            int count = 0;
            foreach (float v in image.Row(y0 + y).Slice(x0, w))
            {
                if (float.IsFinite(v)) { sum += v; count++; }
            }
            rowSums[y] = sum;
            rowCounts[y] = count;
        });
        double total = 0;
        long finite = 0;
        for (int y = 0; y < h; y++) { total += rowSums[y]; finite += rowCounts[y]; }
        float mean = finite > 0 ? (float)(total / finite) : 0f;
        var windowY = Tukey(h, TukeyAlpha);
        var windowX = Tukey(w, TukeyAlpha);
        // Zero-pad to powers of two: the windowed crop is zero at its edges, so padding changes nothing but speed.
        int ph = Fft2D.NextPowerOfTwo(h), pw = Fft2D.NextPowerOfTwo(w);
        int halfLength = ph * Fft2D.HalfWidth(pw);
        var reuse = recycled is not null && recycled.Re.Length == halfLength && recycled.Crop.Height == h && recycled.Crop.Width == w;
        var re = reuse ? recycled!.Re : new double[halfLength];
        var im = reuse ? recycled!.Im : new double[halfLength];
        // The windowed crop is produced row by row inside the transform, never stored whole.
        Fft2D.ForwardReal(ph, pw, h, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y, row) =>
        {
            var source = image.Row(y0 + y).Slice(x0, w);
            float wy = windowY[y];
            for (int x = 0; x < w; x++)
            {
                float v = source[x];
                row[x] = float.IsFinite(v) ? (v - mean) * wy * windowX[x] : 0.0;
            }
            row[w..].Clear();
        }, re, im, maxThreads);
        var crop = SmoothedCrop(image, y0, x0, h, w, maxThreads, reuse ? recycled!.Crop : null);
        return new Spectrum(crop, CentredCrop(crop, PolishSizePx, reuse && !ReferenceEquals(recycled!.PolishCrop, recycled.Crop) ? recycled.PolishCrop : null),
            re, im, ph, pw);
    }

    private const double TukeyAlpha = 0.5;

    /// <param name="into">An image of the crop's size to write into (every pixel is written), or null for a new one.</param>
    private static Image2D<float> CentredCrop(Image2D<float> image, int maxSizePx, Image2D<float>? into = null)
    {
        if (image.Height <= maxSizePx && image.Width <= maxSizePx) return image;
        int h = Math.Min(image.Height, maxSizePx), w = Math.Min(image.Width, maxSizePx);
        int y0 = (image.Height - h) / 2, x0 = (image.Width - w) / 2;
        var crop = IntoOrNew(into, h, w);
        for (int y = 0; y < h; y++) image.Row(y0 + y).Slice(x0, w).CopyTo(crop.Row(y));
        return crop;
    }

    /// <summary>
    /// The h x w crop at (y0, x0) smoothed by [1 2 1]/4 along x then y, edges clamped to the crop (not the image),
    /// computed from the image directly; the horizontal pass goes through a pooled buffer.
    /// </summary>
    private static Image2D<float> SmoothedCrop(Image2D<float> image, int y0, int x0, int h, int w, int maxThreads, Image2D<float>? into)
    {
        var tmp = LargeArrayPool<float>.Shared.Rent(h * w);
        try
        {
            KernelThreads.For(0, h, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y) =>
            {
                var src = image.Row(y0 + y).Slice(x0, w);
                var dst = tmp.AsSpan(y * w, w);
                for (int x = 0; x < w; x++)
                {
                    int l = Math.Max(x - 1, 0), r = Math.Min(x + 1, w - 1);
                    dst[x] = 0.25f * src[l] + 0.5f * src[x] + 0.25f * src[r];
                }
            });
            var result = IntoOrNew(into, h, w);
            KernelThreads.For(0, h, maxThreads, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (y) =>
            {
                int u = Math.Max(y - 1, 0), d = Math.Min(y + 1, h - 1);
                var up = tmp.AsSpan(u * w, w);
                var mid = tmp.AsSpan(y * w, w);
                var down = tmp.AsSpan(d * w, w);
                var dst = result.Row(y);
                for (int x = 0; x < w; x++)
                    dst[x] = 0.25f * up[x] + 0.5f * mid[x] + 0.25f * down[x];
            });
            return result;
        }
        finally
        {
            LargeArrayPool<float>.Shared.Return(tmp);
        }
    }

    /// <summary><paramref name="into"/> when it is h x w (its pixels are all overwritten), else a new image.</summary>
    private static Image2D<float> IntoOrNew(Image2D<float>? into, int h, int w) =>
        into is not null && into.Height == h && into.Width == w ? into : new Image2D<float>(h, w);

    /// <summary>Tukey (tapered cosine) window: flat in the middle, cosine tapers over alpha/2 of each end.</summary>
    private static float[] Tukey(int n, double alpha)
    {
        var window = new float[n];
        double taper = alpha * (n - 1) / 2;
        for (int i = 0; i < n; i++)
        {
            double d = Math.Min(i, n - 1 - i);
            window[i] = d >= taper ? 1f : (float)(0.5 * (1 - Math.Cos(Math.PI * d / taper)));
        }
        return window;
    }
}
