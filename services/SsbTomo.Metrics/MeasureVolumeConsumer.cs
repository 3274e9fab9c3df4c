using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Storage;
using SsbTomo.Storage.Images;

namespace SsbTomo.Metrics;

/// <summary>
/// Measures the labels (<see cref="JobLayout.Labels"/>) one chunk row of slices at a time; memory is one slab, whatever the stack size. A first pass
/// without halo counts phases, faces, marching cubes and void components; a second pass over slab x tile windows with
/// halo, sized to the memory budget, smooths the phase indicators and measures the distance of void to NMC.
/// </summary>
public sealed class MeasureVolumeConsumer(IBlobStore store, IOptions<SsbTomoOptions> options) : IConsumer<MeasureVolume>
{
    public Task Consume(ConsumeContext<MeasureVolume> context) =>
        StageRunner.RunAsync(context, "metrics", () => MeasureAsync(context));

    private async Task MeasureAsync(ConsumeContext<MeasureVolume> context)
    {
        var ct = context.CancellationToken;
        var layout = new JobLayout(context.Message.JobPrefix);
        var labels = await StageVolume<byte>.OpenAsync(store, layout.Labels, ct);

        // The streamed passes in their own method: their accumulators' window arrays go with its state, not held through
        // the tortuosity solves and the particle split below.
        var report = await StreamedReportAsync(context, labels, layout);
        // The tortuosity solves and the particle split both need the whole labels at once: read them once for both.
        Task<Volume<byte>>? wholeLabels = null;
        var wholeLabelsGate = new Lock();
        Task<Volume<byte>> WholeLabelsAsync()
        {
            lock (wholeLabelsGate) return wholeLabels ??= labels.ReadSlicesAsync(0, labels.Depth, ct);
        }
        // Side by side where the heap holds both: the split's flood and markers are one thread's work for seconds (at 1 Gvoxel
        // ~8 s with one core busy after the solves), the solves keep ~1.8 cores busy. Neither reads the other's arrays, and
        // the report takes their results in the same order, so metrics.json is the same bytes either way.
        var (tortuosityPass, particlePass) = (PlanTortuosity(labels), PlanParticles(labels));
        var tortuosityTask = Task.Run(() => MeasureTortuosityAsync(context, labels, WholeLabelsAsync, tortuosityPass), ct);
        // One after the other where the heap holds only one of them.
        if (!SideBySide(tortuosityPass, particlePass)) await tortuosityTask;
        var particleTask = Task.Run(() => MeasureParticlesAsync(labels, WholeLabelsAsync, layout, particlePass, ct), ct);
        // Both end before the message does, failed or not: a retry must not meet the other pass still holding its arrays.
        await Task.WhenAll(tortuosityTask, particleTask);
        var (withTortuosity, particleResult) = (tortuosityTask.Result, particleTask.Result);
        report = particleResult.With(withTortuosity(report));
        var (particles, shownParticle) = (particleResult.Particles, particleResult.Shown);
        var json = report.ToJsonBytes();
        await store.WriteAsync(layout.Metrics, json, ct);
        await store.WriteAsync(layout.MetricsCsv, System.Text.Encoding.UTF8.GetBytes(
            MetricsCsv.Format(MetricsCsv.FromJson(System.Text.Json.Nodes.JsonNode.Parse(json)!, [.. PhaseLabel.Names]))), ct);
        await WriteReportAsync(layout, json, particles, shownParticle, context.Message, ct);
        var particleMesh = new JobLayout("").ParticleMesh;
        await context.Publish(shownParticle is not null
            ? new VolumeMeasured(context.Message.JobId) { Meshes = [particleMesh] }
            : new VolumeMeasured(context.Message.JobId) { MissingMeshes = new() { [particleMesh] = NoParticleView(particles) } });
    }

    /// <summary>
    /// report.html: metrics.json, the reconstruction's previews and 3D views, the particle view, the plots and
    /// provenance.json in one self-contained page.
    /// </summary>
    private async Task WriteReportAsync(JobLayout layout, byte[] metricsJson, IReadOnlyList<NmcParticle>? particles, NmcParticle? shownParticle,
        MeasureVolume message, CancellationToken ct)
    {
        var provenance = await store.ReadAsync(layout.Provenance, ct) is { } p ? System.Text.Json.Nodes.JsonNode.Parse(p) as System.Text.Json.Nodes.JsonObject : null;
        var metrics = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(metricsJson)!;
        var previews = new List<ReportImage>();
        foreach (var (plane, caption) in PreviewCaptions)
            if (await store.ReadAsync(layout.Preview(plane), ct) is { } png)
                previews.Add(new ReportImage(caption, png));
        var views = new List<ReportImage>();
        foreach (var (view, caption) in ViewCaptions(shownParticle))
            if (await store.ReadAsync(layout.View(view), ct) is { } png)
                views.Add(new ReportImage(caption, png));
        var plots = new List<ReportImage>();
        if (ReportPlots.VoidSizeDistribution(metrics) is { } voidPlot)
            plots.Add(new ReportImage("void size distribution: share of the void volume by cluster size (26-connected clusters)", voidPlot));
        if (particles is not null && ReportPlots.ContactLossHistogram(particles) is { } lossPlot)
            plots.Add(new ReportImage("contact loss per particle (whole particles only)", lossPlot));
        var notes = new List<string>();
        if (views.Count == 0) notes.Add("No 3D views: the reconstruction stage did not write them.");
        if (shownParticle is null) notes.Add($"No particle view: {NoParticleView(particles)}.");
        if (particles is not null && plots.Count < 2) notes.Add("No contact-loss histogram: no particle lies wholly inside the volume.");
        var html = SampleReport.Render(metrics, provenance, previews, message.Stages, message.Segmentation, views, plots, notes);
        await store.WriteAsync(layout.Report, System.Text.Encoding.UTF8.GetBytes(html), ct);
    }

    /// <summary>Why there is no particle view and no particle mesh.</summary>
    private static string NoParticleView(IReadOnlyList<NmcParticle>? particles) => particles is null
        ? "the particles were not measured (see the warnings)"
        : $"no particle of at least {SurfaceViews.MinimumParticleVoxels} voxels lies wholly inside the volume (a stack thinner than its particles cuts every one)";

    private static IEnumerable<(SurfaceView View, string Caption)> ViewCaptions(NmcParticle? shown)
    {
        yield return (SurfaceView.Phases, "all phases (NMC blue, LPS yellow, carbon green, void red), as the paper's Fig. 3");
        yield return (SurfaceView.Nmc, "NMC surface: blue in contact with LPS, red facing void (contact loss), green on carbon, as Fig. 4(d,e)");
        yield return (SurfaceView.Void, "void alone");
        if (shown is not null)
            yield return (SurfaceView.Particle, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"the largest whole particle (#{shown.Id}, {shown.EquivalentDiameterUm:0.00} µm, contact loss {100 * shown.ContactLossFraction:0.0} %, "
                + $"one-sidedness {shown.OneSidedness:0.00}) by contact, with the void around it, as Fig. 4(f)"));
    }

    private static readonly (Imaging.Reconstruction.SlicePlane Plane, string Caption)[] PreviewCaptions =
    [
        (Imaging.Reconstruction.SlicePlane.Xy, "xy: the middle milled slice"),
        (Imaging.Reconstruction.SlicePlane.Xz, "xz: across the slices at the middle row (z down)"),
        (Imaging.Reconstruction.SlicePlane.Yz, "yz: across the slices at the middle column (z down)"),
    ];

    /// <summary>
    /// Upcoming windows whose parts of the decoded label chunks the reader keeps (a byte per voxel each): a band of chunk
    /// rows is walked in up to eight tiles (four chunk columns, two tiles down each) at 1 Gvoxel, and a window's halo reaches
    /// into chunks its neighbours decode. At 1 Gvoxel with one window ahead the metrics decoded 15 GB of labels for the
    /// 1.2 GB their windows read; a speed tuning, the sums are the same for any value.
    /// </summary>
    private const int LabelWindowsReadAhead = 8;

    /// <summary>The passes that stream the labels slab by slab and window by window, as a report.</summary>
    private async Task<MetricsReport> StreamedReportAsync(ConsumeContext<MeasureVolume> context, StageVolume<byte> labels, JobLayout layout)
    {
        var ct = context.CancellationToken;
        var (voxelSize, depth, height, width) = (labels.VoxelSize, labels.Depth, labels.Height, labels.Width);
        var accumulator = new MicrostructureAccumulator();
        var surfaces = new SurfaceAreaAccumulator(voxelSize);
        var bootstrap = new PhaseFractionBootstrap(depth, height, width);
        // The three passes read the slab and change only their own sums, so they run side by side: the bootstrap is one
        // thread's loop, and the others leave a core idle in their serial parts (at 1 Gvoxel 2.5 + 6.8 + 5.5 s wall apart).
        await foreach (var (_, slab) in labels.SlabsAsync(ct))
            await Task.WhenAll(Task.Run(() => accumulator.Add(slab), ct), Task.Run(() => surfaces.Add(slab), ct), Task.Run(() => bootstrap.Add(slab), ct));

        // On a large stack the smoothed areas are counted on bands of rows and scaled to the volume by its voxel faces (they
        // were half of the stage's CPU at 1 Gvoxel).
        var areas = surfaces.Result();
        var smoothed = new SmoothedSurfaceAreaAccumulator(voxelSize, RowBandSample.For((long)depth * height * width), height, areas);
        var nearNmc = new VoidNearNmcAccumulator(voxelSize, options.Value.Metrics.VoidNearNmcDistanceUm);
        var halo = Math.Max(SmoothedSurfaceAreaAccumulator.RequiredHalo, nearNmc.HaloVoxels);
        // Per voxel of a window: the labels, four smoothed float fields and the Gaussian's float pass, set bits, the
        // squared distances (double); WindowsAsync adds the upcoming windows' labels the reader keeps. The windows cover the
        // whole stack, cut as the budget allows: deeper slabs in thinner tiles when that reads less halo (SlabTilePlan.Parts; nothing is
        // written, and both sums are integers, so any tiling gives the same bytes).
        await foreach (var window in labels.WindowsAsync(0, depth, halo, options.Value.WindowBudgetBytes, bytesPerVoxel: 40, ct,
            tilesMayShareChunks: true, readAheadWindows: LabelWindowsReadAhead, reuseArrays: true))
            // Side by side, as the slab passes above: both only read the window and keep their own arrays from window to
            // window (the 40 bytes a voxel count both), and each leaves part of a core idle in its serial loops.
            await Task.WhenAll(Task.Run(() => smoothed.Add(window.Data, window.Slab, window.Tile), ct),
                Task.Run(() => nearNmc.Add(window.Data, window.Slab, window.Tile), ct));
        var morphology = VoidMorphology.From(accumulator.VoidComponentMoments(), voxelSize, depth, height, width);

        var model = context.Message.Segmentation;
        var summary = accumulator.Result();
        var variants = model is null ? null : VariantTallies(model, context.Message.Variants, summary);
        return MetricsReport.From(summary, voxelSize, [depth, height, width])
            .WithBootstrap(bootstrap.Result())
            .WithSurfaces(areas, smoothed)
            .WithVoidMorphology(morphology, nearNmc)
            .WithUncertainty(model, variants, context.Message.TrainedClassifier,
                context.Message.Variants is [.., { Name: VariantBlockSample.SampledBaseName }] ? VariantBlockSample.For(depth, height, width).VoxelShare(depth) : 1,
                new BoundaryPlacement(areas, options.Value.Metrics.BoundaryPlacementVoxels))
            .WithFibreResolution()
            .WithCarbonShape(options.Value.FibreRulesFor(context.Message.Carbon))
            with { Provenance = await store.ExistsAsync(layout.Provenance, ct) ? Path.GetFileName(layout.Provenance) : null };
    }

    /// <summary>
    /// Where a pass that holds its whole volume at once runs (the tortuosity solves, the particle split): on the whole
    /// labels (<see cref="Box"/> null), on a central sub-volume, or not at all (<see cref="LeftOut"/> says why, and whether
    /// the report warns). <see cref="CountedBytes"/>: what its arrays take where it runs (0 when left out).
    /// </summary>
    private sealed record WholeVolumePass(long WholeBytes, SubVolumeBox? Box, long CountedBytes, string? LeftOut = null, bool WarnLeftOut = true, string Budget = "");

    /// <summary>
    /// Whether the tortuosity solves and the particle split fit the collected heap together: their counted arrays, the
    /// solve's with the ~20 % of heap it needs above them, within <see cref="SideBySideShareOfHeap"/> per cent of the heap
    /// the budget leaves (<see cref="ProcessMemory.OutsideHeapMb"/> less). Their own shares (a window's quarter for the
    /// solve, half for the split, a box 80 % of it) are 60 % of the budget, 68 % with the solve's heap above its arrays: at
    /// the default 2 GiB two boxes take 1311 of the 1485 MiB this allows; on small budgets, and where the whole labels
    /// fill both shares, they run one after the other.
    /// </summary>
    private bool SideBySide(WholeVolumePass tortuosity, WholeVolumePass particles) =>
        tortuosity.CountedBytes * 6 / 5 + particles.CountedBytes
            <= ((long)options.Value.MemoryBudgetMb - ProcessMemory.OutsideHeapMb) * 1024 * 1024 * SideBySideShareOfHeap / 100;

    /// <summary>The rest of the heap: the streamed passes' garbage the collector has not taken yet, and the large-object heap's gaps.</summary>
    private const int SideBySideShareOfHeap = 80;

    /// <summary>
    /// The tortuosity's volume: the whole labels when they and one solve fit a processing window's share of the memory
    /// budget, else the largest central sub-volume that does (<see cref="CentralSubVolume"/>), else none.
    /// </summary>
    private WholeVolumePass PlanTortuosity(StageVolume<byte> labels)
    {
        var settings = options.Value.Metrics;
        if (!settings.Tortuosity) return new WholeVolumePass(0, null, 0, "switched off (SsbTomo:Metrics:Tortuosity = false)", WarnLeftOut: false);
        var voxels = (long)labels.Depth * labels.Height * labels.Width;
        var axes = settings.TortuosityAxisNumbers;
        var neededBytes = CathodeTortuosity.BytesNeeded(labels.Depth, labels.Height, labels.Width, labels.VoxelSize, axes);
        // A window's share of the budget, as every streamed stage gets: with half, an 8x768x768 volume's solve ran a 320 MiB
        // heap out of memory beside the metrics' own state (MemoryBudgetTests, 2026-12-01).
        var allowedBytes = options.Value.WindowBudgetBytes;
        var budget = $"more than a processing window's quarter of the memory budget ({options.Value.MemoryBudgetMb} MiB, SsbTomo:MemoryBudgetMb); "
            + $"a budget of {(4 * neededBytes >> 20) + 1} MiB would measure it";
        if (neededBytes <= allowedBytes) return new WholeVolumePass(neededBytes, null, neededBytes, Budget: budget);
        long BoxBytes(int d, int h, int w) => CathodeTortuosity.BytesNeeded(d, h, w, labels.VoxelSize, axes);
        return CentralSubVolume.Largest(labels.Depth, labels.Height, labels.Width, labels.VoxelSize, BoxBytes, allowedBytes * SubVolumeShareOfWindow / 100,
                MinimumSubVolumeEdgeVoxels) is { } box
            ? new WholeVolumePass(neededBytes, box, BoxBytes(box.Depth, box.Height, box.Width), Budget: budget)
            : new WholeVolumePass(neededBytes, null, 0, $"tortuosity not measured: the solve holds the whole volume, {voxels:N0} voxels at "
                + $"{(double)neededBytes / voxels:0} bytes each with the largest solve (~{neededBytes >> 20} MiB), {budget}; not even a central "
                + $"sub-volume of {MinimumSubVolumeEdgeVoxels} voxels a side fits", Budget: budget);
    }

    /// <summary>
    /// Tortuosity factors of the ionic and electronic paths along the configured axes (<see cref="CathodeTortuosity"/>),
    /// one solve at a time, each logged as "k of N" when done, on the volume <paramref name="pass"/> chose: the whole
    /// labels, or a central sub-volume (its box in the report and a warning that says so), or none (left out with a warning
    /// when not even a box of <see cref="MinimumSubVolumeEdgeVoxels"/> fits; a switched-off one without).
    /// </summary>
    /// <returns>What the solves add to the report.</returns>
    private async Task<Func<MetricsReport, MetricsReport>> MeasureTortuosityAsync(ConsumeContext<MeasureVolume> context, StageVolume<byte> labels,
        Func<Task<Volume<byte>>> wholeLabels, WholeVolumePass pass)
    {
        if (pass.LeftOut is { } reason) return report => report.WithTortuosityLeftOut(reason, warn: pass.WarnLeftOut);
        var voxels = (long)labels.Depth * labels.Height * labels.Width;
        var volume = pass.Box is { } fitting ? await ReadBoxAsync(labels, fitting, context.CancellationToken) : await wholeLabels();
        var log = context.Logger("SsbTomo.Stage");
        ProcessMemory.CompactHeap();
        var results = CathodeTortuosity.Measure(volume, labels.VoxelSize, CathodeTortuosity.Paths, options.Value.Metrics.TortuosityAxisNumbers, (done, total, r) =>
        {
            log.LogInformation("Job {JobId} metrics: tortuosity {Done} of {Total} ({Path} along {Axis}): tau {Tau:0.0000}, {Iterations} iterations, {Seconds:0.0} s",
                context.Message.JobId, done, total, r.Path.Key, "zyx"[r.Result.Axis], r.Result.Factor, r.Result.Iterations, r.Seconds);
            // Each solve leaves its arrays behind and the next path's are of another size: under a budget the freed
            // large-object regions must be given back before the next solve allocates (the same cause as StageRunner's
            // compaction; on a loaded machine MemoryBudgetTests ran the next solve out of memory without it).
            ProcessMemory.CompactHeapWhenLimited();
        });
        return report =>
        {
            report = report.WithTortuosity(results, Tortuosity.DefaultTolerance);
            return pass.Box is { } measured
                ? report.WithTortuositySubVolume(measured, voxels, $"tortuosity measured on a central sub-volume of {measured.Depth}x{measured.Height}x{measured.Width} voxels "
                    + $"({(double)measured.Voxels / voxels:P1} of the volume, from z {measured.Z0}, y {measured.Y0}, x {measured.X0}): the whole volume's solve "
                    + $"needs ~{pass.WholeBytes >> 20} MiB, {pass.Budget} whole")
                : report;
        };
    }

    private static Task<Volume<byte>> ReadBoxAsync(StageVolume<byte> labels, SubVolumeBox box, CancellationToken ct) =>
        labels.Level0.ReadRegionAsync(box.Z0, box.Z0 + box.Depth, box.Y0, box.Y0 + box.Height, box.X0, box.X0 + box.Width, ct);

    /// <summary>
    /// The shortest edge of a sub-volume for the tortuosity or the particles (or the volume's whole edge when shorter): a
    /// box narrower than this says more about the few particles it crosses than about the electrode.
    /// </summary>
    internal const int MinimumSubVolumeEdgeVoxels = 32;

    /// <summary>
    /// Per cent of its share of the budget a sub-volume's counted arrays may take: the tortuosity solve's live heap runs
    /// ~20 % above them (MemoryBudgetTests: at 640 MiB a 158 MiB solve was admitted and needed that much more), and a box
    /// is sized to fill the share to its edge, where a whole volume rarely does.
    /// </summary>
    private const int SubVolumeShareOfWindow = 80;

    /// <summary>
    /// The particle split's volume: the whole labels when the split fits half the memory budget, else the largest central
    /// sub-volume that does (<see cref="CentralSubVolume"/>), else none.
    /// </summary>
    private WholeVolumePass PlanParticles(StageVolume<byte> labels)
    {
        var voxels = (long)labels.Depth * labels.Height * labels.Width;
        var neededBytes = voxels * ParticleBytesPerVoxel;
        var allowedBytes = (long)options.Value.MemoryBudgetMb * 1024 * 1024 / 2;
        var budget = $"more than half the memory budget ({options.Value.MemoryBudgetMb} MiB, SsbTomo:MemoryBudgetMb)";
        if (neededBytes <= allowedBytes) return new WholeVolumePass(neededBytes, null, neededBytes, Budget: budget);
        return CentralSubVolume.Largest(labels.Depth, labels.Height, labels.Width, labels.VoxelSize, (d, h, w) => (long)d * h * w * ParticleBytesPerVoxel,
                allowedBytes * SubVolumeShareOfWindow / 100, MinimumSubVolumeEdgeVoxels) is { } box
            ? new WholeVolumePass(neededBytes, box, box.Voxels * ParticleBytesPerVoxel, Budget: budget)
            : new WholeVolumePass(neededBytes, null, 0, $"particles not measured: splitting the NMC phase of {voxels:N0} voxels into particles needs "
                + $"~{neededBytes >> 20} MiB at once, {budget}; not even a central sub-volume of {MinimumSubVolumeEdgeVoxels} voxels a side fits", Budget: budget);
    }

    /// <summary>
    /// Splits NMC into particles and measures each (particles.csv, and statistics in metrics.json) on the volume
    /// <paramref name="pass"/> chose: the whole labels, or a central sub-volume (particles cut by the box count as cut by the
    /// volume's edge, centroids stay in the stack's coordinates, a warning says so), or none (a warning), rather than
    /// failing the job or breaking the budget.
    /// </summary>
    /// <returns>What the split adds to the report, the particles and the one the particle view shows.</returns>
    private async Task<(Func<MetricsReport, MetricsReport> With, IReadOnlyList<NmcParticle>? Particles, NmcParticle? Shown)> MeasureParticlesAsync(
        StageVolume<byte> labels, Func<Task<Volume<byte>>> wholeLabels, JobLayout layout, WholeVolumePass pass, CancellationToken ct)
    {
        if (pass.LeftOut is { } reason) return (report => report with { Warnings = [.. report.Warnings ?? [], reason] }, null, null);
        var voxels = (long)labels.Depth * labels.Height * labels.Width;
        var volume = pass.Box is { } fitting ? await ReadBoxAsync(labels, fitting, ct) : await wholeLabels();
        ProcessMemory.CompactHeap();
        var separated = NmcParticles.Separate(volume, labels.VoxelSize);
        var particles = NmcParticles.Measure(volume, separated, labels.VoxelSize);
        if (pass.Box is not { } measured)
        {
            await store.WriteAsync(layout.Particles, MetricsReport.ParticlesCsv(particles), ct);
            var shown = await WriteParticleViewAsync(volume, separated, particles, labels.VoxelSize, layout, ct);
            return (report => report.WithParticles(particles, Path.GetFileName(layout.Particles)), particles, shown);
        }
        // The box's centroids moved to the stack's coordinates, so particles.csv reads like a whole volume's (the view is
        // drawn in the box).
        double[] offsetUm = [measured.Z0 * labels.VoxelSize.ZNm / 1000, measured.Y0 * labels.VoxelSize.YNm / 1000, measured.X0 * labels.VoxelSize.XNm / 1000];
        var placed = particles.Select(p => p with { CentroidZyxUm = [.. p.CentroidZyxUm.Select((c, axis) => c + offsetUm[axis])] }).ToList();
        await store.WriteAsync(layout.Particles, MetricsReport.ParticlesCsv(placed), ct);
        var shownInBox = await WriteParticleViewAsync(volume, separated, particles, labels.VoxelSize, layout, ct);
        return (report => report.WithParticles(placed, Path.GetFileName(layout.Particles)).WithParticlesSubVolume(measured, voxels,
            $"particles measured on a central sub-volume of {measured.Depth}x{measured.Height}x{measured.Width} voxels ({(double)measured.Voxels / voxels:P1} "
            + $"of the volume, from z {measured.Z0}, y {measured.Y0}, x {measured.X0}; particles cut by it count as cut by the edge): splitting the whole "
            + $"volume's NMC phase needs ~{pass.WholeBytes >> 20} MiB at once, {pass.Budget}"),
            placed, shownInBox is null ? null : placed.First(p => p.Id == shownInBox.Id));
    }

    /// <summary>
    /// The particle view (Fig. 4f) and its mesh: the largest particle not cut by the border, by contact, with the void
    /// around it. Drawn here rather than in the Reconstruction stage because the particles are split here.
    /// </summary>
    private async Task<NmcParticle?> WriteParticleViewAsync(Volume<byte> volume, NmcParticleLabels separated, IReadOnlyList<NmcParticle> particles,
        VoxelSize voxelSize, JobLayout layout, CancellationToken ct)
    {
        if (SurfaceViews.ParticleSurroundings(volume, separated, particles, voxelSize, new SurfaceOptions()) is not { } found) return null;
        var (particle, particleMesh, voidMesh) = found;
        await store.WriteAsync(layout.View(SurfaceView.Particle),
            PngImage.EncodeRgb(SurfaceViews.RenderParticle(particleMesh, voidMesh), SurfaceViews.Height, SurfaceViews.Width), ct);
        await store.WriteAsync(layout.ParticleMesh, MeshFiles.Glb([($"particle {particle.Id}", particleMesh, PhaseLabel.Colours[PhaseLabel.Nmc]!.Value),
            ("void", voidMesh, PhaseLabel.Colours[PhaseLabel.Void]!.Value)]), ct);
        return particle;
    }

    /// <summary>
    /// What the particle pass holds per voxel at its peak: labels, the squared distance (double) and the distance (float),
    /// mask and visited flags, markers and reconstruction, particle ids, the smoothed indicator and its three gradients.
    /// </summary>
    private const int ParticleBytesPerVoxel = 48;

    /// <summary>
    /// The segmentation workers' counts per threshold variant, summed by the orchestrator, with each variant's thresholds.
    /// A model without counts (a job whose segmentation predates them) gets no segmentation interval rather than a
    /// second pass over the whole volume here. Counts on sampled blocks (they end with the reported segmentation's) are
    /// scaled to the volume against its measured <paramref name="whole"/> (<see cref="VariantBlockSample.Estimate"/>).
    /// </summary>
    private static IReadOnlyList<VariantTally>? VariantTallies(SegmentationModel model, VariantCounts[]? counts, MicrostructureSummary whole)
    {
        if (counts is null) return null;
        var definitions = SegmentationUncertainty.Variants(model.Thresholds
            .Select((t, k) => new ThresholdRange(model.ThresholdLows[k], t, model.ThresholdHighs[k])).ToArray());
        var sampled = counts.Length > 0 && counts[^1].Name == VariantBlockSample.SampledBaseName;
        var variantCounts = sampled ? counts[..^1] : counts;
        if (!definitions.Select(d => d.Name).SequenceEqual(variantCounts.Select(c => c.Name)))
            throw new InvalidOperationException($"the segmentation reported variants [{string.Join(", ", counts.Select(c => c.Name))}], "
                + $"the model defines [{string.Join(", ", definitions.Select(d => d.Name))}]");
        var tallies = definitions.Zip(variantCounts, (d, c) => new VariantTally(d.Name, d.Thresholds, c.LabelCounts, new ContactFaces(c.NmcSurface, c.NmcVoid))).ToList();
        if (!sampled) return tallies;
        var reference = counts[^1];
        tallies.Add(new VariantTally(reference.Name, model.Thresholds, reference.LabelCounts, new ContactFaces(reference.NmcSurface, reference.NmcVoid)));
        return VariantBlockSample.Estimate(tallies, whole.LabelCounts, whole.Contact);
    }
}
