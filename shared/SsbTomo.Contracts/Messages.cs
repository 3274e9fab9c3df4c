namespace SsbTomo.Contracts;

// Messages carry the job prefix (claim check), never pixels and never blob paths: where each volume of a job lives
// follows from its prefix (Storage's JobLayout), so a path cannot be decided twice. Commands name a verb, events name a fact.
// Fields are only removed where nobody reads them: a saga state or a queued message that still holds one is read with
// it ignored (MassTransit's and the job stores' System.Text.Json skip unknown properties).

/// <summary>Physical voxel size on the wire (x, y in-plane; z the milled slice thickness).</summary>
public record VoxelSizeNm(double X, double Y, double Z);

/// <summary>A stack on the share drive is ready to be processed. Starts a job.</summary>
public record SubmitJob(Guid JobId, string SourcePath, string JobPrefix, VoxelSizeNm? VoxelSizeOverride, int ChunkSlices)
{
    /// <summary>Set when the share-drive watcher submitted the job: why the folder counted as complete; null from the API or CLI.</summary>
    public WatchedAcquisition? Acquisition { get; init; }

    /// <summary>
    /// True when the submitter stored a trained pixel classifier under the job's prefix (Storage's JobLayout
    /// ClassifierManifest / ClassifierForest) before sending this: segmentation classifies with it instead of the thresholds.
    /// </summary>
    public bool TrainedClassifier { get; init; }

    /// <summary>
    /// Slices per command of the fanned-out stages after alignment (denoising, survey, segmentation): a whole number of
    /// <see cref="ChunkSlices"/> slabs, so each command reads its z halo once for several slabs. 0 (or less than
    /// <see cref="ChunkSlices"/>): one slab per command, as before the field existed.
    /// </summary>
    public int FanOutSlices { get; init; }

    /// <summary>What the cathode's carbon additive looks like, which decides the segmentation's fibre rules; null: the segmentation service's <c>SsbTomo:FibreHalfDepth</c>.</summary>
    public CarbonShape? Carbon { get; init; }

    /// <summary>
    /// Edge in pixels of the centred crop each slice is registered on against its neighbours (Imaging's
    /// PairwiseRegistration); null: the alignment service's <c>SsbTomo:RegistrationCropPx</c>. Larger costs more and helps a
    /// specimen without compact bright particle sections, whose drift rests on the registrations alone.
    /// </summary>
    public int? RegistrationCropPx { get; init; }
}

/// <summary>
/// The carbon additive's shape in 3D. The segmentation's fibre rules (the width at half depth of thin carbon, dark layers
/// on a particle's face read as delamination gaps) hold for fibres only: on a binder that coats the particles they read
/// the binder as void.
/// </summary>
public enum CarbonShape
{
    /// <summary>Carbon nanofibres or VGCF (the paper's cathode): thin tubes; the fibre rules run.</summary>
    Fibres,

    /// <summary>Carbon black or binder: grains and films, on the particles as well; no fibre rules.</summary>
    Particles,
}

/// <summary>
/// How the watcher decided that an acquisition folder was complete. <c>Kind</c> is <c>end-marker</c> (a file the
/// acquisition software writes after the last slice) or <c>quiet-period</c> (no change for <c>QuietSeconds</c>, derived
/// from the folder's own slice cadence); <c>Description</c> says the same in a sentence.
/// </summary>
public record CompletionRule(string Kind, string Description, int Slices, string? EndMarker = null, double? QuietSeconds = null,
    double? MedianSliceIntervalSeconds = null);

/// <param name="Supersedes">The earlier job of the same folder, whose stack grew or changed after it started.</param>
/// <param name="Sample">From the folder's name (SsbTomo:Ingest:FolderPatterns <c>{sample}</c>).</param>
/// <param name="Series">The sample's place in a series, from the folder's name: <c>{series}</c>, or the other placeholders as <c>name=value</c>.</param>
public record WatchedAcquisition(CompletionRule Completion, Guid? Supersedes = null, string? Sample = null, string? Series = null)
{
    /// <summary>Every placeholder of the folder-name pattern that matched, with its value.</summary>
    public IReadOnlyDictionary<string, string>? FolderLabels { get; init; }
}

/// <summary>
/// The folder of a job changed after the job started (slices added, replaced or removed); <c>SupersededBy</c>
/// processes the whole stack. <c>Reason</c> is a sentence for the operator.
/// </summary>
public record JobSuperseded(Guid JobId, Guid SupersededBy, string Reason);

public record JobSubmitted(Guid JobId, string SourcePath, string JobPrefix, DateTime SubmittedUtc);

/// <param name="ChunkSlices">raw.zarr's z-chunk: the job's slab plan, decided once by the orchestrator, so that every stage's slabs
/// fall on whole chunks whatever each service's own settings say.</param>
public record IngestStack(Guid JobId, string SourcePath, string JobPrefix, VoxelSizeNm? VoxelSizeOverride, int ChunkSlices) : IJobMessage
{
    /// <summary>Goes into provenance.json.</summary>
    public WatchedAcquisition? Acquisition { get; init; }
}

/// <summary>raw.zarr is written; <c>Slices</c> is what the saga cuts the slab plan over (the shape and voxel size are in raw.zarr).</summary>
public record StackIngested(Guid JobId, int Slices);

/// <summary>
/// Measure one slab of raw.zarr for alignment (fan-out, phase 1): per slice its charging-gradient fit, brightness,
/// particle sections and registrations against the slices at fixed offsets before it (reading those as a halo); the
/// measurements go to a blob per chunk.
/// </summary>
public record MeasureAlignmentChunk(Guid JobId, string JobPrefix, int ChunkIndex, int Z0, int Z1) : IJobMessage, IChunkMessage
{
    /// <summary>The job's registration crop (<see cref="SubmitJob.RegistrationCropPx"/>); null: the alignment service's configured one.</summary>
    public int? RegistrationCropPx { get; init; }
}

public record AlignmentChunkMeasured(Guid JobId, int ChunkIndex);

/// <summary>The drift, crop and brightness of the whole stack, once, from every chunk's measurements (phase 2).</summary>
public record SolveAlignment(Guid JobId, string JobPrefix, int Chunks) : IJobMessage;

/// <summary>The solution is stored and aligned.zarr created, empty; the fields are those of <see cref="StackAligned"/>.</summary>
public record AlignmentSolved(Guid JobId, int Slices, int Height, int Width, string[]? Warnings = null);

/// <summary>Correct, shift and crop one slab into aligned.zarr with the stored solution (fan-out, phase 3).</summary>
public record ShiftAlignmentChunk(Guid JobId, string JobPrefix, int ChunkIndex, int Z0, int Z1) : IJobMessage, IChunkMessage;

/// <summary>
/// One slab of aligned.zarr is written. With it, what the stack's denoising is chosen from: the slab's in-plane noise
/// residuals (NoiseLevel.AddResiduals' histogram) and its grey levels (<see cref="AlignedHistogramBins"/> bins over
/// 0-65536); null from workers that predate them (the job then denoises with the default σ).
/// </summary>
public record AlignmentChunkShifted(Guid JobId, int ChunkIndex)
{
    public const int AlignedHistogramBins = 1024;

    public long[]? NoiseResiduals { get; init; }

    public long[]? AlignedHistogram { get; init; }
}

/// <summary>
/// Every slab of aligned.zarr is written (published by the orchestrator once the last chunk is shifted). <c>Height</c> and
/// <c>Width</c> are the cropped slice's; the crop and drift themselves are in alignment.json.
/// </summary>
/// <param name="Warnings">Sentences for the operator about slices alignment had to correct less or interpolate (the per-slice list is in alignment.json).</param>
public record StackAligned(Guid JobId, int Slices, int Height, int Width, string[]? Warnings = null);

/// <summary>Denoise one slab of slices and report its grey-level histogram (fan-out, phase 1).</summary>
public record PrepareChunk(Guid JobId, string JobPrefix, int ChunkIndex, int Z0, int Z1) : IJobMessage, IChunkMessage
{
    /// <summary>The denoising Gaussian's σ in voxels, chosen for the stack's noise; 0 (a command from before the choice): the default, 0.8.</summary>
    public double DenoiseSigma { get; init; }
}

/// <summary>Histogram bins span [HistogramMin, HistogramMax) evenly, so the fan-in can add them bin by bin.</summary>
public record ChunkPrepared(Guid JobId, int ChunkIndex, long[] Histogram, double HistogramMin, double HistogramMax);

/// <summary>
/// Survey one slab of denoised.zarr for carbon fibre cores (dark tubes away from pores) with the grey-level fit's
/// thresholds and class means (fan-out, phase 2), so that carbon's grey level can be checked against the fit.
/// </summary>
public record SurveyChunk(Guid JobId, string JobPrefix, int ChunkIndex, int Z0, int Z1, double[] Thresholds, double[] ClassMeans) : IJobMessage, IChunkMessage;

/// <summary>Grey-level histograms (same binning as <see cref="ChunkPrepared"/>) of the slab's fibre cores and electrolyte interior.</summary>
public record ChunkSurveyed(Guid JobId, int ChunkIndex, long[] TubeHistogram, long[] ElectrolyteCoreHistogram)
{
    /// <summary>The slab's pore runs along z, binned per distance from the back wall (ShineThroughEstimate); null from older workers.</summary>
    public long[]? ShineThroughRuns { get; init; }

    /// <summary>
    /// Per pair of neighbouring image columns (x, x + 1), how many of the slab's grey-level differences between them were
    /// kept and their sum (StandingCurtains: integers, so slabs add in any order); null from older workers.
    /// </summary>
    public long[]? CurtainStepsKept { get; init; }

    /// <inheritdoc cref="CurtainStepsKept"/>
    public long[]? CurtainStepSums { get; init; }
}

/// <summary>Classify one slab with the thresholds of the whole stack (fan-out, phase 3).</summary>
public record SegmentChunk(Guid JobId, string JobPrefix, int ChunkIndex, int Z0, int Z1, double[] Thresholds, double[] ClassMeans) : IJobMessage, IChunkMessage
{
    /// <summary>
    /// The threshold model's plausible ranges: the worker also segments its slab with each threshold variant and reports
    /// the counts, so the uncertainty scales out with the segmentation (null: no model, no variants).
    /// </summary>
    public SegmentationModel? Model { get; init; }

    /// <summary>The part of the stack's measured shine-through excess the shine-through correction acts on (0: none).</summary>
    public double ShineThroughExcess { get; init; }

    /// <summary>
    /// True when the stack showed no measurable shine-through: the segmentation then leaves the shine-through correction
    /// out. False (the default, and commands from before it existed): corrected.
    /// </summary>
    public bool SkipShineThroughCorrection { get; init; }

    /// <summary>
    /// Per image column, the grey level of the curtain stripe standing there in the aligned stack, subtracted from the
    /// denoised grey before classification (null: no correction).
    /// </summary>
    public float[]? ColumnOffsets { get; init; }

    /// <summary>
    /// Classify the slab's aligned slices with the job's trained pixel classifier (blobs at JobLayout's ClassifierManifest /
    /// ClassifierForest) instead of the thresholds; the worker loads it once per job.
    /// </summary>
    public bool TrainedClassifier { get; init; }

    /// <summary>The job's carbon (<see cref="SubmitJob.Carbon"/>); null: the worker's <c>SsbTomo:FibreHalfDepth</c>.</summary>
    public CarbonShape? Carbon { get; init; }
}

/// <summary>Phase counts (index = label) and NMC contact faces of one threshold variant over one chunk or the whole volume.</summary>
public record VariantCounts(string Name, long[] LabelCounts, long NmcSurface, long NmcVoid)
{
    /// <summary>Variant by variant (same names, same order), the sum of the parts.</summary>
    public static VariantCounts[] Sum(IEnumerable<VariantCounts[]> parts)
    {
        VariantCounts[]? total = null;
        foreach (var part in parts)
            total = total is null ? part
                : total.Zip(part, (a, b) => a.Name != b.Name
                    ? throw new ArgumentException($"variant '{b.Name}' where '{a.Name}' was expected", nameof(parts))
                    : new VariantCounts(a.Name, a.LabelCounts.Zip(b.LabelCounts, (x, y) => x + y).ToArray(), a.NmcSurface + b.NmcSurface, a.NmcVoid + b.NmcVoid))
                    .ToArray();
        return total ?? [];
    }
}

public record ChunkSegmented(Guid JobId, int ChunkIndex)
{
    /// <summary>The chunk's counts per threshold variant, when its command carried a model.</summary>
    public VariantCounts[]? Variants { get; init; }
}

public record ReconstructVolume(Guid JobId, string JobPrefix) : IJobMessage;

public record VolumeReconstructed(Guid JobId, int Levels)
{
    /// <summary>The mesh files the stage wrote, as keys under the job's prefix (null: a stage that did not say).</summary>
    public string[]? Meshes { get; init; }
}

public record MeasureVolume(Guid JobId, string JobPrefix) : IJobMessage
{
    /// <summary>The threshold model's own uncertainty; null when the thresholds are the multi-Otsu fallback (no model).</summary>
    public SegmentationModel? Segmentation { get; init; }

    /// <summary>Every chunk's variant counts summed (null when the segmentation had no model).</summary>
    public VariantCounts[]? Variants { get; init; }

    /// <summary>The job's states so far, when each began and how long it took (for the report's provenance; null: not known).</summary>
    public StageDuration[]? Stages { get; init; }

    /// <summary>The labels came from the job's trained pixel classifier (<see cref="SubmitJob.TrainedClassifier"/>), not from thresholds.</summary>
    public bool TrainedClassifier { get; init; }

    /// <summary>The carbon the segmentation assumed (<see cref="SubmitJob.Carbon"/>); null: the configured <c>SsbTomo:FibreHalfDepth</c>.</summary>
    public CarbonShape? Carbon { get; init; }
}

/// <summary>One state of a job's life and how long it lasted (seconds).</summary>
public record StageDuration(string Stage, DateTime StartedUtc, double Seconds);

/// <summary>
/// Per threshold (classes dark to bright) its plausible range [ThresholdLows, ThresholdHighs]; per class the mixture's
/// posterior-expected fraction; per neighbouring pair the share of each class's voxels inside that range.
/// </summary>
public record SegmentationModel(double[] Thresholds, double[] ClassMeans, double[] ThresholdLows, double[] ThresholdHighs,
    double[] ExpectedFractions, double[] DarkerAmbiguousShares, double[] BrighterAmbiguousShares)
{
    /// <summary>The grey-level fit's carbon mean, before the fibre survey.</summary>
    public double? FitCarbonMean { get; init; }

    /// <summary>Median grey level of the surveyed carbon fibre cores (null: too few found).</summary>
    public double? FibreCoreLevel { get; init; }

    public long FibreCoreVoxels { get; init; }

    /// <summary>True when the fit's carbon class was replaced by the fibre level (it sat on the pores' rims, or on part of the electrolyte).</summary>
    public bool CarbonReplacedByFibreLevel { get; init; }

    /// <summary>The stack's measured shine-through excess (share of the way from void to the wall behind a pore).</summary>
    public double ShineThroughExcess { get; init; }

    /// <summary>The part of <see cref="ShineThroughExcess"/> the segmentation's shine-through correction acted on.</summary>
    public double ShineThroughCorrection { get; init; }

    /// <summary>Pore runs along z the estimate came from (at the distance from the back wall it was taken at).</summary>
    public long ShineThroughRuns { get; init; }

    /// <summary>
    /// Whether the segmentation ran the shine-through correction: not where the pores showed no measurable shine-through
    /// (ShineThroughExcess.Detected: an excess below 0.05). True in a model from before the estimate
    /// decided it, as those jobs corrected always.
    /// </summary>
    public bool ShineThroughCorrected { get; init; } = true;

    /// <summary>The denoising Gaussian's σ (voxels) the stack was denoised with; 0 in a model from before it was chosen per stack (0.8).</summary>
    public double DenoiseSigma { get; init; }

    /// <summary>The aligned stack's pixel noise σ in grey levels (null: not measured).</summary>
    public double? NoiseSigma { get; init; }

    /// <summary>That noise as a share of the void-to-electrolyte contrast of the aligned stack's grey-level fit (null: not measured).</summary>
    public double? NoiseShare { get; init; }

    /// <summary>Largest curtain offset the segmentation subtracted from a column, in grey levels (null: not measured).</summary>
    public double? StandingCurtainLargestOffset { get; init; }

    /// <summary>Columns whose curtain offset exceeds a tenth of the electrolyte-to-NMC contrast.</summary>
    public int StandingCurtainColumns { get; init; }
}

/// <summary>metrics.json, metrics.csv and particles.csv are written (where: JobLayout).</summary>
public record VolumeMeasured(Guid JobId)
{
    /// <summary>The mesh files the stage wrote (the particle of Fig. 4f), as keys under the job's prefix.</summary>
    public string[]? Meshes { get; init; }

    /// <summary>Mesh files the stage writes when it can, each with why it did not this time (key under the job's prefix → reason).</summary>
    public Dictionary<string, string>? MissingMeshes { get; init; }
}

public record JobCompleted(Guid JobId, string JobPrefix, string MetricsPath, DateTime CompletedUtc);

/// <summary>
/// A stage met input it cannot process (bad TIFF, empty stack): retrying will not help. <c>Reason</c> is for the
/// person who submitted the job; <c>Detail</c> (exception, stack) is for operators and never shown as the reason.
/// </summary>
public record StageFailed(Guid JobId, string Stage, string Reason, string? Detail = null);

/// <summary><c>Stage</c> is the stage's short name (ingest, alignment, ...); <c>Reason</c> a sentence a user can act on.</summary>
public record JobFailed(Guid JobId, string Stage, string Reason, DateTime FailedUtc, string? Detail = null);

/// <summary>Progress of a job, published on each state change, for dashboards and the CLI.</summary>
public record JobProgressed(Guid JobId, string State, int ChunksDone, int ChunksTotal);

/// <summary>Every stage command belongs to one job; lets a failure be reported against it.</summary>
public interface IJobMessage
{
    Guid JobId { get; }
}

/// <summary>A command that works on slices [Z0, Z1) of the stack; lets a failure name the slices.</summary>
public interface ISlabMessage
{
    int Z0 { get; }
    int Z1 { get; }
}

/// <summary>A command for one chunk of the job's slab plan; lets a log line name the chunk.</summary>
public interface IChunkMessage : ISlabMessage
{
    int ChunkIndex { get; }
}
