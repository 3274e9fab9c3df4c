namespace SsbTomo.Imaging.Alignment;

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
