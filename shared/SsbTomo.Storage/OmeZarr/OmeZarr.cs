using System.Text.Json;
using System.Text.Json.Nodes;
using SsbTomo.Imaging;

namespace SsbTomo.Storage;

/// <summary>One label value's display colour (and optional name) for NGFF "image-label" metadata.</summary>
public sealed record LabelColor(int Value, byte R, byte G, byte B, byte A = 255, string? Name = null);

/// <summary>
/// OME-Zarr (NGFF 0.4 on Zarr v2) image groups: a .zgroup, a .zattrs with "multiscales", and one array per
/// resolution level named "0", "1", ... where level l has 2^l times the voxel size in each axis; label images under an
/// image's "labels" group ("image-label" metadata).
/// </summary>
/// <remarks>Specification: https://ngff.openmicroscopy.org/0.4/ (Moore et al., Nat. Methods 18, 1496, 2021).</remarks>
public static class OmeZarr
{
    public const string NgffVersion = "0.4";
    public const string GroupFileName = ".zgroup";
    public const string AttributesFileName = ".zattrs";
    private static readonly string[] AxisNames = ["z", "y", "x"];

    /// <summary>
    /// Writes the group's metadata: .zgroup, every level's .zarray, and the .zattrs last. The .zattrs is what says
    /// "this image exists" (readers find the levels through it, <see cref="EnsureImageAsync{T}"/> tests for it), so a
    /// first creation interrupted at any point leaves no .zattrs and no reader takes the image for a complete one.
    /// Attributes already in the group that this call does not set (merged in by a stage, such as the source slice
    /// names) are kept, so creating the same image again, as a retried stage does, rewrites every blob with the bytes
    /// it already has and a reader never sees an attribute vanish and come back.
    /// </summary>
    public static async Task<ZarrArray<T>> CreateImageAsync<T>(
        IBlobStore store, string groupPath, string name, int[] shapeZyx, int[] chunksZyx, VoxelSize voxelSize,
        int levels = 1, ZarrCompressor compressor = ZarrCompressor.Zstd,
        IReadOnlyDictionary<string, JsonNode?>? extraAttributes = null, CancellationToken ct = default)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(store);
        var plan = ImagePlan.Of<T>(groupPath, name, shapeZyx, chunksZyx, voxelSize, levels, compressor, extraAttributes);
        var existing = await ReadAttributesOrNullAsync(store, groupPath, ct).ConfigureAwait(false);
        return await WriteImageAsync<T>(store, plan, existing ?? [], ct).ConfigureAwait(false);
    }

    private static async Task<ZarrArray<T>> WriteImageAsync<T>(IBlobStore store, ImagePlan plan, JsonObject attributesToKeep, CancellationToken ct)
        where T : unmanaged
    {
        await store.WriteAsync(BlobKey.Combine(plan.GroupPath, GroupFileName), GroupJson(), ct).ConfigureAwait(false);
        ZarrArray<T>? fullResolution = null;
        for (var level = 0; level < plan.Levels.Length; level++)
        {
            var (shape, chunks) = plan.Levels[level];
            var array = await ZarrArray<T>.CreateAsync(store, BlobKey.Combine(plan.GroupPath, level.ToString()), shape, chunks, plan.Compressor, ct)
                .ConfigureAwait(false);
            fullResolution ??= array;
        }
        var attributes = attributesToKeep;
        foreach (var (key, value) in plan.Attributes)
            attributes[key] = value?.DeepClone();
        await WriteAttributesAsync(store, plan.GroupPath, attributes, ct).ConfigureAwait(false);
        return fullResolution!;
    }

    /// <summary>Shape of resolution level <paramref name="level"/>: ceil(shape / 2^level).</summary>
    public static int[] LevelShape(int[] shapeZyx, int level) =>
        [.. shapeZyx.Select(s => (int)(((long)s + (1L << level) - 1) >> level))];

    public static Task<ZarrArray<T>> OpenLevelAsync<T>(IBlobStore store, string groupPath, int level, CancellationToken ct = default)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        return OpenDatasetAsync<T>(store, groupPath, level, ct);
    }

    /// <summary>Number of resolution levels listed in the group's multiscales metadata.</summary>
    public static async Task<int> ReadLevelCountAsync(IBlobStore store, string groupPath, CancellationToken ct = default)
    {
        var multiscale = await ReadMultiscaleAsync(store, groupPath, ct).ConfigureAwait(false);
        return multiscale["datasets"]!.AsArray().Count;
    }

    /// <summary>Voxel size of level 0, from its "scale" coordinate transformation (axes z, y, x in nanometres).</summary>
    public static async Task<VoxelSize> ReadVoxelSizeAsync(IBlobStore store, string groupPath, CancellationToken ct = default)
    {
        var multiscale = await ReadMultiscaleAsync(store, groupPath, ct).ConfigureAwait(false);
        try
        {
            var axes = multiscale["axes"]!.AsArray().Select(a => a!["name"]!.GetValue<string>()).ToArray();
            if (!axes.SequenceEqual(AxisNames))
                throw new InvalidDataException($"OME-Zarr group '{groupPath}' has axes [{string.Join(',', axes)}], expected [z,y,x]");
            var units = multiscale["axes"]!.AsArray().Select(a => a!["unit"]?.GetValue<string>()).ToArray();
            var toNm = units.Select(UnitToNanometres).ToArray();
            var scale = multiscale["datasets"]![0]!["coordinateTransformations"]!.AsArray()
                .First(t => t!["type"]!.GetValue<string>() == "scale")!["scale"]!.AsArray()
                .Select(v => v!.GetValue<double>()).ToArray();
            // Rounded to a millionth of a nanometre: a size written in micrometres reads back as the nanometres it was.
            return new VoxelSize(XNm: Math.Round(scale[2] * toNm[2], 6), YNm: Math.Round(scale[1] * toNm[1], 6), ZNm: Math.Round(scale[0] * toNm[0], 6));
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            throw new InvalidDataException($"OME-Zarr group '{groupPath}' has incomplete multiscales metadata: {e.Message}", e);
        }
    }

    public static async Task<JsonObject> ReadAttributesAsync(IBlobStore store, string groupPath, CancellationToken ct = default)
    {
        var bytes = await store.ReadAsync(BlobKey.Combine(groupPath, AttributesFileName), ct).ConfigureAwait(false);
        if (bytes is null)
            return [];
        return JsonNode.Parse(bytes) as JsonObject
            ?? throw new InvalidDataException($"'{groupPath}/{AttributesFileName}' is not a JSON object");
    }

    /// <summary>Merges top-level attributes into the group's .zattrs (a key given here replaces the stored one).</summary>
    public static async Task MergeAttributesAsync(IBlobStore store, string groupPath, IReadOnlyDictionary<string, JsonNode?> attributes,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        var current = await ReadAttributesAsync(store, groupPath, ct).ConfigureAwait(false);
        foreach (var (key, value) in attributes)
            current[key] = value?.DeepClone();
        await WriteAttributesAsync(store, groupPath, current, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes the image a pyramid of <paramref name="levels"/> levels: level l is computed from level l-1 by
    /// <paramref name="downsample"/> (2x2x2 blocks to one voxel), one output chunk at a time, at most
    /// <paramref name="maxParallel"/> output chunks at once, and the "multiscales" metadata is rewritten to list the levels
    /// only once they are all written, so a reader never finds a listed level unfilled. Running it again writes the same bytes.
    /// <para>
    /// An output chunk's source region spans up to 2x2x2 source chunks. Where the source chunks are even along every axis
    /// they cut (the pipeline's are), no 2x2x2 block straddles two of them, so each source chunk is read and downsampled on
    /// its own into its octant of the output chunk: one source chunk in memory beside the output instead of the region and
    /// its eight decoded chunks (<see cref="PyramidChunksPerOutputChunk{T}"/>), and the same voxels.
    /// </para>
    /// </summary>
    /// <param name="downsample">Half-size volume of a source region that starts at even coordinates (size rounded up).</param>
    public static async Task WritePyramidAsync<T>(IBlobStore store, string groupPath, int levels, Func<Volume<T>, Volume<T>> downsample,
        int maxParallel = 2, CancellationToken ct = default)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(downsample);
        ArgumentOutOfRangeException.ThrowIfLessThan(levels, 1);
        var multiscale = await ReadMultiscaleAsync(store, groupPath, ct).ConfigureAwait(false);
        var name = multiscale["name"]?.GetValue<string>() ?? Path.GetFileNameWithoutExtension(groupPath);
        var voxelSize = await ReadVoxelSizeAsync(store, groupPath, ct).ConfigureAwait(false);
        var source = await OpenLevelAsync<T>(store, groupPath, 0, ct).ConfigureAwait(false);
        int[] shape0 = [.. source.Shape];
        int[] chunks0 = [.. source.Chunks];
        for (var level = 1; level < levels; level++)
        {
            var shape = LevelShape(shape0, level);
            int[] chunks = [.. chunks0.Select((c, d) => Math.Max(1, Math.Min(c, shape[d])))];
            var target = await ZarrArray<T>.CreateAsync(store, BlobKey.Combine(groupPath, level.ToString()), shape, chunks, source.Compressor, ct)
                .ConfigureAwait(false);
            var grid = target.ChunkGrid;
            var chunkIndices = Enumerable.Range(0, grid[0]).SelectMany(cz => Enumerable.Range(0, grid[1])
                .SelectMany(cy => Enumerable.Range(0, grid[2]).Select(cx => (cz, cy, cx))));
            var from = source;
            var byOctant = DownsamplesByOctant(from);
            await Parallel.ForEachAsync(chunkIndices, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxParallel), CancellationToken = ct },
                async (chunk, token) =>
                {
                    var (z0, y0, x0) = (chunk.cz * chunks[0], chunk.cy * chunks[1], chunk.cx * chunks[2]);
                    var (rz1, ry1, rx1) = (Math.Min(from.Shape[0], 2 * (z0 + chunks[0])), Math.Min(from.Shape[1], 2 * (y0 + chunks[1])),
                        Math.Min(from.Shape[2], 2 * (x0 + chunks[2])));
                    var output = byOctant
                        ? await DownsampleByOctantAsync(from, (2 * z0, rz1, 2 * y0, ry1, 2 * x0, rx1), downsample, token).ConfigureAwait(false)
                        : downsample(await from.ReadRegionAsync(2 * z0, rz1, 2 * y0, ry1, 2 * x0, rx1, token).ConfigureAwait(false));
                    await target.WriteRegionAsync(z0, y0, x0, output, token).ConfigureAwait(false);
                }).ConfigureAwait(false);
            source = target;
        }
        var attributes = await ReadAttributesAsync(store, groupPath, ct).ConfigureAwait(false);
        attributes["multiscales"] = new JsonArray(Multiscale(name, voxelSize, levels));
        await WriteAttributesAsync(store, groupPath, attributes, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Source chunks an output chunk of a coarser level holds in memory at once (<see cref="WritePyramidAsync{T}"/>): by
    /// octant, the output, the volume its source chunks are read into one at a time, the pooled decode buffer and a
    /// downsampled octant, rounded up, 4; a source region read whole, its eight chunks decoded and copied into the region (twice) and the output, 18.
    /// </summary>
    public static int PyramidChunksPerOutputChunk<T>(ZarrArray<T> level0) where T : unmanaged => DownsamplesByOctant(level0) ? 4 : 18;

    /// <summary>
    /// Whether every source region's chunk boundaries are even: the chunks are even along every axis they cut. A coarser
    /// level's chunks are level 0's or the whole (clipped) axis, so level 0 decides for the whole pyramid.
    /// </summary>
    private static bool DownsamplesByOctant<T>(ZarrArray<T> source) where T : unmanaged =>
        Enumerable.Range(0, 3).All(d => source.Chunks[d] % 2 == 0 || source.ChunkGrid[d] == 1);

    /// <summary>
    /// <paramref name="downsample"/> of the source region [z0, z1) x [y0, y1) x [x0, x1) (its starts and ends on chunk
    /// boundaries or the array's end), one source chunk at a time, each chunk's half-size volume copied to its place: the
    /// same voxels as the whole region's, since every source chunk boundary inside the region is even and no 2x2x2 block
    /// crosses it. The chunks of one size are read into one volume, not a fresh one each.
    /// </summary>
    private static async Task<Volume<T>> DownsampleByOctantAsync<T>(ZarrArray<T> source, (int Z0, int Z1, int Y0, int Y1, int X0, int X1) region,
        Func<Volume<T>, Volume<T>> downsample, CancellationToken ct) where T : unmanaged
    {
        static int Half(int n) => (n + 1) / 2;
        var (z0, z1, y0, y1, x0, x1) = region;
        var output = new Volume<T>(Half(z1 - z0), Half(y1 - y0), Half(x1 - x0), LargeArrays.Uninitialized<T>((long)Half(z1 - z0) * Half(y1 - y0) * Half(x1 - x0)));
        var (cd, ch, cw) = (source.Chunks[0], source.Chunks[1], source.Chunks[2]);
        Volume<T>? part = null;
        for (var pz = z0; pz < z1; pz += cd)
            for (var py = y0; py < y1; py += ch)
                for (var px = x0; px < x1; px += cw)
                {
                    var (d, h, w) = (Math.Min(z1, pz + cd) - pz, Math.Min(y1, py + ch) - py, Math.Min(x1, px + cw) - px);
                    if (part is null || (part.Depth, part.Height, part.Width) != (d, h, w))
                        part = new Volume<T>(d, h, w, LargeArrays.Uninitialized<T>((long)d * h * w));
                    await source.ReadChunkIntoAsync(pz / cd, py / ch, px / cw, part, ct).ConfigureAwait(false);
                    var half = downsample(part);
                    var size = (half.Depth, half.Height, half.Width);
                    ZarrArray<T>.CopyBox(half.Data, size, (0, 0, 0), output.Data, (output.Depth, output.Height, output.Width),
                        ((pz - z0) / 2, (py - y0) / 2, (px - x0) / 2), size);
                }
        return output;
    }

    /// <summary>The name of an image's NGFF labels group ("labels"), which lists the label images beside the image.</summary>
    public const string LabelsGroupName = "labels";

    /// <summary>
    /// Declares the label images held in <paramref name="imageGroupPath"/>/labels (NGFF 0.4 "labels" group: a .zgroup and
    /// a .zattrs whose "labels" lists the label images' names), so viewers open them with the image.
    /// </summary>
    public static async Task WriteLabelsGroupAsync(IBlobStore store, string imageGroupPath, IReadOnlyList<string> labelNames, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(labelNames);
        var group = BlobKey.Combine(imageGroupPath, LabelsGroupName);
        await store.WriteAsync(BlobKey.Combine(group, GroupFileName), GroupJson(), ct).ConfigureAwait(false);
        var attributes = await ReadAttributesAsync(store, group, ct).ConfigureAwait(false);
        attributes["labels"] = new JsonArray([.. labelNames.Select(n => (JsonNode)JsonValue.Create(n))]);
        await WriteAttributesAsync(store, group, attributes, ct).ConfigureAwait(false);
    }

    /// <summary>The NGFF 0.4 "image-label" attribute value for a label image.</summary>
    public static JsonObject ImageLabel(IEnumerable<LabelColor> colors, string? sourceImage = null)
    {
        ArgumentNullException.ThrowIfNull(colors);
        var ordered = colors.OrderBy(c => c.Value).ToArray();
        var imageLabel = new JsonObject
        {
            ["version"] = NgffVersion,
            ["colors"] = new JsonArray([.. ordered.Select(c => (JsonNode)new JsonObject
            {
                ["label-value"] = c.Value,
                ["rgba"] = new JsonArray(c.R, c.G, c.B, c.A),
            })]),
        };
        if (ordered.Any(c => c.Name is not null))
        {
            imageLabel["properties"] = new JsonArray([.. ordered.Where(c => c.Name is not null).Select(c => (JsonNode)new JsonObject
            {
                ["label-value"] = c.Value,
                ["name"] = c.Name,
            })]);
        }
        if (sourceImage is not null)
            imageLabel["source"] = new JsonObject { ["image"] = sourceImage };
        return imageLabel;
    }

    private static async Task<ZarrArray<T>> OpenDatasetAsync<T>(IBlobStore store, string groupPath, int level, CancellationToken ct)
        where T : unmanaged
    {
        var multiscale = await ReadMultiscaleAsync(store, groupPath, ct).ConfigureAwait(false);
        var datasets = multiscale["datasets"]?.AsArray()
            ?? throw new InvalidDataException($"OME-Zarr group '{groupPath}' multiscales has no datasets");
        if (level >= datasets.Count)
            throw new ArgumentOutOfRangeException(nameof(level), $"OME-Zarr group '{groupPath}' has {datasets.Count} levels, level {level} requested");
        var datasetPath = datasets[level]!["path"]!.GetValue<string>();
        return await ZarrArray<T>.OpenAsync(store, BlobKey.Combine(groupPath, datasetPath), ct).ConfigureAwait(false);
    }

    private static async Task<JsonObject> ReadMultiscaleAsync(IBlobStore store, string groupPath, CancellationToken ct)
    {
        var attributes = await ReadAttributesAsync(store, groupPath, ct).ConfigureAwait(false);
        if (attributes["multiscales"] is not JsonArray { Count: > 0 } multiscales || multiscales[0] is not JsonObject first)
            throw new InvalidDataException($"'{groupPath}' is not an OME-Zarr image: .zattrs has no multiscales");
        return first;
    }

    /// <summary>
    /// The "multiscales" entry: axes z, y, x in micrometres; per level a "scale" (the voxel size times 2^level) and, for
    /// coarser levels, a "translation" of half a coarse voxel minus half a fine one, so that a coarse voxel's centre sits
    /// at the centre of the 2x2x2 block it summarises and viewers overlay the levels (and image and labels) exactly.
    /// </summary>
    private static JsonObject Multiscale(string name, VoxelSize voxelSize, int levels) => new()
    {
        ["version"] = NgffVersion,
        ["name"] = name,
        ["axes"] = new JsonArray([.. AxisNames.Select(axis => (JsonNode)new JsonObject
        {
            ["name"] = axis,
            ["type"] = "space",
            ["unit"] = "micrometer",
        })]),
        ["datasets"] = new JsonArray([.. Enumerable.Range(0, levels).Select(level =>
        {
            double[] um = [voxelSize.ZNm / 1e3, voxelSize.YNm / 1e3, voxelSize.XNm / 1e3];
            var transformations = new JsonArray(new JsonObject
            {
                ["type"] = "scale",
                ["scale"] = new JsonArray([.. um.Select(v => (JsonNode)JsonValue.Create(v * (1 << level)))]),
            });
            if (level > 0)
                transformations.Add(new JsonObject
                {
                    ["type"] = "translation",
                    ["translation"] = new JsonArray([.. um.Select(v => (JsonNode)JsonValue.Create(v * ((1 << level) - 1) / 2))]),
                });
            return (JsonNode)new JsonObject { ["path"] = level.ToString(), ["coordinateTransformations"] = transformations };
        })]),
    };

    private static double UnitToNanometres(string? unit) => unit switch
    {
        null or "nanometer" => 1,
        "micrometer" => 1e3,
        "millimeter" => 1e6,
        "angstrom" => 0.1,
        "picometer" => 1e-3,
        "meter" => 1e9,
        _ => throw new InvalidDataException($"axis unit '{unit}' is not a length unit this reader knows"),
    };

    private static byte[] GroupJson() => "{\n    \"zarr_format\": 2\n}\n"u8.ToArray();

    private static Task WriteAttributesAsync(IBlobStore store, string groupPath, JsonObject attributes, CancellationToken ct)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(attributes, new JsonSerializerOptions { WriteIndented = true });
        return store.WriteAsync(BlobKey.Combine(groupPath, AttributesFileName), bytes, ct);
    }

    /// <summary>
    /// Opens level 0 of an image, creating the group first if it is not there exactly as asked. Several workers may call
    /// this at once for one job: creation writes identical metadata bytes and never touches chunks, so racing is safe.
    /// A group left partial by an interrupted creation (.zgroup without .zattrs, a level without .zarray, unreadable
    /// metadata) or holding another geometry is written again, keeping its other attributes; chunks are never touched.
    /// </summary>
    public static async Task<ZarrArray<T>> EnsureImageAsync<T>(
        IBlobStore store, string groupPath, string name, IReadOnlyList<int> shapeZyx, IReadOnlyList<int> chunksZyx, VoxelSize voxelSize,
        int levels = 1, ZarrCompressor compressor = ZarrCompressor.Zstd,
        IReadOnlyDictionary<string, JsonNode?>? extraAttributes = null, CancellationToken ct = default)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(store);
        var plan = ImagePlan.Of<T>(groupPath, name, [.. shapeZyx], [.. chunksZyx], voxelSize, levels, compressor, extraAttributes);
        var stored = await ReadAttributesOrNullAsync(store, groupPath, ct).ConfigureAwait(false);
        if (stored is not null && await IsCompleteAsync(store, plan, stored, ct).ConfigureAwait(false))
            return await ZarrArray<T>.OpenAsync(store, BlobKey.Combine(groupPath, "0"), ct).ConfigureAwait(false);
        return await WriteImageAsync<T>(store, plan, stored ?? [], ct).ConfigureAwait(false);
    }

    /// <summary>True when the stored attributes carry the planned ones and every level's .zarray is the planned one, byte for byte.</summary>
    private static async Task<bool> IsCompleteAsync(IBlobStore store, ImagePlan plan, JsonObject stored, CancellationToken ct)
    {
        foreach (var (key, value) in plan.Attributes)
        {
            if (!stored.TryGetPropertyValue(key, out var storedValue))
                return false;
            if (key == "multiscales" ? !HasLevelsOf(storedValue, value) : storedValue?.ToJsonString() != value?.ToJsonString())
                return false;
        }
        for (var level = 0; level < plan.Levels.Length; level++)
        {
            var key = BlobKey.Combine(plan.GroupPath, level.ToString(), ZarrArrayMetadata.FileName);
            var bytes = await store.ReadAsync(key, ct).ConfigureAwait(false);
            if (bytes is null || !bytes.AsSpan().SequenceEqual(plan.LevelMetadata[level]))
                return false;
        }
        return true;
    }

    /// <summary>
    /// True when the stored multiscales are the planned ones, or the planned ones with coarser levels added after them
    /// (<see cref="WritePyramidAsync{T}"/>): a stage that ensures its full-resolution output after the pyramid was built
    /// (a redelivered chunk) must not take the pyramid away.
    /// </summary>
    private static bool HasLevelsOf(JsonNode? stored, JsonNode? planned)
    {
        if (stored is not JsonArray { Count: 1 } storedList || storedList[0] is not JsonObject storedFirst
            || planned is not JsonArray { Count: 1 } plannedList || plannedList[0] is not JsonObject plannedFirst)
            return stored?.ToJsonString() == planned?.ToJsonString();
        if (storedFirst["datasets"] is not JsonArray storedDatasets || plannedFirst["datasets"] is not JsonArray plannedDatasets
            || storedDatasets.Count < plannedDatasets.Count)
            return false;
        for (var level = 0; level < plannedDatasets.Count; level++)
            if (storedDatasets[level]?.ToJsonString() != plannedDatasets[level]?.ToJsonString())
                return false;
        static string WithoutDatasets(JsonObject multiscale) =>
            new JsonObject(multiscale.Where(p => p.Key != "datasets").Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))).ToJsonString();
        return WithoutDatasets(storedFirst) == WithoutDatasets(plannedFirst);
    }

    /// <summary>The group's attributes, or null when there are none or they are not a JSON object (nothing to keep then).</summary>
    private static async Task<JsonObject?> ReadAttributesOrNullAsync(IBlobStore store, string groupPath, CancellationToken ct)
    {
        var bytes = await store.ReadAsync(BlobKey.Combine(groupPath, AttributesFileName), ct).ConfigureAwait(false);
        if (bytes is null)
            return null;
        try
        {
            return JsonNode.Parse(bytes) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Everything an image's metadata will hold, decided before anything is written.</summary>
    private sealed record ImagePlan(
        string GroupPath, (int[] Shape, int[] Chunks)[] Levels, byte[][] LevelMetadata, ZarrCompressor Compressor, JsonObject Attributes)
    {
        public static ImagePlan Of<T>(string groupPath, string name, int[] shapeZyx, int[] chunksZyx, VoxelSize voxelSize,
            int levels, ZarrCompressor compressor, IReadOnlyDictionary<string, JsonNode?>? extraAttributes)
            where T : unmanaged
        {
            ArgumentNullException.ThrowIfNull(voxelSize);
            ArgumentOutOfRangeException.ThrowIfLessThan(levels, 1);
            if (shapeZyx is not { Length: 3 } || chunksZyx is not { Length: 3 })
                throw new ArgumentException("shape and chunks must have 3 entries (z, y, x)");
            if (extraAttributes?.ContainsKey("multiscales") == true)
                throw new ArgumentException("extra attributes must not replace 'multiscales'", nameof(extraAttributes));

            var levelGeometry = Enumerable.Range(0, levels).Select(level =>
            {
                var shape = LevelShape(shapeZyx, level);
                int[] chunks = [.. chunksZyx.Select((c, d) => Math.Max(1, Math.Min(c, shape[d])))];
                return (shape, chunks);
            }).ToArray();
            var metadata = levelGeometry.Select(l => ZarrArray<T>.MetadataFor(l.shape, l.chunks, compressor).ToJson()).ToArray();
            var attributes = new JsonObject { ["multiscales"] = new JsonArray(Multiscale(name, voxelSize, levels)) };
            foreach (var (key, value) in extraAttributes ?? new Dictionary<string, JsonNode?>())
                attributes[key] = value?.DeepClone();
            return new ImagePlan(groupPath, levelGeometry, metadata, compressor, attributes);
        }
    }
}
