using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Classification;

/// <summary>A model does not fit the images or the phase table it was asked to segment; the message says how.</summary>
public sealed class ModelMismatchException(string message) : Exception(message);

/// <summary>
/// One training image and its sparse labels: 0 unlabelled, 1..k the phases in the phase table's order. An image that is
/// a slice of a stack carries the stack (<see cref="InStack"/>) so that the z-context features see its neighbours; a
/// lone image is a stack of one slice.
/// </summary>
public sealed record LabelledImage(string Name, Image2D<ushort> Image, Image2D<byte> Labels)
{
    /// <summary>The stack the image is slice <see cref="Z"/> of; null for a lone image.</summary>
    public Volume<ushort>? Stack { get; private init; }

    public int Z { get; private init; }

    /// <summary>Slice <paramref name="z"/> of <paramref name="stack"/>, labelled.</summary>
    public static LabelledImage InStack(string name, Volume<ushort> stack, int z, Image2D<byte> labels) =>
        new(name, new Image2D<ushort>(stack.Height, stack.Width, stack.Slice(z).ToArray()), labels) { Stack = stack, Z = z };
}

/// <summary>
/// What a model was trained with and on, kept beside the forest so that a model never runs on what it does not fit:
/// the phase table (names in label order 1..k), the grey-level bit depth, the feature bank and the formats' versions.
/// </summary>
public sealed record PixelClassifierManifest(
    int FormatVersion,
    string Library,
    IReadOnlyList<string> Phases,
    int BitDepth,
    IReadOnlyList<FeatureSpec> Features,
    IReadOnlyList<string> FeatureNames,
    ForestSettings Forest,
    IReadOnlyList<string> TrainedOn)
{
    /// <summary>
    /// Each phase's mean grey level over its labelled pixels (phase-table order), which orders the phases dark to bright
    /// for the mixel clean-up (<see cref="PixelClassifier.SegmentStack"/>); empty: no clean-up.
    /// </summary>
    public IReadOnlyList<double> PhaseMeanGrey { get; init; } = [];

    /// <summary>
    /// Each phase's share of the training images estimated from the forest's posteriors (phase-table order), towards
    /// which the forest's posteriors were shifted from the strokes' shares (<see cref="ClassPriorShift"/>); empty: not shifted.
    /// </summary>
    public IReadOnlyList<double> PhasePriors { get; init; } = [];

    /// <summary>
    /// The model file format this build writes and reads. 2: the feature bank has z-context features (a feature names
    /// its reach along z); a version-1 model's 2D features would be computed the same, but it is refused rather than
    /// read so that one build reads one format.
    /// </summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>A model folder's (and a job's model blob prefix's) manifest file and forest file.</summary>
    public const string FileName = "model.json", ForestFileName = "forest.bin";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // σ as σ: the file is read by people
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads <see cref="ToJson"/>; a model of another format version is refused with the versions named.</summary>
    public static PixelClassifierManifest FromJson(string json)
    {
        PixelClassifierManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<PixelClassifierManifest>(json, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the model manifest is not valid: {e.Message}", e);
        }
        if (manifest is null) throw new InvalidDataException("the model manifest is empty");
        if (manifest.FormatVersion != CurrentFormatVersion)
            throw new ModelMismatchException($"the model is format version {manifest.FormatVersion} ({manifest.Library}); this build reads version {CurrentFormatVersion}: train it again with this build");
        if (manifest.Phases is null || manifest.Features is null || manifest.Forest is null)
            throw new InvalidDataException("the model manifest lacks its phases, features or forest settings");
        return manifest;
    }

    /// <summary>
    /// Throws <see cref="ModelMismatchException"/>, naming <paramref name="source"/> (the model.json it came from), unless
    /// the model fits the pipeline's segmentation stage: the phase table <see cref="PhaseLabel.Names"/> in label order
    /// (nmc, lps, carbon, void: the labels the metrics read) and 16-bit grey levels (the stage classifies the aligned
    /// stack, aligned.zarr, which is always uint16 whatever the source's bit depth).
    /// </summary>
    public void CheckForPipeline(string source)
    {
        if (!Phases.SequenceEqual(PhaseLabel.Names, StringComparer.Ordinal))
            throw new ModelMismatchException(
                $"{source}: the model was trained for phases {string.Join(",", Phases)}, but `ssbtomo run` writes labels 1..{PhaseLabel.Names.Count} as {string.Join(",", PhaseLabel.Names)} "
                + $"(the metrics read them so): train it with --phases {string.Join(",", PhaseLabel.Names)}");
        if (BitDepth != 16)
            throw new ModelMismatchException(
                $"{source}: the model was trained on {BitDepth}-bit images, but `ssbtomo run` classifies the aligned stack (aligned.zarr), which is 16-bit: "
                + "train it on 16-bit slices of an aligned stack");
    }

    /// <summary>Throws <see cref="ModelMismatchException"/> unless <paramref name="phases"/> and <paramref name="bitDepth"/> are the model's.</summary>
    public void Check(IReadOnlyList<string> phases, int bitDepth)
    {
        if (!phases.SequenceEqual(Phases, StringComparer.Ordinal))
            throw new ModelMismatchException(
                $"the model was trained for phases {string.Join(",", Phases)} (labels 1..{Phases.Count} in that order), not {string.Join(",", phases)}: pass --phases {string.Join(",", Phases)} or train a model for this phase table");
        if (bitDepth != BitDepth)
            throw new ModelMismatchException(
                $"the model was trained on {BitDepth}-bit images and these are {bitDepth}-bit: its grey-level splits would not mean the same; train a model on {bitDepth}-bit images");
    }
}

/// <summary>
/// Trainable segmentation as ilastik's pixel classification does it (Berg et al. 2019, Nat. Methods 16:1226): a few
/// labelled strokes on a few images, the <see cref="PixelFeatures"/> bank at every labelled pixel, a
/// <see cref="RandomForest"/> trained on them, and every pixel of new images classified from the same features.
/// Images are segmented tile by tile with the feature bank's halo, so the labels are the same for any tile size and
/// memory follows the tile.
/// </summary>
public sealed class PixelClassifier
{
    /// <summary>Owned tile side used when none is given: 512 + 2·30 halo keeps one tile's 33 planes near 43 MB.</summary>
    public const int DefaultTileSize = 512;

    public const int MinPhases = 2;
    public const int MaxPhases = 6;

    private PixelClassifier(PixelClassifierManifest manifest, RandomForest forest)
    {
        Manifest = manifest;
        Forest = forest;
    }

    public PixelClassifierManifest Manifest { get; }
    public RandomForest Forest { get; }

    /// <summary>The library that wrote a model: assembly name and version.</summary>
    public static string LibraryVersion
    {
        get
        {
            var name = typeof(PixelClassifier).Assembly.GetName();
            return $"{name.Name} {name.Version}";
        }
    }

    /// <summary>Validates a phase table: 2..6 distinct, non-empty names without commas.</summary>
    public static void CheckPhases(IReadOnlyList<string> phases)
    {
        if (phases.Count < MinPhases || phases.Count > MaxPhases)
            throw new ArgumentException($"a phase table has {MinPhases} to {MaxPhases} phases, got {phases.Count} ({string.Join(",", phases)})", nameof(phases));
        if (phases.Any(p => string.IsNullOrWhiteSpace(p) || p.Contains(',')))
            throw new ArgumentException($"phase names must be non-empty and without commas: {string.Join(",", phases)}", nameof(phases));
        if (phases.Distinct(StringComparer.Ordinal).Count() != phases.Count)
            throw new ArgumentException($"phase names must differ: {string.Join(",", phases)}", nameof(phases));
    }

    /// <summary>Pixels of the training images, labelled or not, whose posteriors estimate the phases' fractions (an even stride over them).</summary>
    public const int MaxPriorPixels = 200_000;

    /// <summary>
    /// How far <see cref="Train"/> moves the forest's posteriors from the strokes' phase fractions to the training images'
    /// estimated ones, as a power of the weights π̂_c/π_stroke,c (0: not at all, 1: the whole way; <see cref="ClassPriorShift"/>).
    /// Strokes give each phase about the same number of pixels, so a phase that fills 1-2 % of a slice (a cathode's void)
    /// is called as often as one that fills half of it wherever the features leave them ambiguous: bulk electrolyte
    /// read as void where shine-through lit the void strokes up to its grey level. The whole shift overshoots: strokes
    /// keep off the rims, the forest calls a pore's rim an intermediate phase (the mixel clean-up gives it back
    /// later), so the estimated void fraction is low (about half the truth on family 5) and the full weights then push
    /// the rims out of the void too. Half the shift in log space, priors √(π̂·π_stroke), measured on the trainable-family
    /// study (2D+z void Dice; 1: whole shift): family 1-12 median 0.906 (0 and 0.5) / 0.904 (1), family 13-24
    /// 0.901 / 0.905 / 0.905, beating the unsupervised path on 10 / 11 / 8 of 12 there (family 19: 0.481 / 0.681 / 0.631).
    /// </summary>
    public const double DefaultPriorShift = 0.5;

    /// <summary>
    /// Trains on the labelled pixels of <paramref name="images"/>. Every phase must have labelled pixels; a label above
    /// the phase count, or labels of another size than their image, are refused with the image named.
    /// With <paramref name="priorShift"/> &gt; 0, the forest's posteriors are then moved from the strokes' phase fractions
    /// towards the training images' own (by that power of the weights, <see cref="DefaultPriorShift"/>), estimated on up
    /// to <see cref="MaxPriorPixels"/> of their pixels, labelled or not (<see cref="ClassPriorShift"/>).
    /// </summary>
    public static (PixelClassifier Classifier, ForestReport Report) Train(
        IReadOnlyList<LabelledImage> images, IReadOnlyList<string> phases, int bitDepth,
        IReadOnlyList<FeatureSpec>? features = null, ForestSettings? forest = null, int tileSize = DefaultTileSize, double priorShift = DefaultPriorShift)
    {
        if (!(priorShift >= 0 && priorShift <= 1)) throw new ArgumentOutOfRangeException(nameof(priorShift), priorShift, "0 (strokes' fractions) to 1 (the images' estimated fractions)");
        var shiftPriors = priorShift > 0;
        CheckPhases(phases);
        if (bitDepth is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(bitDepth), bitDepth, "8- or 16-bit images");
        if (images.Count == 0) throw new ArgumentException("no training images", nameof(images));
        features ??= PixelFeatures.Default;
        forest ??= new ForestSettings();
        var k = phases.Count;
        var featureCount = PixelFeatures.Count(features);

        var columns = Enumerable.Range(0, featureCount).Select(_ => new List<float>()).ToArray();
        var labels = new List<byte>();
        var greySums = new double[k];
        // Every stride-th pixel of the images taken end to end, whatever the tiling, for the prior shift.
        var allPixels = images.Sum(i => (long)i.Image.Height * i.Image.Width);
        var priorStride = Math.Max(1L, (allPixels + MaxPriorPixels - 1) / MaxPriorPixels);
        var priorPlanes = Enumerable.Range(0, shiftPriors ? featureCount : 0).Select(_ => new float[(allPixels + priorStride - 1) / priorStride]).ToArray();
        long imageStart = 0;
        foreach (var item in images)
        {
            var (image, labelImage) = (item.Image, item.Labels);
            if (labelImage.Height != image.Height || labelImage.Width != image.Width)
                throw new ArgumentException($"{item.Name}: labels are {labelImage.Width}x{labelImage.Height}, the image is {image.Width}x{image.Height}");
            var tooHigh = Array.FindIndex(labelImage.Pixels, v => v > k);
            if (tooHigh >= 0)
                throw new ArgumentException($"{item.Name}: label {labelImage.Pixels[tooHigh]} at x={tooHigh % image.Width}, y={tooHigh / image.Width} is above the {k} phases ({string.Join(",", phases)}); 0 is unlabelled");
            CheckBitDepth(item.Name, image, bitDepth);
            var stack = item.Stack ?? new Volume<ushort>(1, image.Height, image.Width, image.Pixels);
            foreach (var tile in TileGrid.Plan(image.Height, image.Width, tileSize, tileSize, PixelFeatures.Halo(features)))
            {
                var (owned, sampled) = (new List<int>(), new List<int>());
                for (var y = tile.OwnedY0; y < tile.OwnedY1; y++)
                    for (var x = tile.OwnedX0; x < tile.OwnedX1; x++)
                    {
                        var p = y * image.Width + x;
                        if (labelImage.Pixels[p] != 0) owned.Add(p);
                        if (shiftPriors && (imageStart + p) % priorStride == 0) sampled.Add(p);
                    }
                if (owned.Count == 0 && sampled.Count == 0) continue;
                var planes = PixelFeatures.ComputeInStack(z => PixelFeatures.ReadWindow(stack.Slice(z), image.Width, tile), stack.Depth, item.Z,
                    tile.ReadHeight, tile.ReadWidth, features);
                int At(int p) => (p / image.Width - tile.ReadY0) * tile.ReadWidth + p % image.Width - tile.ReadX0;
                foreach (var p in owned)
                {
                    for (var f = 0; f < featureCount; f++) columns[f].Add(planes[f][At(p)]);
                    labels.Add((byte)(labelImage.Pixels[p] - 1));
                    greySums[labelImage.Pixels[p] - 1] += image.Pixels[p];
                }
                foreach (var p in sampled)
                    for (var f = 0; f < featureCount; f++) priorPlanes[f][(imageStart + p) / priorStride] = planes[f][At(p)];
            }
            imageStart += (long)image.Height * image.Width;
        }
        var counts = new long[k];
        foreach (var l in labels) counts[l]++;
        var missing = Enumerable.Range(0, k).Where(c => counts[c] == 0).Select(c => $"{phases[c]} ({c + 1})").ToArray();
        if (missing.Length > 0)
            throw new ArgumentException($"no labelled pixels for {string.Join(", ", missing)}: every phase needs a few strokes");

        var (trained, report) = RandomForest.Train(columns.Select(c => c.ToArray()).ToArray(), labels.ToArray(), k, forest);
        IReadOnlyList<double> priors = [];
        if (shiftPriors)
        {
            var strokePriors = counts.Select(c => (double)c / labels.Count).ToArray();
            priors = ClassPriorShift.EstimatePriors(trained.PredictProbabilities(priorPlanes, priorPlanes[0].Length), strokePriors);
            trained = trained.WithClassWeights(ClassPriorShift.Weights(priors, strokePriors).Select(w => Math.Pow(w, priorShift)).ToArray());
        }
        var manifest = new PixelClassifierManifest(PixelClassifierManifest.CurrentFormatVersion, LibraryVersion, phases.ToArray(), bitDepth,
            features.ToArray(), PixelFeatures.Names(features), forest, images.Select(i => i.Name).ToArray())
        {
            PhaseMeanGrey = Enumerable.Range(0, k).Select(c => greySums[c] / counts[c]).ToArray(),
            PhasePriors = priors,
        };
        return (new PixelClassifier(manifest, trained), report);
    }

    /// <summary>A classifier from a manifest and a forest read back; refuses a forest that does not fit the manifest.</summary>
    public static PixelClassifier Load(PixelClassifierManifest manifest, byte[] forestBytes)
    {
        var forest = RandomForest.FromBytes(forestBytes);
        if (forest.ClassCount != manifest.Phases.Count || forest.FeatureCount != PixelFeatures.Count(manifest.Features))
            throw new InvalidDataException(
                $"the forest has {forest.ClassCount} classes and {forest.FeatureCount} features, the manifest {manifest.Phases.Count} phases and {PixelFeatures.Count(manifest.Features)} features: the model directory is mixed up");
        return new PixelClassifier(manifest, forest);
    }

    /// <summary>Labels 1..k (the phase table's order) for every pixel of <paramref name="image"/>, a lone image (a stack of one slice).</summary>
    public Image2D<byte> Segment(Image2D<ushort> image, string name, int tileSize = DefaultTileSize)
    {
        var labels = SegmentStack(new Volume<ushort>(1, image.Height, image.Width, image.Pixels), name, 0, 1, tileSize);
        return new Image2D<byte>(image.Height, image.Width, labels.Data);
    }

    /// <summary>
    /// Labels 1..k of slices [<paramref name="z0"/>, <paramref name="z1"/>) of <paramref name="stack"/>, the other slices
    /// left 0: y/x tiles of <paramref name="tileSize"/> read with <see cref="HaloPixels"/>, the z-context features reading
    /// up to <see cref="PixelFeatures.ZHalo"/> slices either side within the stack (mirrored at its ends). Then, with 3
    /// or more phases whose strokes' mean grey levels differ, the mixel clean-up of the unsupervised path
    /// (<see cref="PartialVolumeCleanup"/>, phases ordered by those means): strokes are drawn inside phases, so the
    /// forest never sees the blurred edge between a dark and a bright phase, whose grey level is an intermediate
    /// phase's, and calls it that phase; the clean-up gives such a skin (≤ 2 voxels between a darker and a brighter
    /// phase) to the end phase its grey level is nearer to. The labels are the same for any tile size; and a stack that
    /// is a z window of a larger one, carrying <see cref="HaloSlices"/> slices of context either side of the classified
    /// slices wherever the larger stack goes on, gives that stack's labels.
    /// </summary>
    public Volume<byte> SegmentStack(Volume<ushort> stack, string name, int z0, int z1, int tileSize = DefaultTileSize)
    {
        if (z0 < 0 || z1 > stack.Depth || z0 > z1) throw new ArgumentOutOfRangeException(nameof(z1), $"slices [{z0}, {z1}) of a {stack.Depth}-slice stack");
        var features = Manifest.Features;
        var result = new Volume<byte>(stack.Depth, stack.Height, stack.Width);
        var zHalo = PixelFeatures.ZHalo(features);
        var cleanup = CleanupHalo;
        var (height, width) = (stack.Height, stack.Width);
        for (var z = z0; z < z1; z++) CheckBitDepth(stack.Depth == 1 ? name : $"{name} slice {z}", stack.Slice(z), Manifest.BitDepth);
        // The clean-up reads the labels within its halo of an owned voxel: those are classified too, with their full feature halo.
        var (c0, c1) = (Math.Max(0, z0 - cleanup), Math.Min(stack.Depth, z1 + cleanup));
        foreach (var tile in TileGrid.Plan(height, width, tileSize, tileSize, HaloPixels))
        {
            var smoothings = new ZSmoothings();
            var tileLabels = new Volume<byte>(c1 - c0, tile.ReadHeight, tile.ReadWidth);
            for (var z = c0; z < c1; z++)
            {
                smoothings.KeepOnly(z - zHalo, z + zHalo + 1);
                var planes = PixelFeatures.ComputeInStack(s => PixelFeatures.ReadWindow(stack.Slice(s), width, tile), stack.Depth, z,
                    tile.ReadHeight, tile.ReadWidth, features, smoothings);
                var classes = Forest.Predict(planes, planes[0].Length);
                var target = tileLabels.Slice(z - c0);
                for (var i = 0; i < classes.Length; i++) target[i] = (byte)(classes[i] + 1);
            }
            if (cleanup > 0)
            {
                var intensity = new Volume<float>(c1 - c0, tile.ReadHeight, tile.ReadWidth);
                for (var z = c0; z < c1; z++) PixelFeatures.ReadWindow(stack.Slice(z), width, tile).CopyTo(intensity.Slice(z - c0));
                var order = Enumerable.Range(0, Manifest.Phases.Count).OrderBy(c => Manifest.PhaseMeanGrey[c]).ToArray();
                tileLabels = PartialVolumeCleanup.Apply(tileLabels, intensity, order.Select(c => (byte)(c + 1)).ToArray(),
                    order.Select(c => Manifest.PhaseMeanGrey[c]).ToArray());
            }
            var (oy, ox) = tile.OwnedStartInRead;
            for (var z = z0; z < z1; z++)
            {
                var source = tileLabels.Slice(z - c0);
                var target = result.Slice(z);
                for (var y = 0; y < tile.OwnedHeight; y++)
                    source.Slice((oy + y) * tile.ReadWidth + ox, tile.OwnedWidth).CopyTo(target.Slice((tile.OwnedY0 + y) * width + tile.OwnedX0, tile.OwnedWidth));
            }
        }
        return result;
    }

    /// <summary>Slices of context the mixel clean-up needs beyond the classified ones (0 when it does not apply).</summary>
    private int CleanupHalo =>
        Manifest.Phases.Count >= 3 && Manifest.PhaseMeanGrey.Count == Manifest.Phases.Count && Manifest.PhaseMeanGrey.Distinct().Count() == Manifest.Phases.Count
            ? PartialVolumeCleanup.RequiredHaloSlices()
            : 0;

    /// <summary>The y/x halo a tile of <see cref="SegmentStack"/> needs: the feature bank's and the clean-up's.</summary>
    public int HaloPixels => PixelFeatures.Halo(Manifest.Features) + CleanupHalo;

    /// <summary>The z halo a window of <see cref="SegmentSlices"/> needs: the feature bank's and the clean-up's.</summary>
    public int HaloSlices => PixelFeatures.ZHalo(Manifest.Features) + CleanupHalo;

    /// <summary>
    /// Labels 1..k of the owned slices [<paramref name="ownedZ0"/>, <paramref name="ownedZ1"/>) of <paramref name="slab"/>
    /// (the others left 0), each slice as one y/x tile: pass a window that carries <see cref="HaloPixels"/>
    /// pixels and <see cref="HaloSlices"/> slices of context where it is not the stack's edge and keep only its
    /// owned part, and the labels are those of the whole stack (<see cref="SegmentStack"/>). <paramref name="name"/>
    /// names the slab in a bit-depth refusal.
    /// </summary>
    public Volume<byte> SegmentSlices(Volume<ushort> slab, string name, int ownedZ0, int ownedZ1) =>
        SegmentStack(slab, name, ownedZ0, ownedZ1, Math.Max(1, Math.Max(slab.Height, slab.Width)));

    /// <summary>
    /// Bytes <see cref="SegmentSlices"/> holds per pixel of the slice it works on: grey copy, feature planes, classes,
    /// and the smoothed slices the z-context features keep (2·<see cref="PixelFeatures.ZHalo"/> + 1 per z-context σ).
    /// </summary>
    public long WorkingBytesPerSlicePixel =>
        4L * PixelFeatures.Count(Manifest.Features) + 4 + 4 + 1
        + 4L * (2 * PixelFeatures.ZHalo(Manifest.Features) + 1) * 2 * Manifest.Features.Where(f => f.AlongZ).Select(f => f.Sigma).Distinct().Count();

    /// <summary>Bytes <see cref="SegmentSlices"/> holds per voxel of its window beyond the grey levels: the labels and the clean-up's float copy and output.</summary>
    public long WorkingBytesPerVoxel => CleanupHalo > 0 ? 1 + 4 + 1 : 1;

    /// <summary>
    /// The training report as JSON: labelled pixels per phase, out-of-bag accuracy overall and per phase, the confusion
    /// matrix (rows the labelled phase, columns the predicted one) and the features by importance.
    /// </summary>
    public string ReportJson(ForestReport report, TimeSpan trainingTime)
    {
        var phases = Manifest.Phases;
        var perPhase = new JsonObject();
        var labelled = new JsonObject();
        var confusion = new JsonObject();
        for (var c = 0; c < phases.Count; c++)
        {
            labelled[phases[c]] = report.SamplesPerClass[c];
            perPhase[phases[c]] = double.IsNaN(report.OutOfBagAccuracyPerClass[c]) ? null : Math.Round(report.OutOfBagAccuracyPerClass[c], 4);
            var row = new JsonObject();
            for (var p = 0; p < phases.Count; p++) row[phases[p]] = report.Confusion[c][p];
            confusion[phases[c]] = row;
        }
        var importance = new JsonArray(Manifest.FeatureNames.Select((name, f) => (name, value: report.FeatureImportance[f]))
            .OrderByDescending(x => x.value)
            .Select(x => (JsonNode)new JsonObject { ["feature"] = x.name, ["importance"] = Math.Round(x.value, 5) })
            .ToArray());
        var json = new JsonObject
        {
            ["phases"] = new JsonArray(phases.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()),
            ["trained_on"] = new JsonArray(Manifest.TrainedOn.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()),
            ["labelled_pixels"] = labelled,
            ["out_of_bag"] = new JsonObject
            {
                ["samples"] = report.OutOfBagSamples,
                ["accuracy"] = double.IsNaN(report.OutOfBagAccuracy) ? null : Math.Round(report.OutOfBagAccuracy, 4),
                ["accuracy_per_phase"] = perPhase,
                ["confusion_labelled_by_predicted"] = confusion,
            },
            ["feature_importance"] = importance,
            ["trees"] = Forest.TreeCount,
            ["nodes"] = Forest.NodeCount,
            ["training_seconds"] = Math.Round(trainingTime.TotalSeconds, 2),
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static void CheckBitDepth(string name, Image2D<ushort> image, int bitDepth) => CheckBitDepth(name, image.Pixels, bitDepth);

    private static void CheckBitDepth(string name, ReadOnlySpan<ushort> pixels, int bitDepth)
    {
        if (bitDepth == 8 && pixels.IndexOfAnyInRange((ushort)256, ushort.MaxValue) >= 0)
            throw new ModelMismatchException($"{name}: has grey values above 255 but the model is for 8-bit images");
    }
}
