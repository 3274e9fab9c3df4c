using MassTransit;
using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator;

/// <summary>One job's durable state: enough to resume it after a restart.</summary>
public class JobState : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }
    public string CurrentState { get; set; } = "";

    public string SourcePath { get; set; } = "";
    public string JobPrefix { get; set; } = "";
    public VoxelSizeNm? VoxelSizeOverride { get; set; }
    public int ChunkSlices { get; set; }

    /// <summary>
    /// Slices per command of denoising, survey and segmentation: a whole number of <see cref="ChunkSlices"/> slabs
    /// (<see cref="ChunkPlan.FanOutSlicesFor"/>); 0 in a job stored before it existed, which then keeps one slab a command.
    /// </summary>
    public int FanOutSlices { get; set; }

    /// <summary>The fanned-out stages' commands: slabs of <see cref="FanOutSlices"/> (of <see cref="ChunkSlices"/> in an older job).</summary>
    public IEnumerable<(int Index, int Z0, int Z1)> FanOutSlabs() => ChunkPlan.Slabs(Slices, Math.Max(FanOutSlices, ChunkSlices));

    /// <summary>The commands the current fan-out state sends: alignment's slabs of <see cref="ChunkSlices"/> whole slices, or <see cref="FanOutSlabs"/>.</summary>
    public IEnumerable<(int Index, int Z0, int Z1)> SlabsOfCurrentState() =>
        CurrentState == JobStates.Aligning ? ChunkPlan.Slabs(Slices, ChunkSlices) : FanOutSlabs();
    /// <summary>From the share-drive watcher: why the folder counted as complete; null for jobs from the API or CLI.</summary>
    public WatchedAcquisition? Acquisition { get; set; }
    /// <summary>The job that processes this job's folder again because it changed after this job was submitted.</summary>
    public Guid? SupersededBy { get; set; }

    public int Slices { get; set; }
    public int Height { get; set; }
    public int Width { get; set; }

    /// <summary>The commands of the current fan-out: alignment's slabs until the stack is aligned, then <see cref="FanOutSlabs"/>.</summary>
    public int ChunksTotal { get; set; }

    // Sets of chunk indices, not counters: a redelivered event must not count twice.
    public HashSet<int> AlignmentMeasuredChunks { get; set; } = [];
    public HashSet<int> AlignmentShiftedChunks { get; set; } = [];
    public HashSet<int> PreparedChunks { get; set; } = [];
    public HashSet<int> SurveyedChunks { get; set; } = [];
    public HashSet<int> SegmentedChunks { get; set; } = [];

    /// <summary>The alignment's global solve, once it has reported: what the shift chunks fill, announced as StackAligned when they have.</summary>
    public AlignmentSolved? AlignmentSolution { get; set; }

    /// <summary>The shift chunks' noise residuals and aligned grey levels, summed (null until one reports; see <see cref="NoiseUnmeasured"/>).</summary>
    public long[]? NoiseResiduals { get; set; }

    public long[]? AlignedHistogram { get; set; }

    /// <summary>A shift chunk reported no residuals (a worker from before them): the stack is denoised with the default σ.</summary>
    public bool NoiseUnmeasured { get; set; }

    /// <summary>The denoising σ (voxels) chosen when the stack was aligned; 0 until then (and for jobs from before: the default).</summary>
    public double DenoiseSigma { get; set; }

    public double? NoiseSigma { get; set; }
    public double? NoiseShare { get; set; }

    public long[]? Histogram { get; set; }
    public double HistogramMin { get; set; }
    public double HistogramMax { get; set; }
    public double[]? Thresholds { get; set; }
    public double[]? ClassMeans { get; set; }
    public SegmentationModel? Segmentation { get; set; }

    /// <summary>Each segmented chunk's counts per threshold variant (by chunk index: a redelivered event replaces, never adds).</summary>
    public Dictionary<int, VariantCounts[]> ChunkVariants { get; set; } = [];

    /// <summary>
    /// The metrics command: the model, the variant counts summed over the chunks when every chunk sent them, and the stage
    /// timings so far (a stage still open counts until <paramref name="nowUtc"/>).
    /// </summary>
    public MeasureVolume ToMeasureVolume(DateTime nowUtc) => new(CorrelationId, JobPrefix)
    {
        Stages = [.. Stages.Select(s => new StageDuration(s.State, s.StartedUtc, Math.Max(0, ((s.EndedUtc ?? nowUtc) - s.StartedUtc).TotalSeconds)))],
        Segmentation = TrainedClassifier ? null : Segmentation,
        TrainedClassifier = TrainedClassifier,
        Carbon = Carbon,
        Variants = Segmentation is not null && !TrainedClassifier && ChunkVariants.Count == ChunksTotal
            ? VariantCounts.Sum(ChunkVariants.OrderBy(p => p.Key).Select(p => p.Value))
            : null,
    };

    /// <summary>Merged carbon-fibre survey of every chunk (grey-level histograms on the binning of <see cref="Histogram"/>).</summary>
    public long[]? FibreTubeHistogram { get; set; }
    public long[]? ElectrolyteCoreHistogram { get; set; }

    /// <summary>Merged pore runs of every chunk's survey (<see cref="Imaging.Segmentation.ShineThroughEstimate"/>).</summary>
    public long[]? ShineThroughRuns { get; set; }

    /// <summary>The shine-through excess estimated from <see cref="ShineThroughRuns"/> once every chunk was surveyed.</summary>
    public double ShineThroughExcess { get; set; }

    /// <summary>The stack's pores showed no measurable shine-through (<see cref="SsbTomo.Imaging.Segmentation.ShineThroughExcess.Detected"/>): segment without the correction.</summary>
    public bool SkipShineThroughCorrection { get; set; }

    /// <summary>
    /// Merged curtain steps of every chunk's survey (<see cref="Imaging.Segmentation.StandingCurtains"/>), until
    /// <see cref="ColumnOffsets"/> are taken from them; then null, so the stored job stays small.
    /// </summary>
    public long[]? CurtainStepsKept { get; set; }
    public long[]? CurtainStepSums { get; set; }

    /// <summary>Chunks whose curtain steps are in the merged sums (the correction needs every chunk's).</summary>
    public int CurtainStepChunks { get; set; }

    /// <summary>The standing curtain stripes' offset per image column, which every segmentation command carries (null: none).</summary>
    public float[]? ColumnOffsets { get; set; }

    /// <summary>The job segments with a trained pixel classifier stored under its prefix (<see cref="SubmitJob.TrainedClassifier"/>).</summary>
    public bool TrainedClassifier { get; set; }

    /// <summary>The cathode's carbon as submitted (<see cref="SubmitJob.Carbon"/>); null: the services' configured default.</summary>
    public CarbonShape? Carbon { get; set; }

    /// <summary>The registration crop as submitted (<see cref="SubmitJob.RegistrationCropPx"/>); null: the alignment service's configured one.</summary>
    public int? RegistrationCropPx { get; set; }

    /// <summary>
    /// The command that segments one slab with the stack's thresholds, model and shine-through excess, or with the job's
    /// trained classifier (then without threshold variants: they describe a segmentation the job does not use).
    /// </summary>
    public SegmentChunk SegmentCommand(int index, int z0, int z1) =>
        new(CorrelationId, JobPrefix, index, z0, z1, Thresholds!, ClassMeans!)
        {
            Model = TrainedClassifier ? null : Segmentation,
            ShineThroughExcess = ShineThroughExcess,
            SkipShineThroughCorrection = SkipShineThroughCorrection,
            ColumnOffsets = TrainedClassifier ? null : ColumnOffsets,
            TrainedClassifier = TrainedClassifier,
            Carbon = Carbon,
        };

    /// <summary>What a stage could not estimate and did instead (from alignment's StackAligned), for the operator.</summary>
    public List<string> Warnings { get; set; } = [];

    /// <summary>The mesh files the stages reported writing (keys under <see cref="JobPrefix"/>); null while the
    /// Reconstruction stage has not reported them (or ran before stages reported them).</summary>
    public List<string>? Meshes { get; set; }

    /// <summary>Mesh files a stage did not write this time, each with why (key under <see cref="JobPrefix"/> → reason).</summary>
    public Dictionary<string, string> MissingMeshes { get; set; } = [];

    public string? FailedStage { get; set; }
    /// <summary>What the user reads: stage, file or slices, what is wrong, what to do. Never an exception's text.</summary>
    public string? FailureReason { get; set; }
    /// <summary>The exception behind a failure, for operators; the user-facing reason never includes it.</summary>
    public string? FailureDetail { get; set; }
    public DateTime SubmittedUtc { get; set; }
    public DateTime UpdatedUtc { get; set; }

    /// <summary>When each state was entered and left, in order: the per-stage timings the API shows.</summary>
    public List<StageTiming> Stages { get; set; } = [];

    /// <summary>
    /// The last time the job moved: a state entered or a new chunk reported. Stall detection measures from here (or from
    /// <see cref="RedrivenUtc"/>), not from <see cref="UpdatedUtc"/>, which a warning or a duplicate may touch too.
    /// </summary>
    public DateTime ProgressUtc { get; set; }

    /// <summary>When the commands of the current stall were sent again; null once the job moves again.</summary>
    public DateTime? RedrivenUtc { get; set; }

    /// <summary>How often the job was re-driven, and the last re-drive in words, for the API and dashboard.</summary>
    public int Redrives { get; set; }
    public string? LastRedrive { get; set; }

    /// <summary>
    /// Chunks count as done per phase: while aligning measured, then (once the drift is solved) shifted; prepared while
    /// denoising, surveyed while surveying, segmented from then on.
    /// </summary>
    public JobProgressed ToProgress() => new(CorrelationId, CurrentState, CurrentState switch
    {
        JobStates.Aligning => AlignmentSolution is null ? AlignmentMeasuredChunks.Count : AlignmentShiftedChunks.Count,
        JobStates.Denoising => PreparedChunks.Count,
        JobStates.Surveying => SurveyedChunks.Count,
        _ => SegmentedChunks.Count,
    }, ChunksTotal);
}

/// <summary>One state of a job's life; <see cref="EndedUtc"/> null while the job is in it (or for Completed and Failed).</summary>
public sealed class StageTiming
{
    public string State { get; set; } = "";
    public DateTime StartedUtc { get; set; }
    public DateTime? EndedUtc { get; set; }
}
