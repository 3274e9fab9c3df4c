using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Classification;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;
using SsbTomo.Storage.Images;

namespace SsbTomo.Cli;

/// <summary>
/// <c>ssbtomo train</c> and <c>ssbtomo segment</c>: a pixel classifier trained from a few labelled images
/// (<see cref="PixelClassifier"/>), stored as a model folder (model.json, forest.bin, training-report.json), applied to
/// any set of images.
/// </summary>
public static class TrainableSegmentation
{
    public const string ManifestFile = PixelClassifierManifest.FileName;
    public const string ForestFile = PixelClassifierManifest.ForestFileName;
    public const string ReportFile = "training-report.json";

    public static Command CreateTrain()
    {
        var images = new Argument<string>("images") { Description = "A PNG or TIFF image, a multi-page TIFF stack, or a folder of them (8- or 16-bit grey)." };
        var labels = new Argument<string>("labels") { Description = "Label images with the images' file stems (.tif, .tiff or .png): 0 unlabelled, 1..k the phases in --phases order." };
        var phases = PhasesOption();
        var output = new Option<string>("--out") { Description = "Model folder to write.", Required = true };
        var trees = new Option<int>("--trees") { Description = "Trees in the forest.", DefaultValueFactory = _ => new ForestSettings().Trees };
        var seed = new Option<int>("--seed") { Description = "Random seed: the same seed and labels give the same model.", DefaultValueFactory = _ => new ForestSettings().Seed };
        var sigmas = new Option<double[]?>("--sigmas")
        {
            Description = "Scales (pixels) of the feature bank, e.g. 0.7,1.6,3.5,5 (the default; ilastik offers 0.3,0.7,1,1.6,3.5,5,10).",
            CustomParser = ParseSigmas,
        };
        var flat = new Option<bool>("--2d")
        {
            Description = "Leave out the z-context and 3D features (differences to, minimum and maximum over the neighbouring pages, 3D smoothing and "
                + "Laplacian). They are added when an image file is a multi-page TIFF stack, whose pages are their context; a folder of single-page "
                + "images (unrelated 2D images, or one file per slice) is trained in 2D.",
        };
        var command = new Command("train", "Train a pixel classifier (ilastik's features, a random forest) from sparsely labelled images.")
        {
            images, labels, phases, output, trees, seed, sigmas, flat,
        };
        command.SetAction(parse => Guarded(() => Train(parse.GetValue(images)!, parse.GetValue(labels)!, parse.GetValue(phases)!, parse.GetValue(output)!,
            new ForestSettings(Trees: parse.GetValue(trees), Seed: parse.GetValue(seed)),
            parse.GetValue(sigmas) is { Length: > 0 } s ? PixelFeatures.Bank(s, includeFineSmoothing: true) : PixelFeatures.Default2D,
            parse.GetValue(flat) ? false : null)));
        return command;
    }

    public static Command CreateSegment()
    {
        var images = new Argument<string>("images") { Description = "A PNG or TIFF image, a multi-page TIFF stack, or a folder of them." };
        var phases = PhasesOption();
        var model = new Option<string?>("--model")
        {
            Description = "Model folder written by `ssbtomo train`. Without it, unsupervised: --phases are listed darkest to brightest, "
                + "each image is smoothed (2D Gaussian, σ 1 px) and multi-level Otsu thresholds are fitted ONCE over the whole set "
                + "(one histogram of all files and all pages, so a stack's slices get the same thresholds); with 3 or more phases, "
                + "a skin of 1-2 px of a middle phase where two non-neighbouring phases touch goes to those two (partial-volume clean-up).",
        };
        var output = new Option<string>("--out") { Description = "Folder for the label images (one .tif per input file, same stem, values 1..k).", Required = true };
        var command = new Command("segment", "Segment images with a model from `ssbtomo train`, or without --model by multi-level Otsu thresholds over the whole set.")
        {
            images, phases, model, output,
        };
        command.SetAction(parse => Guarded(() => parse.GetValue(model) is { } modelDir
            ? Segment(parse.GetValue(images)!, parse.GetValue(phases)!, modelDir, parse.GetValue(output)!)
            : SegmentUnsupervised(parse.GetValue(images)!, parse.GetValue(phases)!, parse.GetValue(output)!)));
        return command;
    }

    /// <summary>
    /// Trains on <paramref name="bank2D"/> plus, when <paramref name="zContext"/> says so (null: when some image file is a
    /// multi-page stack), <see cref="PixelFeatures.ZContext"/> at σ 1. On lone 2D images the z-context features are the
    /// image's own smoothing and zeros: they add nothing but duplicates that dilute the forest's feature draws.
    /// </summary>
    public static int Train(string imagesPath, string labelsPath, string[] phases, string modelDir, ForestSettings forest, IReadOnlyList<FeatureSpec> bank2D,
        bool? zContext = null)
    {
        PixelClassifier.CheckPhases(phases);
        var training = new List<LabelledImage>();
        int? bitDepth = null;
        string? firstFile = null;
        foreach (var path in ImageSet.Files(imagesPath))
        {
            var image = ImageSet.Read(path);
            if (bitDepth is { } depth && depth != image.BitDepth)
                throw new InvalidDataException($"{image.Name}: {image.BitDepth}-bit, but {firstFile} is {depth}-bit; a model is trained on one bit depth");
            (bitDepth, firstFile) = (image.BitDepth, firstFile ?? image.Name);
            var labelFile = ImageSet.Read(ImageSet.FindLabels(labelsPath, image));
            Volume<ushort>? stack = null;
            if (labelFile.Pages.Count != image.Pages.Count)
                throw new InvalidDataException($"{labelFile.Name}: {labelFile.Pages.Count} pages for the {image.Pages.Count} of {image.Name}");
            for (var page = 0; page < image.Pages.Count; page++)
            {
                var name = image.Pages.Count == 1 ? image.Name : $"{image.Name} page {page}";
                var labelName = image.Pages.Count == 1 ? labelFile.Name : $"{labelFile.Name} page {page}";
                var (pixels, labelPixels) = (image.Pages[page], labelFile.Pages[page]);
                if (labelPixels.Height != pixels.Height || labelPixels.Width != pixels.Width)
                    throw new InvalidDataException($"{labelName}: {labelPixels.Width}x{labelPixels.Height} pixels, but {name} is {pixels.Width}x{pixels.Height}");
                var labelImage = ImageSet.AsLabels(labelPixels, labelName);
                if (labelImage.Pixels.AsSpan().IndexOfAnyExcept((byte)0) < 0) continue;
                // A multi-page file is a stack: its pages are the z-context of the labelled one.
                training.Add(image.Pages.Count == 1 ? new LabelledImage(name, pixels, labelImage) : LabelledImage.InStack(name, stack ??= Stack(image), page, labelImage));
            }
        }
        if (training.Count == 0) throw new InvalidDataException($"{labelsPath}: no labelled pixel in any label image");
        IReadOnlyList<FeatureSpec> features = zContext ?? training.Any(t => t.Stack is not null) ? [.. bank2D, .. PixelFeatures.ZContext(1.0)] : bank2D;

        var started = Stopwatch.StartNew();
        var (classifier, report) = PixelClassifier.Train(training, phases, bitDepth!.Value, features, forest);
        started.Stop();
        Directory.CreateDirectory(modelDir);
        WriteWhole(Path.Combine(modelDir, ForestFile), classifier.Forest.ToBytes());
        WriteWhole(Path.Combine(modelDir, ReportFile), System.Text.Encoding.UTF8.GetBytes(classifier.ReportJson(report, started.Elapsed)));
        // The manifest last: a folder without it is not a model, so an interrupted write is never loaded.
        WriteWhole(Path.Combine(modelDir, ManifestFile), System.Text.Encoding.UTF8.GetBytes(classifier.Manifest.ToJson()));

        var table = new Table().AddColumn("phase").AddColumn("label").AddColumn("labelled pixels").AddColumn("out-of-bag accuracy");
        for (var c = 0; c < phases.Length; c++)
            table.AddRow(phases[c], $"{c + 1}", $"{report.SamplesPerClass[c]}", double.IsNaN(report.OutOfBagAccuracyPerClass[c]) ? "-" : $"{report.OutOfBagAccuracyPerClass[c]:P1}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"{training.Count} labelled images, {PixelFeatures.Count(features)} features, {classifier.Forest.TreeCount} trees in {started.Elapsed.TotalSeconds:0.0} s; out-of-bag accuracy {report.OutOfBagAccuracy:P1}; model in {modelDir}");
        return 0;
    }

    public static int Segment(string imagesPath, string[] phases, string modelDir, string outDir)
    {
        var classifier = Load(modelDir);
        classifier.Manifest.Check(phases, classifier.Manifest.BitDepth);
        var files = ImageSet.Files(imagesPath);
        Directory.CreateDirectory(outDir);
        var started = Stopwatch.StartNew();
        long pixels = 0;
        foreach (var path in files)
        {
            var image = ImageSet.Read(path);
            try
            {
                classifier.Manifest.Check(phases, image.BitDepth);
            }
            catch (ModelMismatchException e)
            {
                throw new ModelMismatchException($"{image.Name}: {e.Message}");
            }
            var segmented = classifier.SegmentStack(Stack(image), image.Name, 0, image.Pages.Count);
            var labels = Enumerable.Range(0, image.Pages.Count)
                .Select(z => new Image2D<byte>(segmented.Height, segmented.Width, segmented.Slice(z).ToArray())).ToArray();
            pixels += image.Pages.Sum(p => (long)p.Pixels.Length);
            WriteLabels(outDir, image, labels);
        }
        AnsiConsole.MarkupLineInterpolated(
            $"{files.Count} files, {pixels / 1e6:0.0} Mpixel segmented into {string.Join(",", phases)} in {started.Elapsed.TotalSeconds:0.0} s; labels in {outDir}");
        return 0;
    }

    /// <summary>
    /// <c>segment</c> without a model: <paramref name="phases"/> darkest to brightest, labels 1..k from multi-level Otsu
    /// thresholds (Otsu 1979; Liao, Chen &amp; Chung 2001) fitted once over the whole set after a σ 1 px 2D Gaussian
    /// (<see cref="ImageSetOtsu"/>), then the k-phase partial-volume clean-up (<see cref="ImageSetOtsu.Segment"/>). Two passes, one file in memory at a time: the first builds the set's histogram, the
    /// second classifies and writes DIR/STEM.tif as the model path does.
    /// </summary>
    public static int SegmentUnsupervised(string imagesPath, string[] phases, string outDir)
    {
        PixelClassifier.CheckPhases(phases);
        var files = ImageSet.Files(imagesPath);
        var started = Stopwatch.StartNew();
        ImageSetOtsu? otsu = null;
        string? firstFile = null;
        foreach (var path in files)
        {
            var image = ImageSet.Read(path);
            if (otsu is { } set && set.BitDepth != image.BitDepth)
                throw new InvalidDataException($"{image.Name}: {image.BitDepth}-bit, but {firstFile} is {set.BitDepth}-bit; one set of thresholds needs one bit depth");
            (otsu, firstFile) = (otsu ?? new ImageSetOtsu(image.BitDepth), firstFile ?? image.Name);
            foreach (var page in image.Pages) otsu.Add(ImageSetOtsu.Smooth(page, SmoothingSigmaPixels).Pixels);
        }
        if (otsu is null) throw new InvalidDataException($"{imagesPath}: no images");
        var thresholds = otsu.Thresholds(phases.Length);
        var classMeans = otsu.ClassMeans(thresholds);

        Directory.CreateDirectory(outDir);
        foreach (var path in files)
        {
            var image = ImageSet.Read(path);
            var labels = image.Pages.Select(page => ImageSetOtsu.Segment(ImageSetOtsu.Smooth(page, SmoothingSigmaPixels), thresholds, classMeans, otsu.BitDepth)).ToArray();
            WriteLabels(outDir, image, labels);
        }
        AnsiConsole.MarkupLineInterpolated(
            $"{files.Count} files, {otsu.Count / 1e6:0.0} Mpixel segmented into {string.Join(",", phases)} (darkest to brightest) with thresholds {string.Join(", ", thresholds)} in {started.Elapsed.TotalSeconds:0.0} s; labels in {outDir}");
        return 0;
    }

    /// <summary>A file's pages as one stack (a lone image is a stack of one slice); pages of another size are refused.</summary>
    private static Volume<ushort> Stack(ImageFile image)
    {
        var (height, width) = (image.Pages[0].Height, image.Pages[0].Width);
        var stack = new Volume<ushort>(image.Pages.Count, height, width);
        for (var z = 0; z < image.Pages.Count; z++)
        {
            var page = image.Pages[z];
            if (page.Height != height || page.Width != width)
                throw new InvalidDataException($"{image.Name}: page {z} is {page.Width}x{page.Height}, page 0 {width}x{height}; a stack's pages have one size");
            page.Pixels.CopyTo(stack.Slice(z));
        }
        return stack;
    }

    /// <summary>The light 2D smoothing before the unsupervised thresholds, in pixels.</summary>
    public const double SmoothingSigmaPixels = 1.0;

    private static void WriteLabels(string outDir, ImageFile image, Image2D<byte>[] labels)
    {
        var target = Path.Combine(outDir, image.Stem + ".tif");
        var voxel = image.VoxelSize ?? VoxelSize.Isotropic(1);
        if (labels.Length == 1) TiffSliceWriter.Write(target, labels[0], voxel, deflate: true);
        else TiffSliceWriter.WriteMultiPage(target, labels, voxel, deflate: true);
    }

    /// <summary>A model folder's classifier; a folder without model.json is refused.</summary>
    public static PixelClassifier Load(string modelDir)
    {
        var manifestPath = Path.Combine(modelDir, ManifestFile);
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"{modelDir}: no {ManifestFile}; is this a folder written by `ssbtomo train`?", manifestPath);
        var manifest = PixelClassifierManifest.FromJson(File.ReadAllText(manifestPath));
        var forestPath = Path.Combine(modelDir, ForestFile);
        if (!File.Exists(forestPath)) throw new FileNotFoundException($"{modelDir}: has {ManifestFile} but no {ForestFile}", forestPath);
        return PixelClassifier.Load(manifest, File.ReadAllBytes(forestPath));
    }

    private static Option<string[]> PhasesOption() => new("--phases")
    {
        Description = "Phase names in label order 1..k, comma-separated (2 to 6), e.g. pore,particle.",
        Required = true,
        CustomParser = r => (r.Tokens.Count == 1 ? r.Tokens[0].Value : "").Split(',', StringSplitOptions.TrimEntries),
    };

    private static double[]? ParseSigmas(ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return null;
        var text = result.Tokens[0].Value;
        var values = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0) || v > 64)
            {
                result.AddError($"'{text}': expected scales in pixels (0 < σ ≤ 64) separated by commas");
                return null;
            }
            values.Add(v);
        }
        return values.ToArray();
    }

    private static void WriteWhole(string path, byte[] bytes)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Bad input and mismatched models end the command with their sentence and exit code 2, not a stack trace.</summary>
    private static int Guarded(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or ArgumentException or ModelMismatchException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return 2;
        }
    }
}
