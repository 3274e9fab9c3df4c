using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Storage;

namespace SsbTomo.Cli;

/// <summary>Reads a segmented microstructure from a TIFF stack for <c>ssbtomo phantom --labels</c>: its label values mapped to phases.</summary>
public static class LabelFileSpecimen
{
    /// <summary>"lps=0,nmc=85,carbon=170" (as <c>measure --phase-values</c>) → label value → <see cref="PhaseLabel"/>; an error names the entry that is wrong.</summary>
    public static Dictionary<int, byte> ParsePhases(string map)
    {
        var phases = new Dictionary<int, byte>();
        foreach (var entry in map.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = entry.Split('=');
            if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value is < 0 or > 65535)
                throw new ArgumentException($"--phase-values entry '{entry}' is not PHASE=VALUE with a label value 0-65535 (e.g. nmc=85)");
            var index = PhaseLabel.Names.ToList().IndexOf(parts[0].Trim().ToLowerInvariant());
            if (index < 0)
                throw new ArgumentException($"--phase-values entry '{entry}': '{parts[0]}' is not one of the phases {string.Join(", ", PhaseLabel.Names)}");
            if (!phases.TryAdd(value, (byte)(index + 1)))
                throw new ArgumentException($"--phase-values gives label value {value} twice");
        }
        if (phases.Count == 0) throw new ArgumentException("--phase-values names no label value");
        return phases;
    }

    /// <summary>
    /// Slices [0, <paramref name="depth"/>) of <paramref name="file"/>, the centred <paramref name="height"/>×<paramref name="width"/>
    /// of each, as phase labels. A value the map does not name fails with the file, the slice and the value.
    /// </summary>
    public static Volume<byte> Read(TiffStackInfo file, IReadOnlyDictionary<int, byte> phases, int depth, int height, int width)
    {
        var (y0, x0) = ((file.Height - height) / 2, (file.Width - width) / 2);
        var volume = new Volume<byte>(depth, height, width);
        var lookup = new byte[65536];
        foreach (var (value, phase) in phases) lookup[value] = phase;
        for (var z = 0; z < depth; z++)
        {
            var slice = TiffStackReader.ReadSlice(file, z);
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var value = slice[y + y0, x + x0];
                var phase = lookup[value];
                if (phase == 0)
                    throw new ArgumentException($"{file.Files[0]}: slice {z} holds label value {value}, which --phase-values does not name");
                volume[z, y, x] = phase;
            }
        }
        return volume;
    }
}
