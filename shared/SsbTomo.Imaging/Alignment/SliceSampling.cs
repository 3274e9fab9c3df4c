namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// When a statistic of a large slice (a median, a histogram) may read every second row, or every second row and column,
/// instead of every pixel: when the half still holds a given number of samples. The alignment's curtain filter, background
/// fit and bulk peaks each name their own minimum; slices too small for it are read whole.
/// </summary>
internal static class SliceSampling
{
    /// <summary>2 when every second of <paramref name="rows"/> rows still gives <paramref name="minimum"/> of them, else 1.</summary>
    public static int RowStep(int rows, long minimum) => rows / 2 >= minimum ? 2 : 1;

    /// <summary>2 when every second row and column of a <paramref name="rows"/> x <paramref name="columns"/> region still gives <paramref name="minimum"/> pixels, else 1.</summary>
    public static int Step(int rows, int columns, long minimum) => (long)(rows / 2) * (columns / 2) >= minimum ? 2 : 1;
}
