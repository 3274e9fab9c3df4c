namespace SsbTomo.Imaging.Reconstruction;

/// <summary>Which plane of the (z, y, x) volume a preview shows.</summary>
public enum SlicePlane
{
    /// <summary>A milled slice: rows y, columns x.</summary>
    Xy,
    /// <summary>Rows z, columns x (a cut across the slices at one y).</summary>
    Xz,
    /// <summary>Rows z, columns y (a cut across the slices at one x).</summary>
    Yz,
}

/// <summary>
/// A grey-level slice with the phase labels laid over it in colour, for a person to judge a segmentation at a glance.
/// </summary>
public static class SlicePreview
{
    /// <summary>Share of the grey levels clipped at each end of the contrast stretch.</summary>
    public const double ClipFraction = 0.005;

    /// <summary>
    /// The preview as 8-bit RGB, row by row (3 bytes per pixel). Grey levels are stretched between the 0.5th and 99.5th
    /// percentile of the labelled pixels (all pixels when none is labelled); a pixel whose label has a colour is blended
    /// with it: out = (1 - alpha) grey + alpha colour. Rows are repeated so that a pixel is as tall as it is wide
    /// (FIB-SEM slices are often thicker than the pixel size).
    /// </summary>
    /// <param name="grey">The grey levels.</param>
    /// <param name="labels">The labels, same size as <paramref name="grey"/>.</param>
    /// <param name="colours">Colour by label value; null (or a value past the end) draws no overlay.</param>
    /// <param name="alpha">Overlay opacity, 0..1.</param>
    /// <param name="rowToColumnSize">Physical height of a row over the physical width of a column.</param>
    /// <returns>The RGB pixels, the output height and width.</returns>
    public static (byte[] Rgb, int Height, int Width) Render(Image2D<ushort> grey, Image2D<byte> labels, IReadOnlyList<Rgb?> colours,
        double alpha, double rowToColumnSize = 1)
    {
        ArgumentNullException.ThrowIfNull(grey);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(colours);
        if (grey.Height != labels.Height || grey.Width != labels.Width)
            throw new ArgumentException($"labels are {labels.Height}x{labels.Width}, grey levels {grey.Height}x{grey.Width}", nameof(labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(alpha, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(alpha, 1);
        if (!(rowToColumnSize > 0) || double.IsInfinity(rowToColumnSize))
            throw new ArgumentOutOfRangeException(nameof(rowToColumnSize), rowToColumnSize, "a positive size ratio");

        var (low, high) = Stretch(grey, labels);
        var outHeight = Math.Max(1, (int)Math.Round(grey.Height * rowToColumnSize));
        var width = grey.Width;
        var rgb = new byte[(long)outHeight * width * 3];
        for (var oy = 0; oy < outHeight; oy++)
        {
            var y = Math.Min(grey.Height - 1, (int)(oy / rowToColumnSize));
            for (var x = 0; x < width; x++)
            {
                var g = high > low ? Math.Clamp((grey[y, x] - low) * 255.0 / (high - low), 0, 255) : 128;
                double r = g, gg = g, b = g;
                var label = labels[y, x];
                if (label < colours.Count && colours[label] is { } c)
                {
                    r = (1 - alpha) * r + alpha * c.R;
                    gg = (1 - alpha) * gg + alpha * c.G;
                    b = (1 - alpha) * b + alpha * c.B;
                }
                var at = ((long)oy * width + x) * 3;
                rgb[at] = (byte)Math.Round(r);
                rgb[at + 1] = (byte)Math.Round(gg);
                rgb[at + 2] = (byte)Math.Round(b);
            }
        }
        return (rgb, outHeight, width);
    }

    /// <summary>The grey levels at the clip fractions of the labelled pixels (all pixels when none is labelled).</summary>
    private static (int Low, int High) Stretch(Image2D<ushort> grey, Image2D<byte> labels)
    {
        var histogram = new long[ushort.MaxValue + 1];
        long counted = 0;
        for (var i = 0; i < grey.Pixels.Length; i++)
            if (labels.Pixels[i] != 0) { histogram[grey.Pixels[i]]++; counted++; }
        if (counted == 0)
            foreach (var v in grey.Pixels) { histogram[v]++; counted++; }
        if (counted == 0) return (0, 0);
        var clip = (long)Math.Floor(counted * ClipFraction);
        int low = 0, high = ushort.MaxValue;
        for (long seen = 0; low < ushort.MaxValue; low++)
            if ((seen += histogram[low]) > clip) break;
        for (long seen = 0; high > 0; high--)
            if ((seen += histogram[high]) > clip) break;
        return (low, Math.Max(low, high));
    }
}
