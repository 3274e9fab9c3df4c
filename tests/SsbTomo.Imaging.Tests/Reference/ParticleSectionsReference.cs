using SsbTomo.Imaging.Alignment;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Reference;

// ParticleSections' per-pixel passes before they ran on vector lanes and over runs (session 50), kept as the reference:
// the detection must give the same sections to the bit.
internal static class ParticleSectionsReference
{
    private const int MaxHistogramBins = 256;

    public static ParticleSection[] Detect(Image2D<float> slice, SmoothedSlice smoothed, ParticleDetectionOptions options, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(slice);
        ArgumentNullException.ThrowIfNull(smoothed);
        KernelThreads.Check(maxThreads);
        var (h, w) = (slice.Height, slice.Width);
        var (valid, smooth) = (smoothed.Valid, smoothed.Smooth);
        if (BrightPhaseThreshold(smooth, valid, options.Phases) is not { } threshold) return [];

        var mask = new Volume<byte>(1, h, w);
        for (var i = 0; i < smooth.Length; i++) mask.Data[i] = valid[i] > 0 && smooth[i] > threshold ? (byte)1 : (byte)0;
        // One slice of 26-connected labelling is 8-connected labelling in the plane.
        var components = ConnectedComponents.Label(mask, 1, slabs: 0, maxThreads);
        var (sections, rejected) = Summarise(components, h, w, options);
        if (!options.FitArcs || rejected.Count == 0) return sections;
        return [.. sections, .. SectionArcs.Fit(components, rejected, smooth, valid, h, w, (float)threshold, options, maxThreads)];
    }

    private static double? BrightPhaseThreshold(float[] smooth, float[] valid, int phases)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        for (var i = 0; i < smooth.Length; i++)
        {
            if (valid[i] == 0) continue;
            min = Math.Min(min, smooth[i]);
            max = Math.Max(max, smooth[i]);
        }
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

    /// <summary>The whole, compact sections, and the components (index + 1 = id) large enough but not whole or not compact.</summary>
    private static (ParticleSection[] Sections, HashSet<int> Rejected) Summarise(ComponentLabels components, int h, int w, ParticleDetectionOptions options)
    {
        var n = components.Count;
        var (sumY, sumX, sumYy, sumXx, sumXy) = (new double[n], new double[n], new double[n], new double[n], new double[n]);
        var touchesBorder = new bool[n];
        var m = options.BorderMarginPx;
        for (var y = 0; y < h; y++)
        {
            var nearRow = y < m || y >= h - m;
            for (var x = 0; x < w; x++)
            {
                var id = components.Ids[y * w + x];
                if (id == 0) continue;
                var c = id - 1;
                sumY[c] += y; sumX[c] += x;
                sumYy[c] += (double)y * y; sumXx[c] += (double)x * x; sumXy[c] += (double)x * y;
                if (nearRow || x < m || x >= w - m) touchesBorder[c] = true;
            }
        }

        var sections = new List<ParticleSection>();
        var rejected = new HashSet<int>();
        for (var c = 0; c < n; c++)
        {
            var area = components.Sizes[c];
            if (area < options.MinAreaPx) continue;
            if (touchesBorder[c]) { rejected.Add(c + 1); continue; }
            double cy = sumY[c] / area, cx = sumX[c] / area;
            // Second central moments (+1/12: a pixel is a unit square, not a point).
            double vyy = sumYy[c] / area - cy * cy + 1.0 / 12, vxx = sumXx[c] / area - cx * cx + 1.0 / 12, vxy = sumXy[c] / area - cx * cy;
            double mean = 0.5 * (vyy + vxx), spread = Math.Sqrt(0.25 * (vyy - vxx) * (vyy - vxx) + vxy * vxy);
            double major = mean + spread, minor = mean - spread;
            var ellipseArea = 4 * Math.PI * Math.Sqrt(Math.Max(0, major * minor));
            if (minor <= 0 || major / minor > options.MaxElongation || area / ellipseArea < options.MinFill) { rejected.Add(c + 1); continue; }
            sections.Add(new ParticleSection(cy, cx, Math.Sqrt(area / Math.PI), (int)area));
        }
        return ([.. sections], rejected);
    }
}
