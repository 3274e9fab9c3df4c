using System.Buffers;
using System.Numerics;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Alignment;

/// <summary>Options of the patch-consensus registration used by <see cref="DriftEstimator"/>.</summary>
/// <param name="PatchSizePx">Edge of the square patches whose shifts vote (a multiple of <paramref name="StridePx"/>).</param>
/// <param name="StridePx">Spacing of the patch grid (patches overlap by PatchSizePx - StridePx).</param>
/// <param name="FineSigmaPx">Gaussian pre-smoothing of the band-pass (suppresses pixel noise; keeps the estimate unbiased because it is applied to both slices).</param>
/// <param name="CoarseSigmaPx">Gaussian whose output is subtracted (removes shading, charging and local brightness offsets).</param>
public sealed record PatchConsensusOptions(int PatchSizePx = 16, int StridePx = 8, double FineSigmaPx = 1.0, double CoarseSigmaPx = 2)
{
    public static PatchConsensusOptions Default { get; } = new();

    internal void Validate()
    {
        if (StridePx < 1 || PatchSizePx < StridePx || PatchSizePx % StridePx != 0)
            throw new ArgumentException($"patch size {PatchSizePx} must be a positive multiple of the stride {StridePx}");
        if (!(FineSigmaPx >= 0) || !(CoarseSigmaPx > FineSigmaPx))
            throw new ArgumentException($"band-pass sigmas {FineSigmaPx}, {CoarseSigmaPx} must satisfy 0 <= fine < coarse");
    }
}

/// <summary>
/// A slice prepared for patch-consensus registration: the centred crop, band-passed (difference of Gaussians,
/// normalised convolution at the crop border) and scaled to unit standard deviation, so that global gain and
/// brightness changes between slices do not matter.
/// </summary>
internal sealed class BandImage
{
    private ReferenceTerms? _referenceTerms;

    /// <summary>The terms of the band image this one recycled, whose arrays <see cref="TermsForCells"/> writes into.</summary>
    private ReferenceTerms? _recycledTerms;

    private BandImage(float[] data, int height, int width, ReferenceTerms? recycledTerms = null)
    {
        Data = data;
        Height = height;
        Width = width;
        _recycledTerms = recycledTerms;
    }

    public float[] Data { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>Bytes its arrays hold: the image, and its reference terms or the recycled ones it will write them into.</summary>
    internal long Bytes => 4L * Data.Length + ((_referenceTerms ?? _recycledTerms) is { } terms
        ? 4L * (terms.GradientY.Length + terms.GradientX.Length) + 8L * terms.WholeCells.Length
        : 0);

    /// <summary>
    /// What <see cref="PatchConsensus"/> needs of this image as the reference, computed on first use and kept: a slice is
    /// the reference of every later slice it is registered with (four with the default offsets), and neither its
    /// gradients nor the gradient products of its whole cells depend on the moving slice or the shift.
    /// </summary>
    internal ReferenceTerms TermsForCells(int cellPx, int maxThreads = KernelThreads.All)
    {
        var terms = _referenceTerms;
        if (terms is not null && terms.CellPx == cellPx) return terms;
        terms = ReferenceTerms.Of(this, cellPx, maxThreads, _recycledTerms);
        (_referenceTerms, _recycledTerms) = (terms, null);
        return terms;
    }

    /// <param name="maxThreads">Threads the band-pass may use (<see cref="KernelThreads"/>); the image is the same for any.</param>
    public static BandImage Of(Image2D<float> image, int maxSizePx, PatchConsensusOptions options, int maxThreads = KernelThreads.All) =>
        Of(image, maxSizePx, options, maxThreads, recycled: null);

    /// <summary>
    /// As above, written into the arrays of <paramref name="recycled"/> (a band image no longer in use, and later its
    /// reference terms' arrays) where they have this one's shape; the same numbers as a fresh one
    /// (<see cref="Spectrum.Of(Image2D{float}, int, int, Spectrum?)"/> says why).
    /// </summary>
    public static BandImage Of(Image2D<float> image, int maxSizePx, PatchConsensusOptions options, int maxThreads, BandImage? recycled)
    {
        int h = Math.Min(image.Height, maxSizePx), w = Math.Min(image.Width, maxSizePx);
        int y0 = (image.Height - h) / 2, x0 = (image.Width - w) / 2;
        int pixels = h * w;
        // The crop, its validity and both blurs are scratch from the large-array pool (a slice's worth each, every slice):
        // only the band image itself is kept.
        var pool = LargeArrayPool<float>.Shared;
        float[] crop = pool.Rent(pixels), valid = pool.Rent(pixels), fine = pool.Rent(pixels), coarse = pool.Rent(pixels), scratch = pool.Rent(pixels);
        try
        {
            KernelThreads.For(0, h, maxThreads, y => CropRow(image.Row(y0 + y).Slice(x0, w), crop.AsSpan(y * w, w), valid.AsSpan(y * w, w)));
            // Both blurs share the weighted crop (data x weight) and the validity check.
            using (var blur = new GaussianBlur.Normaliser(crop, valid, h, w, maxThreads))
            {
                blur.Blur(options.FineSigmaPx, fine, scratch);
                blur.Blur(options.CoarseSigmaPx, coarse, scratch);
            }
            var reuse = recycled is not null && recycled.Height == h && recycled.Width == w;
            var band = reuse ? recycled!.Data : new float[pixels];
            KernelThreads.For(0, h, maxThreads, y => Difference(fine.AsSpan(y * w, w), coarse.AsSpan(y * w, w), valid.AsSpan(y * w, w), band.AsSpan(y * w, w)));
            // The moments are sums in pixel order, one term after another.
            double sum = 0, sum2 = 0;
            long n = 0;
            for (int i = 0; i < pixels; i++)
            {
                if (valid[i] == 0) continue;
                float v = band[i];
                sum += v; sum2 += (double)v * v; n++;
            }
            double mean = n > 0 ? sum / n : 0;
            double sd = n > 1 ? Math.Sqrt(Math.Max(sum2 / n - mean * mean, 0)) : 0;
            float scale = sd > 0 ? (float)(1 / sd) : 1f;
            KernelThreads.For(0, h, maxThreads, y => Standardise(band.AsSpan(y * w, w), valid.AsSpan(y * w, w), mean, scale));
            return new BandImage(band, h, w, reuse ? recycled!._referenceTerms ?? recycled._recycledTerms : null);
        }
        finally
        {
            foreach (var array in (float[][])[crop, valid, fine, coarse, scratch]) pool.Return(array);
        }
    }

    /// <summary>crop = source where finite, else 0; valid = 1 where finite, else 0. SIMD lanes copy the same bits a scalar loop would.</summary>
    internal static void CropRow(ReadOnlySpan<float> source, Span<float> crop, Span<float> valid)
    {
        int x = 0, lanes = Vector<float>.Count;
        for (; x + lanes <= source.Length; x += lanes)
        {
            var v = new Vector<float>(source.Slice(x, lanes));
            var finite = Vector.Equals(v - v, Vector<float>.Zero); // Inf - Inf and NaN - NaN are NaN
            Vector.ConditionalSelect(finite, v, Vector<float>.Zero).CopyTo(crop.Slice(x, lanes));
            Vector.ConditionalSelect(finite, Vector<float>.One, Vector<float>.Zero).CopyTo(valid.Slice(x, lanes));
        }
        for (; x < source.Length; x++)
        {
            float v = source[x];
            bool ok = float.IsFinite(v);
            crop[x] = ok ? v : 0f;
            valid[x] = ok ? 1f : 0f;
        }
    }

    /// <summary>band = fine - coarse where valid, else 0.</summary>
    private static void Difference(ReadOnlySpan<float> fine, ReadOnlySpan<float> coarse, ReadOnlySpan<float> valid, Span<float> band)
    {
        int x = 0, lanes = Vector<float>.Count;
        for (; x + lanes <= band.Length; x += lanes)
        {
            var inside = ~Vector.Equals(new Vector<float>(valid.Slice(x, lanes)), Vector<float>.Zero);
            var difference = new Vector<float>(fine.Slice(x, lanes)) - new Vector<float>(coarse.Slice(x, lanes));
            Vector.ConditionalSelect(inside, difference, Vector<float>.Zero).CopyTo(band.Slice(x, lanes));
        }
        for (; x < band.Length; x++) band[x] = valid[x] == 0 ? 0 : fine[x] - coarse[x];
    }

    /// <summary>band = (float)((band - mean) * scale) in double where valid, else 0; SIMD lanes widen, compute and round as the scalar expression does.</summary>
    private static void Standardise(Span<float> band, ReadOnlySpan<float> valid, double mean, float scale)
    {
        int x = 0, lanes = Vector<float>.Count;
        var (centre, factor) = (new Vector<double>(mean), new Vector<double>(scale));
        for (; x + lanes <= band.Length; x += lanes)
        {
            var inside = ~Vector.Equals(new Vector<float>(valid.Slice(x, lanes)), Vector<float>.Zero);
            Vector.Widen(new Vector<float>(band.Slice(x, lanes)), out var low, out var high);
            var standardised = Vector.Narrow((low - centre) * factor, (high - centre) * factor);
            Vector.ConditionalSelect(inside, standardised, Vector<float>.Zero).CopyTo(band.Slice(x, lanes));
        }
        for (; x < band.Length; x++) band[x] = valid[x] == 0 ? 0 : (float)((band[x] - mean) * scale);
    }

    /// <summary>Central-difference gradients of a reference image (0 on its 1-px border) and the gradient products summed over each whole cell.</summary>
    internal sealed class ReferenceTerms
    {
        private ReferenceTerms(int cellPx, float[] gradientY, float[] gradientX, double[] wholeCells)
        {
            CellPx = cellPx;
            GradientY = gradientY;
            GradientX = gradientX;
            WholeCells = wholeCells;
        }

        public int CellPx { get; }
        public float[] GradientY { get; }
        public float[] GradientX { get; }

        /// <summary>Per cell (row-major, h / cellPx by w / cellPx): the sums of gy², gy·gx and gx² over all its pixels, in row-major pixel order.</summary>
        public double[] WholeCells { get; }

        /// <param name="recycled">Terms no longer in use whose arrays are written into where they have these terms' sizes, or null.</param>
        public static ReferenceTerms Of(BandImage image, int cellPx, int maxThreads, ReferenceTerms? recycled = null)
        {
            int h = image.Height, w = image.Width;
            var r = image.Data;
            int cy = h / cellPx, cx = w / cellPx;
            var reuse = recycled is not null && recycled.GradientY.Length == h * w && recycled.WholeCells.Length == cy * cx * 3;
            var gy = reuse ? recycled!.GradientY : new float[h * w];
            var gx = reuse ? recycled!.GradientX : new float[h * w];
            // The loop below writes every pixel but the image's border, where the gradients are 0.
            if (reuse) ClearBorder(gy, gx, h, w);
            KernelThreads.For(1, Math.Max(1, h - 1), maxThreads, y =>
            {
                for (int x = 1; x < w - 1; x++)
                {
                    gy[y * w + x] = 0.5f * (r[(y + 1) * w + x] - r[(y - 1) * w + x]);
                    gx[y * w + x] = 0.5f * (r[y * w + x + 1] - r[y * w + x - 1]);
                }
            });
            var cells = reuse ? recycled!.WholeCells : new double[cy * cx * 3];
            KernelThreads.For(0, cy, maxThreads, j =>
            {
                for (int i = 0; i < cx; i++)
                {
                    double syy = 0, syx = 0, sxx = 0;
                    for (int y = j * cellPx; y < (j + 1) * cellPx; y++)
                        for (int x = i * cellPx; x < (i + 1) * cellPx; x++)
                        {
                            int p = y * w + x;
                            double a = gy[p], b = gx[p];
                            syy += a * a; syx += a * b; sxx += b * b;
                        }
                    int o = (j * cx + i) * 3;
                    cells[o] = syy; cells[o + 1] = syx; cells[o + 2] = sxx;
                }
            });
            return new ReferenceTerms(cellPx, gy, gx, cells);
        }

        private static void ClearBorder(float[] gy, float[] gx, int h, int w)
        {
            foreach (var g in (float[][])[gy, gx])
            {
                g.AsSpan(0, w).Clear();
                if (h > 1) g.AsSpan((h - 1) * w, w).Clear();
                for (int y = 1; y < h - 1; y++) g[y * w] = g[y * w + w - 1] = 0;
            }
        }
    }
}

/// <summary>Separable Gaussian blur by normalised convolution (pixels with weight 0 and outside the image do not count).</summary>
internal static class GaussianBlur
{
    public static float[] Normalised(float[] data, float[] weight, int h, int w, double sigma, int maxThreads = KernelThreads.All)
    {
        using var normaliser = new Normaliser(data, weight, h, w, maxThreads);
        return normaliser.Blur(sigma);
    }

    /// <summary>As above into the first h x w of <paramref name="destination"/> (a caller's array kept from slice to slice).</summary>
    public static void Normalised(float[] data, float[] weight, int h, int w, double sigma, float[] destination, int maxThreads = KernelThreads.All)
    {
        using var normaliser = new Normaliser(data, weight, h, w, maxThreads);
        var scratch = LargeArrayPool<float>.Shared.Rent(h * w);
        normaliser.Blur(sigma, destination, scratch);
        LargeArrayPool<float>.Shared.Return(scratch);
    }

    /// <summary>
    /// One image and its weights, blurred at one or more sigmas (the weighted image is formed once; with every weight 1 it
    /// is the image itself, x * 1 being x). The arrays may be longer than h x w (rented); only the first h x w count.
    /// </summary>
    internal sealed class Normaliser : IDisposable
    {
        private readonly float[] _data;
        private readonly float[] _weight;
        private readonly float[] _weighted;
        private readonly bool _allWeightOne;
        private readonly int _h, _w;
        private readonly int _maxThreads;

        /// <param name="data">Finite values.</param>
        /// <param name="maxThreads">Threads the blurs may use (<see cref="KernelThreads"/>); the pixels are the same for any.</param>
        public Normaliser(float[] data, float[] weight, int h, int w, int maxThreads = KernelThreads.All)
        {
            (_data, _weight, _h, _w, _maxThreads) = (data, weight, h, w, maxThreads);
            int n = h * w;
            _allWeightOne = weight.AsSpan(0, n).IndexOfAnyExcept(1f) < 0;
            if (_allWeightOne)
            {
                _weighted = data;
                return;
            }
            _weighted = LargeArrayPool<float>.Shared.Rent(n);
            for (int i = 0; i < n; i++) _weighted[i] = data[i] * weight[i];
        }

        public float[] Blur(double sigma)
        {
            var result = new float[_h * _w];
            var scratch = LargeArrayPool<float>.Shared.Rent(_h * _w);
            Blur(sigma, result, scratch);
            LargeArrayPool<float>.Shared.Return(scratch);
            return result;
        }

        /// <summary>The blur into the first h x w of <paramref name="destination"/>; <paramref name="scratch"/> holds h x w too.</summary>
        public void Blur(double sigma, float[] destination, float[] scratch)
        {
            int n = _h * _w;
            if (sigma <= 0)
            {
                _data.AsSpan(0, n).CopyTo(destination);
                return;
            }
            int r = Math.Max(1, (int)Math.Ceiling(3 * sigma));
            var k = new float[2 * r + 1];
            for (int i = -r; i <= r; i++) k[i + r] = (float)Math.Exp(-0.5 * i * i / (sigma * sigma));
            Separable(_weighted, _h, _w, k, r, scratch, destination, _maxThreads);
            // With every weight 1 the blurred weights differ only within r of the border: the rows of the interior are all
            // the same row (same terms in the same order), so they are computed once, exactly as the full blur would.
            float[]? weightBlur = null, weightScratch = null;
            RowTable den;
            if (_allWeightOne) den = BlurredOnes(_h, _w, k, r);
            else
            {
                (weightBlur, weightScratch) = (LargeArrayPool<float>.Shared.Rent(n), LargeArrayPool<float>.Shared.Rent(n));
                Separable(_weight, _h, _w, k, r, weightScratch, weightBlur, _maxThreads);
                den = new RowTable(weightBlur, y => y);
            }
            KernelThreads.For(0, _h, _maxThreads, y => Divide(destination.AsSpan(y * _w, _w), den.Row(y, _w)));
            if (weightBlur is not null) LargeArrayPool<float>.Shared.Return(weightBlur);
            if (weightScratch is not null) LargeArrayPool<float>.Shared.Return(weightScratch);
        }

        public void Dispose()
        {
            if (!_allWeightOne) LargeArrayPool<float>.Shared.Return(_weighted);
        }
    }

    /// <summary>numerator = numerator / weight where weight &gt; 1e-6, else 0 (SIMD lanes divide as the scalar loop does).</summary>
    private static void Divide(Span<float> numerator, ReadOnlySpan<float> weight)
    {
        int x = 0, lanes = Vector<float>.Count;
        var floor = new Vector<float>(1e-6f);
        for (; x + lanes <= numerator.Length; x += lanes)
        {
            var d = new Vector<float>(weight.Slice(x, lanes));
            var quotient = new Vector<float>(numerator.Slice(x, lanes)) / d;
            Vector.ConditionalSelect(Vector.GreaterThan(d, floor), quotient, Vector<float>.Zero).CopyTo(numerator.Slice(x, lanes));
        }
        for (; x < numerator.Length; x++) numerator[x] = weight[x] > 1e-6f ? numerator[x] / weight[x] : 0f;
    }

    /// <summary>A blurred image stored as its distinct rows: <see cref="Row"/> maps an image row to its stored row.</summary>
    private readonly record struct RowTable(float[] Rows, Func<int, int> RowOf)
    {
        public ReadOnlySpan<float> Row(int y, int w) => Rows.AsSpan(RowOf(y) * w, w);
    }

    private static RowTable BlurredOnes(int h, int w, float[] k, int r)
    {
        // Horizontal pass of a row of ones, then the vertical pass for the distinct rows: the top r rows, one interior
        // row (any y with r <= y < h - r), and the bottom r rows; an image of at most 2r + 1 rows is computed whole.
        var ones = new float[w];
        Array.Fill(ones, 1f);
        var horizontal = new float[w];
        HorizontalRow(ones, horizontal, k, r);
        if (h <= 2 * r + 1)
        {
            var all = new float[h * w];
            for (int y = 0; y < h; y++) VerticalRow(y, h, w, k, r, horizontal, 0, all.AsSpan(y * w, w));
            return new RowTable(all, y => y);
        }
        var rows = new float[(2 * r + 1) * w];
        for (int i = 0; i < 2 * r + 1; i++)
        {
            int y = i <= r ? i : h - 1 - (2 * r - i);
            VerticalRow(y, h, w, k, r, horizontal, 0, rows.AsSpan(i * w, w));
        }
        return new RowTable(rows, y => y < r ? y : y >= h - r ? 2 * r - (h - 1 - y) : r);
    }

    /// <summary>The separable blur of the first h x w of src into dst, through tmp (both at least h x w).</summary>
    private static void Separable(float[] src, int h, int w, float[] k, int r, float[] tmp, float[] dst, int maxThreads)
    {
        KernelThreads.For(0, h, maxThreads, y => HorizontalRow(src.AsSpan(y * w, w), tmp.AsSpan(y * w, w), k, r));
        KernelThreads.For(0, h, maxThreads, y => VerticalRow(y, h, w, k, r, tmp, w, dst.AsSpan(y * w, w)));
    }

    /// <summary>
    /// dst[x] = sum over xx in [x - r, x + r] ∩ [0, w) of k[xx - x + r] src[xx], accumulated in ascending xx from 0.
    /// The interior runs several x at once with SIMD: each lane adds the same terms in the same order, so the sums are
    /// the scalar ones bit for bit.
    /// </summary>
    private static void HorizontalRow(ReadOnlySpan<float> src, Span<float> dst, float[] k, int r)
    {
        int w = src.Length, lanes = Vector<float>.Count;
        int interiorStart = Math.Min(r, w), interiorEnd = Math.Max(interiorStart, w - r); // x with x - r >= 0 and x + r < w
        for (int x = 0; x < interiorStart; x++) dst[x] = HorizontalAt(src, x, k, r);
        int xv = interiorStart;
        for (; xv + lanes <= interiorEnd; xv += lanes)
        {
            var s = Vector<float>.Zero;
            for (int t = 0; t <= 2 * r; t++) s += new Vector<float>(k[t]) * new Vector<float>(src.Slice(xv - r + t, lanes));
            s.CopyTo(dst.Slice(xv, lanes));
        }
        for (int x = xv; x < w; x++) dst[x] = HorizontalAt(src, x, k, r);
    }

    private static float HorizontalAt(ReadOnlySpan<float> src, int x, float[] k, int r)
    {
        int lo = Math.Max(0, x - r), hi = Math.Min(src.Length - 1, x + r);
        float s = 0;
        for (int xx = lo; xx <= hi; xx++) s += k[xx - x + r] * src[xx];
        return s;
    }

    /// <summary>
    /// dst = sum over yy in [y - r, y + r] ∩ [0, h) of k[yy - y + r] times row yy of <paramref name="source"/> (row yy
    /// starting at yy * <paramref name="rowStride"/>; a stride of 0 reads one row for every yy), accumulated from +0 in
    /// ascending yy: the bits of adding one row at a time into dst, but each pixel is summed in a register and stored once.
    /// </summary>
    private static void VerticalRow(int y, int h, int w, float[] k, int r, float[] source, int rowStride, Span<float> dst)
    {
        int lo = Math.Max(0, y - r), hi = Math.Min(h - 1, y + r);
        Span<int> starts = stackalloc int[hi - lo + 1];
        Span<float> taps = stackalloc float[hi - lo + 1];
        for (int yy = lo; yy <= hi; yy++) (starts[yy - lo], taps[yy - lo]) = (yy * rowStride, k[yy - y + r]);
        Denoise.WeightedRows(source, starts, taps, dst[..w]);
    }
}

/// <summary>
/// Translation between two band-passed slices as the robust consensus of many local (patch) estimates.
/// <para>
/// Why: in a serial-section stack the structure itself evolves between slices — particle cross-sections grow and
/// shrink, inclined fibres and cracks slide through the plane — so a single global registration sees apparent
/// motion that does not average out (it accumulates into a drift bias along the stack). Those apparent motions are
/// local and point in all directions (radially around each particle, along each inclined fibre), while the drift is
/// common to every patch; a robust location estimate over the patch shifts keeps the common part and rejects the rest.
/// </para>
/// <para>
/// How: Gauss-Newton (Lucas-Kanade) on a dense grid of overlapping patches. The moving slice is resampled at the
/// current consensus shift (one separable 4-tap cubic filter, since the shift is uniform), per-pixel gradient
/// products are summed over stride x stride cells, patch normal equations are sums of cells, each patch gives its
/// own shift s + H⁻¹b, and the new consensus is a Tukey-biweight location of the patch shifts weighted by a
/// saturating texture confidence (smallest eigenvalue of H relative to its median over patches). Cost O(pixels) per
/// iteration, independent of the number of patches. Where the consensus steps shrink geometrically every other one is
/// extrapolated to the series' sum (<see cref="Accelerated"/>), which reaches the same fixed point in fewer iterations.
/// </para>
/// </summary>
internal static class PatchConsensus
{
    /// <summary>
    /// Gauss-Newton iterations at most. A pair that converges does so within 3-5 (with <see cref="Accelerated"/>); the
    /// others, far pairs whose sections have evolved, shrink their step by only ~0.965 an iteration and end at the cap
    /// wherever it is, close to their start. Their cap was 12; at 6 the anchored drift of the drift family (24 members
    /// at 64x192x224, 5 at 128x256x320) stayed within 0.005 px member by member, at about a third less CPU.
    /// </summary>
    private const int MaxIterations = 6;

    public readonly record struct Result(Shift2D Shift, double Spread, int Patches, double EffectivePatches)
    {
        /// <summary>Inverse of the estimated variance of <see cref="Shift"/> (spread² / effective number of patches).</summary>
        public double Weight => EffectivePatches / Math.Max(Spread * Spread, 1e-4);
    }

    /// <summary>Shift s such that moving(p + s) matches reference(p); null when too few patches are usable.</summary>
    /// <param name="maxThreads">Threads the estimate may use (<see cref="KernelThreads"/>); the result is the same for any.</param>
    public static Result? Estimate(BandImage reference, BandImage moving, Shift2D start, PatchConsensusOptions options, int maxThreads = KernelThreads.All)
    {
        int h = reference.Height, w = reference.Width;
        if (moving.Height != h || moving.Width != w)
            throw new ArgumentException("band images differ in size", nameof(moving));
        int cell = options.StridePx, cellsPerPatch = options.PatchSizePx / options.StridePx;
        int cy = h / cell, cx = w / cell;
        int py = cy - cellsPerPatch + 1, px = cx - cellsPerPatch + 1;
        if (py < 1 || px < 1) return null;

        var r = reference.Data;
        var terms = reference.TermsForCells(cell, maxThreads);
        var (gy, gx, wholeCells) = (terms.GradientY, terms.GradientX, terms.WholeCells);
        int patches = py * px;
        using var work = new Workspace(h * w, cy * cx * CellTerms, patches);
        var (cells, resampled, horizontal) = (work.Cells, work.Resampled, work.Horizontal);
        var (dyP, dxP, texture, ok) = (work.PatchDy, work.PatchDx, work.Texture, work.Usable);
        var shift = start;
        Result? last = null;
        Shift2D? previousStep = null;
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            var (vy0, vy1, vx0, vx1) = Resample(moving, shift, resampled, horizontal, maxThreads);
            // Valid rows/cols of the resampled image, also excluding the 1-px gradient border.
            vy0 = Math.Max(vy0, 1); vx0 = Math.Max(vx0, 1); vy1 = Math.Min(vy1, h - 1); vx1 = Math.Min(vx1, w - 1);
            // The cells that lie wholly inside the valid region: a band of rows, and in each row a run of columns.
            int wholeFrom = (vx0 + cell - 1) / cell, wholeTo = Math.Max(wholeFrom, vx1 / cell);
            KernelThreads.For(0, cy, maxThreads, j =>
            {
                bool rowWhole = Math.Max(j * cell, vy0) == j * cell && Math.Min((j + 1) * cell, vy1) == (j + 1) * cell;
                for (int i = 0; i < cx; i++)
                {
                    if (rowWhole && i >= wholeFrom && i + WholeCellGroup <= wholeTo)
                    {
                        WholeCellErrors(r, resampled, gy, gx, w, cell, j, i, wholeCells, cx, cells);
                        i += WholeCellGroup - 1;
                        continue;
                    }
                    int yA = Math.Max(j * cell, vy0), yB = Math.Min((j + 1) * cell, vy1);
                    int xA = Math.Max(i * cell, vx0), xB = Math.Min((i + 1) * cell, vx1);
                    int o = (j * cx + i) * CellTerms;
                    if (yA == j * cell && yB == (j + 1) * cell && xA == i * cell && xB == (i + 1) * cell)
                    {
                        // A whole cell: its gradient products are the reference's, only the error terms depend on the shift.
                        double ye = 0, xe = 0;
                        for (int y = yA; y < yB; y++)
                        {
                            var rowR = r.AsSpan(y * w + xA, cell);
                            var rowM = resampled.AsSpan(y * w + xA, cell);
                            var rowGy = gy.AsSpan(y * w + xA, cell);
                            var rowGx = gx.AsSpan(y * w + xA, cell);
                            for (int x = 0; x < rowR.Length; x++)
                            {
                                double e = rowM[x] - rowR[x];
                                ye += rowGy[x] * e; xe += rowGx[x] * e;
                            }
                        }
                        int c = (j * cx + i) * 3;
                        cells[o] = wholeCells[c]; cells[o + 1] = wholeCells[c + 1]; cells[o + 2] = wholeCells[c + 2];
                        cells[o + 3] = ye; cells[o + 4] = xe; cells[o + 5] = cell * cell;
                        continue;
                    }
                    double syy = 0, syx = 0, sxx = 0, sye = 0, sxe = 0;
                    int count = 0;
                    for (int y = yA; y < yB; y++)
                        for (int x = xA; x < xB; x++)
                        {
                            int p = y * w + x;
                            double e = resampled[p] - r[p];
                            double a = gy[p], b = gx[p];
                            syy += a * a; syx += a * b; sxx += b * b; sye += a * e; sxe += b * e;
                            count++;
                        }
                    cells[o] = syy; cells[o + 1] = syx; cells[o + 2] = sxx; cells[o + 3] = sye; cells[o + 4] = sxe; cells[o + 5] = count;
                }
            });
            int full = options.PatchSizePx * options.PatchSizePx;
            int usable = 0;
            for (int j = 0; j < py; j++)
                for (int i = 0; i < px; i++)
                {
                    double hyy = 0, hyx = 0, hxx = 0, by = 0, bx = 0, n = 0;
                    for (int a = 0; a < cellsPerPatch; a++)
                        for (int b = 0; b < cellsPerPatch; b++)
                        {
                            int o = ((j + a) * cx + i + b) * CellTerms;
                            hyy += cells[o]; hyx += cells[o + 1]; hxx += cells[o + 2]; by += cells[o + 3]; bx += cells[o + 4]; n += cells[o + 5];
                        }
                    int k = j * px + i;
                    double det = hyy * hxx - hyx * hyx;
                    ok[k] = n >= full && det > 0;
                    if (!ok[k]) continue;
                    usable++;
                    dyP[k] = -(hxx * by - hyx * bx) / det;
                    dxP[k] = -(hyy * bx - hyx * by) / det;
                    double tr = 0.5 * (hyy + hxx);
                    double lambdaMin = tr - Math.Sqrt(Math.Max(tr * tr - det, 0));
                    texture[k] = lambdaMin / n;
                }
            if (usable < 3) return last;
            var step = RobustLocation(work, patches, usable, out double spread, out double effective);
            double length = step.Length;
            var move = Accelerated(step, previousStep);
            // Gauss-Newton steps beyond ~1 px leave the linear range of the smoothed images; take them in parts.
            double moveLength = move.Length;
            if (moveLength > 1) move = new Shift2D(move.Dy / moveLength, move.Dx / moveLength);
            previousStep = move == step ? step : null;
            shift += move;
            last = new Result(shift, spread, usable, effective);
            if (length < ConvergedStepPx) break;
        }
        return last;
    }

    /// <summary>A consensus step shorter than this (px) ends the iterations: far below the drift's own error (~0.1 px).</summary>
    private const double ConvergedStepPx = 1e-4;

    /// <summary>
    /// The step to take given the consensus step and the one before it when that was taken unchanged. The reference's
    /// gradients stand in for the moving slice's, which evolves between sections, so each Gauss-Newton step undershoots
    /// by the same factor and the steps shrink geometrically (ratios 0.35-0.65 measured, larger for further offsets).
    /// Aitken's Δ² extrapolation (A. C. Aitken 1926, "On Bernoulli's numerical solution of algebraic equations", Proc. R.
    /// Soc. Edinburgh 46:289: the geometric series' sum, step / (1 - ratio)) goes to where the steps lead; the fixed
    /// point, a zero consensus step, stays the same, so only the number of iterations changes. Taken only when both
    /// steps point the same way and every other iteration, so that the next step measures what the extrapolation missed.
    /// </summary>
    internal static Shift2D Accelerated(Shift2D step, Shift2D? previous)
    {
        if (previous is not { } p) return step;
        double pp = p.Dy * p.Dy + p.Dx * p.Dx, ss = step.Dy * step.Dy + step.Dx * step.Dx;
        if (!(pp > 0) || !(ss > 0)) return step;
        double dot = step.Dy * p.Dy + step.Dx * p.Dx;
        double ratio = dot / pp, cosine = dot / Math.Sqrt(pp * ss);
        if (cosine < MinAcceleratedCosine || !(ratio > 0) || ratio > MaxAcceleratedRatio) return step;
        double factor = 1 / (1 - ratio);
        return new Shift2D(step.Dy * factor, step.Dx * factor);
    }

    /// <summary>Steps that turn by more than ~25° are not a geometric series: no extrapolation.</summary>
    private const double MinAcceleratedCosine = 0.9;

    /// <summary>Contraction above which the extrapolation (factor 1 / (1 - ratio)) would amplify the steps' noise more than 5x.</summary>
    private const double MaxAcceleratedRatio = 0.8;

    /// <summary>Sums per cell: yy, yx, xx, ye, xe, valid count.</summary>
    private const int CellTerms = 6;

    /// <summary>Whole cells whose error terms are summed side by side (see <see cref="WholeCellErrors"/>).</summary>
    private const int WholeCellGroup = 4;

    /// <summary>
    /// The terms of <see cref="WholeCellGroup"/> whole cells side by side in cell row <paramref name="j"/> from cell column
    /// <paramref name="i"/>: the reference's gradient products, and the error terms summed pixel by pixel in row-major
    /// order, each cell on its own accumulators. One cell's sums are two chains of dependent additions that leave the
    /// core waiting on each; four cells' chains interleaved keep it busy, and every sum gets the same terms in the same
    /// order as a cell summed alone.
    /// </summary>
    private static void WholeCellErrors(float[] r, float[] resampled, float[] gy, float[] gx, int w, int cell, int j, int i, double[] wholeCells, int cx, double[] cells)
    {
        double ye0 = 0, xe0 = 0, ye1 = 0, xe1 = 0, ye2 = 0, xe2 = 0, ye3 = 0, xe3 = 0;
        for (int y = j * cell; y < (j + 1) * cell; y++)
        {
            int p0 = y * w + i * cell;
            var rowR = r.AsSpan(p0, WholeCellGroup * cell);
            var rowM = resampled.AsSpan(p0, WholeCellGroup * cell);
            var rowGy = gy.AsSpan(p0, WholeCellGroup * cell);
            var rowGx = gx.AsSpan(p0, WholeCellGroup * cell);
            for (int x = 0; x < cell; x++)
            {
                int x1 = x + cell, x2 = x + 2 * cell, x3 = x + 3 * cell;
                double e0 = rowM[x] - rowR[x], e1 = rowM[x1] - rowR[x1], e2 = rowM[x2] - rowR[x2], e3 = rowM[x3] - rowR[x3];
                ye0 += rowGy[x] * e0; xe0 += rowGx[x] * e0;
                ye1 += rowGy[x1] * e1; xe1 += rowGx[x1] * e1;
                ye2 += rowGy[x2] * e2; xe2 += rowGx[x2] * e2;
                ye3 += rowGy[x3] * e3; xe3 += rowGx[x3] * e3;
            }
        }
        Span<double> ye = [ye0, ye1, ye2, ye3];
        Span<double> xe = [xe0, xe1, xe2, xe3];
        for (int g = 0; g < WholeCellGroup; g++)
        {
            int o = (j * cx + i + g) * CellTerms, c = (j * cx + i + g) * 3;
            cells[o] = wholeCells[c]; cells[o + 1] = wholeCells[c + 1]; cells[o + 2] = wholeCells[c + 2];
            cells[o + 3] = ye[g]; cells[o + 4] = xe[g]; cells[o + 5] = cell * cell;
        }
    }

    /// <summary>
    /// The arrays one <see cref="Estimate"/> works in, rented from the pools (the images from the large-array pool) and returned when it ends: a stack
    /// registers four pairs per slice, and fresh arrays of these sizes (two images, and a dozen arrays of one number per
    /// patch, per iteration) cost more in page faults and collections than the arithmetic done on them. Rented arrays
    /// may be longer than asked for and hold old values; every element used is written first.
    /// </summary>
    private sealed class Workspace : IDisposable
    {
        public Workspace(int pixels, int cellTerms, int patches)
        {
            Resampled = LargeArrayPool<float>.Shared.Rent(pixels);
            Horizontal = LargeArrayPool<float>.Shared.Rent(pixels);
            Cells = ArrayPool<double>.Shared.Rent(cellTerms);
            PatchDy = ArrayPool<double>.Shared.Rent(patches);
            PatchDx = ArrayPool<double>.Shared.Rent(patches);
            Texture = ArrayPool<double>.Shared.Rent(patches);
            Usable = ArrayPool<bool>.Shared.Rent(patches);
            Indices = ArrayPool<int>.Shared.Rent(patches);
            Prior = ArrayPool<double>.Shared.Rent(patches);
            Ys = ArrayPool<double>.Shared.Rent(patches);
            Xs = ArrayPool<double>.Shared.Rent(patches);
            Scratch = ArrayPool<double>.Shared.Rent(patches);
            YOrder = ArrayPool<int>.Shared.Rent(patches);
            XOrder = ArrayPool<int>.Shared.Rent(patches);
            OrderScratch = ArrayPool<int>.Shared.Rent(patches);
            Keys = ArrayPool<ulong>.Shared.Rent(patches);
            KeysScratch = ArrayPool<ulong>.Shared.Rent(patches);
            Weight = ArrayPool<double>.Shared.Rent(patches);
        }

        public float[] Resampled { get; }
        public float[] Horizontal { get; }
        public double[] Cells { get; }
        public double[] PatchDy { get; }
        public double[] PatchDx { get; }
        public double[] Texture { get; }
        public bool[] Usable { get; }
        /// <summary>The usable patches' indices, and their prior weights and shifts (one entry per usable patch).</summary>
        public int[] Indices { get; }
        public double[] Prior { get; }
        public double[] Ys { get; }
        public double[] Xs { get; }
        /// <summary>Textures for their median, then distances from a median, then the biweight's u².</summary>
        public double[] Scratch { get; }
        public int[] YOrder { get; }
        public int[] XOrder { get; }
        /// <summary>The radix sort's second index buffer, then the merged order of distances.</summary>
        public int[] OrderScratch { get; }
        public ulong[] Keys { get; }
        public ulong[] KeysScratch { get; }
        /// <summary>The biweight's weight per usable patch.</summary>
        public double[] Weight { get; }

        public void Dispose()
        {
            LargeArrayPool<float>.Shared.Return(Resampled);
            LargeArrayPool<float>.Shared.Return(Horizontal);
            foreach (var array in (double[][])[Cells, PatchDy, PatchDx, Texture, Prior, Ys, Xs, Scratch, Weight]) ArrayPool<double>.Shared.Return(array);
            ArrayPool<bool>.Shared.Return(Usable);
            foreach (var array in (int[][])[Indices, YOrder, XOrder, OrderScratch]) ArrayPool<int>.Shared.Return(array);
            ArrayPool<ulong>.Shared.Return(Keys);
            ArrayPool<ulong>.Shared.Return(KeysScratch);
        }
    }

    /// <summary>
    /// Weighted Tukey-biweight location in 2D of the patch shifts (start: weighted median per axis; scale: weighted
    /// MAD per axis). Weights: texture t / (t + median t), so well-textured patches count about equally (the
    /// evolution of the structure, not the noise, dominates their error) and flat patches little.
    /// </summary>
    /// <param name="patches">Patches in <paramref name="work"/>'s per-patch arrays.</param>
    /// <param name="usable">How many of them are usable.</param>
    private static Shift2D RobustLocation(Workspace work, int patches, int usable, out double spread, out double effective)
    {
        var (dy, dx, texture, ok) = (work.PatchDy, work.PatchDx, work.Texture, work.Usable);
        var idx = work.Indices.AsSpan(0, usable);
        for (int k = 0, n = 0; k < patches; k++) if (ok[k]) idx[n++] = k;
        var t = work.Scratch.AsSpan(0, usable);
        for (int i = 0; i < usable; i++) t[i] = texture[idx[i]];
        double t0 = Math.Max(Statistics.Select(t, usable / 2), 1e-12);
        var prior = work.Prior.AsSpan(0, usable);
        var ys = work.Ys.AsSpan(0, usable);
        var xs = work.Xs.AsSpan(0, usable);
        for (int i = 0; i < usable; i++)
        {
            int k = idx[i];
            prior[i] = texture[k] / (texture[k] + t0);
            ys[i] = dy[k];
            xs[i] = dx[k];
        }
        double total = 0;
        foreach (double p in prior) total += p;
        // Each axis is sorted once; the order of the distances from its median follows from it by a merge.
        var yOrder = work.YOrder.AsSpan(0, usable);
        var xOrder = work.XOrder.AsSpan(0, usable);
        StableOrder(ys, yOrder, work.Keys, work.KeysScratch, work.OrderScratch);
        StableOrder(xs, xOrder, work.Keys, work.KeysScratch, work.OrderScratch);
        double my = Statistics.WeightedMedian(ys, prior, yOrder, total), mx = Statistics.WeightedMedian(xs, prior, xOrder, total);
        double sy = Statistics.GaussianSdPerMad * WeightedMedianDistance(ys, my, yOrder, prior, total, work);
        double sx = Statistics.GaussianSdPerMad * WeightedMedianDistance(xs, mx, xOrder, prior, total, work);
        sy = Math.Max(sy, 1e-3); sx = Math.Max(sx, 1e-3);
        const double C = 4.685;
        double sw = 0, sw2 = 0;
        var u2 = work.Scratch.AsSpan(0, usable);
        var weight = work.Weight.AsSpan(0, usable);
        for (int iteration = 0; iteration < 20; iteration++)
        {
            BiweightTerms(ys, xs, prior, my, mx, C * sy, C * sx, u2, weight);
            double ay = 0, ax = 0;
            sw = 0; sw2 = 0;
            // The sums stay in patch order, one term after another, as the weighted mean's definition adds them.
            for (int i = 0; i < ys.Length; i++)
            {
                if (u2[i] >= 1) continue;
                double wgt = weight[i];
                ay += wgt * ys[i]; ax += wgt * xs[i]; sw += wgt; sw2 += wgt * wgt;
            }
            if (sw <= 0) break;
            double ny = ay / sw, nx = ax / sw;
            bool done = Math.Abs(ny - my) + Math.Abs(nx - mx) < 1e-6;
            my = ny; mx = nx;
            if (done) break;
        }
        spread = Math.Sqrt(0.5 * (sy * sy + sx * sx));
        effective = sw2 > 0 ? sw * sw / sw2 : 1;
        return new Shift2D(my, mx);
    }

    /// <summary>
    /// Per patch shift (y, x): u² = ((y - my) / scaleY)² + ((x - mx) / scaleX)², and the biweight prior (1 - u²)²
    /// (used where u² &lt; 1). SIMD lanes do the scalar expression's operations in its order, so each value is the
    /// scalar one bit for bit; the divisions were most of the location's time.
    /// </summary>
    private static void BiweightTerms(ReadOnlySpan<double> ys, ReadOnlySpan<double> xs, ReadOnlySpan<double> prior, double my, double mx,
        double scaleY, double scaleX, Span<double> u2, Span<double> weight)
    {
        int n = ys.Length, lanes = Vector<double>.Count, i = 0;
        var (centreY, centreX, byY, byX, one) = (new Vector<double>(my), new Vector<double>(mx), new Vector<double>(scaleY), new Vector<double>(scaleX), Vector<double>.One);
        for (; i + lanes <= n; i += lanes)
        {
            var uy = (new Vector<double>(ys.Slice(i, lanes)) - centreY) / byY;
            var ux = (new Vector<double>(xs.Slice(i, lanes)) - centreX) / byX;
            var square = uy * uy + ux * ux;
            square.CopyTo(u2.Slice(i, lanes));
            (new Vector<double>(prior.Slice(i, lanes)) * (one - square) * (one - square)).CopyTo(weight.Slice(i, lanes));
        }
        for (; i < n; i++)
        {
            double uy = (ys[i] - my) / scaleY, ux = (xs[i] - mx) / scaleX;
            u2[i] = uy * uy + ux * ux;
            weight[i] = prior[i] * (1 - u2[i]) * (1 - u2[i]);
        }
    }

    /// <summary>
    /// The weighted median of |v - centre|. Given the values' ascending order, the distances of the values below the
    /// centre ascend backwards and those of the rest forwards (rounding is monotone), so their ascending order is a merge
    /// of the two runs; ties are then put in index order, which is exactly the order a stable sort of the distances gives.
    /// </summary>
    private static double WeightedMedianDistance(ReadOnlySpan<double> values, double centre, ReadOnlySpan<int> order, ReadOnlySpan<double> weights, double total, Workspace work)
    {
        int n = values.Length;
        var distance = work.Scratch.AsSpan(0, n);
        for (int i = 0; i < n; i++) distance[i] = Math.Abs(values[i] - centre);
        int split = 0;
        while (split < n && values[order[split]] < centre) split++;
        var merged = work.OrderScratch.AsSpan(0, n);
        int below = split - 1, above = split;
        for (int m = 0; m < n; m++)
        {
            bool takeBelow = above >= n || (below >= 0 && distance[order[below]] <= distance[order[above]]);
            merged[m] = takeBelow ? order[below--] : order[above++];
        }
        RestoreIndexOrderOfTies(distance, merged);
        return Statistics.WeightedMedian(distance, weights, merged, total);
    }

    /// <summary>
    /// Indices of <paramref name="values"/> in ascending order of value, equal values in index order: a stable sort. An
    /// LSD radix sort over order-preserving 64-bit keys, a byte per pass (a pass on a byte all keys share is skipped):
    /// stable by construction and linear, where a comparison sort of the patch shifts was most of the consensus's
    /// time. The keys order values as Array.Sort does and tie those that Equals ties: NaN first, -0 with +0.
    /// </summary>
    /// <param name="keys">Scratch of at least values.Length keys.</param>
    /// <param name="otherKeys">Scratch of at least values.Length keys.</param>
    /// <param name="otherOrder">Scratch of at least values.Length indices.</param>
    internal static void StableOrder(ReadOnlySpan<double> values, Span<int> order, Span<ulong> keys, Span<ulong> otherKeys, Span<int> otherOrder)
    {
        int n = values.Length;
        if (order.Length != n) throw new ArgumentException($"order holds {order.Length} indices, not {n}", nameof(order));
        keys = keys[..n];
        otherKeys = otherKeys[..n];
        Span<int> indices = order, otherIndices = otherOrder[..n];
        if (n == 0) return;
        for (int i = 0; i < n; i++)
        {
            keys[i] = SortKey(values[i]);
            indices[i] = i;
        }
        Span<int> starts = stackalloc int[256];
        for (int shift = 0; shift < 64; shift += 8)
        {
            starts.Clear();
            foreach (ulong key in keys) starts[(int)(key >> shift) & 0xFF]++;
            if (starts[(int)(keys[0] >> shift) & 0xFF] == n) continue;
            for (int digit = 0, sum = 0; digit < 256; digit++)
            {
                int count = starts[digit];
                starts[digit] = sum;
                sum += count;
            }
            for (int i = 0; i < n; i++)
            {
                int to = starts[(int)(keys[i] >> shift) & 0xFF]++;
                otherKeys[to] = keys[i];
                otherIndices[to] = indices[i];
            }
            var swapKeys = keys; keys = otherKeys; otherKeys = swapKeys;
            var swapIndices = indices; indices = otherIndices; otherIndices = swapIndices;
        }
        if (indices != order) indices.CopyTo(order);
    }

    /// <summary>Unsigned keys in the order of the doubles: NaN lowest, -0 and +0 the same key.</summary>
    private static ulong SortKey(double value)
    {
        const ulong SignBit = 1UL << 63;
        if (double.IsNaN(value)) return 0;
        if (value == 0) return SignBit;
        ulong bits = BitConverter.DoubleToUInt64Bits(value);
        return (bits & SignBit) != 0 ? ~bits : bits | SignBit;
    }

    /// <summary>
    /// <paramref name="order"/> lists indices by non-decreasing value; each run of equal values is put in index order, so
    /// weights add up in the same order whatever produced the runs (the merge of two runs is not stable).
    /// </summary>
    private static void RestoreIndexOrderOfTies(ReadOnlySpan<double> values, Span<int> order)
    {
        for (int start = 0; start < order.Length;)
        {
            int end = start + 1;
            while (end < order.Length && values[order[end]].Equals(values[order[start]])) end++;
            if (end - start > 1) order.Slice(start, end - start).Sort();
            start = end;
        }
    }

    /// <summary>
    /// out(p) = moving(p + shift) by separable Keys cubic convolution (a = -0.5); returns the rows [y0, y1) and
    /// columns [x0, x1) where all 4x4 taps lie inside the image (outside them out is 0 and must not be used).
    /// </summary>
    private static (int Y0, int Y1, int X0, int X1) Resample(BandImage moving, Shift2D shift, float[] output, float[] horizontal, int maxThreads)
    {
        int h = moving.Height, w = moving.Width;
        var m = moving.Data;
        int ny = (int)Math.Floor(shift.Dy), nx = (int)Math.Floor(shift.Dx);
        var ky = Keys(shift.Dy - ny);
        var kx = Keys(shift.Dx - nx);
        // Source index for output x is x + nx + t, t = -1..2.
        int x0 = Math.Max(0, 1 - nx), x1 = Math.Min(w, w - 2 - nx);
        int y0 = Math.Max(0, 1 - ny), y1 = Math.Min(h, h - 2 - ny);
        if (x1 <= x0 || y1 <= y0) return (0, 0, 0, 0);
        // Only the columns [x0, x1) of the rows the vertical pass reads are filtered; nothing outside the returned region
        // is written (the caller reads only inside it). SIMD lanes compute the scalar expression term by term.
        int lanes = Vector<float>.Count;
        var (k0, k1, k2, k3) = (kx[0], kx[1], kx[2], kx[3]);
        var (v0, v1, v2, v3) = (new Vector<float>(k0), new Vector<float>(k1), new Vector<float>(k2), new Vector<float>(k3));
        KernelThreads.For(y0 + ny - 1, y1 + ny + 2, maxThreads, y =>
        {
            int b = y * w;
            var source = m.AsSpan();
            var target = horizontal.AsSpan();
            int x = x0;
            for (; x + lanes <= x1; x += lanes)
            {
                int s = b + x + nx - 1;
                var sum = v0 * new Vector<float>(source.Slice(s, lanes)) + v1 * new Vector<float>(source.Slice(s + 1, lanes))
                    + v2 * new Vector<float>(source.Slice(s + 2, lanes)) + v3 * new Vector<float>(source.Slice(s + 3, lanes));
                sum.CopyTo(target.Slice(b + x, lanes));
            }
            for (; x < x1; x++)
            {
                int s = b + x + nx - 1;
                target[b + x] = k0 * source[s] + k1 * source[s + 1] + k2 * source[s + 2] + k3 * source[s + 3];
            }
        });
        var (l0, l1, l2, l3) = (ky[0], ky[1], ky[2], ky[3]);
        var (u0, u1, u2, u3) = (new Vector<float>(l0), new Vector<float>(l1), new Vector<float>(l2), new Vector<float>(l3));
        KernelThreads.For(y0, y1, maxThreads, y =>
        {
            int s = (y + ny - 1) * w;
            var t = horizontal.AsSpan();
            var target = output.AsSpan(y * w, w);
            int x = x0;
            for (; x + lanes <= x1; x += lanes)
            {
                var sum = u0 * new Vector<float>(t.Slice(s + x, lanes)) + u1 * new Vector<float>(t.Slice(s + w + x, lanes))
                    + u2 * new Vector<float>(t.Slice(s + 2 * w + x, lanes)) + u3 * new Vector<float>(t.Slice(s + 3 * w + x, lanes));
                sum.CopyTo(target.Slice(x, lanes));
            }
            for (; x < x1; x++)
                target[x] = l0 * t[s + x] + l1 * t[s + w + x] + l2 * t[s + 2 * w + x] + l3 * t[s + 3 * w + x];
        });
        return (y0, y1, x0, x1);
    }

    /// <summary>Keys (a = -0.5) weights of the taps at -1, 0, 1, 2 for a fractional position f in [0, 1).</summary>
    private static float[] Keys(double f)
    {
        static double K(double t)
        {
            t = Math.Abs(t);
            const double a = -0.5;
            if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
            if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
            return 0;
        }
        return [(float)K(f + 1), (float)K(f), (float)K(1 - f), (float)K(2 - f)];
    }
}
