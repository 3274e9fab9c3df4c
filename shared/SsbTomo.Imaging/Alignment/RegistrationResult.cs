namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Result of registering <c>moving</c> against <c>reference</c>: a feature at p in the reference lies at
/// p + <see cref="Shift"/> in the moving image. <see cref="PeakCorrelation"/> is the height of the
/// phase-correlation peak in [0, 1] (1 = identical up to a shift; below ~0.05 the match is doubtful).
/// </summary>
public readonly record struct RegistrationResult(Shift2D Shift, double PeakCorrelation);
