using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SsbTomo.Ingest;

public static class IngestRegistration
{
    public static void AddIngest(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<IngestStackConsumer>();
        bus.TryAddSingleton(TimeProvider.System);
        bus.AddHostedService<ShareDriveWatcher>();
    }
}
