using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SharpGLTF.Schema2;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;

namespace SsbTomo.Storage.Images;

/// <summary>
/// Surface meshes as files viewers open: glTF 2.0 binary (.glb, Khronos glTF 2.0 specification; written with SharpGLTF)
/// and binary STL. Coordinates are micrometres in the volume's (x, y, z) (z the milling direction); glTF declares no
/// unit, so a viewer that assumes metres shows the sample a million times too large but in its true proportions.
/// </summary>
public static class MeshFiles
{
    /// <summary>
    /// One glTF binary with one mesh per named surface (a node each, named as given), each in a material of the given
    /// colour, plus COLOR_0 per vertex when the surface has contact classes (<see cref="SurfaceColours.Contact"/>).
    /// </summary>
    public static byte[] Glb(IReadOnlyList<(string Name, SurfaceMesh Mesh, Rgb Colour)> surfaces)
    {
        ArgumentNullException.ThrowIfNull(surfaces);
        var model = ModelRoot.CreateModel();
        var scene = model.UseScene("SsbTomo");
        foreach (var (name, mesh, colour) in surfaces)
        {
            var material = model.CreateMaterial(name);
            material.InitializePBRMetallicRoughness();
            material.DoubleSided = true;
            var baseColour = material.FindChannel("BaseColor")!.Value;
            baseColour.Color = new System.Numerics.Vector4(colour.R / 255f, colour.G / 255f, colour.B / 255f, 1);
            var node = scene.CreateNode(name);
            if (mesh.TriangleCount == 0) continue;

            var gltfMesh = model.CreateMesh(name);
            var primitive = gltfMesh.CreatePrimitive();
            primitive.DrawPrimitiveType = PrimitiveType.TRIANGLES;
            primitive.Material = material;
            primitive.SetVertexAccessor("POSITION", VertexAccessor(model, MemoryMarshal.AsBytes(mesh.Positions.AsSpan()).ToArray(), mesh.VertexCount,
                DimensionType.VEC3, EncodingType.FLOAT, normalized: false));
            if (mesh.Contacts is { } contacts)
            {
                var rgba = new byte[4 * contacts.Length];
                for (var i = 0; i < contacts.Length; i++)
                {
                    var c = SurfaceColours.Contact(contacts[i]);
                    (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]) = (c.R, c.G, c.B, 255);
                }
                primitive.SetVertexAccessor("COLOR_0", VertexAccessor(model, rgba, contacts.Length, DimensionType.VEC4, EncodingType.UNSIGNED_BYTE, normalized: true));
            }
            var indexView = model.UseBufferView(MemoryMarshal.AsBytes(mesh.Triangles.AsSpan()).ToArray(), 0, null, 0, BufferMode.ELEMENT_ARRAY_BUFFER);
            var indices = model.CreateAccessor($"{name} indices");
            indices.SetIndexData(indexView, 0, mesh.Triangles.Length, IndexEncodingType.UNSIGNED_INT);
            primitive.SetIndexAccessor(indices);
            node.Mesh = gltfMesh;
        }
        return model.WriteGLB().ToArray();
    }

    private static Accessor VertexAccessor(ModelRoot model, byte[] bytes, int count, DimensionType dimensions, EncodingType encoding, bool normalized)
    {
        var view = model.UseBufferView(bytes, 0, null, 0, BufferMode.ARRAY_BUFFER);
        var accessor = model.CreateAccessor();
        accessor.SetVertexData(view, 0, count, new SharpGLTF.Memory.AttributeFormat(dimensions, encoding, normalized));
        return accessor;
    }

    /// <summary>
    /// Binary STL: an 80-byte header, the triangle count, and per triangle its unit normal and three vertices (float32,
    /// little-endian) and a zero attribute word. STL has no colours or units; the header says µm.
    /// </summary>
    public static byte[] Stl(SurfaceMesh mesh, string name)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        var bytes = new byte[84 + 50L * mesh.TriangleCount];
        var header = System.Text.Encoding.ASCII.GetBytes($"SsbTomo {name} surface, micrometres");
        header.AsSpan(0, Math.Min(80, header.Length)).CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(80), (uint)mesh.TriangleCount);
        var at = 84;
        for (var t = 0; t < mesh.Triangles.Length; t += 3)
        {
            var (a, b, c) = (mesh.Vertex(mesh.Triangles[t]), mesh.Vertex(mesh.Triangles[t + 1]), mesh.Vertex(mesh.Triangles[t + 2]));
            var (ux, uy, uz, vx, vy, vz) = (b.X - a.X, b.Y - a.Y, b.Z - a.Z, c.X - a.X, c.Y - a.Y, c.Z - a.Z);
            var (nx, ny, nz) = (uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx);
            var length = Math.Sqrt(nx * nx + ny * ny + nz * nz);
            if (length > 0) (nx, ny, nz) = (nx / length, ny / length, nz / length);
            foreach (var value in new[] { nx, ny, nz, a.X, a.Y, a.Z, b.X, b.Y, b.Z, c.X, c.Y, c.Z })
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at), (float)value);
                at += 4;
            }
            at += 2;
        }
        return bytes;
    }
}
