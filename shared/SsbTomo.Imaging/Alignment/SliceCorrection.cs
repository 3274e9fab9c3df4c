namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// How one raw slice is corrected before brightness matching: its charging gradient removed with
/// <paramref name="Background"/> (null: none) and its curtaining filtered, or nothing at all when the slice is
/// <paramref name="Flat"/> (blank, saturated, out of focus: there is nothing to fit and filtering would invent structure).
/// </summary>
public sealed record SliceCorrection(BackgroundFit? Background, bool Flat)
{
    /// <param name="maxThreads">Threads the correction may use (<see cref="KernelThreads"/>); the pixels are the same for any.</param>
    public Image2D<float> Apply(Image2D<float> slice, int maxThreads = KernelThreads.All) => Apply(slice, out _, maxThreads);

    /// <summary>
    /// Like <see cref="Apply(Image2D{float})"/>, and gives the curtain offsets the filter subtracted (null for a flat
    /// slice), for <see cref="Replay"/> to correct the same slice again without filtering it again.
    /// </summary>
    public Image2D<float> Apply(Image2D<float> slice, out CurtainOffsets? curtains, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(slice);
        KernelThreads.Check(maxThreads);
        curtains = null;
        if (Flat) return slice;
        var flattened = Background is { } fit ? IntensityNormalization.RemoveBackground(slice, fit, maxThreads: maxThreads) : slice;
        var corrected = CurtainingFilter.Remove(flattened, out var offsets, maxThreads: maxThreads);
        curtains = offsets;
        return corrected;
    }

    /// <summary>
    /// The pixels <see cref="Apply(Image2D{float})"/> gives for <paramref name="slice"/>, bit for bit, from the
    /// <paramref name="curtains"/> an earlier <see cref="Apply(Image2D{float}, out CurtainOffsets?)"/> of the same slice
    /// gave: the gradient is removed again (cheap), the curtains are subtracted, not measured.
    /// </summary>
    /// <param name="curtains">Null exactly when the slice is <see cref="Flat"/>.</param>
    public Image2D<float> Replay(Image2D<float> slice, CurtainOffsets? curtains, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(slice);
        KernelThreads.Check(maxThreads);
        if (Flat != curtains is null)
            throw new ArgumentException(Flat ? "a flat slice is left uncorrected, it has no curtain offsets" : "a corrected slice needs its curtain offsets", nameof(curtains));
        if (Flat) return slice;
        if (Background is { } fit)
        {
            // The flattened image is this method's own: subtract the curtains in place.
            var flattened = IntensityNormalization.RemoveBackground(slice, fit, maxThreads: maxThreads);
            return curtains!.Apply(flattened, flattened, maxThreads);
        }
        return curtains!.Apply(slice, maxThreads: maxThreads);
    }
}
