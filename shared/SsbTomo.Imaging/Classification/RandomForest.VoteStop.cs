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

    private VoteStop VoteStopFor(double risk)
    {
        lock (_voteStops)
        {
            if (!_voteStops.TryGetValue(risk, out var stop)) _voteStops[risk] = stop = VoteStop.Build(_roots.Length, ClassScales(), risk);
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

        public static VoteStop Build(int trees, float[] scales, double risk)
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
                        if (LossChance(trees, t, n, scales[c]) < risk)
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
}
