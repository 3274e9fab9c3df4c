using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Cli;
using SsbTomo.Hosting;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// Alignment is measured and shifted in chunks by competing workers, and solved once: the aligned stack, alignment.json
/// and the labels are the same bytes for one worker or several, and for slabs of 8 slices or of 5 (smaller than the
/// registration's 8-slice halo, so a halo spans chunks).
/// </summary>
public sealed class AlignmentScaleOutTests : IDisposable
{
    private readonly TempDirectory _dir = new("ssbtomo-align-scaleout");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task One_worker_several_workers_and_another_slab_size_give_the_same_aligned_stack_and_labels()
    {
        var stack = await JobResults.WriteSmallPhantomAsync(_dir.Path);
        var one = await RunAsync(stack, "one-worker", chunkSlices: 8, workers: 1);
        var three = await RunAsync(stack, "three-workers", chunkSlices: 8, workers: 3);
        var smallSlabs = await RunAsync(stack, "five-slice-slabs", chunkSlices: 5, workers: 2);

        Assert.Null(JobResults.Difference(await JobResults.ReadAsync(one), await JobResults.ReadAsync(three)));
        foreach (var other in new[] { three, smallSlabs })
        {
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(one, "alignment.json")), await File.ReadAllTextAsync(Path.Combine(other, "alignment.json")));
            Assert.Equal(await VoxelsAsync<ushort>(one, "aligned.zarr"), await VoxelsAsync<ushort>(other, "aligned.zarr"));
            Assert.Equal(await VoxelsAsync<byte>(one, JobResults.Labels), await VoxelsAsync<byte>(other, JobResults.Labels));
        }
        var slabs = await OmeZarr.OpenLevelAsync<ushort>(new FileSystemBlobStore(smallSlabs), "aligned.zarr", 0);
        Assert.Equal(5, slabs.Chunks[0]);
    }

    private static async Task<T[]> VoxelsAsync<T>(string root, string image) where T : unmanaged
    {
        var level = await OmeZarr.OpenLevelAsync<T>(new FileSystemBlobStore(root), image, 0);
        return (await level.ReadRegionAsync(0, level.Shape[0], 0, level.Shape[1], 0, level.Shape[2])).Data;
    }

    private async Task<string> RunAsync(string stack, string name, int chunkSlices, int workers)
    {
        var root = Path.Combine(_dir.Path, name);
        var outcome = await RunCommand.ExecuteAsync(stack, root, null, chunkSlices, verbose: false, CancellationToken.None,
                services => services.Configure<SsbTomoOptions>(o => o.AlignmentWorkers = workers))
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(outcome.Succeeded, outcome.Reason);
        return root;
    }
}
