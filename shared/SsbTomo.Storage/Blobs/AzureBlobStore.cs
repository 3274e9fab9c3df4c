using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace SsbTomo.Storage;

/// <summary>
/// Blobs in one Azure Blob Storage container (Azurite locally). A key is the blob name as-is.
/// A write is one whole-blob upload with overwrite, committed atomically by the service, so readers never see
/// half a blob and a redelivered write of the same bytes to the same key is harmless.
/// The container is created on the first write if it does not exist; reads from a missing container see no blobs.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private volatile bool _containerReady;

    public AzureBlobStore(BlobContainerClient container)
    {
        ArgumentNullException.ThrowIfNull(container);
        Container = container;
    }

    public BlobContainerClient Container { get; }

    /// <summary>Connection string with an account key or SAS, or "UseDevelopmentStorage=true" for Azurite.</summary>
    public static AzureBlobStore FromConnectionString(string connectionString, string container, BlobClientOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return new AzureBlobStore(new BlobContainerClient(connectionString, ValidateContainerName(container), options ?? DefaultClientOptions()));
    }

    /// <summary>
    /// Service endpoint (https://ACCOUNT.blob.core.windows.net) with an Entra ID credential, normally
    /// <c>new DefaultAzureCredential()</c> (workload/managed identity in the cluster); no secret in configuration.
    /// </summary>
    public static AzureBlobStore FromServiceUri(Uri serviceUri, string container, TokenCredential credential, BlobClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(serviceUri);
        ArgumentNullException.ThrowIfNull(credential);
        var service = new BlobServiceClient(serviceUri, credential, options ?? DefaultClientOptions());
        return new AzureBlobStore(service.GetBlobContainerClient(ValidateContainerName(container)));
    }

    /// <summary>Exponential back-off: 0.5 s doubling to at most 30 s, 5 retries, 100 s per attempt.</summary>
    public static BlobClientOptions DefaultClientOptions()
    {
        var options = new BlobClientOptions();
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 5;
        options.Retry.Delay = TimeSpan.FromMilliseconds(500);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(30);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        return options;
    }

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        var blob = Container.GetBlobClient(BlobKey.Validate(key));
        await EnsureContainerAsync(ct).ConfigureAwait(false);
        try
        {
            await blob.UploadAsync(new BinaryData(content), overwrite: true, ct).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            // Someone deleted the container after we created it: create it again, once.
            _containerReady = false;
            await EnsureContainerAsync(ct).ConfigureAwait(false);
            await blob.UploadAsync(new BinaryData(content), overwrite: true, ct).ConfigureAwait(false);
        }
    }

    public async Task<byte[]?> ReadAsync(string key, CancellationToken ct = default)
    {
        var blob = Container.GetBlobClient(BlobKey.Validate(key));
        try
        {
            var result = await blob.DownloadContentAsync(ct).ConfigureAwait(false);
            return result.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>The downloaded content itself, without <see cref="ReadAsync"/>'s copy into a new array.</summary>
    public async Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default)
    {
        var blob = Container.GetBlobClient(BlobKey.Validate(key));
        try
        {
            var result = await blob.DownloadContentAsync(ct).ConfigureAwait(false);
            return BlobContent.Owned(result.Value.Content.ToMemory());
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken ct = default)
    {
        var blob = Container.GetBlobClient(BlobKey.Validate(key));
        try
        {
            return (await blob.ExistsAsync(ct).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        // Same rule as the filesystem store: the directory part of a prefix must be a valid key.
        var lastSlash = prefix.LastIndexOf('/');
        if (lastSlash >= 0)
            BlobKey.Validate(prefix[..lastSlash]);

        // The service lists in UTF-8 byte order; collect and sort so the order is ordinal (UTF-16) like every other store.
        var keys = new List<string>();
        try
        {
            var options = new GetBlobsOptions { Prefix = prefix.Length == 0 ? null : prefix };
            await foreach (var item in Container.GetBlobsAsync(options, ct).ConfigureAwait(false))
                keys.Add(item.Name);
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            // Nothing was ever written.
        }
        keys.Sort(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            ct.ThrowIfCancellationRequested();
            yield return key;
        }
    }

    public async Task DeleteAsync(string key, CancellationToken ct = default)
    {
        var blob = Container.GetBlobClient(BlobKey.Validate(key));
        try
        {
            await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Container absent: the blob is absent too.
        }
    }

    private async ValueTask EnsureContainerAsync(CancellationToken ct)
    {
        if (_containerReady)
            return;
        await _createLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_containerReady)
            {
                await Container.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
                _containerReady = true;
            }
        }
        finally
        {
            _createLock.Release();
        }
    }

    /// <summary>Azure's rule: 3-63 characters, lower-case letters, digits and single hyphens, starting and ending alphanumeric.</summary>
    private static string ValidateContainerName(string container)
    {
        ArgumentNullException.ThrowIfNull(container);
        var valid = container.Length is >= 3 and <= 63
            && container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            && container[0] != '-' && container[^1] != '-' && !container.Contains("--", StringComparison.Ordinal);
        if (!valid)
            throw new ArgumentException(
                $"'{container}' is not a valid blob container name (3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit)",
                nameof(container));
        return container;
    }
}
