using SsbTomo.Imaging.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Segmentation;

public class TileGridTests
{
    [Theory]
    [InlineData(37, 53, 16, 16, 5)]
    [InlineData(37, 53, 64, 64, 12)]
    [InlineData(8, 8, 3, 5, 0)]
    public void Tiles_own_every_pixel_once_and_read_their_halo_clipped_at_the_image_edge(int height, int width, int tileHeight, int tileWidth, int halo)
    {
        var owners = new int[height, width];
        foreach (var tile in TileGrid.Plan(height, width, tileHeight, tileWidth, halo))
        {
            for (var y = tile.OwnedY0; y < tile.OwnedY1; y++)
                for (var x = tile.OwnedX0; x < tile.OwnedX1; x++) owners[y, x]++;
            Assert.Equal(Math.Max(0, tile.OwnedY0 - halo), tile.ReadY0);
            Assert.Equal(Math.Min(height, tile.OwnedY1 + halo), tile.ReadY1);
            Assert.Equal(Math.Max(0, tile.OwnedX0 - halo), tile.ReadX0);
            Assert.Equal(Math.Min(width, tile.OwnedX1 + halo), tile.ReadX1);
            Assert.Equal(0, tile.OwnedY0 % tileHeight);
            Assert.Equal(0, tile.OwnedX0 % tileWidth);
        }
        Assert.All(owners.Cast<int>(), count => Assert.Equal(1, count));
    }

    /// <summary>The owned part as uint16 in one pass is the owned part cropped, then converted (rounding, clamping, NaN).</summary>
    [Fact]
    public void The_owned_part_as_uint16_is_the_owned_part_converted()
    {
        var random = new Random(5);
        var window = new Volume<float>(9, 13, 47);
        for (var i = 0; i < window.Data.Length; i++)
            window.Data[i] = random.Next(20) switch { 0 => float.NaN, 1 => -3.5f, 2 => 70000f, 3 => 2.5f, _ => (float)(random.NextDouble() * 65535) };
        var slab = new SlabWindow(10, 19, 12, 16);
        var tile = new TileWindow(2, 15, 3, 50, 4, 9, 5, 41);
        var expected = TileGrid.CropToOwned(window, slab, tile).ToUInt16();
        var actual = TileGrid.CropToOwnedUInt16(window, slab, tile);
        Assert.Equal((expected.Depth, expected.Height, expected.Width), (actual.Depth, actual.Height, actual.Width));
        Assert.Equal(expected.Data, actual.Data);
        Assert.Throws<ArgumentException>(() => TileGrid.CropToOwnedUInt16(new Volume<float>(8, 13, 47), slab, tile));
    }

    /// <summary>A tile's window over a range of slices, in one copy, is the slices' copy cropped to the tile.</summary>
    [Fact]
    public void A_tile_over_some_slices_is_the_slices_cropped_to_the_tile()
    {
        var volume = new Volume<float>(9, 13, 17);
        for (var i = 0; i < volume.Data.Length; i++) volume.Data[i] = i;
        var tile = new TileWindow(2, 11, 3, 15, 4, 9, 5, 12);
        var cropped = TileGrid.Crop(volume, 2, 7, tile);
        Assert.Equal((5, 9, 12), (cropped.Depth, cropped.Height, cropped.Width));
        Assert.Equal(TileGrid.Crop(Halo.CropZ(volume, 2, 7), tile).Data, cropped.Data);
        Assert.Equal(volume.Data[(2 * 13 + 2) * 17 + 3], cropped.Data[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => TileGrid.Crop(volume, 5, 10, tile));
        Assert.Throws<ArgumentOutOfRangeException>(() => TileGrid.Crop(volume, 0, 1, new TileWindow(0, 14, 0, 17, 0, 13, 0, 17)));
    }

    [Fact]
    public void The_budget_picks_the_largest_whole_chunk_tile_whose_window_fits()
    {
        // 40 slices with halo 12: a 512-pixel chunk tile reads 536x536x40 = 11.5 M voxels, two chunks 1048x1048x40 = 43.9 M
        // (527 MB at 12 bytes), three 1560x1560x40 = 97 M.
        var bytesPerVoxel = 12.0;
        Assert.Equal((512, 512), TileGrid.ForBudget(400L << 20, bytesPerVoxel, 40, 12, 3072, 4096, 512, 512));
        Assert.Equal((1024, 1024), TileGrid.ForBudget(600L << 20, bytesPerVoxel, 40, 12, 3072, 4096, 512, 512));
        // Never less than one chunk, even on a budget too small for it; never more than the image.
        Assert.Equal((512, 512), TileGrid.ForBudget(1, bytesPerVoxel, 40, 12, 3072, 4096, 512, 512));
        Assert.Equal((256, 320), TileGrid.ForBudget(512L << 20, bytesPerVoxel, 40, 12, 256, 320, 256, 320));
        Assert.Equal((3072, 4096), TileGrid.ForBudget(64L << 30, bytesPerVoxel, 40, 12, 3072, 4096, 512, 512));
    }

    private static readonly double[] Means = [5000, 15000, 28000, 45000];
    private static readonly double[] Thresholds = [10000, 21500, 36500];

    /// <summary>Round grains and thin rods of the four phases' grey levels with noise: edges in every direction for the clean-up.</summary>
    private static Volume<ushort> Grains(int seed, int depth, int height, int width)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 40).Select(_ => (Z: random.Next(depth), Y: random.Next(height), X: random.Next(width),
            R: 2 + 5 * random.NextDouble(), Phase: random.Next(4))).ToArray();
        var volume = new Volume<ushort>(depth, height, width);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var phase = 2;
                    foreach (var c in centres)
                        if ((z - c.Z) * (z - c.Z) + (y - c.Y) * (y - c.Y) + (x - c.X) * (x - c.X) < c.R * c.R) phase = c.Phase;
                    if (Math.Abs(y - x / 2 - 5) < 2 && z % 7 < 5) phase = 1;
                    volume[z, y, x] = (ushort)Math.Clamp(Means[phase] + 1800 * random.NextGaussian(), 0, 65535);
                }
        return volume;
    }

    /// <summary>Runs <paramref name="stage"/> on every window of a slab x tile plan and stitches the owned parts.</summary>
    private static Volume<T> Tiled<T>(Volume<ushort> volume, int slabSlices, int tile, int halo, Func<Volume<ushort>, Volume<T>> stage)
        where T : unmanaged
    {
        var result = new Volume<T>(volume.Depth, volume.Height, volume.Width);
        for (var z0 = 0; z0 < volume.Depth; z0 += slabSlices)
        {
            var slab = Halo.Expand(volume.Depth, z0, Math.Min(volume.Depth, z0 + slabSlices), halo);
            foreach (var window in TileGrid.Plan(volume.Height, volume.Width, tile, tile, halo))
            {
                var owned = TileGrid.CropToOwned(stage(TileGrid.Crop(Halo.CropZ(volume, slab.SlabZ0, slab.SlabZ1), window)), slab, window);
                for (var z = 0; z < owned.Depth; z++)
                    for (var y = 0; y < owned.Height; y++)
                        for (var x = 0; x < owned.Width; x++)
                            result[slab.OwnedZ0 + z, window.OwnedY0 + y, window.OwnedX0 + x] = owned[z, y, x];
            }
        }
        return result;
    }

    private static Volume<float> ToFloat(Volume<ushort> v) => new(v.Depth, v.Height, v.Width, Array.ConvertAll(v.Data, x => (float)x));

    [Theory]
    [InlineData(5, 9)]
    [InlineData(16, 17)]
    [InlineData(7, 64)]
    public void Denoising_and_segmenting_tile_by_tile_give_the_whole_volumes_bytes(int slabSlices, int tile)
    {
        var volume = Grains(seed: 3, depth: 30, height: 41, width: 47);
        var wholeDenoised = Denoise.Gaussian(volume, 0.8);
        var denoiseHalo = Halo.RequiredSlices(0.8);
        Assert.Equal(wholeDenoised.Data, Tiled(volume, slabSlices, tile, denoiseHalo, w => Denoise.Gaussian(w, 0.8)).Data);

        var quantized = new Volume<ushort>(volume.Depth, volume.Height, volume.Width,
            Array.ConvertAll(wholeDenoised.Data, v => (ushort)Math.Clamp(Math.Round(v), 0, 65535)));
        var wholeLabels = PhaseSegmentation.Segment(ToFloat(quantized), Thresholds, Means);
        var tiledLabels = Tiled(quantized, slabSlices, tile, PhaseSegmentation.RequiredHaloSlices,
            w => PhaseSegmentation.Segment(ToFloat(w), Thresholds, Means));
        Assert.Equal(wholeLabels.Data, tiledLabels.Data);
        // Every phase is there, so the clean-up and the shine-through rule had edges to work on.
        Assert.All(new[] { PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps, PhaseLabel.Nmc }, p => Assert.Contains(p, wholeLabels.Data));
    }

    [Theory]
    [InlineData(2, 5, 0, 7)]
    [InlineData(2, 5, 1, 6)]
    [InlineData(0, 4, 3, 4)]
    [InlineData(3, 3, 0, 7)]
    public void An_areas_runs_in_a_slice_are_its_voxels_in_index_order(int y0, int y1, int x0, int x1)
    {
        const int width = 7;
        var area = new AreaSpan(y0, y1, x0, x1);
        var expected = new List<int>();
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++) expected.Add(y * width + x);
        var runs = area.RunsInSlice(width).ToList();
        Assert.Equal(expected, runs.SelectMany(r => Enumerable.Range(r.Start, r.Length)));
        // Whole rows are one run.
        if (x0 == 0 && x1 == width && y1 > y0) Assert.Single(runs);
        Assert.Equal(new AreaSpan(Math.Max(0, y0 - 2), Math.Min(6, y1 + 2), Math.Max(0, x0 - 2), Math.Min(width, x1 + 2)), area.Grow(2, 6, width));
    }
}
