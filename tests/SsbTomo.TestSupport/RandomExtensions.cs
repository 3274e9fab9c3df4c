namespace SsbTomo.TestSupport;

public static class RandomExtensions
{
    /// <summary>A standard normal draw (Box–Muller; two uniforms per draw, so sequences stay reproducible per seed).</summary>
    public static double NextGaussian(this Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
