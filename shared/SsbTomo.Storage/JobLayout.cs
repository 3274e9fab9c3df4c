namespace SsbTomo.Storage;

/// <summary>Where each artefact of one job lives in the blob store, relative to the job prefix.</summary>
public sealed record JobLayout(string Prefix)
{
    /// <summary>A submitted job's own prefix, for whoever submits it (the API, the share-drive watcher).</summary>
    public static JobLayout ForJob(Guid jobId) => new($"jobs/{jobId}");

    public string Raw => Combine("raw.zarr");
    public string Aligned => Combine("aligned.zarr");
    public string Denoised => Combine("denoised.zarr");
    /// <summary>
    /// The phase labels: an NGFF label image inside the aligned image's "labels" group, so that viewers (napari,
    /// neuroglancer) open image and labels together. Every reader of the labels goes through this path.
    /// </summary>
    public string Labels => $"{Aligned}/{OmeZarr.LabelsGroupName}/{LabelsName}";
    /// <summary>The label image's name in the aligned image's labels group.</summary>
    public const string LabelsName = "phases";
    /// <summary>
    /// A trained pixel classifier the job segments with (<c>ssbtomo run --model</c>): the model folder's manifest and forest,
    /// stored by the submitter before the job starts, read by every segmentation worker (once per job).
    /// </summary>
    public string ClassifierManifest => Combine($"model/{SsbTomo.Imaging.Classification.PixelClassifierManifest.FileName}");
    /// <inheritdoc cref="ClassifierManifest"/>
    public string ClassifierForest => Combine($"model/{SsbTomo.Imaging.Classification.PixelClassifierManifest.ForestFileName}");
    public string AlignmentReport => Combine("alignment.json");
    /// <summary>One alignment chunk's per-slice measurements (JSON), read by the global solve.</summary>
    public string AlignmentChunk(int chunkIndex) => Combine($"alignment/chunk-{chunkIndex}.json");
    /// <summary>
    /// One alignment chunk's curtain offsets per slice (<see cref="Images.CurtainOffsetsBlob"/>), read by the shift chunk of
    /// the same slab so that it does not filter the slices again. A job measured before they were stored has none.
    /// </summary>
    public string AlignmentCurtains(int chunkIndex) => Combine($"alignment/chunk-{chunkIndex}.curtains");
    /// <summary>The global solve's per-slice corrections, drift and brightness (JSON), read by every shift chunk.</summary>
    public string AlignmentSolution => Combine("alignment/solution.json");
    public string Metrics => Combine("metrics.json");
    public string Particles => Combine("particles.csv");
    public string MetricsCsv => Combine("metrics.csv");
    public string Provenance => Combine("provenance.json");
    public string Previews => Combine("previews");
    /// <summary>One orthogonal-slice preview (PNG) of the aligned stack with the labels laid over it.</summary>
    public string Preview(SsbTomo.Imaging.Reconstruction.SlicePlane plane) => $"{Previews}/{plane.ToString().ToLowerInvariant()}.png";
    /// <summary>One 3D view (PNG) of the phases' surface meshes, rendered headless.</summary>
    public string View(SsbTomo.Imaging.Reconstruction.SurfaceView view) => $"{Previews}/3d-{view.ToString().ToLowerInvariant()}.png";
    public string Meshes => Combine("meshes");
    /// <summary>One phase's surface mesh (µm): glTF 2.0 binary (<c>glb</c>, NMC with contact colours) or binary STL (<c>stl</c>).</summary>
    public string Mesh(string phase, string extension) => $"{Meshes}/{phase}.{extension}";
    /// <summary>Every phase's surface in one glTF binary, a node per phase.</summary>
    public string PhasesMesh => $"{Meshes}/phases.glb";
    /// <summary>The particle of the NMC particle view (<see cref="View"/> Particle) and the void around it, one glTF binary.</summary>
    public string ParticleMesh => $"{Meshes}/particle.glb";
    /// <summary>The self-contained report for a person (metrics, previews, provenance in one HTML file).</summary>
    public string Report => Combine("report.html");

    public string Combine(string name) => string.IsNullOrEmpty(Prefix) ? name : $"{Prefix.TrimEnd('/')}/{name}";

    /// <summary>OME-Zarr images keep full resolution at dataset "0".</summary>
    public static string Level0(string imagePath) => $"{imagePath}/0";
}
