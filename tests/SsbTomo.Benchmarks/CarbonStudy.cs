using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Where carbon goes wrong on finished runs, and candidate fibre rules against it: re-segments each run's denoised
/// volume as the pipeline does, prints where the truth's carbon voxels went (and their normalised grey level and
/// tube response), then the errors and Dice of the pipeline's labels, of the labels without the fibres' half-depth rule, and of
/// the rule with its box, depth share and tube threshold varied.
/// Usage: `-- carbon PHANTOM_DIR RUN_DIR [PHANTOM_DIR RUN_DIR ...]`; `-- carbon --ceiling ...` is <see cref="CarbonCeilingStudy"/>.
/// </summary>
internal static class CarbonStudy
{
    private sealed record Outcome(double VoidError, double CarbonError, double ContactLossError, double DiceVoid, double DiceCarbon, double DiceLps);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.FirstOrDefault() == "--ceiling") return await CarbonCeilingStudy.RunAsync(args[1..]);
        if (args.Length == 0 || args.Length % 2 != 0)
        {
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks carbon PHANTOM_DIR RUN_DIR [...]");
            return 2;
        }
        var outcomes = new Dictionary<string, List<Outcome>>();
        for (var i = 0; i < args.Length; i += 2)
        {
            var (phantomDir, runDir) = (args[i], args[i + 1]);
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(phantomDir))!));
            var run = await FinishedRun.LoadAsync(phantomDir, runDir);
            var (denoised, intensity, histogram, truth, _) = run;
            var sigma = run.TubeSigmaVoxels;
            if (run.Decide(sigma) is not { } decided) { Console.WriteLine($"{name}: no thresholds"); continue; }
            var (set, survey, decision, shine) = decided;
            var means = decision.ClassMeans;
            var contrast = means[2] - means[0];
            var withoutRule = PhaseSegmentation.Segment(intensity, decision.Thresholds, means, shine.Correction);
            var baseline = PhaseSegmentation.Segment(intensity, decision.Thresholds, means, shine.Correction, sigma);

            // Hessian of every slice (the study's volumes are small).
            var middle = new float[intensity.Length];
            var smallest = new float[intensity.Length];
            Parallel.For(0, intensity.Depth, z =>
            {
                var (_, m, s) = HessianEigenvalues.OfSlice(intensity, z, sigma);
                m.CopyTo(middle, (long)z * intensity.Height * intensity.Width);
                s.CopyTo(smallest, (long)z * intensity.Height * intensity.Width);
            });
            Describe(name, truth, baseline, intensity, middle, smallest, means);
            var classified = PhaseClassifier.Classify(intensity, decision.Thresholds, PhaseClassifier.BseDarkToBright);
            long fromCarbon = 0, fromLps = 0, truthCarbonLostByCleanup = 0;
            for (var k = 0; k < truth.Length; k++)
            {
                if (truth.Data[k] == PhaseLabel.Lps && baseline.Data[k] == PhaseLabel.Carbon)
                {
                    if (classified.Data[k] == PhaseLabel.Carbon) fromCarbon++;
                    else if (classified.Data[k] == PhaseLabel.Lps) fromLps++;
                }
                if (truth.Data[k] == PhaseLabel.Carbon && classified.Data[k] == PhaseLabel.Carbon && baseline.Data[k] != PhaseLabel.Carbon) truthCarbonLostByCleanup++;
            }
            Console.WriteLine($"   LPS as carbon: classified carbon {fromCarbon}, classified LPS then cleaned to carbon {fromLps}; truth carbon classified carbon then cleaned away {truthCarbonLostByCleanup}");

            // "pipeline" is the segmentation stage's recipe (with the half-depth rule); the others vary the rule's box, depth share and tube threshold.
            Volume<byte> Rule(int radius, double tubeShare, double depthShare) =>
                FibreHalfDepth.Apply(withoutRule, intensity, means, sigma, radius, depthShare, tubeShare);
            var box = FibreHalfDepth.NeighbourhoodVoxels(sigma);
            (string Rule, Func<Volume<byte>> Segment)[] rules =
            [
                ("without half-depth", () => withoutRule),
                ("classified only", () => classified),
                ("pipeline", () => baseline),
                ("half-depth t.03", () => Rule(box, 0.03, 0.5)),
                ("half-depth t.08", () => Rule(box, 0.08, 0.5)),
                ("depth.4", () => Rule(box, CarbonFibreSurvey.MinimumTubeResponse, 0.4)),
                ("depth.6", () => Rule(box, CarbonFibreSurvey.MinimumTubeResponse, 0.6)),
                ($"box r{box - 1}", () => Rule(box - 1, CarbonFibreSurvey.MinimumTubeResponse, 0.5)),
                ($"box r{box + 1}", () => Rule(box + 1, CarbonFibreSurvey.MinimumTubeResponse, 0.5)),
            ];
            var truthFractions = PhaseFractions.FromCounts(PhaseFractions.Count(truth));
            var truthLoss = ContactLoss.Count(truth).LossFraction;
            foreach (var (rule, segment) in rules)
            {
                var labels = segment();
                var agreement = new LabelAgreement();
                agreement.Add(truth, labels);
                var f = PhaseFractions.FromCounts(PhaseFractions.Count(labels));
                var outcome = new Outcome(100 * (f.Void - truthFractions.Void), 100 * (f.Carbon - truthFractions.Carbon),
                    100 * (ContactLoss.Count(labels).LossFraction - truthLoss),
                    agreement.Dice(PhaseLabel.Void), agreement.Dice(PhaseLabel.Carbon), agreement.Dice(PhaseLabel.Lps));
                (outcomes.TryGetValue(rule, out var list) ? list : outcomes[rule] = []).Add(outcome);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-10} {rule,-22} void {outcome.VoidError,6:+0.00;-0.00} carbon {outcome.CarbonError,6:+0.00;-0.00} contact loss {outcome.ContactLossError,6:+0.00;-0.00} pp; Dice v {outcome.DiceVoid:0.000} c {outcome.DiceCarbon:0.000} l {outcome.DiceLps:0.000}"));
            }
        }
        Console.WriteLine("rule                   void ±0.5  ±1.5  max|void|  contact ±2  median Dice void carbon lps   mean Dice carbon lps");
        foreach (var (rule, list) in outcomes)
        {
            static double Share(IEnumerable<bool> xs) => 100.0 * xs.Count(x => x) / xs.Count();
            static double Median(IEnumerable<double> xs) { var s = xs.Order().ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]); }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{rule,-22} {Share(list.Select(o => Math.Abs(o.VoidError) <= 0.5)),6:0}% {Share(list.Select(o => Math.Abs(o.VoidError) <= 1.5)),5:0}% {list.Max(o => Math.Abs(o.VoidError)),8:0.00} {Share(list.Select(o => Math.Abs(o.ContactLossError) <= 2)),9:0}%   {Median(list.Select(o => o.DiceVoid)),14:0.000} {Median(list.Select(o => o.DiceCarbon)):0.000} {Median(list.Select(o => o.DiceLps)):0.000}   {list.Average(o => o.DiceCarbon):0.000} {list.Average(o => o.DiceLps):0.000}"));
        }
        return 0;
    }

    /// <summary>Where the truth's carbon went, and what the confused voxels look like (grey 0 = void mean, 1 = LPS mean).</summary>
    private static void Describe(string name, Volume<byte> truth, Volume<byte> labels, Volume<float> intensity, float[] middle, float[] smallest, double[] means)
    {
        var contrast = means[2] - means[0];
        var went = new long[256];
        var carbonAsLps = new List<(float Grey, float Tube)>();
        var lpsAsCarbon = new List<(float Grey, float Tube)>();
        var carbonHit = new List<(float Grey, float Tube)>();
        for (var i = 0; i < truth.Length; i++)
        {
            var grey = (float)((intensity.Data[i] - means[0]) / contrast);
            var tube = (float)(middle[i] / contrast);
            if (truth.Data[i] == PhaseLabel.Carbon)
            {
                went[labels.Data[i]]++;
                if (labels.Data[i] == PhaseLabel.Lps) carbonAsLps.Add((grey, tube));
                if (labels.Data[i] == PhaseLabel.Carbon) carbonHit.Add((grey, tube));
            }
            else if (truth.Data[i] == PhaseLabel.Lps && labels.Data[i] == PhaseLabel.Carbon) lpsAsCarbon.Add((grey, tube));
        }
        static string Q(List<(float Grey, float Tube)> xs, Func<(float Grey, float Tube), float> of)
        {
            if (xs.Count == 0) return "-";
            var s = xs.Select(of).Order().ToArray();
            return string.Create(CultureInfo.InvariantCulture, $"{s[s.Length / 10]:0.00}/{s[s.Length / 2]:0.00}/{s[s.Length * 9 / 10]:0.00}");
        }
        var total = went.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: carbon mean {(means[1] - means[0]) / contrast:0.00}; truth carbon {total} -> void {100.0 * went[PhaseLabel.Void] / total:0}% carbon {100.0 * went[PhaseLabel.Carbon] / total:0}% lps {100.0 * went[PhaseLabel.Lps] / total:0}% nmc {100.0 * went[PhaseLabel.Nmc] / total:0}%; lps->carbon {lpsAsCarbon.Count}"));
        Console.WriteLine($"   grey p10/50/90: carbon hit {Q(carbonHit, x => x.Grey)}, carbon as LPS {Q(carbonAsLps, x => x.Grey)}, LPS as carbon {Q(lpsAsCarbon, x => x.Grey)}");
        Console.WriteLine($"   tube p10/50/90: carbon hit {Q(carbonHit, x => x.Tube)}, carbon as LPS {Q(carbonAsLps, x => x.Tube)}, LPS as carbon {Q(lpsAsCarbon, x => x.Tube)}");
    }
}
