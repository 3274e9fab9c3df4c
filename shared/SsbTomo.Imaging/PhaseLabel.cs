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

    /// <summary>
    /// Display colour (sRGB) per label value for label images and previews: NMC blue, LPS yellow, carbon green, void red
    /// (the colours of the paper's Fig. 3); outside the valid region has none.
    /// </summary>
    public static IReadOnlyList<Rgb?> Colours { get; } =
        [null, new Rgb(31, 119, 180), new Rgb(240, 200, 40), new Rgb(44, 160, 44), new Rgb(214, 39, 40)];

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

/// <summary>One sRGB colour, 8 bits a channel.</summary>
public readonly record struct Rgb(byte R, byte G, byte B);
