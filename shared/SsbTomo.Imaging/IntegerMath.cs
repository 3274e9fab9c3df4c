namespace SsbTomo.Imaging;

/// <summary>Integer arithmetic the kernels share.</summary>
internal static class IntegerMath
{
    /// <summary>
    /// Every whole number of magnitude up to 2^24 is a float (IEEE 754 single precision: a 24-bit significand), the
    /// next one, 2^24 + 1, is not: the bound within which float arithmetic on whole numbers is exact.
    /// </summary>
    public const double LargestExactSingle = 1 << 24;

    /// <summary>The greatest common divisor of two non-negative integers (Euclid); <paramref name="a"/> when <paramref name="b"/> is 0.</summary>
    public static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}
