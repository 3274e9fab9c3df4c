using System.Numerics;
using System.Runtime.Intrinsics;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// The sections of particles whose blobs are not whole and compact (cut by the field edge, merged with touching
/// neighbours), found as the circles their outlines follow.
/// <para>
/// Why: where particles are large against the field and densely packed, few or none of their sections are whole and
/// apart, and the drift between the few that are rests on registration alone, which drifts with the evolving
/// structure. A sphere's section is a circle about the sphere's centre in every slice, whatever cuts or joins the blob
/// around it, so the part of the outline that is still the particle's own edge places the particle as well as a
/// whole section's centroid does.
/// </para>
/// <para>
/// Method: subpixel edge points where the smoothed slice crosses the threshold between a blob pixel and a background
/// pixel (never along the field edge, which is no particle edge); circles found by RANSAC (Fischler &amp; Bolles 1981,
/// circumcircles of random point triples, seeded per blob so the result depends on the slice alone), refined by
/// geometric least squares on their inliers (Gauss-Newton, started from Kåsa's algebraic fit, Kåsa 1976), one circle
/// after another on the points the earlier ones left. A circle counts only when its inliers cover enough of its
/// circumference (<see cref="ParticleDetectionOptions.MinArcFraction"/>) and its disc lies inside the blob: a convex
/// particle's section fills its circle, a concave outline between two particles does not. A short arc leaves its centre
/// poorly determined along the arc's axis; each coordinate of the centre carries its variance from the fit's normal
/// matrix relative to a whole circle's (<see cref="ParticleSection.VarianceScaleY"/>), so that a particle cut by the
/// field edge still places the drift along that edge.
/// </para>
/// </summary>
internal static class SectionArcs
{
    // Geometry tolerances in pixels, not grey levels or phase proportions; tunings, checked across the phantom family
    // (8- and 16-bit members; seeds 1-24 and 101-136 all within 0.5 px drift since the quarter-circle arcs and their
    // variance scales, session 20) and the presets, not on a real stack.
    /// <summary>An edge point within this distance of a circle supports it: subpixel threshold crossings scatter ~0.3-0.5 px under noise.</summary>
    private const double InlierPx = 0.8;
    /// <summary>RANSAC triples per circle: with half the points on one circle, 300 draws miss it with probability (7/8)^300.</summary>
    private const int Samples = 300;
    /// <summary>Arc coverage is counted in 10° sectors (<see cref="ParticleDetectionOptions.MinArcFraction"/> of them must hold points).</summary>
    private const int AngleBins = 36;
    /// <summary>A sector counts as covered when it holds half the points a fully traced outline would put there (one per pixel of arc).</summary>
    private const double MinBinFill = 0.5;
    /// <summary>Share of the (inset) disc that must lie inside the blob: a convex section fills its circle, a gap between two particles does not.</summary>
    private const double MinDiscInside = 0.97;
    /// <summary>Most circles taken from one merged blob (touching particles in one slice of a packed cathode).</summary>
    private const int MaxCirclesPerBlob = 8;
    /// <summary>
    /// Smaller circles are not trusted: below ~6 px radius a 10° sector holds about one edge pixel and the centre is poorly
    /// determined. In pixels, so at coarse pixels (e.g. 200 nm, a 2 µm particle is 5 px across its radius) small particles
    /// fall back to the whole-section and registration path.
    /// </summary>
    private const double MinRadiusPx = 6;
    /// <summary>The disc test shrinks the circle by this much, so blur and the subpixel edge do not count as outside.</summary>
    private const double DiscInsetPx = 1.5;

    public static List<ParticleSection> Fit(ComponentLabels components, HashSet<int> ids, float[] smooth, float[] valid, int h, int w, float threshold, ParticleDetectionOptions options,
        int maxThreads = KernelThreads.All)
    {
        var points = new Dictionary<int, List<(double Y, double X)>>();
        foreach (var id in ids) points[id] = [];
        var labels = components.Ids;
        void Edge(int inside, int outside, double y0, double x0, double dy, double dx)
        {
            // Only between a blob pixel and a background pixel: 8-connected blobs never touch another blob's pixel.
            if (valid[outside] == 0) return;
            double a = smooth[inside], b = smooth[outside];
            var t = a > b ? Math.Clamp((a - threshold) / (a - b), 0, 1) : 0.5;
            points[labels[inside]].Add((y0 + t * dy, x0 + t * dx));
        }
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            var i = y * w + x;
            var id = labels[i];
            if (x + 1 < w)
            {
                var right = labels[i + 1];
                if (id != 0 && right == 0 && ids.Contains(id)) Edge(i, i + 1, y, x, 0, 1);
                else if (id == 0 && right != 0 && ids.Contains(right)) Edge(i + 1, i, y, x + 1, 0, -1);
            }
            if (y + 1 < h)
            {
                var below = labels[i + w];
                if (id != 0 && below == 0 && ids.Contains(id)) Edge(i, i + w, y, x, 1, 0);
                else if (id == 0 && below != 0 && ids.Contains(below)) Edge(i + w, i, y + 1, x, -1, 0);
            }
        }

        // Each blob's circles depend on its own points and seed alone: blobs are fitted side by side, kept in id order.
        var ordered = ids.Order().ToArray();
        var circles = new List<ParticleSection>[ordered.Length];
        KernelThreads.For(0, ordered.Length, maxThreads, k =>
            circles[k] = [.. Circles(points[ordered[k]], ordered[k], labels, h, w, options.MinAreaPx, (int)Math.Ceiling(options.MinArcFraction * AngleBins))]);
        var sections = new List<ParticleSection>();
        foreach (var blob in circles) sections.AddRange(blob);
        return sections;
    }

    private static IEnumerable<ParticleSection> Circles(List<(double Y, double X)> points, int id, int[] labels, int h, int w, int minAreaPx, int minCoveredBins)
    {
        var remaining = points;
        var coordinates = EdgePoints.Of(remaining);
        for (var n = 0; n < MaxCirclesPerBlob; n++)
        {
            var minPoints = (int)(minCoveredBins * MinBinFill * 2 * Math.PI * MinRadiusPx / AngleBins);
            if (remaining.Count < Math.Max(3, minPoints)) yield break;
            var rng = new Random(id * 64 + n);
            (double Y, double X, double R)? best = null;
            var bestCount = 0;
            for (var s = 0; s < Samples; s++)
            {
                int a = rng.Next(remaining.Count), b = rng.Next(remaining.Count), c = rng.Next(remaining.Count);
                if (a == b || b == c || a == c) continue;
                if (Circumcircle(remaining[a], remaining[b], remaining[c]) is not { } circle || circle.R < MinRadiusPx || circle.R > Math.Max(h, w)) continue;
                var count = coordinates.CountInliers(circle);
                if (count > bestCount) (best, bestCount) = (circle, count);
            }
            if (best is not { } found) yield break;
            for (var pass = 0; pass < 2; pass++)
                if (Refine(Inliers(remaining, found)) is { } refined) found = refined;
            var inliers = Inliers(remaining, found);
            var covered = CoveredBins(inliers, found);
            if (covered < minCoveredBins || found.R < MinRadiusPx || Math.PI * found.R * found.R < minAreaPx || !DiscInside(found, id, labels, h, w)
                || CentreVarianceScale(inliers, found, covered) is not { } scale)
                yield break;
            yield return new ParticleSection(found.Y, found.X, found.R, (int)Math.Round(Math.PI * found.R * found.R), scale.Y, scale.X);
            remaining = [.. remaining.Where(p => Math.Abs(Distance(p, found) - found.R) > 2 * InlierPx)];
            coordinates = EdgePoints.Of(remaining);
        }
    }

    private static List<(double Y, double X)> Inliers(List<(double Y, double X)> points, (double Y, double X, double R) circle) =>
        [.. points.Where(p => Math.Abs(Distance(p, circle) - circle.R) <= InlierPx)];

    /// <summary>
    /// A blob's edge points as two coordinate arrays, so that the RANSAC draws (300 per circle, each over every point)
    /// count their inliers four points at a time.
    /// </summary>
    internal sealed class EdgePoints
    {
        private readonly double[] _y, _x;

        private EdgePoints(double[] y, double[] x) => (_y, _x) = (y, x);

        public static EdgePoints Of(List<(double Y, double X)> points)
        {
            var (y, x) = (new double[points.Count], new double[points.Count]);
            for (var i = 0; i < points.Count; i++) (y[i], x[i]) = points[i];
            return new EdgePoints(y, x);
        }

        /// <summary>
        /// How many points <see cref="Inliers"/> would list, without listing them: the same test in the same arithmetic
        /// (differences, their squares' sum, the correctly rounded square root), so the same count.
        /// </summary>
        public int CountInliers((double Y, double X, double R) circle)
        {
            var (y, x) = (_y, _x);
            var count = 0;
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var (cy, cx, r, tolerance) = (Vector256.Create(circle.Y), Vector256.Create(circle.X), Vector256.Create(circle.R), Vector256.Create(InlierPx));
                for (; i + Vector256<double>.Count <= y.Length; i += Vector256<double>.Count)
                {
                    var dy = Vector256.Create<double>(y.AsSpan(i)) - cy;
                    var dx = Vector256.Create<double>(x.AsSpan(i)) - cx;
                    var inside = Vector256.LessThanOrEqual(Vector256.Abs(Vector256.Sqrt(dy * dy + dx * dx) - r), tolerance);
                    count += BitOperations.PopCount(inside.ExtractMostSignificantBits());
                }
            }
            for (; i < y.Length; i++)
                if (Math.Abs(Distance((y[i], x[i]), circle) - circle.R) <= InlierPx) count++;
            return count;
        }
    }

    private static double Distance((double Y, double X) p, (double Y, double X, double R) c) => Math.Sqrt((p.Y - c.Y) * (p.Y - c.Y) + (p.X - c.X) * (p.X - c.X));

    /// <summary>How many sectors of the circle the points cover, each with at least half the edge points its arc length gives.</summary>
    private static int CoveredBins(List<(double Y, double X)> inliers, (double Y, double X, double R) circle)
    {
        var bins = new int[AngleBins];
        foreach (var p in inliers)
        {
            var angle = Math.Atan2(p.Y - circle.Y, p.X - circle.X) + Math.PI;
            bins[Math.Clamp((int)(angle / (2 * Math.PI) * AngleBins), 0, AngleBins - 1)]++;
        }
        // An edge crossing per pixel row and per pixel column: at least one point per pixel of arc length.
        var expected = 2 * Math.PI * circle.R / AngleBins;
        return bins.Count(b => b >= MinBinFill * expected);
    }

    /// <summary>
    /// Per axis, the variance of the fitted centre over that of the same circle traced all round at the same density of
    /// edge points (at least 1; null when the fit is degenerate). From the geometric fit's normal matrix N in (cx, cy, r):
    /// var(centre) ∝ N⁻¹, and all round N = n_full · diag(½, ½, 1), so a full circle's centre variance is 2 / n_full.
    /// <para>
    /// Why: the centre of a short arc trades off against its radius along the arc's axis but is well placed across it.
    /// A circle cut by the field edge has its axis across that edge, so it places the particle along the edge far
    /// better than across it, and the drift solve weights each coordinate by this scale.
    /// </para>
    /// </summary>
    private static (double Y, double X)? CentreVarianceScale(List<(double Y, double X)> inliers, (double Y, double X, double R) circle, int coveredBins)
    {
        if (coveredBins == 0 || inliers.Count < 3) return null;
        var n = new double[3, 3];
        foreach (var p in inliers)
        {
            double x = p.X - circle.X, y = p.Y - circle.Y;
            var d = Math.Sqrt(x * x + y * y);
            if (d < 1e-9) continue;
            double[] g = [x / d, y / d, 1];
            for (var i = 0; i < 3; i++)
                for (var j = 0; j < 3; j++) n[i, j] += g[i] * g[j];
        }
        if (Solve3(n, [1, 0, 0]) is not { } columnX || Solve3(n, [0, 1, 0]) is not { } columnY) return null;
        var fullCircle = inliers.Count * (double)AngleBins / coveredBins;
        double scaleX = columnX[0] * fullCircle / 2, scaleY = columnY[1] * fullCircle / 2;
        if (!double.IsFinite(scaleX) || !double.IsFinite(scaleY)) return null;
        return (Math.Max(1, scaleY), Math.Max(1, scaleX));
    }

    /// <summary>Whether the pixels of the circle's disc (inset by the edge's blur) that lie in the field belong to the blob.</summary>
    private static bool DiscInside((double Y, double X, double R) circle, int id, int[] labels, int h, int w)
    {
        var r = circle.R - DiscInsetPx;
        int y0 = Math.Max(0, (int)Math.Floor(circle.Y - r)), y1 = Math.Min(h - 1, (int)Math.Ceiling(circle.Y + r));
        int x0 = Math.Max(0, (int)Math.Floor(circle.X - r)), x1 = Math.Min(w - 1, (int)Math.Ceiling(circle.X + r));
        long inside = 0, total = 0;
        for (var y = y0; y <= y1; y++)
        for (var x = x0; x <= x1; x++)
        {
            if ((y - circle.Y) * (y - circle.Y) + (x - circle.X) * (x - circle.X) > r * r) continue;
            total++;
            if (labels[y * w + x] == id) inside++;
        }
        return total > 0 && inside >= MinDiscInside * total;
    }

    private static (double Y, double X, double R)? Circumcircle((double Y, double X) a, (double Y, double X) b, (double Y, double X) c)
    {
        double bx = b.X - a.X, by = b.Y - a.Y, cx = c.X - a.X, cy = c.Y - a.Y;
        var d = 2 * (bx * cy - by * cx);
        if (Math.Abs(d) < 1e-9) return null;
        double b2 = bx * bx + by * by, c2 = cx * cx + cy * cy;
        double ux = (cy * b2 - by * c2) / d, uy = (bx * c2 - cx * b2) / d;
        return (a.Y + uy, a.X + ux, Math.Sqrt(ux * ux + uy * uy));
    }

    /// <summary>Geometric least-squares circle: Kåsa's algebraic fit, then Gauss-Newton on the distances to the circle.</summary>
    private static (double Y, double X, double R)? Refine(List<(double Y, double X)> points)
    {
        if (points.Count < 3) return null;
        // Kåsa: x² + y² + D x + E y + F = 0 in least squares, about the points' mean for conditioning.
        double my = points.Average(p => p.Y), mx = points.Average(p => p.X);
        var n = new double[3, 3];
        var rhs = new double[3];
        foreach (var p in points)
        {
            double x = p.X - mx, y = p.Y - my;
            double[] g = [x, y, 1];
            var z = -(x * x + y * y);
            for (var i = 0; i < 3; i++)
            {
                rhs[i] += g[i] * z;
                for (var j = 0; j < 3; j++) n[i, j] += g[i] * g[j];
            }
        }
        if (Solve3(n, rhs) is not { } def) return null;
        double cx = -def[0] / 2, cy = -def[1] / 2;
        var r2 = cx * cx + cy * cy - def[2];
        if (!(r2 > 0)) return null;
        double r = Math.Sqrt(r2);
        for (var iteration = 0; iteration < 20; iteration++)
        {
            n = new double[3, 3];
            rhs = new double[3];
            foreach (var p in points)
            {
                double x = p.X - mx - cx, y = p.Y - my - cy;
                var d = Math.Sqrt(x * x + y * y);
                if (d < 1e-9) continue;
                double[] g = [x / d, y / d, 1]; // ∂d/∂(cx, cy) = −(x, y)/d; residual d − r, so J = −g
                var e = d - r;
                for (var i = 0; i < 3; i++)
                {
                    rhs[i] += g[i] * e;
                    for (var j = 0; j < 3; j++) n[i, j] += g[i] * g[j];
                }
            }
            if (Solve3(n, rhs) is not { } step) return null;
            cx += step[0]; cy += step[1]; r += step[2];
            if (Math.Abs(step[0]) + Math.Abs(step[1]) + Math.Abs(step[2]) < 1e-6) break;
        }
        return r > 0 && double.IsFinite(cx) && double.IsFinite(cy) ? (my + cy, mx + cx, r) : null;
    }

    private static double[]? Solve3(double[,] a, double[] b)
    {
        double Det(double[,] m) =>
            m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0]) + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);
        var det = Det(a);
        if (Math.Abs(det) < 1e-12) return null;
        var x = new double[3];
        for (var c = 0; c < 3; c++)
        {
            var m = (double[,])a.Clone();
            for (var r = 0; r < 3; r++) m[r, c] = b[r];
            x[c] = Det(m) / det;
        }
        return x;
    }
}
