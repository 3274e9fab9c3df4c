namespace SsbTomo.Hosting;

/// <summary>
/// The outcome of <see cref="SharePaths.Confine"/>: the source path with every symbolic link and <c>..</c> resolved,
/// or why it was refused.
/// </summary>
public sealed record Confinement(string? ResolvedPath, string? Reason)
{
    public bool IsAllowed => ResolvedPath is not null;
}

/// <summary>
/// Keeps job sources inside the share drive: a path submitted from outside must not let the pipeline read any other
/// file the service can see.
/// </summary>
public static class SharePaths
{
    /// <summary>The kernel's own limit (Linux MAXSYMLINKS): beyond it a chain of links is taken to be a loop.</summary>
    private const int MaxLinks = 40;

    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>
    /// <see cref="SsbTomoOptions.ShareRoots"/> and the watcher's root, blanks dropped. Relative entries are taken from
    /// the working directory, as every other path setting is.
    /// </summary>
    public static IReadOnlyList<string> Roots(SsbTomoOptions options) =>
        options.ShareRoots.Append(options.Ingest.WatchRoot)
            .Where(r => !string.IsNullOrWhiteSpace(r))
            .Select(r => Path.GetFullPath(r!))
            .Distinct(StringComparer.FromComparison(PathComparison))
            .ToList();

    /// <summary>
    /// Resolves <paramref name="path"/> as the operating system would open it and accepts it only if the result is one
    /// of <paramref name="roots"/> (themselves resolved) or lies below one, compared component by component.
    /// </summary>
    /// <param name="path">An absolute path; a relative one would depend on the service's working directory.</param>
    /// <returns>The resolved path, which is what the pipeline must read so that no link changes meaning in between
    /// (a link swapped after the check is outside this function's reach); or the reason it was refused.</returns>
    public static Confinement Confine(string path, IReadOnlyList<string> roots)
    {
        if (roots.Count == 0) return new(null, "no share roots are configured");
        if (!Path.IsPathFullyQualified(path)) return new(null, "it is not an absolute path");
        var resolved = Resolve(path, out var reason);
        if (resolved is null) return new(null, reason);
        foreach (var root in roots)
        {
            var resolvedRoot = Resolve(Path.GetFullPath(root), out _);
            if (resolvedRoot is not null && IsWithin(resolved, resolvedRoot)) return new(resolved, null);
        }
        return new(null, "it lies outside the share roots");
    }

    /// <summary>True if <paramref name="path"/> is <paramref name="root"/> or below it: /share2 is not below /share.</summary>
    public static bool IsWithin(string path, string root)
    {
        var trimmedRoot = Path.TrimEndingDirectorySeparator(root);
        var trimmedPath = Path.TrimEndingDirectorySeparator(path);
        if (trimmedPath.Equals(trimmedRoot, PathComparison)) return true;
        // A root of "/" trims to itself and already ends with the separator.
        var prefix = Path.EndsInDirectorySeparator(trimmedRoot) ? trimmedRoot : trimmedRoot + Path.DirectorySeparatorChar;
        return trimmedPath.StartsWith(prefix, PathComparison);
    }

    /// <summary>
    /// Walks the path one component at a time, replacing each symbolic link by its target and applying <c>..</c> to
    /// what has been resolved so far. Collapsing <c>..</c> first (Path.GetFullPath) would be wrong: for
    /// /share/link/../x the system opens x beside the link's target, not /share/x. Components that do not exist are
    /// kept as they are.
    /// </summary>
    private static string? Resolve(string path, out string? reason)
    {
        reason = null;
        var root = Path.GetPathRoot(path)!;
        var pending = new Stack<string>(Components(path[root.Length..]).Reverse());
        var current = root;
        var links = 0;
        try
        {
            while (pending.TryPop(out var component))
            {
                if (component == ".") continue;
                if (component == "..")
                {
                    current = Path.GetDirectoryName(current) ?? current;
                    continue;
                }
                var next = Path.Join(current, component);
                var target = new FileInfo(next).LinkTarget;
                if (target is null)
                {
                    current = next;
                    continue;
                }
                if (++links > MaxLinks)
                {
                    reason = "it has too many levels of symbolic links";
                    return null;
                }
                // A relative target continues from the link's folder, an absolute one from its own root.
                var targetRoot = Path.GetPathRoot(target) ?? "";
                if (targetRoot.Length > 0) current = targetRoot;
                foreach (var part in Components(target[targetRoot.Length..]).Reverse()) pending.Push(part);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            reason = "it cannot be resolved";
            return null;
        }
        return current;
    }

    private static IEnumerable<string> Components(string relative) =>
        relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
}
