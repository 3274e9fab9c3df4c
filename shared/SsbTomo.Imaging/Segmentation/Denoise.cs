using System.Numerics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>Noise reduction before thresholding.</summary>
public static class Denoise
{
    /// <summary>Gaussian truncation in standard deviations, as scipy.ndimage.gaussian_filter's default.</summary>
    public const double TruncateSigmas = 4.0;

    /// <summary>Kernel half-width in voxels: int(truncate·σ + 0.5), as scipy.</summary>
    public static int GaussianRadiusVoxels(double sigmaVoxels)
    {
        if (!(sigmaVoxels >= 0) || double.IsInfinity(sigmaVoxels))
            throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "sigma must be a finite non-negative number of voxels");
        return (int)(TruncateSigmas * sigmaVoxels + 0.5);
    }

    /// <summary>Normalised 1D Gaussian weights for offsets -radius..radius (scipy's _gaussian_kernel1d).</summary>
    public static double[] GaussianKernel(double sigmaVoxels)
    {
        var radius = GaussianRadiusVoxels(sigmaVoxels);
        var weights = new double[2 * radius + 1];
        if (radius == 0)
        {
            weights[0] = 1;
            return weights;
        }
        var sum = 0.0;
        for (var i = -radius; i <= radius; i++)
        {
            weights[i + radius] = Math.Exp(-0.5 / (sigmaVoxels * sigmaVoxels) * i * i);
            sum += weights[i + radius];
        }
        for (var i = 0; i < weights.Length; i++) weights[i] /= sum;
        return weights;
    }

    /// <summary>
    /// Separable 3D Gaussian with the same σ along z, y, x, 'reflect' boundary (d c b a | a b c d | d c b a)
    /// and 4σ truncation like scipy.ndimage.gaussian_filter. Passes run x, then y, then z, accumulating in
    /// float in a fixed order, so a voxel's value depends only on its neighbourhood: cropping a slab with
    /// <see cref="Halo.RequiredSlices"/> halo slices gives the same bytes as filtering the whole stack.
    /// </summary>
    /// <param name="skipZeroRows">Skip rows (along x) of zeros in every pass: the same bits (adding w·0 = +0 leaves a sum as
    /// it is), faster where most rows are zeros (a sparse indicator), a little slower where none are.</param>
    public static Volume<float> Gaussian(Volume<ushort> input, double sigmaVoxels, bool skipZeroRows = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        var workspace = new GaussianWorkspace();
        Gaussian(input, sigmaVoxels, skipZeroRows, workspace);
        // A fresh workspace's arrays are exactly the input's length (empty for an empty input).
        return new Volume<float>(input.Depth, input.Height, input.Width, workspace.Result);
    }

    /// <summary>
    /// The denoising stage's step for one window read through <paramref name="slab"/> and <paramref name="tile"/>:
    /// <see cref="Gaussian(Volume{ushort}, double, bool)"/>, then its owned voxels as uint16
    /// (<see cref="TileGrid.CropToOwnedUInt16(Volume{float}, SlabWindow, TileWindow)"/>), the same bytes. The float passes
    /// run in <paramref name="workspace"/>'s arrays, kept from window to window instead of ~300 MiB of fresh arrays per
    /// window, which the kernel zeroes on first touch (a quarter of the stage's CPU samples in a 1-Gvoxel profile were that
    /// zeroing; the minor faults fell 110 k → 95 k with this, the time within the runs' spread).
    /// </summary>
    public static Volume<ushort> GaussianOwnedUInt16(Volume<ushort> window, double sigmaVoxels, SlabWindow slab, TileWindow tile,
        GaussianWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(workspace);
        Gaussian(window, sigmaVoxels, skipZeroRows: false, workspace);
        return TileGrid.CropToOwnedUInt16(workspace.Result, window.Depth, window.Height, window.Width, slab, tile);
    }

    /// <summary>The Gaussian of <paramref name="input"/> into the first input.Length values of workspace.Result.</summary>
    private static void Gaussian(Volume<ushort> input, double sigmaVoxels, bool skipZeroRows, GaussianWorkspace workspace)
    {
        var weights = Weights(sigmaVoxels);
        var (depth, height, width) = (input.Depth, input.Height, input.Width);
        workspace.Ensure(input.Length, (long)depth * height);
        if (input.Length == 0) return;
        var xSources = ReflectedIndices(width, weights.Length / 2);
        Convolve(depth, height, width, weights, workspace, (z, y, padded) =>
        {
            var row = input.Data.AsSpan((int)(((long)z * height + y) * width), width);
            if (skipZeroRows && !row.ContainsAnyExcept((ushort)0)) return false;
            for (var i = 0; i < padded.Length; i++) padded[i] = row[xSources[i]];
            return true;
        }, (0, depth));
    }

    /// <summary>
    /// <see cref="Gaussian(Volume{ushort}, double, bool)"/> of <paramref name="valueOfLabel"/>[label] (an indicator of a
    /// phase, say) with rows of zeros skipped, into <paramref name="workspace"/>'s arrays, reused from window to window:
    /// the same bits as that Gaussian of the mapped volume.
    /// </summary>
    /// <param name="outputSlices">The slices [First, End) of <paramref name="labels"/> whose result is wanted (null: all);
    /// the z pass skips the others, whose rows are then flagged as zeros and hold no result.</param>
    /// <returns>The smoothed values (the first labels.Length of <see cref="GaussianWorkspace.Result"/>) and which rows
    /// (z · height + y) hold anything but zeros.</returns>
    internal static (float[] Smooth, bool[] NonZeroRows) Gaussian(Volume<byte> labels, ushort[] valueOfLabel, double sigmaVoxels, GaussianWorkspace workspace,
        (int First, int End)? outputSlices = null)
    {
        var weights = Weights(sigmaVoxels);
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        workspace.Ensure(labels.Length, (long)depth * height);
        if (labels.Length == 0) return (workspace.Result, workspace.ResultRows);
        var xSources = ReflectedIndices(width, weights.Length / 2);
        Convolve(depth, height, width, weights, workspace, (z, y, padded) =>
        {
            var row = labels.Data.AsSpan((int)(((long)z * height + y) * width), width);
            var any = false;
            foreach (var label in row) any |= valueOfLabel[label] != 0;
            if (!any) return false;
            for (var i = 0; i < padded.Length; i++) padded[i] = valueOfLabel[row[xSources[i]]];
            return true;
        }, outputSlices ?? (0, depth));
        return (workspace.Result, workspace.ResultRows);
    }

    private static float[] Weights(double sigmaVoxels) => Array.ConvertAll(GaussianKernel(sigmaVoxels), w => (float)w);

    /// <summary>Fills <paramref name="padded"/> with row (z, y) extended by the kernel's radius each side (reflected);
    /// false, leaving it unfilled, when the row is all zeros and may be skipped.</summary>
    private delegate bool PaddedRow(int z, int y, float[] padded);

    /// <summary>
    /// The three passes. Rows the x pass skipped, and rows of a later pass that no nonzero row reaches, are never read;
    /// every row of the result's slices <paramref name="outputSlices"/> is written (zeros where nothing reached it); rows of
    /// other slices are flagged as zeros.
    /// </summary>
    private static void Convolve(int depth, int height, int width, float[] weights, GaussianWorkspace workspace, PaddedRow fillRow,
        (int First, int End) outputSlices)
    {
        var (alongX, rowsX, alongY, rowsY) = (workspace.Result, workspace.ResultRows, workspace.Intermediate, workspace.IntermediateRows);
        long plane = (long)height * width;
        Parallel.For(0, depth, z =>
        {
            var padded = new float[width + weights.Length - 1];
            for (var y = 0; y < height; y++)
            {
                var row = (long)z * height + y;
                rowsX[row] = fillRow(z, y, padded);
                if (rowsX[row]) ConvolveRow(padded, weights, alongX.AsSpan((int)(row * width), width));
            }
        });

        var ySources = ReflectedIndices(height, weights.Length / 2);
        Parallel.For(0, depth, z =>
        {
            Span<int> starts = stackalloc int[weights.Length];
            Span<float> taps = stackalloc float[weights.Length];
            for (var y = 0; y < height; y++)
            {
                var count = 0;
                for (var k = 0; k < weights.Length; k++)
                {
                    var from = ySources[y + k];
                    if (!rowsX[(long)z * height + from]) continue;
                    starts[count] = (int)(z * plane + (long)from * width);
                    taps[count++] = weights[k];
                }
                rowsY[(long)z * height + y] = count > 0;
                if (count > 0) WeightedRows(alongX, starts[..count], taps[..count], alongY.AsSpan((int)(z * plane + (long)y * width), width));
            }
        });

        // The x pass is no longer needed: its array takes the result.
        var zSources = ReflectedIndices(depth, weights.Length / 2);
        var (firstSlice, endSlice) = (Math.Max(0, outputSlices.First), Math.Min(depth, outputSlices.End));
        rowsX.AsSpan(0, (int)((long)firstSlice * height)).Clear();
        if (endSlice < depth) rowsX.AsSpan((int)((long)endSlice * height), (int)((long)(depth - endSlice) * height)).Clear();
        Parallel.For(firstSlice, endSlice, z =>
        {
            Span<int> starts = stackalloc int[weights.Length];
            Span<float> taps = stackalloc float[weights.Length];
            for (var y = 0; y < height; y++)
            {
                var output = alongX.AsSpan((int)(z * plane + (long)y * width), width);
                var count = 0;
                for (var k = 0; k < weights.Length; k++)
                {
                    var from = zSources[z + k];
                    if (!rowsY[(long)from * height + y]) continue;
                    starts[count] = (int)(from * plane + (long)y * width);
                    taps[count++] = weights[k];
                }
                if (count > 0) WeightedRows(alongY, starts[..count], taps[..count], output);
                else output.Clear();
                rowsX[(long)z * height + y] = count > 0;
            }
        });
    }

    /// <summary>
    /// For padded positions p = 0..n+2·radius-1 (p = i + radius), the source index under scipy's 'reflect'
    /// rule, mirrored repeatedly when the radius exceeds the length.
    /// </summary>
    public static int[] ReflectedIndices(int length, int radius)
    {
        var indices = new int[length + 2 * radius];
        var period = 2 * length;
        for (var p = 0; p < indices.Length; p++)
        {
            var m = (p - radius) % period;
            if (m < 0) m += period;
            indices[p] = m < length ? m : period - 1 - m;
        }
        return indices;
    }

    /// <summary>One row of the x pass, vectorised: each lane adds the same products in the same order as the scalar loop
    /// (no fused multiply-add), so the bits do not depend on the vector width.</summary>
    private static void ConvolveRow(float[] padded, float[] weights, Span<float> output)
    {
        var x = 0;
        if (Vector.IsHardwareAccelerated)
            for (; x <= output.Length - Vector<float>.Count; x += Vector<float>.Count)
            {
                var sum = Vector<float>.Zero;
                for (var k = 0; k < weights.Length; k++) sum += new Vector<float>(weights[k]) * new Vector<float>(padded.AsSpan(x + k));
                sum.CopyTo(output.Slice(x));
            }
        for (; x < output.Length; x++)
        {
            var sum = 0f;
            for (var k = 0; k < weights.Length; k++) sum += weights[k] * padded[x + k];
            output[x] = sum;
        }
    }

    /// <summary>
    /// output = Σ_k taps[k] · source[starts[k] + i], summed from +0 in k order with each product rounded to float first
    /// (no fused multiply-add): the bits of clearing the output and then <see cref="MultiplyAdd"/> of each row in turn,
    /// but each output element is loaded and stored once instead of once per row (the y and z passes are memory-bound).
    /// </summary>
    internal static void WeightedRows(float[] source, ReadOnlySpan<int> starts, ReadOnlySpan<float> taps, Span<float> output)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= output.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var sum = Vector<float>.Zero;
                for (var k = 0; k < starts.Length; k++) sum += new Vector<float>(taps[k]) * new Vector<float>(source, starts[k] + i);
                sum.CopyTo(output.Slice(i));
            }
        for (; i < output.Length; i++)
        {
            var sum = 0f;
            for (var k = 0; k < starts.Length; k++) sum += taps[k] * source[starts[k] + i];
            output[i] = sum;
        }
    }

    /// <summary>output += weight · source, element by element (no fused multiply-add, so exact across machines).</summary>
    internal static void MultiplyAdd(ReadOnlySpan<float> source, float weight, Span<float> output)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<float>.Count)
        {
            var w = new Vector<float>(weight);
            for (; i <= source.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var product = w * new Vector<float>(source.Slice(i));
                (new Vector<float>(output.Slice(i)) + product).CopyTo(output.Slice(i));
            }
        }
        for (; i < source.Length; i++) output[i] += weight * source[i];
    }
}

/// <summary>
/// A Gaussian's working arrays (two float volumes and their rows' flags), kept from one window to the next so that
/// windows no larger than the largest so far reuse them instead of allocating (and the OS zeroing) fresh ones each time.
/// </summary>
public sealed class GaussianWorkspace
{
    /// <summary>The x pass, then the result (its first voxels; the arrays may be longer).</summary>
    internal float[] Result { get; private set; } = [];
    internal float[] Intermediate { get; private set; } = [];
    internal bool[] ResultRows { get; private set; } = [];
    internal bool[] IntermediateRows { get; private set; } = [];

    /// <summary>
    /// Hands the result array to the caller and takes <paramref name="replacement"/> (an array the caller got this way
    /// before, or null) in its place, so that several Gaussians can be kept at once without copying or allocating per window.
    /// </summary>
    internal float[] ExchangeResult(float[]? replacement)
    {
        var result = Result;
        Result = replacement is not null && replacement.LongLength >= result.LongLength ? replacement : new float[result.LongLength];
        return result;
    }

    internal void Ensure(long voxels, long rows)
    {
        if (Result.LongLength < voxels) (Result, Intermediate) = (new float[voxels], new float[voxels]);
        if (ResultRows.LongLength < rows) (ResultRows, IntermediateRows) = (new bool[rows], new bool[rows]);
    }
}
