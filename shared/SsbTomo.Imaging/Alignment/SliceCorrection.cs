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
    /// <param name="output">Where the corrected pixels go (not <paramref name="slice"/>); null: a new image. With an output
    /// the slice's own pixels are the flattening's scratch: it holds the slice less its background afterwards.</param>
    public Image2D<float> Apply(Image2D<float> slice, out CurtainOffsets? curtains, int maxThreads = KernelThreads.All, Image2D<float>? output = null)
    {
        ArgumentNullException.ThrowIfNull(slice);
        KernelThreads.Check(maxThreads);
        if (ReferenceEquals(output, slice))
            throw new ArgumentException("the curtaining filter reads the flattened slice while it writes the output: pass another image", nameof(output));
        curtains = null;
        if (Flat) return slice;
        var flattened = Background is { } fit
            ? IntensityNormalization.RemoveBackground(slice, fit, output: output is null ? null : slice, maxThreads: maxThreads)
            : slice;
        var corrected = CurtainingFilter.Remove(flattened, out var offsets, output: output, maxThreads: maxThreads);
        curtains = offsets;
        return corrected;
    }

    /// <summary>
    /// The pixels <see cref="Apply(Image2D{float})"/> gives for <paramref name="slice"/>, bit for bit, from the
    /// <paramref name="curtains"/> an earlier <see cref="Apply(Image2D{float}, out CurtainOffsets?)"/> of the same slice
    /// gave: the gradient is removed again (cheap), the curtains are subtracted, not measured.
    /// </summary>
    /// <param name="curtains">Null exactly when the slice is <see cref="Flat"/>.</param>
    /// <param name="output">Where the corrected pixels go (may be <paramref name="slice"/> itself); null: a new image. A flat
    /// slice is returned as it is.</param>
    public Image2D<float> Replay(Image2D<float> slice, CurtainOffsets? curtains, int maxThreads = KernelThreads.All, Image2D<float>? output = null)
    {
        ArgumentNullException.ThrowIfNull(slice);
        KernelThreads.Check(maxThreads);
        if (Flat != curtains is null)
            throw new ArgumentException(Flat ? "a flat slice is left uncorrected, it has no curtain offsets" : "a corrected slice needs its curtain offsets", nameof(curtains));
        if (Flat) return slice;
        if (Background is { } fit)
        {
            // The flattened image is this method's own (or the output): subtract the curtains in place.
            var flattened = IntensityNormalization.RemoveBackground(slice, fit, output: output, maxThreads: maxThreads);
            return curtains!.Apply(flattened, flattened, maxThreads);
        }
        return curtains!.Apply(slice, output, maxThreads);
    }
}
