using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Tests.Measurement;

public sealed class CentralSubVolumeTests
{
    private static readonly VoxelSize Cubic = VoxelSize.Isotropic(50);

    private static Func<int, int, int, long> BytesPerVoxel(int bytes) => (d, h, w) => (long)d * h * w * bytes;

    [Fact]
    public void A_volume_that_fits_is_taken_whole()
    {
        var box = CentralSubVolume.Largest(40, 60, 80, Cubic, BytesPerVoxel(10), 40L * 60 * 80 * 10, 32);
        Assert.Equal(new SubVolumeBox(0, 0, 0, 40, 60, 80), box);
    }

    [Fact]
    public void A_large_volume_gets_the_largest_centred_cube_that_fits()
    {
        // 100³ voxels allowed of a 200x400x500 volume.
        var box = CentralSubVolume.Largest(200, 400, 500, Cubic, BytesPerVoxel(4), 4L * 100 * 100 * 100, 32)!.Value;
        Assert.Equal((100, 100, 100), (box.Depth, box.Height, box.Width));
        Assert.Equal((50, 150, 200), (box.Z0, box.Y0, box.X0));
        Assert.True(4L * 101 * 101 * 101 > 4L * 100 * 100 * 100, "one voxel more along every axis would not fit");
    }

    [Fact]
    public void An_edge_the_volume_is_thinner_than_is_taken_whole_and_the_others_share_the_rest()
    {
        // 20 slices: the rest of the 20·120² budget goes to a 120x120 square in y and x.
        var box = CentralSubVolume.Largest(20, 3072, 4096, Cubic, BytesPerVoxel(1), 20L * 120 * 120, 32)!.Value;
        Assert.Equal((20, 120, 120), (box.Depth, box.Height, box.Width));
        Assert.Equal((0, (3072 - 120) / 2, (4096 - 120) / 2), (box.Z0, box.Y0, box.X0));
    }

    [Fact]
    public void Thick_slices_make_a_cube_in_micrometres_not_in_voxels()
    {
        // Slices 100 nm, pixels 50 nm: a physical cube has half as many voxels along z.
        var box = CentralSubVolume.Largest(300, 300, 300, new VoxelSize(50, 50, 100), BytesPerVoxel(1), 50L * 100 * 100, 16)!.Value;
        Assert.Equal((50, 100, 100), (box.Depth, box.Height, box.Width));
    }

    [Fact]
    public void Nothing_is_chosen_when_not_even_the_smallest_allowed_box_fits()
    {
        Assert.Null(CentralSubVolume.Largest(200, 200, 200, Cubic, BytesPerVoxel(1), 31L * 32 * 32, 32));
        Assert.NotNull(CentralSubVolume.Largest(200, 200, 200, Cubic, BytesPerVoxel(1), 32L * 32 * 32, 32));
    }

    [Fact]
    public void A_cost_that_is_not_proportional_to_the_voxels_is_respected()
    {
        // A fixed overhead plus a per-slice padding (as a solve's ghost slices): the chosen box fits, one voxel more does not.
        long Cost(int d, int h, int w) => 1_000_000 + (long)(d + 2) * (h + 2) * (w + 2) * 30;
        const long allowed = 64L << 20;
        var box = CentralSubVolume.Largest(500, 1000, 1000, Cubic, Cost, allowed, 32)!.Value;
        Assert.True(Cost(box.Depth, box.Height, box.Width) <= allowed);
        Assert.True(Cost(box.Depth + 1, box.Height + 1, box.Width + 1) > allowed);
        Assert.Equal(box.Depth, box.Height);
        Assert.Equal(box.Height, box.Width);
    }
}
