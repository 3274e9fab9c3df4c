using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Phantom;
using SsbTomo.Storage;
using SsbTomo.TestSupport;
using Xunit.Abstractions;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>A phantom wider than 256 px (so every volume gets a second level) through the whole embedded pipeline.</summary>
public sealed class WidePhantomRunFixture() : PhantomRun(new PhantomOptions(PhantomPreset.Cycled50, 24, 160, 300, 50, Seed: 5));

/// <summary>
/// What a scientist opens: every level of raw.zarr, aligned.zarr and the label image read back by zarr-python with the
/// values the pipeline wrote, their NGFF 0.4 metadata, the previews' colours, and report.html in a real browser.
/// </summary>
public class ReconstructionOutputTests(WidePhantomRunFixture run, ITestOutputHelper output) : IClassFixture<WidePhantomRunFixture>
{
    private static readonly JobLayout Layout = new("");

    [Fact]
    public async Task Zarr_python_reads_every_level_of_every_volume_as_written_and_the_metadata_is_ngff_0_4()
    {
        Assert.Equal(0, run.ExitCode);
        var store = new FileSystemBlobStore(run.RunDir);
        var expected = new List<string>();
        foreach (var image in new[] { Layout.Raw, Layout.Aligned })
            expected.AddRange(await LevelLinesAsync<ushort>(store, image, "uint16"));
        expected.AddRange(await LevelLinesAsync<byte>(store, Layout.Labels, "uint8"));

        var lines = NgffOracle.Inspect(Path.Combine(run.RunDir, Layout.Raw), Path.Combine(run.RunDir, Layout.Aligned))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine(string.Join('\n', lines));
        Assert.Equal(expected.Order(StringComparer.Ordinal), lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_noisy_grey_volumes_are_stored_with_zstds_fast_mode_the_raw_copy_shuffled_in_blosc_and_labels_at_level_1()
    {
        Assert.Equal(0, run.ExitCode);
        var store = new FileSystemBlobStore(run.RunDir);
        async Task<IEnumerable<ZarrCompressor>> CompressorsOf<T>(string image) where T : unmanaged
        {
            var levels = await OmeZarr.ReadLevelCountAsync(store, image);
            var compressors = new List<ZarrCompressor>();
            for (var level = 0; level < levels; level++) compressors.Add((await OmeZarr.OpenLevelAsync<T>(store, image, level)).Compressor);
            return compressors;
        }
        Assert.All(await CompressorsOf<ushort>(Layout.Aligned), c => Assert.Equal(ZarrCompressor.ZstdFast, c));
        Assert.All(await CompressorsOf<ushort>(Layout.Denoised), c => Assert.Equal(ZarrCompressor.ZstdFast, c));
        Assert.All(await CompressorsOf<ushort>(Layout.Raw), c => Assert.Equal(ZarrCompressor.BloscZstd, c));
        Assert.All(await CompressorsOf<byte>(Layout.Labels), c => Assert.Equal(ZarrCompressor.Zstd, c));
        Assert.Equal(1, (await OmeZarr.OpenLevelAsync<ushort>(store, Layout.Raw, 0)).Metadata.CompressionLevel);
    }

    /// <summary>"path level dtype shape sha256" per level, as the oracle prints them; every volume has at least two levels.</summary>
    private static async Task<List<string>> LevelLinesAsync<T>(IBlobStore store, string image, string dtype) where T : unmanaged
    {
        var levels = await OmeZarr.ReadLevelCountAsync(store, image);
        var level0 = await OmeZarr.OpenLevelAsync<T>(store, image, 0);
        Assert.Equal(ImagePyramid.LevelCount(level0.Shape[0], level0.Shape[1], level0.Shape[2]), levels);
        Assert.True(levels >= 2, $"{image} has {levels} level(s); the phantom is wider than 256 px");
        var lines = new List<string>();
        for (var level = 0; level < levels; level++)
        {
            var array = await OmeZarr.OpenLevelAsync<T>(store, image, level);
            var data = await array.ReadRegionAsync(0, array.Shape[0], 0, array.Shape[1], 0, array.Shape[2]);
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Data.AsSpan()).ToArray();
            lines.Add($"{image} {level} {dtype} {string.Join('x', array.Shape)} {Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant()}");
        }
        return lines;
    }

    [Fact]
    public void The_coarser_levels_are_block_means_and_block_modes_by_numpy()
    {
        Assert.Equal(0, run.ExitCode);
        var result = PythonOracle.Run("""
            import sys, numpy as np, zarr
            def blocks(a, fill):
                pad = [(0, n % 2) for n in a.shape]
                b = np.pad(a.astype(np.int64), pad, constant_values=fill)
                d, h, w = b.shape
                return b.reshape(d // 2, 2, h // 2, 2, w // 2, 2).transpose(0, 2, 4, 1, 3, 5).reshape(d // 2, h // 2, w // 2, 8)
            def mean(a):
                b = blocks(a, -1); valid = b >= 0
                s = np.where(valid, b, 0).sum(-1); n = valid.sum(-1)
                return ((2 * s + n) // (2 * n)).astype(a.dtype)
            def mode(a):
                b = blocks(a, -1)
                counts = np.stack([(b == v).sum(-1) for v in range(int(a.max()) + 1)], -1)
                return counts.argmax(-1).astype(a.dtype)   # argmax: the first (smallest) label on a tie
            for path, f in [(sys.argv[1], mean), (sys.argv[2], mean), (sys.argv[3], mode)]:
                g = zarr.open_group(path, mode='r')
                paths = [d['path'] for d in g.attrs['multiscales'][0]['datasets']]
                for fine, coarse in zip(paths, paths[1:]):
                    if not np.array_equal(f(g[fine][...]), g[coarse][...]): sys.exit(f'{path}: level {coarse} differs from numpy')
            print('ok')
            """, Path.Combine(run.RunDir, Layout.Raw), Path.Combine(run.RunDir, Layout.Aligned), Path.Combine(run.RunDir, Layout.Labels));
        Assert.Equal("ok", result.Trim());
    }

    [Fact]
    public async Task The_labels_are_an_image_label_of_the_aligned_image_with_every_phase_named_and_coloured()
    {
        Assert.Equal(0, run.ExitCode);
        var store = new FileSystemBlobStore(run.RunDir);
        var labelsGroup = await OmeZarr.ReadAttributesAsync(store, $"{Layout.Aligned}/{OmeZarr.LabelsGroupName}");
        Assert.Equal([JobLayout.LabelsName], labelsGroup["labels"]!.AsArray().Select(n => n!.GetValue<string>()));
        var imageLabel = (await OmeZarr.ReadAttributesAsync(store, Layout.Labels))["image-label"]!;
        Assert.Equal("../../", imageLabel["source"]!["image"]!.GetValue<string>());
        var names = imageLabel["properties"]!.AsArray().ToDictionary(p => p!["label-value"]!.GetValue<int>(), p => p!["name"]!.GetValue<string>());
        var colours = imageLabel["colors"]!.AsArray().ToDictionary(c => c!["label-value"]!.GetValue<int>(), c => c!["rgba"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray());
        for (var label = (byte)1; label < PhaseLabel.Count; label++)
        {
            Assert.Equal(PhaseLabel.Name(label), names[label]);
            var c = PhaseLabel.Colours[label]!.Value;
            Assert.Equal([c.R, c.G, c.B, 255], colours[label]);
        }
        Assert.Equal(0, colours[PhaseLabel.Outside][3]); // outside the valid region: transparent
        // Voxel size in micrometres, read back as the nanometres the stack had.
        var voxel = await OmeZarr.ReadVoxelSizeAsync(store, Layout.Labels);
        Assert.Equal(await OmeZarr.ReadVoxelSizeAsync(store, Layout.Raw), voxel);
        var multiscale = (await OmeZarr.ReadAttributesAsync(store, Layout.Labels))["multiscales"]![0]!;
        Assert.All(multiscale["axes"]!.AsArray(), a => Assert.Equal("micrometer", a!["unit"]!.GetValue<string>()));
        Assert.Equal(voxel.XNm / 1000, multiscale["datasets"]![0]!["coordinateTransformations"]![0]!["scale"]![2]!.GetValue<double>(), 12);
    }

    [Fact]
    public async Task Each_preview_shows_every_phase_of_its_plane_in_the_phase_colour()
    {
        Assert.Equal(0, run.ExitCode);
        var store = new FileSystemBlobStore(run.RunDir);
        var aligned = await StageVolume<ushort>.OpenAsync(store, Layout.Aligned);
        var labels = await OmeZarr.OpenLevelAsync<byte>(store, Layout.Labels, 0);
        foreach (var plane in Enum.GetValues<SlicePlane>())
        {
            var png = Path.Combine(run.RunDir, Layout.Preview(plane));
            var phases = await OrthogonalSlice.ReadAsync(labels, plane, OrthogonalSlice.MiddleIndex(labels, plane));
            // Decoded by an independent reader (Pillow through scikit-image), as rows of "r g b" triples.
            var decoded = PythonOracle.Run("""
                import sys, skimage.io
                a = skimage.io.imread(sys.argv[1])
                print(a.shape[0], a.shape[1], a.shape[2]); print(' '.join(map(str, a.reshape(-1))))
                """, png).Split('\n');
            var shape = decoded[0].Split(' ').Select(int.Parse).ToArray();
            var rgb = decoded[1].Split(' ').Select(byte.Parse).ToArray();
            Assert.Equal(3, shape[2]);
            Assert.Equal(phases.Width, shape[1]);
            var rowToColumn = (double)shape[0] / phases.Height;
            var seen = new HashSet<byte>();
            var alpha = Reconstruction.ReconstructVolumeConsumer.PreviewAlpha;
            for (var oy = 0; oy < shape[0]; oy++)
                for (var x = 0; x < shape[1]; x++)
                {
                    var label = phases[Math.Min(phases.Height - 1, (int)(oy * phases.Height / (double)shape[0])), x];
                    if (PhaseLabel.Colours[label] is not { } c) continue;
                    var at = (oy * shape[1] + x) * 3;
                    // Taking the phase colour out again must leave a grey (r = g = b up to rounding).
                    double Grey(int k, byte colour) => (rgb[at + k] - alpha * colour) / (1 - alpha);
                    double r = Grey(0, c.R), g = Grey(1, c.G), b = Grey(2, c.B);
                    Assert.True(Math.Abs(r - g) <= 2.5 && Math.Abs(g - b) <= 2.5,
                        $"{plane} pixel ({oy}, {x}) of label {label} is ({rgb[at]}, {rgb[at + 1]}, {rgb[at + 2]}), not grey blended with {c}");
                    seen.Add(label);
                }
            var present = phases.Pixels.Where(l => l != PhaseLabel.Outside).ToHashSet();
            Assert.Equal(present.Order(), seen.Order());
            Assert.True(present.Count >= 3, $"{plane}: only phases {string.Join(',', present)} in the middle plane");
            output.WriteLine($"{plane}: {shape[0]}x{shape[1]} px (rows scaled {rowToColumn:0.##}), phases {string.Join(',', seen.Order())}");
        }
    }

    [Fact]
    public async Task Each_3d_view_shows_every_phase_the_labels_have_in_its_colour_and_the_nmc_surface_by_contact()
    {
        Assert.Equal(0, run.ExitCode);
        var store = new FileSystemBlobStore(run.RunDir);
        var labels = await StageVolume<byte>.OpenAsync(store, Layout.Labels);
        var volume = await labels.ReadSlicesAsync(0, labels.Depth);
        var present = volume.Data.Where(l => l != PhaseLabel.Outside).ToHashSet();
        Rgb Colour(byte label) => PhaseLabel.Colours[label]!.Value;

        // A view shows a colour when at least 50 pixels are that colour under some Lambert shade.
        var phases = ShadesIn(Path.Combine(run.RunDir, Layout.View(SurfaceView.Phases)), [.. present.Select(Colour)]);
        foreach (var label in present) Assert.True(phases[Colour(label)] >= 50, $"the all-phases view has {phases[Colour(label)]} pixels of {PhaseLabel.Name(label)}");
        var voids = ShadesIn(Path.Combine(run.RunDir, Layout.View(SurfaceView.Void)), [Colour(PhaseLabel.Void), Colour(PhaseLabel.Nmc)]);
        Assert.True(voids[Colour(PhaseLabel.Void)] >= 50 && voids[Colour(PhaseLabel.Nmc)] == 0, "the void view shows no void, or NMC");
        var nmc = ShadesIn(Path.Combine(run.RunDir, Layout.View(SurfaceView.Nmc)), [SurfaceColours.ContactBlue, SurfaceColours.ContactLossRed, Colour(PhaseLabel.Lps)]);
        Assert.True(nmc[SurfaceColours.ContactBlue] >= 50 && nmc[SurfaceColours.ContactLossRed] >= 50 && nmc[Colour(PhaseLabel.Lps)] == 0,
            $"NMC view: {nmc[SurfaceColours.ContactBlue]} contact, {nmc[SurfaceColours.ContactLossRed]} contact-loss pixels, {nmc[Colour(PhaseLabel.Lps)]} LPS");

        // The particle view exists exactly when a particle large enough for one lies wholly inside the volume.
        var particles = File.ReadAllLines(Path.Combine(run.RunDir, "particles.csv"));
        var (border, voxels) = (Array.IndexOf(particles[0].Split(','), "touches_border"), Array.IndexOf(particles[0].Split(','), "voxels"));
        var whole = particles.Skip(1).Select(row => row.Split(','))
            .Count(row => row[border] == "false" && long.Parse(row[voxels], System.Globalization.CultureInfo.InvariantCulture) >= SurfaceViews.MinimumParticleVoxels);
        var particleView = Path.Combine(run.RunDir, Layout.View(SurfaceView.Particle));
        output.WriteLine($"{whole} whole particles of {particles.Length - 1}; views: phases {string.Join(", ", phases.Select(p => $"{p.Key} {p.Value}"))}");
        Assert.Equal(whole > 0, File.Exists(particleView));
        if (whole > 0)
        {
            var particle = ShadesIn(particleView, [SurfaceColours.ContactBlue, Colour(PhaseLabel.Void)]);
            Assert.True(particle[SurfaceColours.ContactBlue] >= 50, "the particle view shows no contact surface");
        }
    }

    [Fact]
    public async Task Every_phase_mesh_loads_back_through_sharpgltf_within_the_volume_in_micrometres_and_its_stl_has_the_same_triangles()
    {
        Assert.Equal(0, run.ExitCode);
        var store = new FileSystemBlobStore(run.RunDir);
        var labels = await StageVolume<byte>.OpenAsync(store, Layout.Labels);
        var voxel = labels.VoxelSize;
        // The volume spans voxel centres 0 .. n − 1 along each axis; a surface closed at its edge lies within a voxel beyond.
        double[] extent = [(labels.Width - 1) * voxel.XNm / 1000, (labels.Height - 1) * voxel.YNm / 1000, (labels.Depth - 1) * voxel.ZNm / 1000];
        double[] spacing = [voxel.XNm / 1000, voxel.YNm / 1000, voxel.ZNm / 1000];
        var combined = SharpGLTF.Schema2.ModelRoot.ParseGLB(await File.ReadAllBytesAsync(Path.Combine(run.RunDir, Layout.PhasesMesh)));
        foreach (var phase in PhaseLabel.Names)
        {
            var model = SharpGLTF.Schema2.ModelRoot.ParseGLB(await File.ReadAllBytesAsync(Path.Combine(run.RunDir, Layout.Mesh(phase, "glb"))));
            var primitive = model.LogicalMeshes.Single().Primitives.Single();
            var positions = primitive.GetVertexAccessor("POSITION").AsVector3Array();
            var min = positions.Aggregate(System.Numerics.Vector3.Min);
            var max = positions.Aggregate(System.Numerics.Vector3.Max);
            output.WriteLine($"{phase}: {positions.Count} vertices, {primitive.GetIndices().Count / 3} triangles, bounds ({min}) – ({max}) µm, volume ({extent[0]:0.###}, {extent[1]:0.###}, {extent[2]:0.###})");
            for (var axis = 0; axis < 3; axis++)
            {
                var (lo, hi) = (axis switch { 0 => min.X, 1 => min.Y, _ => min.Z }, axis switch { 0 => max.X, 1 => max.Y, _ => max.Z });
                Assert.InRange(lo, -spacing[axis], extent[axis] + spacing[axis]);
                Assert.InRange(hi, -spacing[axis], extent[axis] + spacing[axis]);
                // NMC and LPS run through the whole sample: their surfaces reach every face of the volume.
                if (phase is "nmc" or "lps") Assert.True(hi - lo > 0.9 * extent[axis], $"{phase} spans {hi - lo:0.###} µm of {extent[axis]:0.###} along axis {axis}");
            }
            Assert.Equal(phase == "nmc", primitive.GetVertexAccessor("COLOR_0") is not null);
            var stl = await File.ReadAllBytesAsync(Path.Combine(run.RunDir, Layout.Mesh(phase, "stl")));
            Assert.Equal((uint)(primitive.GetIndices().Count / 3), BitConverter.ToUInt32(stl, 80));
            Assert.Equal(positions.Count, combined.LogicalMeshes.Single(m => m.Name == phase).Primitives.Single().GetVertexAccessor("POSITION").Count);
        }
    }

    /// <summary>Pixels of the PNG (decoded by Pillow through scikit-image) that are each colour under one Lambert shade.</summary>
    private static Dictionary<Rgb, int> ShadesIn(string png, IReadOnlyList<Rgb> colours)
    {
        var decoded = PythonOracle.Run("""
            import sys, skimage.io
            a = skimage.io.imread(sys.argv[1])
            print(a.shape[0], a.shape[1], a.shape[2]); print(' '.join(map(str, a.reshape(-1))))
            """, png).Split('\n');
        var rgb = decoded[1].Split(' ').Select(byte.Parse).ToArray();
        var counts = colours.Distinct().ToDictionary(c => c, _ => 0);
        for (var at = 0; at < rgb.Length; at += 3)
            foreach (var colour in counts.Keys)
            {
                var shade = (rgb[at] + rgb[at + 1] + rgb[at + 2]) / (double)(colour.R + colour.G + colour.B);
                if (shade >= MeshRenderer.Ambient - 0.02 && shade <= 1.02 && Math.Abs(rgb[at] - colour.R * shade) <= 2
                    && Math.Abs(rgb[at + 1] - colour.G * shade) <= 2 && Math.Abs(rgb[at + 2] - colour.B * shade) <= 2)
                {
                    counts[colour]++;
                    break;
                }
            }
        return counts;
    }

    [Fact]
    public async Task Report_html_opens_in_chromium_with_every_image_loaded_and_the_metrics_in_its_tables()
    {
        Assert.Equal(0, run.ExitCode);
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"{chromium} is missing: run infra/scripts/install-browser.sh");
        var report = Path.Combine(run.RunDir, Layout.Report);
        var metrics = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(run.RunDir, "metrics.json")))!;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium, Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var requests = new List<string>();
        page.Request += (_, request) => requests.Add(request.Url);
        await page.GotoAsync(new Uri(report).AbsoluteUri);

        var images = await page.EvaluateAsync<int[]>("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)");
        // Three slice previews, three or four 3D views (the particle view needs a whole particle), two plots.
        var views = await page.Locator("figure.view img").CountAsync();
        Assert.InRange(views, 3, 4);
        Assert.Equal(2, await page.Locator("figure.plot img").CountAsync());
        Assert.Equal(3 + views + 2, images.Length);
        Assert.All(images, width => Assert.True(width > 0, "an image did not load"));
        // Self-contained: nothing but the page itself was fetched.
        Assert.Equal([new Uri(report).AbsoluteUri], requests.Where(r => !r.StartsWith("data:", StringComparison.Ordinal)));

        var headline = await page.InnerTextAsync("table.metrics");
        foreach (var (phase, value) in metrics["phase_fractions"]!.AsObject())
            Assert.Contains($"{phase} volume fraction\t{100 * value!.GetValue<double>():0.00} %", headline);
        Assert.Contains($"{100 * metrics["contact_loss_fraction"]!.GetValue<double>():0.00} %", headline);
        var interval = metrics["phase_fraction_intervals"]!["void"]!.AsArray();
        Assert.Contains($"{100 * interval[0]!.GetValue<double>():0.00} % – {100 * interval[1]!.GetValue<double>():0.00} %", headline);
        var everything = await page.InnerTextAsync("table.all-metrics");
        Assert.Contains("void.components", everything);
        Assert.True(await page.Locator("table.all-metrics tr").CountAsync() > 30);
        Assert.Matches("[0-9a-f]{64}", await page.InnerTextAsync("table.files"));
        Assert.True(await page.Locator("table.stages tr").CountAsync() > 3, "the report has no stage timings");
        Assert.True(await page.Locator("table.files tr").CountAsync() > 1, "the report lists no source files");

        var screenshot = Path.Combine(ArtefactFolder(), "report.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot: {screenshot}");
        Assert.True(new FileInfo(screenshot).Length > 10_000);
    }

    /// <summary>TestResults/artefacts beside the test assembly's build output (kept after the run).</summary>
    private static string ArtefactFolder()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "TestResults", "artefacts");
        Directory.CreateDirectory(folder);
        return folder;
    }
}
