using SsbTomo.Contracts;

namespace SsbTomo.Hosting;

/// <summary>The "SsbTomo" configuration section: configuration alone selects transport and store.</summary>
public sealed class SsbTomoOptions
{
    public const string Section = "SsbTomo";

    public TransportKind Transport { get; set; } = TransportKind.InMemory;
    public BlobStoreKind BlobStore { get; set; } = BlobStoreKind.FileSystem;

    /// <summary>Root folder of the filesystem blob store.</summary>
    public string BlobRoot { get; set; } = "ssbtomo-data";

    public RabbitMqSettings RabbitMq { get; set; } = new();

    public AzureBlobSettings AzureBlob { get; set; } = new();

    /// <summary>
    /// Where the Orchestrator keeps job state: InMemory, Sqlite or Dapr. Unset: in memory when the transport is in
    /// memory too (one process; its messages die with it anyway), a SQLite file otherwise, so that a restarted
    /// Orchestrator of a distributed deployment still knows every job the broker's messages refer to.
    /// </summary>
    public JobStoreKind? JobStore { get; set; }

    /// <summary>The job store in use: <see cref="JobStore"/>, or its default for the transport.</summary>
    public JobStoreKind EffectiveJobStore =>
        JobStore ?? (Transport == TransportKind.InMemory ? JobStoreKind.InMemory : JobStoreKind.Sqlite);

    /// <summary>SQLite file for <see cref="JobStoreKind.Sqlite"/>; default <c>ssbtomo-jobs.db</c> next to <see cref="BlobRoot"/>.</summary>
    public string? SqlitePath { get; set; }

    public DaprSettings Dapr { get; set; } = new();

    /// <summary>
    /// Whether the segmentation stage runs its carbon-fibre rules (<c>FibreHalfDepth</c>, on by default): thin carbon fibres
    /// get the width at half their depth (carbon Dice up on the phantom family), and dark layers along a particle's face
    /// that are no fibre go back to void (<c>ParticleFaceGaps</c>: delamination gaps, contact loss). Off for a cathode whose
    /// carbon is not fibres (carbon black, binder films on the particles: there such a layer is carbon, and the gaps rule
    /// read contact loss 4-8 pp higher on a real binder's microstructure; <c>ssbtomo run --carbon particles</c>).
    /// </summary>
    public bool FibreHalfDepth { get; set; } = true;

    /// <summary>Whether a job's segmentation runs the fibre rules: its own carbon shape when it gave one, else <see cref="FibreHalfDepth"/>.</summary>
    public bool FibreRulesFor(CarbonShape? carbon) => carbon is { } shape ? shape == CarbonShape.Fibres : FibreHalfDepth;

    /// <summary>Slices per segmentation chunk: the unit of fan-out and of memory.</summary>
    public int ChunkSlices { get; set; } = 16;

    /// <summary>
    /// Slices per command of the fanned-out stages after alignment (denoising, survey, segmentation), rounded down to a
    /// whole number of <see cref="ChunkSlices"/> slabs: each command reads its z halo (~20 slices a side in segmentation)
    /// once for all of them, so fewer, larger commands cost less CPU per slice, and more, smaller ones spread over more
    /// workers. 0 (default for the services): one slab per command, the most fan-out; <c>ssbtomo run</c> takes 96.
    /// </summary>
    public int FanOutSlices { get; set; }

    /// <summary>
    /// Rows and columns of every volume's storage chunks (raw.zarr sets them; every later volume is chunked like it):
    /// the unit a stage's y/x tiles are made of. 512 by default.
    /// </summary>
    public int ChunkTilePx { get; set; } = 512;

    /// <summary>
    /// Memory one service process may use, in MiB (default 2048): a stage cuts each slab into y/x tiles whose window
    /// fits a quarter of it (<see cref="WindowBudgetBytes"/>), so memory follows this budget, not the slice size. The
    /// rest is for the runtime, the messages and the garbage collector's headroom.
    /// </summary>
    public int MemoryBudgetMb { get; set; } = 2048;

    /// <summary>
    /// Alignment chunks (measurement and shift) one process works on at once, default 1: a cluster adds pods instead,
    /// each one a competing consumer. The embedded run (`ssbtomo run --alignment-workers N`) uses it to put N workers in
    /// one process. Each holds a slab of whole raw slices.
    /// </summary>
    public int AlignmentWorkers { get; set; } = 1;

    /// <summary>
    /// Threads each alignment worker's kernels may use (the filters, FFTs and registrations of one slice). Unset: the
    /// worker's share of the cores, <see cref="Environment.ProcessorCount"/> / <see cref="AlignmentWorkers"/> (at least 1),
    /// so workers in one process do not contend for the same cores at every loop's barrier; a pod with a CPU limit sees
    /// its limit as the processor count, so one worker per pod keeps all its cores. The results are the same bits for any
    /// count (the kernels add their sums in index order).
    /// </summary>
    public int? AlignmentKernelThreads { get; set; }

    /// <summary>
    /// Edge in pixels of the centred crop on which the alignment registers each slice against its neighbours, for a job
    /// submitted without its own (<see cref="Contracts.SubmitJob.RegistrationCropPx"/>): whoever submits a job (the API, the
    /// share-drive watcher, the CLI) fixes it in the job from this, so every chunk of a job is registered on one crop
    /// whichever workers measure it; the Alignment service's own applies only to a command without one. Default 512
    /// (<see cref="Imaging.Alignment.PairwiseRegistration.DefaultCropPx"/>). The drift is anchored on particle sections found
    /// over the whole slice; a specimen without compact bright sections rests on the registrations alone, which a larger
    /// crop (1024, or the slice) measures better at ~4x the registration's cost per doubling. Slices no larger are registered whole.
    /// </summary>
    public int RegistrationCropPx { get; set; } = Imaging.Alignment.PairwiseRegistration.DefaultCropPx;

    /// <summary>The smallest registration crop: a few dozen of the registration's 16-pixel patches, enough to vote on a shift.</summary>
    public const int MinimumRegistrationCropPx = 64;

    /// <summary>The largest: beyond any slice a FIB-SEM writes (a larger crop registers the whole slice, as this does).</summary>
    public const int MaximumRegistrationCropPx = 16384;

    /// <summary>Whether <paramref name="px"/> is a registration crop the alignment takes.</summary>
    public static bool IsRegistrationCrop(int px) => px is >= MinimumRegistrationCropPx and <= MaximumRegistrationCropPx;

    /// <summary>The threads each alignment worker's kernels use: <see cref="AlignmentKernelThreads"/>, or its default.</summary>
    public int EffectiveAlignmentKernelThreads =>
        AlignmentKernelThreads ?? Math.Max(1, Environment.ProcessorCount / Math.Max(1, AlignmentWorkers));

    /// <summary>
    /// Settings that would only fail a job later, with an internal error, when it reaches the stage that reads them; checked
    /// when a service starts instead (a wrong deployment does not start, and says which setting).
    /// </summary>
    public IEnumerable<string> Problems()
    {
        if (ChunkSlices < 1) yield return $"SsbTomo:ChunkSlices is {ChunkSlices}; it must be at least 1";
        if (FanOutSlices < 0) yield return $"SsbTomo:FanOutSlices is {FanOutSlices}; it must be 0 (one slab per command) or more";
        if (ChunkTilePx < 1) yield return $"SsbTomo:ChunkTilePx is {ChunkTilePx}; it must be at least 1";
        if (!IsRegistrationCrop(RegistrationCropPx))
            yield return $"SsbTomo:RegistrationCropPx is {RegistrationCropPx}; it must be from {MinimumRegistrationCropPx} to {MaximumRegistrationCropPx} pixels";
        if (AlignmentWorkers < 1) yield return $"SsbTomo:AlignmentWorkers is {AlignmentWorkers}; it must be at least 1";
        if (AlignmentKernelThreads < 1)
            yield return $"SsbTomo:AlignmentKernelThreads is {AlignmentKernelThreads}; it must be at least 1 (or unset: the cores divided among the alignment workers)";
        if (BusWatchdog.SettleTimeoutSeconds < 0)
            yield return $"SsbTomo:BusWatchdog:SettleTimeoutSeconds is {BusWatchdog.SettleTimeoutSeconds}; it must be 0 (off) or more";
        if (MemoryBudgetMb < 1) yield return $"SsbTomo:MemoryBudgetMb is {MemoryBudgetMb}; it must be at least 1 (a process's cap needs 384)";
        if (!double.IsFinite(Metrics.VoidNearNmcDistanceUm) || Metrics.VoidNearNmcDistanceUm < 0)
            yield return $"SsbTomo:Metrics:VoidNearNmcDistanceUm is {Metrics.VoidNearNmcDistanceUm}; it must be a distance of 0 µm or more";
        if (!double.IsFinite(Metrics.BoundaryPlacementVoxels) || Metrics.BoundaryPlacementVoxels < 0)
            yield return $"SsbTomo:Metrics:BoundaryPlacementVoxels is {Metrics.BoundaryPlacementVoxels}; it must be 0 voxels (the threshold variants alone) or more";
        var axes = Metrics.TortuosityAxisNumbers;
        if (Metrics.Tortuosity && (axes.Count == 0 || axes.Contains(-1) || axes.Distinct().Count() != axes.Count))
            yield return $"SsbTomo:Metrics:TortuosityAxes is \"{Metrics.TortuosityAxes}\"; it must be one or more of the letters z, y, x, each once "
                + "(or turn tortuosity off with SsbTomo:Metrics:Tortuosity=false)";
    }

    /// <summary>Memory one processing window may take: a quarter of <see cref="MemoryBudgetMb"/>.</summary>
    public long WindowBudgetBytes => (long)MemoryBudgetMb * 1024 * 1024 / 4;

    public IngestSettings Ingest { get; set; } = new();

    public MetricsSettings Metrics { get; set; } = new();

    /// <summary>When the Orchestrator takes a job that makes no progress as stalled, re-drives it, and fails it.</summary>
    public StallSettings Stall { get; set; } = new();

    /// <summary>When a service takes its own bus for wedged and exits to be started again (with a broker only).</summary>
    public BusWatchdogSettings BusWatchdog { get; set; } = new();

    /// <summary>MassTransit's anonymous usage report to its vendor at start: off unless a deployment turns it on.</summary>
    public bool MassTransitUsageTelemetry { get; set; }

    /// <summary>
    /// Folders a job's source may lie in (absolute; <c>SsbTomo:ShareRoots:0</c>, <c>:1</c>, ...). The watcher's
    /// <see cref="IngestSettings.WatchRoot"/> counts as one; with none at all the API accepts no submission.
    /// </summary>
    public List<string> ShareRoots { get; set; } = [];
}

/// <summary>What the Metrics stage measures beyond its fixed definitions.</summary>
public sealed class MetricsSettings
{
    /// <summary>
    /// Void within this distance (µm) of an NMC voxel counts as next to a particle (<c>SsbTomo:Metrics:VoidNearNmcDistanceUm</c>):
    /// the paper's cracks hug the particles. Default 0.5 µm.
    /// </summary>
    public double VoidNearNmcDistanceUm { get; set; } = 0.5;

    /// <summary>
    /// Tortuosity factors of the ionic (LPS) and electronic (NMC + carbon) paths (<c>SsbTomo:Metrics:Tortuosity</c>, default
    /// on). The solve holds the whole label volume; a volume whose solve would not fit half the memory budget is left
    /// out with a warning in metrics.json.
    /// </summary>
    public bool Tortuosity { get; set; } = true;

    /// <summary>
    /// The axes the tortuosity factors are solved along, as letters of "zyx" (<c>SsbTomo:Metrics:TortuosityAxes</c>, default
    /// all three: which image axis is the electrode's through-plane direction depends on how the sample was cut).
    /// </summary>
    public string TortuosityAxes { get; set; } = "zyx";

    /// <summary>
    /// How far, in voxels, a segmented boundary may lie from the true one (<c>SsbTomo:Metrics:BoundaryPlacementVoxels</c>,
    /// default 0.25): each phase fraction's interval is widened by a layer this thick over the phase's surface. Blur spreads
    /// every boundary over several voxels and lit pore rims, thin layers and fibres move it by a fraction of one, which the
    /// threshold variants do not show (their void intervals held the truth on 3 of the phantom family's 27 runs). A quarter
    /// voxel is what that family needs (then void held on 24 of 27, carbon 26, LPS and NMC 27); a facility can set its own
    /// from stacks with a known answer; 0 leaves the variants' range alone.
    /// </summary>
    public double BoundaryPlacementVoxels { get; set; } = 0.25;

    /// <summary><see cref="TortuosityAxes"/> as axis numbers (0 = z, 1 = y, 2 = x).</summary>
    public IReadOnlyList<int> TortuosityAxisNumbers => [.. TortuosityAxes.Select(c => "zyx".IndexOf(char.ToLowerInvariant(c)))];
}

/// <summary>The share drive the microscope writes to; unset means jobs come only from the API or the CLI.</summary>
public sealed class IngestSettings
{
    public string? WatchRoot { get; set; }
    public int PollSeconds { get; set; } = 10;

    /// <summary>
    /// File-name patterns (<c>*</c> and <c>?</c>, case-insensitive) of a file the acquisition software writes or updates
    /// after the last slice. A folder with such a file newer than every slice is complete as soon as one poll finds it
    /// unchanged. None by default: vendors and facilities differ, so a deployment names its own.
    /// </summary>
    public List<string> EndMarkers { get; set; } = [];

    /// <summary>
    /// Without an end marker a folder is complete once it has not changed for <see cref="CadenceFactor"/> times the median
    /// interval between its slices' write times, and never less than this floor: an acquisition pauses (auto-focus, drift
    /// correction, an operator's check) for several slice times.
    /// </summary>
    public int QuietSeconds { get; set; } = 600;

    public double CadenceFactor { get; set; } = 4;

    public int MinSlices { get; set; } = 8;

    /// <summary>
    /// How long a folder that changed after its job was submitted waits for that job's provenance.json, which tells
    /// whether the job already read the folder as it is now (then no follow-up job). A job that fails before it ingests
    /// never writes one, so after this the whole stack is submitted again all the same.
    /// </summary>
    public int ProvenanceWaitSeconds { get; set; } = 3600;

    /// <summary>
    /// Folder-name patterns that give a job its sample and series, e.g. <c>{sample}_{cycles}cyc</c>: literal text and
    /// <c>{name}</c> placeholders, whole name, case-insensitive, first match wins. None by default.
    /// </summary>
    public List<string> FolderPatterns { get; set; } = [];
}

/// <summary>
/// A running job that has made no progress (no new chunk, no next stage) for its stage's stall timeout has the commands
/// of everything it still waits for sent again (consumers tolerate duplicates); when a further timeout passes without
/// progress it fails with a reason that names the stage and what it waited for. The timeout of a fanned-out stage is
/// <see cref="ChunkFactor"/> times the mean time between its chunks so far, of a one-step stage
/// <see cref="SecondsPerSlice"/> times the slices, never less than <see cref="FloorSeconds"/>.
/// </summary>
public sealed class StallSettings
{
    /// <summary>No stage counts as stalled sooner: a busy worker's queue, a slow store or a big first chunk take minutes.</summary>
    public int FloorSeconds { get; set; } = 600;

    public double ChunkFactor { get; set; } = 5;

    /// <summary>
    /// For the stages that are one message per job (ingest, alignment, reconstruction, metrics): alignment costs about
    /// 4 s per 4096x3072 slice over its two passes (README, Scaling), so 10 s leaves room for a loaded machine.
    /// </summary>
    public double SecondsPerSlice { get; set; } = 10;

    /// <summary>A fixed timeout in seconds for a state (key: Ingesting, Aligning, Denoising, ...) instead of the derived one.</summary>
    public Dictionary<string, int> StageSeconds { get; set; } = [];

    /// <summary>How often the Orchestrator looks for stalled jobs; 0 turns stall detection off.</summary>
    public int ScanSeconds { get; set; } = 30;
}

public enum TransportKind { InMemory, RabbitMq }

public enum BlobStoreKind { FileSystem, AzureBlob }

public enum JobStoreKind { InMemory, Sqlite, Dapr }

public sealed class DaprSettings
{
    /// <summary>Name of the Dapr state store component (metadata.name) holding job state.</summary>
    public string StateStore { get; set; } = "statestore";
}

public sealed class RabbitMqSettings
{
    public string Host { get; set; } = "127.0.0.1";
    public ushort Port { get; set; } = 5672;
    public string VirtualHost { get; set; } = "/";
    public string Username { get; set; } = "ssbtomo";
    public string Password { get; set; } = "";
}

/// <summary>Either a connection string (from a secret; Azurite in development) or a service URI with DefaultAzureCredential.</summary>
public sealed class AzureBlobSettings
{
    public string? ConnectionString { get; set; }
    public Uri? ServiceUri { get; set; }
    public string Container { get; set; } = "ssbtomo";
}
