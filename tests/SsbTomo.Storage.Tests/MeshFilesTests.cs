using System.Buffers.Binary;
using SharpGLTF.Schema2;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Storage.Images;

namespace SsbTomo.Storage.Tests;

public class MeshFilesTests
{
    /// <summary>
    /// An NMC ball of radius 1 µm centred at (x, y, z) = (1.3, 1.2, 1.6) µm in 50×50×100 nm voxels, half of it facing void
    /// (x above the centre), meshed as the pipeline meshes.
    /// </summary>
    private static SurfaceMesh Ball()
    {
        var voxel = new VoxelSize(50, 50, 100);
        var labels = new Volume<byte>(33, 49, 53);
        for (var z = 0; z < labels.Depth; z++)
            for (var y = 0; y < labels.Height; y++)
                for (var x = 0; x < labels.Width; x++)
                {
                    var (px, py, pz) = (x * 0.05 - 1.3, y * 0.05 - 1.2, z * 0.1 - 1.6);
                    var r = Math.Sqrt(px * px + py * py + pz * pz);
                    labels[z, y, x] = r <= 1 ? PhaseLabel.Nmc : px > 0 && r <= 1.2 ? PhaseLabel.Void : PhaseLabel.Lps;
                }
        return PhaseSurfaceBuilder.Build(labels, PhaseLabel.Nmc, voxel, new SurfaceOptions(TargetTriangles: 4000), classifyContact: true);
    }

    [Fact]
    public void A_glb_loads_back_through_sharpgltf_with_the_balls_bounds_in_micrometres_and_its_contact_colours()
    {
        var mesh = Ball();
        var glb = MeshFiles.Glb([("nmc", mesh, new Rgb(31, 119, 180)), ("void", SurfaceMesh.Empty, new Rgb(214, 39, 40))]);

        var model = ModelRoot.ParseGLB(glb);
        var primitive = model.LogicalMeshes.Single(m => m.Name == "nmc").Primitives.Single();
        var positions = primitive.GetVertexAccessor("POSITION").AsVector3Array();
        Assert.Equal(mesh.VertexCount, positions.Count);
        var (min, max) = (positions.Aggregate(System.Numerics.Vector3.Min), positions.Aggregate(System.Numerics.Vector3.Max));
        // The ball spans centre ± 1 µm on every axis; the smoothed surface lies within half a voxel of it.
        Assert.Equal(0.3, min.X, 0.03);
        Assert.Equal(2.3, max.X, 0.03);
        Assert.Equal(0.2, min.Y, 0.03);
        Assert.Equal(2.2, max.Y, 0.03);
        Assert.Equal(0.6, min.Z, 0.06);
        Assert.Equal(2.6, max.Z, 0.06);
        var bounds = primitive.GetVertexAccessor("POSITION").Bounds;
        Assert.Equal(min.X, bounds.Min[0], 6);
        Assert.Equal(max.Z, bounds.Max[2], 6);
        Assert.Equal(mesh.Triangles.Select(i => (uint)i), primitive.GetIndices());

        // Red on the +x half (void), blue on the −x half (electrolyte).
        var colours = primitive.GetVertexAccessor("COLOR_0").AsColorArray(1f);
        for (var i = 0; i < positions.Count; i++)
        {
            var c = colours[i];
            if (positions[i].X > 1.45) Assert.True(c.X > 0.8 && c.Z < 0.2, $"vertex at x = {positions[i].X} is {c}, not red");
            if (positions[i].X < 1.15) Assert.True(c.Z > 0.8 && c.X < 0.2, $"vertex at x = {positions[i].X} is {c}, not blue");
        }
        Assert.Equal(2, model.DefaultScene.VisualChildren.Count());
        Assert.Null(model.DefaultScene.VisualChildren.Single(n => n.Name == "void").Mesh);
    }

    [Fact]
    public void A_binary_stl_holds_every_triangle_with_its_outward_normal()
    {
        var mesh = Ball();
        var stl = MeshFiles.Stl(mesh, "nmc");
        Assert.Equal(84 + 50 * mesh.TriangleCount, stl.Length);
        Assert.Equal((uint)mesh.TriangleCount, BinaryPrimitives.ReadUInt32LittleEndian(stl.AsSpan(80)));
        var outward = 0;
        for (var t = 0; t < mesh.TriangleCount; t++)
        {
            float F(int k) => BinaryPrimitives.ReadSingleLittleEndian(stl.AsSpan(84 + 50 * t + 4 * k));
            var a = mesh.Vertex(mesh.Triangles[3 * t]);
            Assert.Equal((float)a.X, F(3));
            Assert.Equal((float)a.Z, F(5));
            // The normal points away from the ball's centre.
            if (F(0) * (a.X - 1.3) + F(1) * (a.Y - 1.2) + F(2) * (a.Z - 1.6) > 0) outward++;
        }
        Assert.True(outward > 0.99 * mesh.TriangleCount, $"{outward} of {mesh.TriangleCount} normals point outwards");
    }
}
