using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator;

public static class OrchestratorRegistration
{
    /// <summary>
    /// The job state machine over the configured job store ("SsbTomo:JobStore": InMemory, the default, | Sqlite | Dapr),
    /// with optimistic concurrency and a retrying saga endpoint; the progress board; the stall watchdog.
    /// </summary>
    public static void AddOrchestrator(this IBusRegistrationConfigurator bus)
    {
        bus.AddOptions<SsbTomoOptions>();
        // Resolved when the bus starts, so configuration (or a test) decides; a host may register its own store first.
        bus.TryAddSingleton<IJobStateStore>(sp => JobStoreFactory.Create(sp.GetRequiredService<IOptions<SsbTomoOptions>>().Value, sp));
        bus.AddSagaStateMachine<JobStateMachine, JobState, JobStateSagaDefinition>().Repository(r =>
        {
            r.RegisterLoadSagaRepository<JobState, JobStateSagaRepositoryContextFactory>();
            r.RegisterQuerySagaRepository<JobState, JobStateSagaRepositoryContextFactory>();
            r.RegisterSagaRepository<JobState, IJobStateStore, SagaConsumeContextFactory<IJobStateStore, JobState>,
                JobStateSagaRepositoryContextFactory>();
        });
        bus.AddConsumer<JobProgressedConsumer>();
        bus.TryAddSingleton<JobBoard>();
        bus.TryAddSingleton(TimeProvider.System);
        bus.TryAddSingleton<StallWatchdog>();
        bus.AddHostedService(sp => sp.GetRequiredService<StallWatchdog>());
    }
}
