using System.Globalization;
using SsbTomo.Cli;
using SsbTomo.Phantom;
using SsbTomo.TestSupport;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The whole pipeline on a family of phantoms (drawn parameters: phase fractions, grey levels, shine-through, noise,
/// blur, 8/16-bit) plus the three presets, each compared with its truth; prints the per-draw table and the share of
/// draws inside each target. Usage: `-- sweep [--draws 24] [--first 1] [--shape 64,192,224] [--voxel-nm 50] [--no-presets]
/// [--out FILE] [--keep DIR]`; --keep leaves every phantom and run in DIR, for `-- cleanup` and `-- thresholds` to
/// re-segment. --voxel-nm draws the same members at another isotropic voxel size: the microstructure is drawn in µm, so
/// particles, fibres and pores cover more or fewer voxels, while blur (px), shine-through decay (slices) and the grey
/// levels stay as drawn. --drift-scale multiplies the stage drift's random walk and trend, --drift-jumps adds that many
/// sudden jumps of --drift-jump-px (10) pixels (<see cref="PhantomOptions.DriftScale"/>, <see cref="PhantomOptions.DriftJumps"/>).
/// --no-curtains draws every member as drawn but without its curtaining stripes: the ceiling a perfect curtain
/// correction would reach, member by member against the same sweep with them.
/// </summary>
internal static class SweepStudy
{
    public static async Task<int> RunAsync(string[] args)
    {
        int[] shape = [64, 192, 224];
        var draws = 24;
        var first = 1;
        var voxelNm = 50.0;
        var (driftScale, driftJumps, driftJumpPx) = (1.0, 0, 10.0);
        var presets = true;
        var noCurtains = false;
        string? output = null;
        string? keep = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--draws" when i + 1 < args.Length: draws = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--first" when i + 1 < args.Length: first = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--shape" when i + 1 < args.Length: shape = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--voxel-nm" when i + 1 < args.Length: voxelNm = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--drift-scale" when i + 1 < args.Length: driftScale = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--drift-jumps" when i + 1 < args.Length: driftJumps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--drift-jump-px" when i + 1 < args.Length: driftJumpPx = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-presets": presets = false; break;
                case "--no-curtains": noCurtains = true; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                case "--keep" when i + 1 < args.Length: keep = args[++i]; break;
                default:
                    Console.Error.WriteLine("usage: SsbTomo.Benchmarks sweep [--draws N] [--first SEED] [--shape D,H,W] [--voxel-nm NM] [--drift-scale S] [--drift-jumps N [--drift-jump-px P]] [--no-presets] [--no-curtains] [--out FILE] [--keep DIR]");
                    return 2;
            }
        }
        var phantoms = Enumerable.Range(first, draws)
            .Select(seed => ($"family {seed}", WithoutCurtains(PhantomFamily.Draw(seed, shape[0], shape[1], shape[2], voxelNm), noCurtains) with
                { DriftScale = driftScale, DriftJumps = driftJumps, DriftJumpPx = driftJumpPx }))
            .ToList();
        if (presets)
            phantoms.AddRange(Enum.GetValues<PhantomPreset>().Select(p => ($"{p.ToString().ToLowerInvariant()} seed 1", new PhantomOptions(p, shape[0], shape[1], shape[2], voxelNm, 1)
                { DriftScale = driftScale, DriftJumps = driftJumps, DriftJumpPx = driftJumpPx })));
        using var temporary = keep is null ? new TempDirectory("ssbtomo-sweep") : null;
        var workDir = keep ?? temporary!.Path;
        var results = new List<SweepResult>();
        foreach (var (name, options) in phantoms)
        {
            var result = await FamilySweep.RunOneAsync(name.Replace(' ', '-'), options, workDir);
            results.Add(result with { Name = name });
            Console.WriteLine(result.Completed
                ? $"{name}: void {result.Comparison!.VoidErrorPercentPoints:+0.00;-0.00;0.00} pp, Dice void {result.Comparison.Dice["void"]:0.000} ({result.Seconds:0} s)"
                : $"{name}: failed: {result.Failure}");
            if (keep is null) Directory.Delete(Path.Combine(workDir, name.Replace(' ', '-')), recursive: true);
        }
        var table = FamilySweep.Table(results);
        Console.WriteLine();
        Console.WriteLine(table);
        if (output is not null) File.WriteAllText(output, table);
        return 0;
    }

    /// <summary>The member without curtaining (<c>--no-curtains</c>): what the stripes cost, measured against the same draw with them.</summary>
    private static PhantomOptions WithoutCurtains(PhantomOptions options, bool remove) => remove && options.Parameters is { } p
        ? options with { Parameters = p with { Appearance = p.Appearance with { CurtainAmplitudeMin = 0, CurtainAmplitudeMax = 0 } } }
        : options;
}
