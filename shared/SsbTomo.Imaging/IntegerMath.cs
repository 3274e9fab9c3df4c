namespace SsbTomo.Imaging;

/// <summary>Integer arithmetic the kernels share.</summary>
internal static class IntegerMath
{
    /// <summary>The greatest common divisor of two non-negative integers (Euclid); <paramref name="a"/> when <paramref name="b"/> is 0.</summary>
    public static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}
