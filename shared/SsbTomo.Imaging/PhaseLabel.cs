namespace SsbTomo.Imaging;

/// <summary>Phase label values used everywhere: phantoms, labels.zarr, metrics (DESIGN.md).</summary>
public static class PhaseLabel
{
    public const byte Outside = 0;
    public const byte Nmc = 1;
    public const byte Lps = 2;
    public const byte Carbon = 3;
    public const byte Void = 4;

    public const int Count = 5;

    /// <summary>The four phases' names in label order (nmc, lps, carbon, void).</summary>
    public static IReadOnlyList<string> Names { get; } = ["nmc", "lps", "carbon", "void"];

    public static string Name(byte label) => label switch
    {
        Outside => "outside",
        Nmc => "nmc",
        Lps => "lps",
        Carbon => "carbon",
        Void => "void",
        _ => throw new ArgumentOutOfRangeException(nameof(label), label, "not a phase label"),
    };
}
