using MassTransit;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Storage;

namespace SsbTomo.Metrics;

/// <summary>Measures labels.zarr one chunk row of slices at a time; memory is one slab, whatever the stack size.</summary>
public sealed class MeasureVolumeConsumer(IBlobStore store) : IConsumer<MeasureVolume>
{
    public Task Consume(ConsumeContext<MeasureVolume> context) =>
        StageRunner.RunAsync(context, "metrics", () => MeasureAsync(context));

    private async Task MeasureAsync(ConsumeContext<MeasureVolume> context)
    {
        var ct = context.CancellationToken;
        var layout = new JobLayout(context.Message.JobPrefix);
        var labels = await OmeZarr.OpenLevelAsync<byte>(store, layout.Labels, 0, ct);
        var voxelSize = await OmeZarr.ReadVoxelSizeAsync(store, layout.Labels, ct);
        var (depth, height, width) = (labels.Shape[0], labels.Shape[1], labels.Shape[2]);

        var accumulator = new MicrostructureAccumulator();
        var slabSlices = labels.Chunks[0];
        for (var z0 = 0; z0 < depth; z0 += slabSlices)
        {
            var z1 = Math.Min(depth, z0 + slabSlices);
            accumulator.Add(await labels.ReadRegionAsync(z0, z1, 0, height, 0, width, ct));
        }

        var report = MetricsReport.From(accumulator.Result(), voxelSize, [depth, height, width]);
        await store.WriteAsync(layout.Metrics, report.ToJsonBytes(), ct);
        await context.Publish(new VolumeMeasured(context.Message.JobId, layout.Metrics));
    }
}
