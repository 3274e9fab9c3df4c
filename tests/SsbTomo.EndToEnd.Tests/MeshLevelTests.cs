using System.Buffers.Binary;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Reconstruction;
using SsbTomo.Storage;
using SsbTomo.Storage.Images;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>
/// The reconstruction stage meshes a phase from a coarser level of the labels' pyramid only where the decimation coarsens
/// the full resolution's mesh beyond that level's detail, and the coarse mesh sits where the full resolution's does.
/// </summary>
public class MeshLevelTests(ITestOutputHelper output)
{
    private static readonly VoxelSize Voxel = VoxelSize.Isotropic(50);

    [Fact]
    public async Task A_fine_grained_phase_is_meshed_from_the_coarser_level_in_place_and_a_smooth_one_at_full_resolution()
    {
        // 64x512x512 (two levels): electrolyte with a lattice of active-material spheres (radius 20: a smooth surface the
        // decimation keeps at one or two voxels) and, for x ≥ 260, an 8-voxel checkerboard of carbon and void
        // (3 M voxel faces each: the decimation's cells reach 8 voxels and more), its faces half-way between the cells' so
        // that no vertex lies on a cell boundary.
        var labels = new Volume<byte>(64, 512, 512);
        for (var z = 0; z < labels.Depth; z++)
            for (var y = 0; y < labels.Height; y++)
                for (var x = 0; x < labels.Width; x++)
                {
                    var (dz, dy, dx) = (z % 64 - 32, y % 64 - 32, x % 64 - 32);
                    labels[z, y, x] = x >= 260 ? ((((z + 4) >> 3) + ((y + 4) >> 3) + ((x + 4) >> 3)) % 2 == 0 ? PhaseLabel.Carbon : PhaseLabel.Void)
                        : dz * dz + dy * dy + dx * dx < 400 ? PhaseLabel.Nmc : PhaseLabel.Lps;
                }
        using var dir = new TempDirectory("ssbtomo-mesh-level");
        var store = new FileSystemBlobStore(dir.Path);
        var layout = new JobLayout("");
        int[] shape = [labels.Depth, labels.Height, labels.Width], chunks = [32, 256, 256];
        foreach (var image in new[] { layout.Raw, layout.Aligned })
            await (await OmeZarr.CreateImageAsync<ushort>(store, image, "grey", shape, chunks, Voxel))
                .WriteRegionAsync(0, 0, 0, new Volume<ushort>(labels.Depth, labels.Height, labels.Width));
        await (await OmeZarr.CreateImageAsync<byte>(store, layout.Labels, JobLayout.LabelsName, shape, chunks, Voxel))
            .WriteRegionAsync(0, 0, 0, labels);

        var times = new ReconstructionTimes();
        await JobReconstruction.RunAsync(store, layout, 256L << 20, times: times);
        output.WriteLine(string.Join(", ", Enumerable.Range(1, 4).Select(label => $"{PhaseLabel.Name((byte)label)} at level {times.MeshLevels[label]}")));

        // The spheres' mesh is the full resolution's, byte for byte.
        Assert.Equal(0, times.MeshLevels[PhaseLabel.Nmc]);
        var nmc = PhaseSurfaceBuilder.Build(labels, PhaseLabel.Nmc, Voxel, new SurfaceOptions(), classifyContact: true);
        Assert.Equal(MeshFiles.Stl(nmc, "nmc"), await store.ReadAsync(layout.Mesh("nmc", "stl")));

        foreach (var phase in new[] { PhaseLabel.Carbon, PhaseLabel.Void })
        {
            Assert.Equal(1, times.MeshLevels[phase]);
            var builder = new PhaseSurfaceBuilder(phase, Voxel, labels.Depth, labels.Height, labels.Width, new SurfaceOptions());
            builder.AddSlab(labels, 0, 0, labels.Depth);
            var full = builder.Result();
            Assert.True(builder.DecimationCellVoxels >= 2 * JobReconstruction.MeshCellLevelVoxels,
                $"the full resolution's cells are {builder.DecimationCellVoxels} voxels");
            var coarse = StlVertices((await store.ReadAsync(layout.Mesh(PhaseLabel.Name(phase), "stl")))!);
            var fine = StlVertices(MeshFiles.Stl(full, "full"));
            output.WriteLine($"{PhaseLabel.Name(phase)}: {full.TriangleCount} triangles at full resolution (cells of {builder.DecimationCellVoxels} voxels), "
                + $"{coarse.Count / 3} from level 1; centroid {Centroid(fine)} against {Centroid(coarse)}");
            // Same place: the centroid within a fifth of a voxel of the full resolution's (without the coarse level's half-voxel
            // shift it is off by about half a voxel along every axis). The extremes are not compared: the decimation places
            // them, and a sliver thinner than two coarse voxels at the volume's edge is lost at level 1.
            var (a, b) = (Centroid(fine), Centroid(coarse));
            Assert.InRange(Math.Abs(a.X - b.X), 0, 0.01);
            Assert.InRange(Math.Abs(a.Y - b.Y), 0, 0.01);
            Assert.InRange(Math.Abs(a.Z - b.Z), 0, 0.01);
        }
    }

    private static (double X, double Y, double Z) Centroid(IReadOnlyList<(double X, double Y, double Z)> vertices) =>
        (vertices.Average(v => v.X), vertices.Average(v => v.Y), vertices.Average(v => v.Z));

    /// <summary>Every triangle's three vertices of a binary STL, as they are listed (a vertex once per triangle it is in).</summary>
    private static List<(double X, double Y, double Z)> StlVertices(byte[] stl)
    {
        var count = BinaryPrimitives.ReadUInt32LittleEndian(stl.AsSpan(80));
        var vertices = new List<(double, double, double)>();
        for (var t = 0; t < count; t++)
            for (var k = 0; k < 3; k++)
            {
                var at = 84 + 50 * t + 12 + 12 * k;
                vertices.Add((BinaryPrimitives.ReadSingleLittleEndian(stl.AsSpan(at)), BinaryPrimitives.ReadSingleLittleEndian(stl.AsSpan(at + 4)),
                    BinaryPrimitives.ReadSingleLittleEndian(stl.AsSpan(at + 8))));
            }
        return vertices;
    }
}
