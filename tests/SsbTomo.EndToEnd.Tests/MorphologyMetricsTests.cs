using System.Globalization;
using System.Text.Json;
using SsbTomo.Cli;
using SsbTomo.Metrics;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>metrics.json's surface, contact-loss and void-morphology blocks against scipy/skimage on the run's own labels.</summary>
public class MorphologyMetricsTests
{
    [Fact]
    public async Task Surface_and_void_morphology_blocks_equal_scipy_and_skimage_on_the_runs_labels()
    {
        using var dir = new TempDirectory("ssbtomo-morphology");
        var phantom = Path.Combine(dir.Path, "phantom");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Cycled50, 24, 96, 112, 50, Seed: 5), phantom);
        var run = Path.Combine(dir.Path, "run");
        Assert.Equal(0, await RunCommand.RunAsync(Path.Combine(phantom, "stack"), run, null, 8, verbose: false, CancellationToken.None));

        var oracle = PythonOracle.Run("""
            import sys, zarr, numpy as np
            from scipy import ndimage
            from skimage import measure
            g = zarr.open_group(sys.argv[1], mode='r')
            a = g['0'][:]
            s = np.array([0.05, 0.05, 0.05])
            assert (a > 0).all()
            faces = 0
            for axis in range(3):
                lo, hi = [slice(None)] * 3, [slice(None)] * 3
                lo[axis], hi[axis] = slice(None, -1), slice(1, None)
                p, q = a[tuple(lo)], a[tuple(hi)]
                faces += int((((p == 1) & (q == 4)) | ((p == 4) & (q == 1))).sum())
            print('nmc_void_face_um2', repr(faces * 0.05 * 0.05))
            sm = ndimage.gaussian_filter((a == 1).astype(np.float64), 1.0)
            v, f, _, _ = measure.marching_cubes(sm, 0.5, spacing=tuple(s))
            print('nmc_smoothed_um2', repr(measure.mesh_surface_area(v, f)))
            dist = ndimage.distance_transform_edt(a != 1, sampling=tuple(s))
            void = a == 4
            print('near', int(void.sum()), int((void & (dist <= 0.5 * (1 + 1e-12))).sum()))
            ids, n = ndimage.label(void, structure=np.ones((3, 3, 3)))
            print('components', n)
            for axis, name in ((2, 'x'), (1, 'y'), (0, 'z')):
                first = set(np.unique(np.take(ids, 0, axis=axis))) - {0}
                last = set(np.unique(np.take(ids, -1, axis=axis))) - {0}
                print('percolates', name, bool(first & last))
            from skimage.morphology import reconstruction, local_maxima
            from skimage.segmentation import watershed
            nmc = a == 1
            d = ndimage.distance_transform_edt(nmc, sampling=tuple(s)).astype(np.float32)
            # Soille's h-maxima: regional maxima (26-connected plateaus) of the reconstruction of d - h under d, inside NMC
            # (the rest held below everything, so it joins no two particles).
            h = np.float32(0.1 * (1 - 1e-4))
            rec = reconstruction(np.where(nmc, d - h, -1), np.where(nmc, d, -1), method='dilation', footprint=np.ones((3, 3, 3)))
            markers, n = ndimage.label(local_maxima(rec, connectivity=3) & nmc, structure=np.ones((3, 3, 3)))
            particles = watershed(-d, markers, mask=nmc)
            # Parts of NMC the 6-connected flood cannot reach from a marker are particles of their own.
            pieces, count = ndimage.label(nmc & (particles == 0))
            n += count
            print('particles', n, *np.sort(np.bincount(particles.ravel())[1:])[::-1][:5])
            """, Path.Combine(run, JobResults.Labels));
        var lines = oracle.Trim().Split('\n').Select(l => l.Split(' ')).ToArray();
        string Field(string key, int i = 1) => lines.Single(l => l[0] == key)[i];
        double Number(string key, int i = 1) => double.Parse(Field(key, i), CultureInfo.InvariantCulture);

        using var metrics = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(run, "metrics.json")));
        var root = metrics.RootElement;
        var areas = root.GetProperty("surface_areas");
        Assert.Equal(Number("nmc_void_face_um2"), areas.GetProperty("face_count").GetProperty("interface_um2").GetProperty("nmc|void").GetDouble(), 9);
        Assert.InRange(areas.GetProperty("marching_cubes_smoothed").GetProperty("phase_surface_um2").GetProperty("nmc").GetDouble() / Number("nmc_smoothed_um2"), 0.995, 1.005);
        Assert.Contains("marching cubes", areas.GetProperty("marching_cubes").GetProperty("method").GetString());

        // metrics.csv beside it: every number of metrics.json, with its phase and method.
        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal("quantity,phase,value,unit,method", csv[0]);
        var voidRow = csv.Single(l => l.StartsWith("phase_fractions.void,", StringComparison.Ordinal)).Split(',');
        Assert.Equal(("void", root.GetProperty("phase_fractions").GetProperty("void").GetDouble()), (voidRow[1], double.Parse(voidRow[2], CultureInfo.InvariantCulture)));
        var interfaceRow = csv.Single(l => l.StartsWith("surface_areas.face_count.interface_um2.nmc|void,", StringComparison.Ordinal));
        Assert.Equal("nmc|void", interfaceRow.Split(',')[1]);
        Assert.Equal(Number("nmc_void_face_um2"), double.Parse(interfaceRow.Split(',')[2], CultureInfo.InvariantCulture), 9);
        Assert.Contains(MetricsReport.FaceCountMethod, interfaceRow);

        // ssbtomo measure on the run's own labels (OME-Zarr path) agrees with the Metrics stage.
        var measured = Path.Combine(dir.Path, "measured");
        Assert.Equal(0, await MeasureCommand.RunAsync(Path.Combine(run, JobResults.Labels),
            [new("nmc", 1), new("lps", 2), new("carbon", 3), new("void", 4)], null, measured, "lps", 2, CancellationToken.None));
        using (var measure = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(measured, "measure.json"))))
        {
            var m = measure.RootElement;
            Assert.Equal(50, m.GetProperty("voxel_size_nm")[0].GetDouble());
            foreach (var phase in new[] { "nmc", "lps", "carbon", "void" })
            {
                Assert.Equal(root.GetProperty("phase_fractions").GetProperty(phase).GetDouble(), m.GetProperty("volume_fractions").GetProperty("values").GetProperty(phase).GetDouble(), 12);
                Assert.Equal(areas.GetProperty("face_count").GetProperty("phase_surface_um2").GetProperty(phase).GetDouble(),
                    m.GetProperty("surface_areas").GetProperty("face_count").GetProperty("phase_surface").GetProperty(phase).GetDouble(), 9);
            }
            Assert.Equal(root.GetProperty("contact_loss").GetProperty("face_count").GetProperty("value").GetDouble(),
                m.GetProperty("contact_loss").GetProperty("face_count").GetDouble(), 12);
            Assert.InRange(m.GetProperty("tortuosity").GetProperty("tortuosity_factor").GetDouble(), 1.0, 20.0);
            // The Metrics stage solves the same system for LPS along x: the same number.
            Assert.Equal(m.GetProperty("tortuosity").GetProperty("tortuosity_factor").GetDouble(),
                root.GetProperty("tortuosity").GetProperty("paths").GetProperty("lps").GetProperty("axes").GetProperty("x").GetProperty("tortuosity_factor").GetDouble(), 12);
        }

        // Tortuosity of the ionic (LPS) and electronic (NMC + carbon) paths along every axis; the labels are all valid here,
        // so each path's volume fraction is its phases' fraction, and τ ≥ 1 (Wiener's bound D_eff ≤ ε D0).
        var tortuosity = root.GetProperty("tortuosity");
        Assert.Contains("TauFactor", tortuosity.GetProperty("method").GetString());
        var fractions = root.GetProperty("phase_fractions");
        foreach (var (path, phases) in new[] { ("lps", new[] { "lps" }), ("nmc+carbon", new[] { "nmc", "carbon" }) })
        {
            var block = tortuosity.GetProperty("paths").GetProperty(path);
            Assert.Equal(phases, block.GetProperty("phases").EnumerateArray().Select(e => e.GetString()));
            foreach (var axis in new[] { "z", "y", "x" })
            {
                var t = block.GetProperty("axes").GetProperty(axis);
                Assert.True(t.GetProperty("converged").GetBoolean(), $"{path} along {axis}");
                Assert.Equal(phases.Sum(p => fractions.GetProperty(p).GetDouble()), t.GetProperty("volume_fraction").GetDouble(), 12);
                Assert.True(t.GetProperty("percolates").GetBoolean(), $"{path} along {axis}");
                Assert.InRange(t.GetProperty("tortuosity_factor").GetDouble(), 1 - 1e-4, 50);
            }
        }
        var tauRow = csv.Single(l => l.StartsWith("tortuosity.paths.nmc+carbon.axes.z.tortuosity_factor,", StringComparison.Ordinal)).Split(',');
        Assert.Equal("nmc+carbon", tauRow[1]);

        var contact = root.GetProperty("contact_loss");
        Assert.Equal(root.GetProperty("contact_loss_fraction").GetDouble(), contact.GetProperty("face_count").GetProperty("value").GetDouble(), 12);
        foreach (var estimator in new[] { "marching_cubes", "marching_cubes_smoothed" })
            Assert.InRange(contact.GetProperty(estimator).GetProperty("value").GetDouble(), 0.0, 1.0);

        var bootstrap = root.GetProperty("phase_fraction_bootstrap");
        Assert.Equal([4, 4, 4], bootstrap.GetProperty("blocks_zyx").EnumerateArray().Select(e => e.GetInt32()));
        foreach (var phase in new[] { "nmc", "lps", "carbon", "void" })
        {
            var interval = bootstrap.GetProperty("intervals").GetProperty(phase).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.InRange(root.GetProperty("phase_fractions").GetProperty(phase).GetDouble(), interval[0], interval[1]);
        }

        var voids = root.GetProperty("void");
        var near = voids.GetProperty("near_nmc");
        Assert.Equal(0.5, near.GetProperty("distance_um").GetDouble());
        Assert.Equal((long)Number("near", 1), near.GetProperty("void_voxels").GetInt64());
        Assert.Equal((long)Number("near", 2), near.GetProperty("near_voxels").GetInt64());
        Assert.Equal((int)Number("components"), voids.GetProperty("shape").GetProperty("components").GetInt32());
        Assert.Equal((int)Number("components"), voids.GetProperty("size_distribution").GetProperty("counts").EnumerateArray().Sum(c => c.GetInt32()));
        foreach (var axis in new[] { "x", "y", "z" })
            Assert.Equal(bool.Parse(lines.Single(l => l[0] == "percolates" && l[1] == axis)[2]), voids.GetProperty("percolation").GetProperty(axis).GetBoolean());

        // Particles: h-maxima markers (h = 2 voxels) and watershed by skimage on scipy's distance give the same split.
        var particles = root.GetProperty("particles");
        Assert.Equal("particles.csv", particles.GetProperty("table").GetString());
        var rows = File.ReadAllLines(Path.Combine(run, "particles.csv")).Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal((int)Number("particles"), particles.GetProperty("count").GetInt32());
        Assert.Equal(rows.Length, particles.GetProperty("count").GetInt32());
        Assert.Equal(rows.Count(r => r[^1] == "true"), particles.GetProperty("excluded_at_border").GetInt32());
        var largest = rows.Select(r => long.Parse(r[1], CultureInfo.InvariantCulture)).OrderDescending().Take(5).ToArray();
        for (var i = 0; i < largest.Length; i++)
            Assert.InRange(largest[i], 0.99 * Number("particles", i + 2), 1.01 * Number("particles", i + 2));
    }
}
