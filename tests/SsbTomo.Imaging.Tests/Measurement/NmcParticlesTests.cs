using System.Globalization;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Tests.Segmentation;
using SsbTomo.TestSupport;

namespace SsbTomo.Imaging.Tests.Measurement;

public sealed class NmcParticlesTests
{
    /// <summary>NMC balls (centre z, y, x and radius in voxels) in LPS.</summary>
    private static Volume<byte> Balls(int depth, int height, int width, params (double Z, double Y, double X, double R)[] balls)
    {
        var v = new Volume<byte>(depth, height, width);
        Array.Fill(v.Data, PhaseLabel.Lps);
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    foreach (var b in balls)
                        if ((z - b.Z) * (z - b.Z) + (y - b.Y) * (y - b.Y) + (x - b.X) * (x - b.X) <= b.R * b.R)
                            v[z, y, x] = PhaseLabel.Nmc;
        return v;
    }

    [Fact]
    public void Two_touching_balls_become_two_particles_and_one_ball_stays_one()
    {
        var voxel = VoxelSize.Isotropic(50);
        var pair = Balls(30, 30, 46, (15, 15, 13, 9), (15, 15, 29, 8));
        var split = NmcParticles.Separate(pair, voxel);
        Assert.Equal(2, split.Count);
        var particles = NmcParticles.Measure(pair, split, voxel);
        // Each particle keeps its own ball (the neck is shared between them).
        var sizes = particles.Select(p => p.Voxels).Order().ToArray();
        Assert.InRange(sizes[0], 0.93 * 4 / 3.0 * Math.PI * 512, 1.07 * 4 / 3.0 * Math.PI * 512);
        Assert.InRange(sizes[1], 0.93 * 4 / 3.0 * Math.PI * 729, 1.07 * 4 / 3.0 * Math.PI * 729);

        var anisotropic = new VoxelSize(XNm: 20, YNm: 20, ZNm: 40);
                var ball = new Volume<byte>(16, 36, 36);
        for (var z = 0; z < 16; z++)
            for (var y = 0; y < 36; y++)
                for (var x = 0; x < 36; x++)
                    ball[z, y, x] = Math.Pow((z - 8) * 40, 2) + Math.Pow((y - 18) * 20, 2) + Math.Pow((x - 18) * 20, 2) <= 240 * 240 ? PhaseLabel.Nmc : PhaseLabel.Lps;
        var single = NmcParticles.Measure(ball, NmcParticles.Separate(ball, anisotropic), anisotropic);
        var particle = Assert.Single(single);
        Assert.Equal(0.48, particle.EquivalentDiameterUm, 0.03);
        Assert.False(particle.TouchesBorder);
        Assert.Equal([0.32, 0.36, 0.36], particle.CentroidZyxUm.Select(c => Math.Round(c, 2)));
    }

    [Fact]
    public void A_void_cap_on_one_side_is_one_sided_and_an_even_void_shell_is_not()
    {
        var voxel = VoxelSize.Isotropic(40);
        var cap = Balls(40, 40, 40, (20, 20, 20, 11));
        var shell = cap.Clone();
        for (var z = 0; z < 40; z++)
            for (var y = 0; y < 40; y++)
                for (var x = 0; x < 40; x++)
                {
                    var r = Math.Sqrt((z - 20) * (z - 20) + (y - 20) * (y - 20) + (x - 20) * (x - 20));
                    if (cap[z, y, x] != PhaseLabel.Nmc && z >= 28) cap[z, y, x] = PhaseLabel.Void;
                    if (shell[z, y, x] != PhaseLabel.Nmc && r <= 13) shell[z, y, x] = PhaseLabel.Void;
                }

        var capped = Assert.Single(NmcParticles.Measure(cap, NmcParticles.Separate(cap, voxel), voxel));
        var shelled = Assert.Single(NmcParticles.Measure(shell, NmcParticles.Separate(shell, voxel), voxel));

        // The cap's surface normals lie within ~45° of +z: the exact mean normal length of such a cap is (1 + cos 45°)/2 = 0.85.
        Assert.InRange(capped.OneSidedness, 0.8, 0.92);
        Assert.InRange(capped.ContactLossFraction, 0.05, 0.3);
        Assert.InRange(shelled.OneSidedness, 0, 0.03);
        Assert.Equal(1.0, shelled.ContactLossFraction, 12);
        Assert.Equal(shelled.SurfaceAreaUm2, shelled.VoidContactAreaUm2, 12);
    }

    [Fact]
    public void Particles_cut_by_the_volume_edge_or_the_crop_are_flagged()
    {
        var voxel = VoxelSize.Isotropic(50);
        var v = Balls(24, 24, 60, (12, 12, 2, 6), (12, 12, 30, 6), (12, 12, 50, 6));
        // The third ball borders the region outside the aligned crop.
        for (var z = 0; z < 24; z++)
            for (var y = 0; y < 24; y++)
                v[z, y, 59] = PhaseLabel.Outside;
        v[12, 12, 57] = PhaseLabel.Outside;
        var particles = NmcParticles.Measure(v, NmcParticles.Separate(v, voxel), voxel);
        Assert.Equal([true, false, true], particles.OrderBy(p => p.CentroidZyxUm[2]).Select(p => p.TouchesBorder));
    }

    [Fact]
    public void The_flood_and_the_h_maxima_markers_equal_skimage_watershed_and_reconstruction_on_packed_balls()
    {
        // 27 balls on a jittered grid, 11 voxels apart with radii 4.5-6.5: most touch a neighbour through a neck.
        var random = new Random(3);
        var balls = (from i in Enumerable.Range(0, 3) from j in Enumerable.Range(0, 3) from k in Enumerable.Range(0, 3)
                     select (6 + 11 * i + random.NextDouble() * 2 - 1, 6 + 11 * j + random.NextDouble() * 2 - 1, 6 + 11 * k + random.NextDouble() * 2 - 1,
                         4.5 + 2 * random.NextDouble())).ToArray();
        var v = Balls(32, 40, 44, balls);
        var voxel = VoxelSize.Isotropic(1);
        var squared = DistanceTransform.SquaredNm2(v, l => l != PhaseLabel.Nmc, voxel);
        var distance = squared.Select(d => (float)Math.Sqrt(d)).ToArray();
        var mask = v.Data.Select(l => l == PhaseLabel.Nmc).ToArray();
        var (markers, count) = MarkerWatershed.HMaximaMarkers(distance, mask, 32, 40, 44, 2f);
        var ids = MarkerWatershed.Flood(distance, mask, markers, 32, 40, 44);

        using var dir = new TempDirectory();
        OracleIo.Write(Path.Combine(dir.Path, "distance.raw"), distance);
        OracleIo.Write(Path.Combine(dir.Path, "markers.raw"), markers);
        var output = PythonOracle.Run(OracleIo.Python("""
            from skimage.segmentation import watershed
            from skimage.morphology import reconstruction, local_maxima
            from scipy import ndimage
            d = sys.argv[1]
            dist = np.fromfile(d + '/distance.raw', dtype='<f4').reshape((32, 40, 44))
            markers = np.fromfile(d + '/markers.raw', dtype='<i4').reshape((32, 40, 44))
            ids = watershed(-dist, markers, mask=dist > 0)
            ids.astype('<i4').tofile(d + '/ids.raw')
            inside = dist > 0
            h = np.float32(2 * (1 - 1e-4))
            rec = reconstruction(np.where(inside, dist - h, -1), np.where(inside, dist, -1), method='dilation', footprint=np.ones((3, 3, 3)))
            _, n = ndimage.label(local_maxima(rec, connectivity=3) & inside, structure=np.ones((3, 3, 3)))
            print(n)
            """), dir.Path);
        Assert.Equal(int.Parse(output.Trim(), CultureInfo.InvariantCulture), count);
        Assert.True(count >= 20, $"{count} particles from 27 touching balls (some cut by the edge)");
        var expected = OracleIo.Read<int>(Path.Combine(dir.Path, "ids.raw"));
        var differing = expected.Zip(ids).Count(p => p.First != p.Second);
        Assert.True(differing <= mask.Count(m => m) / 500, $"{differing} of {mask.Count(m => m)} voxels differ from skimage's watershed");
    }
}
