namespace SsbTomo.Storage;

/// <summary>A TIFF stack that cannot be ingested; the message names the file and what is wrong with it.</summary>
public sealed class TiffStackException(string message, string? fileName = null, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>The offending file (name only), or null if the problem is the stack as a whole.</summary>
    public string? FileName { get; } = fileName;
}
