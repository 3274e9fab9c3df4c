using System.Numerics;
using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Gives thin gaps along an active-material particle's surface back to void. A delamination crack between a particle and
/// the electrolyte (the contact loss the paper measures) tapers from its widest to nothing, and where it is 2-4 voxels
/// thin the particle's blur lifts its voxel at the particle's face by ~0.45 of the void-to-particle contrast, into the
/// electrolyte's grey: the classifier calls it electrolyte, and the clean-up's lines (particle, mixel, dark end) then make
/// it carbon, so the face reads particle|carbon and the contact loss reads low (session 33, <c>scripts/contact_loss_misses.py</c>:
/// 66-78 % of the faces where the void is 2-4 voxels thick labelled carbon). The face layer alone cannot tell such a gap
/// from the clean-up's moves of dark electrolyte next to a particle (on one family member 66 % of the carbon-labelled face
/// voxels are truly electrolyte, classified electrolyte, and brighter than the electrolyte's median); the gap's interior,
/// a voxel or two further out and lifted less, can: it stays below the carbon|electrolyte threshold.
/// <para>
/// The rule: carbon-labelled voxels within <see cref="ReachVoxels"/> face steps of the active material, with no dark-tube
/// core within a fibre's radius (<see cref="FibreHalfDepth.NeighbourhoodVoxels"/>, box; the survey's tube test, Frangi et
/// al. 1998, as <see cref="FibreHalfDepth"/> takes it, on any voxel that is not active material and is darker than the
/// electrolyte's mean, which a core, a dip in the electrolyte, is: a fibre touching a particle is carbon) are the
/// candidates; those with grey below the carbon|electrolyte threshold seed a gap, which takes the candidates face-connected
/// to a seed within <see cref="GrowSteps"/> steps; the gap becomes void. Carbon away from the active material, and every
/// other label, is left alone.
/// </para>
/// <para>
/// Measured by re-segmenting finished family runs (<c>-- cleanup</c>, rule "nmc gap r2 n3 g2"): contact loss within ±2 pp
/// on 47 → 57 % of the fresh seeds 301-330 (128x256x320) and 67 → 74 % of seeds 1-24 with the presets (64x192x224); it
/// raises contact loss on every member, by 0.0-2.5 pp, most where it read low (305 −4.55 → −2.15, 303 −5.97 → −3.52); on
/// the held-out seeds 331-350 70 → 70 % (338 −5.21 → −2.78; 345 −2.36 → −1.24 comes in, 348 +0.78 → +2.21 goes out). Reach,
/// growth and the gate are tunings of these sweeps (reach 2 / growth 1 gained less; a core clearance of 1 voxel
/// overshoots on 1-24), not a phantom's grey levels or proportions: the gate is the stack's own threshold.
/// </para>
/// <para>
/// Each voxel's result depends on the labels within <see cref="LabelReachVoxels"/> and the grey levels within
/// <see cref="RequiredHaloSlices"/>: slabs read with those and cropped give the whole volume's bytes, for any number of
/// threads and any order of the growth.
/// </para>
/// </summary>
public static class ParticleFaceGaps
{
    /// <summary>Face steps from the active material within which a carbon-labelled voxel may be part of a gap: the 2-4 voxel gaps the clean-up misses.</summary>
    public const int ReachVoxels = 3;

    /// <summary>Face steps a gap grows from its seeds through candidates: from the dark interior back to the lifted face layer.</summary>
    public const int GrowSteps = 2;

    /// <summary>How far (face steps) the labels must be exact beyond the span: a candidate within the growth, and its distance to the active material.</summary>
    public const int LabelReachVoxels = GrowSteps + ReachVoxels;

    /// <summary>Grey levels the result reads beyond the span: the growth, a core's box, the Hessian's kernel.</summary>
    public static int RequiredHaloSlices(double sigmaVoxels) =>
        GrowSteps + FibreHalfDepth.NeighbourhoodVoxels(sigmaVoxels) + HessianEigenvalues.RadiusVoxels(sigmaVoxels);

    /// <summary>What <see cref="ApplyInPlace"/> allocates per voxel: the reach's mask and its dilation's second buffer, which then holds the flags.</summary>
    public const int BytesPerVoxel = 2 * sizeof(byte);

    /// <summary>Per-worker scratch per pixel of a slice (one worker per core): the Hessian's planes, two eigenvalue planes, the selection.</summary>
    public const int ScratchBytesPerSlicePixel = HessianEigenvalues.AtSelectedPixels.ScratchBytesPerSlicePixel + 2 * sizeof(float) + 1;

    // Flags per voxel: a candidate (carbon within the reach), within the growth of a seed ignoring the cores (the only
    // candidates whose cores are looked for), a voxel to test for a core, a core, a potential voxel clear of cores, the gap.
    internal const byte Candidate = 1, Potential = 2;
    private const byte ToTest = 4, Core = 8, Clear = 16, Gap = 32;

    /// <summary>
    /// Turns the gaps on the slices of <paramref name="exact"/> into void, in place; <paramref name="labels"/> must be exact
    /// <see cref="LabelReachVoxels"/> beyond the span (clipped at the volume's ends).
    /// </summary>
    /// <param name="labels">The recipe's labels (void, carbon, LPS, NMC).</param>
    /// <param name="intensity">The denoised grey levels they came from.</param>
    /// <param name="classMeans">Means of void, carbon, electrolyte and active material (the tube test's contrast).</param>
    /// <param name="carbonElectrolyteThreshold">The stack's carbon|electrolyte threshold: a seed's grey is below it.</param>
    /// <param name="sigmaVoxels">The tube filter's σ (<see cref="CarbonFibreSurvey.TubeSigmaVoxels"/>).</param>
    /// <param name="exact">The slices whose result must be exact.</param>
    /// <param name="cores">Tube tests kept across calls on the same grey levels (<see cref="FibreHalfDepth.TubeCoreCache"/>); null: not kept.</param>
    /// <param name="exactArea">
    /// The rows and columns whose result must be exact (null: all): as along z, only the candidates within the growth of them
    /// are flagged, so neither the growth nor the tube tests run in the rest of a window's halo.
    /// </param>
    /// <remarks>
    /// A gap voxel is reached from a seed through candidates clear of cores; every such path runs through the candidates
    /// within the growth of a seed when the cores are ignored, so only those few (the potential gap) need the Hessian's
    /// tube test in their box, not every candidate: the rule then costs a few linear passes over the window.
    /// </remarks>
    public static void ApplyInPlace(Volume<byte> labels, Volume<float> intensity, double[] classMeans, double carbonElectrolyteThreshold, double sigmaVoxels,
        SliceSpan exact, FibreHalfDepth.TubeCoreCache? cores = null, AreaSpan? exactArea = null)
    {
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        if (classMeans.Length != 4)
            throw new ArgumentException("four class means (void, carbon, electrolyte, active material) are needed", nameof(classMeans));
        if (!(sigmaVoxels > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "σ must be positive");
        exact.CheckInside(labels.Depth, nameof(exact));
        exactArea?.CheckInside(labels.Height, labels.Width, nameof(exactArea));
        var minimumResponse = FibreHalfDepth.MinimumResponseFor(CarbonFibreSurvey.MinimumTubeResponse, classMeans);
        if (cores is not null && (!ReferenceEquals(cores.Intensity, intensity) || cores.SigmaVoxels != sigmaVoxels || cores.MinimumResponse != minimumResponse))
            throw new ArgumentException("the tube-core cache was made for another intensity volume, σ or contrast", nameof(cores));
        if (labels.Length == 0 || exact.Length == 0 || !(classMeans[2] - classMeans[0] > 0)) return;
        if (labels.Length > int.MaxValue) throw new ArgumentException("a window of more than 2^31 voxels", nameof(labels));

        // Within the reach of the active material: its mask dilated by the six-neighbourhood ReachVoxels times (L1 distance).
        Apply(labels, intensity, carbonElectrolyteThreshold, sigmaVoxels, exact, exactArea, cores, minimumResponse, (float)classMeans[2],
            new byte[labels.Length], new byte[labels.Length]);
    }

    private static void Apply(Volume<byte> labels, Volume<float> intensity, double carbonElectrolyteThreshold, double sigmaVoxels, SliceSpan exact,
        AreaSpan? exactArea, FibreHalfDepth.TubeCoreCache? cores, float minimumResponse, float electrolyteMean, byte[] near, byte[] other)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var plane = height * width;
        var candidates = exact.Grow(GrowSteps, GrowSteps, depth);
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Min(Environment.ProcessorCount, depth) };
        var reached = candidates.Grow(ReachVoxels, ReachVoxels, depth);
        Parallel.For(reached.Start, reached.End, options, z => IsNmc(labels.Slice(z), near.AsSpan(z * plane, plane)));
        for (var step = 1; step <= ReachVoxels; step++)
        {
            var (before, after) = (near, other);
            var span = candidates.Grow(ReachVoxels - step, ReachVoxels - step, depth);
            Parallel.For(span.Start, span.End, options, z => DilateSlice(before, after, z, depth, height, width));
            (near, other) = (after, before);
        }
        if (exactArea is { } area) ClearOutside(near, area.Grow(GrowSteps, height, width), candidates, height, width);

        // Candidates (carbon within the reach), and the potential gap: the growth from the seeds ignoring the cores.
        var flags = other;
        // The Hessian's boxes reach beyond the candidates' slices.
        var box = FibreHalfDepth.NeighbourhoodVoxels(sigmaVoxels);
        var tested = candidates.Grow(box, box, depth);
        Array.Clear(flags, tested.Start * plane, (candidates.Start - tested.Start) * plane);
        Array.Clear(flags, candidates.End * plane, (tested.End - candidates.End) * plane);
        var wave = FlagCandidates(labels.Data, intensity.Data, near, flags, carbonElectrolyteThreshold, candidates, plane, options);
        if (wave.Count == 0) return;
        var potential = Grow(flags, wave, Candidate, Potential, candidates, height, width);

        // The tube test in the box of every potential voxel; one Hessian workspace per worker, slices dealt round-robin.
        // Only voxels that can be a dark tube's core: not the active material, and darker than the electrolyte (a core is a dip in it).
        // The boxes' union is the potential gap dilated by the box, separably (in-plane into the reach's buffer, no longer
        // needed, then along z), slice by slice in parallel: marking box by box was a serial pass of 125 voxels per potential one.
        MarkBoxes(flags, near, labels.Data, intensity.Data, electrolyteMean, box, candidates, tested, height, width, options);
        var workers = options.MaxDegreeOfParallelism;
        Parallel.For(0, workers, options, w =>
        {
            HessianEigenvalues.AtSelectedPixels? hessian = null;
            var (middle, smallest) = (Array.Empty<float>(), Array.Empty<float>());
            var selected = new byte[plane];
            for (var z = tested.Start + w; z < tested.End; z += workers)
            {
                var slice = flags.AsSpan(z * plane, plane);
                var known = cores is null ? [] : cores.States.AsSpan(z * plane, plane);
                // A voxel the cache has tested takes its outcome from there.
                if (!FibreHalfDepth.TubeCoreCache.SelectUntested(slice, ToTest, known, slice, Core, selected)) continue;
                if (hessian is null) (hessian, middle, smallest) = (new HessianEigenvalues.AtSelectedPixels(height, width, sigmaVoxels), new float[plane], new float[plane]);
                hessian.Compute(intensity, z, selected, middle, smallest, minimumResponse, FibreHalfDepth.TubeTraceBound(minimumResponse));
                FibreHalfDepth.TubeCoreCache.RecordOutcomes(selected, middle, smallest, minimumResponse, known, slice, Core);
            }
            hessian?.Dispose();
        });

        // A potential voxel with a core in its box is a fibre's. The others below the threshold seed the gap, which grows
        // through the others.
        var seeds = new List<int>();
        foreach (var k in potential)
        {
            if (CoreInBox(flags, k, box, depth, height, width)) continue;
            flags[k] |= Clear;
            if (intensity.Data[k] < carbonElectrolyteThreshold) seeds.Add(k);
        }
        foreach (var k in seeds) flags[k] |= Gap;
        foreach (var k in Grow(flags, seeds, Clear, Gap, candidates, height, width))
            if (k >= exact.Start * plane && k < exact.End * plane) labels.Data[k] = PhaseLabel.Void;
    }

    /// <summary>Zeroes <paramref name="mask"/> outside <paramref name="area"/> on the slices of <paramref name="span"/>.</summary>
    private static void ClearOutside(byte[] mask, AreaSpan area, SliceSpan span, int height, int width)
    {
        var plane = height * width;
        for (var z = span.Start; z < span.End; z++)
        {
            var slice = mask.AsSpan(z * plane, plane);
            var next = 0;
            foreach (var (start, length) in area.RunsInSlice(width))
            {
                slice[next..start].Clear();
                next = start + length;
            }
            slice[next..].Clear();
        }
    }

    /// <summary>
    /// Writes every voxel of the span's slices into <paramref name="flags"/>: <see cref="Candidate"/> for carbon within the reach
    /// (<paramref name="near"/> non-zero), with <see cref="Potential"/> where its grey level is below the carbon|electrolyte
    /// threshold, 0 elsewhere; returns the potential voxels in index order. Slices in parallel, 32 voxels at a time (the
    /// float comparison with the least float at or above the threshold is the double comparison).
    /// </summary>
    internal static List<int> FlagCandidates(byte[] labels, float[] intensity, byte[] near, byte[] flags, double threshold, SliceSpan span, int plane,
        ParallelOptions options)
    {
        var seeds = new List<int>[span.Length];
        Parallel.For(span.Start, span.End, options, z =>
        {
            var found = new List<int>();
            var (start, end) = (z * plane, (z + 1) * plane);
            var k = start;
            if (Vector256.IsHardwareAccelerated)
            {
                var (carbon, candidate) = (Vector256.Create(PhaseLabel.Carbon), Vector256.Create(Candidate));
                var below = Vector256.Create(FloatThresholds.LeastFloatAtOrAbove(threshold));
                for (; k + Vector256<byte>.Count <= end; k += Vector256<byte>.Count)
                {
                    var isCandidate = Vector256.Equals(Vector256.Create(labels.AsSpan(k, Vector256<byte>.Count)), carbon)
                        & ~Vector256.Equals(Vector256.Create(near.AsSpan(k, Vector256<byte>.Count)), Vector256<byte>.Zero);
                    (isCandidate & candidate).CopyTo(flags.AsSpan(k, Vector256<byte>.Count));
                    var candidates = isCandidate.ExtractMostSignificantBits();
                    if (candidates == 0) continue;
                    var darker = 0u;
                    for (var q = 0; q < Vector256<byte>.Count; q += Vector256<float>.Count)
                        darker |= Vector256.LessThan(Vector256.Create(intensity.AsSpan(k + q, Vector256<float>.Count)), below).ExtractMostSignificantBits() << q;
                    for (var potential = candidates & darker; potential != 0; potential &= potential - 1)
                    {
                        var at = k + BitOperations.TrailingZeroCount(potential);
                        flags[at] |= Potential;
                        found.Add(at);
                    }
                }
            }
            for (; k < end; k++)
            {
                flags[k] = 0;
                if (near[k] == 0 || labels[k] != PhaseLabel.Carbon) continue;
                flags[k] = Candidate;
                if (intensity[k] < threshold) { flags[k] |= Potential; found.Add(k); }
            }
            seeds[z - span.Start] = found;
        });
        var wave = new List<int>(seeds.Sum(s => s.Count));
        foreach (var s in seeds) wave.AddRange(s);
        return wave;
    }

    /// <summary>
    /// Marks with <paramref name="mark"/> the voxels with <paramref name="through"/> within <see cref="GrowSteps"/> face steps
    /// of <paramref name="seeds"/> (already marked) along voxels that have it, inside <paramref name="span"/>; returns all marked.
    /// </summary>
    private static List<int> Grow(byte[] flags, List<int> seeds, byte through, byte mark, SliceSpan span, int height, int width)
    {
        var plane = height * width;
        var all = new List<int>(seeds);
        var wave = seeds;
        for (var round = 0; round < GrowSteps && wave.Count > 0; round++)
        {
            var next = new List<int>();
            foreach (var k in wave)
            {
                var (z, y, x) = (k / plane, k / width % height, k % width);
                void Join(int j)
                {
                    if ((flags[j] & (through | mark)) != through) return;
                    flags[j] |= mark;
                    next.Add(j);
                }
                if (x > 0) Join(k - 1);
                if (x + 1 < width) Join(k + 1);
                if (y > 0) Join(k - width);
                if (y + 1 < height) Join(k + width);
                if (z > span.Start) Join(k - plane);
                if (z + 1 < span.End) Join(k + plane);
            }
            all.AddRange(next);
            wave = next;
        }
        return all;
    }

    /// <summary>
    /// Sets <see cref="ToTest"/> on the voxels of <paramref name="tested"/> that lie in the box of half-width <paramref name="radius"/>
    /// (clipped at the volume) of a <see cref="Potential"/> voxel (all within <paramref name="candidates"/>), are not the
    /// active material and are darker than <paramref name="electrolyteMean"/>. <paramref name="scratch"/> takes the in-plane
    /// dilation of the slices of <paramref name="candidates"/>.
    /// </summary>
    private static void MarkBoxes(byte[] flags, byte[] scratch, byte[] labels, float[] intensity, float electrolyteMean, int radius,
        SliceSpan candidates, SliceSpan tested, int height, int width, ParallelOptions options)
    {
        var plane = height * width;
        Parallel.For(candidates.Start, candidates.End, options, () => new byte[plane], (z, _, rows) =>
        {
            // Along x into rows, then along y into the scratch slice.
            var slice = flags.AsSpan(z * plane, plane);
            for (var i = 0; i < plane; i++) rows[i] = (byte)(slice[i] & Potential);
            var shifted = scratch.AsSpan(z * plane, plane);
            rows.CopyTo(shifted);
            for (var d = 1; d <= radius; d++) OrShiftedAlongX(rows, shifted, height, width, d);
            rows.CopyTo(shifted);
            for (var d = 1; d <= radius; d++) OrShiftedAlongY(shifted, rows, width, d);
            return rows;
        }, _ => { });
        Parallel.For(tested.Start, tested.End, options, () => new byte[plane], (z, _, near) =>
        {
            // Along z: the in-plane dilations of the candidates' slices within the radius.
            var (z0, z1) = (Math.Max(candidates.Start, z - radius), Math.Min(candidates.End - 1, z + radius));
            if (z0 > z1) return near;
            scratch.AsSpan(z0 * plane, plane).CopyTo(near);
            for (var zz = z0 + 1; zz <= z1; zz++) ElementwiseInPlace.Or(near.AsSpan(), scratch.AsSpan(zz * plane, plane));
            var offset = z * plane;
            for (var i = 0; i < plane; i++)
                if (near[i] != 0 && labels[offset + i] != PhaseLabel.Nmc && intensity[offset + i] < electrolyteMean) flags[offset + i] |= ToTest;
            return near;
        }, _ => { });
    }

    /// <summary>Whether a voxel of the box of half-width <paramref name="radius"/> around voxel <paramref name="k"/> (clipped at the volume) is a core.</summary>
    private static bool CoreInBox(byte[] flags, int k, int radius, int depth, int height, int width)
    {
        var plane = height * width;
        var (z, y, x) = (k / plane, k / width % height, k % width);
        var (x0, x1) = (Math.Max(0, x - radius), Math.Min(width - 1, x + radius));
        for (var zz = Math.Max(0, z - radius); zz <= Math.Min(depth - 1, z + radius); zz++)
            for (var yy = Math.Max(0, y - radius); yy <= Math.Min(height - 1, y + radius); yy++)
                for (int j = zz * plane + yy * width + x0, end = zz * plane + yy * width + x1; j <= end; j++)
                    if ((flags[j] & Core) != 0) return true;
        return false;
    }

    /// <summary><paramref name="mask"/> = 1 where <paramref name="labels"/> is the active material, 0 elsewhere.</summary>
    private static void IsNmc(ReadOnlySpan<byte> labels, Span<byte> mask)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (nmc, one) = (new Vector<byte>(PhaseLabel.Nmc), new Vector<byte>(1));
            for (; i <= labels.Length - Vector<byte>.Count; i += Vector<byte>.Count)
                (Vector.Equals(new Vector<byte>(labels[i..]), nmc) & one).CopyTo(mask[i..]);
        }
        for (; i < labels.Length; i++) mask[i] = labels[i] == PhaseLabel.Nmc ? (byte)1 : (byte)0;
    }

    /// <summary>Slice <paramref name="z"/> of <paramref name="after"/>: <paramref name="before"/> OR its six face neighbours (0/1 masks).</summary>
    private static void DilateSlice(byte[] before, byte[] after, int z, int depth, int height, int width)
    {
        var plane = height * width;
        var target = after.AsSpan(z * plane, plane);
        before.AsSpan(z * plane, plane).CopyTo(target);
        if (z > 0) ElementwiseInPlace.Or(target, before.AsSpan((z - 1) * plane, plane));
        if (z + 1 < depth) ElementwiseInPlace.Or(target, before.AsSpan((z + 1) * plane, plane));
        var slice = before.AsSpan(z * plane, plane);
        OrShiftedAlongY(target, slice, width, 1);
        OrShiftedAlongX(target, slice, height, width, 1);
    }

    /// <summary><paramref name="target"/> |= <paramref name="source"/> shifted by <paramref name="d"/> columns either way, row by row (one slice).</summary>
    private static void OrShiftedAlongX(Span<byte> target, ReadOnlySpan<byte> source, int height, int width, int d)
    {
        if (d >= width) return;
        for (var y = 0; y < height; y++)
        {
            var row = source.Slice(y * width, width);
            var into = target.Slice(y * width, width);
            ElementwiseInPlace.Or(into[d..], row[..^d]);
            ElementwiseInPlace.Or(into[..^d], row[d..]);
        }
    }

    /// <summary><paramref name="target"/> |= <paramref name="source"/> shifted by <paramref name="d"/> rows either way (one slice).</summary>
    private static void OrShiftedAlongY(Span<byte> target, ReadOnlySpan<byte> source, int width, int d)
    {
        if (d * width >= source.Length) return;
        ElementwiseInPlace.Or(target[(d * width)..], source[..^(d * width)]);
        ElementwiseInPlace.Or(target[..^(d * width)], source[(d * width)..]);
    }
}
