using System.Diagnostics;

namespace SsbTomo.Imaging.Measurement;

/// <summary>A path that a charge carrier takes through a composite cathode: the labels it moves through.</summary>
/// <param name="Key">The phases' names joined by '+' ("lps", "nmc+carbon"): the key in metrics.json.</param>
/// <param name="Carrier">What moves along it, in words.</param>
/// <param name="Labels">The phase labels that conduct, each with D₀ = 1; every other label (void, outside) does not.</param>
public sealed record ConductingPath(string Key, string Carrier, byte[] Labels);

/// <summary>One tortuosity solve of <see cref="CathodeTortuosity.Measure"/>: a path along an axis, and its wall time.</summary>
public sealed record PathTortuosity(ConductingPath Path, TortuosityResult Result, double Seconds);

/// <summary>
/// Tortuosity factors of the transport paths of a solid-state composite cathode (<see cref="Tortuosity"/>, TauFactor's
/// definition: Cooper et al. 2016, doi:10.1016/j.softx.2016.09.002) along each requested axis. In a solid-state cathode
/// the pores are dead space, not a path (there is no liquid electrolyte in them, which is what TauFactor's pore
/// convention assumes): lithium ions move through the solid electrolyte only (<see cref="Ionic"/>), electrons through
/// the active material and the carbon (<see cref="Electronic"/>). Minnmann et al. (J. Electrochem. Soc. 2024,
/// doi:10.1149/1945-7111/ad510e) measure and simulate both on FIB-SEM reconstructions of NCM/thiophosphate cathodes;
/// the electronic path gives NMC and carbon the same D₀, so its τ is geometric only (NMC conducts electrons orders of
/// magnitude worse than carbon).
/// </summary>
public static class CathodeTortuosity
{
    public static ConductingPath Ionic { get; } = new("lps", "ionic: Li+ through the solid electrolyte (LPS)", [PhaseLabel.Lps]);

    public static ConductingPath Electronic { get; } =
        new("nmc+carbon", "electronic: electrons through NMC and carbon (same D0 for both: the geometric path)", [PhaseLabel.Nmc, PhaseLabel.Carbon]);

    public static IReadOnlyList<ConductingPath> Paths { get; } = [Ionic, Electronic];

    /// <summary>
    /// Memory the solves need at once on a volume of this shape: the whole label volume and the largest of the solves along
    /// <paramref name="axes"/> (<see cref="Tortuosity.PeakBytes"/>; they run one after another).
    /// </summary>
    public static long BytesNeeded(int depth, int height, int width, VoxelSize voxelSize, IReadOnlyList<int> axes)
    {
        ArgumentNullException.ThrowIfNull(axes);
        var solve = axes.Count == 0 ? 0 : axes.Max(axis => Tortuosity.PeakBytes(depth, height, width, axis, voxelSize));
        return (long)depth * height * width + solve;
    }

    /// <summary>Every path along every axis, one solve after another (each holds the memory of one).</summary>
    /// <param name="axes">Transport axes, 0 = z, 1 = y, 2 = x.</param>
    /// <param name="solved">Told after each solve: how many are done, of how many, and the result (progress "k of N").</param>
    public static IReadOnlyList<PathTortuosity> Measure(Volume<byte> labels, VoxelSize voxelSize, IReadOnlyList<ConductingPath> paths,
        IReadOnlyList<int> axes, Action<int, int, PathTortuosity>? solved = null, double tolerance = Tortuosity.DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(axes);
        var results = new List<PathTortuosity>();
        var total = paths.Count * axes.Count;
        foreach (var path in paths)
            foreach (var axis in axes)
            {
                var clock = Stopwatch.StartNew();
                var result = new PathTortuosity(path, Tortuosity.Compute(labels, path.Labels, axis, voxelSize, tolerance), clock.Elapsed.TotalSeconds);
                results.Add(result);
                solved?.Invoke(results.Count, total, result);
            }
        return results;
    }
}
