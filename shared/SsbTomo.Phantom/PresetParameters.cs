namespace SsbTomo.Phantom;

/// <summary>
/// Microstructure targets and crack morphology of each preset (sizes in micrometres). Volume fractions are
/// targets over the field of view [0,Depth)×[0,Height)×[0,Width): generation adds objects until the truth
/// labels reach them (see <see cref="SpecimenBuilder"/>). Crack shapes were calibrated by measuring truth
/// labels (void fraction and face-counted contact loss), never a segmentation.
/// </summary>
internal sealed record PresetParameters(
    double NmcTarget,
    double CarbonTarget,
    double TotalVoidTarget,
    double CrackVoidTarget,
    double ConeMinDeg,
    double ConeMaxDeg,
    double TmaxMinUm,
    double TmaxMaxUm,
    int FlakesMax,
    double FlakeRadiusMinUm,
    double FlakeRadiusMaxUm,
    double FlakeHalfThicknessMinUm,
    double FlakeHalfThicknessMaxUm)
{
    // Shared microstructure (paper: NMC/LPS/CNF 60:35:5 by weight → ~38 % NMC, ~6.5 % carbon by volume).
    public const double NmcMedianDiameterUm = 3.5;
    public const double NmcLogSigma = 0.35;
    public const double NmcMinDiameterUm = 2.0;
    public const double NmcMaxDiameterUm = 7.0;
    public const double FibreMinDiameterUm = 0.15;
    public const double FibreMaxDiameterUm = 0.25;
    public const double FibreMinLengthUm = 2.0;
    public const double FibreMaxLengthUm = 6.0;
    public const double FibreSegmentUm = 0.75;
    public const double PoreMinRadiusUm = 0.1;
    public const double PoreMaxRadiusUm = 0.4;

    public static PresetParameters For(PhantomPreset preset) => preset switch
    {
        PhantomPreset.Pristine => new(0.38, 0.065, 0.028, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        PhantomPreset.Cycled10 => new(0.38, 0.065, 0.0325, 0.0010, 20, 35, 0.20, 0.40, 0, 0, 0, 0, 0),
        PhantomPreset.Cycled50 => new(0.38, 0.065, 0.095, 0.064, 18, 32, 0.8, 1.5, 2, 2.5, 4.5, 0.2, 0.4),
        _ => throw new ArgumentOutOfRangeException(nameof(preset)),
    };
}
