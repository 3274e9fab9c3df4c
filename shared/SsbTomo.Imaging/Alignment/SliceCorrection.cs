namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// How one raw slice is corrected before brightness matching: its charging gradient removed with
/// <paramref name="Background"/> (null: none) and its curtaining filtered, or nothing at all when the slice is
/// <paramref name="Flat"/> (blank, saturated, out of focus: there is nothing to fit and filtering would invent structure).
/// </summary>
public sealed record SliceCorrection(BackgroundFit? Background, bool Flat)
{
    public Image2D<float> Apply(Image2D<float> slice)
    {
        ArgumentNullException.ThrowIfNull(slice);
        if (Flat) return slice;
        var flattened = Background is { } fit ? IntensityNormalization.RemoveBackground(slice, fit) : slice;
        return CurtainingFilter.Remove(flattened);
    }
}
