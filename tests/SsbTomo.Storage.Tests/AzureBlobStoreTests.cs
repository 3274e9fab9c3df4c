using Azure.Identity;
using SsbTomo.Imaging;
using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

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
