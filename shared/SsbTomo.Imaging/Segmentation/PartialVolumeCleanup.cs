using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Removes the false intermediate-phase skin that blur puts on a steep edge, for any table of k ≥ 3 classes
/// ordered dark to bright (the pipeline's four: void, carbon, LPS, NMC; <c>ssbtomo segment</c> without a model:
/// the k phases of <c>--phases</c>, in 3D or, through <see cref="Apply(Image2D{byte}, Image2D{float}, byte[], double[], int, double)"/>,
/// in 2D). Where a bright phase meets a dark one that is not its neighbour in the table (NMC|void, LPS|void,
/// NMC|carbon), the edge voxels have intermediate grey levels and are classified as an intermediate phase (LPS or
/// carbon): a one- or two-voxel skin that would hide contact loss. The skin is the partial-volume (mixel) effect:
/// an edge voxel's grey level is the mixture of its two neighbours' (Santago &amp; Gage 1993, "Quantification of MR
/// brain images by mixture density and partial volume modeling", IEEE Trans. Med. Imaging 12(3):566-574,
/// doi:10.1109/42.241885; Choi, Haynor &amp; Kim 1991, "Partial volume tissue classification of multichannel magnetic
/// resonance images - a mixel model", IEEE Trans. Med. Imaging 10(3):395-407, doi:10.1109/42.97590), so it goes
/// to the end class its grey level is nearer to. The rule: a voxel of intermediate class sits in a thin band if, along one of the 13 lines through
/// it (26-neighbourhood directions), it lies between a strictly darker-class voxel and a strictly
/// brighter-class voxel with at most <c>maxBandVoxels</c> voxels between them, every one of which is of a
/// class strictly between the two; and the two end voxels differ in intensity by at least
/// <c>minimumEdgeContrast</c> of the gap between their class means (a real edge, not two noisy voxels).
/// An end voxel that is itself an intermediate voxel inside a thin band along the same line is not
/// trusted (it is blur too), so a genuine layer next to a blurred skin is not eaten from its side.
/// Among all qualifying lines it takes the one spanning the most classes (then the thinnest band) and
/// gives the voxel the end class whose side of the midpoint between the two class means its intensity
/// is on. Layers of maxBandVoxels + 1 voxels or more are never touched.
/// Reads only the input labels (one pass), so each voxel's result depends only on voxels within
/// 2·maxBandVoxels of it: pass slabs with <see cref="RequiredHaloSlices"/> halo and crop.
/// <para>
/// Speed: both ends of a qualifying line lie within maxBandVoxels (Chebyshev) of the voxel, one strictly darker
/// and one strictly brighter. So each z-block first builds, slice by slice, the min and max rank over the
/// (2·maxBandVoxels+1)³ box (separable, vectorised, ranked voxels only) and evaluates the 13 lines only for
/// intermediate voxels whose box holds both a darker and a brighter class; the others cannot change. The line
/// evaluation itself is the rule above in the same order with the same float arithmetic, so the output is
/// byte-identical to the straightforward per-voxel implementation (kept as a reference in the tests).
/// For bands of one or two voxels (the pipeline's two) a second, tighter necessary test runs first on whole rows, 32 voxels
/// at a time: some line through the voxel must already have the shape of a qualifying line in the ranks alone (one end a
/// direct neighbour, the other at most the band beyond on the opposite side, both ranked, the voxel and any voxel between
/// strictly between their ranks), and marks along which of the 13 directions. The evaluation then runs on the marked
/// voxels along the marked directions alone. On a 128x256x320 family member the box let through 13 % of the voxels,
/// the shapes 10 % (of which nine in ten change).
/// With bands of two voxels and three or four classes (the pipeline's), rows whose lines stay inside the volume are
/// evaluated 32 voxels at a time instead (shapes, ends inside thin bands, the widest span's ends: byte masks along each
/// direction; the contrast test lane by lane on what is left): one by one, the branches on the ranks cost more than the
/// rule's arithmetic (the clean-up's CPU on a 64x768x1024 phantom −40 %).
/// </para>
/// </summary>
public static class PartialVolumeCleanup
{
    public const int DefaultMaxBandVoxels = 2;
    public const double DefaultMinimumEdgeContrast = 0.6;

    public static int RequiredHaloSlices(int maxBandVoxels = DefaultMaxBandVoxels) => 2 * maxBandVoxels;

    /// <summary>
    /// Scratch of one z-block per pixel of a slice: its ring of 2·band+1 min and max box planes and rank planes and six
    /// working planes, one byte each. At most one block per core runs at once (<see cref="Apply(Volume{byte}, Volume{float}, byte[], double[], int, double)"/>),
    /// each with its own.
    /// </summary>
    public static int ScratchBytesPerSlicePixel(int maxBandVoxels = DefaultMaxBandVoxels) => 3 * (2 * maxBandVoxels + 1) + 6;

    private static readonly (int Dz, int Dy, int Dx)[] LineDirections = BuildLineDirections();

    /// <summary>Every direction's bit: a voxel without a line-shape verdict is evaluated along all.</summary>
    private static readonly int AllDirections = (1 << LineDirections.Length) - 1;

    /// <summary>Rank marking a line position outside the volume (unranked labels are -1).</summary>
    private const int BeyondVolume = -2;

    /// <summary>Min-filter value of an unranked voxel: above every rank.</summary>
    private const sbyte NoRankForMin = sbyte.MaxValue;

    public static Volume<byte> Apply(
        Volume<byte> labels,
        Volume<float> intensity,
        byte[] labelsDarkToBright,
        double[] classMeansDarkToBright,
        int maxBandVoxels = DefaultMaxBandVoxels,
        double minimumEdgeContrast = DefaultMinimumEdgeContrast) =>
        Apply(labels, intensity, labelsDarkToBright, classMeansDarkToBright, maxBandVoxels, minimumEdgeContrast, zBlocks: 0);

    /// <summary>
    /// The same rule on one 2D image (a one-slice volume: only the 4 in-plane line directions can qualify), e.g. the
    /// k phases of <see cref="ImageSetOtsu"/>. <paramref name="labelsDarkToBright"/>: the ranked labels, darkest first;
    /// <paramref name="classMeansDarkToBright"/>: each class's mean grey level on the scale of <paramref name="intensity"/>.
    /// </summary>
    public static Image2D<byte> Apply(
        Image2D<byte> labels,
        Image2D<float> intensity,
        byte[] labelsDarkToBright,
        double[] classMeansDarkToBright,
        int maxBandVoxels = DefaultMaxBandVoxels,
        double minimumEdgeContrast = DefaultMinimumEdgeContrast)
    {
        if (labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        var cleaned = Apply(new Volume<byte>(1, labels.Height, labels.Width, labels.Pixels),
            new Volume<float>(1, intensity.Height, intensity.Width, intensity.Pixels),
            labelsDarkToBright, classMeansDarkToBright, maxBandVoxels, minimumEdgeContrast);
        return new Image2D<byte>(labels.Height, labels.Width, cleaned.Data);
    }

    /// <summary>
    /// The rule on the slices of <paramref name="exact"/> alone, and in them on the rows and columns of <paramref name="exactArea"/>
    /// alone (null: all); the other voxels keep <paramref name="labels"/>. Each voxel's result reads the labels within
    /// 2·maxBandVoxels of it, so those voxels are the same bytes as in a pass over every voxel. A window's outer halo, there only
    /// as the lines' context, is the rule's costliest part: its lines leave the window, so its voxels go one by one.
    /// </summary>
    public static Volume<byte> Apply(
        Volume<byte> labels,
        Volume<float> intensity,
        byte[] labelsDarkToBright,
        double[] classMeansDarkToBright,
        SliceSpan exact,
        int maxBandVoxels = DefaultMaxBandVoxels,
        double minimumEdgeContrast = DefaultMinimumEdgeContrast,
        AreaSpan? exactArea = null) =>
        Apply(labels, intensity, labelsDarkToBright, classMeansDarkToBright, maxBandVoxels, minimumEdgeContrast, zBlocks: 0, exact, exactArea);

    /// <summary>As the public overload; <paramref name="zBlocks"/> &gt; 0 fixes the number of z-blocks (tests: the result must not depend on it).</summary>
    internal static Volume<byte> Apply(
        Volume<byte> labels,
        Volume<float> intensity,
        byte[] labelsDarkToBright,
        double[] classMeansDarkToBright,
        int maxBandVoxels,
        double minimumEdgeContrast,
        int zBlocks,
        SliceSpan? exact = null,
        AreaSpan? exactArea = null)
    {
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        if (labelsDarkToBright.Length != classMeansDarkToBright.Length)
            throw new ArgumentException("one class mean per label is needed", nameof(classMeansDarkToBright));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBandVoxels, 1);
        if (labelsDarkToBright.Length > sbyte.MaxValue)
            throw new ArgumentException($"at most {sbyte.MaxValue} classes are supported", nameof(labelsDarkToBright));

        var rankOf = new sbyte[256];
        Array.Fill(rankOf, (sbyte)-1);
        for (var r = 0; r < labelsDarkToBright.Length; r++) rankOf[labelsDarkToBright[r]] = (sbyte)r;
        var result = labels.Clone();
        // Without a rank strictly between two others nothing can change.
        if (labels.Length == 0 || labelsDarkToBright.Length < 3) return result;

        var span = exact ?? SliceSpan.All(labels.Depth);
        span.CheckInside(labels.Depth, nameof(exact));
        var area = exactArea ?? AreaSpan.All(labels.Height, labels.Width);
        area.CheckInside(labels.Height, labels.Width, nameof(exactArea));
        if (span.Length == 0 || area.IsEmpty) return result;
        var job = new Job(labels, intensity, result, rankOf, labelsDarkToBright, classMeansDarkToBright, maxBandVoxels, minimumEdgeContrast, area);
        var depth = span.Length;
        // Each block recomputes 2·band box planes of its neighbours, so keep blocks several slices deep.
        var blocks = zBlocks > 0 ? Math.Min(zBlocks, depth) : Math.Clamp(depth / 4, 1, 4 * Environment.ProcessorCount);
        // No more blocks at once than cores: each holds its own box planes (ScratchBytesPerSlicePixel), and the pool may add threads.
        var options = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        Parallel.For(0, blocks, options, b => job.Run(span.Start + (int)((long)depth * b / blocks), span.Start + (int)((long)depth * (b + 1) / blocks)));
        return result;
    }

    private sealed class Job(
        Volume<byte> labels, Volume<float> intensity, Volume<byte> result, sbyte[] rankOf,
        byte[] labelsDarkToBright, double[] classMeans, int maxBandVoxels, double minimumEdgeContrast, AreaSpan area)
    {
        private readonly int _depth = labels.Depth, _height = labels.Height, _width = labels.Width;
        private readonly int _topRank = labelsDarkToBright.Length - 1;

        /// <summary>Per candidates word, the bits of the columns inside the area.</summary>
        private readonly uint[] _areaColumns = AreaColumnWords(area, labels.Width);

        private static uint[] AreaColumnWords(AreaSpan area, int width)
        {
            var words = new uint[(width + 31) / 32];
            for (var x = area.X0; x < area.X1; x++) words[x / 32] |= 1u << (x % 32);
            return words;
        }

        /// <summary>Processes slices [z0, z1): box filter planes in a ring of 2·band+1 slices, then the candidates.</summary>
        public void Run(int z0, int z1)
        {
            var radius = maxBandVoxels;
            var sliceLength = _height * _width;
            var ringLength = 2 * radius + 1;
            var ringMin = new sbyte[ringLength][];
            var ringMax = new sbyte[ringLength][];
            for (var k = 0; k < ringLength; k++) (ringMin[k], ringMax[k]) = (new sbyte[sliceLength], new sbyte[sliceLength]);
            var rankMin = new sbyte[sliceLength];
            var rankMax = new sbyte[sliceLength];
            var rowMin = new sbyte[sliceLength];
            var rowMax = new sbyte[sliceLength];
            var boxMin = new sbyte[sliceLength];
            var boxMax = new sbyte[sliceLength];
            var line = new int[4 * radius + 1];
            // The ranks of the slices the box covers, for the line shapes; the shapes' verdict per voxel of a row.
            var ringRank = new sbyte[ringLength][];
            for (var k = 0; k < ringLength; k++) ringRank[k] = new sbyte[sliceLength];
            // Per voxel of a row, which of the 13 directions have a qualifying line's shape: bits of directions 0-7, then 8-12.
            var rowShapes = (Low: new sbyte[_width], High: new sbyte[_width]);
            // Per voxel of a row, one bit (x = 32·word + bit) where it is a candidate (IsCandidate).
            var candidates = new uint[(_width + 31) / 32];
            // The ring's planes of slices z - band .. z + band in order, for the runs.
            var bandPlanes = new sbyte[ringLength][];

            var nextPlane = Math.Max(0, z0 - radius);
            for (var z = z0; z < z1; z++)
            {
                int first = Math.Max(0, z - radius), last = Math.Min(_depth - 1, z + radius);
                for (; nextPlane <= last; nextPlane++)
                    BuildPlane(nextPlane, rankMin, rankMax, rowMin, rowMax, ringMin[nextPlane % ringLength], ringMax[nextPlane % ringLength],
                        ringRank[nextPlane % ringLength]);
                ringMin[first % ringLength].CopyTo(boxMin, 0);
                ringMax[first % ringLength].CopyTo(boxMax, 0);
                for (var s = first + 1; s <= last; s++)
                {
                    ElementwiseInPlace.Min(boxMin, ringMin[s % ringLength]);
                    ElementwiseInPlace.Max(boxMax, ringMax[s % ringLength]);
                }
                ScanSlice(z, boxMin, boxMax, line, ringRank, rowShapes, candidates, bandPlanes);
            }
        }

        /// <summary>Min and max rank over the (2·band+1)² square around each voxel of slice <paramref name="z"/> (ranked voxels only).</summary>
        private void BuildPlane(int z, sbyte[] rankMin, sbyte[] rankMax, sbyte[] rowMin, sbyte[] rowMax, sbyte[] planeMin, sbyte[] planeMax, sbyte[] planeRank)
        {
            var sliceLength = _height * _width;
            var source = labels.Data.AsSpan(z * sliceLength, sliceLength);
            Ranks(source, rankMax, rankMin);
            rankMax.CopyTo(planeRank, 0);
            var radius = maxBandVoxels;
            // Along x, row by row.
            rankMin.CopyTo(rowMin, 0);
            rankMax.CopyTo(rowMax, 0);
            for (var y = 0; y < _height; y++)
            {
                var start = y * _width;
                for (var k = 1; k <= radius && k < _width; k++)
                {
                    var n = _width - k;
                    ElementwiseInPlace.Min(rowMin.AsSpan(start, n), rankMin.AsSpan(start + k, n));
                    ElementwiseInPlace.Min(rowMin.AsSpan(start + k, n), rankMin.AsSpan(start, n));
                    ElementwiseInPlace.Max(rowMax.AsSpan(start, n), rankMax.AsSpan(start + k, n));
                    ElementwiseInPlace.Max(rowMax.AsSpan(start + k, n), rankMax.AsSpan(start, n));
                }
            }
            // Along y, whole rows at a time.
            for (var y = 0; y < _height; y++)
            {
                var target = y * _width;
                rowMin.AsSpan(target, _width).CopyTo(planeMin.AsSpan(target, _width));
                rowMax.AsSpan(target, _width).CopyTo(planeMax.AsSpan(target, _width));
                for (var yy = Math.Max(0, y - radius); yy <= Math.Min(_height - 1, y + radius); yy++)
                {
                    if (yy == y) continue;
                    ElementwiseInPlace.Min(planeMin.AsSpan(target, _width), rowMin.AsSpan(yy * _width, _width));
                    ElementwiseInPlace.Max(planeMax.AsSpan(target, _width), rowMax.AsSpan(yy * _width, _width));
                }
            }
        }

        private void ScanSlice(int z, sbyte[] boxMin, sbyte[] boxMax, int[] line, sbyte[][] ringRank, (sbyte[] Low, sbyte[] High) rowShapes, uint[] candidates,
            sbyte[][] bandPlanes)
        {
            var sliceLength = _height * _width;
            var sliceStart = (long)z * sliceLength;
            var band = maxBandVoxels;
            // The line shapes need the slices within the band on both sides and rows and columns likewise.
            var shapesInSlice = band <= 2 && Vector256.IsHardwareAccelerated && z >= band && z + band < _depth && _width >= 2 * band + Vector256<sbyte>.Count;
            // The ranks of slice z, as BuildPlane left them in the ring: planes are built only up to z + band, fewer than the
            // ring's 2·band + 1 slots ahead, so z's slot is not yet overwritten.
            var ranks = ringRank[z % ringRank.Length];
            // Runs of 32 voxels whose lines (2·band either way) stay inside the volume: columns [reach, width - reach) of rows
            // [reach, height - reach) of slices [reach, depth - reach).
            var reach = 2 * band;
            var runsInSlice = _runs && z >= reach && z + reach < _depth && _width >= 2 * reach + RunVoxels;
            if (runsInSlice)
                for (var k = -band; k <= band; k++) bandPlanes[k + band] = ringRank[(z + k) % ringRank.Length];
            for (var y = area.Y0; y < area.Y1; y++)
            {
                var row = y * _width;
                if (!Candidates(ranks.AsSpan(row, _width), boxMin.AsSpan(row, _width), boxMax.AsSpan(row, _width), candidates)) continue;
                PrefetchGreyRows(z, y + band);
                if (runsInSlice && y >= reach && y + reach < _height)
                {
                    ScanRowByRuns(z, y, candidates, bandPlanes, ranks, line);
                    continue;
                }
                // Columns [band, shapesEnd) have their verdict in rowShapes; the others go to the line evaluation.
                var shapesEnd = 0;
                if (shapesInSlice && y >= band && y + band < _height)
                    shapesEnd = LineShapes(z, y, ringRank, rowShapes);
                for (var w = 0; w < candidates.Length; w++)
                    for (var bits = candidates[w]; bits != 0; bits &= bits - 1)
                    {
                        var x = 32 * w + BitOperations.TrailingZeroCount(bits);
                        var i = row + x;
                        var directions = AllDirections;
                        if (x >= band && x < shapesEnd)
                        {
                            directions = (byte)rowShapes.Low[x] | ((byte)rowShapes.High[x] << 8);
                            if (directions == 0) continue;
                        }
                        Evaluate(sliceStart + i, z, y, x, ranks[i], line, directions);
                    }
            }
        }

        /// <summary>
        /// A row inside the volume: columns [reach, width - reach) by <see cref="EvaluateRun"/>, a run per candidates word and a
        /// first and last run that overlap their neighbours (each column evaluated once); the reach's columns at both ends one by one.
        /// </summary>
        private void ScanRowByRuns(int z, int y, uint[] candidates, sbyte[][] bandPlanes, sbyte[] ranks, int[] line)
        {
            var reach = 2 * maxBandVoxels;
            var (coveredFrom, coveredTo) = (reach, _width - reach);
            for (var x0 = reach; ; x0 = Math.Min(RunVoxels * (x0 / RunVoxels + 1), coveredTo - RunVoxels))
            {
                // Lanes of columns not yet covered: [max(x0, covered so far), x0 + 32).
                var bits = CandidateBitsFrom(candidates, x0) & (~0u << (coveredFrom - x0));
                if (bits != 0 && !EvaluateRun(z, y, x0, bits, bandPlanes))
                    OneByOne(z, y, x0, bits, ranks, line);
                coveredFrom = x0 + RunVoxels;
                if (coveredFrom == coveredTo) break;
            }
            OneByOne(z, y, 0, CandidateBitsFrom(candidates, 0) & ((1u << reach) - 1), ranks, line);
            OneByOne(z, y, coveredTo, CandidateBitsFrom(candidates, coveredTo) & ((1u << reach) - 1), ranks, line);
        }

        /// <summary>The candidate bits of columns [x0, x0 + 32) (zero beyond the row).</summary>
        private static uint CandidateBitsFrom(uint[] candidates, int x0)
        {
            var (word, shift) = (x0 / RunVoxels, x0 % RunVoxels);
            var pair = candidates[word] | (word + 1 < candidates.Length ? (ulong)candidates[word + 1] << RunVoxels : 0);
            return (uint)(pair >> shift);
        }

        /// <summary>The voxels of <paramref name="bits"/> (columns from <paramref name="x0"/>) through <see cref="Evaluate"/> along all 13 directions.</summary>
        private void OneByOne(int z, int y, int x0, uint bits, sbyte[] ranks, int[] line)
        {
            for (; bits != 0; bits &= bits - 1)
            {
                var x = x0 + BitOperations.TrailingZeroCount(bits);
                var i = y * _width + x;
                Evaluate((long)z * _height * _width + i, z, y, x, ranks[i], line, AllDirections);
            }
        }

        /// <summary>
        /// Sets a bit per candidate voxel of a row (<see cref="IsCandidate"/> on its rank and box) in <paramref name="words"/>,
        /// 32 voxels at a time; whether any is set. Nine voxels in ten are no candidate, so the scan is most of a slice's work
        /// outside the line evaluation.
        /// </summary>
        private bool Candidates(ReadOnlySpan<sbyte> ranks, ReadOnlySpan<sbyte> minRow, ReadOnlySpan<sbyte> maxRow, uint[] words)
        {
            uint any = 0;
            var x = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var (zero, top) = (Vector256<sbyte>.Zero, Vector256.Create((sbyte)_topRank));
                for (; x + 32 <= ranks.Length; x += 32)
                {
                    var rank = Vector256.Create(ranks.Slice(x, 32));
                    var candidate = Vector256.GreaterThan(rank, zero) & Vector256.LessThan(rank, top)
                        & Vector256.LessThan(Vector256.Create(minRow.Slice(x, 32)), rank) & Vector256.GreaterThan(Vector256.Create(maxRow.Slice(x, 32)), rank);
                    var bits = candidate.ExtractMostSignificantBits() & _areaColumns[x / 32];
                    words[x / 32] = bits;
                    any |= bits;
                }
            }
            for (; x < ranks.Length; x += 32)
            {
                uint bits = 0;
                for (var j = 0; j < 32 && x + j < ranks.Length; j++)
                    if (IsCandidate(ranks[x + j], minRow[x + j], maxRow[x + j])) bits |= 1u << j;
                bits &= _areaColumns[x / 32];
                words[x / 32] = bits;
                any |= bits;
            }
            return any != 0;
        }

        /// <summary>
        /// Each voxel's rank (-1 unranked) into <paramref name="rank"/> and the same with unranked voxels above every rank
        /// (<see cref="NoRankForMin"/>) into <paramref name="rankForMin"/>. Labels below 16 (the phases') are looked up 32 at a
        /// time in a 16-entry table.
        /// </summary>
        private void Ranks(ReadOnlySpan<byte> source, Span<sbyte> rank, Span<sbyte> rankForMin)
        {
            var i = 0;
            if (Avx2.IsSupported)
            {
                var table = Vector256.Create(Vector128.Create(rankOf.AsSpan(0, 16)));
                var (beyondTable, unranked) = (Vector256.Create((byte)15), Vector256.Create(NoRankForMin));
                for (; i + 32 <= source.Length; i += 32)
                {
                    var labels32 = Vector256.Create(source.Slice(i, 32));
                    if (Vector256.GreaterThanAny(labels32, beyondTable))
                    {
                        ScalarRanks(source, rank, rankForMin, i, i + 32);
                        continue;
                    }
                    var r = Avx2.Shuffle(table, labels32.AsSByte());
                    r.CopyTo(rank.Slice(i, 32));
                    Vector256.ConditionalSelect(Vector256.LessThan(r, Vector256<sbyte>.Zero), unranked, r).CopyTo(rankForMin.Slice(i, 32));
                }
            }
            ScalarRanks(source, rank, rankForMin, i, source.Length);
        }

        private void ScalarRanks(ReadOnlySpan<byte> source, Span<sbyte> rank, Span<sbyte> rankForMin, int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var r = rankOf[source[i]];
                rank[i] = r;
                rankForMin[i] = r < 0 ? NoRankForMin : r;
            }
        }

        /// <summary>
        /// Asks the cache for row <paramref name="y"/> of the grey levels of slices z − band .. z + band: the farthest row the
        /// lines of this row's candidates end on, which the contrast test reads. The candidates are a tenth of the voxels,
        /// too sparse for the hardware's stream prefetch, and those two loads were a fifth of the line evaluation's time.
        /// </summary>
        private unsafe void PrefetchGreyRows(int z, int y)
        {
            if (!Sse.IsSupported || y >= _height) return;
            var band = maxBandVoxels;
            var grey = intensity.Data;
            for (var zz = Math.Max(0, z - band); zz <= Math.Min(_depth - 1, z + band); zz++)
            {
                var start = ((long)zz * _height + y) * _width;
                ref var first = ref grey[start];
                for (var x = 0; x < _width; x += 64 / sizeof(float))
                    Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref first, x)));
            }
        }

        /// <summary>
        /// An intermediate voxel with both a strictly darker and a strictly brighter class within reach (its box's least and
        /// greatest rank): otherwise no line can qualify.
        /// </summary>
        private bool IsCandidate(int rank, sbyte boxMin, sbyte boxMax) => rank > 0 && rank < _topRank && boxMin < rank && boxMax > rank;

        /// <summary>
        /// For the voxels of row <paramref name="y"/> of slice <paramref name="z"/> from column band on, 32 at a time: a bit per
        /// direction (of <see cref="LineDirections"/>; directions 0-7 in <paramref name="rowShapes"/>.Low, 8-12 in .High) set
        /// where the ranks alone have a qualifying line's shape along it, clear where no line along it can qualify (its
        /// evaluation would find nothing). Bands of one voxel: the two direct neighbours are the ends; of two: also an end two
        /// voxels out on one side with the direct neighbour there between. Both ends ranked (≥ 0), and the voxel and the voxel
        /// between strictly between the ends' ranks. Returns the first column without a verdict.
        /// </summary>
        private int LineShapes(int z, int y, sbyte[][] ringRank, (sbyte[] Low, sbyte[] High) rowShapes)
        {
            var band = maxBandVoxels;
            var ring = ringRank.Length;
            var width = _width;
            var lanes = Vector256<sbyte>.Count;
            var unranked = Vector256.Create((sbyte)-1);
            var centrePlane = ringRank[z % ring];
            // The last vector ends at the last column with a verdict, over columns the one before it did (their bits come out
            // the same): a row's last columns went to the evaluation along all 13 directions.
            var last = width - band - lanes;
            for (var x0 = band; ; x0 = Math.Min(x0 + lanes, last))
            {
                var centre = Vector256.Create<sbyte>(centrePlane.AsSpan(y * width + x0, lanes));
                var (low, high) = (Vector256<sbyte>.Zero, Vector256<sbyte>.Zero);
                for (var d = 0; d < LineDirections.Length; d++)
                {
                    var (dz, dy, dx) = LineDirections[d];
                    Vector256<sbyte> At(int k) =>
                        Vector256.Create<sbyte>(ringRank[(z + k * dz) % ring].AsSpan((y + k * dy) * width + x0 + k * dx, lanes));
                    var (before, after) = (At(-1), At(1));
                    var shaped = Between(before, after, centre, unranked);
                    if (band == 2)
                    {
                        var (before2, after2) = (At(-2), At(2));
                        shaped |= Between(before2, after, centre, unranked) & Between(before2, after, before, unranked);
                        shaped |= Between(before, after2, centre, unranked) & Between(before, after2, after, unranked);
                    }
                    // Eight bits to a byte: directions 0-7 in the low plane, 8-12 in the high one.
                    if (d < 8) low |= shaped & Vector256.Create(unchecked((sbyte)(1 << d)));
                    else high |= shaped & Vector256.Create((sbyte)(1 << (d - 8)));
                }
                low.CopyTo(rowShapes.Low.AsSpan(x0));
                high.CopyTo(rowShapes.High.AsSpan(x0));
                if (x0 == last) break;
            }
            return width - band;
        }

        /// <summary>Per lane: both ends ranked and <paramref name="inner"/> strictly between their ranks.</summary>
        private static Vector256<sbyte> Between(Vector256<sbyte> end1, Vector256<sbyte> end2, Vector256<sbyte> inner, Vector256<sbyte> unranked)
        {
            var (low, high) = (Vector256.Min(end1, end2), Vector256.Max(end1, end2));
            return Vector256.GreaterThan(low, unranked) & Vector256.LessThan(low, inner) & Vector256.LessThan(inner, high);
        }

        /// <summary>Voxels of a row evaluated at once by <see cref="EvaluateRun"/>: one bit each in a candidates word.</summary>
        private const int RunVoxels = 32;

        /// <summary>
        /// Whether rows inside the volume are evaluated <see cref="RunVoxels"/> at a time (<see cref="EvaluateRun"/>): bands of two
        /// voxels (the pipeline's) and three or four classes, where the widest qualifying line's end classes follow from its span
        /// and the voxel's own rank alone, so that neither the directions' order nor the band widths (which the one-by-one rule's
        /// ties follow) can change the result.
        /// </summary>
        private readonly bool _runs = maxBandVoxels == 2 && labelsDarkToBright.Length is 3 or 4 && Avx2.IsSupported;

        /// <summary>The ranks of labels 0-15 in both halves (<see cref="Avx2.Shuffle(Vector256{sbyte}, Vector256{sbyte})"/> looks up within a half).</summary>
        private readonly Vector256<sbyte> _rankTable = Vector256.Create(Vector128.Create(rankOf.AsSpan(0, 16)));

        /// <summary>
        /// Per pair of end ranks (low, high), the least float at or above the contrast an edge needs and at or above the midpoint
        /// between their class means: a float compared with these gives the comparison with the double of the one-by-one rule.
        /// </summary>
        private readonly float[,] _contrastFloor = ContrastFloors(classMeans, minimumEdgeContrast);
        private readonly float[,] _midpointFloor = PairFloors(classMeans, (low, high) => 0.5 * (classMeans[low] + classMeans[high]));

        private static float[,] ContrastFloors(double[] classMeans, double minimumEdgeContrast) =>
            PairFloors(classMeans, (low, high) => minimumEdgeContrast * (classMeans[high] - classMeans[low]));

        private static float[,] PairFloors(double[] classMeans, Func<int, int, double> value)
        {
            var floors = new float[classMeans.Length, classMeans.Length];
            for (var low = 0; low < classMeans.Length; low++)
                for (var high = low + 1; high < classMeans.Length; high++)
                    floors[low, high] = FloatThresholds.LeastFloatAtOrAbove(value(low, high));
            return floors;
        }

        /// <summary>
        /// The rule of <see cref="Evaluate"/> for the candidates (<paramref name="candidates"/>' bits) among the 32 voxels of row
        /// <paramref name="y"/> of slice <paramref name="z"/> from column <paramref name="x0"/>, every line position inside the
        /// volume, along the 13 directions a lane each: the line shapes of <see cref="LineShapes"/>, one per band width and side,
        /// then whether an end lies in a thin band itself (ranks two positions beyond it), then, lane by lane for the few left,
        /// the edge contrast (floats against <see cref="_contrastFloor"/>). With three or four classes the voxel takes the widest
        /// qualifying span's ends (the darkest and brightest class, else the pair around its own rank), on the side of their
        /// midpoint its grey level is on. One by one, the rule's branches on every voxel's ranks cost more than its arithmetic.
        /// <paramref name="bandPlanes"/>: the ranks of slices z - 2 .. z + 2. Returns false, changing nothing, where a line
        /// reaches a label beyond the rank table's 16 (the caller evaluates one by one).
        /// </summary>
        private bool EvaluateRun(int z, int y, int x0, uint candidates, sbyte[][] bandPlanes)
        {
            var top = _topRank;
            var unranked = Vector256.Create((sbyte)-1);
            var beyondTable = Vector256.Create((byte)15);
            ref var labelStart = ref MemoryMarshal.GetArrayDataReference(labels.Data);
            ref var greyStart = ref MemoryMarshal.GetArrayDataReference(intensity.Data);
            var rowStart = y * _width + x0;
            var centreIndex = ((long)z * _height + y) * _width + x0;
            var centre = LoadRanks(bandPlanes[2], rowStart);
            var (darkest, brightest) = (Vector256<sbyte>.Zero, Vector256.Create((sbyte)top));
            var (nextDarkest, nextBrightest) = (Vector256.Create((sbyte)1), Vector256.Create((sbyte)(top - 1)));
            uint widestFull = 0, widestShort = 0;
            // A voxel's outcome depends only on whether some line qualifies with the full span, else with the short span its
            // rank allows: once a lane has a full span no later line can change it, nor a short line one that has a short span.
            for (var d = 0; d < _steps.Length && (candidates & ~widestFull) != 0; d++)
            {
                var open = candidates & ~widestFull;
                var (dz, rowStep, step) = (LineDirections[d].Dz, _rowSteps[d], _steps[d]);
                var (before, after) = (LoadRanks(bandPlanes[2 - dz], rowStart - rowStep), LoadRanks(bandPlanes[2 + dz], rowStart + rowStep));
                var (before2, after2) = (LoadRanks(bandPlanes[2 - 2 * dz], rowStart - 2 * rowStep), LoadRanks(bandPlanes[2 + 2 * dz], rowStart + 2 * rowStep));
                // The three shapes of a band of at most two voxels: ends (-1, 1), (-2, 1) and (-1, 2).
                var narrow = Between(before, after, centre, unranked).ExtractMostSignificantBits() & open;
                var wideBefore = (Between(before2, after, centre, unranked) & Between(before2, after, before, unranked)).ExtractMostSignificantBits() & open;
                var wideAfter = (Between(before, after2, centre, unranked) & Between(before, after2, after, unranked)).ExtractMostSignificantBits() & open;
                if ((narrow | wideBefore | wideAfter) == 0) continue;
                // An end of rank strictly between two others may lie in a thin band itself: the ranks two positions beyond it
                // (four slices away at most: read only where such an end is met, e.g. not where void meets NMC).
                var (intermediateBefore2, intermediateBefore) = (Intermediate(before2, top), Intermediate(before, top));
                var (intermediateAfter, intermediateAfter2) = (Intermediate(after, top), Intermediate(after2, top));
                if (((narrow & (intermediateBefore | intermediateAfter)) | (wideBefore & (intermediateBefore2 | intermediateAfter))
                        | (wideAfter & (intermediateBefore | intermediateAfter2))) != 0)
                {
                    var (outer3, outer4) = (Vector256.LoadUnsafe(ref labelStart, (nuint)(centreIndex - 3 * step)), Vector256.LoadUnsafe(ref labelStart, (nuint)(centreIndex - 4 * step)));
                    var (outerAfter3, outerAfter4) = (Vector256.LoadUnsafe(ref labelStart, (nuint)(centreIndex + 3 * step)), Vector256.LoadUnsafe(ref labelStart, (nuint)(centreIndex + 4 * step)));
                    if (Vector256.GreaterThanAny(outer3 | outer4 | outerAfter3 | outerAfter4, beyondTable)) return false;
                    var (before3, before4) = (Avx2.Shuffle(_rankTable, outer3.AsSByte()), Avx2.Shuffle(_rankTable, outer4.AsSByte()));
                    var (after3, after4) = (Avx2.Shuffle(_rankTable, outerAfter3.AsSByte()), Avx2.Shuffle(_rankTable, outerAfter4.AsSByte()));
                    var insideBefore2 = InsideThinBand(before4, before3, before2, before, centre, unranked);
                    var insideBefore = InsideThinBand(before3, before2, before, centre, after, unranked);
                    var insideAfter = InsideThinBand(before, centre, after, after2, after3, unranked);
                    var insideAfter2 = InsideThinBand(centre, after, after2, after3, after4, unranked);
                    narrow &= ~(insideBefore | insideAfter);
                    wideBefore &= ~(insideBefore2 | insideAfter);
                    wideAfter &= ~(insideBefore | insideAfter2);
                    if ((narrow | wideBefore | wideAfter) == 0) continue;
                }
                for (var shape = 0; shape < 3; shape++)
                {
                    var (bits, lowerEnd, upperEnd, lower, upper) = shape switch
                    {
                        0 => (narrow, before, after, -1, 1),
                        1 => (wideBefore, before2, after, -2, 1),
                        _ => (wideAfter, before, after2, -1, 2),
                    };
                    if (bits == 0) continue;
                    var (low, high) = (Vector256.Min(lowerEnd, upperEnd), Vector256.Max(lowerEnd, upperEnd));
                    var full = (Vector256.Equals(low, darkest) & Vector256.Equals(high, brightest)).ExtractMostSignificantBits();
                    var lowerPair = (Vector256.Equals(low, darkest) & Vector256.Equals(high, nextBrightest)).ExtractMostSignificantBits();
                    bits &= ~(widestFull | (widestShort & ~full));
                    if (bits == 0) continue;
                    bits &= ~TooLowContrast(ref greyStart, centreIndex + lower * step, centreIndex + upper * step, bits, full, lowerPair);
                    widestFull |= bits & full;
                    widestShort |= bits & ~full;
                }
            }
            var chosen = widestFull | widestShort;
            if (chosen == 0) return true;
            var second = Vector256.Equals(centre, nextDarkest).ExtractMostSignificantBits();
            for (; chosen != 0; chosen &= chosen - 1)
            {
                var lane = BitOperations.TrailingZeroCount(chosen);
                var bit = 1u << lane;
                var (low, high) = (widestFull & bit) != 0 ? (0, top) : (second & bit) != 0 ? (0, top - 1) : (1, top);
                var grey = Unsafe.Add(ref greyStart, (nint)(centreIndex + lane));
                result.Data[centreIndex + lane] = labelsDarkToBright[grey >= _midpointFloor[low, high] ? high : low];
            }
            return true;
        }

        /// <summary>
        /// Per lane of <paramref name="bits"/> (bit), whether the two ends' grey levels (<paramref name="lowerOffset"/> + lane,
        /// <paramref name="upperOffset"/> + lane) differ by less than the contrast their pair of classes needs: the darkest and
        /// brightest (<paramref name="full"/>), the darkest and next brightest (<paramref name="lowerPair"/>) or the next darkest and
        /// brightest. Eight lanes at a time in float, as the one-by-one rule's |upper − lower| &lt; floor (a NaN difference is
        /// never too low). Most candidates of a run pass the line shapes, so lane by lane this was most of the run's time.
        /// </summary>
        private uint TooLowContrast(ref float greyStart, long lowerOffset, long upperOffset, uint bits, uint full, uint lowerPair)
        {
            var (fullFloor, lowerPairFloor, upperPairFloor) = _runContrastFloors;
            uint tooLow = 0;
            for (var group = 0; group < RunVoxels; group += Vector256<float>.Count)
            {
                if (((bits >> group) & 0xFF) == 0) continue;
                var upper = Vector256.LoadUnsafe(ref greyStart, (nuint)(upperOffset + group));
                var lower = Vector256.LoadUnsafe(ref greyStart, (nuint)(lowerOffset + group));
                var floor = Vector256.ConditionalSelect(LaneMask(full >> group), fullFloor,
                    Vector256.ConditionalSelect(LaneMask(lowerPair >> group), lowerPairFloor, upperPairFloor));
                tooLow |= Vector256.LessThan(Vector256.Abs(upper - lower), floor).ExtractMostSignificantBits() << group;
            }
            return tooLow & bits;
        }

        /// <summary>The contrast floors of a run's three end pairs (<see cref="_contrastFloor"/>) in every lane: darkest and brightest, darkest and next brightest, next darkest and brightest.</summary>
        private readonly (Vector256<float> Full, Vector256<float> LowerPair, Vector256<float> UpperPair) _runContrastFloors = RunContrastFloors(
            ContrastFloors(classMeans, minimumEdgeContrast));

        private static (Vector256<float>, Vector256<float>, Vector256<float>) RunContrastFloors(float[,] floors)
        {
            var top = floors.GetLength(0) - 1;
            return top < 2 ? default : (Vector256.Create(floors[0, top]), Vector256.Create(floors[0, top - 1]), Vector256.Create(floors[1, top]));
        }

        private static readonly Vector256<int> LaneBits = Vector256.Create(1, 2, 4, 8, 16, 32, 64, 128);

        /// <summary>All ones in lane j of eight where bit j of <paramref name="bits"/> is set.</summary>
        private static Vector256<float> LaneMask(uint bits) =>
            Vector256.Equals(Vector256.Create((int)(bits & 0xFF)) & LaneBits, LaneBits).AsSingle();

        /// <summary>Per lane (bit), a rank strictly between the darkest and the brightest (<paramref name="top"/>).</summary>
        private static uint Intermediate(Vector256<sbyte> ranks, int top) =>
            (Vector256.GreaterThan(ranks, Vector256<sbyte>.Zero) & Vector256.LessThan(ranks, Vector256.Create((sbyte)top))).ExtractMostSignificantBits();

        private static Vector256<sbyte> LoadRanks(sbyte[] plane, int start) =>
            Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(plane), (nuint)start);

        /// <summary>
        /// Per lane (bit), whether the voxel <paramref name="at"/> lies in a thin band of at most two voxels along the line of the
        /// two voxels on either side (<see cref="IsInsideThinBand"/> inside the volume).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint InsideThinBand(Vector256<sbyte> before2, Vector256<sbyte> before, Vector256<sbyte> at, Vector256<sbyte> after, Vector256<sbyte> after2,
            Vector256<sbyte> unranked)
        {
            var inside = Between(before, after, at, unranked)
                | (Between(before2, after, at, unranked) & Between(before2, after, before, unranked))
                | (Between(before, after2, at, unranked) & Between(before, after2, after, unranked));
            return inside.ExtractMostSignificantBits();
        }

        /// <summary>In-slice index step of each line direction (its z step is the slice's).</summary>
        private readonly int[] _rowSteps = Array.ConvertAll(LineDirections, d => d.Dy * labels.Width + d.Dx);

        /// <summary>Linear index step of each of the 13 line directions.</summary>
        private readonly long[] _steps = Array.ConvertAll(LineDirections, d => ((long)d.Dz * labels.Height + d.Dy) * labels.Width + d.Dx);

        /// <summary>
        /// The rule of the class summary for one intermediate voxel, in the original order and arithmetic, along the directions
        /// whose bits are set in <paramref name="directions"/> (the others are known to hold no qualifying line).
        /// </summary>
        private void Evaluate(long index, int z, int y, int x, int rank, int[] line, int directions)
        {
            var band = maxBandVoxels;
            var reach = 2 * band;
            var centre = reach;
            var interior = z >= reach && z < _depth - reach && y >= reach && y < _height - reach && x >= reach && x < _width - reach;
            var labelData = labels.Data;
            var values = intensity.Data;

            int bestLow = -1, bestHigh = -1, bestBand = int.MaxValue;
            for (var d = 0; d < _steps.Length; d++)
            {
                if ((directions & (1 << d)) == 0) continue;
                var step = _steps[d];
                var (dz, dy, dx) = LineDirections[d];
                // Positions ±1 are an end or inside the band of every candidate line: both must be ranked voxels.
                // Candidate ends lie within ±band; positions beyond are read only if an end's own band is checked.
                int before, after;
                if (interior) (before, after) = (rankOf[labelData[index - step]], rankOf[labelData[index + step]]);
                else (before, after) = (RankAt(z - dz, y - dy, x - dx), RankAt(z + dz, y + dy, x + dx));
                if (before < 0 || after < 0) continue;
                // With bands of at most 2 voxels one end is a direct neighbour, and an end differs from the voxel's rank.
                if (band <= 2 && before == rank && after == rank) continue;
                if (interior)
                    for (var p = centre - band; p <= centre + band; p++) line[p] = rankOf[labelData[index + (p - centre) * step]];
                else
                    for (var p = centre - band; p <= centre + band; p++)
                    {
                        var s = p - centre;
                        line[p] = RankAt(z + s * dz, y + s * dy, x + s * dx);
                    }
                var outerRead = false;

                for (var width = 1; width <= band; width++)
                    for (var a = 1; a <= width; a++)
                    {
                        int upper = centre + a, lower = centre - (width + 1 - a);
                        if (!IsThinBandBetween(line, lower, upper, out var low, out var high) || !(low < rank && rank < high)) continue;
                        // Cannot beat the best so far: skip the remaining (pure) checks.
                        if (high - low < bestHigh - bestLow || (high - low == bestHigh - bestLow && width >= bestBand)) continue;
                        var contrast = Math.Abs(values[index + (upper - centre) * step] - values[index + (lower - centre) * step]);
                        if (contrast < minimumEdgeContrast * (classMeans[high] - classMeans[low])) continue;
                        if (!outerRead && (IsIntermediate(line[upper]) || IsIntermediate(line[lower])))
                        {
                            for (var k = band + 1; k <= reach; k++)
                            {
                                if (interior)
                                    (line[centre - k], line[centre + k]) = (rankOf[labelData[index - k * step]], rankOf[labelData[index + k * step]]);
                                else
                                    (line[centre - k], line[centre + k]) = (RankAt(z - k * dz, y - k * dy, x - k * dx), RankAt(z + k * dz, y + k * dy, x + k * dx));
                            }
                            outerRead = true;
                        }
                        if (IsInsideThinBand(line, upper, band, _topRank) || IsInsideThinBand(line, lower, band, _topRank)) continue;
                        (bestLow, bestHigh, bestBand) = (low, high, width);
                    }
                // Darkest to brightest class across a one-voxel band: no later line can replace it.
                if (bestLow == 0 && bestHigh == _topRank && bestBand == 1) break;
            }
            if (bestLow < 0) return;
            var midpoint = 0.5 * (classMeans[bestLow] + classMeans[bestHigh]);
            result.Data[index] = labelsDarkToBright[values[index] >= midpoint ? bestHigh : bestLow];
        }

        /// <summary>Only intermediate end voxels are examined by <see cref="IsInsideThinBand"/> (it returns false at once for the others).</summary>
        private bool IsIntermediate(int rank) => rank > 0 && rank < _topRank;

        private int RankAt(int z, int y, int x) =>
            (uint)z >= (uint)_depth || (uint)y >= (uint)_height || (uint)x >= (uint)_width
                ? BeyondVolume
                : rankOf[labels.Data[((long)z * _height + y) * _width + x]];
    }

    /// <summary>
    /// True when the ends at <paramref name="lower"/> and <paramref name="upper"/> are ranked classes at least
    /// two ranks apart and every voxel strictly between them has a rank strictly between theirs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsThinBandBetween(int[] lineRanks, int lower, int upper, out int low, out int high)
    {
        low = Math.Min(lineRanks[lower], lineRanks[upper]);
        high = Math.Max(lineRanks[lower], lineRanks[upper]);
        if (low < 0 || high - low < 2) return false;
        for (var p = lower + 1; p < upper; p++)
            if (!(low < lineRanks[p] && lineRanks[p] < high)) return false;
        return true;
    }

    /// <summary>
    /// True when the intermediate voxel at <paramref name="position"/> lies in a thin band along the same line,
    /// or might (the line leaves the volume within reach, so it cannot be ruled out: be conservative).
    /// </summary>
    private static bool IsInsideThinBand(int[] lineRanks, int position, int maxBandVoxels, int topRank)
    {
        var rank = lineRanks[position];
        if (rank <= 0 || rank >= topRank) return false;
        for (var p = position - maxBandVoxels; p <= position + maxBandVoxels; p++)
            if (lineRanks[p] == BeyondVolume) return true;
        for (var band = 1; band <= maxBandVoxels; band++)
            for (var a = 1; a <= band; a++)
            {
                int upper = position + a, lower = position - (band + 1 - a);
                if (lower < 0 || upper >= lineRanks.Length) continue;
                if (IsThinBandBetween(lineRanks, lower, upper, out var low, out var high) && low < rank && rank < high) return true;
            }
        return false;
    }

    private static (int, int, int)[] BuildLineDirections()
    {
        var directions = new List<(int, int, int)>();
        for (var dz = -1; dz <= 1; dz++)
            for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                    if (dz > 0 || (dz == 0 && dy > 0) || (dz == 0 && dy == 0 && dx > 0))
                        directions.Add((dz, dy, dx));
        return directions.ToArray();
    }
}
