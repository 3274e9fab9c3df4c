using SsbTomo.Cli;
using SsbTomo.Imaging;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class BadInputTests
{
    private static string WriteStack(string root, int slices)
    {
        var stack = Path.Combine(root, "stack");
        Directory.CreateDirectory(stack);
        for (var z = 0; z < slices; z++)
        {
            var image = new Image2D<byte>(64, 64);
            for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (byte)((i * 7 + z) % 251);
            TiffSliceWriter.Write(Path.Combine(stack, $"slice_{z:0000}.tif"), image, VoxelSize.Isotropic(50));
        }
        return stack;
    }

    [Fact]
    public async Task A_truncated_slice_fails_the_job_with_its_file_name_and_leaves_the_originals_alone()
    {
        using var dir = new TempDirectory();
        var stack = WriteStack(dir.Path, 4);
        var broken = Path.Combine(stack, "slice_0002.tif");
        var bytes = File.ReadAllBytes(broken);
        File.WriteAllBytes(broken, bytes[..(bytes.Length / 3)]);
        var before = StackFiles.Hashes(stack);
        var run = Path.Combine(dir.Path, "run");

        var outcome = await RunCommand.ExecuteAsync(stack, run, null, 16, verbose: false, CancellationToken.None);

        Assert.False(outcome.Succeeded);
        Assert.Equal("ingest", outcome.FailedStage);
        Assert.Empty(ReadableReason.Offenders(outcome.Reason));
        Assert.StartsWith("Ingest failed: slice_0002.tif", outcome.Reason);
        Assert.Contains("truncated", outcome.Reason);
        Assert.Contains("Check slice_0002.tif: copy it again", outcome.Reason);
        Assert.Equal(before, StackFiles.Hashes(stack));
        Assert.False(File.Exists(Path.Combine(run, "metrics.json")));

        var printed = RunCommand.FailureLines(outcome, run);
        Assert.Equal($"Job failed. {outcome.Reason}", printed[0]);
        Assert.All(printed, line => Assert.Empty(ReadableReason.Offenders(line)));
    }

    [Fact]
    public async Task A_zero_byte_slice_fails_the_job_with_its_file_name_and_what_to_do()
    {
        using var dir = new TempDirectory();
        var stack = WriteStack(dir.Path, 3);
        File.WriteAllBytes(Path.Combine(stack, "slice_0001.tif"), []);

        var outcome = await RunCommand.ExecuteAsync(stack, Path.Combine(dir.Path, "run"), null, 16, verbose: false, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(1));

        Assert.False(outcome.Succeeded);
        Assert.Empty(ReadableReason.Offenders(outcome.Reason));
        Assert.Equal("Ingest failed: slice_0001.tif: file is empty (0 bytes). Check slice_0001.tif: copy it again from the microscope "
            + "if the copy was incomplete, or move it out of the stack folder, then submit the stack again.", outcome.Reason);
    }

    [Fact]
    public async Task A_stack_without_pixel_size_says_how_to_give_it()
    {
        using var dir = new TempDirectory();
        var stack = Path.Combine(dir.Path, "stack");
        Directory.CreateDirectory(stack);
        var image = new Image2D<byte>(32, 32);
        for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = (byte)(i % 200);
        // Written without resolution tags or microscope metadata: nothing says how large a pixel is.
        using (var tiff = BitMiracle.LibTiff.Classic.Tiff.Open(Path.Combine(stack, "s0.tif"), "w"))
        {
            tiff.SetField(BitMiracle.LibTiff.Classic.TiffTag.IMAGEWIDTH, 32);
            tiff.SetField(BitMiracle.LibTiff.Classic.TiffTag.IMAGELENGTH, 32);
            tiff.SetField(BitMiracle.LibTiff.Classic.TiffTag.BITSPERSAMPLE, 8);
            tiff.SetField(BitMiracle.LibTiff.Classic.TiffTag.SAMPLESPERPIXEL, 1);
            tiff.SetField(BitMiracle.LibTiff.Classic.TiffTag.PHOTOMETRIC, BitMiracle.LibTiff.Classic.Photometric.MINISBLACK);
            tiff.SetField(BitMiracle.LibTiff.Classic.TiffTag.ROWSPERSTRIP, 32);
            for (var y = 0; y < 32; y++) tiff.WriteScanline(image.Pixels.AsSpan(y * 32, 32).ToArray(), y);
        }

        var outcome = await RunCommand.ExecuteAsync(stack, Path.Combine(dir.Path, "run"), null, 16, verbose: false, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(1));

        Assert.False(outcome.Succeeded);
        Assert.Empty(ReadableReason.Offenders(outcome.Reason));
        Assert.Contains("has no pixel size in its TIFF metadata", outcome.Reason);
        Assert.Contains("re-run with --voxel-size-nm X,Y,Z", outcome.Reason);
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
        Assert.Empty(ReadableReason.Offenders(outcome.Reason));
        Assert.Contains("empty", outcome.Reason);
        Assert.Contains("is a folder of one 8- or 16-bit greyscale TIFF per slice", outcome.Reason);
    }
}
