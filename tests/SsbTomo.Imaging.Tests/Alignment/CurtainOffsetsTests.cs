using SsbTomo.Imaging.Alignment;
using SsbTomo.Imaging.Tests.Reference;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// The curtain offsets the filter reports are all it subtracts: applied to the slice they were measured on they give the
/// filter's pixels bit for bit (so the alignment's shift pass may replay the measurement pass's filter from them), on raw
/// slices of 8- and 16-bit grey levels, with and without a charging gradient removed first, with NaN outside the field.
/// </summary>
public class CurtainOffsetsTests
{
    [Theory]
    [InlineData(300, 333, 12, 256, 255, false)]  // one block (300 / 256 rounds to 1), width not a multiple of a SIMD vector
    [InlineData(520, 301, 12, 128, 255, true)]   // 4 blocks, h not a multiple of the block height, NaN band and pixels
    [InlineData(512, 640, 12, 256, 65535, false)] // 2 blocks, 16-bit levels
    [InlineData(700, 250, 8, 100, 65535, true)]  // 7 blocks, 16-bit levels, NaN
    [InlineData(64, 7, 3, 16, 255, false)]       // narrower than a SIMD vector and than the median window
    [InlineData(9, 40, 2, 1, 65535, false)]      // a block per row
    public void Offsets_applied_to_the_slice_give_the_filters_pixels_bit_for_bit(int h, int w, int maxStripeWidthPx, int blockHeightPx, int maxLevel, bool holes)
    {
        var slice = RawSlice(h, w, maxLevel, holes, seed: h + w);
        var filtered = CurtainingFilter.Remove(slice, out var offsets, maxStripeWidthPx, blockHeightPx);

        Assert.Equal((h, w, Math.Max(1, (int)Math.Round((double)h / blockHeightPx))), (offsets.Height, offsets.Width, offsets.Blocks));
        Assert.Contains(offsets.Values, v => v != 0); // the slice is striped: something is subtracted
        Assert.NotEqual(slice.Pixels, filtered.Pixels);
        Assert.Equal(filtered.Pixels, offsets.Apply(slice).Pixels);
        // The same pixels as the frozen reference filter and as the overload without offsets.
        Assert.Equal(CurtainingFilterReference.Remove(slice, maxStripeWidthPx, blockHeightPx).Pixels, filtered.Pixels);
        Assert.Equal(CurtainingFilter.Remove(slice, maxStripeWidthPx, blockHeightPx).Pixels, filtered.Pixels);
        // In place, as the shift pass applies them to its own flattened copy.
        var copy = new Image2D<float>(h, w, (float[])slice.Pixels.Clone());
        Assert.Same(copy, offsets.Apply(copy, copy));
        Assert.Equal(filtered.Pixels, copy.Pixels);
        if (holes)
            Assert.All(Enumerable.Range(0, h * w).Where(i => float.IsNaN(slice.Pixels[i])), i => Assert.True(float.IsNaN(filtered.Pixels[i])));
    }

    [Theory]
    [InlineData(255, true, false)]
    [InlineData(65535, true, false)]
    [InlineData(65535, false, false)] // no charging-gradient fit: the raw slice is filtered
    [InlineData(255, false, true)]    // flat: left uncorrected, no offsets
    public void A_slice_correction_replayed_from_its_offsets_gives_the_correction_bit_for_bit(int maxLevel, bool withFit, bool flat)
    {
        const int h = 384, w = 416;
        var slice = RawSlice(h, w, maxLevel, holes: false, seed: maxLevel);
        var fit = withFit ? IntensityNormalization.FitBackground(slice) : null;
        if (withFit) Assert.NotNull(fit);
        var correction = new SliceCorrection(fit, flat);

        var measured = correction.Apply(slice, out var curtains);
        Assert.Equal(flat, curtains is null);
        Assert.Equal(correction.Apply(slice).Pixels, measured.Pixels);
        var replayed = correction.Replay(slice, curtains);
        Assert.Equal(measured.Pixels, replayed.Pixels);
        if (flat) Assert.Same(slice, replayed);
        else Assert.NotEqual(slice.Pixels, replayed.Pixels);

        // Into an output, the slice its scratch, as the measurement's lanes correct into their own buffers: the same pixels
        // and offsets.
        var scratch = new Image2D<float>(h, w);
        slice.Pixels.CopyTo(scratch.Pixels);
        var into = new Image2D<float>(h, w);
        var intoOutput = correction.Apply(scratch, out var intoCurtains, output: into);
        Assert.Equal(measured.Pixels, intoOutput.Pixels);
        Assert.Equal(curtains?.Values, intoCurtains?.Values);
        if (!flat) Assert.Same(into, intoOutput);
        Assert.Throws<ArgumentException>(() => correction.Apply(scratch, out _, output: scratch));

        // In place, as the shift pass replays into its one slice buffer: the same pixels.
        var buffer = new Image2D<float>(h, w);
        slice.Pixels.CopyTo(buffer.Pixels);
        var inPlace = correction.Replay(buffer, curtains, output: buffer);
        Assert.Same(buffer, inPlace);
        Assert.Equal(measured.Pixels, inPlace.Pixels);
    }

    [Fact]
    public void Offsets_missing_for_a_corrected_slice_present_for_a_flat_one_or_of_another_size_are_refused()
    {
        var slice = RawSlice(64, 80, 255, holes: false, seed: 5);
        CurtainingFilter.Remove(slice, out var offsets);
        Assert.Throws<ArgumentException>(() => new SliceCorrection(null, Flat: false).Replay(slice, null));
        Assert.Throws<ArgumentException>(() => new SliceCorrection(null, Flat: true).Replay(slice, offsets));
        Assert.Throws<ArgumentException>(() => offsets.Apply(RawSlice(64, 81, 255, holes: false, seed: 5)));
        Assert.Throws<ArgumentException>(() => offsets.Apply(RawSlice(65, 80, 255, holes: false, seed: 5)));
        Assert.Throws<ArgumentException>(() => new CurtainOffsets(64, 80, 2, new float[159]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CurtainOffsets(4, 80, 5, new float[400]));
    }

    /// <summary>
    /// A raw slice as the alignment reads it: blobs on a matrix level with a charging ramp, vertical stripes that fade
    /// along y, noise, rounded to whole grey levels in [0, <paramref name="maxLevel"/>]; optionally a NaN band outside
    /// the field of view and a NaN pixel.
    /// </summary>
    private static Image2D<float> RawSlice(int h, int w, int maxLevel, bool holes, int seed)
    {
        var scene = new BlobScene(Math.Max(4, h * w / 400), h, w, seed, minSigmaPx: 2, maxSigmaPx: 9).Render(h, w, Shift2D.Zero);
        var stripes = ImageTools.StripeProfile(w, 0.04, seed);
        var noise = new Random(seed);
        var image = new Image2D<float>(h, w);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var ramp = 0.08 * ((double)x / w - 0.5) - 0.05 * ((double)y / h - 0.5);
                var value = scene[y, x] + ramp + stripes[x] * (1 - 0.5 * y / h) + 0.01 * (noise.NextDouble() - 0.5);
                image[y, x] = MathF.Round((float)Math.Clamp(value * 0.6 + 0.1, 0, 1) * maxLevel);
            }
        if (holes)
        {
            for (var y = 0; y < h / 6; y++)
                for (var x = 0; x < w; x++)
                    image[y, x] = float.NaN;
            image[h / 2, w / 3] = float.NaN;
        }
        return image;
    }
}
