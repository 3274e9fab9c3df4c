using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Storage;

namespace SsbTomo.Ingest;

/// <summary>
/// Copies a share-drive stack into raw.zarr, one slab of slices at a time. The originals are only
/// ever opened for reading.
/// </summary>
public sealed class IngestStackConsumer(IBlobStore store, IOptions<SsbTomoOptions> options, ILogger<IngestStackConsumer> logger)
    : IConsumer<IngestStack>
{
    public const int TilePx = 512;

    public Task Consume(ConsumeContext<IngestStack> context) =>
        StageRunner.RunAsync(context, "ingest", () => IngestAsync(context));

    private async Task IngestAsync(ConsumeContext<IngestStack> context)
    {
        var message = context.Message;
        var stack = Probe(message.SourcePath);
        var voxelSize = message.VoxelSizeOverride is { } o ? new VoxelSize(o.X, o.Y, o.Z)
            : stack.DetectedVoxelSize
              ?? throw new InvalidInputException(
                  $"{message.SourcePath}: no pixel size in the TIFF metadata (no FEI [Scan] PixelWidth, no resolution tags); give it with --voxel-size-nm X,Y,Z");

        var layout = new JobLayout(message.JobPrefix);
        var chunkSlices = Math.Max(1, options.Value.ChunkSlices);
        int[] shape = [stack.SliceCount, stack.Height, stack.Width];
        int[] chunks = [chunkSlices, Math.Min(TilePx, stack.Height), Math.Min(TilePx, stack.Width)];
        var raw = await OmeZarr.CreateImageAsync<ushort>(store, layout.Raw, "raw", shape, chunks, voxelSize, ct: context.CancellationToken);
        await SourceSliceNames.WriteAsync(store, layout.Raw, SourceSliceNames.Of(stack.Files, stack.IsMultiPage, stack.SliceCount), context.CancellationToken);

        for (var z0 = 0; z0 < stack.SliceCount; z0 += chunkSlices)
        {
            var z1 = Math.Min(stack.SliceCount, z0 + chunkSlices);
            var slab = new Volume<ushort>(z1 - z0, stack.Height, stack.Width);
            for (var z = z0; z < z1; z++)
                ReadSlice(stack, z).Pixels.CopyTo(slab.Slice(z - z0));
            await raw.WriteRegionAsync(z0, 0, 0, slab, context.CancellationToken);
        }

        logger.LogInformation("Ingested {Slices} slices of {Height}x{Width} ({Bits}-bit) from {Source}, voxel {Voxel} ({VoxelSource}), data bar rows left out {DataBarRows}",
            stack.SliceCount, stack.Height, stack.Width, stack.BitsPerSample, message.SourcePath, voxelSize,
            message.VoxelSizeOverride is null ? stack.VoxelSizeSource : "override", stack.DataBarRows);
        await context.Publish(new StackIngested(message.JobId, layout.Raw, stack.SliceCount, stack.Height, stack.Width,
            stack.BitsPerSample, new VoxelSizeNm(voxelSize.XNm, voxelSize.YNm, voxelSize.ZNm)));
    }

    private static TiffStackInfo Probe(string sourcePath)
    {
        try { return TiffStackReader.Probe(sourcePath); }
        catch (TiffStackException ex) { throw new InvalidInputException(ex.Message, ex); }
    }

    private static Image2D<ushort> ReadSlice(TiffStackInfo stack, int index)
    {
        try { return TiffStackReader.ReadSlice(stack, index); }
        catch (TiffStackException ex) { throw new InvalidInputException(ex.Message, ex); }
    }
}
