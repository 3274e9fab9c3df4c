namespace SsbTomo.Imaging.Alignment;

/// <summary>One particle followed through consecutive slices: its section centroids in raw-slice pixels, slice <see cref="FirstSlice"/> first.</summary>
/// <param name="VarianceScaleY">Per section, <see cref="ParticleSection.VarianceScaleY"/>; null: all 1 (whole sections).</param>
/// <param name="VarianceScaleX">Per section, <see cref="ParticleSection.VarianceScaleX"/>; null: all 1.</param>
public sealed record ParticleTrack(int FirstSlice, double[] Y, double[] X, double[]? VarianceScaleY = null, double[]? VarianceScaleX = null)
{
    public int Length => Y.Length;
    public int LastSlice => FirstSlice + Length - 1;
}

/// <summary>
/// Links particle sections of consecutive slices into tracks. A section of slice k continues the section of slice
/// k-1 that lies where the current drift estimate predicts (within <c>max(MinLinkPx, LinkFraction · radius)</c>)
/// and has a similar radius; pairs are taken nearest first, each section used once. A track ends at the first
/// slice without a match (a section cut, merged or missed ends it; a later reappearance starts a new track).
/// </summary>
public static class ParticleTracks
{
    private const double MinLinkPx = 2.0;
    private const double LinkFraction = 0.1;

    public static IReadOnlyList<ParticleTrack> Link(IReadOnlyList<IReadOnlyList<ParticleSection>> sectionsPerSlice, IReadOnlyList<Shift2D> drift, int minLength = 3)
    {
        ArgumentNullException.ThrowIfNull(sectionsPerSlice);
        ArgumentNullException.ThrowIfNull(drift);
        if (drift.Count != sectionsPerSlice.Count)
            throw new ArgumentException($"{drift.Count} drifts for {sectionsPerSlice.Count} slices", nameof(drift));
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);

        var finished = new List<ParticleTrack>();
        var open = new List<Building>(); // open[i] is the track of section i of the previous slice
        IReadOnlyList<ParticleSection> previous = [];
        for (var k = 0; k < sectionsPerSlice.Count; k++)
        {
            var current = sectionsPerSlice[k];
            var step = k == 0 ? Shift2D.Zero : drift[k] - drift[k - 1];
            var continued = new Building?[current.Count];
            var ended = Enumerable.Repeat(true, open.Count).ToArray();
            foreach (var (i, j) in Matches(previous, current, step))
            {
                open[i].Add(current[j]);
                (continued[j], ended[i]) = (open[i], false);
            }
            for (var i = 0; i < open.Count; i++)
                if (ended[i] && open[i].Count >= minLength) finished.Add(open[i].ToTrack());

            open = new List<Building>(current.Count);
            for (var j = 0; j < current.Count; j++)
                open.Add(continued[j] ?? new Building(k, current[j]));
            previous = current;
        }
        finished.AddRange(open.Where(b => b.Count >= minLength).Select(b => b.ToTrack()));
        return finished.OrderBy(t => t.FirstSlice).ToArray();
    }

    private static IEnumerable<(int Previous, int Current)> Matches(IReadOnlyList<ParticleSection> previous, IReadOnlyList<ParticleSection> current, Shift2D step)
    {
        // Current sections sorted by y, so each previous section only looks at those within its link distance in y
        // (a 4096x3072 slice can hold over a thousand sections).
        var byY = Enumerable.Range(0, current.Count).OrderBy(j => current[j].Y).ToArray();
        var ys = byY.Select(j => current[j].Y).ToArray();
        var candidates = new List<(double Distance, int I, int J)>();
        for (var i = 0; i < previous.Count; i++)
        {
            var p = previous[i];
            var reach = Math.Max(MinLinkPx, LinkFraction * p.RadiusPx);
            var (predictedY, predictedX) = (p.Y + step.Dy, p.X + step.Dx);
            var from = Array.BinarySearch(ys, predictedY - reach);
            from = from < 0 ? ~from : from;
            while (from > 0 && ys[from - 1] >= predictedY - reach) from--; // equal keys: BinarySearch may land on any
            for (var s = from; s < ys.Length && ys[s] <= predictedY + reach; s++)
            {
                var c = current[byY[s]];
                var distance = Math.Sqrt(Sq(c.Y - predictedY) + Sq(c.X - predictedX));
                if (distance > reach || Math.Abs(c.RadiusPx - p.RadiusPx) > Math.Max(3, 0.35 * p.RadiusPx)) continue;
                candidates.Add((distance, i, byY[s]));
            }
        }
        var (usedI, usedJ) = (new bool[previous.Count], new bool[current.Count]);
        foreach (var (_, i, j) in candidates.OrderBy(c => c.Distance))
        {
            if (usedI[i] || usedJ[j]) continue;
            usedI[i] = usedJ[j] = true;
            yield return (i, j);
        }
    }

    private static double Sq(double v) => v * v;

    private sealed class Building(int firstSlice, ParticleSection first)
    {
        private readonly List<double> _y = [first.Y], _x = [first.X], _scaleY = [first.VarianceScaleY], _scaleX = [first.VarianceScaleX];

        public int Count => _y.Count;

        public void Add(ParticleSection next)
        {
            _y.Add(next.Y);
            _x.Add(next.X);
            _scaleY.Add(next.VarianceScaleY);
            _scaleX.Add(next.VarianceScaleX);
        }

        public ParticleTrack ToTrack() => new(firstSlice, [.. _y], [.. _x], [.. _scaleY], [.. _scaleX]);
    }
}
