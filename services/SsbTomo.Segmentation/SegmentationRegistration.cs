using MassTransit;

namespace SsbTomo.Segmentation;

public static class SegmentationRegistration
{
    public static void AddSegmentation(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<PrepareChunkConsumer, PrepareChunkConsumerDefinition>();
        bus.AddConsumer<SurveyChunkConsumer, SurveyChunkConsumerDefinition>();
        bus.AddConsumer<SegmentChunkConsumer, SegmentChunkConsumerDefinition>();
    }
}
