using System.Globalization;
using System.CommandLine.Parsing;

namespace SsbTomo.Cli;

/// <summary>Parsers for the comma-separated triples the commands take.</summary>
public static class CliParsing
{
    public static double[]? ParseDoubles(ArgumentResult result, int count)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || values[i] <= 0)
            {
                result.AddError($"'{text}': expected {count} positive numbers separated by commas");
                return null;
            }
        if (values.Length != count)
        {
            result.AddError($"'{text}': expected {count} numbers separated by commas, got {values.Length}");
            return null;
        }
        return values;
    }

    public static int[]? ParseInts(ArgumentResult result, int count)
    {
        var doubles = ParseDoubles(result, count);
        if (doubles is null) return null;
        if (doubles.Any(d => d != Math.Floor(d) || d > int.MaxValue))
        {
            result.AddError($"'{result.Tokens[0].Value}': expected whole numbers");
            return null;
        }
        return doubles.Select(d => (int)d).ToArray();
    }
}
