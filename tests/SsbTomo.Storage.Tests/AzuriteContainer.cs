using Azure;
using Azure.Core;
using Azure.Storage.Blobs;

namespace SsbTomo.Storage.Tests;

/// <summary>
/// One fresh, uniquely named container in the real Azurite named by SSBTOMO_AZURITE_CONNECTION, deleted on dispose.
/// These tests never skip: without Azurite they fail and say how to start it.
/// </summary>
internal sealed class AzuriteContainer : IAsyncDisposable
{
    public const string ConnectionVariable = "SSBTOMO_AZURITE_CONNECTION";

    private static readonly string RunId = $"{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..8]}";
    private static int _counter;
    private static Task? _probe;

    private AzuriteContainer(AzureBlobStore store) => Store = store;

    /// <summary>Store over a container that does not exist yet (the store creates it on first write).</summary>
    public AzureBlobStore Store { get; }

    public BlobContainerClient Client => Store.Container;

    public static async Task<AzuriteContainer> CreateAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable(ConnectionVariable);
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidOperationException(
                $"{ConnectionVariable} is not set. These tests need a real Azurite: run infra/scripts/azurite-start.sh, then " +
                $"export {ConnectionVariable}=UseDevelopmentStorage=true (or eval \"$(infra/scripts/services-env.sh)\").");
        await (_probe ??= ProbeAsync(connectionString));
        var name = $"ssbtomo-test-{RunId}-{Interlocked.Increment(ref _counter)}";
        return new AzuriteContainer(AzureBlobStore.FromConnectionString(connectionString, name, TestOptions()));
    }

    public async ValueTask DisposeAsync() => await Client.DeleteIfExistsAsync();

    /// <summary>The product's retry policy, shortened so an unreachable emulator fails a test in seconds.</summary>
    private static BlobClientOptions TestOptions()
    {
        var options = AzureBlobStore.DefaultClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(20);
        return options;
    }

    private static async Task ProbeAsync(string connectionString)
    {
        var options = TestOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.Mode = RetryMode.Fixed;
        try
        {
            await new BlobServiceClient(connectionString, options).GetPropertiesAsync();
        }
        catch (Exception e) when (e is RequestFailedException or AggregateException or HttpRequestException)
        {
            throw new InvalidOperationException(
                $"Azurite is not answering for {ConnectionVariable}='{connectionString}': run infra/scripts/azurite-start.sh ({e.Message})", e);
        }
    }
}
