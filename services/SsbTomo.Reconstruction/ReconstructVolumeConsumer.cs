using System.Text.Json.Nodes;
using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Storage;
using SsbTomo.Storage.Images;

namespace SsbTomo.Reconstruction;

/// <summary>Hands a job's ReconstructVolume to <see cref="JobReconstruction"/> and reports the labels' level count.</summary>
public sealed class ReconstructVolumeConsumer(IBlobStore store, IOptions<SsbTomoOptions> options) : IConsumer<ReconstructVolume>
{
    public Task Consume(ConsumeContext<ReconstructVolume> context) =>
        StageRunner.RunAsync(context, "reconstruction", async () =>
        {
            var (levels, meshes) = await JobReconstruction.RunAsync(store, new JobLayout(context.Message.JobPrefix), options.Value.WindowBudgetBytes,
                context.CancellationToken);
            await context.Publish(new VolumeReconstructed(context.Message.JobId, levels) { Meshes = [.. meshes] });
        });

    /// <summary>Opacity of the label colours over the grey levels in the previews.</summary>
    public const double PreviewAlpha = JobReconstruction.PreviewAlpha;
}

/// <summary>Wall and CPU time of the Reconstruction stage's parts (the benchmark prints them).</summary>
public sealed class ReconstructionTimes
{
    /// <summary>The three pyramids and the NGFF metadata.</summary>
    public PartTime Pyramids { get; set; }
    /// <summary>The three orthogonal-slice previews.</summary>
    public PartTime Previews { get; set; }
    /// <summary>Every phase's mesh, the labels' windows read included; <see cref="Surfaces"/> splits the building.</summary>
    public PartTime Meshes { get; set; }
    public PhaseSurfaceBuilder.SurfaceBuildTimes Surfaces { get; } = new();
    /// <summary>The pyramid level each phase's mesh was built from (index = label).</summary>
    public int[] MeshLevels { get; } = new int[PhaseLabel.Count];
    /// <summary>Encoding and writing the glb and stl files.</summary>
    public PartTime MeshFiles { get; set; }
    /// <summary>Rendering and writing the three 3D views.</summary>
    public PartTime Views { get; set; }
}

/// <summary>
/// Makes a job's volumes viewable: multiscale pyramids of raw.zarr and aligned.zarr (block means) and of the labels
/// (block mode), each down to 256 voxels a side and written one chunk at a time; the labels declared as an NGFF label image
/// of the aligned image (colour and name per phase); the orthogonal-slice previews; every phase's surface mesh and the 3D
/// views of them.
/// </summary>
public static class JobReconstruction
{
    /// <summary>Opacity of the label colours over the grey levels in the previews.</summary>
    public const double PreviewAlpha = 0.45;

    /// <returns>The labels' level count and the mesh files written (keys under the job's prefix).</returns>
    /// <param name="windowBudgetBytes">Memory one processing window may take (the coarser levels' chunks being built at once
    /// together, or one window of the meshes).</param>
    /// <param name="times">Filled with the wall time of each part, when given (the benchmark's breakdown).</param>
    public static async Task<(int Levels, IReadOnlyList<string> Meshes)> RunAsync(IBlobStore store, JobLayout layout, long windowBudgetBytes,
        CancellationToken ct = default, ReconstructionTimes? times = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(layout);
        var clock = PartClock.Start();
        foreach (var image in new[] { layout.Raw, layout.Aligned })
        {
            var (count, parallel) = await PlanAsync<ushort>(store, image, windowBudgetBytes, ct);
            await OmeZarr.WritePyramidAsync<ushort>(store, image, count, ImagePyramid.DownsampleMean, parallel, ct);
        }
        var (levels, labelParallel) = await PlanAsync<byte>(store, layout.Labels, windowBudgetBytes, ct);
        await OmeZarr.WritePyramidAsync<byte>(store, layout.Labels, levels, LabelPyramid.DownsampleMode, labelParallel, ct);

        await OmeZarr.MergeAttributesAsync(store, layout.Labels, new Dictionary<string, JsonNode?>
        {
            ["image-label"] = OmeZarr.ImageLabel(PhaseColours(), sourceImage: "../../"),
        }, ct);
        await OmeZarr.WriteLabelsGroupAsync(store, layout.Aligned, [JobLayout.LabelsName], ct);
        var pyramids = clock.Lap();
        await WritePreviewsAsync(store, layout, ct);
        var previews = clock.Lap();
        if (times is not null) (times.Pyramids, times.Previews) = (pyramids, previews);
        var meshes = await WriteSurfacesAsync(store, layout, windowBudgetBytes, ct, times);
        return (levels, meshes);
    }

    /// <summary>
    /// Every phase's surface mesh (glb and stl, µm; NMC coloured by contact; all phases in one glb too) and the 3D views of
    /// them. The labels are read in windows (a z-slab × a y/x tile) with the meshes' halo, each as large as the window
    /// budget allows, once for all phases: memory is one window, the four phases' decimation states and the finished meshes,
    /// whatever the slice size.
    /// </summary>
    /// <returns>The mesh files written, as keys under the job's prefix.</returns>
    public static async Task<IReadOnlyList<string>> WriteSurfacesAsync(IBlobStore store, JobLayout layout, long windowBudgetBytes,
        CancellationToken ct = default, ReconstructionTimes? times = null)
    {
        times ??= new ReconstructionTimes();
        var clock = PartClock.Start();
        var meshes = await BuildMeshesAsync(store, layout, windowBudgetBytes, times, ct);
        times.Meshes = clock.Lap();
        // The builders' window arrays went with BuildMeshesAsync's state; under a budget their large-object regions are
        // given back before the files' buffers are allocated (on a loaded machine MemoryBudgetTests ran the phases' glb
        // out of memory without it).
        ProcessMemory.CompactHeapWhenLimited();

        var named = new List<(string Name, SurfaceMesh Mesh, Rgb Colour)>();
        var written = new List<string>();
        var relative = new JobLayout("");
        for (var label = (byte)1; label < PhaseLabel.Count; label++)
        {
            var (name, mesh) = (PhaseLabel.Name(label), meshes[label]!);
            named.Add((name, mesh, PhaseLabel.Colours[label]!.Value));
            await store.WriteAsync(layout.Mesh(name, "glb"), MeshFiles.Glb([named[^1]]), ct);
            written.Add(relative.Mesh(name, "glb"));
            await store.WriteAsync(layout.Mesh(name, "stl"), MeshFiles.Stl(mesh, name), ct);
            written.Add(relative.Mesh(name, "stl"));
        }
        await store.WriteAsync(layout.PhasesMesh, MeshFiles.Glb(named), ct);
        written.Add(relative.PhasesMesh);
        times.MeshFiles = clock.Lap();
        foreach (var view in new[] { SurfaceView.Phases, SurfaceView.Nmc, SurfaceView.Void })
            await store.WriteAsync(layout.View(view), PngImage.EncodeRgb(SurfaceViews.Render(view, meshes), SurfaceViews.Height, SurfaceViews.Width), ct);
        times.Views = clock.Lap();
        return written;
    }

    /// <summary>
    /// Each phase's surface mesh (index = label; 0 unused), from the coarsest level of the labels' pyramid whose mesh the
    /// decimation still coarsens to cells of at least <see cref="MeshCellLevelVoxels"/> of that level's voxels, trying the
    /// levels from the coarsest to full resolution. A decimated mesh shows nothing finer than its cells, and on a large
    /// stack those are tens of voxels wide (a 320x1536x2048 stack: 32), so marching cubes on every voxel was most of this
    /// stage's CPU for detail the decimation then removed. A coarser level has no more surface than the full resolution
    /// (its mode blocks drop thin parts), so its cells are never coarser than the full resolution's would be: a level is
    /// taken only where the full resolution's mesh would have cells at least that many of its voxels wide too. Small
    /// stacks, whose cells are a few voxels, keep the full resolution.
    /// </summary>
    private static async Task<SurfaceMesh?[]> BuildMeshesAsync(IBlobStore store, JobLayout layout, long windowBudgetBytes, ReconstructionTimes times,
        CancellationToken ct)
    {
        var meshes = new SurfaceMesh?[PhaseLabel.Count];
        var pending = Enumerable.Range(1, PhaseLabel.Count - 1).Select(label => (byte)label).ToList();
        var fullResolution = await StageVolume<byte>.OpenAsync(store, layout.Labels, ct);
        for (var level = await OmeZarr.ReadLevelCountAsync(store, layout.Labels, ct) - 1; level >= 0 && pending.Count > 0; level--)
        {
            var labels = await StageVolume<byte>.OpenAsync(store, layout.Labels, level, ct);
            // The level's voxel (0, 0, 0) is centred on the full resolution's first 2^level block.
            var (shift, voxel) = (((1 << level) - 1) / 2.0, fullResolution.VoxelSize);
            var built = await MeshLevelAsync(labels, pending, (shift * voxel.XNm / 1e3, shift * voxel.YNm / 1e3, shift * voxel.ZNm / 1e3),
                windowBudgetBytes, times, ct);
            foreach (var label in pending.ToArray())
            {
                var (mesh, cellVoxels) = built[label];
                if (level > 0 && cellVoxels < MeshCellLevelVoxels) continue;
                meshes[label] = mesh;
                times.MeshLevels[label] = level;
                pending.Remove(label);
            }
            // The level's window arrays went with MeshLevelAsync; under a budget their large-object regions are given back
            // before the next (finer) level allocates windows of its own.
            ProcessMemory.CompactHeapWhenLimited();
        }
        return meshes;
    }

    /// <summary>
    /// The decimation's cell side, in voxels of the level meshed, from which a coarser level of the labels is meshed instead
    /// of the full resolution (<see cref="BuildMeshesAsync"/>): a cell then still gathers the triangles of at least 4x4
    /// of the level's voxels.
    /// </summary>
    public const int MeshCellLevelVoxels = 4;

    /// <summary>
    /// The given phases' meshes from one level's labels, fed window by window, with each decimation's cell in the level's
    /// voxels (index = label). Its own method so that the builders' window arrays die with it, not in the caller's state.
    /// </summary>
    private static async Task<(SurfaceMesh Mesh, int CellVoxels)[]> MeshLevelAsync(StageVolume<byte> labels, IReadOnlyList<byte> phases,
        (double X, double Y, double Z) originUm, long windowBudgetBytes, ReconstructionTimes times, CancellationToken ct)
    {
        var options = new SurfaceOptions();
        var halo = PhaseSurfaceBuilder.HaloSlices;
        var owned = PhaseSurfaceBuilder.OwnedSlicesPerSlab(labels.Depth, labels.Height, labels.Width, windowBudgetBytes, labels.SlabSlices);
        // Each window is read once and handed to every phase's builder in turn; the builders share one set of working
        // arrays (one window's), and each holds its decimation state (~200 bytes a target triangle) until the end.
        var workspace = new SurfaceWorkspace();
        var builders = new PhaseSurfaceBuilder?[PhaseLabel.Count];
        foreach (var label in phases)
            builders[label] = new PhaseSurfaceBuilder(label, labels.VoxelSize, labels.Depth, labels.Height, labels.Width, options,
                classifyContact: label == PhaseLabel.Nmc, workspace: workspace, originUm: originUm);
        for (var z0 = 0; z0 < labels.Depth; z0 += owned)
            await foreach (var window in labels.WindowsAsync(z0, Math.Min(labels.Depth, z0 + owned), halo, windowBudgetBytes,
                PhaseSurfaceBuilder.BytesPerSlabVoxel, ct, reuseArrays: true))
                foreach (var label in phases)
                    builders[label]!.AddWindow(window.Data, window.Slab, window.Tile);
        var built = new (SurfaceMesh, int)[PhaseLabel.Count];
        foreach (var label in phases)
        {
            built[label] = (builders[label]!.Result(), builders[label]!.DecimationCellVoxels);
            times.Surfaces.Add(builders[label]!.Times);
        }
        return built;
    }

    /// <summary>
    /// Levels from full resolution down to 256 voxels a side (<see cref="ImagePyramid.LevelCount"/>), and how many output
    /// chunks may be built at once: as many as fit the window budget, at most one per core.
    /// </summary>
    private static async Task<(int Levels, int Parallel)> PlanAsync<T>(IBlobStore store, string image, long windowBudgetBytes, CancellationToken ct)
        where T : unmanaged
    {
        var level0 = await OmeZarr.OpenLevelAsync<T>(store, image, 0, ct);
        var chunkBytes = (long)level0.Chunks[0] * level0.Chunks[1] * level0.Chunks[2] * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        var parallel = (int)Math.Clamp(windowBudgetBytes / (OmeZarr.PyramidChunksPerOutputChunk(level0) * chunkBytes), 1, Environment.ProcessorCount);
        return (ImagePyramid.LevelCount(level0.Shape[0], level0.Shape[1], level0.Shape[2]), parallel);
    }

    /// <summary>The pipeline's phase table as label colours: every phase's colour and name; label 0 (outside) transparent.</summary>
    private static IEnumerable<LabelColor> PhaseColours()
    {
        yield return new LabelColor(PhaseLabel.Outside, 0, 0, 0, 0, PhaseLabel.Name(PhaseLabel.Outside));
        for (var label = (byte)1; label < PhaseLabel.Count; label++)
        {
            var c = PhaseLabel.Colours[label]!.Value;
            yield return new LabelColor(label, c.R, c.G, c.B, 255, PhaseLabel.Name(label));
        }
    }

    /// <summary>
    /// The middle xy slice and the middle xz and yz cuts of the aligned stack with the labels over them; each reads only
    /// the chunks its plane crosses.
    /// </summary>
    private static async Task WritePreviewsAsync(IBlobStore store, JobLayout layout, CancellationToken ct)
    {
        var aligned = await StageVolume<ushort>.OpenAsync(store, layout.Aligned, ct);
        var labels = await OmeZarr.OpenLevelAsync<byte>(store, layout.Labels, 0, ct);
        var voxel = aligned.VoxelSize;
        foreach (var plane in Enum.GetValues<SlicePlane>())
        {
            var index = OrthogonalSlice.MiddleIndex(aligned.Level0, plane);
            var grey = await OrthogonalSlice.ReadAsync(aligned.Level0, plane, index, ct);
            var phases = await OrthogonalSlice.ReadAsync(labels, plane, index, ct);
            var rowToColumn = plane switch { SlicePlane.Xy => voxel.YNm / voxel.XNm, SlicePlane.Xz => voxel.ZNm / voxel.XNm, _ => voxel.ZNm / voxel.YNm };
            var (rgb, height, width) = SlicePreview.Render(grey, phases, PhaseLabel.Colours, PreviewAlpha, rowToColumn);
            await store.WriteAsync(layout.Preview(plane), PngImage.EncodeRgb(rgb, height, width), ct);
        }
    }
}
