namespace SsbTomo.Hosting;

/// <summary>
/// Input that no retry can fix (bad file, absurd size): the job fails alone. The message says what is wrong and
/// names the file or slice; <see cref="Advice"/> says what the user can do about it, when the thrower knows.
/// </summary>
public sealed class InvalidInputException(string message, Exception? inner = null, string? advice = null) : Exception(message, inner)
{
    public string? Advice { get; } = advice;
}
