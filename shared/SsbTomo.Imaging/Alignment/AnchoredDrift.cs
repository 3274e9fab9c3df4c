namespace SsbTomo.Imaging.Alignment;

/// <summary>The refined drift and what went into it.</summary>
/// <param name="Drift">Per slice, raw slice k minus raw slice 0 (slice 0 is zero).</param>
/// <param name="Tracks">Particle tracks used as anchors.</param>
/// <param name="AnchoredSlices">Slices with at least one tracked section.</param>
/// <param name="StepSigmaPx">Scale (y, x) of the registered slice-to-slice steps about the refined ones.</param>
/// <param name="CentroidSigmaPx">Scale (y, x) of the section centroids about their particles' paths.</param>
/// <param name="SlideSigmaPxPerSlice">Spread (y, x) of the particles' own centroid slides: ~0 for spheres, large for irregular particles, whose tracks then anchor less.</param>
public sealed record AnchoredDriftResult(Shift2D[] Drift, int Tracks, int AnchoredSlices, Shift2D StepSigmaPx, Shift2D CentroidSigmaPx, Shift2D SlideSigmaPxPerSlice);

/// <summary>
/// Combines slice-to-slice registration with particle tracks into one drift estimate per slice.
/// <para>
/// Model, per axis: the registered steps s_k measure d_k − d_{k−1}; a section of particle p in slice k lies at
/// c_pk = C_p + V_p (k − k̄_p) + d_k, C_p being where the particle is and V_p how its section centroid slides while it
/// is sectioned (0 for a sphere, not for a tilted or irregular particle), a random effect of spread σ_V. The drift
/// minimises Σ_k w_k (d_k − d_{k−1} − s_k)² + Σ_p [Σ_k v_pk (c_pk − C_p − V_p (k − k̄_p) − d_k)² + V_p²/σ_V²] with
/// d_0 = 0, by iteratively reweighted least squares (Huber weights); v_pk is 1/σ_c² over the section's variance scale
/// per axis (<see cref="ParticleSection.VarianceScaleY"/>: 1 for a whole section, more along the axis of a short arc's
/// circle), so σ_c is a whole section's scatter. The step and centroid scales are Helmert
/// variance components (each group's weighted square sum over its redundancy); σ_V is the robust spread of the
/// tracks' slides about the drift fitted with the particles held still.
/// </para>
/// <para>
/// Why: registration is precise from one slice to the next, but its small errors are correlated along the stack
/// (structure that evolves moves apparently) and add up. A round particle's section centroid is absolute, so wherever
/// whole particles are in view the drift cannot wander, and between them the registered steps carry it. Where the
/// particles' centroids slide (irregular shapes), σ_V grows, each track says little about the drift's trend over its
/// span, and the registered steps keep it. Without tracks the registered drift is returned unchanged.
/// </para>
/// <para>
/// Each track's C_p and V_p are eliminated (Schur complement of a 2×2 block), which leaves a band matrix in d whose
/// half-width is the longest track: the solve costs slices × longest-track², milliseconds for thousands of slices.
/// </para>
/// </summary>
public static class AnchoredDrift
{
    private const double HuberK = 1.345;
    private const int HuberIterations = 3;
    private const double TrackRejectionSigmas = 4;
    private const double MinWeightFactor = 1e-4;
    private const double ScaleFloorPx = 0.01;
    private const double SlideFloorPxPerSlice = 1e-4;
    private const double StartSigmaPx = 0.1;
    private const double ConvergedPx = 1e-4;
    private const int MinSlideTrackLength = 4;
    private const int MinSlideTracks = 3;

    /// <param name="registeredDrift">Per slice, from registration; untrusted slices already interpolated (<see cref="Interpolate"/>).</param>
    /// <param name="trusted">
    /// Per slice, whether its registration was trusted (null: all). A step into or out of an untrusted slice that has
    /// no trusted slice on one side (a run at either end of the stack) measures nothing and gets next to no weight, so
    /// the tracks alone place those slices; between trusted slices the interpolated steps still add up to the measured
    /// drift across the run.
    /// </param>
    public static AnchoredDriftResult Refine(IReadOnlyList<Shift2D> registeredDrift, IReadOnlyList<ParticleTrack> tracks, int maxIterations = 60, IReadOnlyList<bool>? trusted = null)
    {
        ArgumentNullException.ThrowIfNull(registeredDrift);
        ArgumentNullException.ThrowIfNull(tracks);
        var n = registeredDrift.Count;
        if (trusted is not null && trusted.Count != n)
            throw new ArgumentException($"{trusted.Count} trust flags for {n} slices", nameof(trusted));
        var usable = tracks.Where(t => t.Length >= 2 && t.FirstSlice >= 0 && t.LastSlice < n).ToArray();
        if (n < 2 || usable.Length == 0)
            return new AnchoredDriftResult([.. registeredDrift], 0, 0, default, default, default);

        var stepPrior = StepPrior(trusted, n);
        // Only tracks of sections that place both coordinates at least as well as a half circle places its axis
        // coordinate tell how particles slide (how an irregular section's centroid moves). The centre of a circle fitted
        // to a shorter arc wanders along its axis as a different arc is seen, by more than its scale says, and read as a
        // slide it would free every particle to slide with it.
        var slideTracks = usable.Select(t => Statistics.Median(Scales(t, t.VarianceScaleY).Zip(Scales(t, t.VarianceScaleX), Math.Max)) <= ParticleSection.HalfCircleAxisScale).ToArray();
        // The axes are independent fits that only read the shared inputs: side by side, since the solve is the alignment's
        // one serial step between the measured chunks and the shifted ones (1.4-1.9 s at 1 Gvoxel).
        AxisFit? y = null, x = null;
        Parallel.Invoke(
            () => y = SolveAxis(registeredDrift.Select(d => d.Dy).ToArray(), [.. usable.Select(t => t.Y)], [.. usable.Select(t => Scales(t, t.VarianceScaleY))], slideTracks, usable, maxIterations, stepPrior),
            () => x = SolveAxis(registeredDrift.Select(d => d.Dx).ToArray(), [.. usable.Select(t => t.X)], [.. usable.Select(t => Scales(t, t.VarianceScaleX))], slideTracks, usable, maxIterations, stepPrior));
        var anchored = new bool[n];
        foreach (var t in usable)
            for (var k = t.FirstSlice; k <= t.LastSlice; k++) anchored[k] = true;
        var drift = new Shift2D[n];
        for (var k = 0; k < n; k++) drift[k] = new Shift2D(y!.Drift[k], x!.Drift[k]);
        return new AnchoredDriftResult(drift, usable.Length, anchored.Count(a => a),
            new Shift2D(y!.StepSigma, x!.StepSigma), new Shift2D(y.CentroidSigma, x.CentroidSigma), new Shift2D(y.SlideSigma, x.SlideSigma));
    }

    /// <summary>
    /// The registered drift with every untrusted slice replaced by linear interpolation between the nearest trusted
    /// slices (held at the nearest one beyond the last or before the first). All untrusted: unchanged.
    /// </summary>
    public static Shift2D[] Interpolate(IReadOnlyList<Shift2D> registeredDrift, IReadOnlyList<bool> trusted)
    {
        ArgumentNullException.ThrowIfNull(registeredDrift);
        ArgumentNullException.ThrowIfNull(trusted);
        if (trusted.Count != registeredDrift.Count)
            throw new ArgumentException($"{trusted.Count} trust flags for {registeredDrift.Count} slices", nameof(trusted));
        var drift = registeredDrift.ToArray();
        var known = Enumerable.Range(0, drift.Length).Where(k => trusted[k]).ToArray();
        if (known.Length == 0) return drift;
        for (var k = 0; k < drift.Length; k++)
        {
            if (trusted[k]) continue;
            var after = Array.FindIndex(known, i => i > k);
            if (after < 0) { drift[k] = registeredDrift[known[^1]]; continue; }
            if (after == 0) { drift[k] = registeredDrift[known[0]]; continue; }
            int a = known[after - 1], b = known[after];
            var t = (double)(k - a) / (b - a);
            drift[k] = new Shift2D(registeredDrift[a].Dy * (1 - t) + registeredDrift[b].Dy * t, registeredDrift[a].Dx * (1 - t) + registeredDrift[b].Dx * t);
        }
        return drift;
    }

    /// <summary>1 for a step between measured slices, <see cref="MinWeightFactor"/> for one that only holds an end run still.</summary>
    private static double[] StepPrior(IReadOnlyList<bool>? trusted, int n)
    {
        var prior = Enumerable.Repeat(1.0, n).ToArray();
        if (trusted is null) return prior;
        int first = -1, last = -1;
        for (var k = 0; k < n; k++)
            if (trusted[k]) { if (first < 0) first = k; last = k; }
        for (var k = 1; k < n; k++)
            if (first < 0 || k <= first || k > last) prior[k] = MinWeightFactor;
        return prior;
    }

    private sealed record AxisFit(double[] Drift, double StepSigma, double CentroidSigma, double SlideSigma);

    /// <summary>Per section of a track, its coordinate's variance over a whole section's (at least 1; 1 where not given).</summary>
    private static double[] Scales(ParticleTrack track, double[]? given) =>
        given is null || given.Length != track.Length
            ? Enumerable.Repeat(1.0, track.Length).ToArray()
            : [.. given.Select(v => double.IsFinite(v) ? Math.Max(1, v) : 1 / MinWeightFactor)];

    /// <param name="scales">Per track and section, the variance of its centre over a whole section's: the centroid scale σ_c is a whole section's.</param>
    /// <param name="slideTracks">Per track, whether its slide measures how particles slide.</param>
    private static AxisFit SolveAxis(double[] registered, double[][] centroids, double[][] scales, bool[] slideTracks, ParticleTrack[] tracks, int maxIterations, double[] stepPrior)
    {
        var n = registered.Length;
        var steps = new double[n];
        for (var k = 1; k < n; k++) steps[k] = registered[k] - registered[k - 1];
        var bandwidth = Math.Max(1, tracks.Max(t => t.Length) - 1);
        var centroidCount = tracks.Sum(t => t.Length);

        var drift = (double[])registered.Clone();
        double stepSigma = StartSigmaPx, centroidSigma = StartSigmaPx, slideSigma = SlideFloorPxPerSlice;
        // The tracks' measured slide spread, kept even when the slides are judged too small to matter (σ_V then stays at
        // its floor): a track is dropped for its slide only when the slide is far beyond the others' (SlideScale), and
        // against the floor every track whose centroids move by a few thousandths of a pixel per slice would be, one
        // after another as σ_c shrinks with each drop (family member 122 at 25 nm: 4 of 8 tracks dropped, drift 1.38 px).
        var slideSpread = SlideFloorPxPerSlice;
        // First the particles are held still (V = 0) until the fit settles; only then are their slides measured
        // against that drift and let free. Measured against the registered drift instead, the registration's own
        // slow bias would look like every particle sliding, and the tracks would never get the weight to remove it.
        var slidesFree = false;
        var freedAt = 0;
        var stepRobust = Enumerable.Repeat(1.0, n).ToArray();
        var centroidRobust = tracks.Select(t => Enumerable.Repeat(1.0, t.Length).ToArray()).ToArray();
        var rejected = new bool[tracks.Length];
        var stepWeights = new double[n];
        var centroidWeights = tracks.Select(t => new double[t.Length]).ToArray();
        // A slide's scale for dropping its track: the others' spread, and at least what the registration's own error
        // moves over the track's span (σ_step·√L over L slices): a slide smaller than that is no sign of a mislinked or
        // shape-changing particle, only of an arc's centre or an off-round particle moving by tenths of a pixel.
        double SlideScale(int p)
        {
            var scale = Math.Max(slideSpread, stepSigma / Math.Sqrt(tracks[p].Length));
            return scale * scale;
        }
        int[] MeasurableSlides() => [.. Enumerable.Range(0, tracks.Length).Where(p => !rejected[p] && slideTracks[p] && tracks[p].Length >= MinSlideTrackLength)];
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            for (var k = 1; k < n; k++) stepWeights[k] = stepPrior[k] * stepRobust[k] / (stepSigma * stepSigma);
            for (var p = 0; p < tracks.Length; p++)
                for (var a = 0; a < tracks[p].Length; a++) centroidWeights[p][a] = centroidRobust[p][a] / (centroidSigma * centroidSigma * scales[p][a]);
            var fits = tracks.Select((t, p) => TrackFit.Of(t, centroidWeights[p], slideSigma)).ToArray();
            var (next, normal) = Solve(steps, centroids, fits, stepWeights, bandwidth);
            var change = next.Zip(drift, (a, b) => Math.Abs(a - b)).Max();
            drift = next;

            var stepResiduals = new double[n];
            for (var k = 1; k < n; k++) stepResiduals[k] = drift[k] - drift[k - 1] - steps[k];
            // Centroid residuals in units of a whole section's: each over the square root of its variance scale.
            var centroidResiduals = new double[tracks.Length][];
            var slides = new (double Slide, double Variance)[tracks.Length];
            for (var p = 0; p < tracks.Length; p++)
            {
                centroidResiduals[p] = fits[p].Residuals(centroids[p], drift);
                for (var a = 0; a < tracks[p].Length; a++) centroidResiduals[p][a] /= Math.Sqrt(scales[p][a]);
                slides[p] = fits[p].UnshrunkSlide(centroids[p], drift);
                // A track whose sections scatter about its line more than the sections' common scale says knows its slide
                // that much less well (the Birge ratio): the wandering centres of short arcs otherwise read as slides.
                slides[p] = slides[p] with { Variance = slides[p].Variance * Math.Max(1, BirgeRatioSquared(centroidResiduals[p], centroidSigma)) };
            }

            // Variance components (Helmert): each group's weighted square sum over its redundancy, the part of its
            // observations not absorbed by the unknowns. A plain residual scale would let the steps, which each
            // have their own unknown, fit ever more exactly and take over. The slides' effective parameters
            // (ridge degrees of freedom) come out of the centroids' redundancy.
            var stepRedundancy = StepRedundancy(normal.InverseWithinBand(), stepWeights, stepPrior);
            var centroidRedundancy = centroidCount - tracks.Length - fits.Sum(f => f.SlideDegreesOfFreedom) - stepRedundancy;
            stepSigma = Math.Max(ScaleFloorPx, Math.Sqrt(WeightedSquares(stepResiduals, stepRobust.Zip(stepPrior, (r, p) => r * p).ToArray()) / Math.Max(1, stepRedundancy)));
            centroidSigma = Math.Max(ScaleFloorPx, Math.Sqrt(centroidResiduals.Select((r, p) => WeightedSquares(r, centroidRobust[p])).Sum() / Math.Max(1, centroidRedundancy)));

            for (var k = 1; k < n; k++) stepRobust[k] = Huber(stepResiduals[k], stepSigma);
            for (var p = 0; p < tracks.Length; p++)
            {
                // A track whose typical residual, or whose slide, is far beyond the others' follows no particle (a
                // mislinked section, a blob that changes shape): it is dropped. Single wild sections are left to Huber.
                if (iteration >= HuberIterations && (Statistics.Median(centroidResiduals[p].Select(Math.Abs)) > TrackRejectionSigmas * centroidSigma
                    || slidesFree && Math.Abs(slides[p].Slide) > TrackRejectionSigmas * Math.Sqrt(SlideScale(p) + slides[p].Variance)))
                    rejected[p] = true;
                for (var a = 0; a < tracks[p].Length; a++)
                    centroidRobust[p][a] = rejected[p] ? MinWeightFactor : Huber(centroidResiduals[p][a], centroidSigma);
            }
            if (slidesFree && slideSigma > SlideFloorPxPerSlice)
            {
                // Once slides are known to matter they are re-measured as the drift lets go of them: against the
                // still-particle drift, which followed them, they look smaller than they are.
                slideSigma = Math.Max(slideSigma, SlideSpread(MeasurableSlides().Select(p => slides[p]).ToArray(), slideSigma));
                slideSpread = Math.Max(slideSpread, slideSigma);
            }
            if (change < ConvergedPx && iteration > HuberIterations)
            {
                if (slidesFree && iteration > freedAt + 1) break;
                if (!slidesFree)
                {
                    // Measured first against the drift of the still particles: measured against the registered drift,
                    // the registration's own slow bias would look like every particle sliding.
                    var measurable = MeasurableSlides();
                    var spread = SlideSpread(measurable.Select(p => slides[p]).ToArray(), slideSigma);
                    // Slides matter only when they move a particle over its track by more than the registration
                    // would drift in the same slices (σ_V·L against σ_step·√L); smaller ones are noise better
                    // averaged out by holding the particles still.
                    var typicalLength = measurable.Length == 0 ? 0 : Statistics.Median(measurable.Select(p => (double)tracks[p].Length));
                    if (spread * typicalLength > stepSigma * Math.Sqrt(typicalLength)) slideSigma = spread;
                    slideSpread = spread;
                    (slidesFree, freedAt) = (true, iteration);
                }
            }
        }
        return new AxisFit(drift, stepSigma, centroidSigma, slideSigma);
    }

    /// <summary>The slides' median, each weighted by its precision (1 / variance); slides of no or infinite precision do not count.</summary>
    private static double WeightedMedian((double Slide, double Variance)[] slides)
    {
        var counted = slides.Where(s => s.Variance > 0 && double.IsFinite(s.Variance)).ToArray();
        if (counted.Length == 0) return 0;
        var values = counted.Select(s => s.Slide).ToArray();
        var precisions = counted.Select(s => 1 / s.Variance).ToArray();
        var order = Enumerable.Range(0, counted.Length).OrderBy(k => values[k]).ToArray();
        return Statistics.WeightedMedian(values, precisions, order, precisions.Sum());
    }

    /// <summary>A track's mean square residual (in whole-section units) over its two fitted parameters' redundancy, against σ_c².</summary>
    private static double BirgeRatioSquared(double[] residuals, double centroidSigma)
    {
        if (residuals.Length <= 2) return 1;
        double squares = 0;
        foreach (var r in residuals) squares += r * r;
        return squares / (residuals.Length - 2) / (centroidSigma * centroidSigma);
    }

    /// <summary>
    /// σ_V from the tracks' own slides (least squares, not shrunk), robustly and with each slide's own precision:
    /// V̂_p ~ N(0, σ_V² + var_p), so σ_V is where the median of V̂_p² / (σ_V² + var_p) equals that of χ²₁ (0.455).
    /// A short track's slide is mostly noise and counts as such; one sliding track does not free every other.
    /// </summary>
    private static double SlideSpread((double Slide, double Variance)[] slides, double current)
    {
        if (slides.Length < MinSlideTracks) return current;
        // About the slides' precision-weighted median, not about zero: a slide shared by every particle is not how the
        // particles differ but where the drift and the tracks still disagree (the registration's slow bias once the drift
        // lets go of the tracks), and counted as spread it freed every particle further, round after round.
        var centre = WeightedMedian(slides);
        double MedianRatio(double sigma) => Statistics.Median(slides.Select(s => (s.Slide - centre) * (s.Slide - centre) / (sigma * sigma + s.Variance)));
        const double chiSquareMedian = 0.4549;
        double low = SlideFloorPxPerSlice, high = 10;
        if (MedianRatio(low) <= chiSquareMedian) return low;
        for (var i = 0; i < 60; i++)
        {
            var middle = Math.Sqrt(low * high);
            if (MedianRatio(middle) > chiSquareMedian) low = middle; else high = middle;
        }
        return Math.Sqrt(low * high);
    }

    /// <summary>
    /// One track's nuisance parameters θ = (C, V) given the drift: with G = [1, k − k̄] and weights W, the information
    /// S = GᵀWG + diag(0, 1/σ_V²); θ = S⁻¹GᵀW(c − d), and the track adds M = W − WG S⁻¹ GᵀW to the normal matrix in d.
    /// </summary>
    private sealed class TrackFit
    {
        private TrackFit(ParticleTrack track, double[] weights, double centre, double i00, double i01, double i11, double slidePrecision)
        {
            (Track, Weights, _centre, _i00, _i01, _i11) = (track, weights, centre, i00, i01, i11);
            SlideDegreesOfFreedom = Math.Clamp(1 - slidePrecision * i11, 0, 1);
        }

        private readonly double _centre, _i00, _i01, _i11; // S⁻¹ = [[i00, i01], [i01, i11]]

        public ParticleTrack Track { get; }
        public double[] Weights { get; }
        public double SlideDegreesOfFreedom { get; }

        public static TrackFit Of(ParticleTrack track, double[] weights, double slideSigma)
        {
            double sw = 0, swt = 0;
            for (var a = 0; a < weights.Length; a++) { sw += weights[a]; swt += weights[a] * a; }
            var centre = swt / sw; // the weighted centre decouples C and V
            double swtt = 0;
            for (var a = 0; a < weights.Length; a++) swtt += weights[a] * (a - centre) * (a - centre);
            var slidePrecision = 1 / (slideSigma * slideSigma);
            return new TrackFit(track, weights, centre, 1 / sw, 0, 1 / (swtt + slidePrecision), slidePrecision);
        }

        public double T(int a) => a - _centre;

        /// <summary>g_aᵀ S⁻¹ g_b with g = (1, t).</summary>
        public double Coupling(int a, int b) => _i00 + _i01 * (T(a) + T(b)) + _i11 * T(a) * T(b);

        /// <summary>The track's slide fitted without the prior, and its sampling variance.</summary>
        public (double Slide, double Variance) UnshrunkSlide(double[] c, double[] drift)
        {
            double num = 0, den = 0;
            for (var a = 0; a < c.Length; a++)
            {
                num += Weights[a] * T(a) * (c[a] - drift[Track.FirstSlice + a]);
                den += Weights[a] * T(a) * T(a);
            }
            return den > 0 ? (num / den, 1 / den) : (0, double.PositiveInfinity);
        }

        public double[] Residuals(double[] c, double[] drift)
        {
            double g0 = 0, g1 = 0;
            for (var a = 0; a < c.Length; a++)
            {
                var e = Weights[a] * (c[a] - drift[Track.FirstSlice + a]);
                g0 += e; g1 += e * T(a);
            }
            double position = _i00 * g0 + _i01 * g1, slide = _i01 * g0 + _i11 * g1;
            var residuals = new double[c.Length];
            for (var a = 0; a < c.Length; a++) residuals[a] = c[a] - drift[Track.FirstSlice + a] - position - slide * T(a);
            return residuals;
        }
    }

    /// <summary>Normal equations in d_1..d_{n−1} with each track's position and slide eliminated, solved by band Cholesky.</summary>
    private static (double[] Drift, BandMatrix Normal) Solve(double[] steps, double[][] centroids, TrackFit[] fits, double[] stepWeights, int bandwidth)
    {
        var n = steps.Length;
        var matrix = new BandMatrix(n - 1, bandwidth);
        var rhs = new double[n - 1];
        for (var k = 1; k < n; k++) // w (d_k − d_{k−1} − s_k)², unknown d_k is row k − 1
        {
            var w = stepWeights[k];
            matrix.Add(k - 1, k - 1, w);
            rhs[k - 1] += w * steps[k];
            if (k < 2) continue;
            matrix.Add(k - 2, k - 2, w);
            matrix.Add(k - 1, k - 2, -w);
            rhs[k - 2] -= w * steps[k];
        }
        for (var p = 0; p < fits.Length; p++) // (c − d)ᵀ M (c − d): M on the track's slices, M c on the right
        {
            var (fit, c) = (fits[p], centroids[p]);
            var (first, v) = (fit.Track.FirstSlice, fit.Weights);
            for (var a = 0; a < c.Length; a++)
            {
                var row = first + a - 1;
                if (row < 0) continue; // d_0 = 0 is fixed
                double mc = v[a] * c[a];
                for (var b = 0; b < c.Length; b++)
                {
                    var m = -v[a] * v[b] * fit.Coupling(a, b);
                    mc += m * c[b];
                    if (b < a && first + b >= 1) matrix.Add(row, first + b - 1, m);
                    if (b == a) matrix.Add(row, row, v[a] + m);
                }
                rhs[row] += mc;
            }
        }
        var solution = matrix.Solve(rhs);
        var drift = new double[n];
        solution.CopyTo(drift, 1);
        return (drift, matrix);
    }

    /// <summary>Σ over the steps of (1 − leverage): step k's design row is e_k − e_{k−1} in the unknowns d_1..d_{n−1}.</summary>
    private static double StepRedundancy(BandMatrix inverse, double[] stepWeights, double[] stepPrior)
    {
        double redundancy = 0;
        for (var k = 1; k < stepWeights.Length; k++)
        {
            if (stepPrior[k] < 1) continue; // not a measurement
            var variance = inverse[k - 1, k - 1];
            if (k >= 2) variance += inverse[k - 2, k - 2] - 2 * inverse[k - 1, k - 2];
            redundancy += 1 - stepWeights[k] * variance;
        }
        return redundancy;
    }

    private static double WeightedSquares(double[] residuals, double[] weights)
    {
        double sum = 0;
        for (var i = 0; i < residuals.Length; i++) sum += weights[i] * residuals[i] * residuals[i];
        return sum;
    }

    /// <summary>Huber's weight factor: 1 inside k·σ, falling as 1/|r| beyond.</summary>
    private static double Huber(double residual, double sigma)
    {
        var u = Math.Abs(residual) / sigma;
        return u <= HuberK ? 1 : HuberK / u;
    }

}

/// <summary>
/// The drift of a stack fed one slice at a time: each slice's registrations against the slices before it
/// (<see cref="PairwiseRegistration"/>) are chained (<see cref="DriftChain"/>) and its whole particle sections are found
/// (<see cref="ParticleSections"/>); at the end the sections are linked into tracks and the drift is anchored on them
/// (<see cref="AnchoredDrift"/>). Holds a few numbers per slice, never the slices. Fed with measurements instead of
/// slices (<see cref="Add(SliceRegistration, IReadOnlyList{ParticleSection})"/>) it is the global solve of a stack
/// measured in chunks.
/// </summary>
public sealed class AnchoredDriftEstimator(PairwiseRegistration? registration = null, ParticleDetectionOptions? detection = null)
{
    private readonly PairwiseRegistration _registration = registration ?? new PairwiseRegistration();
    private readonly DriftChain _chain = new();
    private readonly List<IReadOnlyList<ParticleSection>> _sections = [];

    /// <summary>
    /// Adds the next slice: <paramref name="raw"/> is registered (band-passed on its own), particles are found in
    /// <paramref name="corrected"/> (background flattened, curtains removed), which thresholds better.
    /// </summary>
    public void Add(Image2D<float> raw, Image2D<float> corrected)
    {
        ArgumentNullException.ThrowIfNull(corrected);
        _chain.Add(_registration.Add(raw));
        _sections.Add(_chain.Trusted[^1] ? ParticleSections.Detect(corrected, detection ?? ParticleDetectionOptions.ForDrift) : []);
    }

    /// <summary>Adds the next slice's measurements: its registrations and the particle sections found in its corrected image.</summary>
    /// <remarks>
    /// An untrusted slice (<see cref="Trusted"/>) adds no sections: on a noise frame they would be noise, and a track of
    /// them would pull the drift.
    /// </remarks>
    public void Add(SliceRegistration registration, IReadOnlyList<ParticleSection> sections)
    {
        ArgumentNullException.ThrowIfNull(sections);
        _chain.Add(registration);
        _sections.Add(_chain.Trusted[^1] ? sections : []);
    }

    /// <summary>The registered drift alone (for diagnostics; untrusted slices hold the last trusted drift).</summary>
    public IReadOnlyList<Shift2D> Registered => _chain.Drift;

    /// <summary>Per slice, whether its registration was trusted.</summary>
    public IReadOnlyList<bool> Trusted => _chain.Trusted;

    /// <summary>Per slice, the peak-to-rival ratio that decided its trust (<see cref="DriftChain.PeakRatios"/>).</summary>
    public IReadOnlyList<double> PeakRatios => _chain.PeakRatios;

    public AnchoredDriftResult Finish()
    {
        var registered = AnchoredDrift.Interpolate(_chain.Drift, _chain.Trusted);
        return AnchoredDrift.Refine(registered, ParticleTracks.Link(_sections, registered), trusted: _chain.Trusted);
    }
}
