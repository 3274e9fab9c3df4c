using System.Runtime.CompilerServices;
using SsbTomo.Imaging;

namespace SsbTomo.Storage;

/// <summary>
/// Reads overlapping windows (a tile plus its halo) of one Zarr array in the order a stage walks them. A window with a halo
/// overlaps its neighbours' chunks, so reading each window on its own would decode every chunk up to nine times per slab
/// (at 1 Gvoxel the metrics' windows, kept one ahead, decoded 15 GB of labels for the 1.2 GB they read). This reader
/// keeps, between two reads, each upcoming window's part of the chunks decoded so far (the halo strips it shares with the
/// windows before it and the part of a chunk it owns), cropped to that window, for as many upcoming windows as the caller
/// names. A chunk it decodes it crops at once to what this window and the upcoming ones read of it (<see cref="ReadOf"/>).
/// Memory: while the stage works on a window, at most the upcoming windows' voxels of the stored type; while a window is
/// read, beside the result, the parts held from the read before, the parts kept for the upcoming windows so far (each
/// decoded part is copied into the window and cut to them as it arrives) and the chunk reads in flight
/// (<see cref="ZarrArray{T}.MaxConcurrency"/>).
/// </summary>
public sealed class ZarrWindowReader<T>(ZarrArray<T> array) where T : unmanaged
{
    /// <summary>Decoded values of one chunk inside <see cref="Region"/> (array coordinates).</summary>
    private sealed record Part(Region Region, Volume<T> Values);

    /// <summary>Per chunk, its parts that upcoming windows read (each one upcoming window's part of the chunk).</summary>
    private readonly Dictionary<(int Z, int Y, int X), List<Part>> _decoded = [];

    public ZarrArray<T> Array => array;

    /// <summary>Chunks this reader has decoded so far (tests check that a row of windows decodes each chunk once).</summary>
    public long ChunksDecoded { get; private set; }

    /// <summary>Stored values the reader holds between reads (tests check it is no more than the upcoming windows').</summary>
    public long HeldVoxels => _decoded.Values.Sum(parts => parts.Sum(p => (long)p.Values.Length));

    /// <summary>Copies one row of a chunk's values into the window's type.</summary>
    public delegate void RowCopy<TOut>(ReadOnlySpan<T> source, Span<TOut> target);

    /// <summary>The row copy of a window read in the stored type.</summary>
    public static readonly RowCopy<T> Unconverted = static (source, target) => source.CopyTo(target);

    /// <summary>
    /// The values of <paramref name="region"/> (as <see cref="ZarrArray{T}.ReadRegionAsync"/> would return them), every value
    /// converted by <paramref name="copy"/> as it leaves the decoded chunks, so a stage that works on another type
    /// (segmentation on floats) holds no window of the stored type beside its own. <paramref name="upcoming"/>: the windows
    /// the caller reads next, in order (the first is the next one; none when not known): of the chunks it has decoded the
    /// reader keeps each upcoming window's part, so a chunk whose halo strips or halves several windows in a row read is
    /// decoded once for all of them, and lets go of anything else before returning. It holds at most the upcoming windows'
    /// voxels of the stored type. <paramref name="into"/>: an array the caller is done with, which becomes the window's when
    /// its length is the window's voxels (every voxel is written), so a stage walking windows of one size reuses its pages
    /// instead of having the kernel zero fresh ones for each window.
    /// </summary>
    public async Task<Volume<TOut>> ReadAsync<TOut>(Region region, RowCopy<TOut> copy, IReadOnlyList<Region> upcoming, CancellationToken ct = default,
        TOut[]? into = null)
        where TOut : unmanaged
    {
        var shape = array.Shape;
        var (z0, z1, y0, y1, x0, x1) = region;
        if (z0 < 0 || y0 < 0 || x0 < 0 || z1 > shape[0] || y1 > shape[1] || x1 > shape[2] || z0 >= z1 || y0 >= y1 || x0 >= x1)
            throw new ArgumentOutOfRangeException(nameof(region), $"region [{z0},{z1})x[{y0},{y1})x[{x0},{x1}) is empty or outside {string.Join('x', shape)}");
        var (cd, ch, cw) = (array.Chunks[0], array.Chunks[1], array.Chunks[2]);

        // The chunks tile the window, and each one's part of it is copied in (from a held part or a decoded one): no value is
        // left unwritten, so zeroing the window first would only touch its memory twice.
        var voxels = (long)(z1 - z0) * (y1 - y0) * (x1 - x0);
        var result = new Volume<TOut>(z1 - z0, y1 - y0, x1 - x0, into?.LongLength == voxels ? into : LargeArrays.Uninitialized<TOut>(voxels));
        var missing = new List<((int Z, int Y, int X) Chunk, Region Read)>();
        for (var cz = z0 / cd; cz <= (z1 - 1) / cd; cz++)
            for (var cy = y0 / ch; cy <= (y1 - 1) / ch; cy++)
                for (var cx = x0 / cw; cx <= (x1 - 1) / cw; cx++)
                {
                    var chunk = ChunkRegion(cz, cy, cx);
                    var needed = chunk.Intersect(region);
                    if (Containing(_decoded.GetValueOrDefault((cz, cy, cx)), needed) is { } source)
                    {
                        CopyInto(source, region, result, copy);
                        continue;
                    }
                    missing.Add(((cz, cy, cx), ReadOf(chunk, needed, upcoming)));
                }
        // Each decoded part goes into the window as soon as it is read, and only what the upcoming windows read of it is
        // kept: no more than the reads in flight are held beside the window and the upcoming windows' parts.
        // The reads reach the window through a box emptied afterwards: their closure can outlive the read (an idle thread-pool
        // thread keeps the last work item it ran), and it must not keep the window alive once the stage has let it go.
        var keptOfMissing = new List<Part>?[missing.Count];
        var target = new StrongBox<Volume<TOut>?>(result);
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, missing.Count),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, array.MaxConcurrency), CancellationToken = ct },
                async (i, token) =>
                {
                    var r = missing[i].Read;
                    var values = await array.ReadRegionAsync(r.Z0, r.Z1, r.Y0, r.Y1, r.X0, r.X1, token).ConfigureAwait(false);
                    keptOfMissing[i] = CopyAndKeep(missing[i].Chunk, new Part(r, values), region, target.Value!, copy, upcoming);
                }).ConfigureAwait(false);
        }
        finally
        {
            target.Value = null;
        }
        ChunksDecoded += missing.Count;

        // The held chunks not decoded again keep what the upcoming windows read of them; everything else is let go.
        var kept = new Dictionary<(int Z, int Y, int X), List<Part>>();
        for (var i = 0; i < missing.Count; i++)
            if (keptOfMissing[i] is { } parts) kept[missing[i].Chunk] = parts;
        var decodedNow = missing.Select(m => m.Chunk).ToHashSet();
        foreach (var ((cz, cy, cx), parts) in _decoded)
            if (!decodedNow.Contains((cz, cy, cx)) && KeptFor(upcoming, ChunkRegion(cz, cy, cx), parts) is { } stillRead)
                kept[(cz, cy, cx)] = stillRead;
        _decoded.Clear();
        foreach (var (chunk, parts) in kept) _decoded[chunk] = parts;
        return result;
    }

    /// <summary>
    /// What of a chunk to keep decoded beside the window's part. One window ahead: the rest of the chunk's columns (in a
    /// row of tiles the next one reads them); a box around the parts of every upcoming window would allocate and copy
    /// more than it saves there (the segmentation's windows read at 1 Gvoxel: 14.4 → 26.8 CPU-s, `window-read` study).
    /// More windows ahead: the box around what this window and the upcoming ones read of the chunk.
    /// </summary>
    private static Region ReadOf(Region chunk, Region needed, IReadOnlyList<Region> upcoming)
    {
        if (upcoming.Count == 1) return needed with { X1 = chunk.X1 };
        var read = needed;
        foreach (var window in upcoming)
            if (chunk.Intersect(window) is { IsEmpty: false } later) read = read.Hull(later);
        return read;
    }

    /// <summary>Copies a decoded part into the window; what the upcoming windows read of its chunk (<see cref="KeptFor"/>).</summary>
    private List<Part>? CopyAndKeep<TOut>((int Z, int Y, int X) chunk, Part part, Region region, Volume<TOut> window, RowCopy<TOut> copy,
        IReadOnlyList<Region> upcoming) where TOut : unmanaged
    {
        CopyInto(part, region, window, copy);
        return KeptFor(upcoming, ChunkRegion(chunk.Z, chunk.Y, chunk.X), [part, .. _decoded.GetValueOrDefault(chunk) ?? []]);
    }

    /// <summary>
    /// Each upcoming window's part of <paramref name="chunk"/>, taken from <paramref name="parts"/> (cropped unless a part is
    /// exactly it); a part inside another kept one is not kept again. Null when no upcoming window reads the chunk.
    /// </summary>
    private static List<Part>? KeptFor(IReadOnlyList<Region> upcoming, Region chunk, List<Part> parts)
    {
        List<Part>? kept = null;
        foreach (var window in upcoming)
        {
            var wanted = chunk.Intersect(window);
            if (wanted.IsEmpty || Containing(kept, wanted) is not null || Containing(parts, wanted) is not { } source) continue;
            (kept ??= []).Add(source.Region == wanted ? source : new Part(wanted, Crop(source, wanted)));
        }
        return kept;
    }

    /// <summary>A part among <paramref name="parts"/> that holds all of <paramref name="wanted"/> (any part when it is empty), or null.</summary>
    private static Part? Containing(List<Part>? parts, Region wanted)
    {
        if (parts is null) return null;
        foreach (var part in parts)
            if (part.Region.Contains(wanted)) return part;
        return null;
    }

    private Region ChunkRegion(int cz, int cy, int cx)
    {
        var (cd, ch, cw) = (array.Chunks[0], array.Chunks[1], array.Chunks[2]);
        return new Region(cz * cd, Math.Min(array.Shape[0], (cz + 1) * cd), cy * ch, Math.Min(array.Shape[1], (cy + 1) * ch),
            cx * cw, Math.Min(array.Shape[2], (cx + 1) * cw));
    }

    /// <summary>The part's values inside <paramref name="region"/>, converted, at their place in <paramref name="window"/>.</summary>
    private static void CopyInto<TOut>(Part part, Region region, Volume<TOut> window, RowCopy<TOut> copy) where TOut : unmanaged
    {
        var overlap = part.Region.Intersect(region);
        if (overlap.IsEmpty) return;
        var (source, box) = (part.Values, part.Region);
        for (var z = overlap.Z0; z < overlap.Z1; z++)
            for (var y = overlap.Y0; y < overlap.Y1; y++)
                copy(source.Data.AsSpan(((z - box.Z0) * source.Height + (y - box.Y0)) * source.Width + (overlap.X0 - box.X0), overlap.X1 - overlap.X0),
                    window.Data.AsSpan(((z - region.Z0) * window.Height + (y - region.Y0)) * window.Width + (overlap.X0 - region.X0), overlap.X1 - overlap.X0));
    }

    private static Volume<T> Crop(Part part, Region to)
    {
        var (source, box) = (part.Values, part.Region);
        var cropped = new Volume<T>(to.Z1 - to.Z0, to.Y1 - to.Y0, to.X1 - to.X0, LargeArrays.Uninitialized<T>((long)(to.Z1 - to.Z0) * (to.Y1 - to.Y0) * (to.X1 - to.X0)));
        for (var z = to.Z0; z < to.Z1; z++)
            for (var y = to.Y0; y < to.Y1; y++)
                source.Data.AsSpan(((z - box.Z0) * source.Height + (y - box.Y0)) * source.Width + (to.X0 - box.X0), cropped.Width)
                    .CopyTo(cropped.Data.AsSpan(((z - to.Z0) * cropped.Height + (y - to.Y0)) * cropped.Width, cropped.Width));
        return cropped;
    }
}

/// <summary>A half-open box [Z0,Z1) x [Y0,Y1) x [X0,X1) of an array.</summary>
public readonly record struct Region(int Z0, int Z1, int Y0, int Y1, int X0, int X1)
{
    public bool IsEmpty => Z0 >= Z1 || Y0 >= Y1 || X0 >= X1;

    public Region Intersect(Region other) =>
        new(Math.Max(Z0, other.Z0), Math.Min(Z1, other.Z1), Math.Max(Y0, other.Y0), Math.Min(Y1, other.Y1), Math.Max(X0, other.X0), Math.Min(X1, other.X1));

    /// <summary>The smallest box holding both (non-empty) boxes.</summary>
    public Region Hull(Region other) =>
        new(Math.Min(Z0, other.Z0), Math.Max(Z1, other.Z1), Math.Min(Y0, other.Y0), Math.Max(Y1, other.Y1), Math.Min(X0, other.X0), Math.Max(X1, other.X1));

    /// <summary>Whether <paramref name="other"/> lies inside this box (an empty one always does).</summary>
    public bool Contains(Region other) =>
        other.IsEmpty || (Z0 <= other.Z0 && other.Z1 <= Z1 && Y0 <= other.Y0 && other.Y1 <= Y1 && X0 <= other.X0 && other.X1 <= X1);
}
