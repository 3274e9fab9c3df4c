using System.Numerics;
using Matrix = MathNet.Numerics.LinearAlgebra.Matrix<double>;

namespace SsbTomo.Imaging.Alignment;

/// <summary>A robust intensity range of a slice: its low and high percentiles.</summary>
public readonly record struct IntensityRange(double Low, double High);

/// <summary>How a smooth background (charging gradient) combines with the image.</summary>
public enum BackgroundModel
{
    /// <summary>image = scene + background: the fit is subtracted (its mean added back).</summary>
    Subtract,
    /// <summary>image = scene * background: the image is divided by the fit (times its mean).</summary>
    Divide,
}

/// <summary>
/// A smooth background: a 2D polynomial of total degree <paramref name="Degree"/> in pixel coordinates normalised to
/// [-1, 1] (monomials u^p v^q ordered by total degree, then p descending), fitted on <paramref name="Blocks"/> matrix
/// blocks whose mean fitted value is <paramref name="Level"/>.
/// </summary>
public sealed record BackgroundFit(int Degree, double[] Coefficients, double Level, int Blocks);

/// <summary>Slice intensity corrections: charging gradients and slice-to-slice brightness drift.</summary>
public static class IntensityNormalization
{
    /// <summary>
    /// Removes a smooth background (a charging gradient): <see cref="FitBackground"/>, then
    /// <see cref="RemoveBackground"/>. A slice with too little matrix for any fit is copied unchanged.
    /// </summary>
    /// <param name="maxThreads">Threads the removal may use (<see cref="KernelThreads"/>); the pixels are the same for any.</param>
    public static Image2D<float> FlattenBackground(Image2D<float> image, int gridCells = 16, int polynomialDegree = 2, BackgroundModel model = BackgroundModel.Subtract, Image2D<float>? output = null,
        int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(image);
        KernelThreads.Check(maxThreads);
        var fit = FitBackground(image, gridCells, polynomialDegree);
        if (fit is not null) return RemoveBackground(image, fit, model, output, maxThreads);
        output ??= new Image2D<float>(image.Height, image.Width);
        CheckSize(image, output);
        image.Pixels.CopyTo(output.Pixels, 0);
        return output;
    }

    /// <summary>
    /// Fits a smooth background (a charging gradient). The background is sampled on the matrix phase only: the pixels
    /// of the histogram's dominant peak (<see cref="DominantPhaseBand"/>). A composite's matrix is one material, so its
    /// slow variation is the background, whereas block medians of all pixels follow the particles wherever a particle
    /// is larger than a block. The image is cut into gridCells x gridCells blocks; each block with at least a quarter
    /// of matrix pixels gives its matrix median as a sample, and a 2D polynomial of total degree
    /// <paramref name="maxDegree"/> is fitted to them by iteratively reweighted least squares (Tukey biweight, scale
    /// 1.4826 MAD; Holland &amp; Welsch 1977, Commun. Stat. Theory Methods 6, 813).
    /// <para>
    /// A slice with fewer matrix blocks than the polynomial has terms (6 for degree 2) gets the highest degree its
    /// blocks determine (a plane needs 3): a slice mostly covered by particles still has its gradient's slope removed.
    /// </para>
    /// <para>
    /// A large slice is read on every second row and column (<see cref="BackgroundSampleStep"/>): the band and the blocks'
    /// medians are statistics of thousands of pixels a block, which a quarter of them give as well.
    /// </para>
    /// </summary>
    /// <returns>The fit, or null when fewer than 3 blocks hold matrix (a degree-0 fit is a constant, which removes nothing).</returns>
    public static BackgroundFit? FitBackground(Image2D<float> image, int gridCells = 16, int maxDegree = 2) =>
        FitBackground(image, gridCells, maxDegree, sampleStep: 0);

    /// <summary>As the public overload; <paramref name="sampleStep"/> &gt; 0 fixes the rows' and columns' step (tests: every pixel against every fourth).</summary>
    internal static BackgroundFit? FitBackground(Image2D<float> image, int gridCells, int maxDegree, int sampleStep)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(gridCells, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(maxDegree);
        int cellsY = Math.Min(gridCells, image.Height), cellsX = Math.Min(gridCells, image.Width);
        var step = sampleStep > 0 ? sampleStep : BackgroundSampleStep(image.Height, image.Width, cellsY, cellsX);
        IntensityRange band;
        if (step == 1) band = DominantPhaseBand(image);
        else
        {
            var samples = LargeArrayPool<float>.Shared.Rent(((image.Height + step - 1) / step) * ((image.Width + step - 1) / step));
            try
            {
                band = DominantPhaseBand(samples.AsSpan(0, Decimate(image, step, samples)));
            }
            finally
            {
                LargeArrayPool<float>.Shared.Return(samples);
            }
        }
        var (u, v, z) = BlockMedians(image, cellsY, cellsX, band, step);
        for (var degree = maxDegree; degree >= Math.Min(1, maxDegree); degree--)
        {
            if (u.Count < Terms(degree)) continue;
            var coefficients = RobustPolynomialFit(u, v, z, degree);
            double level = 0;
            for (int i = 0; i < u.Count; i++) level += Evaluate(coefficients, degree, u[i], v[i]);
            return new BackgroundFit(degree, coefficients, level / u.Count, u.Count);
        }
        return null;
    }

    /// <summary>Removes a fitted background per <paramref name="model"/>, keeping the mean level of the fit.</summary>
    /// <param name="maxThreads">Threads the removal may use (<see cref="KernelThreads"/>); the pixels are the same for any.</param>
    public static Image2D<float> RemoveBackground(Image2D<float> image, BackgroundFit fit, BackgroundModel model = BackgroundModel.Subtract, Image2D<float>? output = null,
        int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(image);
        KernelThreads.Check(maxThreads);
        ArgumentNullException.ThrowIfNull(fit);
        int h = image.Height, w = image.Width;
        output ??= new Image2D<float>(h, w);
        CheckSize(image, output);
        var (degree, coefficients, level) = (fit.Degree, fit.Coefficients, fit.Level);
        if (coefficients.Length != Terms(degree))
            throw new ArgumentException($"a degree-{degree} fit has {Terms(degree)} coefficients, not {coefficients.Length}", nameof(fit));
        if (model == BackgroundModel.Divide && !(level > 0))
            throw new ArgumentException("background level is not positive; use BackgroundModel.Subtract", nameof(model));
        var src = image.Pixels;
        var dst = output.Pixels;
        var columns = new double[w];
        for (int x = 0; x < w; x++) columns[x] = Normalised(x, w);
        KernelThreads.For(0, h, maxThreads, () => new double[degree + 1], (y, inU) =>
        {
            // Collect the polynomial in u for this row: background = sum_p inU[p] u^p, evaluated by Horner.
            double vy = Normalised(y, h);
            Array.Clear(inU);
            int index = 0;
            for (int total = 0; total <= degree; total++)
                for (int q = 0; q <= total; q++, index++)
                    inU[total - q] += coefficients[index] * Math.Pow(vy, q);
            RemoveRow(src.AsSpan(y * w, w), dst.AsSpan(y * w, w), columns, inU, level, model);
        });
        return output;
    }

    /// <summary>
    /// One row of <see cref="RemoveBackground"/>: background(u) by Horner in double, then (float)(pixel - background +
    /// level) or (float)(pixel * level / background). SIMD lanes widen, compute and round as the scalar expression does,
    /// so the pixels do not depend on the vector width.
    /// </summary>
    private static void RemoveRow(ReadOnlySpan<float> source, Span<float> target, double[] columns, double[] inU, double level, BackgroundModel model)
    {
        int x = 0, lanes = Vector<float>.Count, half = Vector<double>.Count, degree = inU.Length - 1;
        bool subtract = model == BackgroundModel.Subtract;
        if (Vector.IsHardwareAccelerated)
        {
            var levels = new Vector<double>(level);
            for (; x + lanes <= source.Length; x += lanes)
            {
                Vector.Widen(new Vector<float>(source.Slice(x, lanes)), out var low, out var high);
                Vector<double> backgroundLow = Vector<double>.Zero, backgroundHigh = Vector<double>.Zero;
                var (uLow, uHigh) = (new Vector<double>(columns, x), new Vector<double>(columns, x + half));
                for (int p = degree; p >= 0; p--)
                {
                    var term = new Vector<double>(inU[p]);
                    backgroundLow = backgroundLow * uLow + term;
                    backgroundHigh = backgroundHigh * uHigh + term;
                }
                var corrected = subtract
                    ? Vector.Narrow(low - backgroundLow + levels, high - backgroundHigh + levels)
                    : Vector.Narrow(low * levels / backgroundLow, high * levels / backgroundHigh);
                corrected.CopyTo(target.Slice(x, lanes));
            }
        }
        for (; x < source.Length; x++)
        {
            double background = 0;
            for (int p = degree; p >= 0; p--) background = background * columns[x] + inU[p];
            target[x] = subtract ? (float)(source[x] - background + level) : (float)(source[x] * level / background);
        }
    }

    private static int Terms(int degree) => (degree + 1) * (degree + 2) / 2;

    private static void CheckSize(Image2D<float> image, Image2D<float> output)
    {
        if (output.Height != image.Height || output.Width != image.Width)
            throw new ArgumentException($"output is {output.Height}x{output.Width}, image is {image.Height}x{image.Width}", nameof(output));
    }

    /// <summary>
    /// The lowPercent and highPercent percentiles of the finite pixels (numpy's linear interpolation). Exact when the
    /// image has at most maxSamples finite pixels, otherwise computed on an even subsample of them.
    /// </summary>
    public static IntensityRange RobustRange(Image2D<float> image, double lowPercent = 1, double highPercent = 99, int maxSamples = 1 << 20)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckPercents(lowPercent, highPercent);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSamples, 1);
        return RobustRange(image.Pixels, lowPercent, highPercent, maxSamples);
    }

    private static void CheckPercents(double lowPercent, double highPercent)
    {
        if (!(lowPercent >= 0 && lowPercent < highPercent && highPercent <= 100))
            throw new ArgumentException($"need 0 <= lowPercent < highPercent <= 100, got {lowPercent}, {highPercent}");
    }

    /// <summary>Every how many pixels the percentiles read, so that at most <paramref name="maxSamples"/> count.</summary>
    private static int SampleStride(int pixels, int maxSamples) => Math.Max(1, (int)Math.Ceiling((double)pixels / maxSamples));

    /// <summary>
    /// <see cref="RobustRange(Image2D{float}, double, double, int)"/> for two pairs of percentiles of the same image, its
    /// pixels counted once for both (the same results bit for bit).
    /// </summary>
    public static (IntensityRange First, IntensityRange Second) RobustRanges(Image2D<float> image, (double Low, double High) first,
        (double Low, double High) second, int maxSamples = 1 << 20)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckPercents(first.Low, first.High);
        CheckPercents(second.Low, second.High);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSamples, 1);
        var stride = SampleStride(image.Pixels.Length, maxSamples);
        Span<(double Low, double High)> ranges = stackalloc (double, double)[2];
        if (!Statistics.Percentiles(image.Pixels, stride, [first, second], ranges))
            throw new ArgumentException("image has no finite pixels", nameof(image));
        return (new IntensityRange(ranges[0].Low, ranges[0].High), new IntensityRange(ranges[1].Low, ranges[1].High));
    }

    private static IntensityRange RobustRange(ReadOnlySpan<float> pixels, double lowPercent, double highPercent, int maxSamples = 1 << 20)
    {
        var stride = SampleStride(pixels.Length, maxSamples);
        if (Statistics.Percentiles(pixels, stride, lowPercent, highPercent) is not var (low, high))
            throw new ArgumentException("image has no finite pixels", "image");
        return new IntensityRange(low, high);
    }

    /// <summary>Linear map sending from.Low to to.Low and from.High to to.High (no clipping; NaN stays NaN).</summary>
    public static Image2D<float> PercentileStretch(Image2D<float> image, IntensityRange from, IntensityRange to, Image2D<float>? output = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!(from.High > from.Low))
            throw new ArgumentException($"source range {from} is empty (a flat slice?)", nameof(from));
        output ??= new Image2D<float>(image.Height, image.Width);
        if (output.Height != image.Height || output.Width != image.Width)
            throw new ArgumentException("output differs in size from image", nameof(output));
        float gain = (float)((to.High - to.Low) / (from.High - from.Low));
        float offset = (float)(to.Low - from.Low * (to.High - to.Low) / (from.High - from.Low));
        var src = image.Pixels;
        var dst = output.Pixels;
        for (int i = 0; i < src.Length; i++) dst[i] = src[i] * gain + offset;
        return output;
    }

    private static double Normalised(int i, int n) => n == 1 ? 0 : 2.0 * i / (n - 1) - 1;

    /// <summary>
    /// The grey-level extent of the histogram's highest peak: from the valley below it to the valley above it, on a
    /// histogram of at most 128 bins between the 0.5 and 99.5 percentiles (whole grey levels per bin for integer data,
    /// see <see cref="HistogramBins"/>: otherwise a low-noise 8-bit slice gives a comb whose first tooth stops the
    /// walk), lightly smoothed so that noise makes no valleys (or to where the peak's tail falls below 2 % of its
    /// height). An empty range (a flat slice) gives the whole real line.
    /// </summary>
    public static IntensityRange DominantPhaseBand(Image2D<float> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return DominantPhaseBand(image.Pixels);
    }

    private static IntensityRange DominantPhaseBand(ReadOnlySpan<float> pixels)
    {
        const int maxBins = 128;
        var range = RobustRange(pixels, 0.5, 99.5);
        if (!(range.High > range.Low)) return new IntensityRange(double.NegativeInfinity, double.PositiveInfinity);
        var layout = HistogramBins.Spanning(pixels, range.Low, range.High, maxBins);
        var bins = layout.Count;
        var counts = new double[bins];
        foreach (var value in pixels)
        {
            if (!float.IsFinite(value)) continue;
            var bin = layout.BinOf(value);
            if (bin >= 0 && bin < bins) counts[bin]++;
        }
        // Smoothed by 1.5 bins, not by a fixed share of the range: with 60 levels a bin is one level, and less than
        // 1.5 levels of smoothing leaves counting-noise valleys on a matrix spread over many levels by a gradient.
        var smooth = new double[bins];
        for (var i = 0; i < bins; i++)
            for (var k = -3; k <= 3; k++)
                smooth[i] += counts[Math.Clamp(i + k, 0, bins - 1)] * Math.Exp(-k * k / 4.5);
        var peak = Array.IndexOf(smooth, smooth.Max());
        var floor = 0.02 * smooth[peak];
        var lo = peak;
        while (lo > 0 && smooth[lo - 1] <= smooth[lo] && smooth[lo - 1] > floor) lo--;
        var hi = peak;
        while (hi < bins - 1 && smooth[hi + 1] <= smooth[hi] && smooth[hi + 1] > floor) hi++;
        return new IntensityRange(layout.Edge(lo), layout.Edge(hi + 1));
    }

    /// <summary>
    /// Fewest pixels a background block keeps when the fit reads every second row and column of a slice: 1024, so that a
    /// 1024x1024 slice's 64x64-pixel blocks are read on a quarter of their pixels and a 768x768 slice's on all. A sample-size
    /// floor (speed against precision), not a property of a specimen or a detector; checked on family members of 1024x1024
    /// slices in 8 and 16 bits against the every-pixel build (issue notes, session 51).
    /// </summary>
    public const int MinSampledPixelsPerBlock = 1024;

    /// <summary>2 (every second row and column) where each block keeps at least <see cref="MinSampledPixelsPerBlock"/> pixels so, else 1.</summary>
    internal static int BackgroundSampleStep(int height, int width, int cellsY, int cellsX) =>
        SliceSampling.Step(height / cellsY, width / cellsX, MinSampledPixelsPerBlock);

    /// <summary>The pixels on every <paramref name="step"/>th row and column (from row and column 0), row by row into <paramref name="samples"/>; returns their count.</summary>
    private static int Decimate(Image2D<float> image, int step, float[] samples)
    {
        int n = 0;
        for (int y = 0; y < image.Height; y += step)
        {
            var row = image.Row(y);
            for (int x = 0; x < row.Length; x += step) samples[n++] = row[x];
        }
        return n;
    }

    /// <summary>Each block's median of its pixels in <paramref name="band"/>, on every <paramref name="step"/>th row and column of the image.</summary>
    private static (List<double> U, List<double> V, List<double> Z) BlockMedians(Image2D<float> image, int cellsY, int cellsX, IntensityRange band, int step)
    {
        int h = image.Height, w = image.Width;
        List<double> u = [], v = [], z = [];
        var buffer = new float[(h / cellsY + 1) * (w / cellsX + 1)];
        // The first sampled row or column at or after p.
        int First(int p) => (p + step - 1) / step * step;
        for (int by = 0; by < cellsY; by++)
        {
            int y0 = by * h / cellsY, y1 = (by + 1) * h / cellsY;
            for (int bx = 0; bx < cellsX; bx++)
            {
                int x0 = bx * w / cellsX, x1 = (bx + 1) * w / cellsX;
                int n = 0, sampled = 0;
                // Branch-free: about half the pixels of a block are matrix, in no pattern a branch predictor could learn. Each
                // pixel is written where the next kept one goes and kept by moving on (never past the block's pixel count).
                var (low, high) = (band.Low, band.High);
                for (int y = First(y0); y < y1; y += step)
                {
                    var row = image.Row(y);
                    for (int x = First(x0); x < x1; x += step)
                    {
                        var value = row[x];
                        buffer[n] = value;
                        n += (value >= low) & (value <= high) ? 1 : 0;
                        sampled++;
                    }
                }
                if (n < sampled / 4) continue; // too little matrix (or valid region) in this block
                u.Add((Normalised(x0, w) + Normalised(x1 - 1, w)) / 2);
                v.Add((Normalised(y0, h) + Normalised(y1 - 1, h)) / 2);
                z.Add(Statistics.Median(buffer.AsSpan(0, n)));
            }
        }
        return (u, v, z);
    }

    private static double[] RobustPolynomialFit(List<double> u, List<double> v, List<double> z, int degree)
    {
        int n = u.Count, terms = (degree + 1) * (degree + 2) / 2;
        var design = Matrix.Build.Dense(n, terms, (i, j) => Term(j, degree, u[i], v[i]));
        var weights = Enumerable.Repeat(1.0, n).ToArray();
        double[] coefficients = new double[terms];
        for (int iteration = 0; iteration < 20; iteration++)
        {
            var a = Matrix.Build.Dense(n, terms, (i, j) => design[i, j] * Math.Sqrt(weights[i]));
            var b = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.Dense(n, i => z[i] * Math.Sqrt(weights[i]));
            coefficients = a.QR().Solve(b).ToArray();
            var residuals = new double[n];
            for (int i = 0; i < n; i++) residuals[i] = z[i] - Evaluate(coefficients, degree, u[i], v[i]);
            var absolute = residuals.Select(Math.Abs).Order().ToArray();
            double scale = Statistics.GaussianSdPerMad * absolute[n / 2];
            if (scale < 1e-12) break; // (near) exact fit of the majority
            double c = 4.685 * scale;
            double change = 0;
            for (int i = 0; i < n; i++)
            {
                double r = residuals[i] / c;
                double updated = Math.Abs(r) < 1 ? (1 - r * r) * (1 - r * r) : 0;
                change = Math.Max(change, Math.Abs(updated - weights[i]));
                weights[i] = updated;
            }
            if (change < 1e-6) break;
        }
        return coefficients;
    }

    /// <summary>Term j of the monomials u^p v^q with p + q &lt;= degree, ordered by total degree then p descending.</summary>
    private static double Term(int j, int degree, double u, double v)
    {
        int index = 0;
        for (int total = 0; total <= degree; total++)
            for (int q = 0; q <= total; q++, index++)
                if (index == j) return Math.Pow(u, total - q) * Math.Pow(v, q);
        throw new ArgumentOutOfRangeException(nameof(j));
    }

    private static double Evaluate(double[] coefficients, int degree, double u, double v)
    {
        double sum = 0;
        int index = 0;
        for (int total = 0; total <= degree; total++)
            for (int q = 0; q <= total; q++, index++)
                sum += coefficients[index] * Math.Pow(u, total - q) * Math.Pow(v, q);
        return sum;
    }
}
