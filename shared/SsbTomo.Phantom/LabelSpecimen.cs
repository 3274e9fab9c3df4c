using SsbTomo.Imaging;

namespace SsbTomo.Phantom;

/// <summary>
/// A specimen given as a label volume (<see cref="PhaseLabel"/> codes, one voxel per phantom voxel) instead of drawn
/// shapes: a segmented real microstructure (an X-ray CT or FIB-SEM segmentation from another project) that
/// <see cref="CathodePhantom.FromLabels"/> images as the FIB-SEM would. Its first axis is the milling direction. The
/// rendered field sits <see cref="MarginPx"/> voxels inside its y and x edges, so that the drift and the blur find
/// specimen all around, and its last slices are what the deepest rendered slices' pores show through.
/// </summary>
public sealed class LabelSpecimen
{
    private readonly byte[] _labels;

    /// <param name="labels">Every voxel a phase label 1..4 (NMC, LPS, carbon, void).</param>
    /// <param name="marginPx">Phantom voxels of specimen outside the rendered field on each side in y and x.</param>
    /// <param name="scale">Phantom voxels per label voxel along each axis: a segmentation imaged again at a finer voxel (each label voxel a scale³ block).</param>
    public LabelSpecimen(Volume<byte> labels, int marginPx, int scale = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegative(marginPx);
        foreach (var label in labels.Data)
            if (label is < PhaseLabel.Nmc or > PhaseLabel.Void)
                throw new ArgumentException($"a specimen voxel is labelled {label}; every voxel must be a phase (1 NMC, 2 LPS, 3 carbon, 4 void)", nameof(labels));
        (_labels, _depth, _height, _width, MarginPx, Scale) = (labels.Data, labels.Depth, labels.Height, labels.Width, marginPx, scale);
        if (Height - 2 * marginPx < 8 || Width - 2 * marginPx < 8)
            throw new ArgumentException($"a {Height}x{Width} specimen leaves no field inside a margin of {marginPx} px", nameof(marginPx));
    }

    private readonly int _depth, _height, _width;

    /// <summary>The specimen's extent in phantom voxels (label voxels × <see cref="Scale"/>).</summary>
    public int Depth => _depth * Scale;

    /// <inheritdoc cref="Depth"/>
    public int Height => _height * Scale;

    /// <inheritdoc cref="Depth"/>
    public int Width => _width * Scale;

    public int MarginPx { get; }

    public int Scale { get; }

    /// <summary>The label at a point of the field's frame (phantom voxel units; the field's voxel (y, x) is the specimen's (y + margin, x + margin)); beyond the specimen, its nearest voxel.</summary>
    public byte At(double z, double y, double x)
    {
        var zi = Math.Clamp((int)Math.Floor(z / Scale), 0, _depth - 1);
        var yi = Math.Clamp((int)Math.Floor((y + MarginPx) / Scale), 0, _height - 1);
        var xi = Math.Clamp((int)Math.Floor((x + MarginPx) / Scale), 0, _width - 1);
        return _labels[((long)zi * _height + yi) * _width + xi];
    }

    /// <summary>
    /// The pores <c>ssbtomo phantom --labels</c> carves: 1.5-4 label voxels in semi-axis, half of them against the active
    /// material. Choices of this generator, as the family's pore sizes are of its own (0.1-0.4 µm radius, 2-8 voxels at 50
    /// nm); the pipeline knows nothing of them.
    /// </summary>
    public const double PoreMinRadiusVoxels = 1.5, PoreMaxRadiusVoxels = 4, PoresAtParticlesShare = 0.5;

    /// <summary>
    /// Carves pores into the electrolyte of <paramref name="labels"/> (in place) until <paramref name="voidFraction"/> of
    /// the volume is void: ellipsoids of semi-axes <paramref name="minRadiusPx"/>..<paramref name="maxRadiusPx"/> (random
    /// orientation, aspect 0.4-1), each voxel inside turned void only where it was electrolyte, so the pores take the
    /// shape of the space between particles and binder. A share <paramref name="atParticleShare"/> of the pores is
    /// centred on an electrolyte voxel that touches NMC (the voids cycling opens at the cathode | electrolyte interface:
    /// contact loss), the rest anywhere in the electrolyte. Seeded: the same arguments give the same voxels.
    /// </summary>
    /// <returns>The void fraction reached (the electrolyte may run out first).</returns>
    public static double CarvePores(Volume<byte> labels, double voidFraction, double minRadiusPx, double maxRadiusPx, double atParticleShare, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!(voidFraction is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(voidFraction), voidFraction, "a fraction within [0, 1)");
        if (!(minRadiusPx >= 0.5 && maxRadiusPx >= minRadiusPx)) throw new ArgumentOutOfRangeException(nameof(minRadiusPx), $"radii {minRadiusPx}..{maxRadiusPx} px");
        var (d, h, w) = (labels.Depth, labels.Height, labels.Width);
        var data = labels.Data;
        long total = data.LongLength, target = (long)Math.Round(voidFraction * total);
        long voids = data.LongCount(l => l == PhaseLabel.Void);
        var interface_ = new List<long>();
        var bulk = new List<long>();
        for (var z = 0; z < d; z++)
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            long i = ((long)z * h + y) * w + x;
            if (data[i] != PhaseLabel.Lps) continue;
            var touches = (x > 0 && data[i - 1] == PhaseLabel.Nmc) || (x + 1 < w && data[i + 1] == PhaseLabel.Nmc)
                || (y > 0 && data[i - w] == PhaseLabel.Nmc) || (y + 1 < h && data[i + w] == PhaseLabel.Nmc)
                || (z > 0 && data[i - (long)h * w] == PhaseLabel.Nmc) || (z + 1 < d && data[i + (long)h * w] == PhaseLabel.Nmc);
            (touches ? interface_ : bulk).Add(i);
        }
        var rng = Rng.For(seed, Stream.Pores, 1);
        for (var attempt = 0; voids < target && attempt < 1_000_000 && interface_.Count + bulk.Count > 0; attempt++)
        {
            var pool = interface_.Count > 0 && (bulk.Count == 0 || rng.NextDouble() < atParticleShare) ? interface_ : bulk;
            var centre = pool[rng.NextInt(pool.Count)];
            if (data[centre] != PhaseLabel.Lps) continue;
            int cz = (int)(centre / ((long)h * w)), cy = (int)(centre / w % h), cx = (int)(centre % w);
            var a = rng.Uniform(minRadiusPx, maxRadiusPx);
            var (b, c) = (a * rng.Uniform(0.4, 1), a * rng.Uniform(0.4, 1));
            var (u, v) = (rng.UnitVector(), rng.UnitVector());
            var v2 = Orthonormal(u, v);
            var n = u.Cross(v2);
            var reach = (int)Math.Ceiling(a);
            for (var z = Math.Max(0, cz - reach); z <= Math.Min(d - 1, cz + reach); z++)
            for (var y = Math.Max(0, cy - reach); y <= Math.Min(h - 1, cy + reach); y++)
            for (var x = Math.Max(0, cx - reach); x <= Math.Min(w - 1, cx + reach); x++)
            {
                var p = new Vec3(z - cz, y - cy, x - cx);
                double pu = p.Dot(u) / a, pv = p.Dot(v2) / b, pn = p.Dot(n) / c;
                if (pu * pu + pv * pv + pn * pn > 1) continue;
                long i = ((long)z * h + y) * w + x;
                if (data[i] != PhaseLabel.Lps) continue;
                data[i] = PhaseLabel.Void;
                voids++;
            }
        }
        return (double)voids / total;
    }

    /// <summary>The part of <paramref name="v"/> normal to the unit vector <paramref name="u"/>, normalised (another axis if they are parallel).</summary>
    private static Vec3 Orthonormal(Vec3 u, Vec3 v)
    {
        var o = v - v.Dot(u) * u;
        if (o.Length < 1e-6) o = Math.Abs(u.Z) < 0.9 ? new Vec3(1, 0, 0) - u.Z * u : new Vec3(0, 1, 0) - u.Y * u;
        return (1 / o.Length) * o;
    }
}
