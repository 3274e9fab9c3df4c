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
/// core within a fibre's radius (<see cref="FibreHalfDepth.NeighbourhoodVoxels"/>, box; the survey's tube test on any
/// label, Frangi et al. 1998, as <see cref="FibreHalfDepth"/> takes it: a fibre touching a particle is carbon) are the
/// candidates; those with grey below the carbon|electrolyte threshold seed a gap, which takes the candidates face-connected
/// to a seed within <see cref="GrowSteps"/> steps; the gap becomes void. Carbon away from the active material, and every
/// other label, is left alone.
/// </para>
/// <para>
/// Measured by re-segmenting finished family runs (<c>-- cleanup</c>, rule "nmc gap r2 n3 g2"): contact loss within ±2 pp
/// on 47 → 57 % of the fresh seeds 301-330 (128x256x320) and 67 → 74 % of seeds 1-24 with the presets (64x192x224); it
/// raises contact loss on every member, by 0.0-2.5 pp, most where it read low (305 −4.55 → −2.15, 303 −5.97 → −3.52). Reach,
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

    /// <summary>What <see cref="ApplyInPlace"/> allocates per voxel: the distance to the active material, the flags, a dilation's scratch (also the distance's second buffer).</summary>
    public const int BytesPerVoxel = 3 * sizeof(byte);

    /// <summary>Per-worker scratch per pixel of a slice (one worker per core): the Hessian's planes, two eigenvalue planes, the selection and a box plane.</summary>
    public const int ScratchBytesPerSlicePixel = HessianEigenvalues.AtSelectedPixels.ScratchBytesPerSlicePixel + 2 * sizeof(float) + 2;

    private const byte Candidate = 1, Selected = 2, Core = 4, Gap = 8;
    private const byte Far = byte.MaxValue;

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
    public static void ApplyInPlace(Volume<byte> labels, Volume<float> intensity, double[] classMeans, double carbonElectrolyteThreshold, double sigmaVoxels,
        SliceSpan exact, FibreHalfDepth.TubeCoreCache? cores = null)
    {
        if (labels.Depth != intensity.Depth || labels.Height != intensity.Height || labels.Width != intensity.Width)
            throw new ArgumentException("labels and intensity must have the same shape", nameof(intensity));
        if (classMeans.Length != 4)
            throw new ArgumentException("four class means (void, carbon, electrolyte, active material) are needed", nameof(classMeans));
        if (!(sigmaVoxels > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "σ must be positive");
        exact.CheckInside(labels.Depth, nameof(exact));
        var minimumResponse = (float)(CarbonFibreSurvey.MinimumTubeResponse * (classMeans[2] - classMeans[0]));
        if (cores is not null && (!ReferenceEquals(cores.Intensity, intensity) || cores.SigmaVoxels != sigmaVoxels || cores.MinimumResponse != minimumResponse))
            throw new ArgumentException("the tube-core cache was made for another intensity volume, σ or contrast", nameof(cores));
        if (labels.Length == 0 || exact.Length == 0 || !(classMeans[2] - classMeans[0] > 0)) return;
        if (labels.Length > int.MaxValue) throw new ArgumentException("a window of more than 2^31 voxels", nameof(labels));

        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var plane = height * width;
        var coreBox = FibreHalfDepth.NeighbourhoodVoxels(sigmaVoxels);
        var candidates = exact.Grow(GrowSteps, GrowSteps, depth);
        var workers = Math.Min(Environment.ProcessorCount, depth);
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers };

        // Face steps to the active material, up to the reach (L1 distance by repeated six-neighbour dilation); the
        // scratch is the dilation's other buffer.
        var steps = new byte[labels.Length];
        var scratch = new byte[labels.Length];
        var reached = candidates.Grow(ReachVoxels, ReachVoxels, depth);
        Parallel.For(reached.Start, reached.End, options, z =>
        {
            var source = labels.Slice(z);
            var target = steps.AsSpan(z * plane, plane);
            for (var i = 0; i < plane; i++) target[i] = source[i] == PhaseLabel.Nmc ? (byte)0 : Far;
        });
        for (var step = 1; step <= ReachVoxels; step++)
        {
            var (previous, current, before) = ((byte)(step - 1), (byte)step, steps);
            var next = scratch;
            var span = candidates.Grow(ReachVoxels - step, ReachVoxels - step, depth);
            Parallel.For(span.Start, span.End, options, z =>
            {
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var k = z * plane + y * width + x;
                        var value = before[k];
                        if (value == Far && ((x > 0 && before[k - 1] == previous) || (x + 1 < width && before[k + 1] == previous)
                            || (y > 0 && before[k - width] == previous) || (y + 1 < height && before[k + width] == previous)
                            || (z > 0 && before[k - plane] == previous) || (z + 1 < depth && before[k + plane] == previous)))
                            value = current;
                        next[k] = value;
                    }
            });
            (steps, scratch) = (next, steps);
        }

        // Candidates: carbon within the reach.
        var flags = new byte[labels.Length];
        var anyCandidate = 0;
        Parallel.For(candidates.Start, candidates.End, options, z =>
        {
            var source = labels.Slice(z);
            var count = 0;
            for (var i = 0; i < plane; i++)
                if (source[i] == PhaseLabel.Carbon && steps[z * plane + i] <= ReachVoxels) { flags[z * plane + i] = Candidate; count++; }
            if (count > 0) Interlocked.Increment(ref anyCandidate);
        });
        if (anyCandidate == 0) return;

        // The tube test at every voxel within a core's box of a candidate; one Hessian workspace per worker, slices dealt round-robin.
        var tested = candidates.Grow(coreBox, coreBox, depth);
        BoxAny(flags, Candidate, Selected, scratch, depth, height, width, coreBox, tested, options);
        Parallel.For(0, workers, options, w =>
        {
            var hessian = new HessianEigenvalues.AtSelectedPixels(height, width, sigmaVoxels);
            var (middle, smallest, selected) = (new float[plane], new float[plane], new byte[plane]);
            for (var z = tested.Start + w; z < tested.End; z += workers)
            {
                var slice = flags.AsSpan(z * plane, plane);
                var known = cores is null ? [] : cores.States.AsSpan(z * plane, plane);
                var any = false;
                for (var i = 0; i < plane; i++)
                {
                    var select = (slice[i] & Selected) != 0;
                    // A voxel the cache has tested takes its outcome from there.
                    if (select && cores is not null && known[i] != 0)
                    {
                        if (known[i] == FibreHalfDepth.TubeCoreCache.Core) slice[i] |= Core;
                        select = false;
                    }
                    selected[i] = select ? (byte)1 : (byte)0;
                    any |= select;
                }
                if (!any) continue;
                // A dark tube's λ1 ≥ λ2 > m and λ3 > −λ2/2 give a trace above 1.5·m: the eigenvalues are needed only there.
                hessian.Compute(intensity, z, selected, middle, smallest, minimumResponse, (2 - CarbonFibreSurvey.MaximumAxialShare) * minimumResponse);
                for (var i = 0; i < plane; i++)
                {
                    if (selected[i] == 0) continue;
                    var core = middle[i] > minimumResponse && Math.Abs(smallest[i]) < CarbonFibreSurvey.MaximumAxialShare * middle[i];
                    if (core) slice[i] |= Core;
                    if (cores is not null) known[i] = core ? FibreHalfDepth.TubeCoreCache.Core : FibreHalfDepth.TubeCoreCache.NotCore;
                }
            }
        });

        // A candidate with a core in its box is a fibre's: not a gap. The others below the threshold seed the gap.
        BoxAny(flags, Core, Selected, scratch, depth, height, width, coreBox, candidates, options, clearFirst: true);
        var wave = new List<int>();
        for (var z = candidates.Start; z < candidates.End; z++)
            for (var k = z * plane; k < (z + 1) * plane; k++)
            {
                if ((flags[k] & Candidate) == 0) continue;
                if ((flags[k] & Selected) != 0) { flags[k] &= unchecked((byte)~Candidate); continue; }
                if (intensity.Data[k] < carbonElectrolyteThreshold) { flags[k] |= Gap; wave.Add(k); }
            }
        for (var round = 0; round < GrowSteps && wave.Count > 0; round++)
        {
            var next = new List<int>();
            foreach (var k in wave)
            {
                var (z, y, x) = (k / plane, k / width % height, k % width);
                void Join(int j)
                {
                    if ((flags[j] & (Candidate | Gap)) != Candidate) return;
                    flags[j] |= Gap;
                    next.Add(j);
                }
                if (x > 0) Join(k - 1);
                if (x + 1 < width) Join(k + 1);
                if (y > 0) Join(k - width);
                if (y + 1 < height) Join(k + width);
                if (z > candidates.Start) Join(k - plane);
                if (z + 1 < candidates.End) Join(k + plane);
            }
            wave = next;
        }
        for (var k = exact.Start * plane; k < exact.End * plane; k++)
            if ((flags[k] & Gap) != 0) labels.Data[k] = PhaseLabel.Void;
    }

    /// <summary>
    /// Sets <paramref name="mark"/> on the voxels of <paramref name="span"/> with a voxel flagged <paramref name="source"/> in
    /// their box of half-width <paramref name="radius"/> (clipped at the volume's ends), separably along x, y and z.
    /// </summary>
    private static void BoxAny(byte[] flags, byte source, byte mark, byte[] scratch, int depth, int height, int width, int radius, SliceSpan span,
        ParallelOptions options, bool clearFirst = false)
    {
        var plane = height * width;
        var read = span.Grow(radius, radius, depth);
        // Along x then y into scratch (one bit), on the slices the z pass reads.
        Parallel.For(read.Start, read.End, options, () => new byte[plane], (z, _, alongX) =>
        {
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var hit = false;
                    for (var xx = Math.Max(0, x - radius); xx <= Math.Min(width - 1, x + radius) && !hit; xx++)
                        hit = (flags[z * plane + y * width + xx] & source) != 0;
                    alongX[y * width + x] = hit ? (byte)1 : (byte)0;
                }
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var hit = false;
                    for (var yy = Math.Max(0, y - radius); yy <= Math.Min(height - 1, y + radius) && !hit; yy++)
                        hit = alongX[yy * width + x] != 0;
                    scratch[z * plane + y * width + x] = hit ? (byte)1 : (byte)0;
                }
            return alongX;
        }, _ => { });
        Parallel.For(span.Start, span.End, options, z =>
        {
            for (var i = 0; i < plane; i++)
            {
                var hit = false;
                for (var zz = Math.Max(0, z - radius); zz <= Math.Min(depth - 1, z + radius) && !hit; zz++)
                    hit = scratch[zz * plane + i] != 0;
                var k = z * plane + i;
                if (clearFirst) flags[k] &= unchecked((byte)~mark);
                if (hit) flags[k] |= mark;
            }
        });
    }
}
