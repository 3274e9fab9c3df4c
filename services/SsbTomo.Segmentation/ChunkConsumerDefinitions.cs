using MassTransit;

namespace SsbTomo.Segmentation;

// A worker takes one chunk at a time and prefetches at most one more, so the queue depth that KEDA
// scales on is the real backlog, and a killed worker strands at most two unacknowledged chunks.

public sealed class PrepareChunkConsumerDefinition : ConsumerDefinition<PrepareChunkConsumer>
{
    public PrepareChunkConsumerDefinition()
    {
        ConcurrentMessageLimit = 1;
        Endpoint(e => e.PrefetchCount = 2);
    }
}

public sealed class SegmentChunkConsumerDefinition : ConsumerDefinition<SegmentChunkConsumer>
{
    public SegmentChunkConsumerDefinition()
    {
        ConcurrentMessageLimit = 1;
        Endpoint(e => e.PrefetchCount = 2);
    }
}

public sealed class SurveyChunkConsumerDefinition : ConsumerDefinition<SurveyChunkConsumer>
{
    public SurveyChunkConsumerDefinition()
    {
        ConcurrentMessageLimit = 1;
        Endpoint(e => e.PrefetchCount = 2);
    }
}
