using MassTransit;
using Microsoft.Extensions.Logging;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Storage;

namespace SsbTomo.Alignment;

/// <summary>
/// The one sequential step of alignment, on numbers only: reads every chunk's measurements, chains the registrations
/// (trust decisions, <see cref="DriftChain"/>), anchors the drift on the particles tracked through the stack, crops to the
/// common valid region and matches brightness; writes alignment.json, the solution the shift chunks read, and an empty
/// aligned.zarr for them to fill.
/// <para>
/// An estimate a slice cannot support is skipped or replaced, never a reason to fail the job: a blank, saturated or
/// flat slice is left uncorrected and takes its brightness from its neighbours; a slice with too little matrix for the
/// charging gradient gets a plane, else an earlier slice's gradient; a slice whose registration is not trusted gets
/// its drift interpolated. Each is a warning on the slice in alignment.json and on the job.
/// </para>
/// </summary>
public sealed class SolveAlignmentConsumer(IBlobStore store, ILogger<SolveAlignmentConsumer> logger) : IConsumer<SolveAlignment>
{
    /// <summary>The job shows this many warnings; the rest are counted (all are in alignment.json).</summary>
    public const int MaxJobWarnings = 20;

    public Task Consume(ConsumeContext<SolveAlignment> context) =>
        StageRunner.RunAsync(context, "alignment", () => SolveAsync(context));

    private async Task SolveAsync(ConsumeContext<SolveAlignment> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var raw = await StageVolume<ushort>.OpenAsync(store, layout.Raw, ct);
        var (slices, height, width) = (raw.Depth, raw.Height, raw.Width);
        var names = await SourceSliceNames.ReadAsync(store, layout.Raw, slices, ct);
        string Name(int z) => names is null ? $"slice {z}" : $"slice {z} ({names[z]})";

        var measured = new List<SliceMeasurement>(slices);
        var chunkCrops = new List<int?>(message.Chunks);
        for (var chunk = 0; chunk < message.Chunks; chunk++)
        {
            var chunkMeasurements = await AlignmentBlobs.ReadAsync<AlignmentChunkMeasurements>(store, layout.AlignmentChunk(chunk), ct);
            measured.AddRange(chunkMeasurements.Slices);
            chunkCrops.Add(chunkMeasurements.RegistrationCropPx);
        }
        if (measured.Count != slices || measured.Where((m, z) => m.Index != z).Any())
            throw new InvalidOperationException($"the {message.Chunks} alignment chunks hold {measured.Count} slices, not slices 0..{slices - 1} in order");

        var warnings = measured.Select(m => Warnings(m, Name(m.Index)).ToList()).ToArray();
        var estimator = new AnchoredDriftEstimator();
        foreach (var slice in measured) estimator.Add(slice.Registration, slice.Sections);
        var anchored = estimator.Finish();
        var drifts = anchored.Drift;
        logger.LogInformation("Drift anchored on {Tracks} particle tracks covering {Anchored} of {Slices} slices (centroid scatter {Centroid} px, step scatter {Step} px, slides {Slide} px/slice)",
            anchored.Tracks, anchored.AnchoredSlices, slices, anchored.CentroidSigmaPx, anchored.StepSigmaPx, anchored.SlideSigmaPxPerSlice);
        for (var z = 0; z < slices; z++)
            if (!estimator.Trusted[z] && measured[z].Flat is null)
                warnings[z].Add($"{Name(z)}: registration not trusted (its best correlation peak is {estimator.PeakRatios[z]:0.0} times the next one, "
                    + $"at least {DriftEstimator.MinPeakRatio:0.0} needed: a noise frame, or a field that does not match its neighbours); "
                    + "its drift is interpolated between the neighbouring slices");

        var crop = ValidRegion.Compute(drifts, height, width);
        var match = SliceIntensityRanges.MatchBrightness(measured.Select(m => m.Brightness).ToArray());
        if (match is { SmoothedPeaks: true })
            logger.LogInformation("Brightness matched on the bulk peaks of the slices smoothed by {Sigma} px: too few slices show them unsmoothed (noise)", SliceIntensityRanges.PeakImageSmoothingPx);
        for (var z = 0; match is not null && z < slices; z++)
            if (match.StrayPeaks[z] is { } stray)
                warnings[z].Add($"{Name(z)}: its two dominant grey levels ({stray.Low:0}, {stray.High:0}) are not the same two phases as in most "
                    + "slices (one phase too scarce in it); its brightness is taken from the neighbouring slices");
        var matched = match?.Ranges ?? SliceIntensityRanges.SmoothAlongZ(measured.Select(m => m.Range).ToArray());
        int[] alignedShape = [slices, crop.Y1 - crop.Y0, crop.X1 - crop.X0];
        int[] cropYx = [crop.Y0, crop.Y1, crop.X0, crop.X1];
        await AlignmentBlobs.WriteAsync(store, layout.AlignmentSolution,
            new AlignmentSolution(cropYx, measured.Select((m, z) => new SliceShift(m.Correction, drifts[z], matched[z])).ToArray()), ct);
        // Interpolated and stretched noisy grey levels: zstd's fast mode (ZarrCompressor.ZstdFast), as denoised.zarr.
        await raw.CreateCroppedAsync<ushort>(layout.Aligned, "aligned", alignedShape[1], alignedShape[2], ZarrCompressor.ZstdFast, ct);

        var registered = AnchoredDrift.Interpolate(estimator.Registered, estimator.Trusted);
        var anchoring = new DriftAnchoring(anchored.Tracks, anchored.AnchoredSlices, Pair(anchored.StepSigmaPx), Pair(anchored.CentroidSigmaPx), Pair(anchored.SlideSigmaPxPerSlice));
        var (registrationCrop, cropWarning) = RegistrationCrops.Of(chunkCrops);
        var report = new AlignmentReport(cropYx, anchoring,
            Enumerable.Range(0, slices).Select(z => new SliceAlignment(z, Pair(drifts[z]), Pair(registered[z]),
                [Math.Round(measured[z].Range.Low, 3), Math.Round(measured[z].Range.High, 3)], estimator.Trusted[z],
                double.IsFinite(estimator.PeakRatios[z]) ? Math.Round(estimator.PeakRatios[z], 2) : null, warnings[z])).ToArray())
        {
            RegistrationCropPx = registrationCrop,
        };
        await store.WriteAsync(layout.AlignmentReport, report.ToJsonBytes(), ct);

        var all = (cropWarning is null ? warnings.SelectMany(w => w) : warnings.SelectMany(w => w).Prepend(cropWarning)).ToArray();
        foreach (var warning in all) logger.LogWarning("Alignment: {Warning}", warning);
        string[] summary = all.Length <= MaxJobWarnings ? all
            : [.. all.Take(MaxJobWarnings), $"{all.Length - MaxJobWarnings} more slice warnings in alignment.json"];
        var maxDrift = drifts.Max(d => d.Length);
        logger.LogInformation("Solved the alignment of {Slices} slices: max drift {MaxDrift:0.0} px, valid crop y {Y0}..{Y1} x {X0}..{X1}, {Warnings} warnings",
            slices, maxDrift, crop.Y0, crop.Y1, crop.X0, crop.X1, all.Length);
        await context.Publish(new AlignmentSolved(message.JobId, alignedShape[0], alignedShape[1], alignedShape[2], summary));
    }

    /// <summary>What the measurement of one slice says could not be corrected as usual, in sentences for the operator.</summary>
    private static IEnumerable<string> Warnings(SliceMeasurement slice, string name)
    {
        if (slice.Flat is { } flat)
            yield return $"{name}: {flat}; left uncorrected (no charging-gradient or curtaining correction), "
                + "its brightness taken from the neighbouring slices and its drift interpolated between them";
        else if (slice.BackgroundSlice is null)
            yield return $"{name}: too little matrix to estimate the charging gradient, and none of the {MeasureAlignmentChunkConsumer.BackgroundLookBackSlices} "
                + "slices before it had one; not flattened";
        else if (slice.BackgroundSlice != slice.Index)
            yield return $"{name}: too little matrix to estimate the charging gradient; flattened with the gradient of slice {slice.BackgroundSlice} instead";
        else if (slice.Background!.Degree < 2)
            yield return $"{name}: too little matrix to estimate the charging gradient; flattened with a plane instead";
    }

    private static double[] Pair(Shift2D shift) => [Math.Round(shift.Dy, 4), Math.Round(shift.Dx, 4)];
}
