using SsbTomo.Imaging.Classification;

namespace SsbTomo.Imaging.Tests.Classification;

public class ClassPriorShiftTests
{
    /// <summary>
    /// Pixels drawn with class fractions <paramref name="truePriors"/> from unit Gaussians at 0, 1.5, 3, ..., and their
    /// exact Bayes posteriors under <paramref name="trainingPriors"/>: what a perfectly calibrated classifier trained on
    /// those fractions would say.
    /// </summary>
    private static float[] Posteriors(double[] truePriors, double[] trainingPriors, int n, int seed)
    {
        var random = new Random(seed);
        var k = truePriors.Length;
        var result = new float[n * k];
        var likelihood = new double[k];
        for (var i = 0; i < n; i++)
        {
            var (u, c) = (random.NextDouble(), 0);
            for (var acc = truePriors[0]; u > acc && c < k - 1; acc += truePriors[++c]) { }
            var x = 1.5 * c + Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            double total = 0;
            for (var j = 0; j < k; j++) total += likelihood[j] = trainingPriors[j] * Math.Exp(-0.5 * (x - 1.5 * j) * (x - 1.5 * j));
            for (var j = 0; j < k; j++) result[i * k + j] = (float)(likelihood[j] / total);
        }
        return result;
    }

    [Theory]
    [InlineData(0.8, 0.15, 0.05)]
    [InlineData(0.02, 0.5, 0.48)]
    [InlineData(1 / 3.0, 1 / 3.0, 1 / 3.0)]
    public void Recovers_the_class_fractions_of_pixels_whose_posteriors_assumed_even_ones(double a, double b, double c)
    {
        double[] truth = [a, b, c];
        double[] even = [1 / 3.0, 1 / 3.0, 1 / 3.0];
        var estimated = ClassPriorShift.EstimatePriors(Posteriors(truth, even, 40_000, seed: 1), even);
        Assert.Equal(1.0, estimated.Sum(), 9);
        for (var j = 0; j < 3; j++) Assert.True(Math.Abs(estimated[j] - truth[j]) < 0.015, $"class {j}: estimated {estimated[j]:0.000}, true {truth[j]:0.000}");
    }

    [Fact]
    public void The_textbook_case_an_ambiguous_pixel_goes_with_the_unambiguous_one()
    {
        // One pixel sure of class 0 and one undecided: the likelihood (π0/2 + π1/2)·π0 grows with π0, so EM ends at (1, 0).
        var estimated = ClassPriorShift.EstimatePriors([1f, 0f, 0.5f, 0.5f], [0.5, 0.5]);
        Assert.True(estimated[0] > 0.99, $"{estimated[0]}");
    }

    [Fact]
    public void Weights_are_the_ratio_of_the_priors_with_a_floor()
    {
        Assert.Equal([0.2 / 0.5, 0.8 / 0.5], ClassPriorShift.Weights([0.2, 0.8], [0.5, 0.5]));
        Assert.Equal(1e-3 / 0.25, ClassPriorShift.Weights([0.0, 1.0], [0.25, 0.75])[0], 12);
    }

    [Fact]
    public void Bad_input_is_refused()
    {
        Assert.Throws<ArgumentException>(() => ClassPriorShift.EstimatePriors([0.5f, 0.5f, 1f], [0.5, 0.5]));
        Assert.Throws<ArgumentException>(() => ClassPriorShift.EstimatePriors([0.5f, 0.5f], [1.0, 0.0]));
        Assert.Throws<ArgumentException>(() => ClassPriorShift.EstimatePriors([], [0.5, 0.5]));
        Assert.Throws<ArgumentException>(() => ClassPriorShift.Weights([0.5], [0.5, 0.5]));
    }
}
