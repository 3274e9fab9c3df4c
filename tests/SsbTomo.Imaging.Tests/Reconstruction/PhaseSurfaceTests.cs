using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Tests.Measurement;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Reconstruction;

public class PhaseSurfaceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(20, 1, 1, 1)]
    [InlineData(20, 1, 1, 2)]   // slices twice as thick as the pixels
    public void A_spheres_mesh_has_area_within_one_percent_of_four_pi_r_squared_before_smoothing_and_decimation(double radiusVoxels, double x, double y, double z)
    {
        var voxel = new VoxelSize(10 * x, 10 * y, 10 * z);
        var radiusNm = radiusVoxels * 10;
        var ball = SurfaceAreaTests.Ball(radiusNm, voxel);
        var truthArea = 4 * Math.PI * Math.Pow(radiusNm / 1000, 2);
        var truthVolume = 4 / 3.0 * Math.PI * Math.Pow(radiusNm / 1000, 3);

        var raw = PhaseSurfaceBuilder.Build(ball, PhaseLabel.Nmc, voxel, SurfaceOptions.Unprocessed);
        Assert.InRange(raw.AreaUm2() / truthArea, 0.99, 1.01);
        AssertClosedAndOriented(raw);

        // What the default smoothing and decimation do to the same sphere (the README quotes these ratios).
        var smoothed = PhaseSurfaceBuilder.Build(ball, PhaseLabel.Nmc, voxel, new SurfaceOptions(TargetTriangles: null));
        var decimated = PhaseSurfaceBuilder.Build(ball, PhaseLabel.Nmc, voxel, new SurfaceOptions(TargetTriangles: 2000));
        output.WriteLine($"r = {radiusVoxels} voxels, voxel {voxel}: area / 4πr² raw {raw.AreaUm2() / truthArea:0.0000} ({raw.TriangleCount} triangles), "
            + $"Taubin {smoothed.AreaUm2() / truthArea:0.0000}, Taubin + clustering to ≤2000 {decimated.AreaUm2() / truthArea:0.0000} ({decimated.TriangleCount} triangles); "
            + $"volume / (4/3)πr³ raw {raw.SignedVolumeUm3() / truthVolume:0.0000}, Taubin {smoothed.SignedVolumeUm3() / truthVolume:0.0000}, "
            + $"decimated {decimated.SignedVolumeUm3() / truthVolume:0.0000}");
        // Taubin's filter keeps the volume (plain Laplacian smoothing of as many steps shrinks it by several per cent).
        Assert.InRange(smoothed.SignedVolumeUm3() / raw.SignedVolumeUm3(), 0.995, 1.005);
        Assert.InRange(smoothed.AreaUm2() / truthArea, 0.98, 1.01);
        Assert.InRange(decimated.TriangleCount, 500, 2000);
        Assert.InRange(decimated.AreaUm2() / truthArea, 0.95, 1.02);
        Assert.InRange(decimated.SignedVolumeUm3() / truthVolume, 0.97, 1.03);
    }

    /// <summary>Two cracked spheres, one cut by the volume's edge, and void: surfaces that cross every slab boundary.</summary>
    private static Volume<byte> TwoParticles()
    {
        var v = new Volume<byte>(40, 36, 44);
        for (var z = 0; z < v.Depth; z++)
            for (var y = 0; y < v.Height; y++)
                for (var x = 0; x < v.Width; x++)
                {
                    var d1 = Math.Sqrt(Math.Pow(z - 18, 2) + Math.Pow(y - 17, 2) + Math.Pow(x - 14, 2));
                    var d2 = Math.Sqrt(Math.Pow(z - 37, 2) + Math.Pow(y - 20, 2) + Math.Pow(x - 32, 2));
                    v[z, y, x] = d1 <= 11 || d2 <= 9 ? PhaseLabel.Nmc
                        : x > 14 && d1 <= 14 ? PhaseLabel.Void
                        : (x * 7 + y * 3 + z) % 29 == 0 ? PhaseLabel.Carbon : PhaseLabel.Lps;
                }
        v[5, 5, 5] = PhaseLabel.Outside;
        return v;
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(5, null)]
    [InlineData(5, 600)]
    public void Slab_by_slab_meshes_equal_the_whole_volumes_mesh_byte_for_byte(int taubinIterations, int? target)
    {
        var labels = TwoParticles();
        var voxel = new VoxelSize(50, 50, 80);
        var options = new SurfaceOptions(taubinIterations, target);
        foreach (var phase in new[] { PhaseLabel.Nmc, PhaseLabel.Void })
        {
            var whole = PhaseSurfaceBuilder.Build(labels, phase, voxel, options, classifyContact: true);
            Assert.True(whole.TriangleCount > 100);
            foreach (var slab in new[] { 1, 3, 7, 16 })
            {
                var builder = new PhaseSurfaceBuilder(phase, voxel, labels.Depth, labels.Height, labels.Width, options, classifyContact: true);
                var halo = PhaseSurfaceBuilder.HaloSlices;
                for (var z0 = 0; z0 < labels.Depth; z0 += slab)
                {
                    var z1 = Math.Min(labels.Depth, z0 + slab);
                    var (r0, r1) = (Math.Max(0, z0 - halo), Math.Min(labels.Depth, z1 + halo));
                    builder.AddSlab(Slices(labels, r0, r1), r0, z0, z1);
                }
                var stitched = builder.Result();
                Assert.Equal(whole.Triangles, stitched.Triangles);
                Assert.Equal(whole.Positions, stitched.Positions);
                Assert.Equal(whole.Contacts, stitched.Contacts);
            }
            if (target is null) AssertClosedAndOriented(whole);
        }
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(5, null)]
    [InlineData(5, 600)]
    public void Tile_by_tile_meshes_in_any_order_match_the_whole_volumes_mesh(int taubinIterations, int? target)
    {
        var labels = TwoParticles();
        var voxel = new VoxelSize(50, 50, 80);
        var options = new SurfaceOptions(taubinIterations, target);
        var halo = PhaseSurfaceBuilder.HaloSlices;
        foreach (var phase in new[] { PhaseLabel.Nmc, PhaseLabel.Void })
        {
            var whole = PhaseSurfaceBuilder.Build(labels, phase, voxel, options, classifyContact: true);
            // Tiles narrower than the halo, tiles that do not divide the slice, and one tile of whole slices.
            foreach (var (slabSlices, tileHeight, tileWidth) in new[] { (1, 3, 4), (7, 5, 9), (16, 13, 20), (40, 36, 11) })
            {
                var windows = new List<(SlabWindow Slab, TileWindow Tile)>();
                for (var z0 = 0; z0 < labels.Depth; z0 += slabSlices)
                {
                    var slab = Halo.Expand(labels.Depth, z0, Math.Min(labels.Depth, z0 + slabSlices), halo);
                    windows.AddRange(TileGrid.Plan(labels.Height, labels.Width, tileHeight, tileWidth, halo).Select(tile => (slab, tile)));
                }
                // Last window first: the result must not depend on the order windows come in.
                windows.Reverse();
                var builder = new PhaseSurfaceBuilder(phase, voxel, labels.Depth, labels.Height, labels.Width, options, classifyContact: true);
                foreach (var (slab, tile) in windows)
                    builder.AddWindow(TileGrid.Crop(Slices(labels, slab.SlabZ0, slab.SlabZ1), tile), slab, tile);
                var stitched = builder.Result();
                var what = $"{PhaseLabel.Name(phase)}, slabs of {slabSlices}, tiles {tileHeight}x{tileWidth}";
                Assert.Equal(whole.Triangles, stitched.Triangles);
                if (target is null)
                {
                    Assert.Equal(whole.Positions, stitched.Positions);
                    Assert.Equal(whole.Contacts, stitched.Contacts);
                    AssertClosedAndOriented(stitched);
                    continue;
                }
                // Decimated: the same cells and triangles; each cell's vertex from the same quadrics summed in another order.
                var largest = whole.Positions.Zip(stitched.Positions, (a, b) => Math.Abs(a - b)).Max();
                output.WriteLine($"{what}: largest position difference {largest:0.0e0} µm, area {stitched.AreaUm2() / whole.AreaUm2() - 1:0.0e0} relative");
                Assert.True(largest < 1e-4, $"{what}: positions differ by {largest} µm");
                Assert.InRange(stitched.AreaUm2() / whole.AreaUm2(), 1 - 1e-6, 1 + 1e-6);
                Assert.Equal(whole.Contacts, stitched.Contacts);
            }
        }
    }

    [Fact]
    public void The_indicators_gaussian_skipping_rows_of_zeros_equals_denoise_gaussian_bit_for_bit()
    {
        // A small ball in a large volume leaves rows of zeros to skip; the two particles and the carbon planes fill most rows.
        var ball = SurfaceAreaTests.Ball(60, VoxelSize.Isotropic(10), margin: 12);
        // One workspace for all: a larger volume's leftovers must not show in a smaller one's result.
        var workspace = new GaussianWorkspace();
        foreach (var (labels, phase) in new[] { (TwoParticles(), PhaseLabel.Nmc), (TwoParticles(), PhaseLabel.Void), (TwoParticles(), PhaseLabel.Carbon), (ball, PhaseLabel.Nmc) })
        {
            var table = new ushort[256];
            table[phase] = 1;
            var indicator = new Volume<ushort>(labels.Depth, labels.Height, labels.Width, Array.ConvertAll(labels.Data, l => table[l]));
            var expected = Denoise.Gaussian(indicator, SsbTomo.Imaging.Measurement.SmoothedSurfaceAreaAccumulator.SigmaVoxels);
            var (smooth, nonZeroRows) = Denoise.Gaussian(labels, table, SsbTomo.Imaging.Measurement.SmoothedSurfaceAreaAccumulator.SigmaVoxels,
                workspace);
            Assert.Equal(expected.Data, smooth.AsSpan(0, (int)labels.Length).ToArray());
            if (labels == ball) Assert.Contains(false, nonZeroRows);
            for (var row = 0; row < nonZeroRows.Length; row++)
                if (!nonZeroRows[row])
                    Assert.All(expected.Data.AsSpan(row * labels.Width, labels.Width).ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void A_tile_without_its_halo_and_windows_that_miss_voxels_are_refused()
    {
        var labels = TwoParticles();
        var builder = new PhaseSurfaceBuilder(PhaseLabel.Nmc, VoxelSize.Isotropic(50), labels.Depth, labels.Height, labels.Width, new SurfaceOptions());
        var slab = new SlabWindow(0, labels.Depth, 0, labels.Depth);
        var bare = new TileWindow(0, 10, 0, labels.Width, 0, 10, 0, labels.Width);
        Assert.Throws<ArgumentException>(() => builder.AddWindow(TileGrid.Crop(labels, bare), slab, bare));
        var tile = TileGrid.Plan(labels.Height, labels.Width, 10, labels.Width, PhaseSurfaceBuilder.HaloSlices)[0];
        builder.AddWindow(TileGrid.Crop(labels, tile), slab, tile);
        Assert.Throws<InvalidOperationException>(() => builder.Result());
    }

    [Fact]
    public void A_slab_without_its_halo_is_refused()
    {
        var labels = TwoParticles();
        var builder = new PhaseSurfaceBuilder(PhaseLabel.Nmc, VoxelSize.Isotropic(50), labels.Depth, labels.Height, labels.Width, new SurfaceOptions());
        Assert.Throws<ArgumentException>(() => builder.AddSlab(Slices(labels, 0, 10), 0, 0, 10));
        Assert.Throws<InvalidOperationException>(() => builder.Result());
    }

    [Fact]
    public void The_nmc_surface_is_red_where_it_faces_void_and_blue_where_it_touches_electrolyte_in_the_contact_share()
    {
        // Void on the x > centre half of a shell round the sphere: contact loss about half the surface.
        var labels = ContactAndFractionTests.HalfCrackedSphere(48, 15, 3);
        var voxel = VoxelSize.Isotropic(50);
        var mesh = PhaseSurfaceBuilder.Build(labels, PhaseLabel.Nmc, voxel, new SurfaceOptions(), classifyContact: true);
        var areas = mesh.AreaByContactUm2();
        var share = areas[(int)SurfaceContact.Void] / areas.Sum();
        output.WriteLine($"void-facing share of the mesh {share:0.000}, electrolyte {areas[(int)SurfaceContact.Electrolyte] / areas.Sum():0.000}");
        Assert.InRange(share, 0.45, 0.55);
        Assert.InRange(areas[(int)SurfaceContact.Electrolyte] / areas.Sum(), 0.45, 0.55);
        // Red lies on the +x side, blue on the −x side.
        var centre = (labels.Width - 1) / 2.0 * 0.05;
        for (var i = 0; i < mesh.VertexCount; i++)
        {
            var x = mesh.Vertex(i).X;
            if (mesh.Contacts![i] == SurfaceContact.Void) Assert.True(x > centre - 0.1, $"void contact at x = {x:0.00} µm, centre {centre:0.00}");
            if (mesh.Contacts[i] == SurfaceContact.Electrolyte) Assert.True(x < centre + 0.1, $"electrolyte contact at x = {x:0.00} µm");
        }
    }

    [Fact]
    public void Decimation_meets_its_target_on_a_surface_of_many_more_triangles()
    {
        var labels = TwoParticles();
        var voxel = VoxelSize.Isotropic(50);
        var full = PhaseSurfaceBuilder.Build(labels, PhaseLabel.Nmc, voxel, new SurfaceOptions(TargetTriangles: null));
        var decimated = PhaseSurfaceBuilder.Build(labels, PhaseLabel.Nmc, voxel, new SurfaceOptions(TargetTriangles: 800));
        output.WriteLine($"{full.TriangleCount} → {decimated.TriangleCount} triangles; area {full.AreaUm2():0.000} → {decimated.AreaUm2():0.000} µm²");
        Assert.True(full.TriangleCount > 5 * 800);
        Assert.InRange(decimated.TriangleCount, 200, 800);
        Assert.InRange(decimated.AreaUm2() / full.AreaUm2(), 0.9, 1.05);
    }

    [Fact]
    public void The_decimations_cell_is_reported_and_an_origin_moves_the_mesh_before_its_cells_are_drawn()
    {
        var labels = TwoParticles();
        var voxel = VoxelSize.Isotropic(50);
        var (coarse, full, unmoved) = (Builder(800, default), Builder(null, default), Builder(800, (0, 0, 0.025)));
        var fullMoved = Builder(null, (1.6, -3.2, 0.025));
        Assert.Equal(1, full.DecimationCellVoxels);
        Assert.True(coarse.DecimationCellVoxels is 2 or 4 or 8 or 16, $"cells of {coarse.DecimationCellVoxels} voxels");
        var (plain, shifted) = (full.Result(), fullMoved.Result());
        Assert.Equal(plain.Triangles, shifted.Triangles);
        for (var i = 0; i < plain.Positions.Length; i += 3)
        {
            Assert.Equal(plain.Positions[i] + 1.6, shifted.Positions[i], 1e-5);
            Assert.Equal(plain.Positions[i + 1] - 3.2, shifted.Positions[i + 1], 1e-5);
            Assert.Equal(plain.Positions[i + 2] + 0.025, shifted.Positions[i + 2], 1e-5);
        }
        // Decimated, the cells are one grid in the origin's frame (MeshLevelTests shows a coarse level's mesh decimated on
        // the full resolution's cells): moved by half a voxel along z the vertices fall into other cells.
        Assert.NotEqual(coarse.Result().Positions, unmoved.Result().Positions);

        PhaseSurfaceBuilder Builder(int? target, (double X, double Y, double Z) origin)
        {
            var builder = new PhaseSurfaceBuilder(PhaseLabel.Nmc, voxel, labels.Depth, labels.Height, labels.Width,
                new SurfaceOptions(TaubinIterations: 0, TargetTriangles: target), originUm: origin);
            builder.AddSlab(labels, 0, 0, labels.Depth);
            return builder;
        }
    }

    /// <summary>Every edge is shared by exactly two triangles that run along it in opposite directions (closed, consistently oriented), and the enclosed volume is positive (outwards).</summary>
    internal static void AssertClosedAndOriented(SurfaceMesh mesh)
    {
        var directed = new Dictionary<(int, int), int>();
        for (var t = 0; t < mesh.Triangles.Length; t += 3)
            for (var k = 0; k < 3; k++)
            {
                var edge = (mesh.Triangles[t + k], mesh.Triangles[t + (k + 1) % 3]);
                directed[edge] = directed.GetValueOrDefault(edge) + 1;
            }
        foreach (var ((a, b), count) in directed)
        {
            Assert.True(count == 1, $"edge {a}→{b} is used {count} times in the same direction");
            Assert.True(directed.ContainsKey((b, a)), $"edge {a}→{b} has no triangle on its other side (a crack)");
        }
        Assert.True(mesh.SignedVolumeUm3() > 0, "the surface is oriented inwards");
    }

    private static Volume<byte> Slices(Volume<byte> labels, int z0, int z1)
    {
        var slab = new Volume<byte>(z1 - z0, labels.Height, labels.Width);
        Array.Copy(labels.Data, (long)z0 * labels.SliceLength, slab.Data, 0, slab.Data.LongLength);
        return slab;
    }
}
