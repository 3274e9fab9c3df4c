using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests;

public class JobFaultTests
{
    private sealed class BrokenIngestConsumer : IConsumer<IngestStack>
    {
        public Task Consume(ConsumeContext<IngestStack> context) => throw new IOException("share drive unreachable: /share/stack");
    }

    private sealed class OutOfMemoryIngestConsumer : IConsumer<IngestStack>
    {
        public Task Consume(ConsumeContext<IngestStack> context) => throw new OutOfMemoryException();
    }

    /// <summary>A job whose ingest command always throws from <typeparamref name="TConsumer"/>: the failure it ends with.</summary>
    private static async Task<(JobFailed Failed, Guid JobId, bool SagaFailed)> FailedJobAsync<TConsumer>() where TConsumer : class, IConsumer<IngestStack>
    {
        await using var provider = new ServiceCollection()
            .AddMassTransitTestHarness(bus =>
            {
                bus.AddOrchestrator();
                bus.AddConsumer<TConsumer>();
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var jobId = NewId.NextGuid();

        await harness.Bus.Publish(new SubmitJob(jobId, "/share/stack", "jobs/z", null, 16));

        Assert.True(await harness.Published.Any<JobFailed>(x => x.Context.Message.JobId == jobId));
        var failed = harness.Published.Select<JobFailed>().Single().Context.Message;
        var sagaFailed = await harness.GetSagaStateMachineHarness<JobStateMachine, JobState>().Exists(jobId, m => m.Failed) is not null;
        return (failed, jobId, sagaFailed);
    }

    [Fact]
    public async Task A_command_that_runs_out_of_memory_fails_the_job_with_the_settings_to_change_not_as_a_bug()
    {
        var (failed, _, sagaFailed) = await FailedJobAsync<OutOfMemoryIngestConsumer>();
        Assert.Empty(ReadableReason.Offenders(failed.Reason));
        Assert.StartsWith("Ingest ran out of memory in ssbtomo-ingest through every retry", failed.Reason);
        Assert.Contains("SsbTomo:MemoryBudgetMb", failed.Reason);
        Assert.DoesNotContain("bug", failed.Reason);
        Assert.StartsWith("System.OutOfMemoryException", failed.Detail);
        Assert.True(sagaFailed);
    }

    [Fact]
    public async Task A_command_that_keeps_failing_on_storage_fails_the_job_with_what_to_check_and_keeps_the_exception_apart()
    {
        var (failed, jobId, sagaFailed) = await FailedJobAsync<BrokenIngestConsumer>();
        Assert.Equal("ingest", failed.Stage);
        Assert.Empty(ReadableReason.Offenders(failed.Reason));
        Assert.StartsWith("Ingest kept failing to read or write its data, through every retry: share drive unreachable: /share/stack.", failed.Reason);
        Assert.Contains("Check that the source stack and the job store are reachable", failed.Reason);
        Assert.Contains($"under job id {jobId}", failed.Reason);
        Assert.StartsWith("System.IO.IOException: share drive unreachable: /share/stack", failed.Detail);
        Assert.True(sagaFailed);
    }
}
