namespace SsbTomo.Storage;

/// <summary>Joins and validates blob keys so every backend sees the same normalized form.</summary>
public static class BlobKey
{
    public static string Combine(params string[] parts) =>
        string.Join('/', parts.Select(p => p.Trim('/')).Where(p => p.Length > 0));

    /// <summary>Throws unless the key is relative, non-empty and has no "." / ".." / empty segments.</summary>
    public static string Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
            throw new ArgumentException("blob key is empty", nameof(key));
        if (key.Contains('\\') || key.Contains('\0'))
            throw new ArgumentException($"blob key '{key}' contains a backslash or NUL; use '/' separators", nameof(key));
        if (key.StartsWith('/') || Path.IsPathRooted(key) || (key.Length >= 2 && key[1] == ':'))
            throw new ArgumentException($"blob key '{key}' is absolute; keys are relative to the store root", nameof(key));
        foreach (var segment in key.Split('/'))
        {
            if (segment is "" or "." or "..")
                throw new ArgumentException($"blob key '{key}' has an empty, '.' or '..' segment", nameof(key));
        }
        return key;
    }
}
