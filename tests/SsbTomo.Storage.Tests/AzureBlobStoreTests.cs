using Azure.Identity;
using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

/// <summary>
/// The IBlobStore contract, run unchanged against every backend so they behave identically.
/// Each test gets a fresh, empty store.
/// </summary>
public abstract class BlobStoreBehaviour : IAsyncLifetime
{
    protected IBlobStore Store { get; private set; } = null!;

    protected abstract Task<IBlobStore> CreateStoreAsync();

    protected abstract Task DestroyStoreAsync();

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public Task DisposeAsync() => DestroyStoreAsync();

    private async Task<List<string>> ListAsync(string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in Store.ListAsync(prefix))
            keys.Add(key);
        return keys;
    }

    [Fact]
    public async Task WriteReadExistsDelete_RoundTrip()
    {
        await Store.WriteAsync("a/b/c.bin", new byte[] { 1, 2, 3 });
        await Store.WriteAsync("empty", ReadOnlyMemory<byte>.Empty);
        Assert.True(await Store.ExistsAsync("a/b/c.bin"));
        Assert.Equal(new byte[] { 1, 2, 3 }, await Store.ReadAsync("a/b/c.bin"));
        Assert.Equal(Array.Empty<byte>(), await Store.ReadAsync("empty"));
        Assert.True(await Store.ExistsAsync("empty"));
        Assert.False(await Store.ExistsAsync("a/b"));

        await Store.DeleteAsync("a/b/c.bin");
        Assert.False(await Store.ExistsAsync("a/b/c.bin"));
        Assert.Null(await Store.ReadAsync("a/b/c.bin"));
        await Store.DeleteAsync("a/b/c.bin");
        Assert.Equal(["empty"], await ListAsync(""));
    }

    [Fact]
    public async Task AbsentKeys_ReadAsNull_InAFreshStoreAndBesideOtherBlobs()
    {
        Assert.Null(await Store.ReadAsync("never/written"));
        Assert.False(await Store.ExistsAsync("never/written"));
        await Store.DeleteAsync("never/written");
        Assert.Empty(await ListAsync(""));

        await Store.WriteAsync("never/other", new byte[] { 5 });
        Assert.Null(await Store.ReadAsync("never/written"));
        Assert.False(await Store.ExistsAsync("never/written"));
        await Store.DeleteAsync("never/written");
        Assert.Equal(new byte[] { 5 }, await Store.ReadAsync("never/other"));
    }

    [Fact]
    public async Task Overwrite_ReplacesContent_AndRewritingTheSameBytesIsIdempotent()
    {
        var chunk = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray();
        await Store.WriteAsync("jobs/j/raw.zarr/0/0.0.0", new byte[] { 1 });
        await Store.WriteAsync("jobs/j/raw.zarr/0/0.0.0", chunk);
        Assert.Equal(chunk, await Store.ReadAsync("jobs/j/raw.zarr/0/0.0.0"));

        // A redelivered message (or several racing ones) writes the same bytes to the same key.
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Store.WriteAsync("jobs/j/raw.zarr/0/0.0.0", chunk)));
        Assert.Equal(chunk, await Store.ReadAsync("jobs/j/raw.zarr/0/0.0.0"));
        Assert.Equal(["jobs/j/raw.zarr/0/0.0.0"], await ListAsync(""));
    }

    [Fact]
    public async Task List_ReturnsKeysWithPrefixInOrdinalOrder()
    {
        foreach (var key in new[] { "z/2", "z/10", "z/1/x", "zz/3", "y/1", "Z/upper" })
            await Store.WriteAsync(key, new byte[] { 0 });
        Assert.Equal(["z/1/x", "z/10", "z/2"], await ListAsync("z/"));
        Assert.Equal(["z/1/x", "z/10", "z/2", "zz/3"], await ListAsync("z"));
        Assert.Equal(["z/1/x", "z/10"], await ListAsync("z/1"));
        Assert.Equal(["Z/upper", "y/1", "z/1/x", "z/10", "z/2", "zz/3"], await ListAsync(""));
        Assert.Empty(await ListAsync("q/"));
        Assert.Empty(await ListAsync("z/3"));
    }

    [Fact]
    public async Task List_IsOrdinalEvenWhereUtf8ByteOrderDiffers()
    {
        // U+1F600 is a surrogate pair (0xD83D...) in UTF-16 but F0 9F.. in UTF-8; U+FF21 is 0xFF21 / EF BC A1.
        // Ordinal (UTF-16) order puts the emoji first; UTF-8 byte order puts it last.
        const string Emoji = "u/\U0001F600", Fullwidth = "u/\uFF21";
        await Store.WriteAsync(Fullwidth, new byte[] { 1 });
        await Store.WriteAsync(Emoji, new byte[] { 2 });
        Assert.Equal([Emoji, Fullwidth], await ListAsync("u/"));
        Assert.Equal(new byte[] { 2 }, await Store.ReadAsync(Emoji));
    }

    [Fact]
    public async Task KeysWithUrlSignificantCharacters_RoundTrip()
    {
        string[] keys = ["with space/a+b%20c#d?e&f=g", "ünïcødé/ç", "semi;colon/@:!$'()*,"];
        for (var i = 0; i < keys.Length; i++)
            await Store.WriteAsync(keys[i], new byte[] { (byte)i });
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.True(await Store.ExistsAsync(keys[i]), keys[i]);
            Assert.Equal(new byte[] { (byte)i }, await Store.ReadAsync(keys[i]));
        }
        Assert.Equal(keys.Order(StringComparer.Ordinal), await ListAsync(""));
        Assert.Null(await Store.ReadAsync("with space/a+b c#d?e&f=g"));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("a/./x")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("a\\..\\x")]
    [InlineData("")]
    public async Task BadKeys_AreRejectedByEveryOperation(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteAsync(key, new byte[] { 1 }));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ReadAsync(key));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ExistsAsync(key));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.DeleteAsync(key));
        Assert.Empty(await ListAsync(""));
    }

    [Theory]
    [InlineData("../")]
    [InlineData("a//b")]
    [InlineData("/abs/")]
    public async Task BadListPrefixes_AreRejected(string prefix) =>
        await Assert.ThrowsAsync<ArgumentException>(() => ListAsync(prefix));

    [Fact]
    public async Task ReadContent_GivesTheSameBytesAsRead_AndNullForAbsentKeys()
    {
        var chunk = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();
        await Store.WriteAsync("jobs/j/raw.zarr/0/0.0.0", chunk);
        await Store.WriteAsync("empty", ReadOnlyMemory<byte>.Empty);
        for (var i = 0; i < 3; i++)
        {
            using var content = await Store.ReadContentAsync("jobs/j/raw.zarr/0/0.0.0");
            Assert.True(content!.Bytes.Span.SequenceEqual(chunk));
        }
        using (var empty = await Store.ReadContentAsync("empty"))
            Assert.Equal(0, empty!.Bytes.Length);
        Assert.Null(await Store.ReadContentAsync("never/written"));
        Assert.Null(await Store.ReadContentAsync("jobs/j/raw.zarr/0/0.0.0/below-a-blob"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ReadContentAsync("../x"));
    }

    [Fact]
    public async Task ConcurrentWritesToDistinctKeys_AllLand()
    {
        var keys = Enumerable.Range(0, 64).Select(i => $"jobs/j/labels.zarr/0/{i / 8}.{i % 8}.0").ToArray();
        await Task.WhenAll(keys.Select((key, i) => Store.WriteAsync(key, Enumerable.Repeat((byte)i, 1000 + i).ToArray())));
        for (var i = 0; i < keys.Length; i++)
            Assert.Equal(Enumerable.Repeat((byte)i, 1000 + i).ToArray(), await Store.ReadAsync(keys[i]));
        Assert.Equal(keys.Order(StringComparer.Ordinal), await ListAsync("jobs/j/labels.zarr/"));
        await Task.WhenAll(keys.Select(key => Store.DeleteAsync(key)));
        Assert.Empty(await ListAsync(""));
    }
}

public sealed class FileSystemBlobStoreBehaviour : BlobStoreBehaviour
{
    private TempDirectory? _root;

    protected override Task<IBlobStore> CreateStoreAsync()
    {
        _root = new TempDirectory();
        return Task.FromResult<IBlobStore>(new FileSystemBlobStore(_root.Path));
    }

    protected override Task DestroyStoreAsync()
    {
        _root?.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class AzureBlobStoreBehaviour : BlobStoreBehaviour
{
    private AzuriteContainer? _container;

    protected override async Task<IBlobStore> CreateStoreAsync()
    {
        _container = await AzuriteContainer.CreateAsync();
        return _container.Store;
    }

    protected override async Task DestroyStoreAsync()
    {
        if (_container is not null)
            await _container.DisposeAsync();
    }
}

/// <summary>What only the Azure backend has: its container, its factories, and Zarr through the emulator.</summary>
public sealed class AzureBlobStoreTests : IAsyncLifetime
{
    private AzuriteContainer _azurite = null!;
    private readonly TempDirectory _root = new();

    public async Task InitializeAsync() => _azurite = await AzuriteContainer.CreateAsync();

    public async Task DisposeAsync()
    {
        _root.Dispose();
        if (_azurite is not null)
            await _azurite.DisposeAsync();
    }

    [Fact]
    public async Task Container_IsCreatedByTheFirstWriteOnly_AndAgainIfDeletedUnderneath()
    {
        var store = _azurite.Store;
        Assert.Null(await store.ReadAsync("k"));
        Assert.False(await store.ExistsAsync("k"));
        await store.DeleteAsync("k");
        await foreach (var _ in store.ListAsync(""))
            Assert.Fail("a missing container lists nothing");
        Assert.False((await _azurite.Client.ExistsAsync()).Value);

        await store.WriteAsync("k", new byte[] { 1 });
        Assert.True((await _azurite.Client.ExistsAsync()).Value);

        await _azurite.Client.DeleteAsync();
        Assert.Null(await store.ReadAsync("k"));
        await store.WriteAsync("k", new byte[] { 2 });
        Assert.Equal(new byte[] { 2 }, await store.ReadAsync("k"));
    }

    [Fact]
    public async Task ZarrAndOmeZarr_RoundTripThroughAzurite_WithTheSameChunkBytesAsTheFileSystem()
    {
        var fileStore = new FileSystemBlobStore(_root.Path);
        var azureStore = _azurite.Store;
        var voxel = new VoxelSize(XNm: 5, YNm: 5, ZNm: 20);
        var level0 = Generators.Pattern<ushort>(19, 37, 41, seed: 3);
        var level1 = Downsample(level0);

        foreach (IBlobStore store in new IBlobStore[] { fileStore, azureStore })
        {
            var array = await OmeZarr.CreateImageAsync<ushort>(store, "jobs/j1/raw.zarr", "raw", [19, 37, 41], [8, 16, 16], voxel, levels: 2);
            await array.WriteRegionAsync(0, 0, 0, level0);
            var half = await OmeZarr.OpenLevelAsync<ushort>(store, "jobs/j1/raw.zarr", 1);
            await half.WriteRegionAsync(0, 0, 0, level1);
        }

        var fileKeys = await ListAll(fileStore, "jobs/j1/");
        var azureKeys = await ListAll(azureStore, "jobs/j1/");
        Assert.Equal(fileKeys, azureKeys);
        Assert.Contains("jobs/j1/raw.zarr/0/2.2.2", azureKeys); // 3x3x3 chunks at level 0
        Assert.Contains("jobs/j1/raw.zarr/.zattrs", azureKeys);
        foreach (var key in fileKeys)
        {
            var fromFile = await fileStore.ReadAsync(key);
            var fromAzure = await azureStore.ReadAsync(key);
            Assert.True(fromFile!.AsSpan().SequenceEqual(fromAzure), $"blob {key} differs");
        }

        var reopened = await OmeZarr.OpenLevelAsync<ushort>(azureStore, "jobs/j1/raw.zarr", 0);
        Assert.Equal(level0.Data, (await reopened.ReadRegionAsync(0, 19, 0, 37, 0, 41)).Data);
        var region = await reopened.ReadRegionAsync(5, 13, 10, 30, 14, 35);
        for (var z = 5; z < 13; z++)
            for (var y = 10; y < 30; y++)
                for (var x = 14; x < 35; x++)
                    Assert.Equal(level0[z, y, x], region[z - 5, y - 10, x - 14]);
        Assert.Equal(level1.Data, (await (await OmeZarr.OpenLevelAsync<ushort>(azureStore, "jobs/j1/raw.zarr", 1)).ReadRegionAsync(0, 10, 0, 19, 0, 21)).Data);
        Assert.Equal(2, await OmeZarr.ReadLevelCountAsync(azureStore, "jobs/j1/raw.zarr"));
        Assert.Equal(voxel, await OmeZarr.ReadVoxelSizeAsync(azureStore, "jobs/j1/raw.zarr"));

        // A redelivered stage rewrites the same chunk bytes.
        var before = await azureStore.ReadAsync("jobs/j1/raw.zarr/0/1.1.1");
        await reopened.WriteRegionAsync(0, 0, 0, level0);
        Assert.Equal(before, await azureStore.ReadAsync("jobs/j1/raw.zarr/0/1.1.1"));
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("ab")]
    [InlineData("under_score")]
    [InlineData("-lead")]
    [InlineData("double--hyphen")]
    public void Factories_RejectInvalidContainerNames(string container)
    {
        Assert.Throws<ArgumentException>(() => AzureBlobStore.FromConnectionString("UseDevelopmentStorage=true", container));
        Assert.Throws<ArgumentException>(() =>
            AzureBlobStore.FromServiceUri(new Uri("https://acct.blob.core.windows.net"), container, new DefaultAzureCredential()));
    }

    [Fact]
    public void FromServiceUri_AddressesTheContainerWithoutAnySecret()
    {
        var store = AzureBlobStore.FromServiceUri(new Uri("https://acct.blob.core.windows.net"), "ssbtomo", new DefaultAzureCredential());
        Assert.Equal(new Uri("https://acct.blob.core.windows.net/ssbtomo"), store.Container.Uri);
        Assert.Equal("ssbtomo", store.Container.Name);
        Assert.False(store.Container.CanGenerateSasUri);
    }

    private static Volume<ushort> Downsample(Volume<ushort> source)
    {
        var result = new Volume<ushort>((source.Depth + 1) / 2, (source.Height + 1) / 2, (source.Width + 1) / 2);
        for (var z = 0; z < result.Depth; z++)
            for (var y = 0; y < result.Height; y++)
                for (var x = 0; x < result.Width; x++)
                    result[z, y, x] = source[2 * z, 2 * y, 2 * x];
        return result;
    }

    private static async Task<List<string>> ListAll(IBlobStore store, string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in store.ListAsync(prefix))
            keys.Add(key);
        return keys;
    }
}
