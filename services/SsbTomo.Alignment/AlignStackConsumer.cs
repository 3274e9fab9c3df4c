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
/// Pass 2 corrects again, matches brightness, shifts into the slice-0 frame, crops to the common
/// valid region and writes aligned.zarr as uint16.
/// </summary>
public sealed class AlignStackConsumer(IBlobStore store, ILogger<AlignStackConsumer> logger) : IConsumer<AlignStack>
{
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

        var estimator = new AnchoredDriftEstimator();
        var ranges = new IntensityRange[slices];
        await foreach (var (z, slice) in ReadSlices(raw, slabSlices, ct))
        {
            // Registering the uncorrected slice measured better on phantoms, and curtains are milled into the
            // specimen face, so they move with it like any other feature.
            var corrected = Correct(slice);
            estimator.Add(slice, corrected);
            ranges[z] = SliceIntensityRanges.Measure(corrected);
        }
        var anchored = estimator.Finish();
        var drifts = anchored.Drift;
        logger.LogInformation("Drift anchored on {Tracks} particle tracks covering {Anchored} of {Slices} slices (centroid scatter {Centroid} px, step scatter {Step} px, slides {Slide} px/slice)",
            anchored.Tracks, anchored.AnchoredSlices, slices, anchored.CentroidSigmaPx, anchored.StepSigmaPx, anchored.SlideSigmaPxPerSlice);

        var crop = ValidRegion.Compute(drifts, height, width);
        var matched = SliceIntensityRanges.SmoothAlongZ(ranges);
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
            SubpixelShift.Apply(Correct(slice), drifts[z], shifted);
            SliceIntensityRanges.ToUInt16(shifted, matched[z], crop, slab!.Slice(zInSlab));
            if (zInSlab == slab.Depth - 1)
                await aligned.WriteRegionAsync(z - zInSlab, 0, 0, slab, ct);
        }

        var anchoring = new DriftAnchoring(anchored.Tracks, anchored.AnchoredSlices, Pair(anchored.StepSigmaPx), Pair(anchored.CentroidSigmaPx), Pair(anchored.SlideSigmaPxPerSlice));
        var report = new AlignmentReport([crop.Y0, crop.Y1, crop.X0, crop.X1], anchoring,
            Enumerable.Range(0, slices).Select(z => new SliceAlignment(z, Pair(drifts[z]), Pair(estimator.Registered[z]),
                [Math.Round(ranges[z].Low, 3), Math.Round(ranges[z].High, 3)])).ToArray());
        await store.WriteAsync(layout.AlignmentReport, report.ToJsonBytes(), ct);

        var maxDrift = drifts.Max(d => d.Length);
        logger.LogInformation("Aligned {Slices} slices: max drift {MaxDrift:0.0} px, valid crop y {Y0}..{Y1} x {X0}..{X1}",
            slices, maxDrift, crop.Y0, crop.Y1, crop.X0, crop.X1);
        await context.Publish(new StackAligned(message.JobId, layout.Aligned, alignedShape[0], alignedShape[1], alignedShape[2],
            [crop.Y0, crop.Y1, crop.X0, crop.X1], maxDrift));
    }

    private static double[] Pair(Shift2D shift) => [Math.Round(shift.Dy, 4), Math.Round(shift.Dx, 4)];

    /// <summary>The charging gradient flattened and curtaining removed.</summary>
    private static Image2D<float> Correct(Image2D<float> slice) =>
        CurtainingFilter.Remove(IntensityNormalization.FlattenBackground(slice));

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
