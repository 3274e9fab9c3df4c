using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Cli;

/// <summary>
/// A segmented microstructure for <c>ssbtomo phantom --labels</c>: the label volume as <c>measure</c> reads it
/// (<see cref="Storage.LabelVolumeReader"/>), its values mapped to phases by name (<c>--phase-values</c>, parsed as
/// <c>measure</c> parses it: <see cref="MeasureCommand.ParsePhases"/>).
/// </summary>
public static class LabelFileSpecimen
{
    /// <summary>Label value → <see cref="PhaseLabel"/> for named phases; a name that is not one of the four phases, or a value named twice, fails naming it.</summary>
    public static Dictionary<int, byte> PhasesOf(IReadOnlyList<NamedPhase> named)
    {
        var phases = new Dictionary<int, byte>();
        foreach (var (name, value) in named)
        {
            var index = PhaseLabel.Names.ToList().IndexOf(name.ToLowerInvariant());
            if (index < 0)
                throw new ArgumentException($"--phase-values {name}={value}: '{name}' is not one of the phases {string.Join(", ", PhaseLabel.Names)}");
            if (value is < 0 or > ushort.MaxValue || !phases.TryAdd(value, (byte)(index + 1)))
                throw new ArgumentException($"--phase-values gives label value {value} twice or outside 0-65535");
        }
        if (phases.Count == 0) throw new ArgumentException("--phase-values names no label value");
        return phases;
    }

    /// <summary>
    /// Slices [0, <paramref name="depth"/>) of <paramref name="values"/>, the centred <paramref name="height"/>×<paramref name="width"/>
    /// of each, as phase labels. A value the map does not name fails with the file, the slice and the value.
    /// </summary>
    public static Volume<byte> Crop(Volume<ushort> values, string file, IReadOnlyDictionary<int, byte> phases, int depth, int height, int width)
    {
        var (y0, x0) = ((values.Height - height) / 2, (values.Width - width) / 2);
        var volume = new Volume<byte>(depth, height, width);
        var lookup = new byte[ushort.MaxValue + 1];
        foreach (var (value, phase) in phases) lookup[value] = phase;
        for (var z = 0; z < depth; z++)
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var value = values[z, y + y0, x + x0];
            if ((volume[z, y, x] = lookup[value]) == 0)
                throw new ArgumentException($"{file}: slice {z} holds label value {value}, which --phase-values does not name");
        }
        return volume;
    }
}
