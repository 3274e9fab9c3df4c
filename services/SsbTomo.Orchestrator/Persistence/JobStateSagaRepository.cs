using System.Collections.Concurrent;
using MassTransit;
using MassTransit.Context;
using MassTransit.Middleware;
using MassTransit.Saga;

namespace SsbTomo.Orchestrator.Persistence;

/// <summary>
/// MassTransit's saga repository contract over <see cref="IJobStateStore"/>. MassTransit's generic
/// <c>SagaRepository&lt;T&gt;</c> (what the container builds from these factories) drives one
/// <see cref="SagaRepositoryContext{TSaga,TMessage}"/> per consumed message:
/// <list type="bullet">
/// <item>Load(id) → store load; the version read is remembered in the context (JobState has no version property).</item>
/// <item>Add(instance) for an initial event → nothing stored yet; Save() after the behaviour ran → store insert.</item>
/// <item>Insert(instance) (pre-insert policies) → store insert; "already exists" returns null so MassTransit loads instead.</item>
/// <item>Update() after the behaviour ran → store update naming the remembered version.</item>
/// <item>Delete() for a finalised saga → store delete naming the remembered version. Discard/Undo: nothing was written.</item>
/// </list>
/// A stale version surfaces as <see cref="JobStateConcurrencyException"/> (a MassTransit ConcurrencyException):
/// the saga endpoint retries the message from the load, and its in-memory outbox drops what the failed try published.
/// </summary>
public sealed class JobStateSagaRepositoryContextFactory(IJobStateStore store, ISagaConsumeContextFactory<IJobStateStore, JobState> factory) :
    ISagaRepositoryContextFactory<JobState>,
    IQuerySagaRepositoryContextFactory<JobState>,
    ILoadSagaRepositoryContextFactory<JobState>
{
    public async Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<JobState, T>> next)
        where T : class
    {
        var repositoryContext = new JobStateSagaRepositoryContext<T>(store, factory, context);
        await next.Send(repositoryContext).ConfigureAwait(false);
    }

    public async Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<JobState> query, IPipe<SagaRepositoryQueryContext<JobState, T>> next)
        where T : class
    {
        var repositoryContext = new JobStateSagaRepositoryContext<T>(store, factory, context);
        var matches = await repositoryContext.QueryAsync(query).ConfigureAwait(false);
        await next.Send(new LoadedSagaRepositoryQueryContext<JobState, T>(repositoryContext, matches)).ConfigureAwait(false);
    }

    public Task<T> Execute<T>(Func<QuerySagaRepositoryContext<JobState>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class =>
        asyncMethod(new JobStateQueryContext(store, cancellationToken));

    public Task<T> Execute<T>(Func<LoadSagaRepositoryContext<JobState>, Task<T>> asyncMethod, CancellationToken cancellationToken = default)
        where T : class =>
        asyncMethod(new JobStateQueryContext(store, cancellationToken));

    public void Probe(ProbeContext context) => context.Add("persistence", store.GetType().Name);
}

/// <summary>The unit of work for one consumed message: the versions it read, and the writes naming them.</summary>
public sealed class JobStateSagaRepositoryContext<TMessage> :
    ConsumeContextScope<TMessage>,
    SagaRepositoryContext<JobState, TMessage>
    where TMessage : class
{
    private readonly IJobStateStore _store;
    private readonly ISagaConsumeContextFactory<IJobStateStore, JobState> _factory;
    private readonly ConsumeContext<TMessage> _context;
    private readonly ConcurrentDictionary<Guid, string> _versions = new();

    public JobStateSagaRepositoryContext(IJobStateStore store, ISagaConsumeContextFactory<IJobStateStore, JobState> factory, ConsumeContext<TMessage> context)
        : base(context)
    {
        _store = store;
        _factory = factory;
        _context = context;
    }

    public Task<SagaConsumeContext<JobState, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, JobState instance, SagaConsumeContextMode mode)
        where T : class =>
        _factory.CreateSagaConsumeContext(_store, consumeContext, instance, mode);

    public Task<SagaConsumeContext<JobState, TMessage>> Add(JobState instance) =>
        _factory.CreateSagaConsumeContext(_store, _context, instance, SagaConsumeContextMode.Add);

    public async Task<SagaConsumeContext<JobState, TMessage>> Insert(JobState instance)
    {
        try
        {
            _versions[instance.CorrelationId] = await _store.InsertAsync(instance, CancellationToken).ConfigureAwait(false);
        }
        catch (JobStateConcurrencyException)
        {
            return null!; // it exists already: MassTransit's SendSagaPipe falls back to Load
        }
        return await _factory.CreateSagaConsumeContext(_store, _context, instance, SagaConsumeContextMode.Insert).ConfigureAwait(false);
    }

    public async Task<SagaConsumeContext<JobState, TMessage>> Load(Guid correlationId)
    {
        var stored = await _store.LoadAsync(correlationId, CancellationToken).ConfigureAwait(false);
        if (stored is null) return null!; // MassTransit's contract: null means missing
        _versions[correlationId] = stored.Version;
        return await _factory.CreateSagaConsumeContext(_store, _context, stored.State, SagaConsumeContextMode.Load).ConfigureAwait(false);
    }

    public async Task Save(SagaConsumeContext<JobState> context) =>
        _versions[context.Saga.CorrelationId] = await _store.InsertAsync(context.Saga, CancellationToken).ConfigureAwait(false);

    public async Task Update(SagaConsumeContext<JobState> context) =>
        _versions[context.Saga.CorrelationId] = await _store.UpdateAsync(context.Saga, VersionOf(context.Saga.CorrelationId), CancellationToken)
            .ConfigureAwait(false);

    public async Task Delete(SagaConsumeContext<JobState> context)
    {
        await _store.DeleteAsync(context.Saga.CorrelationId, VersionOf(context.Saga.CorrelationId), CancellationToken).ConfigureAwait(false);
        _versions.TryRemove(context.Saga.CorrelationId, out _);
    }

    public Task Discard(SagaConsumeContext<JobState> context) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<JobState> context) => Task.CompletedTask;

    internal async Task<IReadOnlyList<JobState>> QueryAsync(ISagaQuery<JobState> query)
    {
        var filter = query.GetFilter();
        var matches = new List<JobState>();
        foreach (var stored in await _store.ListAsync(CancellationToken).ConfigureAwait(false))
        {
            if (!filter(stored.State)) continue;
            _versions[stored.State.CorrelationId] = stored.Version;
            matches.Add(stored.State);
        }
        return matches;
    }

    private string VersionOf(Guid jobId) =>
        _versions.TryGetValue(jobId, out var version)
            ? version
            : throw new InvalidOperationException($"job {jobId} was not loaded through this repository context");
}

/// <summary>Read-only access for MassTransit's load and query repositories (the test harness, Find/Load callers).</summary>
public sealed class JobStateQueryContext(IJobStateStore store, CancellationToken cancellationToken) :
    BasePipeContext(cancellationToken),
    QuerySagaRepositoryContext<JobState>,
    LoadSagaRepositoryContext<JobState>
{
    public async Task<SagaRepositoryQueryContext<JobState>> Query(ISagaQuery<JobState> query, CancellationToken cancellationToken = default)
    {
        var filter = query.GetFilter();
        var jobs = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        return new LoadedSagaRepositoryQueryContext<JobState>(this, jobs.Select(j => j.State).Where(filter));
    }

    public async Task<JobState> Load(Guid correlationId) =>
        (await store.LoadAsync(correlationId, CancellationToken).ConfigureAwait(false))?.State!;
}
