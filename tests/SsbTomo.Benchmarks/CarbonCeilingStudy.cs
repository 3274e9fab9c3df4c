using System.Globalization;
using SsbTomo.Cli;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Phantom;

namespace SsbTomo.Benchmarks;

/// <summary>
/// How much carbon Dice the blur leaves reachable, per family member, beside what the pipeline gets. For each member
/// the phantom's truth is rendered (no drift, no noise) and three ceilings are measured against it:
/// <list type="bullet">
/// <item>majority: the truth's carbon indicator blurred with the phantom's own in-plane PSF (σ from its drawn
/// parameters) and kept where carbon is at least half of what the PSF sees: what a decision that knew every voxel's
/// phase mixture exactly (perfect unmixing, no noise) but not the sharp shapes would reach; "best t" is the best
/// threshold on that mixture instead of 0.5;</item>
/// <item>grey: a noise-free image of the phases' drawn grey levels, blurred with the PSF and then with the pipeline's
/// 3D denoising Gaussian (σ 0.8 voxels, SegmentationSettings.DenoiseSigmaVoxels), classified by the best carbon grey
/// interval chosen with the truth: the ceiling of any per-voxel grey-level rule without noise ("mid": the interval
/// between the midpoints of the drawn means, what a perfect class-mean fit gives).</item>
/// </list>
/// With <c>--runs DIR</c> (a sweep's <c>--keep</c> directory, DIR/family-N/{phantom,run}) it adds the run's carbon
/// Dice, the best grey interval on the run's own denoised volume (noise, drift residue and shine-through included),
/// where the truth's carbon went in the run's labels, and what the run called carbon that was not.
/// Each member also prints a contact-loss ceiling: every voxel given the phase with the most of the PSF's weight (the
/// blurred truth indicators' argmax), its void and contact-loss errors against the truth.
/// Usage: `-- carbon --ceiling [--first 1] [--draws 24] [--shape 64,192,224] [--runs DIR]`.
/// </summary>
internal static class CarbonCeilingStudy
{
    /// <summary>The segmentation stage's denoising σ (SegmentationSettings.DenoiseSigmaVoxels, not referenced by the benchmarks).</summary>
    private const double DenoiseSigmaVoxels = 0.8;

    public static async Task<int> RunAsync(string[] args)
    {
        int[] shape = [64, 192, 224];
        var (first, draws) = (1, 24);
        string? runs = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--first" when i + 1 < args.Length: first = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--draws" when i + 1 < args.Length: draws = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--shape" when i + 1 < args.Length: shape = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--runs" when i + 1 < args.Length: runs = args[++i]; break;
                default:
                    Console.Error.WriteLine("usage: SsbTomo.Benchmarks carbon --ceiling [--first N] [--draws K] [--shape D,H,W] [--runs DIR]");
                    return 2;
            }
        }
        Console.WriteLine("| member | carbon % | blur σ px | fibre Ø px | majority | best t | grey best | grey mid | run grey best | run Dice | truth carbon → void/LPS/NMC % | run carbon from void/LPS/NMC % | visible carbon found % |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var rows = new List<(double Majority, double GreyBest, double RunDice)>();
        for (var seed = first; seed < first + draws; seed++)
        {
            var options = PhantomFamily.Draw(seed, shape[0], shape[1], shape[2]);
            var parameters = options.Resolved;
            var look = parameters.Appearance;
            var phantom = CathodePhantom.Create(options);
            var truth = phantom.RenderLabels(0, options.Depth);
            var isCarbon = Array.ConvertAll(truth.Data, l => l == PhaseLabel.Carbon);
            var carbonShare = (double)isCarbon.Count(c => c) / isCarbon.Length;

            var mixture = BlurInPlane(new Volume<float>(truth.Depth, truth.Height, truth.Width,
                Array.ConvertAll(truth.Data, l => l == PhaseLabel.Carbon ? 1f : 0f)), look.BlurSigmaPx);
            var majority = Dice(isCarbon, mixture.Data, 0.5f, float.PositiveInfinity);
            var bestThreshold = BestInterval(isCarbon, mixture.Data, 0, 1, lowerOnly: true).Dice;

            double[] greyOf = new double[PhaseLabel.Count];
            greyOf[PhaseLabel.Void] = look.VoidGrey;
            greyOf[PhaseLabel.Carbon] = look.CarbonGrey;
            greyOf[PhaseLabel.Lps] = look.LpsGrey;
            greyOf[PhaseLabel.Nmc] = look.NmcGrey;
            var ideal = BlurInPlane(new Volume<float>(truth.Depth, truth.Height, truth.Width, Array.ConvertAll(truth.Data, l => (float)greyOf[l])), look.BlurSigmaPx);
            ideal = Blur(ideal, DenoiseSigmaVoxels, DenoiseSigmaVoxels);
            var greyBest = BestInterval(isCarbon, ideal.Data, look.VoidGrey, look.NmcGrey, lowerOnly: false).Dice;
            var greyMid = Dice(isCarbon, ideal.Data, (float)(0.5 * (look.VoidGrey + look.CarbonGrey)), (float)(0.5 * (look.CarbonGrey + look.LpsGrey)));

            var runCells = "- | - | - | - | -";
            var runDice = double.NaN;
            var name = $"family-{seed}";
            if (runs is not null && File.Exists(Path.Combine(runs, name, "run", "metrics.json")))
            {
                var (phantomDir, runDir) = (Path.Combine(runs, name, "phantom"), Path.Combine(runs, name, "run"));
                var comparison = await PhantomComparison.LoadAsync(phantomDir, runDir);
                runDice = comparison.Dice["carbon"];
                var run = await FinishedRun.LoadAsync(phantomDir, runDir);
                var labels = await RunLabels.LoadAsync(runDir);
                var cropped = CropLike(mixture, run.Truth, phantomDir, runDir);
                runCells = Gap(run, labels, cropped, runDice);
            }
            // The contact-loss ceiling: every voxel takes the phase with the most of the PSF's weight (perfect unmixing,
            // no noise, no shine-through); its void and contact-loss errors are what blur alone leaves to any per-voxel decision.
            var blurred = new Volume<float>[PhaseLabel.Count];
            foreach (var phase in new[] { PhaseLabel.Void, PhaseLabel.Carbon, PhaseLabel.Lps, PhaseLabel.Nmc })
                blurred[phase] = BlurInPlane(new Volume<float>(truth.Depth, truth.Height, truth.Width, Array.ConvertAll(truth.Data, l => l == phase ? 1f : 0f)), look.BlurSigmaPx);
            var majorityLabels = new Volume<byte>(truth.Depth, truth.Height, truth.Width);
            for (var i = 0; i < majorityLabels.Data.Length; i++)
            {
                byte best = PhaseLabel.Void;
                foreach (var phase in new[] { PhaseLabel.Carbon, PhaseLabel.Lps, PhaseLabel.Nmc })
                    if (blurred[phase].Data[i] > blurred[best].Data[i]) best = phase;
                majorityLabels.Data[i] = best;
            }
            var truthFractions = PhaseFractions.FromCounts(PhaseFractions.Count(truth));
            var majorityFractions = PhaseFractions.FromCounts(PhaseFractions.Count(majorityLabels));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"contact ceiling {seed}: blur {look.BlurSigmaPx:0.00} px, void {100 * truthFractions.Void:0.00} % → majority {100 * (majorityFractions.Void - truthFractions.Void):+0.00;-0.00} pp, contact loss {100 * ContactLoss.Count(truth).LossFraction:0.00} % → majority {100 * (ContactLoss.Count(majorityLabels).LossFraction - ContactLoss.Count(truth).LossFraction):+0.00;-0.00} pp"));
            rows.Add((majority, greyBest, runDice));
            var micro = parameters.Microstructure;
            var pxPerUm = 1000 / options.VoxelNm;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {seed} | {100 * carbonShare:0.0} | {look.BlurSigmaPx:0.00} | {micro.FibreMinDiameterUm * pxPerUm:0.0}-{micro.FibreMaxDiameterUm * pxPerUm:0.0} | {majority:0.000} | {bestThreshold:0.000} | {greyBest:0.000} | {greyMid:0.000} | {runCells} |"));
        }
        static double Median(IEnumerable<double> xs)
        {
            var s = xs.Where(x => !double.IsNaN(x)).Order().ToArray();
            return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median: majority {Median(rows.Select(r => r.Majority)):0.000}, grey best {Median(rows.Select(r => r.GreyBest)):0.000}, run {Median(rows.Select(r => r.RunDice)):0.000}"));
        return 0;
    }

    /// <summary>The run's cells: best grey interval on its denoised volume, its Dice, where carbon went and came from, and the share of visible carbon found.</summary>
    private static string Gap(FinishedRun run, Volume<byte> labels, Volume<float> mixture, double runDice)
    {
        var truth = run.Truth;
        var isCarbon = Array.ConvertAll(truth.Data, l => l == PhaseLabel.Carbon);
        var (lo, hi) = (run.Intensity.Data.Min(), run.Intensity.Data.Max());
        var runBest = BestInterval(isCarbon, run.Intensity.Data, lo, hi, lowerOnly: false).Dice;
        var went = new long[PhaseLabel.Count];
        var came = new long[PhaseLabel.Count];
        long visible = 0, visibleFound = 0;
        for (var i = 0; i < truth.Data.Length; i++)
        {
            if (truth.Data[i] == PhaseLabel.Carbon) went[labels.Data[i]]++;
            if (labels.Data[i] == PhaseLabel.Carbon) came[truth.Data[i]]++;
            if (truth.Data[i] == PhaseLabel.Carbon && mixture.Data[i] >= 0.5f)
            {
                visible++;
                if (labels.Data[i] == PhaseLabel.Carbon) visibleFound++;
            }
        }
        var (wentTotal, cameTotal) = (Math.Max(1, went.Sum()), Math.Max(1, came.Sum()));
        string Shares(long[] counts, long total) => string.Create(CultureInfo.InvariantCulture,
            $"{100.0 * counts[PhaseLabel.Void] / total:0}/{100.0 * counts[PhaseLabel.Lps] / total:0}/{100.0 * counts[PhaseLabel.Nmc] / total:0}");
        return string.Create(CultureInfo.InvariantCulture,
            $"{runBest:0.000} | {runDice:0.000} | {Shares(went, wentTotal)} | {Shares(came, cameTotal)} | {100.0 * visibleFound / Math.Max(1, visible):0}");
    }

    /// <summary>The full-field mixture cut to the run's crop (the truth the run is compared with is the same cut).</summary>
    private static Volume<float> CropLike(Volume<float> full, Volume<byte> croppedTruth, string phantomDir, string runDir)
    {
        using var alignment = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(runDir, "alignment.json")));
        var crop = alignment.RootElement.GetProperty("crop_yx").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var result = new Volume<float>(croppedTruth.Depth, croppedTruth.Height, croppedTruth.Width);
        for (var z = 0; z < result.Depth; z++)
            for (var y = 0; y < result.Height; y++)
                for (var x = 0; x < result.Width; x++)
                    result[z, y, x] = full[z, crop[0] + y, crop[2] + x];
        _ = phantomDir;
        return result;
    }

    private static double Dice(bool[] truth, float[] values, float from, float below)
    {
        long both = 0, inTruth = 0, inRule = 0;
        for (var i = 0; i < truth.Length; i++)
        {
            var rule = values[i] >= from && values[i] < below;
            if (truth[i]) inTruth++;
            if (rule) inRule++;
            if (rule && truth[i]) both++;
        }
        return inTruth + inRule == 0 ? double.NaN : 2.0 * both / (inTruth + inRule);
    }

    /// <summary>The interval [from, below) of <paramref name="values"/> (on 512 bins of [lo, hi]) with the best Dice against the truth; lowerOnly: [from, ∞).</summary>
    private static (double Dice, double From, double Below) BestInterval(bool[] truth, float[] values, double lo, double hi, bool lowerOnly)
    {
        const int bins = 512;
        var positive = new long[bins + 1];
        var all = new long[bins + 1];
        var width = (hi - lo) / bins;
        long totalPositive = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var b = Math.Clamp((int)((values[i] - lo) / width), 0, bins - 1);
            all[b + 1]++;
            if (truth[i]) { positive[b + 1]++; totalPositive++; }
        }
        for (var b = 1; b <= bins; b++) { positive[b] += positive[b - 1]; all[b] += all[b - 1]; }
        var best = (Dice: 0.0, From: lo, Below: hi);
        for (var from = 0; from < bins; from++)
            for (var below = lowerOnly ? bins : from + 1; below <= bins; below++)
            {
                var hit = positive[below] - positive[from];
                var called = all[below] - all[from];
                var dice = 2.0 * hit / (totalPositive + called);
                if (dice > best.Dice) best = (dice, lo + from * width, lo + below * width);
            }
        return best;
    }

    /// <summary>The in-plane Gaussian of the phantom's PSF (each slice on its own), 'reflect' edges.</summary>
    private static Volume<float> BlurInPlane(Volume<float> volume, double sigmaPx) => Blur(volume, 0, sigmaPx);

    /// <summary>Separable Gaussian, σ along z and σ in-plane (0: none), 4σ truncation and 'reflect' edges as <see cref="Denoise.Gaussian"/>.</summary>
    private static Volume<float> Blur(Volume<float> volume, double sigmaZ, double sigmaYx)
    {
        var current = volume;
        if (sigmaYx > 0)
        {
            current = Pass(current, Denoise.GaussianKernel(sigmaYx), 2);
            current = Pass(current, Denoise.GaussianKernel(sigmaYx), 1);
        }
        if (sigmaZ > 0) current = Pass(current, Denoise.GaussianKernel(sigmaZ), 0);
        return current;
    }

    private static Volume<float> Pass(Volume<float> input, double[] kernel, int axis)
    {
        var (depth, height, width) = (input.Depth, input.Height, input.Width);
        var output = new Volume<float>(depth, height, width);
        var radius = kernel.Length / 2;
        var length = axis == 0 ? depth : axis == 1 ? height : width;
        static int Reflect(int i, int n)
        {
            while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
            return i;
        }
        Parallel.For(0, depth, z =>
        {
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var position = axis == 0 ? z : axis == 1 ? y : x;
                    var sum = 0.0;
                    for (var k = -radius; k <= radius; k++)
                    {
                        var p = Reflect(position + k, length);
                        sum += kernel[k + radius] * (axis == 0 ? input[p, y, x] : axis == 1 ? input[z, p, x] : input[z, y, p]);
                    }
                    output[z, y, x] = (float)sum;
                }
        });
        return output;
    }
}

/// <summary>A finished run's labels (the whole labels.zarr level 0).</summary>
internal static class RunLabels
{
    public static async Task<Volume<byte>> LoadAsync(string runDir)
    {
        var array = await Storage.OmeZarr.OpenLevelAsync<byte>(new Storage.FileSystemBlobStore(runDir), new Storage.JobLayout("").Labels, 0);
        return await array.ReadRegionAsync(0, array.Shape[0], 0, array.Shape[1], 0, array.Shape[2]);
    }
}
