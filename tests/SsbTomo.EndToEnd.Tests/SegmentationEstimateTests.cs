using SsbTomo.Imaging.Segmentation;
using SsbTomo.Segmentation;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>The segmentation stage's window estimates: per-thread scratch spread over the window, loops narrowed to fit.</summary>
public class SegmentationEstimateTests
{
    [Theory]
    [InlineData(8, 2, 2)]
    [InlineData(20, 2, 2)]
    [InlineData(20, 4, 8)]
    public void Survey_estimate_is_the_window_and_each_running_slice_scratch(int windowSlices, int surveyed, int parallelism)
    {
        var running = Math.Min(surveyed, parallelism);
        Assert.Equal(2 + (double)running * CarbonFibreSurvey.ScratchBytesPerSlicePixel / windowSlices,
            SegmentationSettings.SurveyBytesPerVoxel(windowSlices, surveyed, parallelism), 9);
    }

    [Fact]
    public void Survey_runs_one_slice_per_core_when_the_smallest_tile_fits()
    {
        const int read = 524 * 524;
        Assert.Equal(2, SegmentationSettings.SurveyParallelism(128L << 20, 8, surveyedSlices: 2, read, processors: 2));
        // Never more threads than slices to survey, nor than cores.
        Assert.Equal(2, SegmentationSettings.SurveyParallelism(1L << 40, 8, surveyedSlices: 2, read, processors: 16));
        Assert.Equal(3, SegmentationSettings.SurveyParallelism(1L << 40, 20, surveyedSlices: 4, read, processors: 3));
    }

    [Fact]
    public void Survey_narrows_its_loop_to_what_the_window_budget_holds()
    {
        const int read = 524 * 524;
        const int windowSlices = 28, surveyed = 4;
        // Room for the window, the reader's next uint16 window and exactly two slices' scratch: two threads of sixteen.
        var two = windowSlices * read * (SegmentationSettings.SurveyBytesPerVoxel(windowSlices, surveyed, 2) + sizeof(ushort));
        Assert.Equal(2, SegmentationSettings.SurveyParallelism((long)Math.Ceiling(two), windowSlices, surveyed, read, processors: 16));
        // Less than one slice's: still one thread (the tile plan then takes its smallest tile).
        Assert.Equal(1, SegmentationSettings.SurveyParallelism(1 << 20, windowSlices, surveyed, read, processors: 16));
    }

    [Fact]
    public void Segment_estimate_spreads_the_clean_up_blocks_and_shine_through_planes_over_the_window()
    {
        var perSlicePixel = 2 * PartialVolumeCleanup.ScratchBytesPerSlicePixel() + ShineThroughCorrection.ScratchBytesPerSlicePixel + LitPoreRuns.ScratchBytesPerSlicePixel;
        Assert.Equal(10 + perSlicePixel / 8.0, SegmentationSettings.SegmentBytesPerVoxel(8, processors: 2, fibreHalfDepth: false), 9);
        Assert.True(SegmentationSettings.SegmentBytesPerVoxel(24, 2, false) < SegmentationSettings.SegmentBytesPerVoxel(8, 2, false));
        Assert.True(SegmentationSettings.SegmentBytesPerVoxel(8, 16, false) > SegmentationSettings.SegmentBytesPerVoxel(8, 2, false));
    }

    [Fact]
    public void Segment_estimate_with_the_fibre_rule_adds_its_result_core_marks_the_variants_tube_tests_the_gaps_and_one_slice_of_scratch_per_core()
    {
        var perSlicePixel = 2 * (PartialVolumeCleanup.ScratchBytesPerSlicePixel() + Math.Max(FibreHalfDepth.ScratchBytesPerSlicePixel, ParticleFaceGaps.ScratchBytesPerSlicePixel))
            + ShineThroughCorrection.ScratchBytesPerSlicePixel + LitPoreRuns.ScratchBytesPerSlicePixel;
        Assert.Equal(10 + FibreHalfDepth.BytesPerVoxel + FibreHalfDepth.TubeCoreCache.BytesPerVoxel + ParticleFaceGaps.BytesPerVoxel + perSlicePixel / 8.0,
            SegmentationSettings.SegmentBytesPerVoxel(8, processors: 2, fibreHalfDepth: true), 9);
        Assert.True(SegmentationSettings.SegmentBytesPerVoxel(8, 2, true) > SegmentationSettings.SegmentBytesPerVoxel(8, 2, false));
        Assert.True(SegmentationSettings.SegmentBytesPerVoxel(24, 2, true) < SegmentationSettings.SegmentBytesPerVoxel(8, 2, true));
    }
}
