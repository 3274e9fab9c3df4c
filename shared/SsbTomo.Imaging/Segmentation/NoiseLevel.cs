using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// The stack's pixel noise, and the denoising it calls for. The noise is read from the residual of each pixel against the
/// mean of its four in-plane neighbours, e = g − (g↑ + g↓ + g← + g→) / 4: on a smooth image it is noise alone, with the
/// variance 1.25 σ² of white noise, and the edges and fibres that add to it are a small share of the pixels, so the
/// median of |e| reads σ (a robust form of Immerkær 1996, "Fast noise variance estimation", Computer Vision and Image
/// Understanding 64:300, whose Laplacian mask this is a 4-neighbour cousin of; the median as in Donoho &amp; Johnstone's
/// MAD). The residuals are counted in a histogram of |e| so that every slab's share merges into one stack figure, the
/// same for any cut of the stack into slabs.
/// <para>
/// The denoising Gaussian trades noise against the contrast of thin structures: on a quiet stack its blur pushes the
/// pores' rims and thin cracks into carbon's grey range (void read low by 1-4 pp on family members whose noise is under
/// 8 % of the void-to-electrolyte contrast), on a noisy one too little of it leaves noise voxels in the void's range
/// (void read high by 1-2 pp above 15 %). So σ follows the noise as a share of that contrast
/// (<see cref="DenoiseSigmaFor"/>).
/// </para>
/// </summary>
public static class NoiseLevel
{
    /// <summary>log2 of a bin's width on the scale of 4e, which is an integer on a uint16 stack: bins of 16 there.</summary>
    private const int BinShift = 4;

    /// <summary>
    /// Width of a residual histogram bin in grey levels of the aligned (uint16) stack: a unit, derived from
    /// <see cref="BinShift"/>. Aligned stacks are stretched to the 16-bit range, so noise of 8-bit and 16-bit input alike
    /// spans hundreds to thousands of these levels (noise σ 500-3600 on the family, 1650 on the real 8-bit C. elegans stack).
    /// </summary>
    public const double BinWidth = (1 << BinShift) / 4.0;

    /// <summary>Bins of |e| from 0 to <see cref="Bins"/> · <see cref="BinWidth"/> (16384 levels, a quarter of the range: only the
    /// median is read); larger residuals go to the last.</summary>
    public const int Bins = 4096;

    /// <summary>Median |e| of white noise is 0.6745 σ_e, and σ_e = √1.25 σ.</summary>
    private static readonly double MedianToSigma = 1 / (0.6744897501960817 * Math.Sqrt(1.25));

    // The σ levels and the two shares are tunings, not physics: chosen on the phantom family's three seed sets (1-24 +
    // presets, 301-330, 331-350; re-denoised at σ 0.35-1.0 and swept end to end), 8- and 16-bit members alike. 0.8 is
    // the fixed σ of sessions 1-40, which the recipe's other rules were tuned with.

    /// <summary>The denoising σ (voxels) before this estimate existed, and where nothing could be estimated.</summary>
    public const double DefaultDenoiseSigma = 0.8;

    /// <summary>σ for a quiet stack (noise below <see cref="QuietShare"/> of the void-to-electrolyte contrast).</summary>
    public const double QuietDenoiseSigma = 0.5;

    /// <summary>σ for a noisy stack (noise above <see cref="NoisyShare"/> of the void-to-electrolyte contrast).</summary>
    public const double NoisyDenoiseSigma = 1.0;

    public const double QuietShare = 0.07;

    public const double NoisyShare = 0.15;

    /// <summary>Counts |e| of every pixel of <paramref name="slab"/> with four in-plane neighbours into <paramref name="histogram"/> (<see cref="Bins"/> long).</summary>
    /// <param name="maxThreads">Slices counted at once (<see cref="KernelThreads"/>); the counts are the same for any.</param>
    public static void AddResiduals(Volume<ushort> slab, long[] histogram, int maxThreads = KernelThreads.All)
    {
        ArgumentNullException.ThrowIfNull(slab);
        if (histogram.Length != Bins) throw new ArgumentException($"the histogram needs {Bins} bins", nameof(histogram));
        KernelThreads.Check(maxThreads);
        var (height, width) = (slab.Height, slab.Width);
        if (height < 3 || width < 3) return;
        // 4e is an integer and a bin is 16 of it (BinWidth 4): the bins are exact and the order of the pixels does not matter,
        // so slices count on any thread and add their counts in any order. Each thread counts into four interleaved
        // histograms (neighbouring pixels of a flat region fall in one bin, and one histogram's increments would wait for
        // each other), in ints per slice (fewer than 2^31 pixels), added to the longs after each slice. One thread used to
        // take ~5 ns a pixel (`-- noise-level --time`): ~5 CPU-s of a 1-Gvoxel run's shift pass, with the other core idle.
        KernelThreads.For(0, slab.Depth, maxThreads, () => new int[4 * Bins], (z, counts) =>
        {
            CountSlice(slab, z, counts);
            lock (histogram)
                for (var b = 0; b < Bins; b++)
                {
                    histogram[b] += counts[b] + counts[Bins + b] + counts[2 * Bins + b] + counts[3 * Bins + b];
                    counts[b] = counts[Bins + b] = counts[2 * Bins + b] = counts[3 * Bins + b] = 0;
                }
        });
    }

    private static void CountSlice(Volume<ushort> slab, int z, int[] counts)
    {
        var (height, width) = (slab.Height, slab.Width);
        var plane = (long)height * width;
        ref var bins0 = ref counts[0];
        ref var bins1 = ref counts[Bins];
        ref var bins2 = ref counts[2 * Bins];
        ref var bins3 = ref counts[3 * Bins];
        Span<int> lanes = stackalloc int[Vector256<int>.Count];
        ref var lane = ref MemoryMarshal.GetReference(lanes);
        var last = Vector256.Create(Bins - 1);
        for (var y = 1; y < height - 1; y++)
        {
            var row = z * plane + (long)y * width;
            ref var centre = ref slab.Data[row];
            ref var up = ref slab.Data[row - width];
            ref var down = ref slab.Data[row + width];
            var x = 1;
            if (Vector256.IsHardwareAccelerated)
            {
                // The bins of eight pixels at once (4e fits an int: |4e| < 2^18), then their four interleaved increments.
                for (; x + Vector256<int>.Count < width; x += Vector256<int>.Count)
                {
                    var e = 4 * Widened(ref centre, x) - Widened(ref centre, x - 1) - Widened(ref centre, x + 1) - Widened(ref up, x) - Widened(ref down, x);
                    Vector256.Min(Vector256.ShiftRightLogical(Vector256.Abs(e), BinShift), last).StoreUnsafe(ref lane);
                    for (var k = 0; k < Vector256<int>.Count; k += 4)
                    {
                        Unsafe.Add(ref bins0, Unsafe.Add(ref lane, k))++;
                        Unsafe.Add(ref bins1, Unsafe.Add(ref lane, k + 1))++;
                        Unsafe.Add(ref bins2, Unsafe.Add(ref lane, k + 2))++;
                        Unsafe.Add(ref bins3, Unsafe.Add(ref lane, k + 3))++;
                    }
                }
            }
            for (; x + 3 < width - 1; x += 4)
            {
                Unsafe.Add(ref bins0, Bin(ref centre, ref up, ref down, x))++;
                Unsafe.Add(ref bins1, Bin(ref centre, ref up, ref down, x + 1))++;
                Unsafe.Add(ref bins2, Bin(ref centre, ref up, ref down, x + 2))++;
                Unsafe.Add(ref bins3, Bin(ref centre, ref up, ref down, x + 3))++;
            }
            for (; x < width - 1; x++) Unsafe.Add(ref bins0, Bin(ref centre, ref up, ref down, x))++;
        }
    }

    /// <summary>Eight grey levels of a row from <paramref name="x"/> on, as ints.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Widened(ref ushort row, int x)
    {
        var (lower, upper) = Vector128.Widen(Vector128.LoadUnsafe(ref Unsafe.Add(ref row, x)));
        return Vector256.Create(lower, upper).AsInt32();
    }

    /// <summary>The bin of pixel <paramref name="x"/> of a row (<paramref name="centre"/>) between the rows above and below.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Bin(ref ushort centre, ref ushort up, ref ushort down, int x) =>
        Math.Min(Math.Abs(4 * Unsafe.Add(ref centre, x) - Unsafe.Add(ref centre, x - 1) - Unsafe.Add(ref centre, x + 1)
            - Unsafe.Add(ref up, x) - Unsafe.Add(ref down, x)) >> BinShift, Bins - 1);

    /// <summary>Noise σ in grey levels from a histogram of <see cref="AddResiduals"/>; null without counts.</summary>
    public static double? Sigma(long[] histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        var total = histogram.Sum();
        if (total == 0) return null;
        // The median of |e| by linear interpolation between the occupied bins, each taken at its centre with half its count
        // below it (mid-ranks): on an 8-bit stack mapped to 16 bits |e| takes only every ~16th bin, and the plain median
        // would snap to one of those teeth (up to ±10 % of σ at 3 levels of noise).
        var half = total / 2.0;
        double below = 0, previousPosition = 0, previousRank = 0;
        for (var b = 0; b < histogram.Length; b++)
        {
            if (histogram[b] == 0) continue;
            var position = (b + 0.5) * BinWidth;
            var rank = below + histogram[b] / 2.0;
            if (rank >= half)
            {
                var t = rank == previousRank ? 1 : (half - previousRank) / (rank - previousRank);
                return (previousPosition + t * (position - previousPosition)) * MedianToSigma;
            }
            (previousPosition, previousRank) = (position, rank);
            below += histogram[b];
        }
        return previousPosition * MedianToSigma;
    }

    /// <summary>
    /// The denoising σ for a stack whose noise is <paramref name="noiseSigma"/> and whose void and electrolyte means lie
    /// <paramref name="voidToElectrolyteContrast"/> apart (both in grey levels): <see cref="QuietDenoiseSigma"/> below
    /// <see cref="QuietShare"/>, <see cref="NoisyDenoiseSigma"/> above <see cref="NoisyShare"/>, else
    /// <see cref="DefaultDenoiseSigma"/>; the default where either is unknown or not positive.
    /// </summary>
    public static double DenoiseSigmaFor(double? noiseSigma, double? voidToElectrolyteContrast)
    {
        if (noiseSigma is not { } noise || voidToElectrolyteContrast is not { } contrast || !(noise > 0) || !(contrast > 0)
            || !double.IsFinite(noise) || !double.IsFinite(contrast))
            return DefaultDenoiseSigma;
        var share = noise / contrast;
        return share < QuietShare ? QuietDenoiseSigma : share > NoisyShare ? NoisyDenoiseSigma : DefaultDenoiseSigma;
    }
}
