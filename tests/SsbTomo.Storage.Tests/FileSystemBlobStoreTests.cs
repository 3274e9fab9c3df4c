using SsbTomo.TestSupport;

namespace SsbTomo.Storage.Tests;

/// <summary>What only the filesystem backend has; the shared behaviour is in <see cref="BlobStoreContractTests"/>.</summary>
public sealed class FileSystemBlobStoreTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileSystemBlobStore _store;

    public FileSystemBlobStoreTests() => _store = new FileSystemBlobStore(_root.Path);

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Overwrite_ReplacesContentAndLeavesNoTempFiles()
    {
        await _store.WriteAsync("k", new byte[] { 1 });
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => _store.WriteAsync("k", new byte[] { 9, 9 })));
        Assert.Equal(new byte[] { 9, 9 }, await _store.ReadAsync("k"));
        Assert.Single(Directory.GetFiles(_root.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task TheTempFileOfAWriterKilledBeforeItsRename_IsNeitherListedNorRead()
    {
        await _store.WriteAsync("jobs/j/0.0.0", new byte[] { 1, 2 });
        var stray = Path.Combine(_root.Path, "jobs", "j", $".0.0.0.{Guid.NewGuid():N}.partial");
        await File.WriteAllBytesAsync(stray, new byte[] { 9 });

        var listed = new List<string>();
        await foreach (var key in _store.ListAsync("jobs/"))
            listed.Add(key);
        Assert.Equal(["jobs/j/0.0.0"], listed);
        Assert.Equal(new byte[] { 1, 2 }, await _store.ReadAsync("jobs/j/0.0.0"));
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
