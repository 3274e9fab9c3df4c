using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Hosting;

namespace SsbTomo.Alignment;

// Like segmentation's chunk consumers: a worker takes its share of chunks at a time and prefetches one more each, so the
// queue depth that KEDA scales on is the real backlog, and a killed worker strands few unacknowledged chunks.

public sealed class MeasureAlignmentChunkConsumerDefinition : ConsumerDefinition<MeasureAlignmentChunkConsumer>
{
    public MeasureAlignmentChunkConsumerDefinition(IOptions<SsbTomoOptions> options)
    {
        ConcurrentMessageLimit = options.Value.AlignmentWorkers;
        Endpoint(e => e.PrefetchCount = 2 * options.Value.AlignmentWorkers);
    }
}

public sealed class ShiftAlignmentChunkConsumerDefinition : ConsumerDefinition<ShiftAlignmentChunkConsumer>
{
    public ShiftAlignmentChunkConsumerDefinition(IOptions<SsbTomoOptions> options)
    {
        ConcurrentMessageLimit = options.Value.AlignmentWorkers;
        Endpoint(e => e.PrefetchCount = 2 * options.Value.AlignmentWorkers);
    }
}
