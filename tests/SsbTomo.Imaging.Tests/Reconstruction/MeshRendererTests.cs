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
