namespace SsbTomo.Imaging.Reconstruction;

/// <summary>What lies on the other side of a phase's surface at a vertex (used to colour the NMC surface, paper Fig. 4d,e).</summary>
public enum SurfaceContact : byte
{
    /// <summary>Not classified: the phase itself, outside the valid region or beyond the volume's edge.</summary>
    None = 0,
    /// <summary>Touches the solid electrolyte (LPS): ionic contact.</summary>
    Electrolyte = 1,
    /// <summary>Touches void: contact loss.</summary>
    Void = 2,
    /// <summary>Touches carbon.</summary>
    Carbon = 3,
}

/// <summary>
/// A triangle mesh in micrometres: vertex i at (X, Y, Z) = (<see cref="Positions"/>[3i], [3i+1], [3i+2]) with x and y the
/// slice's columns and rows and z the milling direction, triangles counter-clockwise seen from outside the phase
/// (right-handed x, y, z), optionally one contact class per vertex.
/// </summary>
public sealed record SurfaceMesh(float[] Positions, int[] Triangles, SurfaceContact[]? Contacts)
{
    public static SurfaceMesh Empty { get; } = new([], [], null);

    public int VertexCount => Positions.Length / 3;
    public int TriangleCount => Triangles.Length / 3;

    /// <summary>Total area of the triangles, µm².</summary>
    public double AreaUm2()
    {
        var area = 0.0;
        for (var t = 0; t < Triangles.Length; t += 3) area += TriangleArea(t);
        return area;
    }

    /// <summary>Enclosed volume by the divergence theorem (µm³): positive for a closed mesh oriented outwards.</summary>
    public double SignedVolumeUm3()
    {
        var volume = 0.0;
        for (var t = 0; t < Triangles.Length; t += 3)
        {
            var (a, b, c) = (Vertex(Triangles[t]), Vertex(Triangles[t + 1]), Vertex(Triangles[t + 2]));
            volume += (a.X * (b.Y * c.Z - b.Z * c.Y) - a.Y * (b.X * c.Z - b.Z * c.X) + a.Z * (b.X * c.Y - b.Y * c.X)) / 6;
        }
        return volume;
    }

    /// <summary>Area of the triangles by the contact class of their vertices (each triangle's area shared equally by its three vertices), µm².</summary>
    public double[] AreaByContactUm2()
    {
        var areas = new double[Enum.GetValues<SurfaceContact>().Length];
        if (Contacts is null) return areas;
        for (var t = 0; t < Triangles.Length; t += 3)
        {
            var third = TriangleArea(t) / 3;
            for (var k = 0; k < 3; k++) areas[(int)Contacts[Triangles[t + k]]] += third;
        }
        return areas;
    }

    public (double X, double Y, double Z) Vertex(int i) => (Positions[3 * i], Positions[3 * i + 1], Positions[3 * i + 2]);

    private double TriangleArea(int t)
    {
        var (a, b, c) = (Vertex(Triangles[t]), Vertex(Triangles[t + 1]), Vertex(Triangles[t + 2]));
        var (ux, uy, uz) = (b.X - a.X, b.Y - a.Y, b.Z - a.Z);
        var (vx, vy, vz) = (c.X - a.X, c.Y - a.Y, c.Z - a.Z);
        var (nx, ny, nz) = (uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx);
        return 0.5 * Math.Sqrt(nx * nx + ny * ny + nz * nz);
    }
}
