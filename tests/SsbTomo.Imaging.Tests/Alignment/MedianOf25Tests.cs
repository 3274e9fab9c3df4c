using System.Numerics;
using SsbTomo.Imaging.Alignment;
using Xunit;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>The curtaining filter's median network selects the median of every window.</summary>
public class MedianOf25Tests
{
    /// <summary>
    /// The 0-1 principle (Knuth, TAOCP vol. 3, 5.3.4, exercise 12 for selection): a comparator network that puts the
    /// median of every input of zeros and ones on its median wire does so for every input. Every one of the 2^25
    /// patterns is lane 0's window once; the other lanes see the pattern shifted, with zeros after it.
    /// </summary>
    [Fact]
    public void SelectsTheMedianOfEveryPatternOfZerosAndOnes()
    {
        const int window = 2 * MedianOf25.HalfWidth + 1;
        var lanes = MedianOf25.Lanes;
        var failures = 0;
        Parallel.For(0, 1 << 9, () => new float[window + lanes - 1], (high, _, samples) =>
        {
            for (var low = 0; low < 1 << 16; low++)
            {
                var pattern = (uint)(high << 16 | low);
                for (var t = 0; t < window; t++) samples[t] = (pattern >> t) & 1;
                var median = MedianOf25.Median(samples, 0);
                for (var lane = 0; lane < lanes; lane++)
                {
                    var ones = BitOperations.PopCount(pattern >> lane);
                    if (median[lane] != (ones > MedianOf25.HalfWidth ? 1f : 0f)) Interlocked.Increment(ref failures);
                }
            }
            return samples;
        }, _ => { });
        Assert.Equal(0, failures);
    }

    /// <summary>
    /// The same for the four-window lanes (a min/max circuit commutes with every monotone map, so the 0-1 principle holds
    /// for the merge after the network too): every pattern is window 0's once, windows 1-31 see it shifted, zeros after.
    /// </summary>
    [Fact]
    public void FourWindowLanesSelectTheMedianOfEveryPatternOfZerosAndOnes()
    {
        const int window = 2 * MedianOf25.HalfWidth + 1;
        var positions = MedianOf25.QuadPositions;
        var failures = 0;
        Parallel.For(0, 1 << 9, () => (new float[positions + window - 1], new float[positions], new float[positions],
            new float[MedianOf25.PhaseScratchLength(positions + window - 1)]), (high, _, buffers) =>
        {
            var (samples, row, residual, phases) = buffers;
            for (var low = 0; low < 1 << 16; low++)
            {
                var pattern = (uint)(high << 16 | low);
                for (var t = 0; t < window; t++) samples[t] = (pattern >> t) & 1;
                MedianOf25.Residual(row, samples, residual, phases);
                for (var x = 0; x < positions; x++)
                {
                    var ones = x < 32 ? BitOperations.PopCount(pattern >> x) : 0;
                    if (-residual[x] != (ones > MedianOf25.HalfWidth ? 1f : 0f)) Interlocked.Increment(ref failures);
                }
            }
            return buffers;
        }, _ => { });
        Assert.Equal(0, failures);
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(32, 4)] // one block of four windows a lane
    [InlineData(45, 5)] // and one overlapping it
    [InlineData(100, 2)]
    [InlineData(1023, 3)] // a last block that overlaps the one before it
    public void ResidualIsTheRowMinusTheMedianOfASortedWindow(int width, int seed)
    {
        var random = new Random(seed);
        var padded = Enumerable.Range(0, width + 2 * MedianOf25.HalfWidth)
            .Select(_ => random.Next(3) == 0 ? random.Next(5) : (float)(random.NextDouble() * 100 - 50)).ToArray(); // ties too
        var row = Enumerable.Range(0, width).Select(_ => (float)random.NextDouble()).ToArray();
        var eightAtATime = new float[width];
        var fourALane = new float[width];
        MedianOf25.Residual(row, padded, eightAtATime);
        MedianOf25.Residual(row, padded, fourALane, new float[MedianOf25.PhaseScratchLength(padded.Length)]);
        for (var x = 0; x < width; x++)
        {
            var sorted = padded.AsSpan(x, 2 * MedianOf25.HalfWidth + 1).ToArray();
            Array.Sort(sorted);
            Assert.Equal(row[x] - sorted[MedianOf25.HalfWidth], eightAtATime[x]);
            Assert.Equal(row[x] - sorted[MedianOf25.HalfWidth], fourALane[x]);
        }
    }
}
