namespace SsbTomo.Imaging.Classification;

/// <summary>
/// The class fractions of unlabelled pixels estimated from a classifier's posteriors, by the expectation-maximisation
/// of Saerens, Latinne and Decaestecker (2002, "Adjusting the outputs of a classifier to new a priori probabilities:
/// a simple procedure", Neural Computation 14:21, DOI 10.1162/089976602753284446).
/// <para>
/// A classifier trained on strokes learns P(class | features) under the strokes' class fractions, and strokes are
/// drawn about evenly per phase whatever the phases' share of the image: a phase that fills 2 % of a slice gets as
/// many labelled pixels as one that fills 50 %. Where the features leave two phases ambiguous (noise, a thin fibre's
/// grey next to a pore's), the forest then calls the rare phase as often as the common one, and the rare phase's
/// false positives outnumber its true ones. By Bayes, a posterior under the training priors π_t becomes one under
/// other priors π by p'(c|x) ∝ p(c|x)·π_c/π_t,c; EM finds the π under which the mean adjusted posterior over the
/// unlabelled pixels is π itself (the maximum-likelihood priors of those pixels).
/// </para>
/// </summary>
public static class ClassPriorShift
{
    /// <summary>EM steps at most; the priors move by less than <see cref="Tolerance"/> well before on stroke-trained forests.</summary>
    public const int MaxIterations = 200;

    /// <summary>Largest change of any prior between two steps at which EM stops.</summary>
    public const double Tolerance = 1e-6;

    /// <summary>
    /// The class fractions of the pixels whose posteriors are <paramref name="probabilities"/> (pixel-major, k per
    /// pixel, each summing to 1, computed under <paramref name="trainingPriors"/>).
    /// </summary>
    /// <param name="probabilities">Posteriors under the training priors, k per pixel.</param>
    /// <param name="trainingPriors">The class fractions the classifier was trained with (summing to 1, none 0).</param>
    /// <returns>The estimated class fractions of those pixels (summing to 1).</returns>
    /// <example>
    /// A pixel with posteriors (0.5, 0.5) and one with (1, 0) under training priors (0.5, 0.5) converge to priors near
    /// (1, 0): the ambiguous pixel is explained by the class the unambiguous one shows.
    /// </example>
    public static double[] EstimatePriors(ReadOnlySpan<float> probabilities, IReadOnlyList<double> trainingPriors)
    {
        var k = trainingPriors.Count;
        if (k < 2) throw new ArgumentException("two or more classes", nameof(trainingPriors));
        if (trainingPriors.Any(p => !(p > 0))) throw new ArgumentException("every training prior must be positive", nameof(trainingPriors));
        if (probabilities.Length == 0 || probabilities.Length % k != 0)
            throw new ArgumentException($"{probabilities.Length} probabilities is not a positive multiple of {k} classes", nameof(probabilities));
        var n = probabilities.Length / k;
        var priors = trainingPriors.ToArray();
        var ratio = new double[k];
        var sums = new double[k];
        var adjusted = new double[k];
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            for (var c = 0; c < k; c++) ratio[c] = priors[c] / trainingPriors[c];
            Array.Clear(sums);
            for (var i = 0; i < n; i++)
            {
                var row = probabilities.Slice(i * k, k);
                double total = 0;
                for (var c = 0; c < k; c++) total += adjusted[c] = row[c] * ratio[c];
                if (total <= 0) continue;
                for (var c = 0; c < k; c++) sums[c] += adjusted[c] / total;
            }
            double change = 0, mass = sums.Sum();
            for (var c = 0; c < k; c++)
            {
                var next = sums[c] / mass;
                change = Math.Max(change, Math.Abs(next - priors[c]));
                priors[c] = next;
            }
            if (change < Tolerance) break;
        }
        return priors;
    }

    /// <summary>
    /// The weights π_c/π_t,c that turn posteriors under the training priors into posteriors under
    /// <paramref name="priors"/>, with a floor so that a class EM drove to 0 keeps a trace of its strokes' evidence.
    /// </summary>
    /// <param name="priors">The target class fractions.</param>
    /// <param name="trainingPriors">The training class fractions.</param>
    /// <param name="floor">The smallest prior any class keeps (share of the pixels).</param>
    public static double[] Weights(IReadOnlyList<double> priors, IReadOnlyList<double> trainingPriors, double floor = 1e-3)
    {
        if (priors.Count != trainingPriors.Count) throw new ArgumentException("one prior per class on both sides", nameof(priors));
        return priors.Select((p, c) => Math.Max(p, floor) / trainingPriors[c]).ToArray();
    }
}
