using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

/// <summary>
/// The IBlobStore contract, run unchanged against every backend so they behave identically.
/// Each test gets a fresh, empty store.
/// </summary>
public abstract class BlobStoreContractTests : IAsyncLifetime
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

    [Fact]
    public async Task Overwrite_WithShorterContent_LeavesNothingOfTheLongerBlob()
    {
        var longer = Enumerable.Range(0, 100_000).Select(i => (byte)(i % 251)).ToArray();
        await Store.WriteAsync("k", longer);
        await Store.WriteAsync("k", new byte[] { 7, 8 });
        Assert.Equal(new byte[] { 7, 8 }, await Store.ReadAsync("k"));
        await Store.WriteAsync("k", ReadOnlyMemory<byte>.Empty);
        Assert.Equal(Array.Empty<byte>(), await Store.ReadAsync("k"));
        Assert.True(await Store.ExistsAsync("k"));
    }

    [Fact]
    public async Task LargeBlob_RoundTripsByteForByte()
    {
        var large = new byte[24 << 20];
        new Random(11).NextBytes(large);
        await Store.WriteAsync("jobs/j/big.bin", large);
        var read = await Store.ReadAsync("jobs/j/big.bin");
        Assert.True(large.AsSpan().SequenceEqual(read));
        using var content = await Store.ReadContentAsync("jobs/j/big.bin");
        Assert.True(content!.Bytes.Span.SequenceEqual(large));
        Assert.Equal(["jobs/j/big.bin"], await ListAsync("jobs/"));
    }

    [Fact]
    public async Task KeysBelowABlob_AreAbsent()
    {
        await Store.WriteAsync("a/b", new byte[] { 1 });
        Assert.Null(await Store.ReadAsync("a/b/c"));
        Assert.False(await Store.ExistsAsync("a/b/c"));
        await Store.DeleteAsync("a/b/c");
        Assert.Equal(["a/b"], await ListAsync("a/b"));
        Assert.Empty(await ListAsync("a/b/"));
    }

    [Fact]
    public async Task Write_CopiesTheCallersBuffer_WhichMayBeReusedAfterwards()
    {
        var buffer = Enumerable.Repeat((byte)3, 50_000).ToArray();
        await Store.WriteAsync("pooled", buffer);
        buffer.AsSpan().Fill(9);
        Assert.Equal(Enumerable.Repeat((byte)3, 50_000).ToArray(), await Store.ReadAsync("pooled"));
    }

    [Fact]
    public async Task CancelledWrite_Throws_AndLeavesTheBlobAsItWas()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.WriteAsync("jobs/j/never", new byte[] { 1 }, cancelled.Token));
        Assert.False(await Store.ExistsAsync("jobs/j/never"));
        Assert.Empty(await ListAsync(""));

        await Store.WriteAsync("jobs/j/kept", new byte[] { 1, 2 });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.WriteAsync("jobs/j/kept", new byte[] { 3 }, cancelled.Token));
        Assert.Equal(new byte[] { 1, 2 }, await Store.ReadAsync("jobs/j/kept"));
        Assert.Equal(["jobs/j/kept"], await ListAsync(""));
    }

    /// <summary>A chunk rewritten by a redelivered message while another worker reads it: the reader gets one whole write.</summary>
    [Fact]
    public async Task ReadersRacingOverwrites_SeeOneWholeVersionOrTheOther()
    {
        var first = Enumerable.Repeat((byte)0x11, 1 << 20).ToArray();
        var second = Enumerable.Repeat((byte)0x22, 600_000).ToArray();
        await Store.WriteAsync("jobs/j/raw.zarr/0/0.0.0", first);
        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= 100; i++)
                await Store.WriteAsync("jobs/j/raw.zarr/0/0.0.0", i % 2 == 0 ? first : second);
        });
        var reads = 0;
        while (!writer.IsCompleted || reads == 0)
        {
            using (var content = await Store.ReadContentAsync("jobs/j/raw.zarr/0/0.0.0"))
                AssertIsOneOf(content!.Bytes, first, second, reads);
            reads++;
        }
        await writer;
        Assert.Equal(["jobs/j/raw.zarr/0/0.0.0"], await ListAsync(""));
    }

    private static void AssertIsOneOf(ReadOnlyMemory<byte> read, byte[] first, byte[] second, int readIndex) =>
        Assert.True(read.Span.SequenceEqual(first) || read.Span.SequenceEqual(second),
            $"read {readIndex} got {read.Length} bytes that are neither whole write");
}

public sealed class FileSystemBlobStoreContractTests : BlobStoreContractTests
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

public sealed class AzureBlobStoreContractTests : BlobStoreContractTests
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
