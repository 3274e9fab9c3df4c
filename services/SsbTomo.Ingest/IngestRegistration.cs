using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace SsbTomo.Ingest;

public static class IngestRegistration
{
    public static void AddIngest(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<IngestStackConsumer>();
        bus.AddHostedService<ShareDriveWatcher>();
    }
}
