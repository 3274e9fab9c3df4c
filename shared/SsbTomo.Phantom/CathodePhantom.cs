using System.Runtime.CompilerServices;
using SsbTomo.Imaging;

namespace SsbTomo.Phantom;

/// <summary>
/// A synthetic NMC/LPS/carbon composite cathode (after Shi, Zhang et al., J. Mater. Chem. A 2020) and its FIB-SEM
/// serial-section acquisition, with ground truth. The specimen is analytic (lists of spheres, cracks, capsules,
/// spheroids in voxel units of the slice-0 frame, indexed by a uniform cell grid), so any continuous point can be
/// classified; nothing volumetric is stored. Deterministic for (options, seed); different presets with the same
/// seed share their NMC particles (carbon, pores and cracks then adapt to the preset's targets).
/// <para>Label precedence where objects overlap: NMC &gt; crack void &gt; carbon &gt; pore void &gt; LPS (cracks cut
/// fibres; fibres cross pores; NMC is never covered).</para>
/// <para>Coordinates: voxel (z, y, x) of <see cref="RenderLabels"/> is the point (z+0.5, y+0.5, x+0.5). Raw slice z
/// shows the face at depth z+0.5 displaced by <see cref="DriftPx"/>: raw(q) = specimen(q − DriftPx(z)).</para>
/// </summary>
public sealed class CathodePhantom
{
    private readonly AcquisitionModel _acq;
    private readonly CellGrid _grid;
    private readonly SphereG[] _spheres;
    private readonly double[] _nmcGrey;
    private readonly CrackG[] _cracks;
    private readonly SpheroidG[] _flakes;
    private readonly CapsuleG[] _capsules;
    private readonly SpheroidG[] _pores;
    private readonly Csr _sphereCells, _crackCells, _flakeCells, _capsuleCells, _poreCells;
    // bounding spheres (z, y, radius²) per object, for the per-row candidate filter
    private readonly (double Z, double Y, double R2)[] _sphereB, _crackB, _flakeB, _capsuleB, _poreB;
    private readonly ulong _textureSeed;
    private readonly double _textureScale;
    private readonly PhantomAppearance _look;

    /// <summary>A specimen given as labels (<see cref="FromLabels"/>), which replaces the drawn shapes; null for a drawn one.</summary>
    private readonly LabelSpecimen? _specimen;

    private CathodePhantom(PhantomOptions options, LabelSpecimen? specimen = null)
    {
        Options = options;
        Parameters = options.Resolved;
        _look = Parameters.Appearance;
        _acq = new AcquisitionModel(options, _look);
        int m = _acq.MarginPx;
        SpecimenLo = new Vec3(-2, -m, -m);
        // behind the last slice the specimen must go on as deep as shine-through looks
        SpecimenHi = new Vec3(options.Depth + _look.ShineThroughDepth + 2, options.Height + m, options.Width + m);

        if (specimen is null)
        {
            var builder = new SpecimenBuilder(options, Parameters.Microstructure, _look.NmcParticleOffset, SpecimenLo, SpecimenHi);
            builder.Build();
            Particles = builder.Particles;
            Cracks = builder.Cracks;
            Fibres = builder.Fibres;
            Pores = builder.Pores;
            CrackFlakes = builder.Flakes;
            CalibrationLatticeStride = builder.LatticeStride;
        }
        else
        {
            if (specimen.MarginPx < m)
                throw new ArgumentException($"the specimen's margin of {specimen.MarginPx} px is less than the {m} px this stack's drift and blur reach", nameof(specimen));
            _specimen = specimen;
            (Particles, Cracks, Fibres, Pores, CrackFlakes, CalibrationLatticeStride) = ([], [], [], [], [], 1);
        }

        double pxPerUm = 1000.0 / options.VoxelNm;
        _grid = new CellGrid(SpecimenLo, SpecimenHi, Math.Max(4, 0.8 * pxPerUm));

        _spheres = Particles.Select(p => new SphereG(p.Centre.Z, p.Centre.Y, p.Centre.X, p.Radius)).ToArray();
        // A labelled specimen has no particles to tell apart: its NMC is one grey level (particle 0).
        _nmcGrey = specimen is null ? Particles.Select(p => _look.NmcGrey + p.GreyOffset).ToArray() : [_look.NmcGrey];
        _sphereCells = _grid.Build(Particles.Count,
            i => Box(Particles[i].Centre, Particles[i].Radius),
            (i, c, h) => (c - Particles[i].Centre).Length <= Particles[i].Radius + h);

        _cracks = Cracks.Select(k => new CrackG(Particles[k.ParticleId].Centre, Particles[k.ParticleId].Radius, k.Direction, k.ConeHalfAngle, k.MaxThickness)).ToArray();
        _crackCells = _grid.Build(Cracks.Count,
            i => Box(Particles[Cracks[i].ParticleId].Centre, Particles[Cracks[i].ParticleId].Radius + Cracks[i].MaxThickness),
            (i, c, h) =>
            {
                var k = Cracks[i];
                var p = Particles[k.ParticleId];
                var d = c - p.Centre;
                double len = d.Length;
                if (len > p.Radius + k.MaxThickness + h || len < p.Radius - h) return false;
                if (len <= h) return true;
                double angle = Math.Acos(Math.Clamp(d.Dot(k.Direction) / len, -1, 1));
                return angle <= k.ConeHalfAngle + Math.Asin(Math.Min(1, h / len));
            });

        _flakes = CrackFlakes.Select(ToG).ToArray();
        _flakeCells = _grid.Build(CrackFlakes.Count, i => Box(CrackFlakes[i].Centre, CrackFlakes[i].Radius), (i, c, h) => SpheroidMayTouch(CrackFlakes[i], c, h));
        _pores = Pores.Select(ToG).ToArray();
        _poreCells = _grid.Build(Pores.Count, i => Box(Pores[i].Centre, Pores[i].Radius), (i, c, h) => SpheroidMayTouch(Pores[i], c, h));

        var segs = new List<(Vec3 A, Vec3 B, double R)>();
        foreach (var f in Fibres)
            for (int i = 0; i + 1 < f.Axis.Count; i++) segs.Add((f.Axis[i], f.Axis[i + 1], f.Radius));
        _capsules = segs.Select(s => new CapsuleG(s.A, s.B, s.R)).ToArray();
        _capsuleCells = _grid.Build(segs.Count,
            i =>
            {
                var (a, b, r) = segs[i];
                var e = new Vec3(r, r, r);
                return (new Vec3(Math.Min(a.Z, b.Z), Math.Min(a.Y, b.Y), Math.Min(a.X, b.X)) - e, new Vec3(Math.Max(a.Z, b.Z), Math.Max(a.Y, b.Y), Math.Max(a.X, b.X)) + e);
            },
            (i, c, h) => SegmentDistance(c, segs[i].A, segs[i].B) <= segs[i].R + h);

        _sphereB = Particles.Select(p => (p.Centre.Z, p.Centre.Y, p.Radius * p.Radius)).ToArray();
        _crackB = Cracks.Select(k => { var p = Particles[k.ParticleId]; double r = p.Radius + k.MaxThickness; return (p.Centre.Z, p.Centre.Y, r * r); }).ToArray();
        _flakeB = CrackFlakes.Select(f => (f.Centre.Z, f.Centre.Y, f.Radius * f.Radius)).ToArray();
        _poreB = Pores.Select(f => (f.Centre.Z, f.Centre.Y, f.Radius * f.Radius)).ToArray();
        _capsuleB = segs.Select(g => { var m = 0.5 * (g.A + g.B); double r = 0.5 * (g.B - g.A).Length + g.R; return (m.Z, m.Y, r * r); }).ToArray();

        _textureSeed = Rng.Mix((ulong)(uint)options.Seed, Stream.Texture);
        _textureScale = 1 / (_look.TextureScaleUm * pxPerUm);
    }

    /// <summary>Builds the specimen (random sequential addition etc.); takes well under a second for typical stacks.</summary>
    public static CathodePhantom Create(PhantomOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new CathodePhantom(options);
    }

    /// <summary>
    /// Images a given microstructure (<paramref name="specimen"/>: labels, milled along its first axis) as
    /// <see cref="Create"/> images a drawn one: the appearance, artefacts, noise and drift of <paramref name="options"/>
    /// (a preset's or a family draw's; its microstructure parameters are not used), <paramref name="options"/>.Depth
    /// slices. The field is the specimen inside its margin (its height and width replace the options'); the margin must
    /// cover the drift and the blur (<see cref="MarginFor"/>).
    /// </summary>
    public static CathodePhantom FromLabels(LabelSpecimen specimen, PhantomOptions options)
    {
        ArgumentNullException.ThrowIfNull(specimen);
        ArgumentNullException.ThrowIfNull(options);
        options = options with { Height = specimen.Height - 2 * specimen.MarginPx, Width = specimen.Width - 2 * specimen.MarginPx };
        options.Validate();
        if (options.Depth > specimen.Depth)
            throw new ArgumentException($"{options.Depth} slices asked of a specimen of {specimen.Depth}", nameof(options));
        return new CathodePhantom(options, specimen);
    }

    /// <summary>The margin in y and x (pixels) that a stack of <paramref name="options"/> reaches beyond its field: its largest drift, the blur and a few pixels.</summary>
    public static int MarginFor(PhantomOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new AcquisitionModel(options, options.Resolved.Appearance).MarginPx;
    }

    public PhantomOptions Options { get; }

    /// <summary>The microstructure and appearance this phantom was built with (the preset's or a family draw).</summary>
    public PhantomParameters Parameters { get; }

    /// <summary>Bits per stored pixel of the raw slices: 8 (<see cref="RenderSlice"/>) or 16 (<see cref="RenderSlice16"/>).</summary>
    public int BitDepth => _look.BitDepth;

    /// <summary>NMC spheres, voxel units of the slice-0 frame (including those of the margins).</summary>
    public IReadOnlyList<NmcParticle> Particles { get; }

    /// <summary>One-sided crescent cracks next to particles (cycled presets).</summary>
    public IReadOnlyList<ParticleCrack> Cracks { get; }

    /// <summary>Flake-like cracks growing from the crescents into the LPS (Cycled50).</summary>
    public IReadOnlyList<VoidSpheroid> CrackFlakes { get; }

    /// <summary>Carbon nanofibres.</summary>
    public IReadOnlyList<CarbonFibre> Fibres { get; }

    /// <summary>Pores between LPS grains.</summary>
    public IReadOnlyList<VoidSpheroid> Pores { get; }

    /// <summary>Specimen box in voxel units: the field of view plus a margin that covers the drift and the shine-through depth.</summary>
    public Vec3 SpecimenLo { get; }

    /// <inheritdoc cref="SpecimenLo"/>
    public Vec3 SpecimenHi { get; }

    /// <summary>Largest |drift| component over the stack, pixels.</summary>
    public double MaxDriftPx => _acq.MaxDrift;

    /// <summary>Stride of the lattice of voxel centres used to bring the fractions to target (1 = every voxel).</summary>
    public int CalibrationLatticeStride { get; }

    /// <summary>Where a feature of raw slice z lies minus where it lies in raw slice 0; DriftPx(0) is zero.</summary>
    public Shift2D DriftPx(int z)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, Options.Depth);
        return _acq.Drift(z);
    }

    /// <summary>Detector gain of slice z (documentation/tests).</summary>
    public double GainOf(int z) => _acq.Gain(z);

    /// <summary>Truth labels (<see cref="PhaseLabel"/> 1..4) of slices [z0, z1) in the slice-0 frame, full field of view.</summary>
    public Volume<byte> RenderLabels(int z0, int z1)
    {
        if (z0 < 0 || z1 > Options.Depth || z0 > z1)
            throw new ArgumentOutOfRangeException(nameof(z0), $"slices [{z0},{z1}) are not within [0,{Options.Depth})");
        int h = Options.Height, w = Options.Width;
        var vol = new Volume<byte>(z1 - z0, h, w);
        Parallel.For(0, (z1 - z0) * h, row =>
        {
            int dz = row / h, y = row % h;
            double zc = z0 + dz + 0.5, yc = y + 0.5;
            var particles = new int[w];
            ClassifyRow(zc, yc, 0.5, 1.0, vol.Data.AsSpan(row * w, w), particles);
        });
        return vol;
    }

    /// <summary>Label of the specimen at a continuous point (voxel units of the slice-0 frame).</summary>
    public byte LabelAt(double z, double y, double x) => Classify(z, y, x, out _);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal byte Classify(double z, double y, double x, out int particle)
    {
        particle = -1;
        if (_specimen is not null)
        {
            var label = _specimen.At(z, y, x);
            if (label == PhaseLabel.Nmc) particle = 0;
            return label;
        }
        int cell = _grid.CellOf(z, y, x);
        if (cell < 0) return PhaseLabel.Lps;

        var items = _sphereCells.Items;
        for (int i = _sphereCells.Start[cell], e = _sphereCells.Start[cell + 1]; i < e; i++)
        {
            int k = items[i];
            if (_spheres[k].Contains(z, y, x)) { particle = k; return PhaseLabel.Nmc; }
        }
        items = _crackCells.Items;
        for (int i = _crackCells.Start[cell], e = _crackCells.Start[cell + 1]; i < e; i++)
            if (_cracks[items[i]].Contains(z, y, x)) return PhaseLabel.Void;
        items = _flakeCells.Items;
        for (int i = _flakeCells.Start[cell], e = _flakeCells.Start[cell + 1]; i < e; i++)
            if (_flakes[items[i]].Contains(z, y, x)) return PhaseLabel.Void;
        items = _capsuleCells.Items;
        for (int i = _capsuleCells.Start[cell], e = _capsuleCells.Start[cell + 1]; i < e; i++)
            if (_capsules[items[i]].Contains(z, y, x)) return PhaseLabel.Carbon;
        items = _poreCells.Items;
        for (int i = _poreCells.Start[cell], e = _poreCells.Start[cell + 1]; i < e; i++)
            if (_pores[items[i]].Contains(z, y, x)) return PhaseLabel.Void;
        return PhaseLabel.Lps;
    }

    private const int MaxCandidates = 64;

    /// <summary>
    /// Classifies the points (z, y, x0 + i·step), i &lt; labels.Length, of one line along x. Per grid cell it first keeps
    /// only the objects whose bounding sphere meets the line, so most points test no object at all. Same result as
    /// <see cref="Classify"/> point by point.
    /// </summary>
    internal void ClassifyRow(double z, double y, double x0, double step, Span<byte> labels, Span<int> particles) =>
        ClassifyRow(z, y, new LinearX(x0, step), labels, particles);

    /// <summary>x coordinates of the points of a row; a struct so that the JIT specialises the loop for each kind.</summary>
    internal interface IRowX
    {
        double X(int i);
    }

    /// <summary>x0 + i·step.</summary>
    internal readonly struct LinearX(double x0, double step) : IRowX
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public double X(int i) => x0 + i * step;
    }

    /// <summary>
    /// The 2×2 sub-samples of a row of pixels: point i is (xBase + i/2) + 0.25 or + 0.75, the very double
    /// expression the sub-sample's shine-through has always used (so presets keep their bytes).
    /// </summary>
    internal readonly struct SubPixelX(double xBase) : IRowX
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public double X(int i) => xBase + (i >> 1) + ((i & 1) == 0 ? 0.25 : 0.75);
    }

    internal void ClassifyRow<TX>(double z, double y, TX xs, Span<byte> labels, Span<int> particles) where TX : struct, IRowX
    {
        if (_specimen is not null)
        {
            for (int i = 0; i < labels.Length; i++) labels[i] = Classify(z, y, xs.X(i), out particles[i]);
            return;
        }
        Span<int> sph = stackalloc int[MaxCandidates], crk = stackalloc int[MaxCandidates], flk = stackalloc int[MaxCandidates],
            cap = stackalloc int[MaxCandidates], por = stackalloc int[MaxCandidates];
        int nS = 0, nC = 0, nF = 0, nK = 0, nP = 0;
        int currentCell = int.MinValue;
        bool overflow = false;
        for (int i = 0; i < labels.Length; i++)
        {
            double x = xs.X(i);
            int cell = _grid.CellOf(z, y, x);
            if (cell != currentCell)
            {
                currentCell = cell;
                if (cell < 0) { nS = nC = nF = nK = nP = 0; overflow = false; }
                else
                {
                    overflow = false;
                    nS = Filter(_sphereCells, _sphereB, cell, z, y, sph, ref overflow);
                    nC = Filter(_crackCells, _crackB, cell, z, y, crk, ref overflow);
                    nF = Filter(_flakeCells, _flakeB, cell, z, y, flk, ref overflow);
                    nK = Filter(_capsuleCells, _capsuleB, cell, z, y, cap, ref overflow);
                    nP = Filter(_poreCells, _poreB, cell, z, y, por, ref overflow);
                }
            }
            if (overflow) { labels[i] = Classify(z, y, x, out particles[i]); continue; }
            particles[i] = -1;
            byte label = PhaseLabel.Lps;
            for (int j = 0; j < nS; j++)
                if (_spheres[sph[j]].Contains(z, y, x)) { particles[i] = sph[j]; label = PhaseLabel.Nmc; goto done; }
            for (int j = 0; j < nC; j++)
                if (_cracks[crk[j]].Contains(z, y, x)) { label = PhaseLabel.Void; goto done; }
            for (int j = 0; j < nF; j++)
                if (_flakes[flk[j]].Contains(z, y, x)) { label = PhaseLabel.Void; goto done; }
            for (int j = 0; j < nK; j++)
                if (_capsules[cap[j]].Contains(z, y, x)) { label = PhaseLabel.Carbon; goto done; }
            for (int j = 0; j < nP; j++)
                if (_pores[por[j]].Contains(z, y, x)) { label = PhaseLabel.Void; goto done; }
            done:
            labels[i] = label;
        }
    }

    private static int Filter(Csr csr, (double Z, double Y, double R2)[] bounds, int cell, double z, double y, Span<int> into, ref bool overflow)
    {
        int n = 0;
        for (int i = csr.Start[cell], e = csr.Start[cell + 1]; i < e; i++)
        {
            int k = csr.Items[i];
            var b = bounds[k];
            double dz = b.Z - z, dy = b.Y - y;
            if (dz * dz + dy * dy > b.R2) continue;
            if (n == into.Length) { overflow = true; return n; }
            into[n++] = k;
        }
        return n;
    }

    private double SolidGrey(byte label, int particle) => label switch
    {
        PhaseLabel.Nmc => _nmcGrey[particle],
        PhaseLabel.Carbon => _look.CarbonGrey,
        PhaseLabel.Lps => _look.LpsGrey,
        _ => _look.VoidGrey,
    };

    /// <summary>
    /// Grey levels of the void sub-samples of one row of sub-samples of the face (points <paramref name="xs"/> at
    /// height y, labels of the face in <paramref name="face"/>). A void shows the material behind it
    /// (shine-through): the first solid at depth k = 1..ShineThroughDepth slices deeper at the same (y, x)
    /// contributes α_k = A·e^−(k−1)/decay of its contrast over the void level; deeper pores stay dark. Depth by
    /// depth, the whole row is classified at once while many voids are unresolved, point by point once few are
    /// (both give the labels of <see cref="Classify"/>).
    /// </summary>
    private void ShineThroughRow(double z, double y, SubPixelX xs, ReadOnlySpan<byte> face, Span<double> grey, Span<int> pending,
        byte[] behindLabels, int[] behindParticles)
    {
        double v = _look.VoidGrey;
        int m = 0;
        for (int i = 0; i < face.Length; i++)
            if (face[i] == PhaseLabel.Void) { grey[i] = v; pending[m++] = i; }
        if (_look.ShineThroughStrength == 0) return;
        for (int k = 1; k <= _look.ShineThroughDepth && m > 0; k++)
        {
            double alpha = _look.ShineThroughStrength * Math.Exp(-(k - 1) / _look.ShineThroughDecaySlices);
            bool wholeRow = 4 * m >= face.Length;
            if (wholeRow) ClassifyRow(z + k, y, xs, behindLabels, behindParticles);
            int kept = 0;
            for (int j = 0; j < m; j++)
            {
                int i = pending[j];
                int bp = -1;
                byte behind = wholeRow ? behindLabels[i] : Classify(z + k, y, xs.X(i), out bp);
                if (wholeRow) bp = behindParticles[i];
                if (behind == PhaseLabel.Void) { pending[kept++] = i; continue; }
                grey[i] = v + alpha * (SolidGrey(behind, bp) - v);
            }
            m = kept;
        }
    }

    /// <summary>
    /// The raw 8-bit BSE-like image of slice z of an 8-bit phantom (<see cref="BitDepth"/> 8); see <see cref="RenderSlice16"/>.
    /// </summary>
    public Image2D<byte> RenderSlice(int z)
    {
        if (_look.BitDepth != 8)
            throw new InvalidOperationException($"this phantom stores {_look.BitDepth}-bit slices: use {nameof(RenderSlice16)}");
        var stored = RenderStored(z);
        var image = new Image2D<byte>(Options.Height, Options.Width);
        for (int i = 0; i < stored.Length; i++) image.Pixels[i] = (byte)stored[i];
        return image;
    }

    /// <summary>
    /// The raw BSE-like image of slice z as stored by the detector, with every artefact of
    /// <see cref="ArtefactDescription"/>: 2×2 supersampled phase grey levels with per-particle offsets and texture,
    /// shine-through in pores, Gaussian blur, curtaining, charging, gain drift, signal-dependent noise, drift, the
    /// detector's gain/offset (and digitisation step), rounding and clipping to the bit depth. An 8-bit phantom's
    /// values are returned widened. Memory O(slice).
    /// </summary>
    public Image2D<ushort> RenderSlice16(int z) => new(Options.Height, Options.Width, RenderStored(z));

    private ushort[] RenderStored(int z)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, Options.Depth);
        int h = Options.Height, w = Options.Width, p = _look.BlurRadius;
        int hp = h + 2 * p, wp = w + 2 * p;
        var drift = _acq.Drift(z);
        double zc = z + 0.5;
        double nmcTexture = _look.NmcTexture, lpsTexture = _look.LpsTexture;

        var sharp = new float[hp * wp];
        Parallel.For(0, hp, r =>
        {
            double yBase = r - p - drift.Dy, xBase = -p - drift.Dx;
            int n = 2 * wp;
            var lab0 = new byte[n];
            var lab1 = new byte[n];
            var par0 = new int[n];
            var par1 = new int[n];
            ClassifyRow(zc, yBase + 0.25, xBase + 0.25, 0.5, lab0, par0);
            ClassifyRow(zc, yBase + 0.75, xBase + 0.25, 0.5, lab1, par1);
            var shine0 = new double[n];
            var shine1 = new double[n];
            var pending = new int[n];
            var behindLabels = new byte[n];
            var behindParticles = new int[n];
            ShineThroughRow(zc, yBase + 0.25, new SubPixelX(xBase), lab0, shine0, pending, behindLabels, behindParticles);
            ShineThroughRow(zc, yBase + 0.75, new SubPixelX(xBase), lab1, shine1, pending, behindLabels, behindParticles);
            var row = sharp.AsSpan(r * wp, wp);
            for (int c = 0; c < wp; c++)
            {
                double sum = 0;
                double textured = 0;
                for (int s = 0; s < 4; s++)
                {
                    int i = 2 * c + (s & 1);
                    byte label = (s >> 1) == 0 ? lab0[i] : lab1[i];
                    int particle = (s >> 1) == 0 ? par0[i] : par1[i];
                    sum += label == PhaseLabel.Void ? ((s >> 1) == 0 ? shine0[i] : shine1[i]) : SolidGrey(label, particle);
                    if (label == PhaseLabel.Nmc) textured += nmcTexture;
                    else if (label == PhaseLabel.Lps) textured += lpsTexture;
                }
                double value = sum * 0.25;
                if (textured > 0)
                    value += 0.25 * textured * Rng.ValueNoise(_textureSeed, zc * _textureScale, (yBase + 0.5) * _textureScale, (xBase + c + 0.5) * _textureScale);
                row[c] = (float)value;
            }
        });

        // separable Gaussian blur
        double sigma = _look.BlurSigmaPx;
        Span<double> kernel = stackalloc double[2 * p + 1];
        double ksum = 0;
        for (int i = -p; i <= p; i++) ksum += kernel[i + p] = Math.Exp(-i * i / (2 * sigma * sigma));
        var k = new double[2 * p + 1];
        for (int i = 0; i < k.Length; i++) k[i] = kernel[i] / ksum;

        var horiz = new float[hp * w];
        Parallel.For(0, hp, r =>
        {
            for (int x = 0; x < w; x++)
            {
                double acc = 0;
                int b = r * wp + x;
                for (int i = 0; i < k.Length; i++) acc += k[i] * sharp[b + i];
                horiz[r * w + x] = (float)acc;
            }
        });

        var curtain = new double[w];
        _acq.Curtain(z, drift.Dx, curtain);
        double gain = _acq.Gain(z);
        ulong noiseSeed = Rng.Mix((ulong)(uint)Options.Seed, Stream.Noise, (ulong)z);
        double noiseVar = _look.NoiseVariance, noiseSignalVar = _look.NoiseSignalVariance;
        double outGain = _look.OutputGain, outOffset = _look.OutputOffset, adc = _look.AdcStep, max = _look.MaxStoredValue;
        var stored = new ushort[h * w];
        Parallel.For(0, h, y =>
        {
            var rng = new Rng(Rng.Mix(noiseSeed, (ulong)y));
            Span<double> charge = w <= 4096 ? stackalloc double[w] : new double[w];
            _acq.Charging(z, y, charge);
            var outRow = stored.AsSpan(y * w, w);
            for (int x = 0; x < w; x++)
            {
                double acc = 0;
                for (int i = 0; i < k.Length; i++) acc += k[i] * horiz[(y + i) * w + x];
                double signal = gain * (acc + curtain[x] + charge[x]);
                double sd = Math.Sqrt(noiseVar + noiseSignalVar * Math.Max(0, signal));
                double v = signal + sd * rng.Gaussian();
                if (adc > 0) v = adc * Math.Round(v / adc);
                outRow[x] = (ushort)Math.Clamp(Math.Round(outOffset + outGain * v), 0, max);
            }
        });
        return stored;
    }

    private static (Vec3, Vec3) Box(Vec3 c, double r) => (c - new Vec3(r, r, r), c + new Vec3(r, r, r));

    private static SpheroidG ToG(VoidSpheroid s) => new(s.Centre, s.Normal, s.Radius, s.HalfThickness);

    private static bool SpheroidMayTouch(VoidSpheroid s, Vec3 c, double h)
    {
        var d = c - s.Centre;
        return d.Length <= s.Radius + h && Math.Abs(d.Dot(s.Normal)) <= s.HalfThickness + h;
    }

    private static double SegmentDistance(Vec3 p, Vec3 a, Vec3 b)
    {
        var ab = b - a;
        double t = Math.Clamp((p - a).Dot(ab) / Math.Max(1e-12, ab.Dot(ab)), 0, 1);
        return (p - (a + t * ab)).Length;
    }
}

/// <summary>The simulated acquisition artefacts, in words and numbers (documentation only).</summary>
public static class ArtefactDescription
{
    /// <summary>The presets' artefacts.</summary>
    public static IReadOnlyList<string> Items { get; } = For(new PhantomAppearance());

    /// <summary>The artefacts of a phantom with this appearance (a preset's or a family draw's).</summary>
    public static IReadOnlyList<string> For(PhantomAppearance a)
    {
        var ic = System.Globalization.CultureInfo.InvariantCulture;
        string F(double v) => v.ToString("0.###", ic);
        string sigma(double s) => F(a.NoiseSigma(s));
        return
        [
            $"Phase grey levels (signal scale) void {F(a.VoidGrey)}, carbon {F(a.CarbonGrey)}, LPS {F(a.LpsGrey)}, NMC {F(a.NmcGrey)} ± {F(a.NmcParticleOffset)} per particle; value-noise texture ±{F(a.NmcTexture)} (NMC), ±{F(a.LpsTexture)} (LPS) at {F(a.TextureScaleUm)} µm scale.",
            "2×2 supersampling of each pixel (partial volumes) on the face at depth z+0.5.",
            $"Shine-through in voids: first solid k = 1..{a.ShineThroughDepth} slices deeper adds α = {F(a.ShineThroughStrength)}·exp(−(k−1)/{F(a.ShineThroughDecaySlices)}) of its contrast.",
            $"In-plane Gaussian blur σ = {F(a.BlurSigmaPx)} px.",
            $"Curtaining: vertical stripes fixed to the specimen, 3–40 px wide, ±{F(a.CurtainAmplitudeMin)}–{F(a.CurtainAmplitudeMax)} grey levels, living 150–600 slices, pulsating slowly.",
            $"Charging: tilted plane (±{F(a.ChargingPlaneMin)}–{F(a.ChargingPlaneMax)} per axis) plus broad bump (0.2–1 × {F(a.ChargingBumpMin)}–{F(a.ChargingBumpMax)}), periods 200–900 slices, image frame.",
            $"Gain: 1 + two slow sinusoids, within ±{F(100 * (a.GainDriftSlowMax + a.GainDriftFastMax))} %.",
            $"Noise: Gaussian with σ = sqrt({F(a.NoiseVariance)} + {F(a.NoiseSignalVariance)}·signal) (≈ {sigma(a.VoidGrey)}–{sigma(a.NmcGrey)} grey levels), one seeded stream per (seed, slice, row).",
            $"Drift: random walk σ = {F(AcquisitionModel.DriftStepSigmaPx)} px/slice per axis plus a linear trend (|y| 0.04–0.06, |x| ≤ 0.02 px/slice); DriftPx(0) = 0.",
            a.AdcStep > 0
                ? $"Detector: signal digitised in steps of {F(a.AdcStep)}, stored = {F(a.OutputOffset)} + {F(a.OutputGain)}·signal, rounded and clipped to 0..{a.MaxStoredValue} ({a.BitDepth}-bit)."
                : $"Detector: stored = {F(a.OutputOffset)} + {F(a.OutputGain)}·signal, rounded and clipped to 0..{a.MaxStoredValue} ({a.BitDepth}-bit).",
        ];
    }
}
