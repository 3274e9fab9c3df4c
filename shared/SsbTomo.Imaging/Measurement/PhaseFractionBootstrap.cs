namespace SsbTomo.Imaging.Measurement;

/// <summary>Per phase (index = label) a [low, high] interval of its volume fraction.</summary>
public sealed record FractionIntervals(double Confidence, int Resamples, int[] BlocksZyx, double[][] Intervals);

/// <summary>
/// Sampling uncertainty of the phase volume fractions by a block bootstrap: the volume is cut into a grid of
/// non-overlapping blocks (Carlstein 1986, "The use of subseries values for estimating the variance of a general
/// statistic from a stationary sequence", Ann. Statist. 14:1171, doi:10.1214/aos/1176350057; in space: Lahiri 2003,
/// "Resampling Methods for Dependent Data", ch. 12), blocks are drawn with replacement as many times as there are blocks,
/// and each draw's fraction is Σ phase voxels / Σ valid voxels (a ratio estimator, so edge blocks and blocks with
/// Outside voxels weigh by their valid voxels). The interval is the percentile interval of the draws (Efron &amp;
/// Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13). Blocks keep the spatial correlation inside them, so the
/// interval is honest when a block is larger than the microstructure's correlation length (a particle); the grid is
/// fixed per axis (default 4x4x4 = 64 blocks), so blocks grow with the volume. Streams z-slabs: only per-block counts
/// are kept.
/// </summary>
public sealed class PhaseFractionBootstrap
{
    private readonly int _depth, _height, _width;
    private readonly int[] _blocks;
    private readonly long[,] _counts; // [block, label]
    private int _z;

    public PhaseFractionBootstrap(int depth, int height, int width, int blocksPerAxis = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocksPerAxis, 1);
        (_depth, _height, _width) = (depth, height, width);
        // An axis shorter than the grid gets one block per voxel.
        _blocks = [Math.Max(1, Math.Min(blocksPerAxis, depth)), Math.Max(1, Math.Min(blocksPerAxis, height)), Math.Max(1, Math.Min(blocksPerAxis, width))];
        _counts = new long[_blocks[0] * _blocks[1] * _blocks[2], PhaseLabel.Count];
    }

    /// <summary>Block index of voxel coordinate <paramref name="i"/> along an axis of <paramref name="length"/> cut into <paramref name="blocks"/>.</summary>
    private static int BlockOf(int i, int length, int blocks) => (int)((long)i * blocks / length);

    /// <summary>The first coordinate whose <see cref="BlockOf"/> is <paramref name="block"/> (the length for the block after the last).</summary>
    private static int FirstOfBlock(int block, int length, int blocks) => (int)(((long)block * length + blocks - 1) / blocks);

    public void Add(Volume<byte> slab)
    {
        if (slab.Height != _height || slab.Width != _width)
            throw new ArgumentException($"slab is {slab.Height}x{slab.Width}, the volume {_height}x{_width}", nameof(slab));
        if (_z + slab.Depth > _depth) throw new ArgumentException($"slabs add up to more than {_depth} slices", nameof(slab));
        // Each row crosses the blocks along x in runs of columns: a run's labels are counted a label value at a time on
        // vector lanes (MemoryExtensions.Count), not voxel by voxel into the block's row of counts (2.4 of the metrics
        // stage's CPU-seconds at 1 Gvoxel, on one core beside the other two slab passes).
        var xRuns = new (int Start, int Length)[_blocks[2]];
        for (var b = 0; b < _blocks[2]; b++)
        {
            var start = FirstOfBlock(b, _width, _blocks[2]);
            xRuns[b] = (start, FirstOfBlock(b + 1, _width, _blocks[2]) - start);
        }
        for (var z = 0; z < slab.Depth; z++)
        {
            var bz = BlockOf(_z + z, _depth, _blocks[0]);
            var slice = slab.Slice(z);
            for (var y = 0; y < _height; y++)
            {
                var row = (bz * _blocks[1] + BlockOf(y, _height, _blocks[1])) * _blocks[2];
                var line = slice.Slice(y * _width, _width);
                for (var bx = 0; bx < xRuns.Length; bx++)
                {
                    var run = line.Slice(xRuns[bx].Start, xRuns[bx].Length);
                    var counted = 0;
                    for (var label = (byte)0; label < PhaseLabel.Count; label++)
                    {
                        var n = run.Count(label);
                        _counts[row + bx, label] += n;
                        counted += n;
                    }
                    if (counted != run.Length)
                        throw new ArgumentException($"labels contain {run[run.IndexOfAnyInRange((byte)PhaseLabel.Count, byte.MaxValue)]}, which is not a phase label", nameof(slab));
                }
            }
        }
        _z += slab.Depth;
    }

    /// <summary>Percentile intervals at <paramref name="confidence"/> from <paramref name="resamples"/> draws; a fixed seed makes metrics.json reproducible.</summary>
    public FractionIntervals Result(double confidence = 0.95, int resamples = 2000, int seed = 0)
    {
        if (_z != _depth) throw new InvalidOperationException($"{_z} of {_depth} slices were added");
        var blocks = _counts.GetLength(0);
        var random = new Random(seed);
        var draws = new double[PhaseLabel.Count][];
        for (var p = 0; p < PhaseLabel.Count; p++) draws[p] = new double[resamples];
        var sum = new long[PhaseLabel.Count];
        for (var r = 0; r < resamples; r++)
        {
            Array.Clear(sum);
            for (var k = 0; k < blocks; k++)
            {
                var b = random.Next(blocks);
                for (var p = 1; p < PhaseLabel.Count; p++) sum[p] += _counts[b, p];
            }
            var valid = sum[1] + sum[2] + sum[3] + sum[4];
            for (var p = 1; p < PhaseLabel.Count; p++) draws[p][r] = valid == 0 ? double.NaN : (double)sum[p] / valid;
        }
        var alpha = (1 - confidence) / 2;
        var intervals = new double[PhaseLabel.Count][];
        intervals[0] = [double.NaN, double.NaN];
        for (var p = 1; p < PhaseLabel.Count; p++)
        {
            var sorted = draws[p].Where(double.IsFinite).Order().ToArray();
            intervals[p] = sorted.Length == 0 ? [double.NaN, double.NaN] : [Percentile(sorted, alpha), Percentile(sorted, 1 - alpha)];
        }
        return new FractionIntervals(confidence, resamples, (int[])_blocks.Clone(), intervals);
    }

    /// <summary>Linear interpolation between order statistics (numpy.percentile's default).</summary>
    private static double Percentile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }
}
