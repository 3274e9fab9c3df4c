namespace SsbTomo.Imaging.Measurement;

/// <summary>A phase the user named: its name and the value its voxels hold in the label volume (0 is a value like any other).</summary>
public sealed record NamedPhase(string Name, int Value);

/// <summary>
/// The user's phases for a label volume SsbTomo did not make, mapped onto the measurement labels 1..n in the order
/// given (label 0 = unclassified, measured as Outside: no fraction, no surface). At most four phases, because the
/// marching-cubes tally keeps the joint state of a cube's eight corners in two bits each
/// (<see cref="SurfaceAreaAccumulator"/>).
/// </summary>
public sealed class PhaseTable
{
    public const int MaxPhases = PhaseLabel.Count - 1;

    public PhaseTable(IReadOnlyList<NamedPhase> phases)
    {
        ArgumentNullException.ThrowIfNull(phases);
        if (phases.Count == 0) throw new ArgumentException("name at least one phase", nameof(phases));
        if (phases.Count > MaxPhases)
            throw new ArgumentException($"{phases.Count} phases named; at most {MaxPhases} can be measured together", nameof(phases));
        var names = phases.GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (names is not null) throw new ArgumentException($"the name '{names.Key}' is given to more than one value", nameof(phases));
        var values = phases.GroupBy(p => p.Value).FirstOrDefault(g => g.Count() > 1);
        if (values is not null)
            throw new ArgumentException($"the value {values.Key} is named more than once ({string.Join(", ", values.Select(p => p.Name))})", nameof(phases));
        if (phases.FirstOrDefault(p => p.Value is < 0 or > ushort.MaxValue) is { } bad)
            throw new ArgumentException($"{bad.Name}={bad.Value}: a label value must be 0..{ushort.MaxValue}", nameof(phases));
        Phases = phases;
    }

    public IReadOnlyList<NamedPhase> Phases { get; }

    /// <summary>The measurement label of the phase named <paramref name="name"/> (1-based), or null.</summary>
    public byte? LabelOf(string name)
    {
        for (var i = 0; i < Phases.Count; i++)
            if (string.Equals(Phases[i].Name, name, StringComparison.OrdinalIgnoreCase)) return (byte)(i + 1);
        return null;
    }

    public string NameOf(byte label) => Phases[label - 1].Name;

    /// <summary>
    /// Measurement labels for every voxel and, per value that no phase names, its voxel count (those voxels get label 0).
    /// </summary>
    public (Volume<byte> Labels, IReadOnlyDictionary<int, long> Unclassified) Map(Volume<ushort> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var lookup = new byte[ushort.MaxValue + 1];
        for (var i = 0; i < Phases.Count; i++) lookup[Phases[i].Value] = (byte)(i + 1);
        var labels = new Volume<byte>(values.Depth, values.Height, values.Width);
        var unnamed = new long[ushort.MaxValue + 1];
        var gate = new object();
        Parallel.For(0, values.Depth, () => new Dictionary<int, long>(), (z, _, local) =>
        {
            var source = values.Slice(z);
            var target = labels.Slice(z);
            for (var i = 0; i < source.Length; i++)
            {
                var label = lookup[source[i]];
                target[i] = label;
                if (label == 0) local[source[i]] = local.GetValueOrDefault(source[i]) + 1;
            }
            return local;
        }, local =>
        {
            lock (gate)
                foreach (var (value, count) in local) unnamed[value] += count;
        });
        var unclassified = new SortedDictionary<int, long>();
        for (var v = 0; v < unnamed.Length; v++)
            if (unnamed[v] > 0) unclassified[v] = unnamed[v];
        return (labels, unclassified);
    }
}
