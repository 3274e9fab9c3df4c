using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Imaging.Tests.Measurement;

namespace SsbTomo.Imaging.Tests.Reconstruction;

public class MeshRendererTests
{
    private static SurfaceMesh Sphere(double shiftXUm, double shiftYUm)
    {
        var voxel = VoxelSize.Isotropic(100);
        var mesh = PhaseSurfaceBuilder.Build(SurfaceAreaTests.Ball(800, voxel), PhaseLabel.Nmc, voxel, new SurfaceOptions(TargetTriangles: 3000));
        var positions = (float[])mesh.Positions.Clone();
        for (var i = 0; i < positions.Length; i += 3)
        {
            positions[i] += (float)shiftXUm;
            positions[i + 1] += (float)shiftYUm;
        }
        return mesh with { Positions = positions };
    }

    [Fact]
    public void Each_mesh_appears_in_shades_of_its_own_colour_where_it_lies_and_the_rest_stays_white()
    {
        var (red, blue) = (new Rgb(200, 40, 40), new Rgb(30, 60, 210));
        const int width = 200, height = 150;
        // Red sphere at larger x (drawn to the right), blue one at larger y (drawn lower), as in the slices.
        var rgb = MeshRenderer.Render([MeshLayer.Uniform(Sphere(4, 0), red), MeshLayer.Uniform(Sphere(0, 0), blue), MeshLayer.Uniform(Sphere(0, 4), blue)],
            width, height);
        var (redX, redY, redCount) = (0.0, 0.0, 0);
        var (blueCount, white) = (0, 0);
        var shades = new HashSet<byte>();
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var at = (y * width + x) * 3;
                var (r, g, b) = (rgb[at], rgb[at + 1], rgb[at + 2]);
                if (r == 255 && g == 255 && b == 255) { white++; continue; }
                if (IsShadeOf(red, r, g, b)) { redX += x; redY += y; redCount++; shades.Add(r); }
                else if (IsShadeOf(blue, r, g, b)) blueCount++;
                else Assert.Fail($"pixel ({y}, {x}) = ({r}, {g}, {b}) is neither white nor a shade of either colour");
            }
        Assert.True(redCount > 500 && blueCount > 1000 && white > width * height / 4, $"red {redCount}, blue {blueCount}, white {white}");
        Assert.True(shades.Count > 10, "no shading");
        Assert.True(redX / redCount > width / 2.0, "the sphere at larger x is not on the right");
        Assert.True(redY / redCount < height / 2.0, "the sphere at smaller y is not in the upper half");
    }

    [Fact]
    public void Nothing_to_draw_is_a_white_image()
    {
        var rgb = MeshRenderer.Render([MeshLayer.Uniform(SurfaceMesh.Empty, new Rgb(1, 2, 3))], 4, 3);
        Assert.All(rgb, v => Assert.Equal(255, v));
    }

    /// <summary>The pixel is the colour scaled by one shade factor (Lambert shading), up to rounding.</summary>
    internal static bool IsShadeOf(Rgb colour, byte r, byte g, byte b)
    {
        var s = (r + g + b) / (double)(colour.R + colour.G + colour.B);
        return s >= MeshRenderer.Ambient - 0.02 && s <= 1.02
            && Math.Abs(r - colour.R * s) <= 2 && Math.Abs(g - colour.G * s) <= 2 && Math.Abs(b - colour.B * s) <= 2;
    }
}

public class ParticleViewTests
{
    [Fact]
    public void The_view_takes_the_largest_whole_particle_and_the_void_around_it_by_contact()
    {
        // Three NMC balls in LPS: a large one cut by the x = 0 face, a whole one of radius 9 half wrapped in a void shell
        // (+x side) and a whole smaller one of radius 6.
        var labels = new Volume<byte>(40, 40, 90);
        var voxel = VoxelSize.Isotropic(50);
        for (var z = 0; z < labels.Depth; z++)
            for (var y = 0; y < labels.Height; y++)
                for (var x = 0; x < labels.Width; x++)
                {
                    double D(double cz, double cy, double cx) => Math.Sqrt((z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx));
                    var (cut, large, small) = (D(20, 20, 3), D(20, 20, 40), D(20, 20, 72));
                    labels[z, y, x] = cut <= 14 || large <= 9 || small <= 6 ? PhaseLabel.Nmc
                        : x > 40 && large <= 12 ? PhaseLabel.Void : PhaseLabel.Lps;
                }
        var separated = Imaging.Measurement.NmcParticles.Separate(labels, voxel);
        var particles = Imaging.Measurement.NmcParticles.Measure(labels, separated, voxel);
        var (particle, particleMesh, voidMesh) = SurfaceViews.ParticleSurroundings(labels, separated, particles, voxel, new SurfaceOptions())!.Value;

        Assert.Equal(2.0, particle.CentroidZyxUm[2], 0.05); // x = 40 voxels of 50 nm: the radius-9 ball, not the larger cut one
        Assert.False(particle.TouchesBorder);
        var areas = particleMesh.AreaByContactUm2();
        Assert.InRange(areas[(int)SurfaceContact.Void] / areas.Sum(), 0.35, 0.65);
        Assert.True(voidMesh.TriangleCount > 100);
        // In the volume's coordinates: the particle mesh is centred on its ball.
        var meanX = Enumerable.Range(0, particleMesh.VertexCount).Average(i => particleMesh.Vertex(i).X);
        Assert.Equal(2.0, meanX, 0.1);

        var rgb = SurfaceViews.RenderParticle(particleMesh, voidMesh);
        var (blue, red, voids) = (0, 0, 0);
        for (var at = 0; at < rgb.Length; at += 3)
        {
            if (MeshRendererTests.IsShadeOf(SurfaceColours.ContactBlue, rgb[at], rgb[at + 1], rgb[at + 2])) blue++;
            else if (MeshRendererTests.IsShadeOf(SurfaceColours.ContactLossRed, rgb[at], rgb[at + 1], rgb[at + 2])) red++;
            else if (MeshRendererTests.IsShadeOf(PhaseLabel.Colours[PhaseLabel.Void]!.Value, rgb[at], rgb[at + 1], rgb[at + 2])) voids++;
        }
        Assert.True(blue > 1000 && voids > 1000, $"blue {blue}, red {red}, void {voids} pixels");
    }

    [Fact]
    public void No_view_when_every_particle_is_cut_by_the_border_or_too_small()
    {
        var labels = new Volume<byte>(6, 30, 30);
        Array.Fill(labels.Data, PhaseLabel.Lps);
        for (var z = 0; z < 6; z++)
            for (var y = 5; y < 25; y++)
                for (var x = 5; x < 25; x++) labels[z, y, x] = PhaseLabel.Nmc; // a slab through the whole thickness
        labels[3, 1, 1] = PhaseLabel.Nmc; // a one-voxel fragment, whole but too small
        var voxel = VoxelSize.Isotropic(50);
        var separated = Imaging.Measurement.NmcParticles.Separate(labels, voxel);
        var particles = Imaging.Measurement.NmcParticles.Measure(labels, separated, voxel);
        Assert.Contains(particles, p => !p.TouchesBorder);
        Assert.Null(SurfaceViews.ParticleSurroundings(labels, separated, particles, voxel, new SurfaceOptions()));
    }
}
