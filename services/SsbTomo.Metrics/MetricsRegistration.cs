using MassTransit;

namespace SsbTomo.Metrics;

public static class MetricsRegistration
{
    public static void AddMetrics(this IBusRegistrationConfigurator bus) => bus.AddConsumer<MeasureVolumeConsumer>();
}
