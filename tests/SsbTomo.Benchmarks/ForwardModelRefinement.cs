using SsbTomo.Imaging;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Prototype (study only): labels refined by analysis by synthesis. The labels are rendered as the microscope would
/// image them (class means, a pore voxel showing e(d) of the contrast of the first solid d slices behind it: the
/// shine-through of Prill et al. 2013), blurred with the imaging and denoising point-spread function, and compared with
/// the denoised stack; iterated conditional modes (Besag 1986) then move boundary voxels to the neighbouring label that
/// lowers the squared residual most, a sparse set of local winners per round so that neighbours blurred into each
/// other do not all flip at once.
/// </summary>
internal static class ForwardModelRefinement
{
    /// <summary>Study switch: shine-through as α·exp(−(d−1)/λ) (true) or a free share per distance (false, the first version).</summary>
    private static readonly bool ParametricShine = Environment.GetEnvironmentVariable("SSBTOMO_FORWARD_FREE_SHINE") is null;

    public sealed record Model(double[] MeanByLabel, double[] ShineByDistance, double SigmaXy, double SigmaZ, double Potts);

    public static Volume<byte> Refine(Volume<byte> labels, Volume<float> observed, Model model, int rounds, int suppressXy, int suppressZ, bool refitMeans, bool fixedWalls, out int[] changesPerRound, out double[] energyPerRound, bool activeRimOnly = false)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var plane = height * width;
        var n = labels.Length;
        var current = labels.Clone();
        var render = new float[n];
        var predicted = new float[n];
        var scratch = new float[n];
        var correlation = new float[n];
        var gain = new float[n];
        var choice = new byte[n];
        var kxy = Kernel(model.SigmaXy);
        var kz = Kernel(model.SigmaZ);
        double SumSquares(double[] k) => k.Sum(w => w * w);
        var g2 = SumSquares(kxy) * SumSquares(kxy) * SumSquares(kz);
        var changes = new List<int>();
        var energies = new List<double>();
        var wallLabel = new byte[n];
        var wallDistance = new byte[n];
        Render(current, model, render, wallLabel, wallDistance, depth, plane, true);
        for (var round = 0; round < rounds; round++)
        {
            if (refitMeans && round % 5 == 0)
            {
                Render(current, model, render, wallLabel, wallDistance, depth, plane, !fixedWalls);
                model = model with { MeanByLabel = FitMeans(current, observed, model, wallLabel, wallDistance, kxy, kz) };
                Console.WriteLine("   fitted means: " + string.Join(" ", model.MeanByLabel.Select(m => m.ToString("0"))));
            }
            Render(current, model, render, wallLabel, wallDistance, depth, plane, !fixedWalls);
            Blur(render, predicted, scratch, depth, height, width, kxy, kz);
            double energy = 0;
            for (long i = 0; i < n; i++) { render[i] = observed.Data[i] - predicted[i]; energy += (double)render[i] * render[i]; }
            energies.Add(energy / n);
            if (round == 0 || round == rounds - 1)
            {
                var sum = new double[5]; var sq = new double[5]; var cnt = new long[5];
                for (var z = 1; z < depth - 1; z++)
                    for (var y = 1; y < height - 1; y++)
                        for (var x = 1; x < width - 1; x++)
                        {
                            var k = (long)z * plane + y * width + x;
                            var a = current.Data[k];
                            if (current.Data[k - 1] != a || current.Data[k + 1] != a || current.Data[k - width] != a || current.Data[k + width] != a || current.Data[k - plane] != a || current.Data[k + plane] != a) continue;
                            sum[a] += render[k]; sq[a] += (double)render[k] * render[k]; cnt[a]++;
                        }
                Console.WriteLine("   interior residual by label (mean, sd, count): " + string.Join("; ", Enumerable.Range(1, 4).Select(a => $"{a}: {sum[a] / Math.Max(1, cnt[a]):0} {Math.Sqrt(sq[a] / Math.Max(1, cnt[a])):0} {cnt[a]}")));
                Console.WriteLine("   means by label: " + string.Join(" ", model.MeanByLabel.Select(m => m.ToString("0"))));
            }
            Blur(render, correlation, scratch, depth, height, width, kxy, kz);
            // Candidate per voxel: the neighbouring label that lowers the energy most.
            Parallel.For(0, depth, z =>
            {
                Span<byte> seen = stackalloc byte[6];
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var k = (long)z * plane + y * width + x;
                        gain[k] = 0;
                        var a = current.Data[k];
                        var count = 0;
                        if (x > 0) seen[count++] = current.Data[k - 1];
                        if (x + 1 < width) seen[count++] = current.Data[k + 1];
                        if (y > 0) seen[count++] = current.Data[k - width];
                        if (y + 1 < height) seen[count++] = current.Data[k + width];
                        if (z > 0) seen[count++] = current.Data[k - plane];
                        if (z + 1 < depth) seen[count++] = current.Data[k + plane];
                        if (activeRimOnly)
                        {
                            // Only the layer just outside the active material moves, among void, carbon and electrolyte:
                            // the contact-loss faces, whatever the neighbours' labels.
                            var touches = false;
                            for (var j = 0; j < count; j++) touches |= seen[j] == PhaseLabel.Nmc;
                            if (a == PhaseLabel.Nmc || !touches) continue;
                            var rest = RenderedAs(a, k, model, wallLabel, wallDistance);
                            var unlikeRest = 0;
                            for (var j = 0; j < count; j++) if (seen[j] != a) unlikeRest++;
                            var top = 0.0;
                            var topLabel = a;
                            foreach (var b in (ReadOnlySpan<byte>)[PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps])
                            {
                                if (b == a) continue;
                                var unlikeB = 0;
                                for (var t = 0; t < count; t++) if (seen[t] != b) unlikeB++;
                                var delta = RenderedAs(b, k, model, wallLabel, wallDistance) - rest;
                                var energy = -2 * delta * correlation[k] + delta * delta * g2 + model.Potts * (unlikeB - unlikeRest);
                                if (-energy > top) { top = -energy; topLabel = b; }
                            }
                            gain[k] = (float)top;
                            choice[k] = topLabel;
                            continue;
                        }
                        var ra = RenderedAs(a, k, model, wallLabel, wallDistance);
                        var unlikeA = 0;
                        for (var j = 0; j < count; j++) if (seen[j] != a) unlikeA++;
                        var best = 0.0;
                        byte bestLabel = a;
                        for (var j = 0; j < count; j++)
                        {
                            var b = seen[j];
                            if (b == a) continue;
                            var unlikeB = 0;
                            for (var t = 0; t < count; t++) if (seen[t] != b) unlikeB++;
                            var delta = RenderedAs(b, k, model, wallLabel, wallDistance) - ra;
                            var energy = -2 * delta * correlation[k] + delta * delta * g2 + model.Potts * (unlikeB - unlikeA);
                            if (-energy > best) { best = -energy; bestLabel = b; }
                        }
                        gain[k] = (float)best;
                        choice[k] = bestLabel;
                    }
            });
            // Accept local winners only (3x3x3), so that voxels sharing one blurred residual do not all flip.
            var accepted = 0;
            var next = current.Clone();
            Parallel.For(0, depth, () => 0, (z, _, local) =>
            {
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var k = (long)z * plane + y * width + x;
                        var g = gain[k];
                        if (g <= 0) continue;
                        var winner = true;
                        for (var dz = -suppressZ; dz <= suppressZ && winner; dz++)
                            for (var dy = -suppressXy; dy <= suppressXy && winner; dy++)
                                for (var dx = -suppressXy; dx <= suppressXy; dx++)
                                {
                                    int zz = z + dz, yy = y + dy, xx = x + dx;
                                    if ((dz | dy | dx) == 0 || zz < 0 || zz >= depth || yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
                                    var j = (long)zz * plane + yy * width + xx;
                                    if (gain[j] > g || (gain[j] == g && j < k)) { winner = false; break; }
                                }
                        if (!winner) continue;
                        next.Data[k] = choice[k];
                        local++;
                    }
                return local;
            }, local => Interlocked.Add(ref accepted, local));
            current = next;
            changes.Add(accepted);
            if (accepted == 0) break;
        }
        changesPerRound = [.. changes];
        energyPerRound = [.. energies];
        return current;
    }

    /// <summary>Least-squares pure-phase grey levels: the observed stack against the blurred indicator of each label (a pore voxel counted 1 − e(d) for void and e(d) for its wall's label).</summary>
    private static double[] FitMeans(Volume<byte> labels, Volume<float> observed, Model model, byte[] wallLabel, byte[] wallDistance, double[] kxy, double[] kz)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var n = labels.Length;
        var blurred = new float[4][];
        var indicator = new float[n];
        var scratch = new float[n];
        for (var c = 1; c <= 4; c++)
        {
            for (long k = 0; k < n; k++)
            {
                var a = labels.Data[k];
                double w = 0;
                if (a == PhaseLabel.Void)
                {
                    var d = wallDistance[k];
                    var e = d == 0 || d >= model.ShineByDistance.Length ? 0 : model.ShineByDistance[d];
                    if (c == PhaseLabel.Void) w = 1 - e;
                    else if (wallLabel[k] == c) w = e;
                }
                else if (a == c) w = 1;
                indicator[k] = (float)w;
            }
            blurred[c - 1] = new float[n];
            Blur(indicator, blurred[c - 1], scratch, depth, height, width, kxy, kz);
        }
        var ata = new double[4, 4];
        var atb = new double[4];
        for (long k = 0; k < n; k++)
        {
            for (var i = 0; i < 4; i++)
            {
                atb[i] += blurred[i][k] * (double)observed.Data[k];
                for (var j = 0; j < 4; j++) ata[i, j] += blurred[i][k] * (double)blurred[j][k];
            }
        }
        // Gaussian elimination (4x4, well conditioned when all four labels occur).
        var m = new double[4, 5];
        for (var i = 0; i < 4; i++) { for (var j = 0; j < 4; j++) m[i, j] = ata[i, j]; m[i, 4] = atb[i]; }
        for (var col = 0; col < 4; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < 4; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            for (var j = 0; j < 5; j++) (m[col, j], m[pivot, j]) = (m[pivot, j], m[col, j]);
            if (Math.Abs(m[col, col]) < 1e-9) return model.MeanByLabel;
            for (var r = 0; r < 4; r++)
            {
                if (r == col) continue;
                var f = m[r, col] / m[col, col];
                for (var j = col; j < 5; j++) m[r, j] -= f * m[col, j];
            }
        }
        var means = new double[5];
        for (var c = 1; c <= 4; c++) means[c] = m[c - 1, 4] / m[c - 1, c - 1];
        return means;
    }

    /// <summary>
    /// The imaging model estimated from the stack and its first labels: for each candidate in-plane σ, the pure-phase
    /// grey levels and the shine-through share per distance from the wall by alternating least squares (linear in each
    /// given the other); the σ whose fit leaves the smallest residual wins.
    /// </summary>
    public static (Model Model, double Energy)[] Estimate(Volume<byte> labels, Volume<float> observed, double[] startMeans, double[] sigmasXy, double sigmaZ, double potts, int shineReach = 8)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var plane = height * width;
        var n = labels.Length;
        var wallLabel = new byte[n];
        var wallDistance = new byte[n];
        var render = new float[n];
        var results = new List<(Model, double)>();
        foreach (var sigmaXy in sigmasXy)
        {
            var model = new Model(startMeans, new double[shineReach + 1], sigmaXy, sigmaZ, potts);
            Render(labels, model, render, wallLabel, wallDistance, depth, plane, true);
            var kxy = Kernel(sigmaXy);
            var kz = Kernel(sigmaZ);
            var scratch = new float[n];
            double energy = 0;
            for (var iteration = 0; iteration < 3; iteration++)
            {
                model = model with { MeanByLabel = FitMeans(labels, observed, model, wallLabel, wallDistance, kxy, kz) };
                // Shine shares: residual after the means against the blurred (wall − void) contrast of the pores at each distance.
                var regressors = new float[shineReach][];
                var indicator = new float[n];
                var baseRender = new float[n];
                var baseModel = model with { ShineByDistance = new double[shineReach + 1] };
                for (long k = 0; k < n; k++) baseRender[k] = (float)RenderedAs(labels.Data[k], k, baseModel, wallLabel, wallDistance);
                var predicted = new float[n];
                Blur(baseRender, predicted, scratch, depth, height, width, kxy, kz);
                for (var d = 1; d <= shineReach; d++)
                {
                    for (long k = 0; k < n; k++)
                        indicator[k] = labels.Data[k] == PhaseLabel.Void && wallDistance[k] == d
                            ? (float)(model.MeanByLabel[wallLabel[k]] - model.MeanByLabel[PhaseLabel.Void]) : 0f;
                    regressors[d - 1] = new float[n];
                    Blur(indicator, regressors[d - 1], scratch, depth, height, width, kxy, kz);
                }
                var table = new double[shineReach + 1];
                if (ParametricShine)
                {
                    // Neighbouring distances' regressors overlap under the z blur, so a free share per distance oscillates
                    // (0.00 0.30 0.00 0.10 on family 14); shine-through decays with depth (Prill et al. 2013): fit
                    // α·exp(−(d−1)/λ), α by least squares for each λ on a grid, the λ with the smallest residual.
                    var bestResidual = double.PositiveInfinity;
                    foreach (var decay in new[] { 0.5, 1.0, 2.0, 3.0, 5.0, 8.0 })
                    {
                        double rr = 0, rt = 0, tt = 0;
                        for (long k = 0; k < n; k++)
                        {
                            double r = 0;
                            for (var d = 1; d <= shineReach; d++) r += Math.Exp(-(d - 1) / decay) * regressors[d - 1][k];
                            var t = observed.Data[k] - predicted[k];
                            rr += r * r; rt += r * t; tt += t * t;
                        }
                        var alpha = rr > 0 ? Math.Clamp(rt / rr, 0, 1) : 0;
                        var residual = tt - 2 * alpha * rt + alpha * alpha * rr;
                        if (residual < bestResidual)
                        {
                            bestResidual = residual;
                            for (var d = 1; d <= shineReach; d++) table[d] = alpha * Math.Exp(-(d - 1) / decay);
                        }
                    }
                }
                else
                {
                    var shares = SolveLeastSquares(regressors, observed.Data, predicted);
                    for (var d = 1; d <= shineReach; d++) table[d] = Math.Clamp(shares[d - 1], 0, 1);
                }
                model = model with { ShineByDistance = table };
                var full = new float[n];
                for (long k = 0; k < n; k++) full[k] = (float)RenderedAs(labels.Data[k], k, model, wallLabel, wallDistance);
                Blur(full, predicted, scratch, depth, height, width, kxy, kz);
                energy = 0;
                for (long k = 0; k < n; k++) { var r = observed.Data[k] - predicted[k]; energy += (double)r * r; }
                energy /= n;
            }
            results.Add((model, energy));
        }
        return [.. results];
    }

    /// <summary>Least squares for x in observed − offset ≈ Σ x_i regressor_i (normal equations, partial pivoting).</summary>
    private static double[] SolveLeastSquares(float[][] regressors, float[] observed, float[] offset)
    {
        var m = regressors.Length;
        var a = new double[m, m + 1];
        for (long k = 0; k < observed.Length; k++)
        {
            var target = observed[k] - offset[k];
            for (var i = 0; i < m; i++)
            {
                var ri = regressors[i][k];
                if (ri == 0) continue;
                a[i, m] += ri * (double)target;
                for (var j = 0; j < m; j++) a[i, j] += ri * (double)regressors[j][k];
            }
        }
        for (var col = 0; col < m; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < m; r++) if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col])) pivot = r;
            for (var j = 0; j <= m; j++) (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
            if (Math.Abs(a[col, col]) < 1e-9) { a[col, col] = 1; a[col, m] = 0; for (var r = 0; r < m; r++) if (r != col) a[r, col] = 0; continue; }
            for (var r = 0; r < m; r++)
            {
                if (r == col) continue;
                var f = a[r, col] / a[col, col];
                for (var j = col; j <= m; j++) a[r, j] -= f * a[col, j];
            }
        }
        var x = new double[m];
        for (var i = 0; i < m; i++) x[i] = a[i, m] / a[i, i];
        return x;
    }

    private static double RenderedAs(byte label, long k, Model model, byte[] wallLabel, byte[] wallDistance)
    {
        var mean = model.MeanByLabel[label];
        if (label != PhaseLabel.Void) return mean;
        var d = wallDistance[k];
        if (d == 0 || d >= model.ShineByDistance.Length) return mean;
        return mean + model.ShineByDistance[d] * (model.MeanByLabel[wallLabel[k]] - mean);
    }

    /// <summary>The labels as the model images them before any blur: class means, pores lit by the first solid behind them.</summary>
    public static float[] Rendered(Volume<byte> labels, Model model)
    {
        var n = labels.Length;
        var render = new float[n];
        Render(labels, model, render, new byte[n], new byte[n], labels.Depth, labels.SliceLength, true);
        return render;
    }

    /// <summary>Separable Gaussian blur of a rendered volume (in-plane σ, σ along z), edges clamped.</summary>
    public static float[] Blurred(float[] source, int depth, int height, int width, double sigmaXy, double sigmaZ)
    {
        var target = new float[source.Length];
        Blur(source, target, new float[source.Length], depth, height, width, Kernel(sigmaXy), Kernel(sigmaZ));
        return target;
    }

    /// <summary>Rendered grey per voxel; for every voxel the first solid behind it along +z (label, distance 1..) within the shine table.</summary>
    private static void Render(Volume<byte> labels, Model model, float[] render, byte[] wallLabel, byte[] wallDistance, int depth, int plane, bool updateWalls)
    {
        var reach = model.ShineByDistance.Length - 1;
        Parallel.For(0, plane, i =>
        {
            byte behind = 0;
            var distance = int.MaxValue;
            for (var z = depth - 1; z >= 0; z--)
            {
                var k = (long)z * plane + i;
                var label = labels.Data[k];
                if (updateWalls)
                {
                    wallLabel[k] = behind;
                    wallDistance[k] = (byte)(distance <= reach ? distance : 0);
                }
                render[k] = (float)RenderedAs(label, k, model, wallLabel, wallDistance);
                if (label != PhaseLabel.Void) { behind = label; distance = 1; }
                else if (distance != int.MaxValue) distance++;
            }
        });
    }

    private static double[] Kernel(double sigma)
    {
        if (sigma <= 0) return [1.0];
        var radius = (int)Math.Ceiling(3.5 * sigma);
        var k = new double[2 * radius + 1];
        for (var i = -radius; i <= radius; i++) k[i + radius] = Math.Exp(-0.5 * i * i / (sigma * sigma));
        var sum = k.Sum();
        for (var i = 0; i < k.Length; i++) k[i] /= sum;
        return k;
    }

    /// <summary>Separable blur, x then y then z, edges clamped.</summary>
    private static void Blur(float[] source, float[] target, float[] scratch, int depth, int height, int width, double[] kxy, double[] kz)
    {
        Pass(source, target, depth, height, width, kxy, 1, width);
        Pass(target, scratch, depth, height, width, kxy, width, height);
        Pass(scratch, target, depth, height, width, kz, (long)width * height, depth);
    }

    private static void Pass(float[] source, float[] target, int depth, int height, int width, double[] kernel, long stride, int size)
    {
        var radius = kernel.Length / 2;
        long n = (long)depth * height * width;
        Parallel.For(0, depth * height, row =>
        {
            var z = row / height;
            var y = row % height;
            for (var x = 0; x < width; x++)
            {
                var k = ((long)z * height + y) * width + x;
                var position = stride == 1 ? x : stride == width ? y : z;
                double acc = 0;
                for (var t = -radius; t <= radius; t++)
                {
                    var p = Math.Clamp(position + t, 0, size - 1);
                    acc += kernel[t + radius] * source[k + (p - position) * stride];
                }
                target[k] = (float)acc;
            }
        });
        _ = n;
    }
}
