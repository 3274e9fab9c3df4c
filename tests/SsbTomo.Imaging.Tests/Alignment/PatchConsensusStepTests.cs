using SsbTomo.Imaging.Alignment;
using Xunit;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// The patch consensus's Aitken step: steps that shrink geometrically are extrapolated to their sum; any other pair of
/// steps is taken as it is.
/// </summary>
public class PatchConsensusStepTests
{
    [Theory]
    [InlineData(0.37)]
    [InlineData(0.65)]
    [InlineData(0.8)]
    public void Steps_shrinking_by_a_constant_ratio_go_to_their_sum(double ratio)
    {
        var first = new Shift2D(0.0069, -0.0031);
        var second = new Shift2D(first.Dy * ratio, first.Dx * ratio);
        var move = PatchConsensus.Accelerated(second, first);
        var sum = first + move;
        Assert.Equal(first.Dy / (1 - ratio), sum.Dy, 12);
        Assert.Equal(first.Dx / (1 - ratio), sum.Dx, 12);
    }

    [Fact]
    public void The_first_step_is_taken_as_it_is() =>
        Assert.Equal(new Shift2D(0.2, 0.1), PatchConsensus.Accelerated(new Shift2D(0.2, 0.1), null));

    [Theory]
    [InlineData(0.0, 0.01)]     // turned by 90°
    [InlineData(-0.004, 0.0)]   // reversed: an oscillation, not a series
    [InlineData(0.0093, 0.0)]   // shrinking by 0.93: the slow far pairs, whose extrapolation would be mostly noise
    [InlineData(0.011, 0.0)]    // growing
    [InlineData(0.0, 0.0)]      // converged
    public void Steps_that_are_not_a_converging_series_are_taken_as_they_are(double dy, double dx)
    {
        var step = new Shift2D(dy, dx);
        Assert.Equal(step, PatchConsensus.Accelerated(step, new Shift2D(0.01, 0.0)));
    }
}
