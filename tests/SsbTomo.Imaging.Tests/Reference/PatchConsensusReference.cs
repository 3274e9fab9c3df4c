using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Reference;

// The band images, the normalised Gaussian blur and the patch consensus as they were before the speed-ups (commit c98af02),
// kept as the reference the optimised ones must match bit for bit.

/// <summary>
/// A slice prepared for patch-consensus registration: the centred crop, band-passed (difference of Gaussians,
/// normalised convolution at the crop border) and scaled to unit standard deviation, so that global gain and
/// brightness changes between slices do not matter.
/// </summary>
internal sealed class BandImageReference
{
    private BandImageReference(float[] data, int height, int width)
    {
        Data = data;
        Height = height;
        Width = width;
    }

    public float[] Data { get; }
    public int Height { get; }
    public int Width { get; }

    public static BandImageReference Of(Image2D<float> image, int maxSizePx, PatchConsensusOptions options)
    {
        int h = Math.Min(image.Height, maxSizePx), w = Math.Min(image.Width, maxSizePx);
        int y0 = (image.Height - h) / 2, x0 = (image.Width - w) / 2;
        var crop = new float[h * w];
        var valid = new float[h * w];
        for (int y = 0; y < h; y++)
        {
            var row = image.Row(y0 + y).Slice(x0, w);
            for (int x = 0; x < w; x++)
            {
                float v = row[x];
                bool ok = float.IsFinite(v);
                crop[y * w + x] = ok ? v : 0f;
                valid[y * w + x] = ok ? 1f : 0f;
            }
        }
        var fine = GaussianBlurReference.Normalised(crop, valid, h, w, options.FineSigmaPx);
        var coarse = GaussianBlurReference.Normalised(crop, valid, h, w, options.CoarseSigmaPx);
        var band = new float[h * w];
        double sum = 0, sum2 = 0;
        long n = 0;
        for (int i = 0; i < band.Length; i++)
        {
            if (valid[i] == 0) { band[i] = 0; continue; }
            float v = fine[i] - coarse[i];
            band[i] = v;
            sum += v; sum2 += (double)v * v; n++;
        }
        double mean = n > 0 ? sum / n : 0;
        double sd = n > 1 ? Math.Sqrt(Math.Max(sum2 / n - mean * mean, 0)) : 0;
        float scale = sd > 0 ? (float)(1 / sd) : 1f;
        for (int i = 0; i < band.Length; i++) band[i] = valid[i] == 0 ? 0 : (float)((band[i] - mean) * scale);
        return new BandImageReference(band, h, w);
    }
}

/// <summary>Separable Gaussian blur by normalised convolution (pixels with weight 0 and outside the image do not count).</summary>
internal static class GaussianBlurReference
{
    public static float[] Normalised(float[] data, float[] weight, int h, int w, double sigma)
    {
        if (sigma <= 0) return (float[])data.Clone();
        int r = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var k = new float[2 * r + 1];
        for (int i = -r; i <= r; i++) k[i + r] = (float)Math.Exp(-0.5 * i * i / (sigma * sigma));
        var weighted = new float[h * w];
        for (int i = 0; i < weighted.Length; i++) weighted[i] = data[i] * weight[i];
        var num = Blur(weighted, h, w, k, r);
        var den = Blur(weight, h, w, k, r);
        var result = new float[h * w];
        for (int i = 0; i < result.Length; i++) result[i] = den[i] > 1e-6f ? num[i] / den[i] : 0f;
        return result;
    }

    private static float[] Blur(float[] src, int h, int w, float[] k, int r)
    {
        var tmp = new float[h * w];
        Parallel.For(0, h, y =>
        {
            int b = y * w;
            for (int x = 0; x < w; x++)
            {
                int lo = Math.Max(0, x - r), hi = Math.Min(w - 1, x + r);
                float s = 0;
                for (int xx = lo; xx <= hi; xx++) s += k[xx - x + r] * src[b + xx];
                tmp[b + x] = s;
            }
        });
        var dst = new float[h * w];
        Parallel.For(0, h, y =>
        {
            int lo = Math.Max(0, y - r), hi = Math.Min(h - 1, y + r);
            var o = dst.AsSpan(y * w, w);
            for (int yy = lo; yy <= hi; yy++)
            {
                float kk = k[yy - y + r];
                var row = tmp.AsSpan(yy * w, w);
                for (int x = 0; x < w; x++) o[x] += kk * row[x];
            }
        });
        return dst;
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
/// iteration, independent of the number of patches.
/// </para>
/// </summary>
internal static class PatchConsensusReference
{
    private const int MaxIterations = 6; // the algorithm's cap (PatchConsensus.MaxIterations), not a speed-up

    public readonly record struct Result(Shift2D Shift, double Spread, int Patches, double EffectivePatches)
    {
        /// <summary>Inverse of the estimated variance of <see cref="Shift"/> (spread² / effective number of patches).</summary>
        public double Weight => EffectivePatches / Math.Max(Spread * Spread, 1e-4);
    }

    /// <summary>Shift s such that moving(p + s) matches reference(p); null when too few patches are usable.</summary>
    public static Result? Estimate(BandImageReference reference, BandImageReference moving, Shift2D start, PatchConsensusOptions options)
    {
        int h = reference.Height, w = reference.Width;
        if (moving.Height != h || moving.Width != w)
            throw new ArgumentException("band images differ in size", nameof(moving));
        int cell = options.StridePx, cellsPerPatch = options.PatchSizePx / options.StridePx;
        int cy = h / cell, cx = w / cell;
        int py = cy - cellsPerPatch + 1, px = cx - cellsPerPatch + 1;
        if (py < 1 || px < 1) return null;

        var r = reference.Data;
        var gy = new float[h * w];
        var gx = new float[h * w];
        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
            {
                gy[y * w + x] = 0.5f * (r[(y + 1) * w + x] - r[(y - 1) * w + x]);
                gx[y * w + x] = 0.5f * (r[y * w + x + 1] - r[y * w + x - 1]);
            }
        // Cell sums: yy, yx, xx, ye, xe, valid count.
        const int Q = 6;
        var cells = new double[cy * cx * Q];
        var resampled = new float[h * w];
        int patches = py * px;
        var dyP = new double[patches];
        var dxP = new double[patches];
        var texture = new double[patches];
        var ok = new bool[patches];
        var shift = start;
        Result? last = null;
        Shift2D? previousStep = null;
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            var (vy0, vy1, vx0, vx1) = Resample(moving, shift, resampled);
            // Valid rows/cols of the resampled image, also excluding the 1-px gradient border.
            vy0 = Math.Max(vy0, 1); vx0 = Math.Max(vx0, 1); vy1 = Math.Min(vy1, h - 1); vx1 = Math.Min(vx1, w - 1);
            Array.Clear(cells);
            Parallel.For(0, cy, j =>
            {
                for (int i = 0; i < cx; i++)
                {
                    double syy = 0, syx = 0, sxx = 0, sye = 0, sxe = 0;
                    int count = 0;
                    int yA = Math.Max(j * cell, vy0), yB = Math.Min((j + 1) * cell, vy1);
                    int xA = Math.Max(i * cell, vx0), xB = Math.Min((i + 1) * cell, vx1);
                    for (int y = yA; y < yB; y++)
                        for (int x = xA; x < xB; x++)
                        {
                            int p = y * w + x;
                            double e = resampled[p] - r[p];
                            double a = gy[p], b = gx[p];
                            syy += a * a; syx += a * b; sxx += b * b; sye += a * e; sxe += b * e;
                            count++;
                        }
                    int o = (j * cx + i) * Q;
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
                            int o = ((j + a) * cx + i + b) * Q;
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
            var step = RobustLocation(dyP, dxP, texture, ok, out double spread, out double effective);
            double length = step.Length;
            // The iteration rule is the algorithm's, not a speed-up: every other step extrapolated (Aitken) where the
            // steps shrink geometrically; PatchConsensusStepTests check that rule on its own.
            var move = PatchConsensus.Accelerated(step, previousStep);
            // Gauss-Newton steps beyond ~1 px leave the linear range of the smoothed images; take them in parts.
            double moveLength = move.Length;
            if (moveLength > 1) move = new Shift2D(move.Dy / moveLength, move.Dx / moveLength);
            previousStep = move == step ? step : null;
            shift += move;
            last = new Result(shift, spread, usable, effective);
            if (length < 1e-4) break;
        }
        return last;
    }

    /// <summary>
    /// Weighted Tukey-biweight location in 2D of the patch shifts (start: weighted median per axis; scale: weighted
    /// MAD per axis). Weights: texture t / (t + median t), so well-textured patches count about equally (the
    /// evolution of the structure, not the noise, dominates their error) and flat patches little.
    /// </summary>
    private static Shift2D RobustLocation(double[] dy, double[] dx, double[] texture, bool[] ok, out double spread, out double effective)
    {
        var idx = Enumerable.Range(0, dy.Length).Where(k => ok[k]).ToArray();
        var t = idx.Select(k => texture[k]).ToArray();
        Array.Sort(t);
        double t0 = Math.Max(t[t.Length / 2], 1e-12);
        var prior = idx.Select(k => texture[k] / (texture[k] + t0)).ToArray();
        var ys = idx.Select(k => dy[k]).ToArray();
        var xs = idx.Select(k => dx[k]).ToArray();
        double my = WeightedMedian(ys, prior), mx = WeightedMedian(xs, prior);
        double sy = 1.4826 * WeightedMedian(ys.Select(v => Math.Abs(v - my)).ToArray(), prior);
        double sx = 1.4826 * WeightedMedian(xs.Select(v => Math.Abs(v - mx)).ToArray(), prior);
        sy = Math.Max(sy, 1e-3); sx = Math.Max(sx, 1e-3);
        const double C = 4.685;
        double sw = 0, sw2 = 0;
        for (int iteration = 0; iteration < 20; iteration++)
        {
            double ay = 0, ax = 0;
            sw = 0; sw2 = 0;
            for (int i = 0; i < ys.Length; i++)
            {
                double uy = (ys[i] - my) / (C * sy), ux = (xs[i] - mx) / (C * sx);
                double u2 = uy * uy + ux * ux;
                if (u2 >= 1) continue;
                double wgt = prior[i] * (1 - u2) * (1 - u2);
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

    private static double WeightedMedian(double[] values, double[] weights)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        double total = weights.Sum(), acc = 0;
        foreach (int i in order)
        {
            acc += weights[i];
            if (acc >= 0.5 * total) return values[i];
        }
        return values[order[^1]];
    }

    /// <summary>
    /// out(p) = moving(p + shift) by separable Keys cubic convolution (a = -0.5); returns the rows [y0, y1) and
    /// columns [x0, x1) where all 4x4 taps lie inside the image (outside them out is 0 and must not be used).
    /// </summary>
    private static (int Y0, int Y1, int X0, int X1) Resample(BandImageReference moving, Shift2D shift, float[] output)
    {
        int h = moving.Height, w = moving.Width;
        var m = moving.Data;
        int ny = (int)Math.Floor(shift.Dy), nx = (int)Math.Floor(shift.Dx);
        var ky = Keys(shift.Dy - ny);
        var kx = Keys(shift.Dx - nx);
        // Source index for output x is x + nx + t, t = -1..2.
        int x0 = Math.Max(0, 1 - nx), x1 = Math.Min(w, w - 2 - nx);
        int y0 = Math.Max(0, 1 - ny), y1 = Math.Min(h, h - 2 - ny);
        Array.Clear(output);
        if (x1 <= x0 || y1 <= y0) return (0, 0, 0, 0);
        var tmp = new float[h * w];
        Parallel.For(0, h, y =>
        {
            int b = y * w;
            for (int x = x0; x < x1; x++)
            {
                int s = b + x + nx - 1;
                tmp[b + x] = kx[0] * m[s] + kx[1] * m[s + 1] + kx[2] * m[s + 2] + kx[3] * m[s + 3];
            }
        });
        Parallel.For(y0, y1, y =>
        {
            int s = (y + ny - 1) * w;
            for (int x = x0; x < x1; x++)
                output[y * w + x] = ky[0] * tmp[s + x] + ky[1] * tmp[s + w + x] + ky[2] * tmp[s + 2 * w + x] + ky[3] * tmp[s + 3 * w + x];
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
