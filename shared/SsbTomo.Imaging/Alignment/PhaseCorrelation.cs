using Complex = System.Numerics.Complex;

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
    public static RegistrationResult Estimate(Image2D<float> reference, Image2D<float> moving, int upsampleFactor = 20, int maxSizePx = DefaultMaxSizePx, bool polish = true)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(moving);
        if (reference.Height != moving.Height || reference.Width != moving.Width)
            throw new ArgumentException($"images differ in size: reference {reference.Height}x{reference.Width}, moving {moving.Height}x{moving.Width}", nameof(moving));
        var r = Spectrum.Of(reference, maxSizePx);
        var m = Spectrum.Of(moving, maxSizePx);
        return Estimate(r, m, upsampleFactor, polish);
    }

    /// <summary>Registers two prepared spectra (same crop size); used by <see cref="DriftEstimator"/> to reuse FFTs.</summary>
    internal static RegistrationResult Estimate(Spectrum reference, Spectrum moving, int upsampleFactor, bool polish)
    {
        var spectral = EstimateSpectral(reference, moving, upsampleFactor);
        if (!polish) return spectral;
        var refined = Polish(reference, moving, spectral.Shift);
        return spectral with { Shift = refined };
    }

    private static RegistrationResult EstimateSpectral(Spectrum reference, Spectrum moving, int upsampleFactor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(upsampleFactor, 1);
        if (reference.Crop.Height != moving.Crop.Height || reference.Crop.Width != moving.Crop.Width)
            throw new ArgumentException("spectra differ in size", nameof(moving));
        int h = reference.Height, w = reference.Width;
        var product = CrossPowerSpectrum(reference.Data, moving.Data);
        var correlation = (Complex[])product.Clone();
        Fft2D.Inverse(correlation, h, w);
        var (peakY, peakX) = ArgMaxReal(correlation, w);
        double dy = peakY > h / 2 ? peakY - h : peakY;
        double dx = peakX > w / 2 ? peakX - w : peakX;
        double peak = correlation[peakY * w + peakX].Real;
        if (upsampleFactor == 1)
            return new RegistrationResult(new Shift2D(dy, dx), peak);
        return Refine(product, h, w, dy, dx, upsampleFactor);
    }

    /// <summary>conj(F_ref) * F_mov / |.|: its inverse FFT peaks at the shift in our convention.</summary>
    /// <summary>
    /// conj(F_ref) F_mov / (|conj(F_ref) F_mov| + eps): its inverse FFT peaks at the shift in our convention.
    /// Pure phase normalisation (eps = 0) gives noise-only frequencies the same weight as the signal and fails on
    /// noisy, blurred SEM images; eps = 10x the mean magnitude whitens strong (signal) frequencies and leaves weak
    /// (noise) frequencies down-weighted, as plain cross-correlation would.
    /// </summary>
    private static Complex[] CrossPowerSpectrum(Complex[] reference, Complex[] moving)
    {
        var product = new Complex[reference.Length];
        double sum = 0;
        for (int i = 0; i < product.Length; i++)
        {
            product[i] = Complex.Conjugate(reference[i]) * moving[i];
            sum += product[i].Magnitude;
        }
        double eps = RegularisationFraction * sum / product.Length + double.Epsilon;
        double norm = 0;
        for (int i = 0; i < product.Length; i++)
        {
            double m = product[i].Magnitude;
            product[i] /= m + eps;
            norm += m / (m + eps);
        }
        // Scale so that identical images give a peak of 1.
        double scale = product.Length / norm;
        for (int i = 0; i < product.Length; i++) product[i] *= scale;
        return product;
    }

    private const double RegularisationFraction = 10.0;

    private static (int Y, int X) ArgMaxReal(Complex[] data, int width)
    {
        int best = 0;
        double bestValue = double.NegativeInfinity;
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i].Real > bestValue)
            {
                bestValue = data[i].Real;
                best = i;
            }
        }
        return (best / width, best % width);
    }

    /// <summary>
    /// Evaluates the inverse DFT of <paramref name="product"/> on an n x n grid of spacing 1/upsample centred on
    /// (dy, dx), as two small matrix products (kernelY * product * kernelX^T), then fits a parabola through the
    /// best grid point and its neighbours along each axis.
    /// </summary>
    private static RegistrationResult Refine(Complex[] product, int h, int w, double dy, double dx, int upsampleFactor)
    {
        int n = (int)Math.Ceiling(upsampleFactor * 1.5);
        int centre = n / 2;
        // Round the coarse estimate to the upsampled grid (it is integer already, kept general).
        dy = Math.Round(dy * upsampleFactor) / upsampleFactor;
        dx = Math.Round(dx * upsampleFactor) / upsampleFactor;
        var (kxRe, kxIm) = Kernel(w, n, dx, centre, upsampleFactor);
        var (kyRe, kyIm) = Kernel(h, n, dy, centre, upsampleFactor);

        // tmp[ky, c] = sum_kx product[ky, kx] * kernelX[c, kx]
        var tmpRe = new double[h * n];
        var tmpIm = new double[h * n];
        Parallel.For(0, h, ky =>
        {
            int rowBase = ky * w;
            for (int c = 0; c < n; c++)
            {
                double sr = 0, si = 0;
                int kBase = c * w;
                for (int kx = 0; kx < w; kx++)
                {
                    var p = product[rowBase + kx];
                    double er = kxRe[kBase + kx], ei = kxIm[kBase + kx];
                    sr += p.Real * er - p.Imaginary * ei;
                    si += p.Real * ei + p.Imaginary * er;
                }
                tmpRe[ky * n + c] = sr;
                tmpIm[ky * n + c] = si;
            }
        });
        // out[r, c] = real( sum_ky kernelY[r, ky] * tmp[ky, c] ) / (h*w)
        var output = new double[n * n];
        for (int r = 0; r < n; r++)
        {
            int kBase = r * h;
            for (int c = 0; c < n; c++)
            {
                double sr = 0;
                for (int ky = 0; ky < h; ky++)
                    sr += kyRe[kBase + ky] * tmpRe[ky * n + c] - kyIm[kBase + ky] * tmpIm[ky * n + c];
                output[r * n + c] = sr / ((double)h * w);
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

    /// <summary>
    /// Inverse-compositional Gauss-Newton refinement of a translation on the crops: minimises
    /// sum over the overlap of (moving(p + s) - mean - (reference(p) - mean))^2. Returns the start if it diverges
    /// (moves more than 1 px) or the overlap is too small.
    /// </summary>
    private static Shift2D Polish(Spectrum reference, Spectrum moving, Shift2D start)
    {
        var r = reference.PolishCrop;
        var movingCrop = moving.PolishCrop;
        int h = r.Height, w = r.Width;
        var gy = new float[h * w];
        var gx = new float[h * w];
        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
            {
                gy[y * w + x] = 0.5f * (r[y + 1, x] - r[y - 1, x]);
                gx[y * w + x] = 0.5f * (r[y, x + 1] - r[y, x - 1]);
            }
        var shift = start;
        var resampled = new Image2D<float>(h, w);
        for (int iteration = 0; iteration < 6; iteration++)
        {
            SubpixelShift.Apply(movingCrop, shift, resampled);
            double sa = 0, sr = 0;
            long count = 0;
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++)
                {
                    float a = resampled[y, x], b = r[y, x];
                    if (!float.IsFinite(a) || !float.IsFinite(b)) continue;
                    sa += a; sr += b; count++;
                }
            if (count < 64) return start;
            float ma = (float)(sa / count), mr = (float)(sr / count);
            double hyy = 0, hyx = 0, hxx = 0, by = 0, bx = 0;
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++)
                {
                    int i = y * w + x;
                    float a = resampled.Pixels[i], b = r.Pixels[i];
                    if (!float.IsFinite(a) || !float.IsFinite(b)) continue;
                    double e = (a - ma) - (b - mr);
                    double dy = gy[i], dx = gx[i];
                    hyy += dy * dy; hyx += dy * dx; hxx += dx * dx;
                    by += dy * e; bx += dx * e;
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

    /// <summary>kernel[j, k] = exp(+2 pi i f(k) (centreShift + (j - centre)/upsample) / length), f = signed FFT frequency.</summary>
    private static (double[] Re, double[] Im) Kernel(int length, int n, double centreShift, int centre, int upsampleFactor)
    {
        var re = new double[n * length];
        var im = new double[n * length];
        for (int j = 0; j < n; j++)
        {
            double position = centreShift + (double)(j - centre) / upsampleFactor;
            for (int k = 0; k < length; k++)
            {
                int f = k < (length + 1) / 2 ? k : k - length;
                double angle = 2 * Math.PI * f * position / length;
                re[j * length + k] = Math.Cos(angle);
                im[j * length + k] = Math.Sin(angle);
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

/// <summary>The FFT of a centred, mean-free, Tukey-windowed crop of one image.</summary>
internal sealed class Spectrum
{
    private Spectrum(Image2D<float> crop, Complex[] data, int paddedHeight, int paddedWidth)
    {
        Crop = crop;
        PolishCrop = CentredCrop(crop, PolishSizePx);
        Height = paddedHeight;
        Width = paddedWidth;
        Data = data;
    }

    public int Height { get; }
    public int Width { get; }
    public Complex[] Data { get; }

    /// <summary>The unwindowed centred crop, lightly smoothed ([1 2 1]/4 each way, symmetric so unbiased), for the spatial refinement.</summary>
    public Image2D<float> Crop { get; }

    /// <summary>The centred part (at most <see cref="PolishSizePx"/> square) of <see cref="Crop"/> used by the spatial refinement.</summary>
    public Image2D<float> PolishCrop { get; }

    public const int PolishSizePx = 512;

    public static Spectrum Of(Image2D<float> image, int maxSizePx)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSizePx, 8);
        int h = Math.Min(image.Height, maxSizePx), w = Math.Min(image.Width, maxSizePx);
        if (h < 8 || w < 8)
            throw new ArgumentException($"image {image.Height}x{image.Width} is too small to register (needs at least 8x8)", nameof(image));
        int y0 = (image.Height - h) / 2, x0 = (image.Width - w) / 2;
        double sum = 0;
        long count = 0;
        for (int y = 0; y < h; y++)
        {
            var row = image.Row(y0 + y).Slice(x0, w);
            foreach (float v in row)
            {
                if (float.IsFinite(v)) { sum += v; count++; }
            }
        }
        float mean = count > 0 ? (float)(sum / count) : 0f;
        var windowY = Tukey(h, TukeyAlpha);
        var windowX = Tukey(w, TukeyAlpha);
        // Zero-pad to powers of two: the windowed crop is zero at its edges, so padding changes nothing but speed.
        int ph = Fft2D.NextPowerOfTwo(h), pw = Fft2D.NextPowerOfTwo(w);
        var data = new Complex[ph * pw];
        var crop = new Image2D<float>(h, w);
        Parallel.For(0, h, y =>
        {
            var row = image.Row(y0 + y).Slice(x0, w);
            row.CopyTo(crop.Row(y));
            float wy = windowY[y];
            int b = y * pw;
            for (int x = 0; x < w; x++)
            {
                float v = row[x];
                data[b + x] = new Complex(float.IsFinite(v) ? (v - mean) * wy * windowX[x] : 0.0, 0.0);
            }
        });
        Fft2D.Forward(data, ph, pw);
        return new Spectrum(Smooth(crop), data, ph, pw);
    }

    private const double TukeyAlpha = 0.5;

    private static Image2D<float> CentredCrop(Image2D<float> image, int maxSizePx)
    {
        if (image.Height <= maxSizePx && image.Width <= maxSizePx) return image;
        int h = Math.Min(image.Height, maxSizePx), w = Math.Min(image.Width, maxSizePx);
        int y0 = (image.Height - h) / 2, x0 = (image.Width - w) / 2;
        var crop = new Image2D<float>(h, w);
        for (int y = 0; y < h; y++) image.Row(y0 + y).Slice(x0, w).CopyTo(crop.Row(y));
        return crop;
    }

    private static Image2D<float> Smooth(Image2D<float> image)
    {
        int h = image.Height, w = image.Width;
        var tmp = new float[h * w];
        var src = image.Pixels;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int l = Math.Max(x - 1, 0), r = Math.Min(x + 1, w - 1);
                tmp[y * w + x] = 0.25f * src[y * w + l] + 0.5f * src[y * w + x] + 0.25f * src[y * w + r];
            }
        var result = new Image2D<float>(h, w);
        for (int y = 0; y < h; y++)
        {
            int u = Math.Max(y - 1, 0), d = Math.Min(y + 1, h - 1);
            for (int x = 0; x < w; x++)
                result.Pixels[y * w + x] = 0.25f * tmp[u * w + x] + 0.5f * tmp[y * w + x] + 0.25f * tmp[d * w + x];
        }
        return result;
    }

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
