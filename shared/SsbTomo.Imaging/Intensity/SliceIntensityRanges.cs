namespace SsbTomo.Imaging.Intensity;

/// <summary>Robust grey-level range of one slice: two percentiles that sit inside the majority phases.</summary>
public readonly record struct IntensityRange(double Low, double High);

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

    /// <summary>Percentiles of at most ~1 M evenly strided pixels: exact enough, and a 4k x 3k slice stays cheap.</summary>
    public static IntensityRange Measure(Image2D<float> slice, double lowPercentile = LowPercentile, double highPercentile = HighPercentile)
    {
        var stride = Math.Max(1, slice.Pixels.Length / 1_000_000);
        var values = new List<float>(slice.Pixels.Length / stride + 1);
        for (var i = 0; i < slice.Pixels.Length; i += stride)
            if (float.IsFinite(slice.Pixels[i])) values.Add(slice.Pixels[i]);
        return FromSamples(values.ToArray(), lowPercentile, highPercentile);
    }

    private static IntensityRange FromSamples(float[] values, double lowPercentile, double highPercentile)
    {
        if (values.Length == 0) return new IntensityRange(0, 1);
        Array.Sort(values);
        return new IntensityRange(Percentile(values, lowPercentile), Percentile(values, highPercentile));
    }

    /// <summary>Linear-interpolated percentile of sorted values (numpy's default method).</summary>
    public static double Percentile(float[] sorted, double percent)
    {
        var position = percent / 100 * (sorted.Length - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(sorted.Length - 1, below + 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>Running median of each end over a centred window of <paramref name="windowSlices"/> slices.</summary>
    public static IntensityRange[] SmoothAlongZ(IReadOnlyList<IntensityRange> ranges, int windowSlices = 15)
    {
        var half = Math.Max(0, windowSlices / 2);
        var smoothed = new IntensityRange[ranges.Count];
        for (var z = 0; z < ranges.Count; z++)
        {
            var from = Math.Max(0, z - half);
            var to = Math.Min(ranges.Count, z + half + 1);
            var lows = new double[to - from];
            var highs = new double[to - from];
            for (var i = from; i < to; i++) (lows[i - from], highs[i - from]) = (ranges[i].Low, ranges[i].High);
            smoothed[z] = new IntensityRange(Median(lows), Median(highs));
        }
        return smoothed;
    }

    public static double Median(double[] values)
    {
        Array.Sort(values);
        var mid = values.Length / 2;
        return values.Length % 2 == 1 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
    }

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
