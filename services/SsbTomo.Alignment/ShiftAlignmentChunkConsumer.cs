using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SsbTomo.Contracts;
using SsbTomo.Hosting;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Storage;
using SsbTomo.Storage.Images;

namespace SsbTomo.Alignment;

/// <summary>
/// Writes one slab of aligned.zarr from the stored solution: each raw slice corrected with the charging gradient and the
/// curtain offsets the measurement of the slab stored (neither fitted nor filtered again), shifted into the slice-0 frame
/// (sub-pixel), cropped and mapped to uint16 with its matched brightness. Its kernels use the worker's share of the cores
/// (<see cref="SsbTomoOptions.EffectiveAlignmentKernelThreads"/>).
/// </summary>
public sealed class ShiftAlignmentChunkConsumer(IBlobStore store, ILogger<ShiftAlignmentChunkConsumer> logger, IOptions<SsbTomoOptions> options) : IConsumer<ShiftAlignmentChunk>
{
    private readonly int _kernelThreads = options.Value.EffectiveAlignmentKernelThreads;

    public Task Consume(ConsumeContext<ShiftAlignmentChunk> context) =>
        StageRunner.RunAsync(context, "alignment", () => ShiftAsync(context));

    private async Task ShiftAsync(ConsumeContext<ShiftAlignmentChunk> context)
    {
        var ct = context.CancellationToken;
        var message = context.Message;
        var layout = new JobLayout(message.JobPrefix);
        var solution = await AlignmentBlobs.ReadAsync<AlignmentSolution>(store, layout.AlignmentSolution, ct);
        var curtains = await ReadCurtainsAsync(layout, message, ct);
        var raw = await StageVolume<ushort>.OpenAsync(store, layout.Raw, ct);
        var aligned = await StageVolume<ushort>.OpenAsync(store, layout.Aligned, ct);
        var slab = await raw.ReadSlicesAsync(message.Z0, message.Z1, ct);
        var result = new Volume<ushort>(slab.Depth, aligned.Height, aligned.Width);
        // The worker's share of the cores as lanes over the slices, each slice with single-threaded kernels (the pixels
        // are the same for any thread count): the kernels on two threads kept 1.6 of 2 cores busy through the pass at
        // 1 Gvoxel, their loops being short and waiting at every barrier. Each lane keeps one slice's buffers for the
        // slab: a fresh slice-sized array per slice costs its page faults again.
        const int kernelThreads = 1;
        var lanes = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _kernelThreads), CancellationToken = ct };
        Parallel.For(0, slab.Depth, lanes, () => (Slice: new Image2D<float>(raw.Height, raw.Width), Shifted: new Image2D<float>(raw.Height, raw.Width)),
            (k, _, buffers) =>
            {
                var plan = solution.Slices[message.Z0 + k];
                slab.SliceToFloat(k, buffers.Slice);
                var corrected = curtains is null
                    ? plan.Correction.Apply(buffers.Slice, kernelThreads)
                    : plan.Correction.Replay(buffers.Slice, curtains[k], kernelThreads, output: buffers.Slice);
                SubpixelShift.Apply(corrected, plan.Drift, buffers.Shifted, kernelThreads);
                SliceIntensityRanges.ToUInt16(buffers.Shifted, plan.Range, solution.Crop, result.Slice(k));
                return buffers;
            }, _ => { });
        // The slab is written (its chunks compressed on the pool) while its noise residuals and histogram are counted: both
        // only read it.
        var write = aligned.WriteSlicesAsync(message.Z0, result, ct);
        // What the stack's denoising is chosen from (the orchestrator sums every slab's).
        var residuals = new long[NoiseLevel.Bins];
        NoiseLevel.AddResiduals(result, residuals, _kernelThreads);
        var histogram = Histogram.Compute(result, AlignmentChunkShifted.AlignedHistogramBins, 0, 65536);
        await write;
        await context.Publish(new AlignmentChunkShifted(message.JobId, message.ChunkIndex)
        {
            NoiseResiduals = residuals,
            AlignedHistogram = histogram,
        });
    }

    /// <summary>
    /// The slab's curtain offsets as its measurement stored them; null when there are none to use, and the slices are
    /// filtered again, to the same pixels: a job measured before the offsets were stored (resumed after an upgrade), or
    /// a blob that is unreadable or holds other slices.
    /// </summary>
    private async Task<CurtainOffsets?[]?> ReadCurtainsAsync(JobLayout layout, ShiftAlignmentChunk message, CancellationToken ct)
    {
        var key = layout.AlignmentCurtains(message.ChunkIndex);
        if (await store.ReadAsync(key, ct) is not { } bytes)
        {
            logger.LogInformation("Alignment chunk {Chunk}: no stored curtain offsets (measured by an earlier version); filtering its slices again", message.ChunkIndex);
            return null;
        }
        try
        {
            return CurtainOffsetsBlob.Decode(bytes, message.Z0, message.Z1);
        }
        catch (InvalidDataException e)
        {
            logger.LogWarning("Alignment chunk {Chunk}: {Key} is not usable ({Reason}); filtering its slices again", message.ChunkIndex, key, e.Message);
            return null;
        }
    }
}
