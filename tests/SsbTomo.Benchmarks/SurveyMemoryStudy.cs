using System.Diagnostics;
using System.Globalization;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// What one survey command holds: <c>SurveyChunkConsumer</c>'s window loop over owned slices [Z0, Z1) of a finished run's
/// denoised.zarr, under the process's memory budget as the pipeline sets it (<see cref="ProcessMemory.LimitTo"/>), with
/// the collected heap sampled every 5 ms: the largest heap seen per window against the window's estimate. The thresholds
/// are fixed plausible ones (the survey's memory does not depend on them).
/// Usage: dotnet SsbTomo.Benchmarks.dll survey-memory RUN_DIR Z0 Z1 [--memory-mb 2048] [--heap-budget-mb MB]
/// </summary>
internal static class SurveyMemoryStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks survey-memory RUN_DIR Z0 Z1 [--memory-mb 2048] [--heap-budget-mb MB]");
            return 2;
        }
        var (z0, z1) = (int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture));
        var budgetMb = new SsbTomoOptions().MemoryBudgetMb;
        int? heapBudgetMb = null;
        for (var i = 3; i + 1 < args.Length; i++)
        {
            if (args[i] == "--memory-mb") budgetMb = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--heap-budget-mb") heapBudgetMb = int.Parse(args[++i], CultureInfo.InvariantCulture);
        }
        // The windows are sized by --memory-mb; the process may be held to another budget to find the least it needs.
        var heapLimit = ProcessMemory.LimitTo(heapBudgetMb ?? budgetMb);
        var options = new SsbTomoOptions { MemoryBudgetMb = budgetMb };
        var denoised = await StageVolume<ushort>.OpenAsync(new FileSystemBlobStore(args[0]), new JobLayout("").Denoised);
        Console.WriteLine($"denoised {denoised.Depth}x{denoised.Height}x{denoised.Width}, chunks {string.Join('x', denoised.Level0.Chunks)}, heap limit {heapLimit >> 20} MiB, window budget {options.WindowBudgetBytes >> 20} MiB");

        long peak = 0;
        using var sampler = new Timer(_ => { var h = GC.GetTotalMemory(false); if (h > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, h); }, null, 0, 5);
        ProcessMemory.CompactHeap();
        var sigma = CarbonFibreSurvey.TubeSigmaVoxels(denoised.VoxelSize);
        double[] thresholds = [17582, 24000, 40000];
        double[] means = [12000, 20000, 33000, 48000];
        var halo = Math.Max(Math.Max(CarbonFibreSurvey.RequiredHaloSlices(sigma), ShineThroughEstimate.RequiredHaloSlices), StandingCurtains.RequiredHaloPixels);
        var windowSlices = Halo.Expand(denoised.Depth, z0, z1, halo).SlabSlices;
        var sliceStride = CarbonFibreSurvey.SliceStrideFor(denoised.Depth, denoised.Height, denoised.Width);
        var surveyed = CarbonFibreSurvey.SurveyedSlices(z0, z1, sliceStride);
        var smallestRead = SlabTilePlan.SmallestReadPixels(denoised.Level0, halo, StandingCurtains.RowBlock);
        var budget = options.WindowBudgetBytes;
        var parallelism = SegmentationSettings.SurveyParallelism(budget, windowSlices, surveyed, smallestRead, Environment.ProcessorCount);
        // The stage's own bytes and the reader's next window, as the tile plan counts them.
        var bytesPerVoxel = SegmentationSettings.SurveyBytesPerVoxel(windowSlices, surveyed, parallelism) + StageVolume<ushort>.ReadAheadBytesPerVoxel(1);
        Console.WriteLine($"halo {halo}, window slices {windowSlices}, parallelism {parallelism}, estimate {bytesPerVoxel:0.00} bytes a voxel");
        var clock = Stopwatch.StartNew();
        var curtainSteps = ColumnStepSums.Empty(denoised.Width);
        await foreach (var window in denoised.WindowsAsync(z0, z1, halo, budget, bytesPerVoxel - StageVolume<ushort>.ReadAheadBytesPerVoxel(1), default, rowMultiple: StandingCurtains.RowBlock))
        {
            var afterRead = Interlocked.Read(ref peak);
            CarbonFibreSurvey.Survey(window.Data, window.Slab, window.Tile, thresholds, means,
                SegmentationSettings.HistogramBins, SegmentationSettings.HistogramMin, SegmentationSettings.HistogramMax, sigma, parallelism, sliceStride);
            ShineThroughEstimate.CountRuns(window.Data, window.Slab, window.Tile, means);
            curtainSteps.Add(StandingCurtains.Measure(window.Data, window.Slab, window.Tile, denoised.Height, denoised.Width, StandingCurtains.RowBlock, parallelism));
            var estimate = (double)window.Data.Depth * window.Data.Height * window.Data.Width * bytesPerVoxel;
            Console.WriteLine($"window z [{window.Slab.SlabZ0},{window.Slab.SlabZ1}) y [{window.Tile.ReadY0},{window.Tile.ReadY1}) x [{window.Tile.ReadX0},{window.Tile.ReadX1}): "
                + $"estimate {estimate / (1 << 20):0} MiB, heap peak through the read {afterRead >> 20} MiB, through the survey {Interlocked.Read(ref peak) >> 20} MiB, {clock.Elapsed.TotalSeconds:0.0} s");
            Interlocked.Exchange(ref peak, GC.GetTotalMemory(false));
        }
        return 0;
    }
}
