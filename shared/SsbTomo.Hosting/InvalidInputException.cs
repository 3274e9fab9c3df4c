namespace SsbTomo.Hosting;

/// <summary>Input that no retry can fix (bad file, absurd size): the job fails alone with this reason.</summary>
public sealed class InvalidInputException(string message, Exception? inner = null) : Exception(message, inner);
