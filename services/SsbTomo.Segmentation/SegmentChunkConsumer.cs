using MassTransit;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Classification;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// Segments one slab of denoised.zarr, less the standing curtain stripes' column offsets when the command carries them
/// (<see cref="StandingCurtains"/>), with the stack-wide thresholds and shine-through excess (<see cref="PhaseSegmentation"/>:
/// classification, partial-volume clean-up, shine-through correction, and for carbon fibres (<see cref="SegmentChunk.Carbon"/>,
/// else <see cref="SsbTomoOptions.FibreHalfDepth"/>) the fibres' half-depth rule and the particle faces' gaps), tile by tile with the halo they need, and writes its chunks of
/// the labels (<see cref="JobLayout.Labels"/>). With the threshold model in the command it also segments each window with every threshold variant and
/// reports the slab's counts, so the metrics' uncertainty costs no second pass over the volume and scales out with the
/// workers; on large stacks only on the blocks <see cref="VariantBlockSample.For"/> picks. A redelivery writes the same bytes and reports the same counts.
/// <para>
/// With <see cref="SegmentChunk.TrainedClassifier"/> the slab's aligned slices are classified by the job's trained pixel
/// classifier instead (<see cref="PixelClassifier.SegmentSlices"/>, loaded once per job by <see cref="TrainedClassifierCache"/>),
/// tile by tile with the halo its features and mixel clean-up need in y/x and z, and no threshold variants are counted.
/// </para>
/// </summary>
public sealed class SegmentChunkConsumer(IBlobStore store, IOptions<SsbTomoOptions> options, TrainedClassifierCache classifiers) : IConsumer<SegmentChunk>
{
    public Task Consume(ConsumeContext<SegmentChunk> context) =>
        StageRunner.RunAsync(context, "segmentation", () => context.Message.TrainedClassifier ? ClassifyAsync(context) : SegmentAsync(context));

    private async Task ClassifyAsync(ConsumeContext<SegmentChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var classifier = await classifiers.GetAsync(message.JobId, layout);
        var aligned = await StageVolume<ushort>.OpenAsync(store, layout.Aligned, ct);
        var target = await aligned.EnsureLikeAsync<byte>(layout.Labels, JobLayout.LabelsName, ct: ct);
        // Per window voxel: the uint16 window, its labels and the mixel clean-up's copies, and the owned labels; per pixel of the
        // one slice being classified, the feature planes and the z-context's smoothed slices, spread over the slab's slices.
        var bytesPerVoxel = 2 + classifier.WorkingBytesPerVoxel + 1 + (double)classifier.WorkingBytesPerSlicePixel / Math.Max(1, message.Z1 - message.Z0);
        await foreach (var window in aligned.WindowsAsync(message.Z0, message.Z1, classifier.HaloPixels,
            options.Value.WindowBudgetBytes, bytesPerVoxel, ct, zHalo: classifier.HaloSlices, reuseArrays: true))
        {
            var owned = window.Slab.OwnedStartInSlab;
            var labels = classifier.SegmentSlices(window.Data, $"slices {message.Z0}-{message.Z1 - 1}", owned, owned + window.Slab.OwnedSlices);
            await target.WriteOwnedAsync(window, window.CropToOwned(labels), ct);
        }
        SsbTomoTelemetry.ChunksSegmented.Add(1);
        await context.Publish(new ChunkSegmented(message.JobId, message.ChunkIndex));
    }

    private async Task SegmentAsync(ConsumeContext<SegmentChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var denoised = await StageVolume<ushort>.OpenAsync(store, layout.Denoised, ct);
        // Full resolution only: the reconstruction stage adds the coarser levels once every chunk is written.
        var target = await denoised.EnsureLikeAsync<byte>(layout.Labels, JobLayout.LabelsName, ct: ct);

        // The fibres' half-depth rule looks for dark tubes a fibre's radius across, which the voxel size sets (as for the survey).
        // The job's carbon decides whether the fibre rules run; a job submitted without one takes the configured default.
        var fibreSigma = options.Value.FibreRulesFor(message.Carbon) ? CarbonFibreSurvey.TubeSigmaVoxels(denoised.VoxelSize) : 0;
        var variants = message.Model is { } model
            ? new SegmentationVariantAccumulator(SegmentationUncertainty.Variants(model.Thresholds
                .Select((t, k) => new ThresholdRange(model.ThresholdLows[k], t, model.ThresholdHighs[k])).ToArray()), model.ClassMeans,
                message.ShineThroughExcess, fibreSigma, VariantBlockSample.For(denoised.Depth, denoised.Height, denoised.Width), message.Thresholds,
                correctShineThrough: !message.SkipShineThroughCorrection)
            : null;
        // The variants count faces to the voxel beyond the owned ones, which needs one more voxel of halo; the lit pore runs
        // reach further along z only on stacks where they run.
        var halo = variants is null
            ? PhaseSegmentation.RequiredHaloSlicesWithFibres(fibreSigma, message.ShineThroughExcess)
            : SegmentationVariantAccumulator.RequiredHaloSlicesWithFibres(fibreSigma, message.ShineThroughExcess);
        // In y and x less: the shine-through correction, most of the z halo, works along z only.
        var haloPixels = variants is null ? PhaseSegmentation.RequiredHaloPixelsWithFibres(fibreSigma) : SegmentationVariantAccumulator.RequiredHaloPixelsWithFibres(fibreSigma);
        var windowSlices = Halo.Expand(denoised.Depth, message.Z0, message.Z1, halo).SlabSlices;
        // Read as floats straight from the decoded chunks: no uint16 window is held beside them. The deep z halo makes a
        // window of all the command's slices in thinner tiles cheaper than parts of one or two z-chunks (SlabTilePlan.Parts);
        // the writer gathers such tiles into whole chunks.
        var writer = new OwnedChunkWriter<byte>(target);
        await foreach (var window in denoised.WindowsAsync<float>(message.Z0, message.Z1, haloPixels, options.Value.WindowBudgetBytes,
            SegmentationSettings.SegmentBytesPerVoxel(windowSlices, Environment.ProcessorCount, fibreSigma > 0), VolumeConversions.Widen, ct, zHalo: halo,
            tilesMayShareChunks: true, reuseArrays: true))
        {
            var intensity = window.Data;
            if (message.ColumnOffsets is { } offsets) StandingCurtains.Subtract(intensity, window.Tile.ReadX0, offsets);
            var labels = PhaseSegmentation.Segment(intensity, message.Thresholds, message.ClassMeans, message.ShineThroughExcess, fibreSigma, window.Slab.OwnedInSlab,
                correctShineThrough: !message.SkipShineThroughCorrection, exactArea: window.Tile.OwnedInRead);
            variants?.Add(intensity, window.Slab, window.Tile);
            // Nothing of the window is used after this await, so the state machine keeps no reference to it (an optimised
            // build keeps a local across an await only when it is used after it) while the next window is read.
            await writer.AddAsync(window, window.CropToOwned(labels), ct);
        }
        writer.Complete();
        SsbTomoTelemetry.ChunksSegmented.Add(1);
        await context.Publish(new ChunkSegmented(message.JobId, message.ChunkIndex)
        {
            Variants = variants?.Result().Select(v => new VariantCounts(v.Name, v.LabelCounts, v.Contact.NmcSurface, v.Contact.NmcVoid)).ToArray(),
        });
    }
}
