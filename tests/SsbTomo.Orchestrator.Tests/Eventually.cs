namespace SsbTomo.Orchestrator.Tests;

/// <summary>
/// The saga endpoint's in-memory outbox publishes only after the job state is saved, so a test that sees the new state
/// may look before the messages are out; and the harness's Published.Any stops waiting once the bus has been idle.
/// </summary>
internal static class Eventually
{
    public static async Task<bool> TrueAsync(Func<bool> condition, double seconds = 30)
    {
        var giveUpAt = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > giveUpAt) return false;
            await Task.Delay(10);
        }
        return true;
    }
}
