using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator;

namespace SsbTomo.Orchestrator.Tests;

public class JobFaultTests
{
    private sealed class BrokenIngestConsumer : IConsumer<IngestStack>
    {
        public Task Consume(ConsumeContext<IngestStack> context) => throw new IOException("share drive unreachable: /share/stack");
    }

    [Fact]
    public async Task A_command_that_keeps_failing_fails_the_job_with_the_stage_and_the_exception()
    {
        await using var provider = new ServiceCollection()
            .AddMassTransitTestHarness(bus =>
            {
                bus.AddOrchestrator();
                bus.AddConsumer<BrokenIngestConsumer>();
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var jobId = NewId.NextGuid();

        await harness.Bus.Publish(new SubmitJob(jobId, "/share/stack", "jobs/z", null, 16));

        Assert.True(await harness.Published.Any<JobFailed>(x => x.Context.Message.JobId == jobId));
        var failed = harness.Published.Select<JobFailed>().Single().Context.Message;
        Assert.Equal("ingest", failed.Stage);
        Assert.Contains("share drive unreachable", failed.Reason);
        Assert.NotNull(await harness.GetSagaStateMachineHarness<JobStateMachine, JobState>().Exists(jobId, m => m.Failed));
    }
}
