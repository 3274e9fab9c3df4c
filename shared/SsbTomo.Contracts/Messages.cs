namespace SsbTomo.Contracts;

// Messages carry references to blobs (claim check), never pixels. Every blob path is relative to
// the job prefix, so one store can hold many jobs. Commands name a verb, events name a fact.

/// <summary>Physical voxel size on the wire (x, y in-plane; z the milled slice thickness).</summary>
public record VoxelSizeNm(double X, double Y, double Z);

/// <summary>A stack on the share drive is ready to be processed. Starts a job.</summary>
public record SubmitJob(Guid JobId, string SourcePath, string JobPrefix, VoxelSizeNm? VoxelSizeOverride, int ChunkSlices);

public record JobSubmitted(Guid JobId, string SourcePath, string JobPrefix, DateTime SubmittedUtc);

public record IngestStack(Guid JobId, string SourcePath, string JobPrefix, VoxelSizeNm? VoxelSizeOverride) : IJobMessage;

public record StackIngested(Guid JobId, string RawPath, int Slices, int Height, int Width, int BitsPerSample, VoxelSizeNm VoxelSize);

public record AlignStack(Guid JobId, string JobPrefix, string RawPath, int ChunkSlices) : IJobMessage;

/// <param name="Warnings">Sentences for the operator about slices alignment had to correct less or interpolate (the per-slice list is in alignment.json).</param>
public record StackAligned(Guid JobId, string AlignedPath, int Slices, int Height, int Width, int[] CropYx, double MaxDriftPx, string[]? Warnings = null);

/// <summary>Denoise one slab of slices and report its grey-level histogram (fan-out, phase 1).</summary>
public record PrepareChunk(Guid JobId, string JobPrefix, int ChunkIndex, int Z0, int Z1) : IJobMessage;

/// <summary>Histogram bins span [HistogramMin, HistogramMax) evenly, so the fan-in can add them bin by bin.</summary>
public record ChunkPrepared(Guid JobId, int ChunkIndex, long[] Histogram, double HistogramMin, double HistogramMax);

/// <summary>Classify one slab with the thresholds of the whole stack's histogram (fan-out, phase 2).</summary>
public record SegmentChunk(Guid JobId, string JobPrefix, int ChunkIndex, int Z0, int Z1, double[] Thresholds, double[] ClassMeans) : IJobMessage;

public record ChunkSegmented(Guid JobId, int ChunkIndex);

public record ReconstructVolume(Guid JobId, string JobPrefix) : IJobMessage;

public record VolumeReconstructed(Guid JobId, int Levels);

public record MeasureVolume(Guid JobId, string JobPrefix) : IJobMessage;

public record VolumeMeasured(Guid JobId, string MetricsPath);

public record JobCompleted(Guid JobId, string JobPrefix, string MetricsPath, DateTime CompletedUtc);

/// <summary>A stage met input it cannot process (bad TIFF, empty stack): retrying will not help.</summary>
public record StageFailed(Guid JobId, string Stage, string Reason);

public record JobFailed(Guid JobId, string Stage, string Reason, DateTime FailedUtc);

/// <summary>Progress of a job, published on each state change, for dashboards and the CLI.</summary>
public record JobProgressed(Guid JobId, string State, int ChunksDone, int ChunksTotal);

/// <summary>Every stage command belongs to one job; lets a failure be reported against it.</summary>
public interface IJobMessage
{
    Guid JobId { get; }
}
