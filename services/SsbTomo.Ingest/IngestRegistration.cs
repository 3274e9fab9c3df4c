using MassTransit;

namespace SsbTomo.Ingest;

public static class IngestRegistration
{
    public static void AddIngest(this IBusRegistrationConfigurator bus) => bus.AddConsumer<IngestStackConsumer>();
}
