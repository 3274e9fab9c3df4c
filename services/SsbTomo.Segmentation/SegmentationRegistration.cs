using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SsbTomo.Segmentation;

public static class SegmentationRegistration
{
    public static void AddSegmentation(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<PrepareChunkConsumer, PrepareChunkConsumerDefinition>();
        bus.AddConsumer<SurveyChunkConsumer, SurveyChunkConsumerDefinition>();
        bus.AddConsumer<SegmentChunkConsumer, SegmentChunkConsumerDefinition>();
        bus.TryAddSingleton<TrainedClassifierCache>();
    }
}
