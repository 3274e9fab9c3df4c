using MassTransit;
using SsbTomo.Contracts;

namespace SsbTomo.Hosting;

/// <summary>
/// Runs one stage's work for one message: times it, and turns input errors into a StageFailed event
/// (the job fails alone, at once) while letting transient errors through to the retry policy.
/// </summary>
public static class StageRunner
{
    public static async Task RunAsync<T>(ConsumeContext<T> context, string stage, Func<Task> work, long voxels = 0)
        where T : class, IJobMessage
    {
        using var timer = SsbTomoTelemetry.StartStage(stage, context.Message.JobId, voxels);
        try
        {
            await work();
        }
        catch (InvalidInputException ex)
        {
            await context.Publish(new StageFailed(context.Message.JobId, stage, ex.Message));
        }
    }
}
