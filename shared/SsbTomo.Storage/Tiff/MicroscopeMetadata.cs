using System.Globalization;
using System.Text.RegularExpressions;

namespace SsbTomo.Storage;

/// <summary>Pixel sizes from the text metadata that SEM vendors put into private TIFF tags.</summary>
public static partial class MicroscopeMetadata
{
    /// <summary>
    /// FEI/ThermoFisher tag 34682 holds INI text; [Scan] PixelWidth/PixelHeight are in metres.
    /// Returns (x, y) in nanometres, or null if absent or implausible.
    /// </summary>
    public static (double XNm, double YNm)? ParseFeiPixelSize(string iniText)
    {
        ArgumentNullException.ThrowIfNull(iniText);
        string? section = null;
        double? width = null, height = null;
        foreach (var rawLine in iniText.Split('\n'))
        {
            var line = rawLine.Trim().TrimEnd('\0');
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line[1..^1].Trim();
                continue;
            }
            if (!string.Equals(section, "Scan", StringComparison.OrdinalIgnoreCase))
                continue;
            var equals = line.IndexOf('=');
            if (equals <= 0)
                continue;
            var key = line[..equals].Trim();
            if (!double.TryParse(line[(equals + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var metres))
                continue;
            if (key.Equals("PixelWidth", StringComparison.OrdinalIgnoreCase)) width = metres * 1e9;
            else if (key.Equals("PixelHeight", StringComparison.OrdinalIgnoreCase)) height = metres * 1e9;
        }
        if (width is not { } x || !IsPlausibleNm(x))
            return null;
        var y = height is { } h && IsPlausibleNm(h) ? h : x;
        return (x, y);
    }

    /// <summary>
    /// The scanned image size from FEI/ThermoFisher INI text ([Image] ResolutionX/ResolutionY). A TIFF taller than
    /// ResolutionY carries the microscope's data bar (scale bar, HV, magnification as text) in its bottom rows.
    /// </summary>
    public static (int Width, int Height)? ParseFeiResolution(string iniText)
    {
        ArgumentNullException.ThrowIfNull(iniText);
        var image = Section(iniText, "Image");
        return image.TryGetValue("ResolutionX", out var x) && image.TryGetValue("ResolutionY", out var y)
            && int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var width)
            && int.TryParse(y, NumberStyles.Integer, CultureInfo.InvariantCulture, out var height)
            && width > 0 && height > 0
            ? (width, height)
            : null;
    }

    /// <summary>Angle between the ion and electron columns of FEI/ThermoFisher dual-beam instruments.</summary>
    public const double FeiColumnAngleDeg = 52;

    /// <summary>
    /// How much longer than PixelHeight one image row spans on a FIB-milled face: 1/sin 52° (≈1.27) when the stage is
    /// at the cross-section tilt (the ion beam normal to the surface, [EBeam] StageTa or [Stage] StageT within 3° of
    /// 52°) and the microscope's own tilt correction was off ([EBeam] TiltCorrectionIsOn=no); 1 otherwise (corrected
    /// at acquisition, top-down imaging, or nothing said).
    /// </summary>
    public static double FeiCrossSectionYStretch(string iniText)
    {
        ArgumentNullException.ThrowIfNull(iniText);
        var beam = Section(iniText, "EBeam");
        if (!beam.TryGetValue("TiltCorrectionIsOn", out var corrected) || !corrected.Equals("no", StringComparison.OrdinalIgnoreCase))
            return 1;
        var tiltText = beam.TryGetValue("StageTa", out var ta) ? ta : Section(iniText, "Stage").GetValueOrDefault("StageT");
        if (!double.TryParse(tiltText, NumberStyles.Float, CultureInfo.InvariantCulture, out var tiltRad))
            return 1;
        var columnAngle = FeiColumnAngleDeg * Math.PI / 180;
        return Math.Abs(Math.Abs(tiltRad) - columnAngle) <= 3 * Math.PI / 180 ? 1 / Math.Sin(columnAngle) : 1;
    }

    /// <summary>FEI/ThermoFisher [Section] Key pairs worth keeping with a job's provenance: instrument, beam, scan, stage.</summary>
    private static readonly (string Section, string Key)[] FeiProvenanceKeys =
    [
        ("System", "Type"), ("System", "Dnumber"), ("System", "Software"), ("System", "BuildNr"),
        ("User", "Date"), ("User", "Time"),
        ("Beam", "HV"), ("Beam", "Spot"), ("EBeam", "HV"), ("EBeam", "WD"), ("EBeam", "BeamCurrent"),
        ("EBeam", "TiltCorrectionIsOn"), ("EBeam", "StageTa"),
        ("Scan", "PixelWidth"), ("Scan", "PixelHeight"), ("Scan", "HorFieldsize"), ("Scan", "Dwelltime"),
        ("Image", "ResolutionX"), ("Image", "ResolutionY"),
        ("Stage", "StageT"), ("Detectors", "Name"), ("Detectors", "Mode"),
    ];

    /// <summary>Zeiss CZ_SEM "Label = value" lines worth keeping with a job's provenance.</summary>
    private static readonly string[] ZeissProvenanceLabels =
        ["Image Pixel Size", "EHT", "WD", "Mag", "Dwell Time", "Signal A", "Stage at T", "Date", "Time", "SEM Model"];

    /// <summary>
    /// The FEI/ThermoFisher keys of <see cref="FeiProvenanceKeys"/> present in <paramref name="iniText"/>, as
    /// "[Section] Key" → value, verbatim.
    /// </summary>
    public static IReadOnlyDictionary<string, string> FeiProvenance(string iniText)
    {
        ArgumentNullException.ThrowIfNull(iniText);
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in FeiProvenanceKeys.GroupBy(k => k.Section))
        {
            var section = Section(iniText, group.Key);
            foreach (var (_, key) in group)
                if (section.TryGetValue(key, out var value)) values[$"[{group.Key}] {key}"] = value;
        }
        return values;
    }

    /// <summary>The Zeiss labels of <see cref="ZeissProvenanceLabels"/> present in <paramref name="text"/>, verbatim.</summary>
    public static IReadOnlyDictionary<string, string> ZeissProvenance(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim().TrimEnd('\0');
            if (line.IndexOf('=') is not (> 0 and var equals)) continue;
            var label = line[..equals].Trim();
            if (ZeissProvenanceLabels.Contains(label, StringComparer.OrdinalIgnoreCase) && !values.ContainsKey(label))
                values[label] = line[(equals + 1)..].Trim();
        }
        return values;
    }

    private static Dictionary<string, string> Section(string iniText, string name)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? section = null;
        foreach (var rawLine in iniText.Split('\n'))
        {
            var line = rawLine.Trim().TrimEnd('\0');
            if (line.StartsWith('[') && line.EndsWith(']'))
                section = line[1..^1].Trim();
            else if (string.Equals(section, name, StringComparison.OrdinalIgnoreCase) && line.IndexOf('=') is > 0 and var equals)
                values[line[..equals].Trim()] = line[(equals + 1)..].Trim();
        }
        return values;
    }

    /// <summary>Zeiss tag 34118 (CZ_SEM) text has a line like "Image Pixel Size = 4.961 nm". Returns nanometres or null.</summary>
    public static double? ParseZeissPixelSize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = ZeissPixelSize().Match(text);
        if (!match.Success || !double.TryParse(match.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            return null;
        var nm = match.Groups["unit"].Value switch
        {
            "pm" => value / 1000,
            "nm" => value,
            "µm" or "um" => value * 1000,
            _ => double.NaN,
        };
        return IsPlausibleNm(nm) ? nm : null;
    }

    /// <summary>FIB-SEM pixels are between a tenth of a nanometre and ten micrometres; anything else is a default or an error.</summary>
    public static bool IsPlausibleNm(double nm) => double.IsFinite(nm) && nm >= 0.1 && nm <= 10_000;

    [GeneratedRegex(@"Image Pixel Size\s*=\s*(?<value>[0-9.eE+-]+)\s*(?<unit>pm|nm|µm|um)")]
    private static partial Regex ZeissPixelSize();
}
