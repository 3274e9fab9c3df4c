using MassTransit;

namespace SsbTomo.Orchestrator.Persistence;

/// <summary>
/// The job saga's endpoint: a message that lost an optimistic-concurrency race (e.g. 32 ChunkSegmented for one
/// job at once) is retried from the load with jittered back-off until it lands; the in-memory outbox holds
/// what a try published until its state is saved, so a lost try publishes nothing.
/// </summary>
public sealed class JobStateSagaDefinition : SagaDefinition<JobState>
{
    /// <summary>Enough for every chunk of a large job to collide on one saga and still land.</summary>
    public const int ConcurrencyRetryLimit = 50;

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<JobState> sagaConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<ConcurrencyException>();
            // Random delta per attempt spreads the colliding consumers apart.
            r.Exponential(ConcurrencyRetryLimit, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(10));
        });
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
