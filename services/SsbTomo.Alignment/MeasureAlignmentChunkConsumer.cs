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
public sealed class MeasureAlignmentChunkConsumer(IBlobStore store, IOptions<SsbTomoOptions> options) : IConsumer<MeasureAlignmentChunk>
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
        var registration = new PairwiseRegistration(maxThreads: _kernelThreads);
        var before = await raw.ReadSlicesAsync(Math.Max(0, message.Z0 - registration.Offsets[^1]), message.Z0, ct);
        for (var k = 0; k < before.Depth; k++) registration.AddReference(before.SliceToFloat(k));

        var slab = await raw.ReadSlicesAsync(message.Z0, message.Z1, ct);
        var measured = new List<SliceMeasurement>(slab.Depth);
        var curtains = new CurtainOffsets?[slab.Depth];
        (BackgroundFit Fit, int Slice)? lastFit = null;
        var lookedBeforeSlab = false;
        for (var z = message.Z0; z < message.Z1; z++)
        {
            var slice = slab.SliceToFloat(z - message.Z0);
            var rawRange = SliceIntensityRanges.Measure(slice);
            var flat = SliceIntensityRanges.IsEmpty(rawRange) ? DescribeFlat(slice) : null;
            BackgroundFit? fit = null;
            int? fitSlice = null;
            if (flat is null)
            {
                fit = IntensityNormalization.FitBackground(slice);
                if (fit is not null) lastFit = (fit, z);
                else if (lastFit is null && !lookedBeforeSlab)
                {
                    lastFit = await LastFitBeforeAsync(raw, message.Z0, ct);
                    lookedBeforeSlab = true;
                }
                if (fit is not null) fitSlice = z;
                else if (lastFit is { } earlier && z - earlier.Slice <= BackgroundLookBackSlices) (fit, fitSlice) = (earlier.Fit, earlier.Slice);
            }
            var correction = new SliceCorrection(fit, flat is not null);
            // Registering the uncorrected slice measured better on phantoms, and curtains are milled into the specimen
            // face, so they move with it like any other feature.
            var pairs = registration.Add(slice);
            var corrected = correction.Apply(slice, out curtains[z - message.Z0], _kernelThreads);
            measured.Add(new SliceMeasurement(z, flat, fit, fitSlice,
                flat is null ? SliceIntensityRanges.Measure(corrected) : rawRange,
                flat is null ? SliceIntensityRanges.MeasureBrightness(corrected) : new SliceBrightness(rawRange, null),
                pairs, ParticleSections.Detect(corrected, ParticleDetectionOptions.ForDrift, _kernelThreads)));
        }
        await store.WriteAsync(layout.AlignmentCurtains(message.ChunkIndex), CurtainOffsetsBlob.Encode(message.Z0, curtains), ct);
        await AlignmentBlobs.WriteAsync(store, layout.AlignmentChunk(message.ChunkIndex),
            new AlignmentChunkMeasurements(message.Z0, message.Z1, measured), ct);
        await context.Publish(new AlignmentChunkMeasured(message.JobId, message.ChunkIndex));
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
