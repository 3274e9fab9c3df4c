using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Storage;

namespace SsbTomo.Ingest;

/// <summary>
/// Copies a share-drive stack into raw.zarr, one slab of slices at a time, after recording its provenance (every
/// source file's SHA-256, size and time; instrument metadata; why the folder counted as complete). The originals are
/// only ever opened for reading.
/// </summary>
public sealed class IngestStackConsumer(IBlobStore store, IOptions<SsbTomoOptions> options, TimeProvider clock, ILogger<IngestStackConsumer> logger)
    : IConsumer<IngestStack>
{
    public Task Consume(ConsumeContext<IngestStack> context) =>
        StageRunner.RunAsync(context, "ingest", () => IngestAsync(context));

    private async Task IngestAsync(ConsumeContext<IngestStack> context)
    {
        var message = context.Message;
        var stack = Probe(message.SourcePath);
        var voxelSize = message.VoxelSizeOverride is { } o ? new VoxelSize(o.X, o.Y, o.Z)
            : stack.DetectedVoxelSize
              ?? throw new InvalidInputException(
                  $"{message.SourcePath} has no pixel size in its TIFF metadata (no FEI [Scan] PixelWidth, no Zeiss pixel size, no resolution tags)",
                  advice: "Give the voxel size yourself: re-run with --voxel-size-nm X,Y,Z (ssbtomo run) or send voxelSizeNm with the job (API).");

        var layout = new JobLayout(message.JobPrefix);
        var provenance = await StackProvenance.DescribeAsync(message, stack, voxelSize, clock.GetUtcNow().UtcDateTime, context.CancellationToken);
        await store.WriteAsync(layout.Provenance, provenance.ToJsonBytes(), context.CancellationToken);

        var chunkSlices = Math.Max(1, message.ChunkSlices);
        int[] shape = [stack.SliceCount, stack.Height, stack.Width];
        var tilePx = Math.Max(1, options.Value.ChunkTilePx);
        int[] chunks = [chunkSlices, Math.Min(tilePx, stack.Height), Math.Min(tilePx, stack.Width)];
        // 16-bit grey levels: zstd after a byte shuffle (ZarrCompressor.BloscZstd) keeps ~0.45 of them where zstd alone keeps
        // ~0.56, and codes them twice as fast.
        var raw = await StageVolume<ushort>.CreateAsync(store, layout.Raw, "raw", shape, chunks, voxelSize, ZarrCompressor.BloscZstd, context.CancellationToken);
        await SourceSliceNames.WriteAsync(store, layout.Raw, SourceSliceNames.Of(stack.Files, stack.IsMultiPage, stack.SliceCount), context.CancellationToken);

        // Each slab is written before the next is read, so one slab's array serves them all (the last, shorter one aside):
        // fresh ones cost the kernel's zeroing of their pages again, a fifth of ingest's CPU at 1 Gvoxel.
        Volume<ushort>? slab = null;
        for (var z0 = 0; z0 < stack.SliceCount; z0 += chunkSlices)
        {
            var z1 = Math.Min(stack.SliceCount, z0 + chunkSlices);
            slab = ReadSlab(stack, z0, z1, message.SourcePath, slab?.Depth == z1 - z0 ? slab : null, context.CancellationToken);
            await raw.WriteSlicesAsync(z0, slab, context.CancellationToken);
        }
        provenance.CheckUnchanged(message.SourcePath);

        logger.LogInformation("Ingested {Slices} slices of {Height}x{Width} ({Bits}-bit) from {Source}, voxel {Voxel} ({VoxelSource}), data bar rows left out {DataBarRows}",
            stack.SliceCount, stack.Height, stack.Width, stack.BitsPerSample, message.SourcePath, voxelSize,
            message.VoxelSizeOverride is null ? stack.VoxelSizeSource : "override", stack.DataBarRows);
        await context.Publish(new StackIngested(message.JobId, stack.SliceCount));
    }

    private static TiffStackInfo Probe(string sourcePath)
    {
        try { return TiffStackReader.Probe(sourcePath); }
        catch (TiffStackException ex) { throw BadStack(ex, sourcePath); }
    }

    /// <summary>
    /// Slices [z0, z1) decoded side by side, each into its place in the slab (<paramref name="into"/>, a slab of that many
    /// slices to overwrite, or a new one): each slice is its own file (or page) opened read-only, and decoding, not the
    /// disk, is what a slice costs. When several slices are bad, the first one by index is reported, whichever thread
    /// met its error first, so the same stack always fails with the same reason.
    /// </summary>
    private static Volume<ushort> ReadSlab(TiffStackInfo stack, int z0, int z1, string sourcePath, Volume<ushort>? into, CancellationToken ct)
    {
        // Every pixel is decoded into it, so a new slab need not be zeroed first.
        var slab = into ?? new Volume<ushort>(z1 - z0, stack.Height, stack.Width,
            LargeArrays.Uninitialized<ushort>((long)(z1 - z0) * stack.Height * stack.Width));
        var failures = new Exception?[z1 - z0];
        Parallel.For(z0, z1, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount }, z =>
        {
            try { ReadSliceInto(stack, z, slab.Slice(z - z0), sourcePath); }
            catch (Exception ex) { failures[z - z0] = ex; }
        });
        if (failures.FirstOrDefault(f => f is not null) is { } first)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        return slab;
    }

    private static void ReadSliceInto(TiffStackInfo stack, int index, Span<ushort> target, string sourcePath)
    {
        try { TiffStackReader.ReadSliceInto(stack, index, target); }
        catch (TiffStackException ex) { throw BadStack(ex, sourcePath); }
    }

    /// <summary>The reader's message names the file and the fault; what to do depends on whether one file or the whole stack is wrong.</summary>
    private static InvalidInputException BadStack(TiffStackException ex, string sourcePath)
    {
        string advice;
        if (!Directory.Exists(sourcePath) && !File.Exists(sourcePath))
            advice = $"Check that {sourcePath} exists and that SsbTomo may read it, then submit it again.";
        else if (ex.FileName is null)
            advice = $"Check that {sourcePath} is a folder of one 8- or 16-bit greyscale TIFF per slice, or one multi-page TIFF, then submit it again.";
        else if (Directory.Exists(sourcePath))
            advice = $"Check {ex.FileName}: copy it again from the microscope if the copy was incomplete, or move it out of the stack folder, then submit the stack again.";
        else
            advice = $"Check {ex.FileName}: copy it again from the microscope if the copy was incomplete, or save the stack again as 8- or 16-bit greyscale TIFF, then submit it again.";
        return new InvalidInputException(ex.Message, ex, advice);
    }
}
