using SsbTomo.Imaging;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace SsbTomo.Storage;

/// <summary>
/// Blobs as files under a root directory. Writes go to a temporary file in the target directory and are
/// renamed into place, so readers never see half a blob and a redelivered write of the same bytes is harmless.
/// </summary>
public sealed class FileSystemBlobStore : IBlobStore
{
    private const string TempSuffix = ".partial";

    public FileSystemBlobStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        RootDirectory = Path.GetFullPath(rootDirectory);
        Directory.CreateDirectory(RootDirectory);
    }

    public string RootDirectory { get; }

    public string PathOf(string key)
    {
        BlobKey.Validate(key);
        var fullPath = Path.GetFullPath(Path.Combine(RootDirectory, key.Replace('/', Path.DirectorySeparatorChar)));
        var rootWithSeparator = Path.EndsInDirectorySeparator(RootDirectory) ? RootDirectory : RootDirectory + Path.DirectorySeparatorChar;
        if (!fullPath.StartsWith(rootWithSeparator, StringComparison.Ordinal))
            throw new ArgumentException($"blob key '{key}' escapes the store root", nameof(key));
        return fullPath;
    }

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        var target = PathOf(key);
        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        // Unique temp name: two concurrent writers of the same key must not share a temp file.
        var temp = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await stream.WriteAsync(content, ct).ConfigureAwait(false);
                await stream.FlushAsync(ct).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public async Task<byte[]?> ReadAsync(string key, CancellationToken ct = default)
    {
        var path = PathOf(key);
        try
        {
            return await File.ReadAllBytesAsync(path, ct).ConfigureAwait(false);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    /// <summary>Reads into a pooled buffer: a fresh array per chunk costs more (zeroing, page faults, GC) than reading the file.</summary>
    public async Task<BlobContent?> ReadContentAsync(string key, CancellationToken ct = default)
    {
        var path = PathOf(key);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        using (handle)
        {
            // Writers rename a complete new file into place, so the file behind this handle never changes length.
            var length = RandomAccess.GetLength(handle);
            if (length > Array.MaxLength)
                throw new IOException($"blob '{key}' is {length} bytes, too large to read into memory");
            var buffer = LargeArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                var total = 0;
                int read;
                while (total < length && (read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(total, (int)length - total), total, ct).ConfigureAwait(false)) > 0)
                    total += read;
                return BlobContent.Rented(buffer, total);
            }
            catch
            {
                LargeArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }
    }

    public Task<bool> ExistsAsync(string key, CancellationToken ct = default) => Task.FromResult(File.Exists(PathOf(key)));

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        // Only walk the deepest directory the prefix names completely; the rest is filtered by string match.
        var lastSlash = prefix.LastIndexOf('/');
        var directoryPart = lastSlash < 0 ? "" : prefix[..lastSlash];
        var startDirectory = directoryPart.Length == 0 ? RootDirectory : PathOf(directoryPart);
        if (!Directory.Exists(startDirectory))
            yield break;

        var keys = Directory.EnumerateFiles(startDirectory, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(TempSuffix, StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(RootDirectory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            ct.ThrowIfCancellationRequested();
            yield return key;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task DeleteAsync(string key, CancellationToken ct = default)
    {
        var path = PathOf(key);
        if (File.Exists(path))
            File.Delete(path);
        return Task.CompletedTask;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
