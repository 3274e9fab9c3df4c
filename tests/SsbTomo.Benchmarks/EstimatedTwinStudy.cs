using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Classification;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Phantom;
using SsbTomo.Storage;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Whether a twin of a stack can be found from the stack alone: the phantom's appearance and microstructure parameters
/// are estimated by indirect inference (Gouriéroux, Monfort &amp; Renault 1993, J. Applied Econometrics 8:S85): the same
/// statistics are measured on the aligned stack and on a simulated twin (<see cref="PhantomOptions.Stationary"/>, no
/// curtaining, charging or gain drift: the stack is aligned and corrected), and each parameter is moved by the gap in
/// the statistic it drives most (iterative bias correction) for a few rounds. A forest is then trained on the last
/// twin's truth and applied to the stack, as <see cref="SimulatedForestStudy"/>'s twin ceiling does with the drawn
/// parameters; and the pipeline's own labels of the twin give its bias, which is taken off the stack's figures
/// (a parametric bootstrap of the unsupervised segmentation's bias).
/// Usage: `-- estimated-twin --test DIR --members 120,126,... [--rounds 4] [--forest-rounds 3 | --pipeline-rounds 3]
/// [--plug-in-structure [--spread] | --corrected-rounds 3] [--drawn-structure] [--drawn]` (DIR as `-- sweep --keep` leaves it). `--drawn-structure` keeps the member's drawn
/// microstructure (only the appearance estimated); `--drawn` renders the twin with every drawn parameter.
/// <para>
/// Statistics and the parameter each drives: the mixture fit's four means → the four greys (damped to a tenth of the
/// void-to-NMC span per round); the residual grey − denoised grey in electrolyte and NMC interiors → the noise's
/// constant and signal-proportional variance; the fit's deviations → the textures; the label-free shine-through excess
/// → its strength, the excess's fall between distances 1 and 3 → its decay; structure (fractions, void next to NMC,
/// mean runs along x) from the fit's thresholds, then from the forest's labels (`--forest-rounds`, EM class priors of
/// Saerens et al. 2002 on the stack) or from the pipeline's labels (`--pipeline-rounds`).
/// </para>
/// <para>
/// Measured in session 21 (the 64x192x224 members of session 20's sweeps, 20-150 s per member on 2 cores):
/// the appearance estimated, the drawn microstructure kept (`--drawn-structure`), first with the decay fixed at 3 slices
/// and undamped grey updates: void 120 −3.64 → −0.81 pp (twin with every drawn parameter: −0.64), 127 −1.98 → −0.34,
/// 101 +2.58 → −0.57, 116 +1.66 → −0.10, 24 −1.48 → −0.52, 126 −1.34 → −0.77, 129 −1.99 → +1.47, 10 −0.96 → −0.87,
/// 1 −0.16 → −0.27, but 23 −1.29 → +40.1 (the stack's mixture takes a shining pore mode for carbon, the twin's does
/// not, and the grey updates ran away). With the decay estimated and the updates damped (as now): 23 +51.7 still,
/// 10 −3.04, 129 −1.25, 13 +0.48 → −0.61, 3 +0.08 → −0.94, 8 +0.35 → −0.31: the estimate moves by 1-2 pp with details of
/// the rounds, so it is not yet an estimate a job could rely on. With the microstructure estimated too, nothing
/// identifies the void fraction: a forest trained on a twin with less void finds less void in
/// the stack (120: twin 9.2 → stack 10.3, twin 10.6 → 9.5, twin 9.4 → 13.1 % against a truth of 15.0; the EM priors
/// follow the argmax within 0.5 pp), so the fixed point is wherever it starts; and the pipeline as the auxiliary
/// estimator (`--pipeline-rounds 3`) carries the appearance's misfits into the structure: its bias on the twin differs
/// from its bias on the stack by 1-17 pp (120 twin −2.50 pp against the stack's −3.64 even with every drawn
/// parameter; 23, 1, 3 twins with carbon read as void). The appearance estimate helps most members but is not stable (a
/// mixture class that changes mode between stack and twin throws it).
/// With the greys matched by quantile instead (SSBTOMO_TWIN_QUANTILE_GREYS=1: each grey moved to the stack's grey at the
/// share of the twin's denoised voxels below it) no member runs away (23 −1.29 → −0.41 with the forest), and the
/// pipeline's bias measured on the twin, taken off the stack's unsupervised figures, brings void within ±0.6 pp on 13 of
/// 15 hard and control members (126 −0.09, 129 −0.58, 127 −0.38, 24 −0.57, 101 +0.04, 116 +0.12, 1 +0.02, 13 −0.01,
/// 3 +0.61, 8 +0.16, 105 +0.59, 125 −0.55, 10 −0.05; 23 −0.83, 120 −1.97; unsupervised: 4 of 15) and contact loss within
/// ±2 pp on 10 of 15: but only with the member's drawn microstructure. With the structure estimated as well (the same,
/// `--pipeline-rounds 3`): 120 −3.29, 23 −1.33, 10 −0.78, 126 −1.03, 129 −0.72, 127 +1.07, 24 −1.45, 101 +2.11, 116 +0.73,
/// 1 +4.71, 13 +0.94, 3 +9.66, 8 +0.32, 105 +0.42, 125 −1.26 pp (unsupervised within ±0.5 pp on 4 of 15, corrected on 2):
/// the histogram's quantiles place the greys only where the twin's fractions are right, and the fractions move with the
/// greys (1: the twin's void went to 17 %, its carbon grey to the electrolyte's, and the pipeline read the twin's carbon
/// as void). How close the structure must be (SSBTOMO_TWIN_STRUCTURE_ABLATE with `--drawn-structure`, corrected void):
/// with the void at 0.7 times the drawn, 126 −0.70, 127 −1.05, 101 +1.07, 116 +0.23, 1 −0.01, 13 −0.66, 8 −0.13,
/// 10 −0.89 pp; with the particle and pore sizes at the family's middle, 126 −0.88, 127 −0.24, 101 −1.02, 116 −0.62,
/// 1 +1.63, 13 +0.01, 8 +0.24 pp: the bias transfers from twin to stack only with the void within about 30 % and the
/// sizes right.
/// Session 22 (the same 64x192x224 members, swept again: `sweep --draws 24 --shape 64,192,224 --keep DIR` and `sweep --first
/// 101 --draws 36 --no-presets ...`): the twin's structure moved onto the pipeline's own structure of the stack
/// (`--plug-in-structure`: the twin's *truth* fractions, void next to NMC and chords matched to the pipeline's labels of
/// the stack, appearance by quantile greys), then a forest trained on that twin and four more whose crack share (0.15,
/// 0.85) and void (0.8, 1.25 times) are varied around it (`--spread`, so that the forest does not learn one void fraction
/// as its prior): on the 15 hard and control members void within ±0.5 pp 8 of 15 (unsupervised 3), mean |error| 1.01 pp
/// (1.46), but on all 60 members of seeds 1-24 and 101-136 it is a wash: void within ±0.5 pp 63 % (unsupervised 62 %),
/// ±1.5 pp 85 % (88 %), contact loss ±2 pp 50 % (58 %), mean |void error| 0.71 pp (0.66), though median Dice void 0.887 →
/// 0.909 and carbon 0.704 → 0.773: it repairs members with strong shine-through (129 −1.99 → −0.11, 127 −1.98 → −0.18, 116
/// +1.65 → −0.10, 105 −1.76 → +0.26) and breaks easy ones (4 +0.14 → +3.71, 6 −0.10 → +1.82, 8 +0.35 → −1.35). The plug-in
/// twin's pipeline bias taken off the stack's figures: void within ±0.5 pp on 53 % of the 60, mean |error| 1.12 pp. The
/// pipeline's bias iterated (`--corrected-rounds 3`, the twin's truth moved onto the stack's structure less the pipeline's
/// bias on the twin: the same update as `--pipeline-rounds`, from the plug-in start) diverges on the controls (1 +5.19,
/// 3 +5.94, 8 +6.65 pp): on member 23 it settles at a twin of 11.7 % void and crack share 0.26 against the truth's 14.5 %
/// and 0.90, whose pipeline figures equal the stack's — the pipeline's outputs do not identify the structure. The
/// microstructure needs
/// statistics that the shine-through and the partial volume do not bias (next: pore counts and sizes from the
/// label-free shine-through runs, and twins larger than the stack so that their own realisation adds no noise).
/// </para>
/// </summary>
internal static class EstimatedTwinStudy
{
    /// <summary>
    /// What is matched. Means and deviations: the stack histogram's mixture fit (void, carbon, electrolyte, active
    /// material); fractions: the fit's thresholds applied to the denoised stack; residual: the grey's deviation from the
    /// denoised grey in the interiors of the electrolyte and the active material (the noise); chords: mean run length
    /// along x of active material and of void; shine: the label-free shine-through excess.
    /// </summary>
    private sealed record StackStatistics(double[] Means, double[] Deviations, double[] Fractions, double VoidOnNmcShare,
        double NmcChord, double VoidChord, double[] Residual, double Shine, double ShineDecay, long[] Histogram)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"means [{string.Join(", ", Means.Select(m => m.ToString("0.0", CultureInfo.InvariantCulture)))}] sd [{string.Join(", ", Deviations.Select(m => m.ToString("0.0", CultureInfo.InvariantCulture)))}] "
            + $"fractions [{string.Join(", ", Fractions.Select(m => (100 * m).ToString("0.00", CultureInfo.InvariantCulture)))}] void on NMC {VoidOnNmcShare:0.000} chords NMC {NmcChord:0.0} void {VoidChord:0.0} "
            + $"residual [{Residual[2]:0.00}, {Residual[3]:0.00}] shine {Shine:0.000} decay {ShineDecay:0.0}");
    }

    /// <summary>The parameters a twin is rendered with, beside the fixed ones (blur, texture scale, shine-through decay).</summary>
    private sealed record TwinGuess(double[] Greys, double NoiseVariance, double NoiseSignalVariance, double NmcTexture, double LpsTexture,
        double Shine, double Decay, double Nmc, double Carbon, double Void, double CrackShare, double NmcMedianUm, double PoreScale);

    public static async Task<int> RunAsync(string[] args)
    {
        string? testDir = null;
        int[] members = [];
        var (rounds, forestRounds, drawnStructure, drawn, slices, perSlice, trees) = (4, 3, false, false, 12, 5000, 60);
        var (pipelineRounds, plugIn, correctedRounds, spread) = (0, false, 0, false);
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--test" when i + 1 < args.Length: testDir = args[++i]; break;
                case "--members" when i + 1 < args.Length: members = args[++i].Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--rounds" when i + 1 < args.Length: rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--forest-rounds" when i + 1 < args.Length: forestRounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--pipeline-rounds" when i + 1 < args.Length: pipelineRounds = int.Parse(args[++i], CultureInfo.InvariantCulture); forestRounds = 0; break;
                case "--drawn-structure": drawnStructure = true; break;
                case "--spread": spread = true; break;
                case "--plug-in-structure": plugIn = true; forestRounds = 0; break;
                case "--corrected-rounds" when i + 1 < args.Length: correctedRounds = int.Parse(args[++i], CultureInfo.InvariantCulture); plugIn = true; forestRounds = 0; break;
                case "--drawn": drawn = true; break;
                default:
                    Console.Error.WriteLine("usage: SsbTomo.Benchmarks estimated-twin --test DIR --members N,N,... [--rounds N] [--plug-in-structure] [--corrected-rounds N] [--drawn-structure] [--drawn]");
                    return 2;
            }
        }
        if (testDir is null || members.Length == 0)
        {
            Console.Error.WriteLine("--test and --members are required");
            return 2;
        }
        var tubeSigma = CarbonFibreSurvey.TubeSigmaVoxels(VoxelSize.Isotropic(50));
        var (forestOutcomes, unsupervisedOutcomes) = (new List<SimulatedForestStudy.Outcome>(), new List<SimulatedForestStudy.Outcome>());
        foreach (var seed in members)
        {
            var memberDir = Path.Combine(testDir, $"family-{seed}");
            var run = await FinishedRun.LoadAsync(Path.Combine(memberDir, "phantom"), Path.Combine(memberDir, "run"));
            var aligned = await ReadAlignedAsync(Path.Combine(memberDir, "run"));
            if (await SimulatedForestStudy.LoadAsync(memberDir) is not { } member || Measure(aligned, run.Denoised) is not { } target)
            {
                Console.WriteLine($"family {seed}: no fit");
                continue;
            }
            var (depth, height, width) = (aligned.Depth, aligned.Height, aligned.Width);
            var drawnOptions = PhantomFamily.Draw(seed, depth, height, width);
            var guess = FirstGuess(target);
            Console.WriteLine($"family {seed} stack: {target}");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Twin? twin = null;
            var memberPipeline = PipelineLabels(run.Denoised, member.Truth, tubeSigma);
            var stackPipelineStructure = StructureOf(ClassesOf(memberPipeline), depth, height, width);
            if (plugIn) guess = WithStructure(guess, stackPipelineStructure);
            var last = rounds + forestRounds + pipelineRounds + correctedRounds;
            for (var round = 0; round <= last; round++)
            {
                var options = drawn ? drawnOptions with { Seed = seed + 200_000, Stationary = true }
                    : TwinOptions(guess, drawnStructure ? Ablated(drawnOptions.Parameters!.Microstructure) : null, depth, height, width, seed + 200_000);
                twin = Render(options);
                if (drawn || round == last) break;
                if (Measure(twin.Stack, twin.Denoised) is not { } measured) break;
                Console.WriteLine($"  round {round}: {measured}");
                guess = UpdateAppearance(guess, target, measured);
                if (drawnStructure) continue;
                if (plugIn)
                {
                    // the twin's truth moved onto the pipeline's structure of the stack (plug-in), then onto that structure
                    // less the pipeline's bias on the twin (iterated bootstrap bias correction, Efron & Tibshirani 1993 ch. 10)
                    var twinTruthStructure = StructureOf(ClassesOf(twin.Truth), depth, height, width);
                    var wanted = stackPipelineStructure;
                    if (round >= rounds)
                    {
                        var onTwinPipeline = StructureOf(ClassesOf(PipelineLabels(twin.Denoised, twin.Truth, tubeSigma)), depth, height, width);
                        wanted = Corrected(stackPipelineStructure, onTwinPipeline, twinTruthStructure);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"    corrected: stack void {100 * stackPipelineStructure.Fractions[0]:0.00} %, twin pipeline {100 * onTwinPipeline.Fractions[0]:0.00} % against its truth {100 * twinTruthStructure.Fractions[0]:0.00}: wanted {100 * wanted.Fractions[0]:0.00} %"));
                    }
                    guess = UpdateStructure(guess, wanted, twinTruthStructure);
                    continue;
                }
                if (round >= rounds && pipelineRounds > 0)
                {
                    // the pipeline itself as the auxiliary estimator: its structure on the stack against its structure on the twin
                    var (onStack, onTwinPipeline) = (StructureOf(ClassesOf(memberPipeline), depth, height, width), StructureOf(ClassesOf(PipelineLabels(twin.Denoised, twin.Truth, tubeSigma)), depth, height, width));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"    pipeline: stack void {100 * onStack.Fractions[0]:0.00} %, twin void {100 * onTwinPipeline.Fractions[0]:0.00} % (its truth {100 * guess.Void:0.00}); void on NMC {onStack.VoidOnNmcShare:0.000} / {onTwinPipeline.VoidOnNmcShare:0.000}"));
                    guess = UpdateStructure(guess, onStack, onTwinPipeline);
                    continue;
                }
                if (round < rounds)
                {
                    guess = UpdateStructure(guess, new Structure(target.Fractions, target.VoidOnNmcShare, target.NmcChord, target.VoidChord),
                        new Structure(measured.Fractions, measured.VoidOnNmcShare, measured.NmcChord, measured.VoidChord));
                    continue;
                }
                // the structure from the forest's labels: the member's against the twin's own, both by a forest trained on the twin
                if (TrainOn(twin, seed, slices, perSlice, trees, tubeSigma) is not { } trainedRound) break;
                var (roundForest, standardisedTwin) = trainedRound;
                var trainingPriors = TruthPriors(twin.Truth);
                var memberPosteriors = SimulatedForestStudy.ProbabilitiesOf(roundForest, member.Standardised);
                var twinPosteriors = SimulatedForestStudy.ProbabilitiesOf(roundForest, standardisedTwin);
                var (memberPriors, twinPriors) = (ClassPriorShift.EstimatePriors(memberPosteriors, trainingPriors), ClassPriorShift.EstimatePriors(twinPosteriors, trainingPriors));
                var onMember = ClassesOf(SimulatedForestStudy.WeightedLabels(memberPosteriors, member.Truth, [.. memberPriors.Select((p, c) => p / trainingPriors[c])], out _));
                var onTwin = ClassesOf(SimulatedForestStudy.WeightedLabels(twinPosteriors, twin.Truth, [.. twinPriors.Select((p, c) => p / trainingPriors[c])], out _));
                var (memberStructure, twinStructure) = (StructureOf(onMember, depth, height, width), StructureOf(onTwin, depth, height, width));
                var truthStructure = StructureOf(ClassesOf(member.Truth), depth, height, width);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"    forest: member void {100 * memberStructure.Fractions[0]:0.00} % (EM prior {100 * memberPriors[3]:0.00}, truth {100 * truthStructure.Fractions[0]:0.00}), twin void {100 * twinStructure.Fractions[0]:0.00} % (EM {100 * twinPriors[3]:0.00}, its truth {100 * guess.Void:0.00}); "
                    + $"void on NMC {memberStructure.VoidOnNmcShare:0.000} / {twinStructure.VoidOnNmcShare:0.000} (truth {truthStructure.VoidOnNmcShare:0.000}); void chord {memberStructure.VoidChord:0.0} / {twinStructure.VoidChord:0.0} (truth {truthStructure.VoidChord:0.0})"));
                memberStructure = memberStructure with { Fractions = [memberPriors[3], memberPriors[2], memberPriors[1], memberPriors[0]] };
                twinStructure = twinStructure with { Fractions = [twinPriors[3], twinPriors[2], twinPriors[1], twinPriors[0]] };
                guess = UpdateStructure(guess, memberStructure, twinStructure);
            }
            var look = drawnOptions.Parameters!.Appearance;
            var scale = look.OutputGain;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  estimated greys [{string.Join(", ", guess.Greys.Select(g => g.ToString("0.0", CultureInfo.InvariantCulture)))}] shine {guess.Shine:0.00} over {guess.Decay:0.0} noise σ at NMC {Math.Sqrt(guess.NoiseVariance + guess.NoiseSignalVariance * guess.Greys[3]):0.0} "
                + $"textures {guess.NmcTexture:0.0}/{guess.LpsTexture:0.0} fractions NMC {100 * guess.Nmc:0.0} carbon {100 * guess.Carbon:0.0} void {100 * guess.Void:0.0} crack share {guess.CrackShare:0.00} NMC median {guess.NmcMedianUm:0.0} µm pore scale {guess.PoreScale:0.00}"));
            var m = drawnOptions.Parameters.Microstructure;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  drawn (signal scale, stored = {scale:0.###}·signal + offset) greys [{look.VoidGrey:0.0}, {look.CarbonGrey:0.0}, {look.LpsGrey:0.0}, {look.NmcGrey:0.0}] shine {look.ShineThroughStrength:0.00} over {look.ShineThroughDecaySlices:0.0} noise σ at NMC {scale * look.NoiseSigma(look.NmcGrey):0.0} "
                + $"textures {scale * look.NmcTexture:0.0}/{scale * look.LpsTexture:0.0} blur {look.BlurSigmaPx:0.00} fractions NMC {100 * m.NmcFraction:0.0} carbon {100 * m.CarbonFraction:0.0} void {100 * m.VoidFraction:0.0} crack share {m.CrackVoidFraction / Math.Max(1e-9, m.VoidFraction):0.00} NMC median {m.NmcMedianDiameterUm:0.0} µm pores {m.PoreMinRadiusUm:0.00}-{m.PoreMaxRadiusUm:0.00} µm"));

            // --spread: the forest learns from the estimated twin and from twins whose structure is varied around it
            // (crack share low and high, void 0.8 and 1.25 times), so that it does not learn one void fraction as its prior
            List<Twin> training = [twin!];
            if (spread)
                foreach (var (crack, voids) in new[] { (0.15, 0.8), (0.85, 0.8), (0.15, 1.25), (0.85, 1.25) })
                    training.Add(Render(TwinOptions(guess with { CrackShare = crack, Void = Math.Clamp(voids * guess.Void, 0.003, 0.25) }, null, depth, height, width, seed + 300_000 + training.Count)));
            if (TrainOn(training, seed, spread ? 20 : slices, perSlice, trees, tubeSigma) is not { } trainedFinal)
            {
                Console.WriteLine($"family {seed}: the twin's histogram gives no thresholds");
                continue;
            }
            var twinPipeline = PipelineLabels(twin!.Denoised, twin.Truth, tubeSigma);
            var (stackMeasured, twinMeasured, twinTruth) = (Metrics(memberPipeline), Metrics(twinPipeline), Metrics(twin.Truth));
            var truthMetrics = Metrics(member.Truth);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  twin bias of the pipeline: void {100 * (twinMeasured.Void - twinTruth.Void):+0.00;-0.00} pp, carbon {100 * (twinMeasured.Carbon - twinTruth.Carbon):+0.00;-0.00}, contact {100 * (twinMeasured.Contact - twinTruth.Contact):+0.00;-0.00}; "
                + $"stack's pipeline error void {100 * (stackMeasured.Void - truthMetrics.Void):+0.00;-0.00} carbon {100 * (stackMeasured.Carbon - truthMetrics.Carbon):+0.00;-0.00} contact {100 * (stackMeasured.Contact - truthMetrics.Contact):+0.00;-0.00}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"family {seed}: bias-corrected void {100 * (stackMeasured.Void - (twinMeasured.Void - twinTruth.Void) - truthMetrics.Void):+0.00;-0.00} pp, carbon {100 * (stackMeasured.Carbon - (twinMeasured.Carbon - twinTruth.Carbon) - truthMetrics.Carbon):+0.00;-0.00}, "
                + $"contact {100 * (stackMeasured.Contact - (twinMeasured.Contact - twinTruth.Contact) - truthMetrics.Contact):+0.00;-0.00}"));
            var classifier = trainedFinal.Classifier;
            var posteriors = SimulatedForestStudy.ProbabilitiesOf(classifier, member.Standardised);
            var labels = SimulatedForestStudy.ArgmaxLabels(posteriors, member.Truth, out _);
            var finalPriors = TruthPriors(training.Count == 1 ? twin!.Truth : Concatenated(training.Select(t => t.Truth)));
            var shifted = ClassPriorShift.EstimatePriors(posteriors, finalPriors);
            var adapted = SimulatedForestStudy.Score(SimulatedForestStudy.WeightedLabels(posteriors, member.Truth, [.. shifted.Select((p, c) => p / finalPriors[c])], out _), member.Truth);
            Console.WriteLine($"  with the member's EM priors: void {SimulatedForestStudy.Pp(adapted.VoidError)}, contact {SimulatedForestStudy.Pp(adapted.ContactError)}, carbon {SimulatedForestStudy.Pp(adapted.CarbonError)}");
            var (forest, unsupervised) = (SimulatedForestStudy.Score(labels, member.Truth), SimulatedForestStudy.Score(member.Unsupervised, member.Truth));
            forestOutcomes.Add(forest);
            unsupervisedOutcomes.Add(unsupervised);
            Console.WriteLine($"family {seed}: void unsupervised {SimulatedForestStudy.Pp(unsupervised.VoidError)} → estimated-twin forest {SimulatedForestStudy.Pp(forest.VoidError)}; "
                + $"contact {SimulatedForestStudy.Pp(unsupervised.ContactError)} → {SimulatedForestStudy.Pp(forest.ContactError)}; carbon {SimulatedForestStudy.Pp(unsupervised.CarbonError)} → {SimulatedForestStudy.Pp(forest.CarbonError)}; "
                + $"Dice void {SimulatedForestStudy.F(unsupervised.DiceVoid)} → {SimulatedForestStudy.F(forest.DiceVoid)}, carbon {SimulatedForestStudy.F(unsupervised.DiceCarbon)} → {SimulatedForestStudy.F(forest.DiceCarbon)} "
                + $"({watch.Elapsed.TotalSeconds:0} s)");
        }
        foreach (var (what, outcomes) in new[] { ("unsupervised", unsupervisedOutcomes), ("estimated twin", forestOutcomes) })
        {
            if (outcomes.Count == 0) continue;
            double Share(Func<SimulatedForestStudy.Outcome, bool> inside) => 100.0 * outcomes.Count(inside) / outcomes.Count;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{what}: void ±0.5 pp {Share(o => Math.Abs(o.VoidError) <= 0.5):0} %, ±1.5 pp {Share(o => Math.Abs(o.VoidError) <= 1.5):0} %, contact ±2 pp {Share(o => Math.Abs(o.ContactError) <= 2):0} %, "
                + $"mean |void error| {outcomes.Average(o => Math.Abs(o.VoidError)):0.00} pp"));
        }
        return 0;
    }

    private sealed record Twin(Volume<ushort> Stack, Volume<ushort> Denoised, Volume<byte> Truth);

    private static Twin Render(PhantomOptions options)
    {
        var phantom = CathodePhantom.Create(options);
        var stack = new Volume<ushort>(options.Depth, options.Height, options.Width);
        for (var z = 0; z < options.Depth; z++) phantom.RenderSlice16(z).Pixels.CopyTo(stack.Data, (long)z * stack.SliceLength);
        var denoised = Denoise.Gaussian(stack, SsbTomo.Segmentation.SegmentationSettings.DenoiseSigmaVoxels).ToUInt16();
        return new Twin(stack, denoised, phantom.RenderLabels(0, options.Depth));
    }

    private static async Task<Volume<ushort>> ReadAlignedAsync(string runDir)
    {
        var array = await OmeZarr.OpenLevelAsync<ushort>(new FileSystemBlobStore(runDir), new JobLayout("").Aligned, 0);
        return await array.ReadRegionAsync(0, array.Shape[0], 0, array.Shape[1], 0, array.Shape[2]);
    }

    /// <summary>Fractions (void, carbon, electrolyte, active material), the share of void next to active material and the mean runs along x.</summary>
    private sealed record Structure(double[] Fractions, double VoidOnNmcShare, double NmcChord, double VoidChord);

    /// <summary>The structure of a volume of classes 0..3 (void, carbon, electrolyte, active material).</summary>
    private static Structure StructureOf(byte[] classes, int depth, int height, int width)
    {
        var counts = new long[4];
        var (runs, voidNextToNmc) = (new long[4], 0L);
        long slice = (long)height * width;
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
            {
                var row = (z * slice) + ((long)y * width);
                for (var x = 0; x < width; x++)
                {
                    var i = row + x;
                    int l = classes[i];
                    counts[l]++;
                    if (x == 0 || classes[i - 1] != l) runs[l]++;
                    if (l == 0 && ((x > 0 && classes[i - 1] == 3) || (x < width - 1 && classes[i + 1] == 3) || (y > 0 && classes[i - width] == 3)
                        || (y < height - 1 && classes[i + width] == 3) || (z > 0 && classes[i - slice] == 3) || (z < depth - 1 && classes[i + slice] == 3)))
                        voidNextToNmc++;
                }
            }
        return new Structure(counts.Select(c => (double)c / classes.Length).ToArray(), counts[0] == 0 ? 0 : (double)voidNextToNmc / counts[0],
            runs[3] == 0 ? 0 : (double)counts[3] / runs[3], runs[0] == 0 ? 0 : (double)counts[0] / runs[0]);
    }

    /// <summary>The truth's fraction of each phase in the forest's class order (labels 1..4), the priors a forest trained on random truth pixels learns.</summary>
    private static double[] TruthPriors(Volume<byte> truth)
    {
        var counts = PhaseFractions.Count(truth);
        var total = (double)(counts[1] + counts[2] + counts[3] + counts[4]);
        return [.. Enumerable.Range(1, 4).Select(l => Math.Max(counts[l], 1) / total)];
    }

    /// <summary>
    /// The pipeline's unsupervised labels of a denoised stack, made again in process as `FinishedRun.Decide` and
    /// PhaseSegmentation make them (the stack's fit, fibre survey, carbon decision and shine-through correction).
    /// </summary>
    private static Volume<byte> PipelineLabels(Volume<ushort> denoised, Volume<byte> truth, double tubeSigma)
    {
        var intensity = new Volume<float>(denoised.Depth, denoised.Height, denoised.Width, Array.ConvertAll(denoised.Data, v => (float)v));
        var run = new FinishedRun(denoised, intensity, Histogram.Compute(denoised, 1024, 0, 65536), truth, VoxelSize.Isotropic(50));
        if (run.Decide(tubeSigma) is not { } decided) return new Volume<byte>(denoised.Depth, denoised.Height, denoised.Width);
        return PhaseSegmentation.Segment(intensity, decided.Carbon.Thresholds, decided.Carbon.ClassMeans, decided.Shine.Correction, tubeSigma);
    }

    private static (double Void, double Carbon, double Contact) Metrics(Volume<byte> labels)
    {
        var f = PhaseFractions.FromCounts(PhaseFractions.Count(labels));
        return (f.Void, f.Carbon, ContactLoss.Count(labels).LossFraction);
    }

    /// <summary>Phase labels (<see cref="PhaseLabel"/>) as classes 0..3 from dark to bright.</summary>
    private static byte[] ClassesOf(Volume<byte> labels) => Array.ConvertAll(labels.Data, l => (byte)(PhaseLabel.Void - l));

    /// <summary>The statistics of an aligned stack and its denoised volume; null when the histogram gives no fit.</summary>
    private static StackStatistics? Measure(Volume<ushort> stack, Volume<ushort> denoised)
    {
        var histogram = Histogram.Compute(denoised, 1024, 0, 65536);
        var fit = PhaseThresholds.FromHistogram(histogram, 4, 0, 65536);
        if (fit is null || fit.Thresholds.Length != 3) return null;
        var (depth, height, width) = (denoised.Depth, denoised.Height, denoised.Width);
        var labels = new byte[denoised.Length];
        for (long i = 0; i < labels.Length; i++)
        {
            var g = denoised.Data[i];
            labels[i] = (byte)(g < fit.Thresholds[0] ? 0 : g < fit.Thresholds[1] ? 1 : g < fit.Thresholds[2] ? 2 : 3);
        }
        var (residualSum, residualSquares, interior) = (new double[4], new double[4], new long[4]);
        long slice = (long)height * width;
        for (var z = 1; z < depth - 1; z++)
            for (var y = 1; y < height - 1; y++)
                for (var x = 1; x < width - 1; x++)
                {
                    var i = (z * slice) + ((long)y * width) + x;
                    int l = labels[i];
                    bool Same(long j) => labels[j] == l;
                    if (!(Same(i - 1) && Same(i + 1) && Same(i - width) && Same(i + width) && Same(i - slice) && Same(i + slice))) continue;
                    double r = stack.Data[i] - denoised.Data[i];
                    residualSum[l] += r;
                    residualSquares[l] += r * r;
                    interior[l]++;
                }
        var residual = Enumerable.Range(0, 4).Select(c => interior[c] < 2 ? 0 : Math.Sqrt(Math.Max(0, residualSquares[c] / interior[c] - Math.Pow(residualSum[c] / interior[c], 2)))).ToArray();
        var shine = ShineThroughEstimate.Estimate(ShineThroughEstimate.CountRuns(denoised, new SlabWindow(0, depth, 0, depth), TileWindow.Whole(height, width), fit.ClassMeans));
        var structure = StructureOf(labels, depth, height, width);
        return new StackStatistics(fit.ClassMeans, fit.Fit?.StandardDeviations ?? new double[4], structure.Fractions, structure.VoidOnNmcShare,
            structure.NmcChord, structure.VoidChord, residual, shine.Excess, DecayOf(shine), histogram);
    }

    /// <summary>
    /// The decay length (slices) the shine-through excess shows between distances 1 and 3 from the back wall
    /// (excess ∝ exp(−d/decay)), NaN when either distance has too few runs or no excess; biased (blur, short pores) as
    /// the twin's is, which is why it is matched, not used.
    /// </summary>
    private static double DecayOf(ShineThroughExcess shine)
    {
        const int near = 1, far = 3;
        if (shine.RunsPerDistance[near] < ShineThroughEstimate.MinimumRuns || shine.RunsPerDistance[far] < ShineThroughEstimate.MinimumRuns) return double.NaN;
        var (a, b) = (shine.MedianPerDistance[near], shine.MedianPerDistance[far]);
        if (!(a > 0.01 && b > 0)) return double.NaN;
        return b >= a ? 20 : Math.Min(20, (far - near) / Math.Log(a / b));
    }

    /// <summary>The start: the fit's means as greys, the residual as noise, the thresholded fractions, the family's middle sizes.</summary>
    private static TwinGuess FirstGuess(StackStatistics s)
    {
        var noise = s.Residual[3] * s.Residual[3] * 2;
        return new TwinGuess((double[])s.Means.Clone(), noise, 0, 0.03 * (s.Means[3] - s.Means[0]), 0.02 * (s.Means[3] - s.Means[0]),
            Math.Clamp(2.5 * s.Shine, 0, 0.8), 3, Math.Clamp(s.Fractions[3], 0.15, 0.6), Math.Clamp(s.Fractions[1], 0.003, 0.15),
            Math.Clamp(s.Fractions[0], 0.003, 0.25), 0.4, 3.5, 1);
    }

    /// <summary>One round of iterative bias correction of the appearance: each parameter moves by the gap between the stack's and the twin's statistic it drives.</summary>
    private static TwinGuess UpdateAppearance(TwinGuess g, StackStatistics stack, StackStatistics twin)
    {
        // damped: a mixture class that takes another mode on the twin than on the stack must not throw the greys across the range
        var step = 0.1 * (g.Greys[3] - g.Greys[0]);
        // SSBTOMO_TWIN_QUANTILE_GREYS=1: each grey moved to the stack's quantile at the share of the twin's denoised
        // voxels below it (histogram matching: continuous in the greys, where the mixture's classes can change mode)
        var quantile = Environment.GetEnvironmentVariable("SSBTOMO_TWIN_QUANTILE_GREYS") == "1";
        var greys = g.Greys.Select((v, c) => v + Math.Clamp(quantile ? QuantileOf(stack.Histogram, ShareBelow(twin.Histogram, v)) - v : stack.Means[c] - twin.Means[c], -step, step)).ToArray();
        for (var c = 1; c < 4; c++) greys[c] = Math.Max(greys[c], greys[c - 1] + 1);
        greys[0] = Math.Max(greys[0], 0);
        // noise: the variance at the electrolyte and active-material greys scaled by the residuals' ratio, a line through both
        double Variance(double grey) => g.NoiseVariance + g.NoiseSignalVariance * grey;
        double Wanted(int c) => Variance(g.Greys[c]) * Math.Pow(stack.Residual[c] / Math.Max(1e-6, twin.Residual[c]), 2);
        var slope = Math.Max(0, (Wanted(3) - Wanted(2)) / Math.Max(1, greys[3] - greys[2]));
        var offset = Math.Max(0, Wanted(2) - slope * greys[2]);
        double Ratio(int c) => Math.Clamp(stack.Deviations[c] / Math.Max(1e-6, twin.Deviations[c]), 0.5, 2);
        return g with
        {
            Greys = greys,
            NoiseVariance = offset,
            NoiseSignalVariance = slope,
            NmcTexture = Math.Clamp(g.NmcTexture * Ratio(3), 0, 0.3 * (greys[3] - greys[0])),
            LpsTexture = Math.Clamp(g.LpsTexture * Ratio(2), 0, 0.3 * (greys[3] - greys[0])),
            Shine = Math.Clamp(g.Shine + 2 * (stack.Shine - twin.Shine), 0, 0.8),
            Decay = double.IsNaN(stack.ShineDecay) || double.IsNaN(twin.ShineDecay) ? g.Decay : Math.Clamp(g.Decay * stack.ShineDecay / twin.ShineDecay, 1, 10),
        };
    }

    private const double BinWidth = 65536.0 / 1024;

    /// <summary>The share of a histogram's voxels below a grey (linear within its bin).</summary>
    private static double ShareBelow(long[] histogram, double grey)
    {
        var total = (double)histogram.Sum();
        var bin = Math.Clamp((int)(grey / BinWidth), 0, histogram.Length - 1);
        long below = 0;
        for (var b = 0; b < bin; b++) below += histogram[b];
        return (below + histogram[bin] * Math.Clamp(grey / BinWidth - bin, 0, 1)) / total;
    }

    /// <summary>The grey below which a share of a histogram's voxels lie (linear within the bin).</summary>
    private static double QuantileOf(long[] histogram, double share)
    {
        var wanted = share * histogram.Sum();
        double below = 0;
        for (var b = 0; b < histogram.Length; b++)
        {
            if (below + histogram[b] >= wanted && histogram[b] > 0) return (b + (wanted - below) / histogram[b]) * BinWidth;
            below += histogram[b];
        }
        return 65535;
    }

    private static Volume<byte> Concatenated(IEnumerable<Volume<byte>> volumes)
    {
        var all = volumes.ToList();
        var data = all.SelectMany(v => v.Data).ToArray();
        return new Volume<byte>(all.Sum(v => v.Depth), all[0].Height, all[0].Width, data);
    }

    /// <summary>The guess with the fractions of a structure (sizes and crack share left as they are).</summary>
    private static TwinGuess WithStructure(TwinGuess g, Structure s) => g with
    {
        Nmc = Math.Clamp(s.Fractions[3], 0.15, 0.6),
        Carbon = Math.Clamp(s.Fractions[1], 0.003, 0.15),
        Void = Math.Clamp(s.Fractions[0], 0.003, 0.25),
    };

    /// <summary>The stack's structure less the pipeline's bias on the twin, statistic by statistic (ratios for the chords).</summary>
    private static Structure Corrected(Structure stack, Structure twinPipeline, Structure twinTruth) => new(
        [.. stack.Fractions.Select((f, c) => Math.Max(0.001, f - (twinPipeline.Fractions[c] - twinTruth.Fractions[c])))],
        Math.Clamp(stack.VoidOnNmcShare - (twinPipeline.VoidOnNmcShare - twinTruth.VoidOnNmcShare), 0, 1),
        stack.NmcChord * twinTruth.NmcChord / Math.Max(1, twinPipeline.NmcChord),
        stack.VoidChord * twinTruth.VoidChord / Math.Max(1, twinPipeline.VoidChord));

    /// <summary>One round of iterative bias correction of the microstructure from the same structure statistic of the stack and of the twin.</summary>
    private static TwinGuess UpdateStructure(TwinGuess g, Structure stack, Structure twin) => g with
    {
        Nmc = Math.Clamp(g.Nmc + stack.Fractions[3] - twin.Fractions[3], 0.15, 0.6),
        Carbon = Math.Clamp(g.Carbon + stack.Fractions[1] - twin.Fractions[1], 0.003, 0.15),
        Void = Math.Clamp(g.Void + stack.Fractions[0] - twin.Fractions[0], 0.003, 0.25),
        CrackShare = Math.Clamp(g.CrackShare + 1.5 * (stack.VoidOnNmcShare - twin.VoidOnNmcShare), 0, 0.9),
        NmcMedianUm = Math.Clamp(g.NmcMedianUm * stack.NmcChord / Math.Max(1, twin.NmcChord), 1.5, 8),
        PoreScale = Math.Clamp(g.PoreScale * stack.VoidChord / Math.Max(1, twin.VoidChord), 0.4, 4),
    };

    /// <summary>A forest trained on the twin's truth (standardised at its own class means, as the stack is), and the standardised twin; null without thresholds.</summary>
    private static (PixelClassifier Classifier, Volume<ushort> Standardised)? TrainOn(Twin twin, int seed, int slices, int perSlice, int trees, double tubeSigma) =>
        TrainOn([twin], seed, slices, perSlice, trees, tubeSigma);

    /// <summary>A forest trained on the pooled truth of several twins (the slices shared out among them), and the first twin standardised.</summary>
    private static (PixelClassifier Classifier, Volume<ushort> Standardised)? TrainOn(IReadOnlyList<Twin> twins, int seed, int slices, int perSlice, int trees, double tubeSigma)
    {
        var samples = new List<LabelledImage>();
        Volume<ushort>? first = null;
        for (var k = 0; k < twins.Count; k++)
        {
            var twin = twins[k];
            var twinRun = new FinishedRun(twin.Denoised, new Volume<float>(1, 1, 1), Histogram.Compute(twin.Denoised, 1024, 0, 65536), twin.Truth, VoxelSize.Isotropic(50));
            if (twinRun.Decide(tubeSigma) is not { } decided) return null;
            var standardised = SimulatedForestStudy.Standardise(twin.Stack, decided.Carbon.ClassMeans);
            first ??= standardised;
            var twinMember = new SimulatedForestStudy.Member($"twin-{seed}-{k}", standardised, twin.Truth, twin.Truth);
            samples.AddRange(SimulatedForestStudy.TruthSamples(twinMember, Math.Max(2, slices / twins.Count), perSlice, new Random(seed + k)));
        }
        var (trained, _) = PixelClassifier.Train(samples, PhaseLabel.Names.ToArray(), 16,
            PixelFeatures.Default, new ForestSettings(Trees: trees, MaxDepth: 20, MaxSamplesPerTree: 200_000), priorShift: 0);
        return (PixelClassifier.Load(trained.Manifest with { PhaseMeanGrey = [] }, trained.Forest.ToBytes()), first!);
    }

    private static PhantomOptions TwinOptions(TwinGuess g, MicrostructureParameters? drawnStructure, int depth, int height, int width, int seed)
    {
        var decay = g.Decay;
        var look = new PhantomAppearance
        {
            VoidGrey = g.Greys[0], CarbonGrey = g.Greys[1], LpsGrey = g.Greys[2], NmcGrey = g.Greys[3],
            NmcParticleOffset = g.NmcTexture, NmcTexture = g.NmcTexture, LpsTexture = g.LpsTexture, TextureScaleUm = 0.3,
            ShineThroughStrength = g.Shine, ShineThroughDecaySlices = decay, ShineThroughDepth = (int)Math.Ceiling(3 * decay) + 1,
            BlurSigmaPx = 1.0,
            CurtainAmplitudeMin = 0, CurtainAmplitudeMax = 0, ChargingPlaneMin = 0, ChargingPlaneMax = 0, ChargingBumpMin = 0, ChargingBumpMax = 0,
            GainDriftSlowMin = 0, GainDriftSlowMax = 0, GainDriftFastMin = 0, GainDriftFastMax = 0,
            NoiseVariance = g.NoiseVariance, NoiseSignalVariance = g.NoiseSignalVariance,
            BitDepth = 16, OutputGain = 1, OutputOffset = 0,
        };
        return new PhantomOptions(PhantomPreset.Pristine, depth, height, width, 50, seed)
        {
            Parameters = new PhantomParameters(drawnStructure ?? Microstructure(g), look),
            Stationary = true,
        };
    }

    /// <summary>
    /// The drawn microstructure with one part replaced (SSBTOMO_TWIN_STRUCTURE_ABLATE): `void-` / `void+` the void
    /// (pores and cracks alike) at 0.7 / 1.3 times the drawn, `kind` the crack share at the mixed middle (0.45), `sizes`
    /// the particles' median diameter at 3.5 µm and the pores at 0.15-0.45 µm: how far from the stack's structure the
    /// twin may be before its bias stops being the stack's.
    /// </summary>
    private static MicrostructureParameters Ablated(MicrostructureParameters drawn)
    {
        var m = drawn;
        foreach (var part in (Environment.GetEnvironmentVariable("SSBTOMO_TWIN_STRUCTURE_ABLATE") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            m = part switch
            {
                "void-" => m with { VoidFraction = 0.7 * m.VoidFraction, CrackVoidFraction = 0.7 * m.CrackVoidFraction },
                "void+" => m with { VoidFraction = 1.3 * m.VoidFraction, CrackVoidFraction = 1.3 * m.CrackVoidFraction },
                "kind" => m with { CrackVoidFraction = 0.45 * m.VoidFraction },
                "sizes" => m with
                {
                    NmcMedianDiameterUm = 3.5,
                    NmcMinDiameterUm = 3.5 * m.NmcMinDiameterUm / m.NmcMedianDiameterUm,
                    NmcMaxDiameterUm = 3.5 * m.NmcMaxDiameterUm / m.NmcMedianDiameterUm,
                    PoreMinRadiusUm = 0.15,
                    PoreMaxRadiusUm = 0.45,
                },
                _ => throw new ArgumentException($"unknown structure ablation {part}"),
            };
        }
        return m;
    }

    /// <summary>A microstructure with the guessed fractions, crack share and sizes, everything else at the middle of the family's ranges.</summary>
    private static MicrostructureParameters Microstructure(TwinGuess g)
    {
        var crack = g.Void * g.CrackShare;
        var severity = Math.Clamp(crack / g.Nmc / (0.064 / 0.38), 0, 2);
        var overlapMin = 0.02 + (0.25 - 0.02) * Math.Clamp((g.Nmc - 0.35) / (0.55 - 0.35), 0, 1) * 0.8;
        var thicknessMin = Math.Clamp(0.8 * severity, 0.15, 1.2);
        return new MicrostructureParameters
        {
            NmcFraction = g.Nmc,
            CarbonFraction = g.Carbon,
            VoidFraction = g.Void,
            CrackVoidFraction = crack,
            NmcMedianDiameterUm = g.NmcMedianUm,
            NmcLogSigma = 0.3,
            NmcMinDiameterUm = 0.55 * g.NmcMedianUm,
            NmcMaxDiameterUm = 1.95 * g.NmcMedianUm,
            NmcContactOverlap = Math.Min(0.25, overlapMin + 0.025),
            NmcPoolFraction = Math.Max(0.40, g.Nmc + 0.05),
            UndoOvershoot = true,
            FibreMinDiameterUm = 0.15,
            FibreMaxDiameterUm = 0.24,
            FibreMinLengthUm = 2,
            FibreMaxLengthUm = 5,
            PoreMinRadiusUm = Math.Clamp(0.15 * g.PoreScale, 0.05, 0.5),
            PoreMaxRadiusUm = Math.Clamp(0.45 * g.PoreScale, 0.1, 1.5),
            PoreMinAspect = 0.55,
            PoreMaxAspect = 0.8,
            NmcAdjacentPoreRejection = 0.6,
            CrackConeMinDeg = 18,
            CrackConeMaxDeg = 31,
            CrackMaxThicknessMinUm = thicknessMin,
            CrackMaxThicknessMaxUm = Math.Clamp(1.75 * thicknessMin, 0.3, 2.4),
            FlakesMax = severity >= 0.25 ? 2 : 0,
            SecondFlakeProbability = 0.4,
            FlakeRadiusMinUm = 2.25,
            FlakeRadiusMaxUm = 3.75,
            FlakeHalfThicknessMinUm = 0.2,
            FlakeHalfThicknessMaxUm = 0.35,
        };
    }
}
