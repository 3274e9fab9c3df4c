using SsbTomo.Imaging;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Storage;

/// <summary>
/// Writes the owned parts of a command's windows when its tiles may cut storage chunks in y
/// (<see cref="SlabTilePlan.Parts{T}"/> with tilesMayShareChunks): the tiles of one band of chunk rows and chunk columns
/// are gathered until the band is whole and then written as whole chunks. No chunk is ever patched (read, changed and
/// written back), so a command that runs twice at once (a stall's re-drive beside a slow original) writes the same whole
/// chunks twice, as with whole-chunk tiles, and no reader sees a chunk with one tile's part missing. Windows of whole-chunk
/// tiles go straight through. Holds one band's owned voxels at most (the plans send a band's tiles one after another).
/// </summary>
public sealed class OwnedChunkWriter<T>(StageVolume<T> target) where T : unmanaged
{
    private Volume<T>? _band;
    private (int Z0, int Y0, int X0) _bandOrigin;
    private int _rowsGathered;

    /// <summary>The owned part <paramref name="owned"/> of <paramref name="window"/> (see <see cref="StageWindow{T}.CropToOwned{TOut}"/>).</summary>
    public async Task AddAsync<TWindow>(StageWindow<TWindow> window, Volume<T> owned, CancellationToken ct = default) where TWindow : unmanaged
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(owned);
        var (slab, tile) = (window.Slab, window.Tile);
        var chunkRows = target.Level0.Chunks[1];
        var bandY0 = tile.OwnedY0 / chunkRows * chunkRows;
        var bandY1 = Math.Min(target.Height, bandY0 + chunkRows);
        if (tile.OwnedY0 % chunkRows == 0 && (tile.OwnedY1 % chunkRows == 0 || tile.OwnedY1 == target.Height))
        {
            await target.WriteOwnedAsync(window, owned, ct).ConfigureAwait(false);
            return;
        }
        if (tile.OwnedY1 > bandY1)
            throw new ArgumentException($"tile rows {tile.OwnedY0}-{tile.OwnedY1} straddle the chunk rows {bandY0}-{bandY1}", nameof(window));
        var origin = (slab.OwnedZ0, bandY0, tile.OwnedX0);
        if (_band is null)
        {
            (_band, _bandOrigin, _rowsGathered) = (new Volume<T>(owned.Depth, bandY1 - bandY0, owned.Width), origin, 0);
        }
        else if (origin != _bandOrigin || owned.Depth != _band.Depth || owned.Width != _band.Width)
        {
            throw new InvalidOperationException(
                $"the tile at rows {tile.OwnedY0}, column {tile.OwnedX0} comes before the chunk rows {_bandOrigin.Y0}-{_bandOrigin.Y0 + _band.Height} at column {_bandOrigin.X0} are whole");
        }
        for (var z = 0; z < owned.Depth; z++)
            for (var y = 0; y < owned.Height; y++)
                owned.Data.AsSpan((int)(((long)z * owned.Height + y) * owned.Width), owned.Width)
                    .CopyTo(_band.Data.AsSpan((int)(((long)z * _band.Height + tile.OwnedY0 - bandY0 + y) * _band.Width), _band.Width));
        _rowsGathered += owned.Height;
        if (_rowsGathered < _band.Height) return;
        await target.Level0.WriteRegionAsync(_bandOrigin.Z0, _bandOrigin.Y0, _bandOrigin.X0, _band, ct).ConfigureAwait(false);
        _band = null;
    }

    /// <summary>Throws when a band is still partly gathered (a plan that did not send all its tiles).</summary>
    public void Complete()
    {
        if (_band is not null)
            throw new InvalidOperationException($"chunk rows {_bandOrigin.Y0}-{_bandOrigin.Y0 + _band.Height} at column {_bandOrigin.X0} have {_rowsGathered} of {_band.Height} rows");
    }
}
