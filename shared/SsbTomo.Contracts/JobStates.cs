using System.Collections.Immutable;

namespace SsbTomo.Contracts;

/// <summary>
/// The names of a job's states, as <see cref="JobProgressed.State"/>, the jobs API, the dashboard and the CLI carry them.
/// The orchestrator's saga states have exactly these names (a test holds them together).
/// </summary>
public static class JobStates
{
    public const string Ingesting = nameof(Ingesting);
    public const string Aligning = nameof(Aligning);
    public const string Denoising = nameof(Denoising);
    public const string Surveying = nameof(Surveying);
    public const string Segmenting = nameof(Segmenting);
    public const string Reconstructing = nameof(Reconstructing);
    public const string Measuring = nameof(Measuring);
    public const string Completed = nameof(Completed);
    public const string Failed = nameof(Failed);

    /// <summary>The running states in pipeline order.</summary>
    public static ImmutableArray<string> Running { get; } = [Ingesting, Aligning, Denoising, Surveying, Segmenting, Reconstructing, Measuring];

    /// <summary>Every state, a job's progress order: the running ones, then Completed, then Failed.</summary>
    public static ImmutableArray<string> InOrder { get; } = [.. Running, Completed, Failed];

    /// <summary>True for Completed and Failed: nothing moves a job out of them.</summary>
    public static bool IsFinished(string state) => state is Completed or Failed;
}
