using System.Text.Json;
using SsbTomo.Cli;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// The segmentation uncertainty is counted by the segmentation workers, chunk by chunk, and summed by the orchestrator:
/// its intervals do not depend on how the stack was cut (3 chunks or 1).
/// </summary>
public sealed class UncertaintyFanOutTests : IDisposable
{
    private readonly TempDirectory _dir = new("ssbtomo-uncertainty");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Intervals_summed_over_three_chunks_equal_those_of_one()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        var three = await IntervalsAsync(stack, "three", chunkSlices: 8);
        var one = await IntervalsAsync(stack, "one", chunkSlices: 24);
        Assert.Contains("\"void\"", three);
        Assert.Equal(one, three);
    }

    private async Task<string> IntervalsAsync(string stack, string name, int chunkSlices)
    {
        var root = Path.Combine(_dir.Path, name);
        var outcome = await RunCommand.ExecuteAsync(stack, root, null, chunkSlices, verbose: false, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(outcome.Succeeded, outcome.Reason);
        using var metrics = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(root, "metrics.json")));
        var m = metrics.RootElement;
        Assert.True(m.TryGetProperty("phase_fraction_intervals", out var fractions), "metrics.json has no phase_fraction_intervals");
        Assert.True(m.TryGetProperty("contact_loss_interval", out var contact), "metrics.json has no contact_loss_interval");
        return fractions.GetRawText() + contact.GetRawText();
    }
}
