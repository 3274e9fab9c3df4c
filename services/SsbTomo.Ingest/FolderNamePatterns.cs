using System.Text;
using System.Text.RegularExpressions;

namespace SsbTomo.Ingest;

/// <summary>What an acquisition folder's name says: the sample, its place in a series, and every placeholder's value.</summary>
public sealed record FolderLabels(string? Sample, string? Series, IReadOnlyDictionary<string, string> Values);

/// <summary>
/// Reads sample and series from acquisition folder names with patterns such as <c>{sample}_{cycles}cyc</c>: literal
/// text and <c>{name}</c> placeholders, matched against the whole name, case-insensitively; the first pattern that
/// matches wins; a placeholder takes as much as it can (<c>{sample}_{cycles}cyc</c> reads NMC_811_50cyc as NMC_811 and 50).
/// <c>{sample}</c> names the sample; <c>{series}</c>, or else the other placeholders as
/// <c>name=value</c> (<c>cycles=50</c>), its place in a series.
/// </summary>
public sealed partial class FolderNamePatterns
{
    private readonly (string Pattern, Regex Regex, string[] Names)[] _patterns;

    public FolderNamePatterns(IEnumerable<string> patterns) => _patterns = [.. patterns.Select(Compile)];

    public FolderLabels? Match(string folderName)
    {
        foreach (var (_, regex, names) in _patterns)
        {
            var match = regex.Match(folderName);
            if (!match.Success) continue;
            var values = names.ToDictionary(n => n, n => match.Groups[n].Value, StringComparer.Ordinal);
            var others = names.Where(n => n is not ("sample" or "series")).Select(n => $"{n}={values[n]}").ToArray();
            return new FolderLabels(values.GetValueOrDefault("sample"),
                values.GetValueOrDefault("series") ?? (others.Length == 0 ? null : string.Join(", ", others)), values);
        }
        return null;
    }

    private static (string, Regex, string[]) Compile(string pattern)
    {
        var regex = new StringBuilder("^");
        var names = new List<string>();
        var at = 0;
        foreach (Match placeholder in Placeholder().Matches(pattern))
        {
            regex.Append(Regex.Escape(pattern[at..placeholder.Index]));
            var name = placeholder.Groups["name"].Value;
            if (names.Contains(name))
                throw new ArgumentException($"SsbTomo:Ingest:FolderPatterns: \"{pattern}\" has {{{name}}} twice", nameof(pattern));
            names.Add(name);
            regex.Append($"(?<{name}>.+)");
            at = placeholder.Index + placeholder.Length;
        }
        regex.Append(Regex.Escape(pattern[at..])).Append('$');
        if (names.Count == 0)
            throw new ArgumentException($"SsbTomo:Ingest:FolderPatterns: \"{pattern}\" has no {{placeholder}}", nameof(pattern));
        return (pattern, new Regex(regex.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant), [.. names]);
    }

    [GeneratedRegex(@"\{(?<name>[A-Za-z][A-Za-z0-9_]*)\}")]
    private static partial Regex Placeholder();
}
