namespace SsbTomo.Imaging.Alignment;

/// <summary>The refined drift and what went into it.</summary>
/// <param name="Drift">Per slice, raw slice k minus raw slice 0 (slice 0 is zero).</param>
/// <param name="Tracks">Particle tracks used as anchors.</param>
/// <param name="AnchoredSlices">Slices with at least one tracked section.</param>
/// <param name="StepSigmaPx">Robust scale (y, x) of the registered slice-to-slice steps about the refined ones.</param>
/// <param name="CentroidSigmaPx">Robust scale (y, x) of the section centroids about their particles.</param>
public sealed record AnchoredDriftResult(Shift2D[] Drift, int Tracks, int AnchoredSlices, Shift2D StepSigmaPx, Shift2D CentroidSigmaPx);

/// <summary>
/// Combines slice-to-slice registration with particle tracks into one drift estimate per slice.
/// <para>
/// Model, per axis: the registered steps s_k measure d_k − d_{k−1}; a section of particle p in slice k lies at
/// c_pk = C_p + d_k, C_p being where the particle is (unknown). The drift minimises
/// Σ_k w_k (d_k − d_{k−1} − s_k)² + Σ_p Σ_k v_pk (c_pk − C_p − d_k)² with d_0 = 0, by iteratively reweighted least
/// squares (Huber weights; the two noise scales estimated as variance components). Why: registration is precise from one slice
/// to the next but its small errors are correlated along the stack (structure that evolves moves apparently) and add
/// up; a particle's section centroid is absolute, so wherever whole particles are in view the drift cannot wander,
/// and between them the registered steps carry it. Without tracks the registered drift is returned unchanged.
/// </para>
/// <para>
/// The particles C_p are eliminated (Schur complement), which leaves a band matrix in d whose half-width is the
/// longest track: the solve costs slices × longest-track², a few milliseconds for a few thousand slices.
/// </para>
/// </summary>
public static class AnchoredDrift
{
    private const double HuberK = 1.345;
    private const int HuberIterations = 3;
    private const double TrackRejectionSigmas = 4;
    private const double MinWeightFactor = 1e-4;
    private const double ScaleFloorPx = 0.01;
    private const double StartSigmaPx = 0.1;
    private const double ConvergedPx = 1e-4;

    public static AnchoredDriftResult Refine(IReadOnlyList<Shift2D> registeredDrift, IReadOnlyList<ParticleTrack> tracks, int maxIterations = 20)
    {
        ArgumentNullException.ThrowIfNull(registeredDrift);
        ArgumentNullException.ThrowIfNull(tracks);
        var n = registeredDrift.Count;
        var usable = tracks.Where(t => t.Length >= 2 && t.FirstSlice >= 0 && t.LastSlice < n).ToArray();
        if (n < 2 || usable.Length == 0)
            return new AnchoredDriftResult([.. registeredDrift], 0, 0, default, default);

        var (dy, stepY, centroidY) = SolveAxis(registeredDrift.Select(d => d.Dy).ToArray(), usable, t => t.Y, maxIterations);
        var (dx, stepX, centroidX) = SolveAxis(registeredDrift.Select(d => d.Dx).ToArray(), usable, t => t.X, maxIterations);
        var anchored = new bool[n];
        foreach (var t in usable)
            for (var k = t.FirstSlice; k <= t.LastSlice; k++) anchored[k] = true;
        var drift = new Shift2D[n];
        for (var k = 0; k < n; k++) drift[k] = new Shift2D(dy[k], dx[k]);
        return new AnchoredDriftResult(drift, usable.Length, anchored.Count(a => a), new Shift2D(stepY, stepX), new Shift2D(centroidY, centroidX));
    }

    private static (double[] Drift, double StepSigma, double CentroidSigma) SolveAxis(
        double[] registered, ParticleTrack[] tracks, Func<ParticleTrack, double[]> coordinate, int maxIterations)
    {
        var n = registered.Length;
        var steps = new double[n];
        for (var k = 1; k < n; k++) steps[k] = registered[k] - registered[k - 1];
        var stepWeights = Enumerable.Repeat(1 / (StartSigmaPx * StartSigmaPx), n).ToArray();
        var centroidWeights = tracks.Select(t => Enumerable.Repeat(1 / (StartSigmaPx * StartSigmaPx), t.Length).ToArray()).ToArray();
        var bandwidth = Math.Max(1, tracks.Max(t => t.Length) - 1);

        var drift = (double[])registered.Clone();
        double stepSigma = StartSigmaPx, centroidSigma = StartSigmaPx;
        var stepHuber = Enumerable.Repeat(1.0, n).ToArray();
        var centroidHuber = tracks.Select(t => Enumerable.Repeat(1.0, t.Length).ToArray()).ToArray();
        var centroidCount = tracks.Sum(t => t.Length);
        var rejected = new bool[tracks.Length];
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            for (var k = 1; k < n; k++) stepWeights[k] = stepHuber[k] / (stepSigma * stepSigma);
            for (var p = 0; p < tracks.Length; p++)
                for (var a = 0; a < tracks[p].Length; a++) centroidWeights[p][a] = centroidHuber[p][a] / (centroidSigma * centroidSigma);
            var (next, normal) = Solve(steps, tracks, coordinate, stepWeights, centroidWeights, bandwidth);
            var change = next.Zip(drift, (a, b) => Math.Abs(a - b)).Max();
            drift = next;

            var stepResiduals = new double[n];
            for (var k = 1; k < n; k++) stepResiduals[k] = drift[k] - drift[k - 1] - steps[k];
            var centroidResiduals = tracks.Select((t, p) => CentroidResiduals(t, coordinate(t), drift, centroidWeights[p])).ToArray();

            // Variance components (Helmert): each group's weighted square sum over its redundancy, the part of its
            // observations not absorbed by the unknowns. A plain residual scale would let the steps, which each
            // have their own unknown, fit ever more exactly and take over.
            var stepRedundancy = StepRedundancy(normal.InverseWithinBand(), stepWeights);
            var centroidRedundancy = centroidCount - (n - 1 + tracks.Length - (n - 1 - stepRedundancy));
            stepSigma = Math.Max(ScaleFloorPx, Math.Sqrt(WeightedSquares(stepResiduals, stepHuber) / Math.Max(1, stepRedundancy)));
            centroidSigma = Math.Max(ScaleFloorPx, Math.Sqrt(centroidResiduals.Select((r, p) => WeightedSquares(r, centroidHuber[p])).Sum() / Math.Max(1, centroidRedundancy)));
            for (var k = 1; k < n; k++) stepHuber[k] = Huber(stepResiduals[k], stepSigma);
            for (var p = 0; p < tracks.Length; p++)
            {
                // A track whose typical residual is far beyond the scatter of the others follows no particle (a section
                // that slides, a mislink): it is dropped. Single wild sections are left to the Huber weights.
                if (iteration >= HuberIterations && Median(centroidResiduals[p].Select(Math.Abs)) > TrackRejectionSigmas * centroidSigma)
                    rejected[p] = true;
                for (var a = 0; a < tracks[p].Length; a++)
                    centroidHuber[p][a] = rejected[p] ? MinWeightFactor : Huber(centroidResiduals[p][a], centroidSigma);
            }
            if (change < ConvergedPx && iteration > HuberIterations) break;
        }
        return (drift, stepSigma, centroidSigma);
    }

    /// <summary>Σ over the steps of (1 − leverage): step k's design row is e_k − e_{k−1} in the unknowns d_1..d_{n−1}.</summary>
    private static double StepRedundancy(BandMatrix inverse, double[] stepWeights)
    {
        double redundancy = 0;
        for (var k = 1; k < stepWeights.Length; k++)
        {
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

    /// <summary>Normal equations in d_1..d_{n−1} with each particle position eliminated, solved by band Cholesky.</summary>
    private static (double[] Drift, BandMatrix Normal) Solve(double[] steps, ParticleTrack[] tracks, Func<ParticleTrack, double[]> coordinate,
        double[] stepWeights, double[][] centroidWeights, int bandwidth)
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
        for (var p = 0; p < tracks.Length; p++) // Σ v (c − C − d)² minimised over C: (diag v − v vᵀ/V) on the track's slices
        {
            var (track, c, v) = (tracks[p], coordinate(tracks[p]), centroidWeights[p]);
            double total = v.Sum(), mean = 0;
            for (var a = 0; a < c.Length; a++) mean += v[a] * c[a];
            mean /= total;
            for (var a = 0; a < c.Length; a++)
            {
                var row = track.FirstSlice + a - 1;
                if (row < 0) continue; // d_0 = 0 is fixed
                rhs[row] += v[a] * (c[a] - mean);
                matrix.Add(row, row, v[a] - v[a] * v[a] / total);
                for (var b = 0; b < a; b++)
                    if (track.FirstSlice + b >= 1) matrix.Add(row, track.FirstSlice + b - 1, -v[a] * v[b] / total);
            }
        }
        var solution = matrix.Solve(rhs);
        var drift = new double[n];
        solution.CopyTo(drift, 1);
        return (drift, matrix);
    }

    private static double[] CentroidResiduals(ParticleTrack track, double[] c, double[] drift, double[] weights)
    {
        double total = weights.Sum(), position = 0;
        for (var a = 0; a < c.Length; a++) position += weights[a] * (c[a] - drift[track.FirstSlice + a]);
        position /= total;
        var residuals = new double[c.Length];
        for (var a = 0; a < c.Length; a++) residuals[a] = c[a] - position - drift[track.FirstSlice + a];
        return residuals;
    }

    /// <summary>Huber's weight factor: 1 inside k·σ, falling as 1/|r| beyond.</summary>
    private static double Huber(double residual, double sigma)
    {
        var u = Math.Abs(residual) / sigma;
        return u <= HuberK ? 1 : HuberK / u;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var m = sorted.Length;
        return m % 2 == 1 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
    }
}

/// <summary>
/// The drift of a stack fed one slice at a time: each slice is registered to the previous ones
/// (<see cref="DriftEstimator"/>) and its whole particle sections are found (<see cref="ParticleSections"/>); at the
/// end the sections are linked into tracks and the drift is anchored on them (<see cref="AnchoredDrift"/>). Holds a
/// few numbers per slice, never the slices.
/// </summary>
public sealed class AnchoredDriftEstimator(DriftEstimator? registration = null, ParticleDetectionOptions? detection = null)
{
    private readonly DriftEstimator _registration = registration ?? new DriftEstimator();
    private readonly List<Shift2D> _registered = [];
    private readonly List<IReadOnlyList<ParticleSection>> _sections = [];

    /// <summary>
    /// Adds the next slice: <paramref name="raw"/> is registered (the estimator band-passes on its own), particles are
    /// found in <paramref name="corrected"/> (background flattened, curtains removed), which thresholds better.
    /// </summary>
    public void Add(Image2D<float> raw, Image2D<float> corrected)
    {
        ArgumentNullException.ThrowIfNull(corrected);
        _registered.Add(_registration.Add(raw));
        _sections.Add(ParticleSections.Detect(corrected, detection));
    }

    /// <summary>The registered drift alone (for diagnostics).</summary>
    public IReadOnlyList<Shift2D> Registered => _registered;

    public AnchoredDriftResult Finish() => AnchoredDrift.Refine(_registered, ParticleTracks.Link(_sections, _registered));
}
