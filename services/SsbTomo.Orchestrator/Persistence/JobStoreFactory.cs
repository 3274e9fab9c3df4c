using Dapr.Client;
using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator.Persistence;

/// <summary>Configuration ("SsbTomo:JobStore", defaulting by transport: <see cref="SsbTomoOptions.EffectiveJobStore"/>) picks the job state store.</summary>
public static class JobStoreFactory
{
    public const string DefaultSqliteFileName = "ssbtomo-jobs.db";

    public static IJobStateStore Create(SsbTomoOptions options, IServiceProvider services) => options.EffectiveJobStore switch
    {
        JobStoreKind.InMemory => new InMemoryJobStateStore(),
        JobStoreKind.Sqlite => new SqliteJobStateStore(SqlitePath(options)),
        // A DaprClient registered by the host (AddDaprClient) wins; otherwise the default sidecar address (DAPR_* env).
        JobStoreKind.Dapr => new DaprJobStateStore(
            services.GetService(typeof(DaprClient)) as DaprClient ?? new DaprClientBuilder().Build(), options.Dapr.StateStore),
        _ => throw new InvalidOperationException($"unknown job store {options.JobStore}"),
    };

    /// <summary>SsbTomo:SqlitePath, or <c>ssbtomo-jobs.db</c> beside the blob root folder.</summary>
    public static string SqlitePath(SsbTomoOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.SqlitePath)) return Path.GetFullPath(options.SqlitePath);
        var blobRoot = Path.GetFullPath(options.BlobRoot).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        return Path.Combine(Path.GetDirectoryName(blobRoot) ?? blobRoot, DefaultSqliteFileName);
    }
}
