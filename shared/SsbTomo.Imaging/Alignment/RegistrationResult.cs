namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Result of registering <c>moving</c> against <c>reference</c>: a feature at p in the reference lies at
/// p + <see cref="Shift"/> in the moving image. <see cref="PeakCorrelation"/> is the height of the
/// phase-correlation peak in [0, 1] (1 = identical up to a shift; below ~0.05 the match is doubtful).
/// <see cref="PeakRatio"/> is that peak over the highest other peak of the correlation surface (0 when nothing
/// matched, e.g. a flat image): well above 1 for images that share a shifted structure, near 1 for unrelated ones.
/// </summary>
public readonly record struct RegistrationResult(Shift2D Shift, double PeakCorrelation, double PeakRatio = double.PositiveInfinity);
