using MassTransit;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Storage;

namespace SsbTomo.Alignment;

/// <summary>
/// Writes one slab of aligned.zarr from the stored solution: each raw slice corrected with the charging gradient the
/// measurement stored (not fitted again), curtains removed, shifted into the slice-0 frame (sub-pixel), cropped and
/// mapped to uint16 with its matched brightness.
/// </summary>
public sealed class ShiftAlignmentChunkConsumer(IBlobStore store) : IConsumer<ShiftAlignmentChunk>
{
    public Task Consume(ConsumeContext<ShiftAlignmentChunk> context) =>
        StageRunner.RunAsync(context, "alignment", () => ShiftAsync(context));

    private async Task ShiftAsync(ConsumeContext<ShiftAlignmentChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var solution = await AlignmentBlobs.ReadAsync<AlignmentSolution>(store, layout.AlignmentSolution, ct);
        var raw = await OmeZarr.OpenLevelAsync<ushort>(store, message.RawPath, 0, ct);
        var aligned = await OmeZarr.OpenLevelAsync<ushort>(store, layout.Aligned, 0, ct);
        var slab = new Volume<ushort>(message.Z1 - message.Z0, aligned.Shape[1], aligned.Shape[2]);
        var shifted = new Image2D<float>(raw.Shape[1], raw.Shape[2]);
        await foreach (var (z, slice) in RawSlices.ReadAsync(raw, message.Z0, message.Z1, ct))
        {
            var plan = solution.Slices[z];
            SubpixelShift.Apply(plan.Correction.Apply(slice), plan.Drift, shifted);
            SliceIntensityRanges.ToUInt16(shifted, plan.Range, solution.Crop, slab.Slice(z - message.Z0));
        }
        await aligned.WriteRegionAsync(message.Z0, 0, 0, slab, ct);
        await context.Publish(new AlignmentChunkShifted(message.JobId, message.ChunkIndex));
    }
}
