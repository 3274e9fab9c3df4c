namespace SsbTomo.Benchmarks;

/// <summary>The benchmarks' plain-text tables: columns padded to their widest cell, numbers right-aligned.</summary>
internal static class ResultTable
{
    public static void Print(string[] header, IReadOnlyList<string[]> rows, int firstNumeric, int lastNumeric)
    {
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Max(r => r[c].Length))).ToArray();
        Console.WriteLine();
        Console.WriteLine(string.Join(" | ", header.Select((h, c) => h.PadRight(widths[c]))));
        Console.WriteLine(string.Join("-|-", widths.Select(w => new string('-', w))));
        foreach (var r in rows)
            Console.WriteLine(string.Join(" | ", r.Select((cell, c) => c >= firstNumeric && c <= lastNumeric ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))));
        Console.WriteLine();
    }
}
