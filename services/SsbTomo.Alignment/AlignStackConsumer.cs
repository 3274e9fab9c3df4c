using MassTransit;
using Microsoft.Extensions.Logging;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Storage;

namespace SsbTomo.Alignment;

/// <summary>
/// Two streaming passes over raw.zarr, one slab of slices in memory at a time. Pass 1 registers each
/// slice to the previous ones, corrects it (charging gradient, curtaining) to measure its intensity range and
/// find its whole particle sections; the drift is then anchored on the particles tracked through the stack.
/// Pass 2 corrects again (with the gradients fitted in pass 1), matches brightness, shifts into the slice-0 frame,
/// crops to the common valid region and writes aligned.zarr as uint16.
/// <para>
/// An estimate a slice cannot support is skipped or replaced, never a reason to fail the job: a blank, saturated or
/// flat slice is left uncorrected and takes its brightness from its neighbours; a slice with too little matrix for the
/// charging gradient gets a plane, else the previous slice's gradient; a slice whose registration is not trusted gets
/// its drift interpolated. Each is a warning on the slice in alignment.json and on the job.
/// </para>
/// </summary>
public sealed class AlignStackConsumer(IBlobStore store, ILogger<AlignStackConsumer> logger) : IConsumer<AlignStack>
{
    /// <summary>The job shows this many warnings; the rest are counted (all are in alignment.json).</summary>
    public const int MaxJobWarnings = 20;

    public Task Consume(ConsumeContext<AlignStack> context) =>
        StageRunner.RunAsync(context, "alignment", () => AlignAsync(context));

    private async Task AlignAsync(ConsumeContext<AlignStack> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var raw = await OmeZarr.OpenLevelAsync<ushort>(store, message.RawPath, 0, ct);
        var voxelSize = await OmeZarr.ReadVoxelSizeAsync(store, message.RawPath, ct);
        var (slices, height, width) = (raw.Shape[0], raw.Shape[1], raw.Shape[2]);
        var slabSlices = raw.Chunks[0];
        var names = await SourceSliceNames.ReadAsync(store, message.RawPath, slices, ct);
        string Name(int z) => names is null ? $"slice {z}" : $"slice {z} ({names[z]})";

        var estimator = new AnchoredDriftEstimator();
        var ranges = new IntensityRange[slices];
        var brightness = new SliceBrightness[slices];
        var corrections = new SliceCorrection[slices];
        var warnings = Enumerable.Range(0, slices).Select(_ => new List<string>()).ToArray();
        (BackgroundFit Fit, int Slice)? lastFit = null;
        await foreach (var (z, slice) in ReadSlices(raw, slabSlices, ct))
        {
            var rawRange = SliceIntensityRanges.Measure(slice);
            if (SliceIntensityRanges.IsEmpty(rawRange))
            {
                corrections[z] = new SliceCorrection(null, Flat: true);
                warnings[z].Add($"{Name(z)}: {DescribeFlat(slice)}; left uncorrected (no charging-gradient or curtaining correction), "
                    + "its brightness taken from the neighbouring slices and its drift interpolated between them");
            }
            else
            {
                var fit = IntensityNormalization.FitBackground(slice);
                if (fit is null && lastFit is { } previous)
                    warnings[z].Add($"{Name(z)}: too little matrix to estimate the charging gradient; flattened with the gradient of slice {previous.Slice} instead");
                else if (fit is null)
                    warnings[z].Add($"{Name(z)}: too little matrix to estimate the charging gradient, and no earlier slice had one; not flattened");
                else if (fit.Degree < 2)
                    warnings[z].Add($"{Name(z)}: too little matrix to estimate the charging gradient; flattened with a plane instead");
                if (fit is not null) lastFit = (fit, z);
                corrections[z] = new SliceCorrection(fit ?? lastFit?.Fit, Flat: false);
            }
            // Registering the uncorrected slice measured better on phantoms, and curtains are milled into the
            // specimen face, so they move with it like any other feature.
            var corrected = Correct(slice, corrections[z]);
            estimator.Add(slice, corrected);
            ranges[z] = corrections[z].Flat ? rawRange : SliceIntensityRanges.Measure(corrected);
            brightness[z] = corrections[z].Flat ? new SliceBrightness(rawRange, null) : SliceIntensityRanges.MeasureBrightness(corrected);
        }
        var anchored = estimator.Finish();
        var drifts = anchored.Drift;
        logger.LogInformation("Drift anchored on {Tracks} particle tracks covering {Anchored} of {Slices} slices (centroid scatter {Centroid} px, step scatter {Step} px, slides {Slide} px/slice)",
            anchored.Tracks, anchored.AnchoredSlices, slices, anchored.CentroidSigmaPx, anchored.StepSigmaPx, anchored.SlideSigmaPxPerSlice);
        for (var z = 0; z < slices; z++)
            if (!estimator.Trusted[z] && !corrections[z].Flat)
                warnings[z].Add($"{Name(z)}: registration not trusted (its best correlation peak is {estimator.PeakRatios[z]:0.0} times the next one, "
                    + $"at least {DriftEstimator.MinPeakRatio:0.0} needed: a noise frame, or a field that does not match its neighbours); "
                    + "its drift is interpolated between the neighbouring slices");

        var crop = ValidRegion.Compute(drifts, height, width);
        var matched = SliceIntensityRanges.MatchBulkPeaks(brightness) ?? SliceIntensityRanges.SmoothAlongZ(ranges);
        int[] alignedShape = [slices, crop.Y1 - crop.Y0, crop.X1 - crop.X0];
        var aligned = await OmeZarr.CreateImageAsync<ushort>(store, layout.Aligned, "aligned", alignedShape,
            [slabSlices, Math.Min(raw.Chunks[1], alignedShape[1]), Math.Min(raw.Chunks[2], alignedShape[2])], voxelSize, ct: ct);

        Volume<ushort>? slab = null;
        var shifted = new Image2D<float>(height, width);
        await foreach (var (z, slice) in ReadSlices(raw, slabSlices, ct))
        {
            var zInSlab = z % slabSlices;
            if (zInSlab == 0)
                slab = new Volume<ushort>(Math.Min(slabSlices, slices - z), alignedShape[1], alignedShape[2]);
            SubpixelShift.Apply(Correct(slice, corrections[z]), drifts[z], shifted);
            SliceIntensityRanges.ToUInt16(shifted, matched[z], crop, slab!.Slice(zInSlab));
            if (zInSlab == slab.Depth - 1)
                await aligned.WriteRegionAsync(z - zInSlab, 0, 0, slab, ct);
        }

        var registered = AnchoredDrift.Interpolate(estimator.Registered, estimator.Trusted);
        var anchoring = new DriftAnchoring(anchored.Tracks, anchored.AnchoredSlices, Pair(anchored.StepSigmaPx), Pair(anchored.CentroidSigmaPx), Pair(anchored.SlideSigmaPxPerSlice));
        var report = new AlignmentReport([crop.Y0, crop.Y1, crop.X0, crop.X1], anchoring,
            Enumerable.Range(0, slices).Select(z => new SliceAlignment(z, Pair(drifts[z]), Pair(registered[z]),
                [Math.Round(ranges[z].Low, 3), Math.Round(ranges[z].High, 3)], estimator.Trusted[z],
                double.IsFinite(estimator.PeakRatios[z]) ? Math.Round(estimator.PeakRatios[z], 2) : null, warnings[z])).ToArray());
        await store.WriteAsync(layout.AlignmentReport, report.ToJsonBytes(), ct);

        var all = warnings.SelectMany(w => w).ToArray();
        foreach (var warning in all) logger.LogWarning("Alignment: {Warning}", warning);
        string[] summary = all.Length <= MaxJobWarnings ? all
            : [.. all.Take(MaxJobWarnings), $"{all.Length - MaxJobWarnings} more slice warnings in alignment.json"];
        var maxDrift = drifts.Max(d => d.Length);
        logger.LogInformation("Aligned {Slices} slices: max drift {MaxDrift:0.0} px, valid crop y {Y0}..{Y1} x {X0}..{X1}, {Warnings} warnings",
            slices, maxDrift, crop.Y0, crop.Y1, crop.X0, crop.X1, all.Length);
        await context.Publish(new StackAligned(message.JobId, layout.Aligned, alignedShape[0], alignedShape[1], alignedShape[2],
            [crop.Y0, crop.Y1, crop.X0, crop.X1], maxDrift, summary));
    }

    /// <summary>How a slice is corrected: its background fit (null: none), or nothing at all when it is flat.</summary>
    private sealed record SliceCorrection(BackgroundFit? Background, bool Flat);

    private static double[] Pair(Shift2D shift) => [Math.Round(shift.Dy, 4), Math.Round(shift.Dx, 4)];

    /// <summary>The charging gradient flattened and curtaining removed; a flat slice as it is.</summary>
    private static Image2D<float> Correct(Image2D<float> slice, SliceCorrection correction)
    {
        if (correction.Flat) return slice;
        var flattened = correction.Background is { } fit ? IntensityNormalization.RemoveBackground(slice, fit) : slice;
        return CurtainingFilter.Remove(flattened);
    }

    private static string DescribeFlat(Image2D<float> slice)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in slice.Pixels) { min = Math.Min(min, v); max = Math.Max(max, v); }
        return min == max
            ? min == 0 ? "the slice is black (every pixel 0)" : $"every pixel of the slice has the same grey level ({min})"
            : "nine in ten pixels of the slice have the same grey level (blank, saturated or out of focus)";
    }

    /// <summary>Raw slices in order as floats, one slab of slices read at a time.</summary>
    private static async IAsyncEnumerable<(int Z, Image2D<float> Slice)> ReadSlices(
        ZarrArray<ushort> raw, int slabSlices, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var (slices, height, width) = (raw.Shape[0], raw.Shape[1], raw.Shape[2]);
        for (var z0 = 0; z0 < slices; z0 += slabSlices)
        {
            var slab = await raw.ReadRegionAsync(z0, Math.Min(slices, z0 + slabSlices), 0, height, 0, width, ct);
            for (var k = 0; k < slab.Depth; k++)
            {
                var source = slab.Slice(k);
                var image = new Image2D<float>(height, width);
                for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = source[i];
                yield return (z0 + k, image);
            }
        }
    }
}
