namespace SsbTomo.TestSupport;

/// <summary>What a failed job's reason must never show a user: the traces of an exception's type, parameter names or stack.</summary>
public static class ReadableReason
{
    private static readonly string[] Forbidden = ["Exception", "System.", "(Parameter '", " at SsbTomo", " at MassTransit"];

    /// <returns>The forbidden fragments <paramref name="reason"/> contains (empty for a readable reason), or "no reason" if there is none.</returns>
    public static IReadOnlyList<string> Offenders(string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? ["no reason"] : Forbidden.Where(f => reason.Contains(f, StringComparison.Ordinal)).ToArray();
}
