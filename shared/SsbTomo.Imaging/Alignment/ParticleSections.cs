using System.Numerics;
using System.Runtime.InteropServices;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Alignment;

/// <summary>The cross-section of one bright particle in one slice: centroid (pixels, y down, x right), equivalent radius and area.</summary>
/// <param name="VarianceScaleY">
/// Variance of <paramref name="Y"/> over that of a whole section's centroid: 1 for a whole section, more for a circle
/// fitted to a short arc, whose centre is poorly determined along the arc's axis (<see cref="SectionArcs"/>).
/// </param>
/// <param name="VarianceScaleX">The same for <paramref name="X"/>.</param>
public readonly record struct ParticleSection(double Y, double X, double RadiusPx, int AreaPx, double VarianceScaleY = 1, double VarianceScaleX = 1)
{
    /// <summary>
    /// <see cref="VarianceScaleY"/> of a half circle's centre along its axis, 1 / (½ − 4/π²) ≈ 10.56 (geometry: over a
    /// half circle the edge normals' mean cosine along the axis is 2/π, their mean square ½): a coordinate placed worse
    /// comes from a shorter arc.
    /// </summary>
    public const double HalfCircleAxisScale = 1 / (0.5 - 4 / (Math.PI * Math.PI));
}

/// <summary>Which bright blobs of a slice count as whole, compact particle cross-sections.</summary>
/// <param name="SmoothingSigmaPx">Gaussian smoothing before thresholding (pixel noise would roughen the outline).</param>
/// <param name="Phases">Phases in the slice histogram; the threshold is the fitted boundary below the brightest one.</param>
/// <param name="MinAreaPx">Smaller sections (a particle's cap, noise) have too few outline pixels for a precise centroid.</param>
/// <param name="MaxElongation">Largest ratio of the principal second moments: touching particles merge into elongated blobs.</param>
/// <param name="MinFill">Smallest area over the area of the moment-equivalent ellipse: merged or concave blobs fill it less.</param>
/// <param name="BorderMarginPx">Blobs reaching this close to the image edge are cut by the field of view and move apparently.</param>
/// <param name="FitArcs">
/// Also give the sections of blobs that are not whole and compact (cut by the field edge, merged with a neighbour) by
/// the circles their outlines follow (<see cref="SectionArcs"/>).
/// </param>
/// <param name="MinArcFraction">
/// Smallest share of its circumference that a circle's edge points must cover. The centre of a short arc is poorly
/// determined along the arc's axis, and as the section grows or shrinks through the slices a different arc is seen;
/// that is carried by the section's variance scales (<see cref="ParticleSection.VarianceScaleY"/>), which weight each
/// coordinate of the centre by how well the arc places it, so a particle cut by the field edge still anchors the drift
/// along that edge. Arcs shorter than a quarter circle are not taken: RANSAC then finds circles in outlines that are none.
/// </param>
public sealed record ParticleDetectionOptions(
    double SmoothingSigmaPx = 1.0,
    int Phases = 4,
    int MinAreaPx = 40,
    double MaxElongation = 1.5,
    double MinFill = 0.9,
    int BorderMarginPx = 2,
    bool FitArcs = false,
    double MinArcFraction = 0.25)
{
    /// <summary>Whole, compact sections only.</summary>
    public static ParticleDetectionOptions Default { get; } = new();

    /// <summary>What drift estimation uses: whole sections by their centroids, and cut or merged ones by their outlines' circles.</summary>
    public static ParticleDetectionOptions ForDrift { get; } = new() { FitArcs = true };
}

/// <summary>
/// Finds the whole, compact cross-sections of the brightest phase (NMC in a BSE image) in one slice.
/// <para>
/// Why: the centroid of a convex, roughly round particle's cross-section stays where the particle is while the
/// section grows and shrinks through it (exactly so for a sphere), so a tracked section measures the drift of each
/// slice directly, against the particle, without the error that slice-to-slice registration accumulates from
/// structure that evolves along the stack. Sections cut by the field edge, merged with a neighbour or irregular
/// are left out, because their centroids move with the structure.
/// </para>
/// </summary>
public static class ParticleSections
{
    private const int MaxHistogramBins = 256;

    /// <param name="maxThreads">Threads the detection may use (<see cref="KernelThreads"/>); the sections are the same for any.</param>
    public static ParticleSection[] Detect(Image2D<float> slice, ParticleDetectionOptions? options = null, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(slice);
        KernelThreads.Check(maxThreads);
        options ??= ParticleDetectionOptions.Default;
        return Detect(slice, SmoothedSlice.Of(slice, options.SmoothingSigmaPx, maxThreads), options, maxThreads);
    }

    /// <summary>
    /// As above, with the slice's blur at the options' <see cref="ParticleDetectionOptions.SmoothingSigmaPx"/> already made
    /// (the alignment shares it with the brightness measurement); the same sections.
    /// </summary>
    public static ParticleSection[] Detect(Image2D<float> slice, SmoothedSlice smoothed, ParticleDetectionOptions? options = null, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(slice);
        ArgumentNullException.ThrowIfNull(smoothed);
        KernelThreads.Check(maxThreads);
        options ??= ParticleDetectionOptions.Default;
        smoothed.CheckFor(slice, options.SmoothingSigmaPx, nameof(smoothed));
        var (h, w) = (slice.Height, slice.Width);
        var (valid, smooth) = (smoothed.Valid, smoothed.Smooth);
        if (BrightPhaseThreshold(smooth, valid, options.Phases) is not { } threshold) return [];

        var mask = new Volume<byte>(1, h, w);
        Mask(smooth, valid, threshold, mask.Data);
        // One slice of 26-connected labelling is 8-connected labelling in the plane.
        var components = ConnectedComponents.Label(mask, 1, slabs: 0, maxThreads);
        var (sections, rejected) = Summarise(components, h, w, options);
        if (!options.FitArcs || rejected.Count == 0) return sections;
        return [.. sections, .. SectionArcs.Fit(components, rejected, smooth, valid, h, w, (float)threshold, options, maxThreads)];
    }

    /// <summary>
    /// 1 where the pixel is valid and its blur above <paramref name="threshold"/>, else 0; on vector lanes, comparing with
    /// the largest float at or below the threshold (a float is above a double exactly when it is above that float).
    /// </summary>
    private static void Mask(float[] smooth, float[] valid, double threshold, byte[] mask)
    {
        var below = (float)threshold;
        if (below > threshold) below = MathF.BitDecrement(below);
        int i = 0, lanes = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var limit = new Vector<float>(below);
            var one = new Vector<sbyte>(1);
            for (; i + 4 * lanes <= smooth.Length; i += 4 * lanes)
            {
                // Each comparison is −1 or 0 per lane; narrowed twice they keep their sign, and & 1 makes them 1 or 0.
                Vector<int> Lane(int at) => Vector.GreaterThan(new Vector<float>(smooth, at), limit) & Vector.GreaterThan(new Vector<float>(valid, at), Vector<float>.Zero);
                var low = Vector.Narrow(Lane(i), Lane(i + lanes));
                var high = Vector.Narrow(Lane(i + 2 * lanes), Lane(i + 3 * lanes));
                (Vector.Narrow(low, high) & one).CopyTo(MemoryMarshal.Cast<byte, sbyte>(mask.AsSpan(i)));
            }
        }
        for (; i < smooth.Length; i++) mask[i] = valid[i] > 0 && smooth[i] > threshold ? (byte)1 : (byte)0;
    }

    private static double? BrightPhaseThreshold(float[] smooth, float[] valid, int phases)
    {
        // No valid pixel leaves +∞ and −∞, which fail the test as a flat slice does.
        var (min, max) = ValidRange(smooth, valid);
        if (!(max > min)) return null;
        // Smoothing leaves a flat region of an integer slice on its integer level; bins holding whole levels keep those
        // spikes from making a comb of the histogram.
        var layout = HistogramBins.Spanning(smooth, min, max, MaxHistogramBins);
        var histogram = new long[layout.Count];
        for (var i = 0; i < smooth.Length; i++)
            if (valid[i] > 0) histogram[Math.Clamp(layout.BinOf(smooth[i]), 0, layout.Count - 1)]++;
        // Fewer distinct levels than phases: nothing to tell the brightest phase apart by (no anchors, no error).
        if (histogram.Count(c => c > 0) <= phases) return null;
        return PhaseThresholds.FromHistogram(histogram, phases, layout.Origin, layout.End).Thresholds[^1];
    }

    /// <summary>The least and greatest blur over the valid pixels (+∞ and −∞ without any), on vector lanes; NaN never reaches a valid pixel.</summary>
    private static (float Lowest, float Highest) ValidRange(float[] smooth, float[] valid)
    {
        float lowest = float.PositiveInfinity, highest = float.NegativeInfinity;
        int i = 0, lanes = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated && smooth.Length >= lanes)
        {
            var (low, high) = (new Vector<float>(float.PositiveInfinity), new Vector<float>(float.NegativeInfinity));
            for (; i + lanes <= smooth.Length; i += lanes)
            {
                var value = new Vector<float>(smooth, i);
                var isValid = Vector.GreaterThan(new Vector<float>(valid, i), Vector<float>.Zero);
                low = Vector.Min(low, Vector.ConditionalSelect(isValid, value, new Vector<float>(float.PositiveInfinity)));
                high = Vector.Max(high, Vector.ConditionalSelect(isValid, value, new Vector<float>(float.NegativeInfinity)));
            }
            for (var lane = 0; lane < lanes; lane++)
            {
                lowest = Math.Min(lowest, low[lane]);
                highest = Math.Max(highest, high[lane]);
            }
        }
        for (; i < smooth.Length; i++)
        {
            if (valid[i] == 0) continue;
            lowest = Math.Min(lowest, smooth[i]);
            highest = Math.Max(highest, smooth[i]);
        }
        return (lowest, highest);
    }

    /// <summary>The whole, compact sections, and the components (index + 1 = id) large enough but not whole or not compact.</summary>
    private static (ParticleSection[] Sections, HashSet<int> Rejected) Summarise(ComponentLabels components, int h, int w, ParticleDetectionOptions options)
    {
        var n = components.Count;
        // Integer sums over each run of one id along a row (closed forms), exact in longs: the same numbers as adding every
        // pixel's coordinates in doubles, which stay whole below 2^53.
        var (sumY, sumX, sumYy, sumXx, sumXy) = (new long[n], new long[n], new long[n], new long[n], new long[n]);
        var touchesBorder = new bool[n];
        var m = options.BorderMarginPx;
        // Σ_{x < k} x and Σ_{x < k} x².
        static long Sum(long k) => k * (k - 1) / 2;
        static long SumOfSquares(long k) => (k - 1) * k * (2 * k - 1) / 6;
        for (var y = 0; y < h; y++)
        {
            var nearRow = y < m || y >= h - m;
            var row = components.Ids.AsSpan(y * w, w);
            var x = 0;
            while (x < w)
            {
                var start = row[x..].IndexOfAnyExcept(0);
                if (start < 0) break;
                x += start;
                var id = row[x];
                var length = row[x..].IndexOfAnyExcept(id);
                var end = length < 0 ? w : x + length;
                var c = id - 1;
                long count = end - x, xs = Sum(end) - Sum(x);
                sumY[c] += count * y; sumX[c] += xs;
                sumYy[c] += count * y * y; sumXx[c] += SumOfSquares(end) - SumOfSquares(x); sumXy[c] += xs * y;
                if (nearRow || x < m || end - 1 >= w - m) touchesBorder[c] = true;
                x = end;
            }
        }

        var sections = new List<ParticleSection>();
        var rejected = new HashSet<int>();
        for (var c = 0; c < n; c++)
        {
            var area = components.Sizes[c];
            if (area < options.MinAreaPx) continue;
            if (touchesBorder[c]) { rejected.Add(c + 1); continue; }
            double cy = (double)sumY[c] / area, cx = (double)sumX[c] / area;
            // Second central moments (+1/12: a pixel is a unit square, not a point).
            double vyy = (double)sumYy[c] / area - cy * cy + 1.0 / 12, vxx = (double)sumXx[c] / area - cx * cx + 1.0 / 12, vxy = (double)sumXy[c] / area - cx * cy;
            double mean = 0.5 * (vyy + vxx), spread = Math.Sqrt(0.25 * (vyy - vxx) * (vyy - vxx) + vxy * vxy);
            double major = mean + spread, minor = mean - spread;
            var ellipseArea = 4 * Math.PI * Math.Sqrt(Math.Max(0, major * minor));
            if (minor <= 0 || major / minor > options.MaxElongation || area / ellipseArea < options.MinFill) { rejected.Add(c + 1); continue; }
            sections.Add(new ParticleSection(cy, cx, Math.Sqrt(area / Math.PI), (int)area));
        }
        return ([.. sections], rejected);
    }
}
