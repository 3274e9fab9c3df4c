using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Storage;
using SsbTomo.Storage.Images;

namespace SsbTomo.Alignment;

/// <summary>
/// Measures one slab of raw.zarr, slice by slice, for the global solve: flatness, the charging-gradient fit, the
/// corrected slice's intensity range and bulk-peak brightness, its whole particle sections, and its registrations against
/// the slices at the reference offsets before it (the slab's halo is read for them). Every number depends on raw slices
/// alone, never on the slab's bounds, so any chunk size and any number of workers store the same measurements.
/// Beside them it stores the curtain offsets the filter subtracted from each slice, so that the shift chunk of the slab
/// corrects its slices without filtering them again (the filter is most of a shift chunk's CPU).
/// Its kernels use the worker's share of the cores (<see cref="SsbTomoOptions.EffectiveAlignmentKernelThreads"/>).
/// </summary>
public sealed class MeasureAlignmentChunkConsumer(IBlobStore store, IOptions<SsbTomoOptions> options, RegistrationHistoryCache histories)
    : IConsumer<MeasureAlignmentChunk>
{
    private readonly int _kernelThreads = options.Value.EffectiveAlignmentKernelThreads;

    /// <summary>
    /// How far back a slice with too little matrix looks for another slice's charging gradient. Fixed, not "the last
    /// slice that had one": a chunk must find the same fit without having measured the whole stack before it.
    /// </summary>
    public const int BackgroundLookBackSlices = 16;

    public Task Consume(ConsumeContext<MeasureAlignmentChunk> context) =>
        StageRunner.RunAsync(context, "alignment", () => MeasureAsync(context));

    private async Task MeasureAsync(ConsumeContext<MeasureAlignmentChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var raw = await StageVolume<ushort>.OpenAsync(store, layout.Raw, ct);
        var cropPx = message.RegistrationCropPx ?? options.Value.RegistrationCropPx;
        var haloSlices = Math.Min(message.Z0, PairwiseRegistration.DefaultOffsets[^1]);
        // The chunk before, measured by this process, left its last slices prepared: no halo to read and prepare again.
        var history = histories.Take(message.JobPrefix, message.Z0, cropPx, haloSlices);
        var registration = history is not null
            ? PairwiseRegistration.ContinueFrom(history, _kernelThreads)
            : new PairwiseRegistration(maxSizePx: cropPx, maxThreads: _kernelThreads);
        var before = history is null ? await raw.ReadSlicesAsync(message.Z0 - haloSlices, message.Z0, ct) : null;
        var slab = await raw.ReadSlicesAsync(message.Z0, message.Z1, ct);
        // Two lanes over the slab: the registration, in slice order (the halo slices as references, then each slice against
        // the ones before it), and the corrections, slice by slice on their own. With more than one kernel thread they run
        // side by side, the corrections over several slices at once with single-threaded kernels: one worker's kernels on
        // two threads used to take as long as on one (their loops are short and wait at every barrier), two lanes keep both
        // cores busy. The halo's references are the registration lane's too: prepared before the lanes started, they left a
        // core idle for ~0.8 s of every 32-slice chunk at 1536x2048.
        var lanes = Math.Max(1, _kernelThreads);
        var registrationLane = lanes > 1
            ? Task.Run(() => Register(registration, before, slab), ct)
            : Task.FromResult(Register(registration, before, slab));
        var corrections = await CorrectAsync(raw, slab, message.Z0, lanes, ct);
        var pairs = await registrationLane;
        if (message.Z1 < raw.Depth) histories.Put(message.JobPrefix, message.Z1, registration.DetachHistory());
        var measured = new List<SliceMeasurement>(slab.Depth);
        for (var k = 0; k < slab.Depth; k++)
        {
            var c = corrections[k];
            measured.Add(new SliceMeasurement(message.Z0 + k, c.Flat, c.Fit, c.FitSlice, c.Range, c.Brightness, pairs[k], c.Sections));
        }
        var curtains = corrections.Select(c => c.Curtains).ToArray();
        await store.WriteAsync(layout.AlignmentCurtains(message.ChunkIndex), CurtainOffsetsBlob.Encode(message.Z0, curtains), ct);
        await AlignmentBlobs.WriteAsync(store, layout.AlignmentChunk(message.ChunkIndex),
            new AlignmentChunkMeasurements(message.Z0, message.Z1, measured) { RegistrationCropPx = cropPx }, ct);
        await context.Publish(new AlignmentChunkMeasured(message.JobId, message.ChunkIndex));
    }

    /// <summary>
    /// Takes the halo slices <paramref name="before"/> the slab as references (none: the registration continues from the chunk
    /// before), then registers every slice of the slab in order against the ones before it.
    /// </summary>
    private static SliceRegistration[] Register(PairwiseRegistration registration, Volume<ushort>? before, Volume<ushort> slab)
    {
        var slice = new Image2D<float>(slab.Height, slab.Width);
        for (var k = 0; k < (before?.Depth ?? 0); k++) registration.AddReference(before!.SliceToFloat(k, slice));
        // Registering the uncorrected slice measured better on phantoms, and curtains are milled into the specimen
        // face, so they move with it like any other feature.
        var pairs = new SliceRegistration[slab.Depth];
        for (var k = 0; k < slab.Depth; k++) pairs[k] = registration.Add(slab.SliceToFloat(k, slice));
        return pairs;
    }

    private sealed record SliceCorrected(string? Flat, BackgroundFit? Fit, int? FitSlice, IntensityRange Range, SliceBrightness Brightness,
        ParticleSection[] Sections, CurtainOffsets? Curtains);

    /// <summary>
    /// Each slice's charging-gradient fit, then its correction (the fit, or for a slice without one the nearest fit at most
    /// <see cref="BackgroundLookBackSlices"/> before it, in slice order as a sequential pass would take it), the corrected
    /// slice's ranges and particle sections and the curtain offsets: <paramref name="lanes"/> (the worker's share of the
    /// cores) slices at a time, each with single-threaded kernels (the kernels give the same bits for any thread count).
    /// </summary>
    private static async Task<SliceCorrected[]> CorrectAsync(StageVolume<ushort> raw, Volume<ushort> slab, int z0, int lanes, CancellationToken ct)
    {
        const int kernelThreads = 1;
        var options = new ParallelOptions { MaxDegreeOfParallelism = lanes, CancellationToken = ct };
        var flats = new string?[slab.Depth];
        var ranges = new IntensityRange[slab.Depth];
        var fits = new BackgroundFit?[slab.Depth];
        // Each lane converts its slices into buffers of its own: a fresh slice-sized array per slice costs its page faults again.
        Image2D<float> NewSlice() => new(slab.Height, slab.Width);
        Parallel.For(0, slab.Depth, options, NewSlice, (k, _, slice) =>
        {
            slab.SliceToFloat(k, slice);
            ranges[k] = SliceIntensityRanges.Measure(slice);
            flats[k] = SliceIntensityRanges.IsEmpty(ranges[k]) ? DescribeFlat(slice) : null;
            if (flats[k] is null) fits[k] = IntensityNormalization.FitBackground(slice);
            return slice;
        }, _ => { });

        var used = new (BackgroundFit? Fit, int? Slice)[slab.Depth];
        (BackgroundFit Fit, int Slice)? lastFit = null;
        var lookedBeforeSlab = false;
        for (var k = 0; k < slab.Depth; k++)
        {
            if (flats[k] is not null) continue;
            var z = z0 + k;
            if (fits[k] is { } fit)
            {
                lastFit = (fit, z);
                used[k] = (fit, z);
                continue;
            }
            if (lastFit is null && !lookedBeforeSlab)
            {
                lastFit = await LastFitBeforeAsync(raw, z0, ct);
                lookedBeforeSlab = true;
            }
            if (lastFit is { } earlier && z - earlier.Slice <= BackgroundLookBackSlices) used[k] = (earlier.Fit, earlier.Slice);
        }

        var corrected = new SliceCorrected[slab.Depth];
        Parallel.For(0, slab.Depth, options, () => (Slice: NewSlice(), Corrected: NewSlice(), Smoothed: (SmoothedSlice?)null), (k, _, buffers) =>
        {
            var slice = slab.SliceToFloat(k, buffers.Slice);
            if (flats[k] is { } flat)
            {
                // A flat slice is left as it is (SliceCorrection): nothing to fit, and filtering would invent structure.
                corrected[k] = new SliceCorrected(flat, null, null, ranges[k], new SliceBrightness(ranges[k], null),
                    ParticleSections.Detect(slice, ParticleDetectionOptions.ForDrift, kernelThreads), null);
                return buffers;
            }
            var correctedSlice = new SliceCorrection(used[k].Fit, false).Apply(slice, out var curtains, kernelThreads, output: buffers.Corrected);
            // The smoothed bulk peaks and the drift's particle sections read the same 1-px blur: made once.
            var smoothed = SmoothedSlice.Of(correctedSlice, SliceIntensityRanges.PeakImageSmoothingPx, kernelThreads, reuse: buffers.Smoothed);
            var (range, brightness) = SliceIntensityRanges.MeasureWithBrightness(correctedSlice, smoothed);
            corrected[k] = new SliceCorrected(null, used[k].Fit, used[k].Slice, range, brightness,
                ParticleSections.Detect(correctedSlice, smoothed, ParticleDetectionOptions.ForDrift, kernelThreads), curtains);
            return buffers with { Smoothed = smoothed };
        }, _ => { });
        return corrected;
    }

    /// <summary>
    /// The nearest slice before the slab, within <see cref="BackgroundLookBackSlices"/>, that is not flat and has a
    /// charging-gradient fit. Read one slice at a time: only a slab whose first slices lack matrix comes here.
    /// </summary>
    private static async Task<(BackgroundFit Fit, int Slice)?> LastFitBeforeAsync(StageVolume<ushort> raw, int z0, CancellationToken ct)
    {
        for (var z = z0 - 1; z >= Math.Max(0, z0 - BackgroundLookBackSlices); z--)
        {
            var slice = (await raw.ReadSlicesAsync(z, z + 1, ct)).SliceToFloat(0);
            if (SliceIntensityRanges.IsEmpty(SliceIntensityRanges.Measure(slice))) continue;
            if (IntensityNormalization.FitBackground(slice) is { } fit) return (fit, z);
        }
        return null;
    }

    private static string DescribeFlat(Image2D<float> slice)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in slice.Pixels) { min = Math.Min(min, v); max = Math.Max(max, v); }
        return min == max
            ? min == 0 ? "the slice is black (every pixel 0)" : $"every pixel of the slice has the same grey level ({min})"
            : "nine in ten pixels of the slice have the same grey level (blank, saturated or out of focus)";
    }
}
