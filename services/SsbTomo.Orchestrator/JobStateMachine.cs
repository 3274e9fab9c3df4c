using MassTransit;
using MassTransit.Metadata;
using Microsoft.Extensions.Logging;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Orchestrator;

/// <summary>
/// Ingesting → Aligning (k of N chunks measured, one solve, k of N shifted) → Denoising (k of N chunks) → Surveying (k of N) → Segmenting (k of N) → Reconstructing
/// → Measuring → Completed, or Failed from any stage. Fans alignment and segmentation out per slab of slices and back
/// in: alignment's drift solved once on every slab's measurements, then every slab shifted with it; the
/// grey-level fit on the merged histograms of Denoising, checked against the carbon fibres found while Surveying,
/// gives every slab the same thresholds.
/// </summary>
public sealed class JobStateMachine : MassTransitStateMachine<JobState>
{
    /// <summary>Void, carbon, LPS, NMC: four grey-level classes, three thresholds.</summary>
    public const int PhaseClasses = 4;

    public State Ingesting { get; private set; } = null!;
    public State Aligning { get; private set; } = null!;
    public State Denoising { get; private set; } = null!;
    public State Surveying { get; private set; } = null!;
    public State Segmenting { get; private set; } = null!;
    public State Reconstructing { get; private set; } = null!;
    public State Measuring { get; private set; } = null!;
    public State Completed { get; private set; } = null!;
    public State Failed { get; private set; } = null!;

    public Event<SubmitJob> Submitted { get; private set; } = null!;
    public Event<StackIngested> Ingested { get; private set; } = null!;
    public Event<AlignmentChunkMeasured> AlignmentChunkMeasured { get; private set; } = null!;
    public Event<AlignmentSolved> AlignmentSolved { get; private set; } = null!;
    public Event<AlignmentChunkShifted> AlignmentChunkShifted { get; private set; } = null!;
    public Event<StackAligned> Aligned { get; private set; } = null!;
    public Event<ChunkPrepared> ChunkPrepared { get; private set; } = null!;
    public Event<ChunkSurveyed> ChunkSurveyed { get; private set; } = null!;
    public Event<ChunkSegmented> ChunkSegmented { get; private set; } = null!;
    public Event<VolumeReconstructed> Reconstructed { get; private set; } = null!;
    public Event<VolumeMeasured> Measured { get; private set; } = null!;
    public Event<StageFailed> StageFailed { get; private set; } = null!;
    public Event<JobSuperseded> Superseded { get; private set; } = null!;
    public Event<JobStallDetected> StallDetected { get; private set; } = null!;
    public Event<Fault<IngestStack>> IngestFaulted { get; private set; } = null!;
    public Event<Fault<MeasureAlignmentChunk>> AlignmentMeasureFaulted { get; private set; } = null!;
    public Event<Fault<SolveAlignment>> AlignmentSolveFaulted { get; private set; } = null!;
    public Event<Fault<ShiftAlignmentChunk>> AlignmentShiftFaulted { get; private set; } = null!;
    public Event<Fault<PrepareChunk>> PrepareFaulted { get; private set; } = null!;
    public Event<Fault<SurveyChunk>> SurveyFaulted { get; private set; } = null!;
    public Event<Fault<SegmentChunk>> SegmentFaulted { get; private set; } = null!;
    public Event<Fault<ReconstructVolume>> ReconstructFaulted { get; private set; } = null!;
    public Event<Fault<MeasureVolume>> MeasureFaulted { get; private set; } = null!;

    public JobStateMachine()
    {
        InstanceState(x => x.CurrentState);

        Event(() => Submitted, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => Ingested, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => AlignmentChunkMeasured, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => AlignmentSolved, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => AlignmentChunkShifted, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => Aligned, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => ChunkPrepared, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => ChunkSurveyed, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => ChunkSegmented, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => Reconstructed, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => Measured, x => x.CorrelateById(m => m.Message.JobId));
        Event(() => StageFailed, x => x.CorrelateById(m => m.Message.JobId));
        // The earlier job may be gone (an in-memory job store after a restart): nothing is left to warn.
        Event(() => Superseded, x =>
        {
            x.CorrelateById(m => m.Message.JobId);
            x.OnMissingInstance(m => m.Discard());
        });
        // A job deleted or never stored here (another orchestrator's) has nothing to re-drive.
        Event(() => StallDetected, x =>
        {
            x.CorrelateById(m => m.Message.JobId);
            x.OnMissingInstance(m => m.Discard());
        });
        Event(() => IngestFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));
        Event(() => AlignmentMeasureFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));
        Event(() => AlignmentSolveFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));
        Event(() => AlignmentShiftFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));
        Event(() => PrepareFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));
        Event(() => SurveyFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));
        Event(() => SegmentFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));
        Event(() => ReconstructFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));
        Event(() => MeasureFaulted, x => x.CorrelateById(m => m.Message.Message.JobId));

        // Every state change is progress and a stage boundary: it stops the stall clock and times the stages.
        WhenEnterAny(x => x.Then(c => EnterState(c.Saga, c.Saga.CurrentState, DateTime.UtcNow)));

        Initially(
            When(Submitted)
                .Then(c =>
                {
                    var job = c.Saga;
                    job.SourcePath = c.Message.SourcePath;
                    job.JobPrefix = c.Message.JobPrefix;
                    job.VoxelSizeOverride = c.Message.VoxelSizeOverride;
                    job.ChunkSlices = Math.Max(1, c.Message.ChunkSlices);
                    job.FanOutSlices = ChunkPlan.FanOutSlicesFor(job.ChunkSlices, c.Message.FanOutSlices);
                    job.Acquisition = c.Message.Acquisition;
                    job.TrainedClassifier = c.Message.TrainedClassifier;
                    job.Carbon = c.Message.Carbon;
                    job.RegistrationCropPx = c.Message.RegistrationCropPx;
                    job.SubmittedUtc = job.UpdatedUtc = DateTime.UtcNow;
                })
                .Publish(c => new JobSubmitted(c.Saga.CorrelationId, c.Saga.SourcePath, c.Saga.JobPrefix, c.Saga.SubmittedUtc))
                .Publish(c => new IngestStack(c.Saga.CorrelationId, c.Saga.SourcePath, c.Saga.JobPrefix, c.Saga.VoxelSizeOverride, c.Saga.ChunkSlices)
                {
                    Acquisition = c.Saga.Acquisition,
                })
                .TransitionTo(Ingesting)
                .Publish(c => c.Saga.ToProgress()));

        During(Ingesting,
            When(Ingested)
                .Then(c =>
                {
                    c.Saga.Slices = c.Message.Slices;
                    c.Saga.ChunksTotal = ChunkPlan.Count(c.Saga.Slices, c.Saga.ChunkSlices);
                    c.Saga.UpdatedUtc = DateTime.UtcNow;
                })
                .ThenAsync(c => PublishMeasureAlignmentCommands(c, c.Saga.AlignmentMeasuredChunks))
                .TransitionTo(Aligning)
                .Publish(c => c.Saga.ToProgress()));

        // Alignment in three steps inside one state: every slab measured, the drift solved once on the measurements,
        // every slab shifted with the solution; then the saga announces the aligned stack (StackAligned, below).
        During(Aligning,
            When(AlignmentChunkMeasured)
                .Then(c => AddChunk(c.Saga, c.Saga.AlignmentMeasuredChunks, c.Message.ChunkIndex))
                .Publish(c => c.Saga.ToProgress())
                .If(c => c.Saga.AlignmentSolution is null && c.Saga.AlignmentMeasuredChunks.Count == c.Saga.ChunksTotal, all => all
                    .Publish(c => SolveCommand(c.Saga))),
            When(AlignmentSolved)
                .IfElse(c => c.Saga.AlignmentSolution is null,
                    first => first
                        .Then(c =>
                        {
                            c.Saga.AlignmentSolution = c.Message;
                            Moved(c.Saga, DateTime.UtcNow);
                            c.Saga.UpdatedUtc = DateTime.UtcNow;
                        })
                        .ThenAsync(c => PublishShiftAlignmentCommands(c, c.Saga.AlignmentShiftedChunks))
                        .Publish(c => c.Saga.ToProgress()),
                    // A duplicate solve wrote the same solution: the shift chunks already sent stay valid.
                    duplicate => duplicate),
            When(AlignmentChunkShifted)
                .Then(c => AddShiftedChunk(c.Saga, c.Message))
                .Publish(c => c.Saga.ToProgress())
                .If(c => c.Saga.AlignmentSolution is not null && c.Saga.AlignmentShiftedChunks.Count == c.Saga.ChunksTotal, all => all
                    .Publish(c => StackAlignedOf(c.Saga.AlignmentSolution!))));

        During(Aligning,
            When(Aligned)
                .Then(c =>
                {
                    var job = c.Saga;
                    job.Slices = c.Message.Slices;
                    job.Height = c.Message.Height;
                    job.Width = c.Message.Width;
                    job.ChunksTotal = job.FanOutSlabs().Count();
                    // Added to, not replaced: the job may already carry a warning (superseded) from before.
                    job.Warnings = [.. job.Warnings.Union(c.Message.Warnings ?? [])];
                    ChooseDenoising(job);
                    job.UpdatedUtc = DateTime.UtcNow;
                })
                .ThenAsync(PublishPrepareCommands)
                .TransitionTo(Denoising)
                .Publish(c => c.Saga.ToProgress()));

        During(Denoising,
            When(ChunkPrepared)
                .Then(c => AddHistogram(c.Saga, c.Message))
                .Publish(c => c.Saga.ToProgress())
                .If(c => c.Saga.PreparedChunks.Count == c.Saga.ChunksTotal, all => all
                    .Then(ComputeThresholds)
                    .IfElse(c => c.Saga.FailureReason is null,
                        picked => picked
                            .ThenAsync(c => PublishSurveyCommands(c))
                            .TransitionTo(Surveying)
                            .Publish(c => c.Saga.ToProgress()),
                        failed => failed
                            .TransitionTo(Failed)
                            .Publish(c => Failure(c.Saga))
                            .Publish(c => c.Saga.ToProgress()))));

        During(Surveying,
            When(ChunkSurveyed)
                .Then(c => AddSurvey(c.Saga, c.Message))
                .Publish(c => c.Saga.ToProgress())
                .If(c => c.Saga.SurveyedChunks.Count == c.Saga.ChunksTotal, all => all
                    .Then(CheckCarbonLevel)
                    .Then(EstimateShineThrough)
                    .Then(c => EstimateStandingCurtains(c.Saga))
                    .ThenAsync(c => PublishSegmentCommands(c))
                    .TransitionTo(Segmenting)
                    .Publish(c => c.Saga.ToProgress())));

        During(Segmenting,
            When(ChunkSegmented)
                .Then(c =>
                {
                    if (c.Saga.SegmentedChunks.Add(c.Message.ChunkIndex)) Moved(c.Saga, DateTime.UtcNow);
                    if (c.Message.Variants is { } variants) c.Saga.ChunkVariants[c.Message.ChunkIndex] = variants;
                    c.Saga.UpdatedUtc = DateTime.UtcNow;
                })
                .Publish(c => c.Saga.ToProgress())
                .If(c => c.Saga.SegmentedChunks.Count == c.Saga.ChunksTotal, all => all
                    .Publish(c => new ReconstructVolume(c.Saga.CorrelationId, c.Saga.JobPrefix))
                    .TransitionTo(Reconstructing)
                    .Publish(c => c.Saga.ToProgress())));

        // A late duplicate of a fan-out event must not disturb a job that has moved on.
        // A redelivered last event of a fan-in means the next fan-out may not have gone out (the broker dropped while
        // the saga had already moved on): send the commands of every chunk not yet done again. Duplicates are
        // harmless: a survey reports the same counts, segmentation writes the same bytes, and fan-ins count chunk indices.
        During(Surveying,
            When(ChunkPrepared).ThenAsync(PublishMissingSurveyCommands));
        // The same for the event that opened alignment: an Orchestrator wedged while publishing its measure commands (its
        // bus watchdog restarts it) gets StackIngested again with the job already Aligning.
        During(Aligning,
            When(Ingested, c => c.Saga.AlignmentSolution is null)
                .ThenAsync(c => PublishMeasureAlignmentCommands(c, c.Saga.AlignmentMeasuredChunks)));
        During(Segmenting,
            When(ChunkSurveyed).ThenAsync(PublishMissingSegmentCommands));
        During(Denoising,
            When(Aligned).ThenAsync(PublishMissingPrepareCommands));

        // Any other late duplicate of an earlier stage's event changes nothing.
        OnUnhandledEvent(context => context.Ignore());
        During(Segmenting, Reconstructing, Measuring, Completed, Ignore(ChunkPrepared));
        During(Reconstructing, Measuring, Completed, Ignore(ChunkSurveyed));
        During(Reconstructing, Measuring, Completed, Ignore(ChunkSegmented));

        During(Reconstructing,
            When(Reconstructed)
                .Then(c => c.Saga.Meshes = c.Message.Meshes is { } meshes ? [.. meshes] : null)
                .Publish(c => c.Saga.ToMeasureVolume(DateTime.UtcNow))
                .TransitionTo(Measuring)
                .Publish(c => c.Saga.ToProgress()));

        During(Measuring,
            When(Measured)
                .Then(c =>
                {
                    var job = c.Saga;
                    job.UpdatedUtc = DateTime.UtcNow;
                    if (job.Meshes is not null) job.Meshes = [.. job.Meshes.Union(c.Message.Meshes ?? [])];
                    foreach (var (file, reason) in c.Message.MissingMeshes ?? []) job.MissingMeshes[file] = reason;
                })
                .Publish(c => new JobCompleted(c.Saga.CorrelationId, c.Saga.JobPrefix, new JobLayout(c.Saga.JobPrefix).Metrics, c.Saga.UpdatedUtc))
                .TransitionTo(Completed)
                .Publish(c => c.Saga.ToProgress()));

        // In any state, finished or not: the warning is what keeps a short result from passing unremarked.
        DuringAny(
            When(Superseded).Then(c =>
            {
                var job = c.Saga;
                job.SupersededBy = c.Message.SupersededBy;
                if (!job.Warnings.Contains(c.Message.Reason)) job.Warnings.Add(c.Message.Reason);
                job.UpdatedUtc = DateTime.UtcNow;
            }));

        // The watchdog's finding is re-checked here, on the job as it is now: a chunk may have reported since it looked.
        // A first stall re-sends what the job waits for; a stall that outlasts its re-drive fails the job.
        During([Ingesting, Aligning, Denoising, Surveying, Segmenting, Reconstructing, Measuring],
            When(StallDetected)
                .If(c => c.Message.DetectedUtc - StallPolicy.ClockStartUtc(c.Saga) >= TimeSpan.FromSeconds(c.Message.TimeoutSeconds), stalled => stalled
                    .IfElse(c => c.Saga.RedrivenUtc is null,
                        redrive => redrive.ThenAsync(RedriveAsync),
                        fail => fail
                            .Then(c =>
                            {
                                var reason = StallPolicy.FailureReason(c.Saga, c.Message.DetectedUtc);
                                MarkFailed(c.Saga, StallPolicy.WaitingFor(c.Saga).Stage, reason, null);
                                c.Logger(typeof(JobStateMachine).FullName!).LogError("Job {JobId} failed in {State}: {Reason}", c.Saga.CorrelationId,
                                    c.Saga.CurrentState, reason);
                            })
                            .TransitionTo(Failed)
                            .Publish(c => Failure(c.Saga))
                            .Publish(c => c.Saga.ToProgress()))));

        // Only a running job can fail: the first failure's reason stays (a second failing chunk says less), and a
        // late fault of a duplicate message must not turn a completed job into a failed one.
        During([Ingesting, Aligning, Denoising, Surveying, Segmenting, Reconstructing, Measuring],
            When(StageFailed).Then(c => MarkFailed(c.Saga, c.Message.Stage, c.Message.Reason, c.Message.Detail)).TransitionTo(Failed)
                .Publish(c => Failure(c.Saga)).Publish(c => c.Saga.ToProgress()),
            FailWhen(IngestFaulted, "ingest"),
            FailWhen(AlignmentMeasureFaulted, "alignment"),
            FailWhen(AlignmentSolveFaulted, "alignment"),
            FailWhen(AlignmentShiftFaulted, "alignment"),
            FailWhen(PrepareFaulted, "denoise"),
            FailWhen(SurveyFaulted, "segmentation"),
            FailWhen(SegmentFaulted, "segmentation"),
            FailWhen(ReconstructFaulted, "reconstruction"),
            FailWhen(MeasureFaulted, "metrics"));
    }

    /// <summary>A command that still failed after its retries fails the job; the exception goes to the detail, not the reason.</summary>
    private EventActivityBinder<JobState, Fault<T>> FailWhen<T>(Event<Fault<T>> faulted, string stage) where T : class =>
        When(faulted).Then(c =>
            {
                var failure = FailureReasons.Fault(stage, c.Message, c.Saga.CorrelationId);
                MarkFailed(c.Saga, stage, failure.Reason, failure.Detail);
                c.Logger(typeof(JobStateMachine).FullName!).LogError("Job {JobId} failed in {Stage} after retries: {Reason}\n{Detail}",
                    c.Saga.CorrelationId, FailureReasons.StageInWords(stage, c.Message.Message), failure.Reason, failure.Detail);
            })
            .TransitionTo(Failed)
            .Publish(c => Failure(c.Saga)).Publish(c => c.Saga.ToProgress());

    private static void EnterState(JobState job, string state, DateTime nowUtc)
    {
        foreach (var open in job.Stages.Where(s => s.EndedUtc is null)) open.EndedUtc = nowUtc;
        if (JobStates.Running.Contains(state)) job.Stages.Add(new StageTiming { State = state, StartedUtc = nowUtc });
        Moved(job, nowUtc);
    }

    /// <summary>The job moved: the stall clock restarts and a re-drive, if there was one, has helped.</summary>
    private static void Moved(JobState job, DateTime nowUtc)
    {
        job.ProgressUtc = nowUtc;
        job.RedrivenUtc = null;
    }

    /// <summary>
    /// Sends again every command the current state still waits for. Consumers take duplicates: each writes whole blobs
    /// with the same bytes, and the fan-ins count chunk indices, so a command that was only slow does no harm.
    /// </summary>
    private static async Task RedriveAsync(BehaviorContext<JobState, JobStallDetected> context)
    {
        var job = context.Saga;
        var now = context.Message.DetectedUtc;
        job.LastRedrive = StallPolicy.RedriveNote(job, now);
        context.Logger(typeof(JobStateMachine).FullName!).LogWarning("Job {JobId} stalled in {State}: {Note}", job.CorrelationId, job.CurrentState,
            job.LastRedrive);
        job.RedrivenUtc = now;
        job.Redrives++;
        job.UpdatedUtc = DateTime.UtcNow;
        switch (job.CurrentState)
        {
            case JobStates.Ingesting:
                await context.Publish(new IngestStack(job.CorrelationId, job.SourcePath, job.JobPrefix, job.VoxelSizeOverride, job.ChunkSlices) { Acquisition = job.Acquisition });
                break;
            case JobStates.Aligning when job.AlignmentSolution is null && job.AlignmentMeasuredChunks.Count < job.ChunksTotal:
                await PublishMeasureAlignmentCommands(context, job.AlignmentMeasuredChunks);
                break;
            case JobStates.Aligning when job.AlignmentSolution is null:
                await context.Publish(SolveCommand(job));
                break;
            case JobStates.Aligning when job.AlignmentShiftedChunks.Count < job.ChunksTotal:
                await PublishShiftAlignmentCommands(context, job.AlignmentShiftedChunks);
                break;
            case JobStates.Aligning:
                await context.Publish(StackAlignedOf(job.AlignmentSolution));
                break;
            case JobStates.Denoising:
                foreach (var (index, z0, z1) in StallPolicy.MissingChunks(job))
                    await context.Publish(new PrepareChunk(job.CorrelationId, job.JobPrefix, index, z0, z1) { DenoiseSigma = job.DenoiseSigma });
                break;
            case JobStates.Surveying:
                foreach (var (index, z0, z1) in StallPolicy.MissingChunks(job))
                    await context.Publish(new SurveyChunk(job.CorrelationId, job.JobPrefix, index, z0, z1, job.Thresholds!, job.ClassMeans!));
                break;
            case JobStates.Segmenting:
                foreach (var (index, z0, z1) in StallPolicy.MissingChunks(job))
                    await context.Publish(job.SegmentCommand(index, z0, z1));
                break;
            case JobStates.Reconstructing:
                await context.Publish(new ReconstructVolume(job.CorrelationId, job.JobPrefix));
                break;
            case JobStates.Measuring:
                await context.Publish(job.ToMeasureVolume(DateTime.UtcNow));
                break;
        }
    }

    private static JobFailed Failure(JobState job) =>
        new(job.CorrelationId, job.FailedStage ?? "unknown", job.FailureReason ?? "unknown", job.UpdatedUtc, job.FailureDetail);

    private static void MarkFailed(JobState job, string stage, string reason, string? detail)
    {
        job.FailedStage = stage;
        job.FailureReason = reason;
        job.FailureDetail = detail;
        job.UpdatedUtc = DateTime.UtcNow;
    }

    private static void AddHistogram(JobState job, ChunkPrepared message)
    {
        if (!job.PreparedChunks.Add(message.ChunkIndex)) return;
        Moved(job, DateTime.UtcNow);
        if (job.Histogram is null)
        {
            job.Histogram = new long[message.Histogram.Length];
            job.HistogramMin = message.HistogramMin;
            job.HistogramMax = message.HistogramMax;
        }
        if (message.Histogram.Length != job.Histogram.Length || message.HistogramMin != job.HistogramMin || message.HistogramMax != job.HistogramMax)
            throw new InvalidOperationException($"chunk {message.ChunkIndex} reported a histogram on a different binning");
        for (var i = 0; i < job.Histogram.Length; i++) job.Histogram[i] += message.Histogram[i];
        job.UpdatedUtc = DateTime.UtcNow;
    }

    /// <summary>
    /// Picks the thresholds once for the whole stack. The saga itself runs this, so an error here would only fault
    /// the saga's message and leave the job waiting forever: every failure fails the job instead.
    /// </summary>
    private static void ComputeThresholds(BehaviorContext<JobState, ChunkPrepared> context)
    {
        var job = context.Saga;
        const string where = "segmentation (choosing the grey levels that separate the phases)";
        var histogram = job.Histogram ?? [];
        var occupied = histogram.Count(c => c > 0);
        if (occupied < PhaseClasses)
        {
            MarkFailed(job, "segmentation",
                $"Segmentation failed: the aligned slices have almost no contrast (their grey values fill {occupied} of "
                + $"{histogram.Length} histogram bins), too few to tell {PhaseClasses} phases apart. Check that the stack holds "
                + "SEM images of the cathode, not blank, saturated or already segmented slices, then submit it again.", null);
            return;
        }
        try
        {
            var picked = PhaseThresholds.FromHistogram(histogram, PhaseClasses, job.HistogramMin, job.HistogramMax);
            job.Thresholds = picked.Thresholds;
            job.ClassMeans = picked.ClassMeans;
            job.Segmentation = picked.Fit is { } fit
                ? DescribeUncertainty(histogram, job, picked.Thresholds, fit) with
                {
                    DenoiseSigma = job.DenoiseSigma, NoiseSigma = job.NoiseSigma, NoiseShare = job.NoiseShare,
                }
                : null;
        }
        catch (Exception ex)
        {
            var service = FailureReasons.ServiceName(HostMetadataCache.Host, "orchestrator");
            MarkFailed(job, "segmentation", FailureReasons.InternalError(where, service, job.CorrelationId), FailureReasons.Detail(ex));
            context.Logger(typeof(JobStateMachine).FullName!).LogError(ex, "Job {JobId}: choosing the phase thresholds failed", job.CorrelationId);
        }
    }

    /// <summary>
    /// Adds a chunk's survey on the binning of the job's histogram. A survey on another binning (a worker of another
    /// version) is left out with a warning rather than thrown: a throw here would leave the job waiting forever.
    /// </summary>
    private static void AddSurvey(JobState job, ChunkSurveyed message)
    {
        if (!job.SurveyedChunks.Add(message.ChunkIndex)) return;
        Moved(job, DateTime.UtcNow);
        job.UpdatedUtc = DateTime.UtcNow;
        var bins = job.Histogram?.Length ?? 0;
        if (message.TubeHistogram.Length != bins || message.ElectrolyteCoreHistogram.Length != bins)
        {
            job.Warnings.Add($"The carbon fibre survey of chunk {message.ChunkIndex} used {message.TubeHistogram.Length} grey-level bins instead of "
                + $"{bins}; it was left out of the carbon level check, the shine-through estimate and the curtain correction.");
            return;
        }
        job.FibreTubeHistogram ??= new long[bins];
        job.ElectrolyteCoreHistogram ??= new long[bins];
        for (var i = 0; i < bins; i++)
        {
            job.FibreTubeHistogram[i] += message.TubeHistogram[i];
            job.ElectrolyteCoreHistogram[i] += message.ElectrolyteCoreHistogram[i];
        }
        AddCurtainSteps(job, message);
        if (message.ShineThroughRuns is { } runs)
        {
            if (runs.Length != ShineThroughEstimate.HistogramLength)
            {
                job.Warnings.Add($"The shine-through survey of chunk {message.ChunkIndex} has {runs.Length} counts instead of "
                    + $"{ShineThroughEstimate.HistogramLength}; it was left out of the shine-through estimate.");
                return;
            }
            job.ShineThroughRuns ??= new long[runs.Length];
            for (var i = 0; i < runs.Length; i++) job.ShineThroughRuns[i] += runs[i];
        }
    }

    /// <summary>
    /// Adds a chunk's curtain steps; a chunk of another width (a worker of another version) is left out with a warning,
    /// and one without them (an older worker) simply adds nothing.
    /// </summary>
    private static void AddCurtainSteps(JobState job, ChunkSurveyed message)
    {
        if (message.CurtainStepsKept is not { } kept || message.CurtainStepSums is not { } sums) return;
        var width = job.Width;
        if (kept.Length != width || sums.Length != width)
        {
            job.Warnings.Add($"The curtain survey of chunk {message.ChunkIndex} has {Math.Min(kept.Length, sums.Length)} columns instead of {width}; "
                + "it was left out of the curtain correction.");
            return;
        }
        new ColumnStepSums(job.CurtainStepsKept ??= new long[width], job.CurtainStepSums ??= new long[width])
            .Add(new ColumnStepSums(kept, sums));
        job.CurtainStepChunks++;
    }

    /// <summary>
    /// The standing curtain stripes' offset per column from every chunk's steps (<see cref="StandingCurtains.Offsets"/>),
    /// which the segmentation subtracts; the job says so when a column is off by more than a tenth of the
    /// electrolyte-to-NMC contrast. Only when every chunk reported its steps (workers of an older version do not), so
    /// the labels never depend on which worker surveyed which chunk; never for a trained classifier, which does not use
    /// them. The merged sums are dropped once used.
    /// </summary>
    private static void EstimateStandingCurtains(JobState job)
    {
        var (kept, sums, chunks) = (job.CurtainStepsKept, job.CurtainStepSums, job.CurtainStepChunks);
        (job.CurtainStepsKept, job.CurtainStepSums) = (null, null);
        if (job.TrainedClassifier || kept is null || sums is null) return;
        if (chunks != job.ChunksTotal)
        {
            job.Warnings.Add($"Only {chunks} of {job.ChunksTotal} chunks reported their curtain steps (a segmentation worker of an older "
                + "version?): the segmentation did not subtract curtain stripes.");
            return;
        }
        if (StandingCurtains.Offsets(new ColumnStepSums(kept, sums)) is not { } offsets) return;
        job.ColumnOffsets = offsets;
        var largest = Math.Round(offsets.Max(o => Math.Abs((double)o)), 2);
        var contrast = job.ClassMeans is { Length: 4 } means ? means[3] - means[2] : double.NaN;
        var striped = contrast > 0 ? offsets.Count(o => Math.Abs(o) > 0.1 * contrast) : 0;
        if (job.Segmentation is { } model)
            job.Segmentation = model with { StandingCurtainLargestOffset = largest, StandingCurtainColumns = striped };
        if (striped > 0)
            job.Warnings.Add($"{striped} of {offsets.Length} image columns read up to {largest:0} grey levels ({largest / contrast:P0} of the "
                + "electrolyte-to-NMC contrast) off the columns around them in every slice: curtain stripes, or a brightness ramp at the "
                + "image's edge. The segmentation subtracted each column's offset before classifying.");
        job.UpdatedUtc = DateTime.UtcNow;
    }

    /// <summary>
    /// The stack's shine-through from every chunk's pore runs (<see cref="ShineThroughEstimate"/>); the segmentation's
    /// shine-through correction acts on it. With no runs (older workers, no pores) the excess stays 0: the correction as
    /// without an estimate.
    /// </summary>
    private static void EstimateShineThrough(BehaviorContext<JobState, ChunkSurveyed> context)
    {
        var job = context.Saga;
        if (job.ShineThroughRuns is null) return;
        var estimate = ShineThroughEstimate.Estimate(job.ShineThroughRuns);
        job.ShineThroughExcess = estimate.Correction;
        job.SkipShineThroughCorrection = !estimate.Detected;
        var runs = estimate.RunsPerDistance.Length == 0 ? 0 : estimate.RunsPerDistance.Max();
        if (job.Segmentation is { } model)
            job.Segmentation = model with
            {
                ShineThroughExcess = estimate.Excess, ShineThroughCorrection = estimate.Correction, ShineThroughRuns = runs,
                ShineThroughCorrected = estimate.Detected,
            };
        if (estimate.Correction > 0)
            job.Warnings.Add(
                $"Pores show the material behind them strongly (shine-through): next to their back walls they read {estimate.Excess:P0} of the "
                + "way from void to the wall more than next to their front walls. The segmentation gave such voxels back to the pores, but void "
                + "fraction and contact loss still lean low on such stacks (by about 1 and 4 percentage points on phantoms with this much shine-through).");
        job.UpdatedUtc = DateTime.UtcNow;
    }

    /// <summary>
    /// Checks the fit's carbon class against the fibre cores of every chunk (<see cref="CarbonLevel"/>); when it moves,
    /// the moved thresholds' plausible ranges span both answers, so the metrics' intervals show the disagreement.
    /// </summary>
    private static void CheckCarbonLevel(BehaviorContext<JobState, ChunkSurveyed> context)
    {
        var job = context.Saga;
        if (job.FibreTubeHistogram is null || job.ElectrolyteCoreHistogram is null) return;
        var survey = new FibreSurveyCounts(job.FibreTubeHistogram, job.ElectrolyteCoreHistogram);
        CarbonLevelDecision decision;
        try
        {
            decision = CarbonLevel.Decide(survey, job.Thresholds!, job.ClassMeans!, job.Histogram!.Length, job.HistogramMin, job.HistogramMax);
        }
        catch (Exception ex)
        {
            // A check that can estimate nothing must not stop the job (the saga would wait forever): keep the fit.
            context.Logger(typeof(JobStateMachine).FullName!).LogError(ex, "Job {JobId}: checking the carbon level against the fibre survey failed", job.CorrelationId);
            job.Warnings.Add("The carbon fibre survey could not be evaluated; the phases were separated by the grey-level fit alone.");
            return;
        }
        var fitThresholds = job.Thresholds!;
        var fitCarbonMean = job.ClassMeans![1];
        job.Thresholds = decision.Thresholds;
        job.ClassMeans = decision.ClassMeans;
        if (job.Segmentation is { } model)
        {
            var lows = (double[])model.ThresholdLows.Clone();
            var highs = (double[])model.ThresholdHighs.Clone();
            if (decision.Replaced)
                for (var i = 0; i < lows.Length; i++)
                {
                    lows[i] = Math.Min(Math.Min(lows[i], fitThresholds[i]), decision.Thresholds[i]);
                    highs[i] = Math.Max(Math.Max(highs[i], fitThresholds[i]), decision.Thresholds[i]);
                }
            job.Segmentation = model with
            {
                Thresholds = decision.Thresholds,
                ClassMeans = decision.ClassMeans,
                ThresholdLows = lows,
                ThresholdHighs = highs,
                FitCarbonMean = fitCarbonMean,
                FibreCoreLevel = double.IsNaN(decision.FibreCoreLevel) ? null : decision.FibreCoreLevel,
                FibreCoreVoxels = decision.FibreCoreVoxels,
                CarbonReplacedByFibreLevel = decision.Replaced,
            };
        }
        if (decision.Replaced)
            job.Warnings.Add(
                $"The grey-level fit put carbon at {fitCarbonMean:0} but the carbon fibres' cores are at {decision.FibreCoreLevel:0} "
                + "(denoised grey levels): the fit's carbon class was the pores' blurred rims or part of the electrolyte, so the phases "
                + "were separated at the fibres' level instead. Void and carbon fractions carry the difference in their intervals.");
        job.UpdatedUtc = DateTime.UtcNow;
    }

    private static SegmentationModel DescribeUncertainty(long[] histogram, JobState job, double[] thresholds, MixtureFit fit)
    {
        var u = SegmentationUncertainty.Analyse(histogram, job.HistogramMin, job.HistogramMax, fit, thresholds);
        return new SegmentationModel(thresholds, fit.Means,
            Array.ConvertAll(u.ThresholdRanges, r => r.Low), Array.ConvertAll(u.ThresholdRanges, r => r.High), u.ExpectedFractions,
            Array.ConvertAll(u.Overlaps, o => o.DarkerAmbiguousShare), Array.ConvertAll(u.Overlaps, o => o.BrighterAmbiguousShare));
    }

    /// <summary>Counts a shift chunk once, and its noise residuals and grey levels with it.</summary>
    private static void AddShiftedChunk(JobState job, Contracts.AlignmentChunkShifted shifted)
    {
        if (job.AlignmentShiftedChunks.Contains(shifted.ChunkIndex))
        {
            job.UpdatedUtc = DateTime.UtcNow;
            return;
        }
        if (shifted is { NoiseResiduals: { Length: NoiseLevel.Bins } residuals, AlignedHistogram: { Length: Contracts.AlignmentChunkShifted.AlignedHistogramBins } greys })
        {
            job.NoiseResiduals = job.NoiseResiduals is null ? [.. residuals] : Histogram.Merge(job.NoiseResiduals, residuals);
            job.AlignedHistogram = job.AlignedHistogram is null ? [.. greys] : Histogram.Merge(job.AlignedHistogram, greys);
        }
        else job.NoiseUnmeasured = true;
        AddChunk(job, job.AlignmentShiftedChunks, shifted.ChunkIndex);
    }

    /// <summary>
    /// The denoising σ for the stack (<see cref="NoiseLevel.DenoiseSigmaFor"/>): its noise from the shift chunks' residuals,
    /// the void-to-electrolyte contrast from the grey-level fit of the aligned histogram. The default σ where a chunk did
    /// not report or the fit found no phases.
    /// </summary>
    private static void ChooseDenoising(JobState job)
    {
        job.DenoiseSigma = NoiseLevel.DefaultDenoiseSigma;
        if (job.NoiseUnmeasured || job.NoiseResiduals is null || job.AlignedHistogram is null) return;
        job.NoiseSigma = NoiseLevel.Sigma(job.NoiseResiduals);
        double? contrast = null;
        if (job.AlignedHistogram.Count(c => c > 0) < PhaseClasses) return;
        try
        {
            var fit = PhaseThresholds.FromHistogram(job.AlignedHistogram, PhaseClasses, 0, 65536);
            contrast = fit.ClassMeans[2] - fit.ClassMeans[0];
        }
        catch (ArgumentException)
        {
            // A histogram too sparse for four phases: the segmentation's own fit says so later; the default σ here.
        }
        if (job.NoiseSigma is { } noise && contrast is > 0) job.NoiseShare = noise / contrast.Value;
        job.DenoiseSigma = NoiseLevel.DenoiseSigmaFor(job.NoiseSigma, contrast);
    }

    /// <summary>Counts a chunk once: a redelivered event neither counts again nor moves the stall clock.</summary>
    private static void AddChunk(JobState job, HashSet<int> done, int chunkIndex)
    {
        if (done.Add(chunkIndex)) Moved(job, DateTime.UtcNow);
        job.UpdatedUtc = DateTime.UtcNow;
    }

    private static SolveAlignment SolveCommand(JobState job) => new(job.CorrelationId, job.JobPrefix, job.ChunksTotal);

    private static StackAligned StackAlignedOf(AlignmentSolved solved) => new(solved.JobId, solved.Slices, solved.Height, solved.Width, solved.Warnings);

    private static async Task PublishMeasureAlignmentCommands<T>(BehaviorContext<JobState, T> context, IReadOnlySet<int> done) where T : class
    {
        var job = context.Saga;
        foreach (var (index, z0, z1) in ChunkPlan.Slabs(job.Slices, job.ChunkSlices).Where(s => !done.Contains(s.Index)))
            await context.Publish(new MeasureAlignmentChunk(job.CorrelationId, job.JobPrefix, index, z0, z1) { RegistrationCropPx = job.RegistrationCropPx });
    }

    private static async Task PublishShiftAlignmentCommands<T>(BehaviorContext<JobState, T> context, IReadOnlySet<int> done) where T : class
    {
        var job = context.Saga;
        foreach (var (index, z0, z1) in ChunkPlan.Slabs(job.Slices, job.ChunkSlices).Where(s => !done.Contains(s.Index)))
            await context.Publish(new ShiftAlignmentChunk(job.CorrelationId, job.JobPrefix, index, z0, z1));
    }

    private static async Task PublishPrepareCommands(BehaviorContext<JobState, StackAligned> context)
    {
        var job = context.Saga;
        foreach (var (index, z0, z1) in job.FanOutSlabs())
            await context.Publish(new PrepareChunk(job.CorrelationId, job.JobPrefix, index, z0, z1) { DenoiseSigma = job.DenoiseSigma });
    }

    private static async Task PublishMissingPrepareCommands(BehaviorContext<JobState, StackAligned> context)
    {
        var job = context.Saga;
        foreach (var (index, z0, z1) in job.FanOutSlabs().Where(s => !job.PreparedChunks.Contains(s.Index)))
            await context.Publish(new PrepareChunk(job.CorrelationId, job.JobPrefix, index, z0, z1) { DenoiseSigma = job.DenoiseSigma });
    }

    private static async Task PublishSurveyCommands(BehaviorContext<JobState, ChunkPrepared> context)
    {
        var job = context.Saga;
        foreach (var (index, z0, z1) in job.FanOutSlabs())
            await context.Publish(new SurveyChunk(job.CorrelationId, job.JobPrefix, index, z0, z1, job.Thresholds!, job.ClassMeans!));
    }

    private static async Task PublishMissingSurveyCommands(BehaviorContext<JobState, ChunkPrepared> context)
    {
        var job = context.Saga;
        foreach (var (index, z0, z1) in job.FanOutSlabs().Where(s => !job.SurveyedChunks.Contains(s.Index)))
            await context.Publish(new SurveyChunk(job.CorrelationId, job.JobPrefix, index, z0, z1, job.Thresholds!, job.ClassMeans!));
    }

    private static async Task PublishMissingSegmentCommands(BehaviorContext<JobState, ChunkSurveyed> context)
    {
        var job = context.Saga;
        foreach (var (index, z0, z1) in job.FanOutSlabs().Where(s => !job.SegmentedChunks.Contains(s.Index)))
            await context.Publish(job.SegmentCommand(index, z0, z1));
    }

    private static async Task PublishSegmentCommands(BehaviorContext<JobState, ChunkSurveyed> context)
    {
        var job = context.Saga;
        foreach (var (index, z0, z1) in job.FanOutSlabs())
            await context.Publish(job.SegmentCommand(index, z0, z1));
    }
}
