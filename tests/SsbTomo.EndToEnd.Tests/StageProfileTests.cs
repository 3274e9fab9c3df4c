using System.Diagnostics;
using System.Text.Json;
using SsbTomo.Cli;
using SsbTomo.Contracts;

using SsbTomo.Phantom;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

namespace SsbTomo.EndToEnd.Tests;

public class StageProfileTests
{
    private sealed class FakeClocks
    {
        public TimeSpan Wall, Cpu;
        public long Resident, Faults;
        public TimeSpan Pause;
        public int Gen2;

        public StageProfiler Profiler() => new(() => Wall, () => Cpu, () => Resident, () => Faults, () => (Pause, Gen2));
    }

    [Fact]
    public void Each_stage_gets_the_wall_and_cpu_time_between_its_state_and_the_next_and_the_largest_memory_sampled()
    {
        var clocks = new FakeClocks { Resident = 100L << 20 };
        var profiler = clocks.Profiler();

        (clocks.Faults, clocks.Pause, clocks.Gen2) = (1_000, TimeSpan.FromSeconds(0.5), 3);
        profiler.Enter(JobStates.Ingesting);
        (clocks.Wall, clocks.Cpu, clocks.Resident, clocks.Faults) = (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), 300L << 20, 1_400);
        profiler.Sample();
        clocks.Resident = 150L << 20;
        (clocks.Pause, clocks.Gen2) = (TimeSpan.FromSeconds(0.75), 5);
        profiler.Enter(JobStates.Aligning);
        (clocks.Wall, clocks.Cpu, clocks.Resident, clocks.Faults) = (TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(9), 200L << 20, 5_000);
        (clocks.Pause, clocks.Gen2) = (TimeSpan.FromSeconds(2), 9);
        profiler.Enter(JobStates.Aligning); // k of N progress within the stage: only a sample
        (clocks.Wall, clocks.Cpu, clocks.Resident, clocks.Faults) = (TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(20), 50L << 20, 9_400);
        var stages = profiler.Finish();

        Assert.Equal([JobStates.Ingesting, JobStates.Aligning], stages.Select(s => s.Stage));
        Assert.Equal((2.0, 3.0, 300.0), (stages[0].WallSeconds, stages[0].CpuSeconds, stages[0].PeakResidentMib));
        Assert.Equal((10.0, 17.0, 200.0), (stages[1].WallSeconds, stages[1].CpuSeconds, stages[1].PeakResidentMib));
        Assert.Equal(1.7, stages[1].CoresBusy, 12);
        Assert.Equal([400L, 8_000L], stages.Select(s => s.MinorPageFaults));
        Assert.Equal([0.25, 1.25], stages.Select(s => s.GcPauseSeconds));
        Assert.Equal([2, 4], stages.Select(s => s.Gen2Collections));
        Assert.Equal(stages, profiler.Finish()); // finishing again adds nothing
    }

    [Theory]
    [InlineData("4242 (dotnet) S 1 4242 4242 0 -1 4194560 987654 0 12 0 300 40 0 0 20 0 31 0", 987654)]
    [InlineData("4242 (ssb tomo) worker) R 1 4242 4242 0 -1 4194560 17 0 0 0 3 4 0 0 20 0 1 0", 17)] // a name with spaces and a ')'
    [InlineData("4242 (dotnet) S 1 4242", 0)]
    [InlineData("", 0)]
    public void Minor_faults_are_the_tenth_field_of_proc_stat_counted_after_the_name(string stat, long expected) =>
        Assert.Equal(expected, StageProfiler.MinorFaultsFromStat(stat));

    [Fact]
    public void This_process_counts_the_pages_a_fresh_array_touches_where_the_os_counts_them()
    {
        if (!File.Exists("/proc/self/stat"))
        {
            Assert.Equal(0, StageProfiler.ProcessMinorFaults());
            return;
        }
        var before = StageProfiler.ProcessMinorFaults();
        // 64 MiB outside the collected heap, touched once per page: the kernel maps each page at its first write.
        var bytes = (nuint)(64 << 20);
        unsafe
        {
            var memory = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc(bytes);
            try
            {
                for (nuint i = 0; i < bytes; i += 4096) memory[i] = 1;
            }
            finally
            {
                System.Runtime.InteropServices.NativeMemory.Free(memory);
            }
        }
        // At least one fault per 2 MiB huge page, at most one per 4 KiB page and some for the runtime's own work beside it.
        Assert.InRange(StageProfiler.ProcessMinorFaults() - before, 32, 1_000_000);
    }

    [Fact]
    public void A_profile_sums_its_stages_and_gives_throughput_per_wall_and_per_cpu_second()
    {
        var profile = new RunProfile(40_000_000, [new StageTiming("A", 10, 15, 1), new StageTiming("B", 10, 25, 2)]);

        Assert.Equal((20.0, 40.0), (profile.WallSeconds, profile.CpuSeconds));
        Assert.Equal(2.0, profile.MegavoxelsPerSecond, 12);
        Assert.Equal(1.0, profile.MegavoxelsPerCpuSecond, 12);
        using var json = JsonDocument.Parse(profile.ToJson());
        Assert.Equal(40_000_000, json.RootElement.GetProperty("stack_voxels").GetInt64());
        Assert.Equal(1.5, json.RootElement.GetProperty("stages")[0].GetProperty("cores_busy").GetDouble(), 12);
    }

    [Fact]
    public async Task Run_with_profile_writes_every_stage_in_pipeline_order_within_the_runs_wall_time()
    {
        using var dir = new TempDirectory("ssbtomo-profile");
        var phantom = Path.Combine(dir.Path, "phantom");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Pristine, 16, 96, 112, 50, Seed: 5), phantom);
        var run = Path.Combine(dir.Path, "run");
        var elapsed = Stopwatch.StartNew();

        var exitCode = await RunCommand.RunAsync(Path.Combine(phantom, "stack"), run, null, 8, verbose: false, CancellationToken.None, profile: true);

        elapsed.Stop();
        Assert.Equal(0, exitCode);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(run, RunProfile.FileName)));
        var root = json.RootElement;
        Assert.Equal(16L * 96 * 112, root.GetProperty("stack_voxels").GetInt64());
        var stages = root.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(JobStates.Running, stages.Select(s => s.GetProperty("stage").GetString()!));
        Assert.All(stages, s => Assert.True(s.GetProperty("wall_seconds").GetDouble() >= 0 && s.GetProperty("peak_resident_mib").GetDouble() > 0, s.ToString()));
        if (File.Exists("/proc/self/stat")) // every stage allocates its windows: the kernel maps fresh pages for some of them
            Assert.True(stages.Sum(s => s.GetProperty("minor_page_faults").GetInt64()) > 0);
        Assert.All(stages, s => Assert.True(s.GetProperty("gc_pause_seconds").GetDouble() >= 0 && s.GetProperty("gen2_collections").GetInt32() >= 0, s.ToString()));
        Assert.InRange(root.GetProperty("wall_seconds").GetDouble(), 0.01, elapsed.Elapsed.TotalSeconds);
        Assert.True(root.GetProperty("cpu_seconds").GetDouble() > 0);
        // Two 8-slice slabs of small slices: an alignment worker for each while there are cores (ChunkPlan.AlignmentWorkersFor).
        Assert.Equal(8, root.GetProperty("chunk_slices").GetInt32());
        Assert.Equal(Math.Min(2, Environment.ProcessorCount), root.GetProperty("alignment_workers").GetInt32());
        // The fanned-out stages' commands: the default 320 slices, forty 8-slice slabs.
        Assert.Equal(320, root.GetProperty("fan_out_slices").GetInt32());
    }

    /// <summary>
    /// Without --chunk-slices, `ssbtomo run` cuts a stack of small slices into slabs of 32 (Orchestrator.ChunkPlan.SlicesFor): raw.zarr
    /// is chunked by 32 slices along z, and the labels are the bytes a run with 16-slice slabs gives. The first run denoises, surveys
    /// and segments its 40 slices in one command (--fan-out-slices' default, 320), the second in three of 16 slices.
    /// </summary>
    [Fact]
    public async Task Run_without_chunk_slices_takes_the_slab_the_slice_size_allows_and_the_same_labels()
    {
        using var dir = new TempDirectory("ssbtomo-auto-chunk");
        var phantom = Path.Combine(dir.Path, "phantom");
        await PhantomCommand.WriteAsync(new PhantomOptions(PhantomPreset.Cycled50, 40, 96, 112, 50, Seed: 7), phantom);
        var (auto, sixteen) = (Path.Combine(dir.Path, "auto"), Path.Combine(dir.Path, "sixteen"));

        Assert.Equal(0, await RunCommand.RunAsync(Path.Combine(phantom, "stack"), auto, null, null, verbose: false, CancellationToken.None));
        Assert.Equal(0, await RunCommand.RunAsync(Path.Combine(phantom, "stack"), sixteen, null, 16, verbose: false, CancellationToken.None,
            fanOutSlicesGiven: 16));

        var layout = new JobLayout("");
        async Task<IReadOnlyList<int>> RawChunks(string run) => (await OmeZarr.OpenLevelAsync<ushort>(new FileSystemBlobStore(run), layout.Raw, 0)).Chunks;
        Assert.Equal(Orchestrator.ChunkPlan.LargeSlabSlices, (await RawChunks(auto))[0]);
        Assert.Equal(16, (await RawChunks(sixteen))[0]);
        async Task<byte[]> Labels(string run)
        {
            var array = await OmeZarr.OpenLevelAsync<byte>(new FileSystemBlobStore(run), layout.Labels, 0);
            return (await array.ReadRegionAsync(0, array.Shape[0], 0, array.Shape[1], 0, array.Shape[2])).Data;
        }
        Assert.Equal(await Labels(sixteen), await Labels(auto));
    }
}
