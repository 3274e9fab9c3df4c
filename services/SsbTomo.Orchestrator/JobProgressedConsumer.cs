using MassTransit;
using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator;

public sealed class JobProgressedConsumer(JobBoard board) : IConsumer<JobProgressed>
{
    public Task Consume(ConsumeContext<JobProgressed> context)
    {
        board.Update(context.Message);
        return Task.CompletedTask;
    }
}
