using SsbTomo.Orchestrator;

namespace SsbTomo.Orchestrator.Tests;

public class ChunkPlanTests
{
    private const long Mib = 1 << 20;

    /// <summary>
    /// 32 slices where ingest's and alignment's slabs of whole slices (32 + 8 halo slices at 8 bytes a pixel) fit half the
    /// budget, else 16: at the default 2 GiB a 1024x1024 or 1536x2048 slice gets 32, a real 3072x4096 slice 16; a smaller
    /// budget moves the line.
    /// </summary>
    /// <summary>The fanned-out commands span the most whole slabs the request allows, never less than one slab.</summary>
    [Theory]
    [InlineData(32, 96, 96)]
    [InlineData(16, 96, 96)]
    [InlineData(32, 100, 96)]
    [InlineData(32, 63, 32)]
    [InlineData(32, 0, 32)]
    [InlineData(32, 16, 32)]
    [InlineData(7, 96, 91)]
    public void Fan_out_commands_are_whole_slabs(int chunkSlices, int requested, int expected)
    {
        Assert.Equal(expected, ChunkPlan.FanOutSlicesFor(chunkSlices, requested));
    }

    [Theory]
    [InlineData(1024, 1024, 2048, 32)]
    [InlineData(1536, 2048, 2048, 32)]
    [InlineData(2048, 2048, 2048, 16)]
    [InlineData(3072, 4096, 2048, 16)]
    [InlineData(3072, 4096, 8192, 32)]
    [InlineData(1024, 1024, 512, 16)]
    [InlineData(768, 768, 768, 32)]
    [InlineData(256, 320, 256, 32)]
    public void A_stack_gets_the_large_slab_only_when_its_whole_slices_fit_half_the_budget(int height, int width, int budgetMib, int expected)
    {
        Assert.Equal(expected, ChunkPlan.SlicesFor(height, width, budgetMib * Mib));
    }

    /// <summary>
    /// Alignment workers in one process each hold a slab of whole slices: two at a 1 GiB budget with 1024x1024 slices
    /// (2 x 40 slices x 8 MiB = 640 MiB, more than half the budget) get 16, where one gets 32.
    /// </summary>
    [Theory]
    [InlineData(1024, 1024, 1024, 1, 32)]
    [InlineData(1024, 1024, 1024, 2, 16)]
    [InlineData(1024, 1024, 2048, 2, 32)]
    [InlineData(1024, 1024, 2048, 3, 32)]
    [InlineData(1024, 1024, 2048, 4, 16)]
    public void Alignment_workers_in_one_process_share_the_budget(int height, int width, int budgetMib, int workers, int expected)
    {
        Assert.Equal(expected, ChunkPlan.SlicesFor(height, width, budgetMib * Mib, workers));
    }

    /// <summary>
    /// An embedded run given neither slab nor workers gets the slab one worker's whole slices allow, then an alignment worker
    /// per core while their slabs fit half the budget together and there is a slab for each: 64 slices of 1024x1024 on 2
    /// cores at 2 GiB, two workers on 32-slice slabs (2 x 40 x 8 MiB = 640 MiB); one 32-slice slab, one worker; 1536x2048
    /// slices, one worker (two need 2 x 40 x 24 MiB, more than 1 GiB); at 1 GiB the 1024x1024 stack keeps its 32-slice
    /// slabs with one worker; 3072x4096, 16-slice slabs and one worker.
    /// </summary>
    [Theory]
    [InlineData(64, 1024, 1024, 2048, 2, 32, 2)]
    [InlineData(64, 1024, 1024, 2048, 4, 32, 2)]
    [InlineData(128, 1024, 1024, 2048, 4, 32, 3)]
    [InlineData(32, 1024, 1024, 2048, 2, 32, 1)]
    [InlineData(33, 1024, 1024, 2048, 2, 32, 2)]
    [InlineData(320, 1536, 2048, 2048, 2, 32, 1)]
    [InlineData(64, 1024, 1024, 1024, 2, 32, 1)]
    [InlineData(20, 3072, 4096, 2048, 2, 16, 1)]
    [InlineData(64, 1024, 1024, 2048, 1, 32, 1)]
    public void An_embedded_run_gets_an_alignment_worker_per_core_that_the_budget_and_the_slabs_allow(
        int slices, int height, int width, int budgetMib, int processors, int expectedSlab, int expectedWorkers)
    {
        Assert.Equal((expectedSlab, expectedWorkers), ChunkPlan.EmbeddedPlan(slices, height, width, budgetMib * Mib, processors));
    }

    [Theory]
    [InlineData(64, 16, 2, 2)]
    [InlineData(16, 16, 2, 1)]
    [InlineData(64, 8, 8, 8)]
    public void A_given_slab_gets_the_workers_its_slabs_allow(int slices, int slab, int processors, int expected)
    {
        Assert.Equal(expected, ChunkPlan.AlignmentWorkersFor(slices, 256, 320, 2048 * Mib, processors, slab));
    }

    [Fact]
    public void A_slab_plan_covers_every_slice_once()
    {
        var slabs = ChunkPlan.Slabs(70, 32).ToArray();
        Assert.Equal([(0, 0, 32), (1, 32, 64), (2, 64, 70)], slabs);
        Assert.Throws<ArgumentOutOfRangeException>(() => ChunkPlan.SlicesFor(0, 10, Mib));
        Assert.Throws<ArgumentOutOfRangeException>(() => ChunkPlan.SlicesFor(10, 10, Mib, alignmentWorkers: 0));
    }
}
