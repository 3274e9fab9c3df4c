using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SsbTomo.Orchestrator;

public static class OrchestratorRegistration
{
    public static void AddOrchestrator(this IBusRegistrationConfigurator bus)
    {
        bus.AddSagaStateMachine<JobStateMachine, JobState>().InMemoryRepository();
        bus.AddConsumer<JobProgressedConsumer>();
        bus.TryAddSingleton<JobBoard>();
    }
}
