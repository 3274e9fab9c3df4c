using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// What brightness matching needs of one slice: its 0.5/99.5 % percentiles and the grey levels of its two bulk phases
/// (the histogram's two dominant peaks), null when it has no two such peaks; the same peaks of the slice smoothed by
/// <see cref="SliceIntensityRanges.PeakImageSmoothingPx"/>, for stacks too noisy to show them unsmoothed.
/// </summary>
public readonly record struct SliceBrightness(IntensityRange Percentiles, IntensityRange? BulkPeaks, IntensityRange? SmoothedBulkPeaks = null);

/// <summary>What bulk-peak brightness matching decided for a stack (<see cref="SliceIntensityRanges.MatchBrightness"/>).</summary>
/// <param name="Ranges">Per slice, the range that <see cref="SliceIntensityRanges.ToUInt16"/> maps to the common scale.</param>
/// <param name="SmoothedPeaks">Whether the peaks of the smoothed slices were matched (too few slices showed them unsmoothed).</param>
/// <param name="StrayPeaks">Per slice, the peaks left out as another pair of phases; null for a slice whose peaks were used or that had none.</param>
public sealed record BulkPeakMatch(IntensityRange[] Ranges, bool SmoothedPeaks, IntensityRange?[] StrayPeaks);

/// <summary>
/// Brightness drift correction: every slice's robust range is matched to one common scale. Ranges are
/// smoothed along z first because the drift is slow while the phase content of single slices fluctuates.
/// </summary>
public static class SliceIntensityRanges
{
    public const double LowPercentile = 5;
    public const double HighPercentile = 95;

    /// <summary>Where the matched low and high ends land in uint16, leaving headroom on both sides.</summary>
    public const double UInt16Low = 16384, UInt16High = 49152;

    /// <summary>The slice's robust range: percentiles that sit inside the majority phases of a composite.</summary>
    public static IntensityRange Measure(Image2D<float> slice) => IntensityNormalization.RobustRange(slice, LowPercentile, HighPercentile);

    /// <summary>
    /// Running median of each end over a centred window of <paramref name="windowSlices"/> slices. An empty range (a
    /// blank, saturated or flat slice: <see cref="IsEmpty"/>) says nothing about the brightness drift and is left out;
    /// a slice whose window holds no other range takes the nearest slice's. When no slice has a range, the ranges are
    /// returned as they are.
    /// </summary>
    public static IntensityRange[] SmoothAlongZ(IReadOnlyList<IntensityRange> ranges, int windowSlices = 15)
    {
        var half = Math.Max(0, windowSlices / 2);
        var smoothed = new IntensityRange[ranges.Count];
        var usable = Enumerable.Range(0, ranges.Count).Where(z => !IsEmpty(ranges[z])).ToArray();
        if (usable.Length == 0) return [.. ranges];
        for (var z = 0; z < ranges.Count; z++)
        {
            var window = usable.Where(i => Math.Abs(i - z) <= half).ToArray();
            if (window.Length == 0) window = [usable.MinBy(i => Math.Abs(i - z))];
            smoothed[z] = new IntensityRange(Statistics.Median(window.Select(i => ranges[i].Low)), Statistics.Median(window.Select(i => ranges[i].High)));
        }
        return smoothed;
    }

    /// <summary>Bins of the slice histogram in which the bulk peaks are looked for, and their smoothing (in bins).</summary>
    public const int PeakHistogramBins = 256;
    public const double PeakSmoothingBins = 2;

    /// <summary>The brightness's percentiles (<see cref="SliceBrightness.Percentiles"/>), the slice's tails.</summary>
    public const double TailLowPercent = 0.5, TailHighPercent = 99.5;

    /// <summary>Where the stack's typical 0.5 and 99.5 % percentiles land in uint16 under bulk-peak matching.</summary>
    public const double TailLow = 8192, TailHigh = 57344;

    /// <summary>
    /// Gaussian (in pixels) by which the slice is smoothed for its second set of bulk peaks. Pixel noise broadens both
    /// bulk peaks until the valley between them is too shallow to part them (family member 118 at 50 nm: noise 14 grey
    /// levels on a 47-level electrolyte/active-material contrast, 51 of 64 slices without peaks, so the stack fell back
    /// to percentile matching, which followed the slices' phase content: electrolyte 28 k in the first slices, 34 k in
    /// the last). A σ of 1 px leaves ~0.28 of white noise. Used only where the unsmoothed peaks are missing in most
    /// slices: where both exist the smoothed ones follow each slice's pore content more (partial-volume rims; member
    /// 127: active material's aligned level 49.8-52.3 k across slices against 51.0-51.4 k unsmoothed).
    /// </summary>
    public const double PeakImageSmoothingPx = 1;

    /// <summary>The slice's percentiles and bulk peaks (<see cref="HistogramPeaks.BulkPair"/>), unsmoothed and smoothed by <see cref="PeakImageSmoothingPx"/>.</summary>
    public static SliceBrightness MeasureBrightness(Image2D<float> slice, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(slice);
        var percentiles = IntensityNormalization.RobustRange(slice, TailLowPercent, TailHighPercent);
        return IsEmpty(percentiles) ? new SliceBrightness(percentiles, null) : Brightness(slice, percentiles, SmoothedSlice.Of(slice, PeakImageSmoothingPx, maxThreads), sampleStep: 0);
    }

    /// <summary>
    /// As above, with the slice's blur at <see cref="PeakImageSmoothingPx"/> already made (the alignment shares it with
    /// <see cref="ParticleSections.Detect(Image2D{float}, SmoothedSlice, ParticleDetectionOptions?, int)"/>); the same result.
    /// </summary>
    public static SliceBrightness MeasureBrightness(Image2D<float> slice, SmoothedSlice smoothed) => MeasureBrightness(slice, smoothed, sampleStep: 0);

    /// <summary>
    /// <see cref="Measure"/> and <see cref="MeasureBrightness(Image2D{float}, SmoothedSlice)"/> of the same slice, its
    /// percentiles counted in one pass for both (the same results bit for bit).
    /// </summary>
    public static (IntensityRange Range, SliceBrightness Brightness) MeasureWithBrightness(Image2D<float> slice, SmoothedSlice smoothed)
    {
        ArgumentNullException.ThrowIfNull(slice);
        ArgumentNullException.ThrowIfNull(smoothed);
        smoothed.CheckFor(slice, PeakImageSmoothingPx, nameof(smoothed));
        var (range, percentiles) = IntensityNormalization.RobustRanges(slice, (LowPercentile, HighPercentile), (TailLowPercent, TailHighPercent));
        return (range, Brightness(slice, percentiles, smoothed, sampleStep: 0));
    }

    /// <summary>As the public overload; <paramref name="sampleStep"/> &gt; 0 fixes the peaks' row and column step (tests: every pixel against every fourth).</summary>
    internal static SliceBrightness MeasureBrightness(Image2D<float> slice, SmoothedSlice smoothed, int sampleStep)
    {
        ArgumentNullException.ThrowIfNull(slice);
        ArgumentNullException.ThrowIfNull(smoothed);
        smoothed.CheckFor(slice, PeakImageSmoothingPx, nameof(smoothed));
        return Brightness(slice, IntensityNormalization.RobustRange(slice, TailLowPercent, TailHighPercent), smoothed, sampleStep);
    }

    /// <summary>
    /// Fewest pixels the bulk peaks' histograms count when they read every second row and column of a slice: 2^18, about a
    /// thousand a bin of <see cref="PeakHistogramBins"/> (a 1024x1024 slice and larger; smaller slices are counted whole). A
    /// sample-size floor (speed against precision), not a property of a specimen or a detector; checked on family members of
    /// 1024x1024 slices in 8 and 16 bits against the every-pixel build (issue notes, session 51).
    /// </summary>
    public const int MinSampledPeakPixels = 1 << 18;

    /// <summary>2 (every second row and column) where that keeps <see cref="MinSampledPeakPixels"/> pixels, else 1.</summary>
    internal static int PeakSampleStep(int height, int width) => SliceSampling.Step(height, width, MinSampledPeakPixels);

    /// <summary>The brightness from the slice's 0.5/99.5 % percentiles: no bulk peaks when they are an empty range (a flat slice).</summary>
    private static SliceBrightness Brightness(Image2D<float> slice, IntensityRange percentiles, SmoothedSlice smoothed, int sampleStep)
    {
        if (IsEmpty(percentiles)) return new SliceBrightness(percentiles, null);
        var step = sampleStep > 0 ? sampleStep : PeakSampleStep(slice.Height, slice.Width);
        return new(percentiles, BulkPeaks(slice.Pixels, smoothed.Valid, slice.Width, step, percentiles),
            BulkPeaks(smoothed.Smooth, smoothed.Valid, slice.Width, step, percentiles));
    }

    /// <summary>The histogram's two bulk peaks, counting the pixels on every <paramref name="step"/>th row and column.</summary>
    private static IntensityRange? BulkPeaks(ReadOnlySpan<float> pixels, float[] valid, int width, int step, IntensityRange percentiles)
    {
        var layout = HistogramBins.Spanning(pixels, percentiles.Low, percentiles.High, PeakHistogramBins);
        var counts = new double[layout.Count];
        for (var row = 0; row < pixels.Length; row += step * width)
            for (var i = row; i < row + width; i += step)
            {
                var value = pixels[i];
                if (valid[i] == 0 || !float.IsFinite(value)) continue;
                var bin = layout.BinOf(value);
                if (bin >= 0 && bin < counts.Length) counts[bin]++;
            }
        if (HistogramPeaks.BulkPairPositions(counts, PeakSmoothingBins) is not var (darker, brighter)) return null;
        return new IntensityRange(layout.Origin + darker * layout.Width, layout.Origin + brighter * layout.Width);
    }

    /// <summary>
    /// Brightness matching on the bulk phases: each slice's matrix and bright peaks (running medians over a centred
    /// window of <paramref name="windowSlices"/> slices that have peaks) are mapped to the same two levels, so a slice
    /// with more pores or carbon is not darkened or brightened as percentile matching does (a slice's 5 % percentile
    /// sits in the pores when they fill a fifth of it, in the electrolyte when they fill a twentieth). The scale is
    /// chosen so that the stack's median 0.5/99.5 % percentiles land on <see cref="TailLow"/>/<see cref="TailHigh"/>.
    /// Returned as the range that <see cref="ToUInt16"/> maps to [<see cref="UInt16Low"/>, <see cref="UInt16High"/>].
    /// A slice whose peaks are another pair of phases than the stack's (<see cref="StrayBulkPeaks"/>) counts as one
    /// without peaks. When fewer than half of the slices that are not flat have two bulk peaks, the peaks of the smoothed
    /// slices are matched instead (<see cref="PeakImageSmoothingPx"/>), the same rule for every slice of the stack; null
    /// when those are too few as well (then match percentiles).
    /// </summary>
    public static IntensityRange[]? MatchBulkPeaks(IReadOnlyList<SliceBrightness> slices, int windowSlices = 15) =>
        MatchBrightness(slices, windowSlices)?.Ranges;

    /// <summary>
    /// <see cref="MatchBulkPeaks"/> with what it decided: whether the smoothed slices' peaks were matched, and which
    /// slices' peaks were strays (<see cref="StrayBulkPeaks"/> of the peaks matched). Null when no peaks could be matched.
    /// </summary>
    public static BulkPeakMatch? MatchBrightness(IReadOnlyList<SliceBrightness> slices, int windowSlices = 15)
    {
        ArgumentNullException.ThrowIfNull(slices);
        return MatchPeaks(slices, windowSlices, smoothed: false)
            ?? MatchPeaks([.. slices.Select(s => s with { BulkPeaks = s.SmoothedBulkPeaks })], windowSlices, smoothed: true);
    }

    private static BulkPeakMatch? MatchPeaks(IReadOnlyList<SliceBrightness> slices, int windowSlices, bool smoothed)
    {
        var strays = StrayBulkPeaks(slices);
        var strayPeaks = strays.Select((stray, z) => stray ? slices[z].BulkPeaks : null).ToArray();
        slices = slices.Select((s, z) => strays[z] ? s with { BulkPeaks = null } : s).ToArray();
        var withPeaks = Enumerable.Range(0, slices.Count).Where(z => slices[z].BulkPeaks is { } p && p.High > p.Low).ToArray();
        var notFlat = slices.Count(s => !IsEmpty(s.Percentiles));
        if (withPeaks.Length == 0 || 2 * withPeaks.Length < notFlat) return null;
        // Where the tails lie in units of the bulk contrast: u = (x - matrix) / (bright - matrix).
        double Unit(int z, double x) => (x - slices[z].BulkPeaks!.Value.Low) / (slices[z].BulkPeaks!.Value.High - slices[z].BulkPeaks!.Value.Low);
        var tailLow = Statistics.Median(withPeaks.Select(z => Unit(z, slices[z].Percentiles.Low)));
        var tailHigh = Statistics.Median(withPeaks.Select(z => Unit(z, slices[z].Percentiles.High)));
        if (!(tailHigh > tailLow)) return null;
        var perLevel = (tailHigh - tailLow) / (TailHigh - TailLow);
        var unitLow = tailLow + (UInt16Low - TailLow) * perLevel;
        var unitHigh = tailLow + (UInt16High - TailLow) * perLevel;
        var peaks = SmoothAlongZ(slices.Select(s => s.BulkPeaks ?? default).ToArray(), windowSlices);
        return new BulkPeakMatch([.. peaks.Select(p => new IntensityRange(p.Low + unitLow * (p.High - p.Low), p.Low + unitHigh * (p.High - p.Low)))],
            smoothed, strayPeaks);
    }

    /// <summary>
    /// Slices (centred) over which the bulk peaks that most slices agree on are taken for <see cref="StrayBulkPeaks"/>:
    /// long enough that a run of strays stays a minority (member 119: 17 slices in a row), short enough that a slow
    /// brightness drift moves the peaks by far less than half their separation within it.
    /// </summary>
    public const int StrayWindowSlices = 101;

    /// <summary>
    /// Per slice, whether its bulk peaks are another pair of phases than most slices around it (the median peaks of the
    /// slices with peaks within <see cref="StrayWindowSlices"/>): its brighter peak lies nearer the others' darker peak
    /// than their brighter one, or its darker peak nearer their brighter one (the pair slid by a phase), or its
    /// separation is under half or over twice theirs. A slice whose active material is too scarce for a valley to part it
    /// from the electrolyte pairs the electrolyte with the next separated peak below it instead (carbon where fibres are
    /// many voxels across, or the pores); matched on that pair, all its phases would move by a phase's contrast, and the
    /// running median carries a run of such slices over its neighbours (family member 119 at 25 nm: active material
    /// +18 pp). A stray slice takes its neighbours' peaks like a slice that has none. In grey levels, not in units of the
    /// slice's percentiles: the 99.5 % percentile sits in the electrolyte of a slice without active material, which
    /// would map the electrolyte onto the others' active material.
    /// </summary>
    public static bool[] StrayBulkPeaks(IReadOnlyList<SliceBrightness> slices)
    {
        ArgumentNullException.ThrowIfNull(slices);
        var strays = new bool[slices.Count];
        var withPeaks = Enumerable.Range(0, slices.Count).Where(z => slices[z].BulkPeaks is { } p && p.High > p.Low).ToArray();
        if (withPeaks.Length < 3) return strays;
        var half = StrayWindowSlices / 2;
        foreach (var z in withPeaks)
        {
            var window = withPeaks.Where(i => Math.Abs(i - z) <= half).ToArray();
            var low = Statistics.Median(window.Select(i => slices[i].BulkPeaks!.Value.Low));
            var high = Statistics.Median(window.Select(i => slices[i].BulkPeaks!.Value.High));
            var separation = high - low;
            if (!(separation > 0)) continue;
            var midpoint = 0.5 * (low + high);
            var peaks = slices[z].BulkPeaks!.Value;
            strays[z] = peaks.High < midpoint || peaks.Low > midpoint
                || peaks.High - peaks.Low < 0.5 * separation || peaks.High - peaks.Low > 2 * separation;
        }
        return strays;
    }

    /// <summary>No spread between the robust percentiles: a slice that is blank, saturated or flat over most of its area.</summary>
    public static bool IsEmpty(IntensityRange range) => !(range.High > range.Low);

    /// <summary>
    /// Maps the crop [y0,y1) x [x0,x1) of <paramref name="slice"/> so that <paramref name="range"/> lands on
    /// [UInt16Low, UInt16High]; values outside the image (NaN) become 0.
    /// </summary>
    public static void ToUInt16(Image2D<float> slice, IntensityRange range, (int Y0, int Y1, int X0, int X1) crop, Span<ushort> destination)
    {
        var scale = (UInt16High - UInt16Low) / Math.Max(1e-9, range.High - range.Low);
        var width = crop.X1 - crop.X0;
        if (destination.Length != (crop.Y1 - crop.Y0) * width)
            throw new ArgumentException("destination does not match the crop", nameof(destination));
        for (var y = crop.Y0; y < crop.Y1; y++)
        {
            var row = slice.Row(y);
            var target = destination.Slice((y - crop.Y0) * width, width);
            for (var x = 0; x < width; x++)
            {
                var v = row[crop.X0 + x];
                target[x] = float.IsFinite(v) ? (ushort)Math.Clamp(Math.Round(UInt16Low + (v - range.Low) * scale), 0, 65535) : (ushort)0;
            }
        }
    }
}
