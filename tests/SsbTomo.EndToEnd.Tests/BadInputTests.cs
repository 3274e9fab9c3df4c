using SsbTomo.Cli;
using SsbTomo.Imaging;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class BadInputTests
{
    [Fact]
    public async Task A_truncated_slice_fails_the_job_with_its_file_name_and_leaves_the_originals_alone()
    {
        using var dir = new TempDirectory();
        var stack = Path.Combine(dir.Path, "stack");
        Directory.CreateDirectory(stack);
        for (var z = 0; z < 4; z++)
        {
            var image = new Image2D<byte>(64, 64);
            for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (byte)((i * 7 + z) % 251);
            TiffSliceWriter.Write(Path.Combine(stack, $"slice_{z:0000}.tif"), image, VoxelSize.Isotropic(50));
        }
        var broken = Path.Combine(stack, "slice_0002.tif");
        var bytes = File.ReadAllBytes(broken);
        File.WriteAllBytes(broken, bytes[..(bytes.Length / 3)]);
        var before = StackFiles.Hashes(stack);

        var outcome = await RunCommand.ExecuteAsync(stack, Path.Combine(dir.Path, "run"), null, 16, verbose: false, CancellationToken.None);

        Assert.False(outcome.Succeeded);
        Assert.Equal("ingest", outcome.FailedStage);
        Assert.Contains("slice_0002.tif", outcome.Reason);
        Assert.Equal(before, StackFiles.Hashes(stack));
        Assert.False(File.Exists(Path.Combine(dir.Path, "run", "metrics.json")));
    }

    [Fact]
    public async Task An_empty_folder_fails_the_job_instead_of_hanging()
    {
        using var dir = new TempDirectory();
        var stack = Path.Combine(dir.Path, "empty");
        Directory.CreateDirectory(stack);
        var outcome = await RunCommand.ExecuteAsync(stack, Path.Combine(dir.Path, "run"), null, 16, verbose: false, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(1));
        Assert.False(outcome.Succeeded);
        Assert.Contains("empty", outcome.Reason);
    }
}
