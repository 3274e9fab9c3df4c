namespace SsbTomo.Orchestrator;

/// <summary>
/// The stall watchdog found the job without progress for <paramref name="TimeoutSeconds"/> at
/// <paramref name="DetectedUtc"/>. Only the Orchestrator sends and consumes it; the saga decides on the job as it is
/// when the message arrives (re-drive, fail, or nothing if the job moved meanwhile).
/// </summary>
public record JobStallDetected(Guid JobId, DateTime DetectedUtc, double TimeoutSeconds);
