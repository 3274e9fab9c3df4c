using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Classification;
using SsbTomo.Orchestrator;
using SsbTomo.Storage;

namespace SsbTomo.Cli;

public static class RunCommand
{
    public static Command Create()
    {
        var stack = new Argument<string>("stack") { Description = "Folder of per-slice TIFFs (natural order) or one multi-page TIFF." };
        var output = new Option<string>("--out") { Description = "Output folder: metrics.json, report.html, previews/, raw.zarr and aligned.zarr (labels in aligned.zarr/labels/phases), alignment.json and the intermediates.", Required = true };
        var voxelSize = new Option<double[]?>("--voxel-size-nm")
        {
            Description = "Voxel size X,Y,Z in nm; overrides the TIFF metadata.",
            CustomParser = r => CliParsing.ParseDoubles(r, 3),
        };
        var chunkSlices = new Option<int?>("--chunk-slices")
        {
            Description = $"Slices per chunk (fan-out unit). Default: {ChunkPlan.LargeSlabSlices} when a slab of whole slices fits half the memory budget "
                + $"(slices up to ~3.3 megapixels at 2 GiB), else {ChunkPlan.DefaultSlices}.",
        };
        var fanOutSlices = new Option<int?>("--fan-out-slices")
        {
            Description = $"Slices per command of denoising, survey and segmentation, rounded down to whole chunks (each reads its halo once). "
                + $"Default: {ChunkPlan.EmbeddedFanOutSlices}.",
        };
        var verbose = new Option<bool>("--verbose") { Description = "Log every stage to the console." };
        var memory = new Option<int>("--memory-mb")
        {
            Description = "Memory budget of this process in MiB: stages cut slices into tiles that fit it, the heap is held to it.",
            DefaultValueFactory = _ => new SsbTomoOptions().MemoryBudgetMb,
        };
        var alignmentWorkers = new Option<int?>("--alignment-workers")
        {
            Description = "Alignment chunks this process measures and shifts at once (workers of the alignment stage; a cluster runs pods instead). "
                + "Default: one per core while the slabs of whole slices they hold fit half the memory budget and there are slabs for them, else 1.",
        };

        var model = new Option<string?>("--model")
        {
            Description = "Model folder from `ssbtomo train` (phases nmc,lps,carbon,void, trained on 16-bit aligned slices): segmentation classifies "
                + "the aligned slices with it instead of the grey-level thresholds.",
        };

        var profile = new Option<bool>("--profile")
        {
            Description = $"Print wall time, CPU time and peak memory per stage after the run and write them to {RunProfile.FileName} in the output folder.",
        };

        var carbon = new Option<CarbonShape?>("--carbon")
        {
            Description = "The carbon additive's shape. fibres (carbon nanofibres, VGCF: the paper's cathode): thin carbon takes its width at half "
                + "its depth, and dark layers along a particle's face that are not fibres are read as delamination gaps (void). particles (carbon "
                + "black, binder films on the particles): both rules are left out, since a binder film on a particle is carbon, not a gap (on a "
                + "real binder's microstructure the gaps rule read contact loss 4-8 points higher). Default: fibres, unless SsbTomo__FibreHalfDepth=false.",
        };

        var registrationCrop = new Option<int?>("--registration-crop")
        {
            Description = $"Edge in pixels of the centred crop on which each slice is registered against its neighbours. The drift is anchored "
                + "on whole particle sections found over the slice; a specimen without compact bright sections rests on the registrations alone, "
                + $"which a larger crop (1024, or the slice's size) measures better, at ~4x the cost per doubling. {SsbTomoOptions.MinimumRegistrationCropPx} to {SsbTomoOptions.MaximumRegistrationCropPx}. "
                + $"Default: {Imaging.Alignment.PairwiseRegistration.DefaultCropPx} (SsbTomo__RegistrationCropPx).",
        };

        var command = new Command("run", "Run ingest, alignment, segmentation, reconstruction and metrics on one stack, embedded in this process.")
        {
            stack, output, voxelSize, chunkSlices, fanOutSlices, verbose, memory, alignmentWorkers, model, profile, carbon, registrationCrop,
        };
        command.SetAction((parse, ct) => RunAsync(
            parse.GetValue(stack)!, parse.GetValue(output)!, parse.GetValue(voxelSize), parse.GetValue(chunkSlices), parse.GetValue(verbose), ct,
            parse.GetValue(memory), parse.GetValue(alignmentWorkers), parse.GetValue(model), parse.GetValue(profile), parse.GetValue(fanOutSlices),
            parse.GetValue(carbon), parse.GetValue(registrationCrop)));
        return command;
    }

    /// <param name="memoryBudgetMb">When given, this process's memory budget (the CLI's own process only: it caps the heap).</param>
    /// <param name="alignmentWorkersGiven">Alignment chunks worked on at once (<see cref="SsbTomoOptions.AlignmentWorkers"/>); null: as many as
    /// the cores, slabs and budget allow (<see cref="Plan"/>).</param>
    /// <param name="modelDir">A model folder from <c>ssbtomo train</c> to segment with (null: the thresholds).</param>
    /// <param name="profile">Print and write (<see cref="RunProfile.FileName"/>) the time and memory of every stage.</param>
    /// <param name="fanOutSlicesGiven">Slices per command of the fanned-out stages (<see cref="SubmitJob.FanOutSlices"/>); null:
    /// <see cref="ChunkPlan.EmbeddedFanOutSlices"/>.</param>
    /// <param name="registrationCropPx">The job's registration crop (<see cref="SubmitJob.RegistrationCropPx"/>); null: the configured one.</param>
    public static async Task<int> RunAsync(string stackPath, string outDir, double[]? voxelSize, int? chunkSlicesGiven, bool verbose, CancellationToken ct,
        int? memoryBudgetMb = null, int? alignmentWorkersGiven = null, string? modelDir = null, bool profile = false, int? fanOutSlicesGiven = null,
        CarbonShape? carbon = null, int? registrationCropPx = null)
    {
        if (modelDir is not null && CheckModel(modelDir) is { } refusal)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{refusal}[/]");
            return 2;
        }
        if (!Directory.Exists(stackPath) && !File.Exists(stackPath))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{stackPath}: no such stack folder or TIFF file[/]");
            return 2;
        }
        if (chunkSlicesGiven < 1)
        {
            AnsiConsole.MarkupLine("[red]--chunk-slices must be at least 1[/]");
            return 2;
        }
        if (fanOutSlicesGiven < 1)
        {
            AnsiConsole.MarkupLine("[red]--fan-out-slices must be at least 1[/]");
            return 2;
        }
        if (memoryBudgetMb < ProcessMemory.MinimumBudgetMb)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]--memory-mb must be at least {ProcessMemory.MinimumBudgetMb}[/]");
            return 2;
        }
        if (alignmentWorkersGiven < 1)
        {
            AnsiConsole.MarkupLine("[red]--alignment-workers must be at least 1[/]");
            return 2;
        }
        if (registrationCropPx is { } crop && !SsbTomoOptions.IsRegistrationCrop(crop))
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[red]--registration-crop must be from {SsbTomoOptions.MinimumRegistrationCropPx} to {SsbTomoOptions.MaximumRegistrationCropPx} pixels[/]");
            return 2;
        }
        var (chunkSlices, alignmentWorkers) = Plan(stackPath, memoryBudgetMb ?? new SsbTomoOptions().MemoryBudgetMb, chunkSlicesGiven, alignmentWorkersGiven);
        var fanOut = ChunkPlan.FanOutSlicesFor(chunkSlices, fanOutSlicesGiven ?? ChunkPlan.EmbeddedFanOutSlices);
        if (memoryBudgetMb is { } budget) ProcessMemory.LimitTo(budget);
        var started = Stopwatch.StartNew();
        var profiler = profile ? StageProfiler.ForThisProcess() : null;
        var result = await ExecuteAsync(stackPath, outDir, voxelSize, chunkSlices, verbose, ct, services => services.Configure<SsbTomoOptions>(o =>
        {
            if (memoryBudgetMb is { } mb) o.MemoryBudgetMb = mb;
            o.AlignmentWorkers = alignmentWorkers;
        }), modelDir, profiler, fanOut, carbon, registrationCropPx);
        if (profiler is not null) WriteProfile(profiler, outDir, result.Succeeded, chunkSlices, alignmentWorkers, fanOut);
        if (!result.Succeeded)
        {
            foreach (var line in FailureLines(result, outDir))
                AnsiConsole.MarkupLineInterpolated($"[red]{line}[/]");
            return 1;
        }
        PrintSummary(Path.Combine(Path.GetFullPath(outDir), "metrics.json"), started.Elapsed);
        return 0;
    }

    /// <summary>
    /// The slab and the alignment workers, each as given or else from the stack's first slice and slice count (that slice's
    /// header only: ingest checks every slice): both unset, <see cref="ChunkPlan.EmbeddedPlan"/>; only the workers given,
    /// <see cref="ChunkPlan.SlicesFor"/> with them; only the slab, <see cref="ChunkPlan.AlignmentWorkersFor"/> it.
    /// <see cref="ChunkPlan.DefaultSlices"/> and one worker when the first slice cannot be read here (ingest then says what
    /// is wrong with it).
    /// </summary>
    private static (int ChunkSlices, int AlignmentWorkers) Plan(string stackPath, int memoryBudgetMb, int? chunkSlicesGiven, int? alignmentWorkersGiven)
    {
        if (chunkSlicesGiven is { } given && alignmentWorkersGiven is { } workersGiven) return (given, workersGiven);
        try
        {
            var (count, height, width) = TiffStackReader.FirstSliceShapeAndCount(stackPath);
            var budget = (long)memoryBudgetMb << 20;
            return (chunkSlicesGiven, alignmentWorkersGiven) switch
            {
                ({ } slab, _) => (slab, ChunkPlan.AlignmentWorkersFor(count, height, width, budget, Environment.ProcessorCount, slab)),
                (_, { } workers) => (ChunkPlan.SlicesFor(height, width, budget, workers), workers),
                _ => ChunkPlan.EmbeddedPlan(count, height, width, budget, Environment.ProcessorCount),
            };
        }
        catch (Exception e) when (e is TiffStackException or IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException or NotSupportedException)
        {
            return (chunkSlicesGiven ?? ChunkPlan.DefaultSlices, alignmentWorkersGiven ?? 1);
        }
    }

    /// <summary>
    /// What the CLI prints for a failed job: the reason (stage, file or slices, what to do), and where the log with the
    /// technical detail is when the run wrote one. The detail itself stays in the log.
    /// </summary>
    public static IReadOnlyList<string> FailureLines(JobOutcome outcome, string outDir)
    {
        var lines = new List<string> { $"Job failed. {outcome.Reason ?? "No reason was reported."}" };
        var log = Path.Combine(Path.GetFullPath(outDir), FileLogProvider.FileName);
        if (File.Exists(log)) lines.Add($"Log of ssbtomo: {log}");
        return lines;
    }

    /// <summary>
    /// Why <paramref name="modelDir"/> cannot segment a pipeline run (a sentence naming the file), or null when it can: a
    /// model folder of this format whose phase table and bit depth are the pipeline's
    /// (<see cref="PixelClassifierManifest.CheckForPipeline"/>). The segmentation workers check the stored blobs again.
    /// </summary>
    public static string? CheckModel(string modelDir)
    {
        var manifestPath = Path.Combine(Path.GetFullPath(modelDir), PixelClassifierManifest.FileName);
        try
        {
            TrainableSegmentation.Load(modelDir).Manifest.CheckForPipeline(manifestPath);
            return null;
        }
        catch (Exception e) when (e is ModelMismatchException or InvalidDataException or FileNotFoundException)
        {
            return e.Message.Contains(PixelClassifierManifest.FileName, StringComparison.Ordinal) ? e.Message : $"{manifestPath}: {e.Message}";
        }
    }

    /// <summary>
    /// Runs one job embedded and returns its outcome; outputs land in <paramref name="outDir"/>. With
    /// <paramref name="modelDir"/> the model's manifest and forest are stored in the job's blob store first
    /// (<see cref="JobLayout.ClassifierManifest"/>, <see cref="JobLayout.ClassifierForest"/>) and the job segments with them.
    /// </summary>
    /// <param name="profiler">When given, told every state the job reports and sampled for memory while the job runs.</param>
    /// <param name="fanOutSlices">Slices per command of the fanned-out stages (<see cref="SubmitJob.FanOutSlices"/>; 0: one chunk each).</param>
    /// <param name="carbon">The cathode's carbon (<see cref="SubmitJob.Carbon"/>); null: the configured <see cref="SsbTomoOptions.FibreHalfDepth"/>.</param>
    /// <param name="registrationCropPx">The job's registration crop (<see cref="SubmitJob.RegistrationCropPx"/>); null: the configured one.</param>
    public static async Task<JobOutcome> ExecuteAsync(string stackPath, string outDir, double[]? voxelSize, int chunkSlices, bool verbose,
        CancellationToken ct, Action<IServiceCollection>? configureServices = null, string? modelDir = null, StageProfiler? profiler = null,
        int fanOutSlices = 0, CarbonShape? carbon = null, int? registrationCropPx = null)
    {
        stackPath = Path.GetFullPath(stackPath);
        outDir = Path.GetFullPath(outDir);
        Directory.CreateDirectory(outDir);

        using var host = EmbeddedPipeline.Build(outDir, chunkSlices, verbose, configureServices);
        await host.StartAsync(ct);
        var watcher = host.Services.GetRequiredService<JobWatcher>();
        if (profiler is not null)
            watcher.Progressed += p =>
            {
                if (!JobStates.IsFinished(p.State)) profiler.Enter(p.State);
            };
        // Resident memory between progress messages: a stage with few chunks reports rarely.
        using var sampling = profiler is null ? null : new Timer(_ => profiler.Sample(), null, ProfileSamplingPeriod, ProfileSamplingPeriod);
        var jobId = NewId.NextGuid();
        var outcome = watcher.Watch(jobId);
        var overrideSize = voxelSize is not { Length: 3 } ? null : new VoxelSizeNm(voxelSize[0], voxelSize[1], voxelSize[2]);
        if (modelDir is not null)
        {
            var (store, layout) = (host.Services.GetRequiredService<IBlobStore>(), new JobLayout(""));
            await store.WriteAsync(layout.ClassifierManifest, await File.ReadAllBytesAsync(Path.Combine(modelDir, PixelClassifierManifest.FileName), ct), ct);
            await store.WriteAsync(layout.ClassifierForest, await File.ReadAllBytesAsync(Path.Combine(modelDir, PixelClassifierManifest.ForestFileName), ct), ct);
        }
        await host.Services.GetRequiredService<IBus>().Publish(new SubmitJob(jobId, stackPath, "", overrideSize, chunkSlices)
        {
            TrainedClassifier = modelDir is not null,
            FanOutSlices = fanOutSlices,
            Carbon = carbon,
            RegistrationCropPx = registrationCropPx ?? host.Services.GetRequiredService<IOptions<SsbTomoOptions>>().Value.RegistrationCropPx,
        }, ct);
        try
        {
            var finished = await FollowAsync(watcher, outcome, ct);
            profiler?.Finish(); // the last stage ends with the job, not with the host's shutdown
            return finished;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<JobOutcome> FollowAsync(JobWatcher watcher, Task<JobOutcome> outcome, CancellationToken ct)
    {
        if (Console.IsOutputRedirected)
        {
            string? last = null;
            watcher.Progressed += p =>
            {
                var line = p.ChunksTotal > 0 ? $"{p.State} ({p.ChunksDone}/{p.ChunksTotal} chunks)" : p.State;
                if (line != last) Console.WriteLine(last = line);
            };
            return await outcome.WaitAsync(ct);
        }

        return await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var stages = JobStates.Running.ToDictionary(s => s, s => progress.AddTask(s, autoStart: false, maxValue: 1));
                watcher.Progressed += p =>
                {
                    foreach (var (name, task) in stages)
                    {
                        var order = JobStates.Running.IndexOf(name);
                        var current = JobStates.Running.IndexOf(p.State);
                        if (current < 0 && p.State != JobStates.Completed) continue;
                        if (order < current || p.State == JobStates.Completed) { task.MaxValue = 1; task.Value = 1; task.StopTask(); }
                        else if (order == current)
                        {
                            task.StartTask();
                            if (p.ChunksTotal > 0 && SsbTomo.Orchestrator.StallPolicy.IsFanOut(name)) { task.MaxValue = p.ChunksTotal; task.Value = p.ChunksDone; }
                        }
                    }
                };
                return await outcome.WaitAsync(ct);
            });
    }

    private static readonly TimeSpan ProfileSamplingPeriod = TimeSpan.FromMilliseconds(250);

    private static void WriteProfile(StageProfiler profiler, string outDir, bool succeeded, int chunkSlices, int alignmentWorkers, int fanOutSlices)
    {
        var profile = new RunProfile(StackVoxels(outDir), profiler.Finish())
        {
            ChunkSlices = chunkSlices,
            AlignmentWorkers = alignmentWorkers,
            FanOutSlices = fanOutSlices,
        };
        File.WriteAllText(Path.Combine(Path.GetFullPath(outDir), RunProfile.FileName), profile.ToJson());
        var table = new Table().AddColumn("stage").AddColumn("wall s", c => c.RightAligned()).AddColumn("CPU s", c => c.RightAligned())
            .AddColumn("cores busy", c => c.RightAligned()).AddColumn("share of wall", c => c.RightAligned()).AddColumn("peak MiB", c => c.RightAligned())
            .AddColumn("page faults", c => c.RightAligned()).AddColumn("GC pause s", c => c.RightAligned());
        foreach (var stage in profile.Stages)
            table.AddRow(stage.Stage, $"{stage.WallSeconds:0.0}", $"{stage.CpuSeconds:0.0}", $"{stage.CoresBusy:0.00}",
                $"{(profile.WallSeconds > 0 ? stage.WallSeconds / profile.WallSeconds : 0):P0}", $"{stage.PeakResidentMib:0}", $"{stage.MinorPageFaults:N0}",
                $"{stage.GcPauseSeconds:0.0}");
        table.AddRow("all stages", $"{profile.WallSeconds:0.0}", $"{profile.CpuSeconds:0.0}", "", "", "", $"{profile.Stages.Sum(s => s.MinorPageFaults):N0}",
            $"{profile.Stages.Sum(s => s.GcPauseSeconds):0.0}");
        AnsiConsole.Write(table);
        if (profile.StackVoxels > 0)
            AnsiConsole.MarkupLineInterpolated(
                $"{profile.StackVoxels / 1e6:0.0} Mvoxel: {profile.MegavoxelsPerSecond:0.00} Mvoxel/s wall, {profile.MegavoxelsPerCpuSecond:0.00} Mvoxel per CPU-second");
        AnsiConsole.MarkupLineInterpolated(
            $"Slabs of {chunkSlices} slices, {alignmentWorkers} alignment worker{(alignmentWorkers == 1 ? "" : "s")}, {fanOutSlices} slices per denoising, survey and segmentation command.");
        if (!succeeded) AnsiConsole.MarkupLine("The job failed: the profile covers the stages it ran.");
    }

    /// <summary>Voxels of the ingested stack (raw.zarr's full-resolution shape), 0 when ingest did not get that far.</summary>
    private static long StackVoxels(string outDir)
    {
        var zarray = Path.Combine(Path.GetFullPath(outDir), "raw.zarr", "0", ".zarray");
        if (!File.Exists(zarray)) return 0;
        using var doc = JsonDocument.Parse(File.ReadAllText(zarray));
        return doc.RootElement.GetProperty("shape").EnumerateArray().Aggregate(1L, (product, extent) => product * extent.GetInt64());
    }

    private static void PrintSummary(string metricsPath, TimeSpan elapsed)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(metricsPath));
        var root = doc.RootElement;
        var table = new Table().AddColumn("metric").AddColumn("value");
        foreach (var phase in root.GetProperty("phase_fractions").EnumerateObject())
            table.AddRow($"{phase.Name} fraction", $"{phase.Value.GetDouble():P2}");
        table.AddRow("contact loss", $"{root.GetProperty("contact_loss_fraction").GetDouble():P2}");
        table.AddRow("void components", root.GetProperty("void").GetProperty("components").ToString());
        table.AddRow("wall time", $"{elapsed.TotalSeconds:0.0} s");
        // The process's high-water mark of resident memory (Linux VmHWM), against the --memory-mb budget.
        table.AddRow("peak memory", $"{Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):0} MiB");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"Results in [bold]{Path.GetDirectoryName(metricsPath)}[/]");
    }
}
