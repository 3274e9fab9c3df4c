namespace SsbTomo.Imaging.Reconstruction;

/// <summary>One mesh to draw and a colour per vertex.</summary>
public sealed record MeshLayer(SurfaceMesh Mesh, Rgb[] VertexColours)
{
    /// <summary>The whole mesh in one colour.</summary>
    public static MeshLayer Uniform(SurfaceMesh mesh, Rgb colour)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        return new MeshLayer(mesh, Enumerable.Repeat(colour, mesh.VertexCount).ToArray());
    }

    /// <summary>Each vertex in the colour of its contact class (<see cref="SurfaceColours.Contact"/>).</summary>
    public static MeshLayer ByContact(SurfaceMesh mesh)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        if (mesh.Contacts is null) throw new ArgumentException("the mesh has no contact classes", nameof(mesh));
        return new MeshLayer(mesh, Array.ConvertAll(mesh.Contacts, SurfaceColours.Contact));
    }
}

/// <summary>Colours of the 3D views.</summary>
public static class SurfaceColours
{
    /// <summary>The NMC surface by what it touches, as the paper's Fig. 4(d,e): blue in contact with the electrolyte, red
    /// where it faces void (contact loss); carbon in the carbon phase's green, anything else grey.</summary>
    public static Rgb Contact(SurfaceContact contact) => contact switch
    {
        SurfaceContact.Electrolyte => ContactBlue,
        SurfaceContact.Void => ContactLossRed,
        SurfaceContact.Carbon => PhaseLabel.Colours[PhaseLabel.Carbon]!.Value,
        _ => Unclassified,
    };

    public static readonly Rgb ContactBlue = new(40, 90, 230);
    public static readonly Rgb ContactLossRed = new(230, 30, 30);
    public static readonly Rgb Unclassified = new(170, 170, 170);
}

/// <summary>
/// A small software rasteriser for headless 3D views of surface meshes: a fixed orthographic camera looking down on the
/// volume from 45° around the vertical and 30° above it (an isometric-like view: the first milled slice, the top rows and
/// the last columns face the viewer), a depth buffer, and Lambert shading (Lambert 1760; flat per triangle, two-sided, with
/// an ambient share so faces turned away stay legible). A triangle takes the colour most of its vertices have. No GPU, no
/// library: the same PNG on every machine.
/// </summary>
public static class MeshRenderer
{
    /// <summary>Share of the colour a face keeps when it is turned away from the light.</summary>
    public const double Ambient = 0.35;

    private const double AzimuthDegrees = 45, ElevationDegrees = 30;

    /// <summary>
    /// The layers drawn together into a <paramref name="width"/>×<paramref name="height"/> RGB image (3 bytes per pixel,
    /// row by row) on white, the union of their vertices scaled to fill it with a margin.
    /// </summary>
    public static byte[] Render(IReadOnlyList<MeshLayer> layers, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)255);
        var depth = new double[width * height];
        Array.Fill(depth, double.NegativeInfinity);

        var (right, up, toCamera) = Camera();
        var light = Normalise(Add(toCamera, Add(Scale(up, 0.6), Scale(right, -0.4))));
        // World frame: (x, −y, −z) is a rotation of the volume's (x, y, z), so the view is not mirrored and rows go down.
        static (double, double, double) World(SurfaceMesh mesh, int i)
        {
            var (x, y, z) = mesh.Vertex(i);
            return (x, -y, -z);
        }
        double minX = double.PositiveInfinity, maxX = double.NegativeInfinity, minY = double.PositiveInfinity, maxY = double.NegativeInfinity;
        foreach (var layer in layers)
            for (var i = 0; i < layer.Mesh.VertexCount; i++)
            {
                var p = World(layer.Mesh, i);
                var (sx, sy) = (Dot(p, right), Dot(p, up));
                (minX, maxX, minY, maxY) = (Math.Min(minX, sx), Math.Max(maxX, sx), Math.Min(minY, sy), Math.Max(maxY, sy));
            }
        if (minX > maxX) return rgb;
        var margin = 0.04 * Math.Min(width, height);
        var scale = Math.Min((width - 2 * margin) / Math.Max(maxX - minX, 1e-12), (height - 2 * margin) / Math.Max(maxY - minY, 1e-12));
        var (offsetX, offsetY) = ((width - scale * (maxX - minX)) / 2, (height - scale * (maxY - minY)) / 2);

        Span<double> px = stackalloc double[3], py = stackalloc double[3], pz = stackalloc double[3];
        foreach (var layer in layers)
        {
            var mesh = layer.Mesh;
            for (var t = 0; t < mesh.Triangles.Length; t += 3)
            {
                var (a, b, c) = (World(mesh, mesh.Triangles[t]), World(mesh, mesh.Triangles[t + 1]), World(mesh, mesh.Triangles[t + 2]));
                var normal = Cross(Sub(b, a), Sub(c, a));
                var length = Math.Sqrt(Dot(normal, normal));
                if (length == 0) continue;
                var shade = Ambient + (1 - Ambient) * Math.Abs(Dot(normal, light)) / length;
                var colour = Majority(layer.VertexColours[mesh.Triangles[t]], layer.VertexColours[mesh.Triangles[t + 1]], layer.VertexColours[mesh.Triangles[t + 2]]);
                var (r, g, bl) = ((byte)Math.Round(colour.R * shade), (byte)Math.Round(colour.G * shade), (byte)Math.Round(colour.B * shade));
                var k = 0;
                foreach (var p in new[] { a, b, c })
                {
                    px[k] = offsetX + (Dot(p, right) - minX) * scale;
                    py[k] = offsetY + (maxY - Dot(p, up)) * scale;
                    pz[k] = Dot(p, toCamera);
                    k++;
                }
                Fill(px, py, pz, width, height, depth, rgb, r, g, bl);
            }
        }
        return rgb;
    }

    /// <summary>Fills the pixels whose centres lie in the triangle and in front of what is drawn there.</summary>
    private static void Fill(ReadOnlySpan<double> px, ReadOnlySpan<double> py, ReadOnlySpan<double> pz, int width, int height, double[] depth, byte[] rgb,
        byte r, byte g, byte b)
    {
        var area = (px[1] - px[0]) * (py[2] - py[0]) - (px[2] - px[0]) * (py[1] - py[0]);
        if (area == 0) return;
        var x0 = Math.Max(0, (int)Math.Floor(Math.Min(px[0], Math.Min(px[1], px[2]))));
        var x1 = Math.Min(width - 1, (int)Math.Ceiling(Math.Max(px[0], Math.Max(px[1], px[2]))));
        var y0 = Math.Max(0, (int)Math.Floor(Math.Min(py[0], Math.Min(py[1], py[2]))));
        var y1 = Math.Min(height - 1, (int)Math.Ceiling(Math.Max(py[0], Math.Max(py[1], py[2]))));
        for (var y = y0; y <= y1; y++)
            for (var x = x0; x <= x1; x++)
            {
                double cx = x + 0.5, cy = y + 0.5;
                var w0 = ((px[1] - cx) * (py[2] - cy) - (px[2] - cx) * (py[1] - cy)) / area;
                var w1 = ((px[2] - cx) * (py[0] - cy) - (px[0] - cx) * (py[2] - cy)) / area;
                var w2 = 1 - w0 - w1;
                if (w0 < 0 || w1 < 0 || w2 < 0) continue;
                var z = w0 * pz[0] + w1 * pz[1] + w2 * pz[2];
                var at = y * width + x;
                if (z <= depth[at]) continue;
                depth[at] = z;
                (rgb[3 * at], rgb[3 * at + 1], rgb[3 * at + 2]) = (r, g, b);
            }
    }

    private static Rgb Majority(Rgb a, Rgb b, Rgb c) => b == c ? b : a;

    /// <summary>Screen right, screen up and the direction to the camera, in the world frame (x, −y, −z).</summary>
    private static ((double, double, double) Right, (double, double, double) Up, (double, double, double) ToCamera) Camera()
    {
        var (az, el) = (AzimuthDegrees * Math.PI / 180, ElevationDegrees * Math.PI / 180);
        var toCamera = (Math.Cos(el) * Math.Sin(az), Math.Sin(el), Math.Cos(el) * Math.Cos(az));
        var right = Normalise(Cross(Scale(toCamera, -1), (0.0, 1.0, 0.0)));
        var up = Cross(right, Scale(toCamera, -1));
        return (right, up, toCamera);
    }

    private static double Dot((double X, double Y, double Z) a, (double X, double Y, double Z) b) => a.X * b.X + a.Y * b.Y + a.Z * b.Z;
    private static (double, double, double) Cross((double X, double Y, double Z) a, (double X, double Y, double Z) b) =>
        (a.Y * b.Z - a.Z * b.Y, a.Z * b.X - a.X * b.Z, a.X * b.Y - a.Y * b.X);
    private static (double, double, double) Sub((double X, double Y, double Z) a, (double X, double Y, double Z) b) => (a.X - b.X, a.Y - b.Y, a.Z - b.Z);
    private static (double, double, double) Add((double X, double Y, double Z) a, (double X, double Y, double Z) b) => (a.X + b.X, a.Y + b.Y, a.Z + b.Z);
    private static (double, double, double) Scale((double X, double Y, double Z) a, double s) => (a.X * s, a.Y * s, a.Z * s);
    private static (double, double, double) Normalise((double X, double Y, double Z) a) => Scale(a, 1 / Math.Sqrt(Dot(a, a)));
}
