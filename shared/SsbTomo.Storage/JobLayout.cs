namespace SsbTomo.Storage;

/// <summary>Where each artefact of one job lives in the blob store, relative to the job prefix.</summary>
public sealed record JobLayout(string Prefix)
{
    /// <summary>A submitted job's own prefix, for whoever submits it (the API, the share-drive watcher).</summary>
    public static JobLayout ForJob(Guid jobId) => new($"jobs/{jobId}");

    public string Raw => Combine("raw.zarr");
    public string Aligned => Combine("aligned.zarr");
    public string Denoised => Combine("denoised.zarr");
    public string Labels => Combine("labels.zarr");
    public string AlignmentReport => Combine("alignment.json");
    /// <summary>One alignment chunk's per-slice measurements (JSON), read by the global solve.</summary>
    public string AlignmentChunk(int chunkIndex) => Combine($"alignment/chunk-{chunkIndex}.json");
    /// <summary>The global solve's per-slice corrections, drift and brightness (JSON), read by every shift chunk.</summary>
    public string AlignmentSolution => Combine("alignment/solution.json");
    public string Metrics => Combine("metrics.json");
    public string Particles => Combine("particles.csv");
    public string MetricsCsv => Combine("metrics.csv");
    public string Provenance => Combine("provenance.json");
    public string Previews => Combine("previews");

    public string Combine(string name) => string.IsNullOrEmpty(Prefix) ? name : $"{Prefix.TrimEnd('/')}/{name}";

    /// <summary>OME-Zarr images keep full resolution at dataset "0".</summary>
    public static string Level0(string imagePath) => $"{imagePath}/0";
}
