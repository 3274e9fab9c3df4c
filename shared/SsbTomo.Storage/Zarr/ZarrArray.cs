using System.Runtime.InteropServices;
using SsbTomo.Imaging;

namespace SsbTomo.Storage;

/// <summary>
/// A 3D Zarr v2 array (z, y, x; C order) in a blob store; one chunk is one blob.
/// Encoding is deterministic: with one zstd implementation (the system libzstd, or the managed port where it is
/// missing) the same values always give the same chunk bytes, so a redelivered message rewrites identical blobs; chunks
/// from either implementation read back the same values. Chunks of a region are encoded and decoded in parallel (at most
/// <see cref="MaxConcurrency"/> at once, each holding at most three chunk-sized pooled buffers). Concurrent writers must touch
/// disjoint chunks: partially covered chunks are read-modify-written without locking.
/// </summary>
public sealed class ZarrArray<T> where T : unmanaged
{
    private readonly IBlobStore _store;
    private readonly ZarrArrayMetadata _metadata;
    private readonly T _fill;

    private ZarrArray(IBlobStore store, string path, ZarrArrayMetadata metadata)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Zarr chunks are encoded little-endian; this host is big-endian");
        _store = store;
        _metadata = metadata;
        Path = path;
        _fill = ConvertFill(metadata.FillValue);
        ChunkGrid = [.. Enumerable.Range(0, 3).Select(d => CeilDiv(metadata.Shape[d], metadata.Chunks[d]))];
    }

    public string Path { get; }

    /// <summary>Array size in voxels: [z, y, x].</summary>
    public IReadOnlyList<int> Shape => _metadata.Shape;

    /// <summary>Chunk size in voxels: [z, y, x].</summary>
    public IReadOnlyList<int> Chunks => _metadata.Chunks;

    /// <summary>Number of chunks along [z, y, x].</summary>
    public IReadOnlyList<int> ChunkGrid { get; }

    public ZarrCompressor Compressor => _metadata.Compressor;

    public ZarrArrayMetadata Metadata => _metadata;

    /// <summary>How many chunk blobs a region read or write fetches/stores at once.</summary>
    public int MaxConcurrency { get; set; } = 8;

    private int ChunkElements => _metadata.Chunks[0] * _metadata.Chunks[1] * _metadata.Chunks[2];

    /// <summary>
    /// Writes the array's .zarray (one whole blob, so a reader sees it complete or not at all). Creating the same array
    /// again writes the same bytes and leaves its chunks as they are.
    /// </summary>
    public static async Task<ZarrArray<T>> CreateAsync(
        IBlobStore store, string path, int[] shapeZyx, int[] chunksZyx,
        ZarrCompressor compressor = ZarrCompressor.Zstd, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var metadata = MetadataFor(shapeZyx, chunksZyx, compressor);
        await store.WriteAsync(BlobKey.Combine(path, ZarrArrayMetadata.FileName), metadata.ToJson(), ct).ConfigureAwait(false);
        return new ZarrArray<T>(store, path, metadata);
    }

    /// <summary>The metadata <see cref="CreateAsync"/> writes for this shape, chunking and compressor.</summary>
    internal static ZarrArrayMetadata MetadataFor(int[] shapeZyx, int[] chunksZyx, ZarrCompressor compressor)
    {
        ValidateDims(shapeZyx, nameof(shapeZyx), allowZero: true);
        ValidateDims(chunksZyx, nameof(chunksZyx), allowZero: false);
        var chunkBytes = (long)chunksZyx[0] * chunksZyx[1] * chunksZyx[2] * Marshal.SizeOf<T>();
        if (chunkBytes > Array.MaxLength)
            throw new ArgumentException($"chunk {string.Join('x', chunksZyx)} of {typeof(T).Name} is {chunkBytes} bytes, too large for one blob", nameof(chunksZyx));
        var level = compressor switch
        {
            ZarrCompressor.Zstd or ZarrCompressor.BloscZstd => ZarrCodec.ZstdLevel,
            ZarrCompressor.ZstdFast => ZarrCodec.ZstdFastLevel,
            ZarrCompressor.Zlib => ZarrCodec.ZlibLevel,
            _ => 0,
        };
        return new ZarrArrayMetadata([.. shapeZyx], [.. chunksZyx], ZarrDataType.Of<T>(), compressor, level, 0, ".");
    }

    public static async Task<ZarrArray<T>> OpenAsync(IBlobStore store, string path, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var json = await store.ReadAsync(BlobKey.Combine(path, ZarrArrayMetadata.FileName), ct).ConfigureAwait(false)
            ?? throw new InvalidDataException($"no Zarr array at '{path}' (no {ZarrArrayMetadata.FileName})");
        var metadata = ZarrArrayMetadata.Parse(json, path);
        if (metadata.Shape.Length != 3 || metadata.Chunks.Length != 3)
            throw new InvalidDataException($"Zarr array '{path}' has {metadata.Shape.Length} dimensions, expected 3 (z, y, x)");
        if (!ZarrDataType.Matches<T>(metadata.DataType))
            throw new InvalidDataException(
                $"Zarr array '{path}' holds dtype {metadata.DataType}, cannot open it as {typeof(T).Name} ({ZarrDataType.Of<T>()})");
        return new ZarrArray<T>(store, path, metadata);
    }

    public string ChunkKey(int cz, int cy, int cx)
    {
        var separator = _metadata.DimensionSeparator;
        return BlobKey.Combine(Path, $"{cz}{separator}{cy}{separator}{cx}");
    }

    /// <summary>The chunk's values inside the array bounds (edge chunks come back clipped); fill value if the chunk was never written.</summary>
    public async Task<Volume<T>> ReadChunkAsync(int cz, int cy, int cx, CancellationToken ct = default)
    {
        var box = ChunkBox(cz, cy, cx);
        var result = UninitializedVolume(box.Depth, box.Height, box.Width);
        var size = (box.Depth, box.Height, box.Width);
        await ReadChunkIntoAsync(cz, cy, cx, box, result.Data, size, (0, 0, 0), ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// The chunk's values inside the array bounds into <paramref name="into"/>, which has that clipped shape: a caller that
    /// reads many chunks one after another keeps one volume for them instead of a fresh one each.
    /// </summary>
    public async Task ReadChunkIntoAsync(int cz, int cy, int cx, Volume<T> into, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(into);
        var box = ChunkBox(cz, cy, cx);
        if (into.Depth != box.Depth || into.Height != box.Height || into.Width != box.Width)
            throw new ArgumentException($"chunk ({cz},{cy},{cx}) is {box.Depth}x{box.Height}x{box.Width} inside the array, the volume {into.Depth}x{into.Height}x{into.Width}",
                nameof(into));
        await ReadChunkIntoAsync(cz, cy, cx, box, into.Data, (box.Depth, box.Height, box.Width), (0, 0, 0), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes one chunk. <paramref name="data"/> is either the chunk's extent clipped to the array or the full chunk shape;
    /// the part of an edge chunk outside the array is always stored as the fill value.
    /// </summary>
    public async Task WriteChunkAsync(int cz, int cy, int cx, Volume<T> data, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var box = ChunkBox(cz, cy, cx);
        var chunks = _metadata.Chunks;
        var clipped = data.Depth == box.Depth && data.Height == box.Height && data.Width == box.Width;
        var full = data.Depth == chunks[0] && data.Height == chunks[1] && data.Width == chunks[2];
        if (!clipped && !full)
            throw new ArgumentException(
                $"chunk ({cz},{cy},{cx}) needs {box.Depth}x{box.Height}x{box.Width} (or the full chunk {string.Join('x', chunks)}) values, got {data.Depth}x{data.Height}x{data.Width}",
                nameof(data));
        var dataBox = new Box(box.Z, box.Y, box.X, data.Depth, data.Height, data.Width);
        await WriteChunkFromAsync(cz, cy, cx, box, data.Data, dataBox, box, ct).ConfigureAwait(false);
    }

    /// <summary>Reads the half-open region [z0,z1) x [y0,y1) x [x0,x1); never-written chunks read as the fill value.</summary>
    public async Task<Volume<T>> ReadRegionAsync(int z0, int z1, int y0, int y1, int x0, int x1, CancellationToken ct = default)
    {
        var region = new Box(z0, y0, x0, z1 - z0, y1 - y0, x1 - x0);
        ValidateRegion(region);
        var result = UninitializedVolume(region.Depth, region.Height, region.Width);
        if (result.Length == 0)
            return result;
        var resultDims = (result.Depth, result.Height, result.Width);
        await Parallel.ForEachAsync(ChunksOverlapping(region), Options(ct), async (chunk, token) =>
        {
            var box = ChunkBox(chunk.Z, chunk.Y, chunk.X);
            var overlap = box.Intersect(region);
            var target = (overlap.Z - region.Z, overlap.Y - region.Y, overlap.X - region.X);
            await ReadChunkIntoAsync(chunk.Z, chunk.Y, chunk.X, overlap, result.Data, resultDims, target, token).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Writes <paramref name="data"/> with its first voxel at (z0, y0, x0). Chunks the data covers completely are
    /// written directly; chunks it covers partly are read, patched and rewritten.
    /// </summary>
    public async Task WriteRegionAsync(int z0, int y0, int x0, Volume<T> data, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        var region = new Box(z0, y0, x0, data.Depth, data.Height, data.Width);
        ValidateRegion(region);
        if (data.Length == 0)
            return;
        await Parallel.ForEachAsync(ChunksOverlapping(region), Options(ct), async (chunk, token) =>
        {
            var box = ChunkBox(chunk.Z, chunk.Y, chunk.X);
            await WriteChunkFromAsync(chunk.Z, chunk.Y, chunk.X, box, data.Data, region, box.Intersect(region), token).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Every value of a read result comes from exactly one chunk (decoded or filled), so zeroing it first would only touch
    /// the memory twice.
    /// </summary>
    private static Volume<T> UninitializedVolume(int depth, int height, int width) =>
        new(depth, height, width, LargeArrays.Uninitialized<T>(checked((long)depth * height * width)));

    private (int, int, int) ChunkDims => (_metadata.Chunks[0], _metadata.Chunks[1], _metadata.Chunks[2]);

    private ParallelOptions Options(CancellationToken ct) =>
        new() { MaxDegreeOfParallelism = Math.Max(1, MaxConcurrency), CancellationToken = ct };

    /// <summary>
    /// Copies the part <paramref name="overlap"/> (array coordinates) of chunk (cz,cy,cx) into <paramref name="target"/> at
    /// <paramref name="targetOrigin"/>. When that part is the whole chunk and lies contiguously in the target, the chunk is
    /// decoded straight into it; otherwise through a pooled chunk buffer.
    /// </summary>
    private async Task ReadChunkIntoAsync(int cz, int cy, int cx, Box overlap, T[] target, (int D, int H, int W) targetDims,
        (int Z, int Y, int X) targetOrigin, CancellationToken ct)
    {
        var key = ChunkKey(cz, cy, cx);
        using var encoded = await _store.ReadContentAsync(key, ct).ConfigureAwait(false);
        var size = (overlap.Depth, overlap.Height, overlap.Width);
        if (encoded is null)
        {
            FillBox(target, targetDims, targetOrigin, size, _fill);
            return;
        }
        if (IsWholeChunk(overlap) && ContiguousStart(targetDims, targetOrigin, size) is { } start)
        {
            Decode(key, encoded, target.AsSpan(start, ChunkElements));
            return;
        }
        var buffer = LargeArrayPool<T>.Shared.Rent(ChunkElements);
        try
        {
            Decode(key, encoded, buffer.AsSpan(0, ChunkElements));
            var box = ChunkBox(cz, cy, cx);
            CopyBox(buffer, ChunkDims, (overlap.Z - box.Z, overlap.Y - box.Y, overlap.X - box.X), target, targetDims, targetOrigin, size);
        }
        finally
        {
            LargeArrayPool<T>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Stores the part <paramref name="overlap"/> (array coordinates) of chunk (cz,cy,cx) from <paramref name="source"/>, whose
    /// first value sits at <paramref name="sourceBox"/>'s origin. A whole chunk that lies contiguously in the source is encoded
    /// straight from it; otherwise a pooled chunk buffer is filled (or, for a partly covered chunk, read back), patched and encoded.
    /// </summary>
    private async Task WriteChunkFromAsync(int cz, int cy, int cx, Box box, T[] source, Box sourceBox, Box overlap, CancellationToken ct)
    {
        var sourceDims = (sourceBox.Depth, sourceBox.Height, sourceBox.Width);
        var sourceOrigin = (overlap.Z - sourceBox.Z, overlap.Y - sourceBox.Y, overlap.X - sourceBox.X);
        var size = (overlap.Depth, overlap.Height, overlap.Width);
        if (IsWholeChunk(overlap) && ContiguousStart(sourceDims, sourceOrigin, size) is { } start)
        {
            await EncodeAndStoreAsync(cz, cy, cx, source.AsSpan(start, ChunkElements), ct).ConfigureAwait(false);
            return;
        }
        var buffer = LargeArrayPool<T>.Shared.Rent(ChunkElements);
        try
        {
            using (var stored = overlap == box ? null : await _store.ReadContentAsync(ChunkKey(cz, cy, cx), ct).ConfigureAwait(false))
            {
                if (stored is not null)
                    Decode(ChunkKey(cz, cy, cx), stored, buffer.AsSpan(0, ChunkElements));
                else if (overlap != box || !IsWholeChunk(box))
                    FillChunk(buffer.AsSpan(0, ChunkElements));
            }
            CopyBox(source, sourceDims, sourceOrigin, buffer, ChunkDims, (overlap.Z - box.Z, overlap.Y - box.Y, overlap.X - box.X), size);
            await EncodeAndStoreAsync(cz, cy, cx, buffer.AsSpan(0, ChunkElements), ct).ConfigureAwait(false);
        }
        finally
        {
            LargeArrayPool<T>.Shared.Return(buffer);
        }
    }

    // Synchronous encode, then the store write; split so the span does not live across an await.
    private Task EncodeAndStoreAsync(int cz, int cy, int cx, ReadOnlySpan<T> chunk, CancellationToken ct) =>
        StoreAsync(ChunkKey(cz, cy, cx), ZarrCodec.Encode(_metadata.Compressor, MemoryMarshal.AsBytes(chunk), _metadata.CompressionLevel, Marshal.SizeOf<T>()), ct);

    private async Task StoreAsync(string key, EncodedChunk encoded, CancellationToken ct)
    {
        using (encoded)
            await _store.WriteAsync(key, encoded.Bytes, ct).ConfigureAwait(false);
    }

    private void Decode(string key, BlobContent encoded, Span<T> chunk)
    {
        try
        {
            ZarrCodec.Decode(_metadata.Compressor, encoded.Bytes, MemoryMarshal.AsBytes(chunk));
        }
        catch (Exception e) when (e is InvalidDataException or ZstdSharp.ZstdException or IOException or ArgumentException)
        {
            throw new InvalidDataException($"Zarr chunk '{key}' is corrupt: {e.Message}", e);
        }
    }

    /// <summary>True if <paramref name="part"/> is a chunk's full, unclipped extent.</summary>
    private bool IsWholeChunk(Box part) =>
        part.Depth == _metadata.Chunks[0] && part.Height == _metadata.Chunks[1] && part.Width == _metadata.Chunks[2];

    /// <summary>Index of the first value if the box <paramref name="size"/> at <paramref name="origin"/> is one contiguous run in C order.</summary>
    private static int? ContiguousStart((int D, int H, int W) dims, (int Z, int Y, int X) origin, (int D, int H, int W) size)
    {
        var contiguous = (size.W == dims.W && (size.H == dims.H || size.D == 1)) || (size.D == 1 && size.H == 1);
        return contiguous ? (int)(((long)origin.Z * dims.H + origin.Y) * dims.W + origin.X) : null;
    }

    /// <summary>A chunk that is not fully overwritten starts as the fill value (outside the array it stays so).</summary>
    private void FillChunk(Span<T> chunk)
    {
        if (_fill.Equals(default(T)))
            chunk.Clear();
        else
            chunk.Fill(_fill);
    }

    private Box ChunkBox(int cz, int cy, int cx)
    {
        if ((uint)cz >= (uint)ChunkGrid[0] || (uint)cy >= (uint)ChunkGrid[1] || (uint)cx >= (uint)ChunkGrid[2])
            throw new ArgumentOutOfRangeException(nameof(cz), $"chunk ({cz},{cy},{cx}) is outside the chunk grid {string.Join('x', ChunkGrid)}");
        var c = _metadata.Chunks;
        var s = _metadata.Shape;
        int z = cz * c[0], y = cy * c[1], x = cx * c[2];
        return new Box(z, y, x, Math.Min(c[0], s[0] - z), Math.Min(c[1], s[1] - y), Math.Min(c[2], s[2] - x));
    }

    private IEnumerable<(int Z, int Y, int X)> ChunksOverlapping(Box region)
    {
        var c = _metadata.Chunks;
        for (var cz = region.Z / c[0]; cz <= (region.Z + region.Depth - 1) / c[0]; cz++)
            for (var cy = region.Y / c[1]; cy <= (region.Y + region.Height - 1) / c[1]; cy++)
                for (var cx = region.X / c[2]; cx <= (region.X + region.Width - 1) / c[2]; cx++)
                    yield return (cz, cy, cx);
    }

    private void ValidateRegion(Box region)
    {
        var s = _metadata.Shape;
        if (region.Z < 0 || region.Y < 0 || region.X < 0 || region.Depth < 0 || region.Height < 0 || region.Width < 0
            || region.Z + region.Depth > s[0] || region.Y + region.Height > s[1] || region.X + region.Width > s[2])
            throw new ArgumentOutOfRangeException(nameof(region),
                $"region z[{region.Z},{region.Z + region.Depth}) y[{region.Y},{region.Y + region.Height}) x[{region.X},{region.X + region.Width}) is not inside the array shape {string.Join('x', s)}");
    }

    internal static void CopyBox(T[] source, (int D, int H, int W) sourceDims, (int Z, int Y, int X) sourceOrigin,
        T[] target, (int D, int H, int W) targetDims, (int Z, int Y, int X) targetOrigin, (int D, int H, int W) size)
    {
        for (var z = 0; z < size.D; z++)
            for (var y = 0; y < size.H; y++)
            {
                var from = ((long)(sourceOrigin.Z + z) * sourceDims.H + sourceOrigin.Y + y) * sourceDims.W + sourceOrigin.X;
                var to = ((long)(targetOrigin.Z + z) * targetDims.H + targetOrigin.Y + y) * targetDims.W + targetOrigin.X;
                source.AsSpan((int)from, size.W).CopyTo(target.AsSpan((int)to, size.W));
            }
    }

    private static void FillBox(T[] target, (int D, int H, int W) targetDims, (int Z, int Y, int X) origin, (int D, int H, int W) size, T value)
    {
        for (var z = 0; z < size.D; z++)
            for (var y = 0; y < size.H; y++)
            {
                var to = ((long)(origin.Z + z) * targetDims.H + origin.Y + y) * targetDims.W + origin.X;
                target.AsSpan((int)to, size.W).Fill(value);
            }
    }

    private static T ConvertFill(double fill) => (T)Convert.ChangeType(fill, typeof(T), System.Globalization.CultureInfo.InvariantCulture);

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;

    private static void ValidateDims(int[] dims, string name, bool allowZero)
    {
        ArgumentNullException.ThrowIfNull(dims, name);
        if (dims.Length != 3 || dims.Any(d => d < (allowZero ? 0 : 1)))
            throw new ArgumentException($"{name} must be 3 {(allowZero ? "non-negative" : "positive")} sizes (z, y, x), got [{string.Join(',', dims)}]", name);
    }

    private readonly record struct Box(int Z, int Y, int X, int Depth, int Height, int Width)
    {
        public Box Intersect(Box other)
        {
            int z = Math.Max(Z, other.Z), y = Math.Max(Y, other.Y), x = Math.Max(X, other.X);
            return new Box(z, y, x,
                Math.Min(Z + Depth, other.Z + other.Depth) - z,
                Math.Min(Y + Height, other.Y + other.Height) - y,
                Math.Min(X + Width, other.X + other.Width) - x);
        }
    }
}
