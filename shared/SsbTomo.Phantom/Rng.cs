namespace SsbTomo.Phantom;

/// <summary>
/// SplitMix64: a tiny, fast, fully specified generator, so the phantom is bit-identical across .NET versions
/// (System.Random's seeded algorithm is an implementation detail). One instance per stream, never shared
/// across threads; streams are derived from (seed, purpose, index) with <see cref="Mix"/>.
/// </summary>
internal sealed class Rng
{
    private ulong _state;
    private double _spare;
    private bool _hasSpare;

    public Rng(ulong seed) => _state = seed;

    public static Rng For(int seed, ulong purpose, long index = 0) => new(Mix((ulong)(uint)seed, purpose, (ulong)index));

    public static ulong Mix(ulong a, ulong b, ulong c = 0)
    {
        ulong h = Finalise(a + 0x9E3779B97F4A7C15UL);
        h = Finalise(h ^ (b + 0xC2B2AE3D27D4EB4FUL));
        return Finalise(h ^ (c + 0x165667B19E3779F9UL));
    }

    public static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextU64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Finalise(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextU64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    public int NextInt(int n) => (int)((NextU64() >> 33) % (ulong)n);

    /// <summary>Standard normal (Box–Muller, second value cached).</summary>
    public double Gaussian()
    {
        if (_hasSpare) { _hasSpare = false; return _spare; }
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = r * Math.Sin(2 * Math.PI * u2);
        _hasSpare = true;
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Uniform direction on the unit sphere, (z, y, x).</summary>
    public Vec3 UnitVector()
    {
        double cz = Uniform(-1, 1), phi = Uniform(0, 2 * Math.PI), s = Math.Sqrt(1 - cz * cz);
        return new Vec3(cz, s * Math.Sin(phi), s * Math.Cos(phi));
    }

    public void Shuffle<T>(IList<T> list)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary>A hash of integer lattice coordinates to [-1, 1), for value noise.</summary>
    public static double Lattice(ulong seed, long z, long y, long x)
    {
        ulong h = Finalise(seed ^ ((ulong)z * 0x9E3779B97F4A7C15UL) ^ ((ulong)y * 0xC2B2AE3D27D4EB4FUL) ^ ((ulong)x * 0x165667B19E3779F9UL));
        return (h >> 11) * (2.0 / (1UL << 53)) - 1.0;
    }

    /// <summary>Smooth 3D value noise in [-1, 1], unit feature size; deterministic in seed and coordinates.</summary>
    public static double ValueNoise(ulong seed, double z, double y, double x)
    {
        double fz = Math.Floor(z), fy = Math.Floor(y), fx = Math.Floor(x);
        long iz = (long)fz, iy = (long)fy, ix = (long)fx;
        double tz = Smooth(z - fz), ty = Smooth(y - fy), tx = Smooth(x - fx);
        double c000 = Lattice(seed, iz, iy, ix), c001 = Lattice(seed, iz, iy, ix + 1);
        double c010 = Lattice(seed, iz, iy + 1, ix), c011 = Lattice(seed, iz, iy + 1, ix + 1);
        double c100 = Lattice(seed, iz + 1, iy, ix), c101 = Lattice(seed, iz + 1, iy, ix + 1);
        double c110 = Lattice(seed, iz + 1, iy + 1, ix), c111 = Lattice(seed, iz + 1, iy + 1, ix + 1);
        double a = c000 + (c001 - c000) * tx, b = c010 + (c011 - c010) * tx;
        double c = c100 + (c101 - c100) * tx, d = c110 + (c111 - c110) * tx;
        double e = a + (b - a) * ty, f = c + (d - c) * ty;
        return e + (f - e) * tz;
    }

    private static double Smooth(double t) => t * t * (3 - 2 * t);
}

/// <summary>Purposes of the random streams (each component has its own stream so presets share geometry).</summary>
internal static class Stream
{
    public const ulong Nmc = 1, NmcCondition = 2, Cracks = 3, Carbon = 4, Pores = 5, Drift = 6,
        Curtain = 7, Charging = 8, Gain = 9, Noise = 10, Texture = 11, Grey = 12, Family = 13;
}
