using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

public sealed class FileSystemBlobStoreTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public FileSystemBlobStoreTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task WriteReadExistsDelete_RoundTrip()
    {
        await _store.WriteAsync("a/b/c.bin", new byte[] { 1, 2, 3 });
        Assert.True(await _store.ExistsAsync("a/b/c.bin"));
        Assert.Equal(new byte[] { 1, 2, 3 }, await _store.ReadAsync("a/b/c.bin"));
        await _store.DeleteAsync("a/b/c.bin");
        Assert.False(await _store.ExistsAsync("a/b/c.bin"));
        Assert.Null(await _store.ReadAsync("a/b/c.bin"));
        await _store.DeleteAsync("never/written");
    }

    [Fact]
    public async Task Overwrite_ReplacesContentAndLeavesNoTempFiles()
    {
        await _store.WriteAsync("k", new byte[] { 1 });
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => _store.WriteAsync("k", new byte[] { 9, 9 })));
        Assert.Equal(new byte[] { 9, 9 }, await _store.ReadAsync("k"));
        Assert.Single(Directory.GetFiles(_root.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task List_ReturnsKeysWithPrefixInOrdinalOrder()
    {
        foreach (var key in new[] { "z/2", "z/10", "z/1/x", "zz/3", "y/1" })
            await _store.WriteAsync(key, new byte[] { 0 });
        var listed = new List<string>();
        await foreach (var key in _store.ListAsync("z/"))
            listed.Add(key);
        Assert.Equal(["z/1/x", "z/10", "z/2"], listed);

        var all = new List<string>();
        await foreach (var key in _store.ListAsync("z"))
            all.Add(key);
        Assert.Equal(["z/1/x", "z/10", "z/2", "zz/3"], all);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("a/./x")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("a\\..\\x")]
    [InlineData("")]
    public async Task KeysEscapingTheRoot_AreRejected(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.WriteAsync(key, new byte[] { 1 }));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.ReadAsync(key));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(_root.Path)!, "x")));
    }
}
