namespace SsbTomo.Imaging.Classification;

public sealed partial class RandomForest
{
    /// <summary>
    /// The chance a pixel's class may differ from the whole forest's when <see cref="Predict(float[][], int, double)"/>
    /// stops its vote early (0: never; every pixel then gets the whole forest's argmax).
    /// </summary>
    public const double DefaultVoteStopRisk = 0.01;

    private readonly Dictionary<double, VoteStop> _voteStops = [];

    /// <summary>
    /// The chance that the leader, with <paramref name="votes"/> of <paramref name="walked"/> trees, ends at or below its
    /// lumped rival after all <paramref name="trees"/> (<see cref="VoteStop"/>; its votes weigh <paramref name="scale"/>).
    /// </summary>
    public static double VoteLossChance(int trees, int walked, int votes, double scale) => VoteStop.LossChance(trees, walked, votes, scale);

    /// <summary>
    /// The chance that the leader loses as <see cref="VoteLossChance"/> computes it, under this forest's fitted prior
    /// (<see cref="WithVotePrior"/>) for class <paramref name="leader"/>; NaN when the forest has none.
    /// </summary>
    internal double VoteLossChanceUnderPrior(int leader, int walked, int votes, double scale) =>
        _votePrior?.LossChance(leader, walked, votes, scale) ?? double.NaN;

    /// <summary>Whether <see cref="Predict(float[][], int, double)"/> stops the vote under a prior fitted on training images (<see cref="WithVotePrior"/>) rather than the uniform one.</summary>
    public bool HasVotePrior => _votePrior is not null;

    /// <summary>Tests: each class's prior over its final votes (<see cref="VotePrior"/>), [class][votes 0..trees]; null without one.</summary>
    internal double[][]? VotePriorWeights => _votePrior?.Weights;

    /// <summary>
    /// The same forest, whose stopped vote (<see cref="Predict(float[][], int, double)"/>) takes its prior from the
    /// forest's own votes on <paramref name="pixelCount"/> pixels given as feature planes (<see cref="VotePrior"/>). Fit
    /// it once, at training, on pixels like those the forest will classify (every pixel of the training images, or an
    /// even stride over them; not the labelled strokes alone, whose easy interiors would make the prior over-confident):
    /// a prior fitted per prediction call would make a pixel's class depend on the pixels that share its call.
    /// </summary>
    public RandomForest WithVotePrior(float[][] planes, int pixelCount)
    {
        var sums = new float[(long)pixelCount * ClassCount];
        PredictInto(planes, pixelCount, null, sums, null, normalise: false);
        return new RandomForest(ClassCount, FeatureCount, _nodes, _roots, _leafFrequencies, VotePrior.Fit(sums, pixelCount, ClassScales(), _roots.Length));
    }

    /// <summary>Tests: the same forest with a given prior over each class's final votes, [class][votes 0..trees], each row summing to 1.</summary>
    internal RandomForest WithVotePriorWeights(double[][] weights) =>
        new(ClassCount, FeatureCount, _nodes, _roots, _leafFrequencies, new VotePrior(weights));

    private VoteStop VoteStopFor(double risk)
    {
        lock (_voteStops)
        {
            if (!_voteStops.TryGetValue(risk, out var stop)) _voteStops[risk] = stop = VoteStop.Build(_roots.Length, ClassScales(), risk, _votePrior);
            return stop;
        }
    }

    /// <summary>
    /// Each class's largest leaf frequency: 1 for every class a pure leaf predicts, its weight's scale in a
    /// <see cref="WithClassWeights"/> forest (leaves are scaled so that the largest weight is 1).
    /// </summary>
    private float[] ClassScales()
    {
        var scales = new float[ClassCount];
        for (var i = 0; i < _leafFrequencies.Length; i++)
            scales[i % ClassCount] = Math.Max(scales[i % ClassCount], _leafFrequencies[i]);
        return scales;
    }

    /// <summary>
    /// Statistical instance-based pruning of the vote (Hernández-Lobato, Martínez-Muñoz &amp; Suárez 2009, "Statistical
    /// instance-based pruning in ensembles of independent classifiers", IEEE TPAMI 31(2):364-369,
    /// doi:10.1109/TPAMI.2008.204). Given the training set, a random forest's trees are independent draws, so for one
    /// pixel each tree votes for the leading class with some unknown probability p. After t trees of which n voted for
    /// the leader, p has the posterior Beta(n + 1, t − n + 1) (a uniform prior) and the leader's votes among the m trees
    /// still to come are beta-binomial. The vote stops when the chance that the leader ends at or below the rest of
    /// the forest is under the risk, counting every vote not for the leader as a vote for one single rival
    /// (a bound: the rival that matters gets at most those) and each of the rival's votes at the largest class
    /// scale, the leader's at its own (<see cref="WithClassWeights"/>). A pixel whose trees agree stops after a
    /// handful of trees instead of the half plus one the exact bound needs; a contested one walks on, up to the exact
    /// bound or the last tree. Per class, the table holds the fewest leader votes that stop the vote after t trees.
    /// <para>
    /// With a fitted prior (<see cref="VotePrior"/>), the chance comes from that prior over the leader's final votes
    /// instead of the uniform one: the uniform prior treats a pixel whose trees are split as likely as one whose trees
    /// all agree, so every pixel walks at least 6 trees (6 of 6 is the first vote it stops); on a tomogram most pixels
    /// are phase interiors every tree agrees on, and a prior that knows it stops them after 2-4 trees at the same risk.
    /// </para>
    /// </summary>
    private sealed class VoteStop
    {
        /// <summary>[class][t]: leader votes needed after t trees (int.MaxValue: none stops it there).</summary>
        private readonly int[][] _votesNeeded;

        /// <summary>The class scales the leader's summed leaves are divided by to count its votes.</summary>
        private readonly float[] _scales;

        /// <summary>The first number of trees after which some pixel can stop (all trees when none can).</summary>
        public int FirstStop { get; }

        private VoteStop(int[][] votesNeeded, float[] scales, int firstStop) => (_votesNeeded, _scales, FirstStop) = (votesNeeded, scales, firstStop);

        public static VoteStop Build(int trees, float[] scales, double risk, VotePrior? prior)
        {
            var votesNeeded = new int[scales.Length][];
            var firstStop = trees;
            for (var c = 0; c < scales.Length; c++)
            {
                votesNeeded[c] = new int[trees + 1];
                for (var t = 0; t <= trees; t++)
                {
                    votesNeeded[c][t] = int.MaxValue;
                    if (risk <= 0 || scales[c] <= 0) continue;
                    for (var n = 0; n <= t; n++)
                        if ((prior?.LossChance(c, t, n, scales[c]) ?? LossChance(trees, t, n, scales[c])) < risk)
                        {
                            votesNeeded[c][t] = n;
                            firstStop = Math.Min(firstStop, t);
                            break;
                        }
                }
            }
            return new VoteStop(votesNeeded, scales, firstStop);
        }

        /// <summary>Whether a pixel led by <paramref name="leader"/> with <paramref name="leaderSum"/> after <paramref name="walked"/> trees stops.</summary>
        public bool Stops(int leader, float leaderSum, int walked) =>
            leaderSum / _scales[leader] >= _votesNeeded[leader][walked];

        /// <summary>
        /// P(leader's final sum ≤ the lumped rival's) after <paramref name="walked"/> of <paramref name="trees"/> trees,
        /// <paramref name="votes"/> of them for the leader, whose votes weigh <paramref name="scale"/> against the rival's 1.
        /// </summary>
        public static double LossChance(int trees, int walked, int votes, double scale)
        {
            var remaining = trees - walked;
            var rival = walked - votes;
            // scale·(votes + X) ≤ rival + remaining − X  ⇔  X ≤ (rival + remaining − scale·votes) / (scale + 1)
            var bound = (rival + remaining - scale * votes) / (scale + 1);
            if (bound < 0) return 0;
            var last = Math.Min(remaining, (int)Math.Floor(bound + 1e-9));
            // Beta-binomial(remaining, votes + 1, rival + 1) by its ratio recursion from P(X = 0).
            double a = votes + 1, b = rival + 1;
            var pmf = 1.0;
            for (var j = 0; j < remaining; j++) pmf *= (b + j) / (a + b + j);
            var cdf = pmf;
            for (var x = 0; x < last; x++)
            {
                pmf *= (double)(remaining - x) / (x + 1) * (x + a) / (remaining - x - 1 + b);
                cdf += pmf;
            }
            return Math.Min(1, cdf);
        }
    }

    /// <summary>
    /// An empirical-Bayes prior for the stopped vote (<see cref="VoteStop"/>): per class c, the distribution over pixels
    /// of the votes F_c (0..T) that c gets from the whole forest of T trees, fitted on the forest's own votes on the
    /// training images' pixels (<see cref="Fit"/>). Hernández-Lobato, Martínez-Muñoz &amp; Suárez 2009 (IEEE TPAMI
    /// 31(2):364, doi:10.1109/TPAMI.2008.204) put a uniform prior on a pixel's class probabilities and note that an
    /// informative one, learnt from the data, would stop the votes of easy instances sooner; their follow-up (2013, "How
    /// large should ensembles of classifiers be?", Pattern Recognition 46(5):1323, doi:10.1016/j.patcog.2012.10.021)
    /// estimates the distribution of those probabilities over the instances from the ensemble's own votes, as done here.
    /// <para>
    /// What changed from their model, and why: the prior is over the finite forest's final votes F (not over the
    /// infinite ensemble's p), and the trees walked so far are a sample without replacement of the T trees, so after t
    /// trees of which n voted for c, F has the posterior ∝ prior(F)·C(F, n)·C(T − F, t − n) (hypergeometric). With a
    /// uniform prior over F this is exactly the beta-binomial of the uniform prior over p (<see cref="VoteStop.LossChance"/>),
    /// so the fitted prior changes only what the data say, and the loss chance stays a finite sum the table takes exactly.
    /// The histogram is smoothed by one pseudo-pixel per vote count (Laplace's rule of succession), so no final vote is
    /// ruled out however rare it was on the training images. Counts are in votes (a class's summed leaves over its largest
    /// leaf), which class weights (<see cref="WithClassWeights"/>) do not change, so the prior holds for a re-weighted forest.
    /// </para>
    /// </summary>
    private sealed class VotePrior
    {
        private readonly double[][] _logWeights;
        private readonly double[] _logFactorial;

        public VotePrior(double[][] weights)
        {
            Weights = weights;
            Trees = weights[0].Length - 1;
            _logWeights = Array.ConvertAll(weights, row => Array.ConvertAll(row, w => w > 0 ? Math.Log(w) : double.NegativeInfinity));
            _logFactorial = new double[Trees + 1];
            for (var i = 1; i <= Trees; i++) _logFactorial[i] = _logFactorial[i - 1] + Math.Log(i);
        }

        /// <summary>[class][F]: the prior chance that the class gets F of the <see cref="Trees"/> votes (each row sums to 1).</summary>
        public double[][] Weights { get; }

        public int Trees { get; }

        /// <summary>
        /// The prior from the forest's summed leaves of <paramref name="pixelCount"/> pixels (pixel-major, one per class):
        /// each class's votes per pixel (its sum over its <paramref name="scales"/>, rounded), histogrammed over 0..T, plus one.
        /// </summary>
        public static VotePrior Fit(float[] sums, int pixelCount, float[] scales, int trees)
        {
            var k = scales.Length;
            var counts = Enumerable.Range(0, k).Select(_ => Enumerable.Repeat(1L, trees + 1).ToArray()).ToArray();
            for (var p = 0; p < pixelCount; p++)
                for (var c = 0; c < k; c++)
                    if (scales[c] > 0) counts[c][Math.Clamp((int)Math.Round(sums[(long)p * k + c] / scales[c]), 0, trees)]++;
            return new VotePrior(Array.ConvertAll(counts, row =>
            {
                var total = (double)row.Sum();
                return Array.ConvertAll(row, n => n / total);
            }));
        }

        /// <summary>
        /// P(class <paramref name="leader"/>'s final votes F, weighing <paramref name="scale"/> each, end at or below the
        /// lumped rival's T − F) after <paramref name="walked"/> trees of which <paramref name="votes"/> voted for it.
        /// </summary>
        public double LossChance(int leader, int walked, int votes, double scale)
        {
            var logWeights = _logWeights[leader];
            var (against, remaining) = (walked - votes, Trees - walked);
            // scale·F ≤ T − F  ⇔  F ≤ T / (scale + 1)
            var lastLoss = (int)Math.Floor(Trees / (scale + 1) + 1e-9);
            var logPosterior = new double[remaining + 1];
            var largest = double.NegativeInfinity;
            for (var x = 0; x <= remaining; x++)
            {
                var f = votes + x;
                logPosterior[x] = logWeights[f] + LogChoose(f, votes) + LogChoose(Trees - f, against);
                largest = Math.Max(largest, logPosterior[x]);
            }
            if (double.IsNegativeInfinity(largest)) return 1;
            double loss = 0, total = 0;
            for (var x = 0; x <= remaining; x++)
            {
                var w = Math.Exp(logPosterior[x] - largest);
                total += w;
                if (votes + x <= lastLoss) loss += w;
            }
            return Math.Min(1, loss / total);
        }

        private double LogChoose(int n, int r) => r < 0 || r > n ? double.NegativeInfinity : _logFactorial[n] - _logFactorial[r] - _logFactorial[n - r];

        public void Write(BinaryWriter writer)
        {
            writer.Write(Weights.Length);
            writer.Write(Trees);
            foreach (var row in Weights)
                foreach (var w in row) writer.Write(w);
        }

        /// <summary>Reads <see cref="Write"/> for a forest of <paramref name="classCount"/> classes and <paramref name="trees"/> trees.</summary>
        public static VotePrior Read(BinaryReader reader, int classCount, int trees)
        {
            var (k, t) = (reader.ReadInt32(), reader.ReadInt32());
            if (k != classCount || t != trees) throw new InvalidDataException($"the vote prior is for {k} classes and {t} trees, the forest has {classCount} and {trees}");
            var weights = new double[k][];
            for (var c = 0; c < k; c++)
            {
                weights[c] = new double[t + 1];
                for (var f = 0; f <= t; f++) weights[c][f] = reader.ReadDouble();
                if (weights[c].Any(w => !(w >= 0) || double.IsInfinity(w)) || !(weights[c].Sum() > 0))
                    throw new InvalidDataException("the vote prior has a negative, infinite or all-zero weight");
            }
            return new VotePrior(weights);
        }
    }
}
