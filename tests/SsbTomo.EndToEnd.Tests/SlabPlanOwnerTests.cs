using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Hosting;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// The slab plan has one owner: the job. A service configured with other chunk slices (here every service of the
/// process says 5, the job says 8) still writes raw.zarr in the job's 8-slice chunks, so no slab straddles a chunk and
/// the results are those of a run where everything said 8.
/// </summary>
public sealed class SlabPlanOwnerTests : IDisposable
{
    private readonly TempDirectory _dir = new("ssbtomo-slabplan");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Services_with_other_chunk_settings_follow_the_jobs_slab_plan()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        var agreed = await RunAsync(stack, "agreed", serviceChunkSlices: 8);
        var differing = await RunAsync(stack, "differing", serviceChunkSlices: 5);

        var raw = await OmeZarr.OpenLevelAsync<ushort>(new FileSystemBlobStore(differing), "raw.zarr", 0);
        Assert.Equal(8, raw.Chunks[0]);
        Assert.Null(JobResults.Difference(await JobResults.ReadAsync(agreed), await JobResults.ReadAsync(differing)));
    }

    private async Task<string> RunAsync(string stack, string name, int serviceChunkSlices)
    {
        var root = Path.Combine(_dir.Path, name);
        var outcome = await RunCommand.ExecuteAsync(stack, root, null, chunkSlices: 8, verbose: false, CancellationToken.None,
                services => services.Configure<SsbTomoOptions>(o => o.ChunkSlices = serviceChunkSlices))
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(outcome.Succeeded, outcome.Reason);
        return root;
    }
}
