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
        var raw = await StageVolume<ushort>.OpenAsync(store, layout.Raw, ct);
        var aligned = await StageVolume<ushort>.OpenAsync(store, layout.Aligned, ct);
        var slab = await raw.ReadSlicesAsync(message.Z0, message.Z1, ct);
        var result = new Volume<ushort>(slab.Depth, aligned.Height, aligned.Width);
        var shifted = new Image2D<float>(raw.Height, raw.Width);
        for (var k = 0; k < slab.Depth; k++)
        {
            var plan = solution.Slices[message.Z0 + k];
            SubpixelShift.Apply(plan.Correction.Apply(slab.SliceToFloat(k)), plan.Drift, shifted);
            SliceIntensityRanges.ToUInt16(shifted, plan.Range, solution.Crop, result.Slice(k));
        }
        await aligned.WriteSlicesAsync(message.Z0, result, ct);
        await context.Publish(new AlignmentChunkShifted(message.JobId, message.ChunkIndex));
    }
}
