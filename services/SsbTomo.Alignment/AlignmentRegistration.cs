using MassTransit;

namespace SsbTomo.Alignment;

public static class AlignmentRegistration
{
    public static void AddAlignment(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<MeasureAlignmentChunkConsumer, MeasureAlignmentChunkConsumerDefinition>();
        bus.AddConsumer<SolveAlignmentConsumer>();
        bus.AddConsumer<ShiftAlignmentChunkConsumer, ShiftAlignmentChunkConsumerDefinition>();
    }
}
