using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// The registration writes each slice's spectrum and band image into the arrays of the slice it has just let go of
/// (a fresh slice-sized array costs a page fault per 4 KiB page): the numbers must be those of fresh arrays, whatever the
/// recycled arrays held before (here NaN everywhere), and a sequence of slices must measure the same pairs either way.
/// </summary>
public class RecycledRegistrationArraysTests
{
    [Theory]
    [InlineData(300, 280, 1024)] // the polish crop is the crop itself
    [InlineData(600, 700, 1024)] // a polish crop of its own (512 square)
    [InlineData(600, 700, 256)]  // cropped to the registration size
    public void A_spectrum_in_recycled_arrays_is_a_fresh_ones_bits(int height, int width, int maxSizePx)
    {
        var (image, other) = (Slice(height, width, 3), Slice(height, width, 4));
        var fresh = Spectrum.Of(image, maxSizePx, KernelThreads.All);
        var recycled = Poisoned(Spectrum.Of(other, maxSizePx, KernelThreads.All));

        var reused = Spectrum.Of(image, maxSizePx, KernelThreads.All, recycled);

        Assert.Same(recycled.Re, reused.Re);
        Assert.Equal(Bits(fresh.Re), Bits(reused.Re));
        Assert.Equal(Bits(fresh.Im), Bits(reused.Im));
        Assert.Equal(Bits(fresh.Crop.Pixels), Bits(reused.Crop.Pixels));
        Assert.Equal(Bits(fresh.PolishCrop.Pixels), Bits(reused.PolishCrop.Pixels));
        Assert.Equal(ReferenceEquals(fresh.Crop, fresh.PolishCrop), ReferenceEquals(reused.Crop, reused.PolishCrop));
    }

    [Fact]
    public void A_spectrum_of_another_shape_does_not_lend_its_arrays()
    {
        var recycled = Spectrum.Of(Slice(200, 200, 5), 1024, KernelThreads.All);
        var reused = Spectrum.Of(Slice(300, 280, 6), 1024, KernelThreads.All, recycled);
        Assert.NotSame(recycled.Re, reused.Re);
        Assert.Equal(Bits(Spectrum.Of(Slice(300, 280, 6), 1024).Re), Bits(reused.Re));
    }

    [Fact]
    public void A_band_image_and_its_reference_terms_in_recycled_arrays_are_fresh_ones_bits()
    {
        var options = PatchConsensusOptions.Default;
        var image = Slice(320, 352, 7);
        var fresh = BandImage.Of(image, 1024, options, KernelThreads.All);
        var old = BandImage.Of(Slice(320, 352, 8), 1024, options, KernelThreads.All);
        var oldTerms = old.TermsForCells(options.StridePx);
        Array.Fill(old.Data, float.NaN);
        Array.Fill(oldTerms.GradientY, float.NaN);
        Array.Fill(oldTerms.GradientX, float.NaN);
        Array.Fill(oldTerms.WholeCells, double.NaN);

        var reused = BandImage.Of(image, 1024, options, KernelThreads.All, old);
        var reusedTerms = reused.TermsForCells(options.StridePx);

        Assert.Same(old.Data, reused.Data);
        Assert.Same(oldTerms.GradientY, reusedTerms.GradientY);
        Assert.Equal(Bits(fresh.Data), Bits(reused.Data));
        var freshTerms = fresh.TermsForCells(options.StridePx);
        Assert.Equal(Bits(freshTerms.GradientY), Bits(reusedTerms.GradientY));
        Assert.Equal(Bits(freshTerms.GradientX), Bits(reusedTerms.GradientX));
        Assert.Equal(freshTerms.WholeCells.Select(BitConverter.DoubleToInt64Bits), reusedTerms.WholeCells.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void A_stack_registers_the_same_with_recycled_arrays_as_with_fresh_ones()
    {
        const int slices = 14, size = 96;
        var stack = ImageTools.DriftingStack(new BlobScene(600, size, size, seed: 11), slices, size, driftSeed: 12, noiseSeed: 60);
        var recycling = new PairwiseRegistration();
        var fresh = new PairwiseRegistration(20, PhaseCorrelation.DefaultMaxSizePx, null, DriftMethod.PatchConsensus, null, KernelThreads.All, recycleArrays: false);

        // Slices 9-13 are prepared in the arrays of slices 0-4 (offsets up to 8).
        for (var k = 0; k < slices; k++)
        {
            var (expected, measured) = (fresh.Add(stack[k]), recycling.Add(stack[k]));
            Assert.Equal(expected.HasStructure, measured.HasStructure);
            Assert.Equal(expected.Pairs, measured.Pairs);
        }
    }

    private static Spectrum Poisoned(Spectrum spectrum)
    {
        Array.Fill(spectrum.Re, double.NaN);
        Array.Fill(spectrum.Im, double.NaN);
        Array.Fill(spectrum.Crop.Pixels, float.NaN);
        Array.Fill(spectrum.PolishCrop.Pixels, float.NaN);
        return spectrum;
    }

    private static Image2D<float> Slice(int height, int width, int seed)
    {
        var image = new BlobScene(400, height, width, seed).Render(height, width, Shift2D.Zero);
        ImageTools.AddNoise(image, 0.02, seed);
        return image;
    }

    private static IEnumerable<int> Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits);

    private static IEnumerable<long> Bits(double[] values) => values.Select(BitConverter.DoubleToInt64Bits);
}
