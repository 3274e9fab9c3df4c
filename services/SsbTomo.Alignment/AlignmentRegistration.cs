using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SsbTomo.Alignment;

public static class AlignmentRegistration
{
    public static void AddAlignment(this IBusRegistrationConfigurator bus)
    {
        bus.TryAddSingleton<RegistrationHistoryCache>();
        bus.AddConsumer<MeasureAlignmentChunkConsumer, MeasureAlignmentChunkConsumerDefinition>();
        bus.AddConsumer<SolveAlignmentConsumer>();
        bus.AddConsumer<ShiftAlignmentChunkConsumer, ShiftAlignmentChunkConsumerDefinition>();
    }
}
