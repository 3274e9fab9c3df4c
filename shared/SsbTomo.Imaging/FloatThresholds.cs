namespace SsbTomo.Imaging;

/// <summary>Comparisons of floats with double thresholds, done in floats with the same outcome (so that they run on float lanes).</summary>
internal static class FloatThresholds
{
    /// <summary>For a float f: f ≥ value exactly when f ≥ the result (and f &lt; value exactly when f &lt; it).</summary>
    public static float LeastFloatAtOrAbove(double value)
    {
        var rounded = (float)value;
        return (double)rounded < value ? MathF.BitIncrement(rounded) : rounded;
    }
}
