using System.Globalization;
using System.Text.Json;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Re-segments finished runs (their denoised.zarr, the pipeline's thresholds) with candidate partial-volume
/// clean-up rules and prints void/carbon/contact-loss errors and Dice against the phantom's truth over the run's
/// crop, then the share of runs inside the issue's targets per rule. A fast loop for clean-up rules.
/// Usage: `-- cleanup PHANTOM_DIR RUN_DIR [PHANTOM_DIR RUN_DIR ...]`. SSBTOMO_CLEANUP_RULES="rule,rule" runs only those
/// rules; SSBTOMO_CLEANUP_DUMP_RULE="rule" writes that rule's labels to RUN_DIR/labels.u8 (z, y, x bytes) for
/// scripts/contact_faces.py.
/// </summary>
internal static class CleanupStudy
{
    private sealed record Outcome(double VoidError, double CarbonError, double ContactLossError, double DiceVoid, double DiceCarbon, double DiceLps);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args.Length % 2 != 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks cleanup PHANTOM_DIR RUN_DIR [...]");
            return 2;
        }
        var outcomes = new Dictionary<string, List<Outcome>>();
        for (var i = 0; i < args.Length; i += 2)
        {
            var (phantomDir, runDir) = (args[i], args[i + 1]);
            var run = await FinishedRun.LoadAsync(phantomDir, runDir);
            var (denoised, intensity, _, truth) = run;
            var truthFractions = PhaseFractions.FromCounts(PhaseFractions.Count(truth));
            var truthLoss = ContactLoss.Count(truth).LossFraction;
            if (run.Decide(CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(50))) is not { } decided) { Console.WriteLine($"{runDir}: no thresholds"); continue; } // family phantoms are 50 nm
            var (set, survey, decision, shine) = decided;
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(phantomDir));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{runDir}: carbon mean {(set.ClassMeans[1] - set.ClassMeans[0]) / (set.ClassMeans[2] - set.ClassMeans[0]):0.00} fibre cores {(decision.FibreCoreLevel - set.ClassMeans[0]) / (set.ClassMeans[2] - set.ClassMeans[0]):0.00} ({decision.FibreCoreVoxels} voxels) replaced {decision.Replaced}"));
            var perDistance = shine.UsablePerDistance();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{runDir}: shine-through excess {shine.Excess:0.000} (correction {shine.Correction:0.000}), per distance [{string.Join(", ", perDistance.Select(e => e.ToString("0.000", CultureInfo.InvariantCulture)))}]"));
            var solidLevel = 0.5 * (decision.ClassMeans[1] + decision.ClassMeans[2]);
            var electrolyteSpread = CarbonLevel.RobustSpread(survey.ElectrolyteCoreHistogram, 1024, 0, 65536);
            Volume<byte> Ceiling(double ceiling) => ShineThroughCorrection.Apply(CleanedUp(intensity, decision.Thresholds, decision.ClassMeans), intensity,
                decision.ClassMeans[0], [shine.Correction], double.PositiveInfinity, ceiling, PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
            (string Rule, Func<Volume<byte>> Segment)[] rules =
            [
                ("fit only", () => CleanedUp(intensity, set.Thresholds, set.ClassMeans)),
                ("fibre survey", () => CleanedUp(intensity, decision.Thresholds, decision.ClassMeans)),
                ("survey + shine midpoint", () => PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans)),
                ("survey + shine all excess", () => PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans, Math.Min(shine.Excess, ShineThroughEstimate.MaximumExcess))),
                ("survey + shine correction", () => PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans, shine.Correction)),
                ("ceiling LPS threshold", () => Ceiling(decision.Thresholds[1])),
                ("ceiling LPS mean", () => Ceiling(decision.ClassMeans[2])),
                ("ceiling LPS mean - 2sd", () => Ceiling(decision.ClassMeans[2] - 2 * electrolyteSpread)),
                ("shine + cleanup again", () => PartialVolumeCleanup.Apply(PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans, shine.Correction),
                    intensity, PhaseClassifier.BseDarkToBright, decision.ClassMeans)),
                ("grow 4 gated + cleanup", () => shine.Correction > 0 ? PartialVolumeCleanup.Apply(GrowLitPores(PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans, shine.Correction), intensity,
                    decision.ClassMeans[0], 0.5 + shine.Correction, decision.ClassMeans[2], double.NegativeInfinity, 4), intensity, PhaseClassifier.BseDarkToBright, decision.ClassMeans)
                    : PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans, shine.Correction)),
                ("grow 4", () => GrowLitPores(PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans, shine.Correction), intensity,
                    decision.ClassMeans[0], 0.5 + shine.Correction, decision.ClassMeans[2], double.NegativeInfinity, 4)),
                ("grow 8", () => GrowLitPores(PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans, shine.Correction), intensity,
                    decision.ClassMeans[0], 0.5 + shine.Correction, decision.ClassMeans[2], double.NegativeInfinity, 8)),
                ("grow 8 + nmc", () => GrowLitPores(PhaseSegmentation.Segment(intensity, decision.Thresholds, decision.ClassMeans, shine.Correction), intensity,
                    decision.ClassMeans[0], 0.5 + shine.Correction, decision.ClassMeans[2], decision.Thresholds[2], 8)),
                ("survey + shine distance", () => ShineThroughCorrection.Apply(CleanedUp(intensity, decision.Thresholds, decision.ClassMeans), intensity,
                    decision.ClassMeans[0], perDistance, solidLevel, PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps)),
            ];
            {
                var classified = PhaseClassifier.Classify(intensity, decision.Thresholds, PhaseClassifier.BseDarkToBright);
                var cleaned = PartialVolumeCleanup.Apply(classified, intensity, PhaseClassifier.BseDarkToBright, decision.ClassMeans);
                var corrected = ShineThroughCorrection.Apply(cleaned, intensity, decision.ClassMeans[0], shine.Correction, PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps);
                foreach (var (wall, wallName) in new[] { (PhaseLabel.Nmc, "NMC"), (PhaseLabel.Lps, "LPS") })
                    for (var distance = 1; distance <= 3; distance++)
                    {
                        var counts = new long[3, 5];
                        var plane = truth.SliceLength;
                        for (var k = 0; k + (long)distance * plane < truth.Length; k++)
                        {
                            if (truth.Data[k + (long)distance * plane] != wall) continue;
                            var pore = true;
                            for (var j = 0; j < distance && pore; j++) pore = truth.Data[k + (long)j * plane] == PhaseLabel.Void;
                            if (!pore) continue;
                            counts[0, classified.Data[k]]++;
                            counts[1, cleaned.Data[k]]++;
                            counts[2, corrected.Data[k]]++;
                        }
                        string Row(int step)
                        {
                            var total = Math.Max(1, counts[step, 1] + counts[step, 2] + counts[step, 3] + counts[step, 4]);
                            return string.Create(CultureInfo.InvariantCulture, $"v {100.0 * counts[step, 4] / total:0}/c {100.0 * counts[step, 3] / total:0}/l {100.0 * counts[step, 2] / total:0}/n {100.0 * counts[step, 1] / total:0}");
                        }
                        Console.WriteLine($"   pore {distance} in front of {wallName}: classified {Row(0)}; cleaned {Row(1)}; shine-corrected {Row(2)}");
                    }
            }
            var only = Environment.GetEnvironmentVariable("SSBTOMO_CLEANUP_RULES")?.Split(',');
            foreach (var (rule, segment) in rules)
            {
                if (only is not null && !only.Contains(rule)) continue;
                var labels = segment();
                // The studies' Python diagnostics read a rule's labels as raw bytes (z, y, x) beside the run.
                var dump = Environment.GetEnvironmentVariable("SSBTOMO_CLEANUP_DUMP_RULE");
                if (dump == rule) File.WriteAllBytes(Path.Combine(runDir, "labels.u8"), labels.Data);
                var agreement = new LabelAgreement();
                agreement.Add(truth, labels);
                var f = PhaseFractions.FromCounts(PhaseFractions.Count(labels));
                var outcome = new Outcome(100 * (f.Void - truthFractions.Void), 100 * (f.Carbon - truthFractions.Carbon),
                    100 * (ContactLoss.Count(labels).LossFraction - truthLoss),
                    agreement.Dice(PhaseLabel.Void), agreement.Dice(PhaseLabel.Carbon), agreement.Dice(PhaseLabel.Lps));
                (outcomes.TryGetValue(rule, out var list) ? list : outcomes[rule] = []).Add(outcome);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-10} {rule,-24} void {outcome.VoidError,6:+0.00;-0.00} carbon {outcome.CarbonError,6:+0.00;-0.00} contact loss {outcome.ContactLossError,6:+0.00;-0.00} pp; Dice v {outcome.DiceVoid:0.000} c {outcome.DiceCarbon:0.000} l {outcome.DiceLps:0.000}"));
            }
        }
        Console.WriteLine("rule                   void ±0.5  ±1.5  max|void|  contact ±2  median Dice void carbon lps");
        foreach (var (rule, list) in outcomes)
        {
            static double Share(IEnumerable<bool> xs) => 100.0 * xs.Count(x => x) / xs.Count();
            static double Median(IEnumerable<double> xs) { var s = xs.Order().ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]); }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{rule,-24} {Share(list.Select(o => Math.Abs(o.VoidError) <= 0.5)),6:0}% {Share(list.Select(o => Math.Abs(o.VoidError) <= 1.5)),5:0}% {list.Max(o => Math.Abs(o.VoidError)),8:0.00} {Share(list.Select(o => Math.Abs(o.ContactLossError) <= 2)),9:0}%   {Median(list.Select(o => o.DiceVoid)),14:0.000} {Median(list.Select(o => o.DiceCarbon)):0.000} {Median(list.Select(o => o.DiceLps)):0.000}"));
        }
        return 0;
    }

    /// <summary>
    /// Candidate: shine-lit pore voxels grown laterally (in-slice, 4-neighbours) from void, a round at a time: an
    /// intermediate voxel (or, below <paramref name="nmcBelow"/>, an NMC one) becomes void when a void voxel touches it in
    /// its slice and it lies below both the ceiling and the midpoint rule towards the brightest voxel within 8 slices behind.
    /// </summary>
    private static Volume<byte> GrowLitPores(Volume<byte> labels, Volume<float> g, double voidMean, double share, double ceiling, double nmcBelow, int rounds)
    {
        var (depth, height, width, plane) = (g.Depth, g.Height, g.Width, g.SliceLength);
        var wall = new float[g.Length];
        for (var z = 0; z < depth; z++)
            for (var i = 0; i < plane; i++)
            {
                var w = float.NegativeInfinity;
                for (var a = z + 1; a <= Math.Min(depth - 1, z + ShineThroughCorrection.LookAheadSlices); a++) w = Math.Max(w, g.Data[(long)a * plane + i]);
                wall[(long)z * plane + i] = w;
            }
        var result = labels.Clone();
        for (var round = 0; round < rounds; round++)
        {
            var next = result.Clone();
            var changed = 0;
            for (var z = 0; z < depth; z++)
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var k = (long)z * plane + y * width + x;
                        var label = result.Data[k];
                        var value = g.Data[k];
                        var eligible = label is PhaseLabel.Carbon or PhaseLabel.Lps || (label == PhaseLabel.Nmc && value < nmcBelow);
                        if (!eligible || value >= ceiling || !(value < voidMean + share * (wall[k] - voidMean))) continue;
                        var touches = (x > 0 && result.Data[k - 1] == PhaseLabel.Void) || (x + 1 < width && result.Data[k + 1] == PhaseLabel.Void)
                            || (y > 0 && result.Data[k - width] == PhaseLabel.Void) || (y + 1 < height && result.Data[k + width] == PhaseLabel.Void);
                        if (!touches) continue;
                        next.Data[k] = PhaseLabel.Void;
                        changed++;
                    }
            result = next;
            if (changed == 0) break;
        }
        return result;
    }

    /// <summary>Classification and partial-volume clean-up without the shine-through correction.</summary>
    private static Volume<byte> CleanedUp(Volume<float> intensity, double[] thresholds, double[] classMeans) =>
        PartialVolumeCleanup.Apply(PhaseClassifier.Classify(intensity, thresholds, PhaseClassifier.BseDarkToBright), intensity,
            PhaseClassifier.BseDarkToBright, classMeans);
}
