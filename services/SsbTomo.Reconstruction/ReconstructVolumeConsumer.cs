using MassTransit;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Storage;

namespace SsbTomo.Reconstruction;

/// <summary>Fills the coarser levels of labels.zarr from full resolution, two chunk rows at a time.</summary>
public sealed class ReconstructVolumeConsumer(IBlobStore store) : IConsumer<ReconstructVolume>
{
    public Task Consume(ConsumeContext<ReconstructVolume> context) =>
        StageRunner.RunAsync(context, "reconstruction", () => ReconstructAsync(context));

    private async Task ReconstructAsync(ConsumeContext<ReconstructVolume> context)
    {
        var layout = new JobLayout(context.Message.JobPrefix);
        var ct = context.CancellationToken;
        var levels = await OmeZarr.ReadLevelCountAsync(store, layout.Labels, ct);
        for (var level = 1; level < levels; level++)
        {
            var source = await OmeZarr.OpenLevelAsync<byte>(store, layout.Labels, level - 1, ct);
            var target = await OmeZarr.OpenLevelAsync<byte>(store, layout.Labels, level, ct);
            var sourceSlices = 2 * target.Chunks[0];
            for (var z0 = 0; z0 < source.Shape[0]; z0 += sourceSlices)
            {
                var z1 = Math.Min(source.Shape[0], z0 + sourceSlices);
                var slab = await source.ReadRegionAsync(z0, z1, 0, source.Shape[1], 0, source.Shape[2], ct);
                await target.WriteRegionAsync(z0 / 2, 0, 0, LabelPyramid.DownsampleMode(slab), ct);
            }
        }
        await context.Publish(new VolumeReconstructed(context.Message.JobId, levels));
    }
}
