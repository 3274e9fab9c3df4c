namespace SsbTomo.Phantom;

/// <summary>Which sample of the paper (Shi, Zhang et al. 2020) the phantom imitates.</summary>
public enum PhantomPreset
{
    /// <summary>Before cycling: small isolated pores in the LPS (~2.8 % void), no cracks.</summary>
    Pristine,

    /// <summary>After 10 cycles: a few more pores and tiny one-sided cracks (+0.2..0.7 pp void, contact loss a few %).</summary>
    Cycled10,

    /// <summary>After 50 cycles: one-sided crescent cracks and flake-like cracks next to NMC (~9.5 % void, ~10 % contact loss).</summary>
    Cycled50,
}

/// <summary>
/// What to synthesise. <paramref name="Depth"/> is the number of milled slices, <paramref name="Height"/> and
/// <paramref name="Width"/> the field of view in pixels; voxels are isotropic cubes of <paramref name="VoxelNm"/>
/// (slice thickness = pixel size). All physical sizes of the microstructure are in micrometres and are converted
/// with <paramref name="VoxelNm"/>, so the physics does not change with the voxel size.
/// </summary>
/// <remarks>
/// Without <see cref="Parameters"/> the phantom is the <paramref name="Preset"/>'s. A member of the phantom family
/// (<see cref="PhantomFamily.Draw"/>) carries its drawn <see cref="Parameters"/> and <see cref="FamilySeed"/>; its
/// <paramref name="Preset"/> is then not used.
/// </remarks>
public sealed record PhantomOptions(PhantomPreset Preset, int Depth, int Height, int Width, double VoxelNm = 50, int Seed = 1)
{
    /// <summary>Explicit microstructure and appearance; null means the preset's.</summary>
    public PhantomParameters? Parameters { get; init; }

    /// <summary>
    /// No stage drift: every slice in the slice-0 frame, as an aligned stack is; the specimen is the drifting stack's
    /// (same box, same seed). For simulations of a stack that is already aligned (a twin fitted to the stack).
    /// </summary>
    public bool Stationary { get; init; }

    /// <summary>
    /// Stage drift larger or smaller than the model's (a random walk of σ 0.4 px a slice plus a slow trend): both are
    /// multiplied by this. For robustness studies of the alignment; 1 keeps the phantom's bytes.
    /// </summary>
    public double DriftScale { get; init; } = 1;

    /// <summary>
    /// Sudden stage jumps: this many slices, drawn uniformly, at which the field moves by <see cref="DriftJumpPx"/> pixels in
    /// a random direction and stays there (a stage that re-finds its fiducial). 0 keeps the phantom's bytes.
    /// </summary>
    public int DriftJumps { get; init; }

    /// <summary>Size of each of the <see cref="DriftJumps"/>, pixels.</summary>
    public double DriftJumpPx { get; init; } = 10;

    /// <summary>The family seed these options were drawn from (<see cref="PhantomFamily.Draw"/>), null for a preset.</summary>
    public int? FamilySeed { get; init; }

    /// <summary>The parameters the phantom is built with.</summary>
    public PhantomParameters Resolved => Parameters ?? PhantomParameters.ForPreset(Preset);

    /// <summary>"family 17" or the preset's name, for logs and truth files.</summary>
    public string Describe() => FamilySeed is { } f ? $"family {f}" : Parameters is null ? Preset.ToString() : $"{Preset} (custom parameters)";

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Depth, 1, nameof(Depth));
        ArgumentOutOfRangeException.ThrowIfLessThan(Height, 8, nameof(Height));
        ArgumentOutOfRangeException.ThrowIfLessThan(Width, 8, nameof(Width));
        if (!(VoxelNm >= 5 && VoxelNm <= 500))
            throw new ArgumentOutOfRangeException(nameof(VoxelNm), VoxelNm, "voxel size must be within 5..500 nm");
        if (!(DriftScale >= 0 && DriftScale <= 20))
            throw new ArgumentOutOfRangeException(nameof(DriftScale), DriftScale, "drift scale must be within 0..20");
        ArgumentOutOfRangeException.ThrowIfNegative(DriftJumps, nameof(DriftJumps));
        if (!(DriftJumpPx >= 0 && DriftJumpPx <= 200))
            throw new ArgumentOutOfRangeException(nameof(DriftJumpPx), DriftJumpPx, "a drift jump must be within 0..200 px");
        if (!Enum.IsDefined(Preset))
            throw new ArgumentOutOfRangeException(nameof(Preset), Preset, "unknown preset");
        Resolved.Microstructure.Validate();
        Resolved.Appearance.Validate();
    }
}
