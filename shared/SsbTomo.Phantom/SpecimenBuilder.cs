namespace SsbTomo.Phantom;

/// <summary>
/// Builds the analytic specimen: NMC spheres by random sequential addition, one-sided cracks (when the void has cracks),
/// carbon nanofibres, pores. A coarse "calibration lattice" of voxel centres over the field of view (stride s so
/// that it has at most ~4 M points; s = 1, i.e. exactly the truth voxels, for small stacks) records the label each
/// point gets under the precedence NMC &gt; crack void &gt; carbon &gt; pore void &gt; LPS. Each phase is generated over
/// the whole specimen box in random order and stops when its share of the lattice reaches its target, so
/// the truth fractions in the field of view are on target even when it holds only a few particles, while the
/// margins have the same statistics.
/// </summary>
internal sealed class SpecimenBuilder
{
    private const byte RankLps = 0, RankPore = 1, RankCarbon = 2, RankCrack = 3, RankNmc = 4;

    private readonly PhantomOptions _o;
    private readonly double _nmcGreyOffset;
    private readonly MicrostructureParameters _p;
    private readonly double _pxPerUm;
    private readonly Vec3 _boxLo, _boxHi;

    // calibration lattice
    private readonly int _s, _lz, _ly, _lx;
    private readonly byte[] _rank;
    private readonly int[] _owner;
    private readonly long[] _count = new long[5];

    // NMC under construction + a coarse dynamic grid of their centres for overlap tests
    private readonly List<Vec3> _c = [];
    private readonly List<double> _r = [];
    private readonly List<bool> _alive = [];
    private readonly double _rmax;
    private readonly double _dynCell;
    private readonly Vec3 _dynLo;
    private readonly int _dnz, _dny, _dnx;
    private readonly List<int>?[] _dyn;

    public readonly List<ParticleCrack> Cracks = [];
    public readonly List<VoidSpheroid> Flakes = [];
    public readonly List<CarbonFibre> Fibres = [];
    public readonly List<VoidSpheroid> Pores = [];

    public SpecimenBuilder(PhantomOptions o, MicrostructureParameters p, double nmcGreyOffset, Vec3 boxLo, Vec3 boxHi)
    {
        _o = o;
        _nmcGreyOffset = nmcGreyOffset;
        _p = p;
        _pxPerUm = 1000.0 / o.VoxelNm;
        _boxLo = boxLo;
        _boxHi = boxHi;

        long n = (long)o.Depth * o.Height * o.Width;
        _s = Math.Max(1, (int)Math.Ceiling(Math.Cbrt(n / 4_000_000.0)));
        _lz = (o.Depth + _s - 1) / _s;
        _ly = (o.Height + _s - 1) / _s;
        _lx = (o.Width + _s - 1) / _s;
        _rank = new byte[_lz * _ly * _lx];
        _owner = new int[_rank.Length];
        Array.Fill(_owner, -1);
        _count[RankLps] = _rank.Length;

        _rmax = p.NmcMaxDiameterUm / 2 * _pxPerUm;
        _dynCell = 2 * _rmax;
        _dynLo = boxLo - new Vec3(_rmax, _rmax, _rmax);
        var ext = boxHi - boxLo + new Vec3(2 * _rmax, 2 * _rmax, 2 * _rmax);
        _dnz = (int)Math.Ceiling(ext.Z / _dynCell) + 1;
        _dny = (int)Math.Ceiling(ext.Y / _dynCell) + 1;
        _dnx = (int)Math.Ceiling(ext.X / _dynCell) + 1;
        _dyn = new List<int>?[_dnz * _dny * _dnx];
    }

    public int LatticeStride => _s;

    public List<NmcParticle> Particles { get; } = [];

    private double Fraction(byte rank) => (double)_count[rank] / _rank.Length;

    public void Build()
    {
        BuildNmc();
        if (_p.CrackVoidFraction > 0) BuildCracks();
        BuildCarbon();
        BuildPores();
    }

    // ---------------- lattice ----------------

    private double LatticeCoord(int i, int dim) => Math.Min(i * _s + _s / 2, dim - 1) + 0.5;

    private void ForLattice(Vec3 lo, Vec3 hi, Action<int, double, double, double> visit)
    {
        int z0 = LatIndexLo(lo.Z), z1 = LatIndexHi(hi.Z, _lz);
        int y0 = LatIndexLo(lo.Y), y1 = LatIndexHi(hi.Y, _ly);
        int x0 = LatIndexLo(lo.X), x1 = LatIndexHi(hi.X, _lx);
        for (int iz = z0; iz <= z1; iz++)
        {
            double z = LatticeCoord(iz, _o.Depth);
            for (int iy = y0; iy <= y1; iy++)
            {
                double y = LatticeCoord(iy, _o.Height);
                int row = (iz * _ly + iy) * _lx;
                for (int ix = x0; ix <= x1; ix++)
                    visit(row + ix, z, y, LatticeCoord(ix, _o.Width));
            }
        }
    }

    // Conservative index range of lattice points whose coordinate lies in [lo, hi]; the containment tests filter.
    private int LatIndexLo(double v) => Math.Max(0, (int)Math.Floor((v - 0.5 - _s / 2) / _s));
    private int LatIndexHi(double v, int n) => Math.Min(n - 1, (int)Math.Ceiling((v - 0.5 - _s / 2) / _s));

    private void SetRank(int k, byte rank)
    {
        _count[_rank[k]]--;
        _rank[k] = rank;
        _count[rank]++;
    }

    // ---------------- NMC ----------------

    private double DrawDiameterUm(Rng rng)
    {
        while (true)
        {
            double d = _p.NmcMedianDiameterUm * Math.Exp(_p.NmcLogSigma * rng.Gaussian());
            if (d >= _p.NmcMinDiameterUm && d <= _p.NmcMaxDiameterUm) return d;
        }
    }

    private int DynCell(Vec3 c)
    {
        int iz = Math.Clamp((int)((c.Z - _dynLo.Z) / _dynCell), 0, _dnz - 1);
        int iy = Math.Clamp((int)((c.Y - _dynLo.Y) / _dynCell), 0, _dny - 1);
        int ix = Math.Clamp((int)((c.X - _dynLo.X) / _dynCell), 0, _dnx - 1);
        return (iz * _dny + iy) * _dnx + ix;
    }

    private IEnumerable<int> Neighbours(Vec3 c)
    {
        int iz = Math.Clamp((int)((c.Z - _dynLo.Z) / _dynCell), 0, _dnz - 1);
        int iy = Math.Clamp((int)((c.Y - _dynLo.Y) / _dynCell), 0, _dny - 1);
        int ix = Math.Clamp((int)((c.X - _dynLo.X) / _dynCell), 0, _dnx - 1);
        for (int z = Math.Max(0, iz - 1); z <= Math.Min(_dnz - 1, iz + 1); z++)
            for (int y = Math.Max(0, iy - 1); y <= Math.Min(_dny - 1, iy + 1); y++)
                for (int x = Math.Max(0, ix - 1); x <= Math.Min(_dnx - 1, ix + 1); x++)
                {
                    var list = _dyn[(z * _dny + y) * _dnx + x];
                    if (list == null) continue;
                    foreach (int j in list)
                        if (_alive[j]) yield return j;
                }
    }

    private bool Fits(Vec3 c, double r)
    {
        foreach (int j in Neighbours(c))
        {
            double min = r + _r[j] - _p.NmcContactOverlap * Math.Min(r, _r[j]);
            var d = c - _c[j];
            if (d.Dot(d) < min * min) return false;
        }
        return true;
    }

    private int InsideNmc(Vec3 p)
    {
        foreach (int j in Neighbours(p))
        {
            var d = p - _c[j];
            if (d.Dot(d) < _r[j] * _r[j]) return j;
        }
        return -1;
    }

    private void AddSphere(Vec3 c, double r)
    {
        int id = _c.Count;
        _c.Add(c);
        _r.Add(r);
        _alive.Add(true);
        int cell = DynCell(c);
        (_dyn[cell] ??= []).Add(id);
        var ext = new Vec3(r, r, r);
        ForLattice(c - ext, c + ext, (k, z, y, x) =>
        {
            if (_owner[k] >= 0) return;
            var d = new Vec3(z, y, x) - c;
            if (d.Dot(d) >= r * r) return;
            _owner[k] = id;
            SetRank(k, RankNmc);
        });
    }

    private long LatticeCount(int id)
    {
        long n = 0;
        var c = _c[id];
        var ext = new Vec3(_r[id], _r[id], _r[id]);
        ForLattice(c - ext, c + ext, (k, _, _, _) => { if (_owner[k] == id) n++; });
        return n;
    }

    private void RemoveSphere(int id)
    {
        _alive[id] = false;
        var c = _c[id];
        var ext = new Vec3(_r[id], _r[id], _r[id]);
        ForLattice(c - ext, c + ext, (k, z, y, x) =>
        {
            if (_owner[k] != id) return;
            int other = InsideNmc(new Vec3(z, y, x));
            _owner[k] = other;
            if (other < 0) SetRank(k, RankLps);
        });
    }

    private void BuildNmc()
    {
        var rng = Rng.For(_o.Seed, Stream.Nmc);
        var lo = _boxLo - new Vec3(_rmax, _rmax, _rmax);
        var hi = _boxHi + new Vec3(_rmax, _rmax, _rmax);
        var size = hi - lo;
        double volume = size.Z * size.Y * size.X;

        // pool of diameters worth a share of the (extended) box, placed largest first
        var pool = new List<double>();
        double sum = 0;
        while (sum < _p.NmcPoolFraction * volume)
        {
            double r = DrawDiameterUm(rng) / 2 * _pxPerUm;
            pool.Add(r);
            sum += 4.0 / 3 * Math.PI * r * r * r;
        }
        pool.Sort((a, b) => b.CompareTo(a));
        foreach (double r in pool)
        {
            for (int attempt = 0; attempt < 40; attempt++)
            {
                var c = new Vec3(lo.Z + rng.NextDouble() * size.Z, lo.Y + rng.NextDouble() * size.Y, lo.X + rng.NextDouble() * size.X);
                if (!Fits(c, r)) continue;
                AddSphere(c, r);
                break;
            }
        }

        // condition the field of view on the target fraction
        var crng = Rng.For(_o.Seed, Stream.NmcCondition);
        double target = _p.NmcFraction, tol = _p.FractionTolerance;
        if (Fraction(RankNmc) > target + tol)
        {
            // remove, one at a time, the field-of-view particle that brings the fraction closest to the target
            var candidates = Enumerable.Range(0, _c.Count).Where(j => _alive[j]).Select(j => (j, n: LatticeCount(j))).Where(t => t.n > 0).ToList();
            crng.Shuffle(candidates);
            while (Fraction(RankNmc) > target + tol && candidates.Count > 0)
            {
                int best = 0;
                double bestErr = double.MaxValue;
                for (int i = 0; i < candidates.Count; i++)
                {
                    double err = Math.Abs((double)(_count[RankNmc] - candidates[i].n) / _rank.Length - target);
                    if (err < bestErr) { bestErr = err; best = i; }
                }
                RemoveSphere(candidates[best].j);
                candidates.RemoveAt(best);
            }
        }
        var fovSize = new Vec3(_o.Depth, _o.Height, _o.Width);
        const int maxAttempts = 20000;
        for (int attempt = 0; attempt < maxAttempts && Fraction(RankNmc) < target - tol; attempt++)
        {
            double shrink = 1 - (double)attempt / maxAttempts;
            double r = Math.Max(_p.NmcMinDiameterUm, DrawDiameterUm(crng) * shrink) / 2 * _pxPerUm;
            var c = new Vec3(-r + crng.NextDouble() * (fovSize.Z + 2 * r), -r + crng.NextDouble() * (fovSize.Y + 2 * r), -r + crng.NextDouble() * (fovSize.X + 2 * r));
            if (!Fits(c, r)) continue;
            AddSphere(c, r);
            if (_p.UndoOvershoot && Fraction(RankNmc) > target + tol) RemoveSphere(_c.Count - 1);
        }

        var grey = Rng.For(_o.Seed, Stream.Grey);
        for (int j = 0; j < _c.Count; j++)
        {
            double offset = grey.Uniform(-_nmcGreyOffset, _nmcGreyOffset);
            if (_alive[j]) Particles.Add(new NmcParticle(Particles.Count, _c[j], _r[j], offset));
        }
        // rebuild the dynamic grid over the final list so that indices match Particles
        Array.Clear(_dyn);
        _c.Clear(); _r.Clear(); _alive.Clear();
        foreach (var p in Particles)
        {
            _c.Add(p.Centre); _r.Add(p.Radius); _alive.Add(true);
            (_dyn[DynCell(p.Centre)] ??= []).Add(p.Id);
        }
    }

    // ---------------- cracks ----------------

    private void BuildCracks()
    {
        var rng = Rng.For(_o.Seed, Stream.Cracks);
        var order = Enumerable.Range(0, Particles.Count).ToList();
        rng.Shuffle(order);
        foreach (int j in order)
        {
            if (Fraction(RankCrack) >= _p.CrackVoidFraction) break;
            var part = Particles[j];
            var u = rng.UnitVector();
            double cone = rng.Uniform(_p.CrackConeMinDeg, _p.CrackConeMaxDeg) * Math.PI / 180;
            double tmax = rng.Uniform(_p.CrackMaxThicknessMinUm, _p.CrackMaxThicknessMaxUm) * _pxPerUm;
            var crack = new ParticleCrack(part.Id, u, cone, tmax);
            int flakesBefore = Flakes.Count;
            _changed.Clear();
            Cracks.Add(crack);
            var g = new CrackG(part.Centre, part.Radius, u, cone, tmax);
            double ext = part.Radius + tmax;
            PaintVoidCrack(part.Centre - new Vec3(ext, ext, ext), part.Centre + new Vec3(ext, ext, ext), g.Contains);

            int flakes = _p.FlakesMax > 0 ? 1 + (rng.NextDouble() < _p.SecondFlakeProbability ? 1 : 0) : 0;
            flakes = Math.Min(flakes, _p.FlakesMax);
            for (int f = 0; f < flakes; f++)
            {
                double radius = rng.Uniform(_p.FlakeRadiusMinUm, _p.FlakeRadiusMaxUm) * _pxPerUm;
                double half = rng.Uniform(_p.FlakeHalfThicknessMinUm, _p.FlakeHalfThicknessMaxUm) * _pxPerUm;
                // a flake is a delamination crack running on from the crescent into the LPS: a disc roughly tangent
                // to the particle at the crescent (normal ≈ crack direction, tilted), touching NMC only there
                var normal = (u + 0.3 * rng.UnitVector()).Normalised();
                var along = normal.AnyPerpendicular();
                double a = rng.Uniform(0, 2 * Math.PI);
                var side = (Math.Cos(a) * along + Math.Sin(a) * normal.Cross(along)).Normalised();
                var centre = part.Centre + (part.Radius + 0.5 * tmax + half) * u + (0.4 * radius) * side;
                var flake = new VoidSpheroid(centre, normal, radius, half, true);
                Flakes.Add(flake);
                var sg = new SpheroidG(centre, normal, radius, half);
                PaintVoidCrack(centre - new Vec3(radius, radius, radius), centre + new Vec3(radius, radius, radius), sg.Contains);
            }
            // a crack that would overshoot the target by more than half a point is undone (another particle is tried)
            if (Fraction(RankCrack) > _p.CrackVoidFraction + 0.005)
            {
                foreach (int k in _changed) SetRank(k, RankLps);
                Cracks.RemoveAt(Cracks.Count - 1);
                Flakes.RemoveRange(flakesBefore, Flakes.Count - flakesBefore);
            }
        }
    }

    private readonly List<int> _changed = [];

    private void PaintVoidCrack(Vec3 lo, Vec3 hi, Func<double, double, double, bool> inside) =>
        ForLattice(lo, hi, (k, z, y, x) =>
        {
            if (_rank[k] < RankCrack && inside(z, y, x)) { SetRank(k, RankCrack); _changed.Add(k); }
        });

    // ---------------- carbon ----------------

    private Vec3 RandomInBox(Rng rng) => new(
        _boxLo.Z + rng.NextDouble() * (_boxHi.Z - _boxLo.Z),
        _boxLo.Y + rng.NextDouble() * (_boxHi.Y - _boxLo.Y),
        _boxLo.X + rng.NextDouble() * (_boxHi.X - _boxLo.X));

    private void BuildCarbon()
    {
        var rng = Rng.For(_o.Seed, Stream.Carbon);
        long maxAttempts = 2_000_000;
        for (long attempt = 0; attempt < maxAttempts && Fraction(RankCarbon) < _p.CarbonFraction; attempt++)
        {
            double radius = rng.Uniform(_p.FibreMinDiameterUm, _p.FibreMaxDiameterUm) / 2 * _pxPerUm;
            double length = rng.Uniform(_p.FibreMinLengthUm, _p.FibreMaxLengthUm) * _pxPerUm;
            int segments = Math.Max(2, (int)Math.Ceiling(length / (_p.FibreSegmentUm * _pxPerUm)));
            double seg = length / segments;
            var dir = rng.UnitVector();
            var p = RandomInBox(rng);
            var axis = new List<Vec3> { p };
            for (int i = 0; i < segments; i++)
            {
                if (i > 0) dir = (dir + 0.25 * rng.UnitVector()).Normalised(); // gently curved
                p += seg * dir;
                axis.Add(p);
            }
            // a fibre lives in the LPS: reject it if much of its axis runs through NMC (the rest is clipped by precedence)
            int samples = 0, inNmc = 0;
            for (int i = 0; i + 1 < axis.Count; i++)
                for (double t = 0; t < 1; t += 0.25)
                {
                    samples++;
                    if (InsideNmc(axis[i] + t * (axis[i + 1] - axis[i])) >= 0) inNmc++;
                }
            if (inNmc > 0.2 * samples) continue;

            Fibres.Add(new CarbonFibre(axis, radius));
            for (int i = 0; i + 1 < axis.Count; i++)
            {
                var g = new CapsuleG(axis[i], axis[i + 1], radius);
                var lo = new Vec3(Math.Min(axis[i].Z, axis[i + 1].Z), Math.Min(axis[i].Y, axis[i + 1].Y), Math.Min(axis[i].X, axis[i + 1].X)) - new Vec3(radius, radius, radius);
                var hi = new Vec3(Math.Max(axis[i].Z, axis[i + 1].Z), Math.Max(axis[i].Y, axis[i + 1].Y), Math.Max(axis[i].X, axis[i + 1].X)) + new Vec3(radius, radius, radius);
                ForLattice(lo, hi, (k, z, y, x) =>
                {
                    if (_rank[k] < RankCarbon && g.Contains(z, y, x)) SetRank(k, RankCarbon);
                });
            }
        }
    }

    // ---------------- pores ----------------

    private bool NearNmc(Vec3 p, double radius)
    {
        foreach (int j in Neighbours(p))
        {
            var d = p - _c[j];
            double lim = _r[j] + radius;
            if (d.Dot(d) < lim * lim) return true;
        }
        return false;
    }

    private void BuildPores()
    {
        var rng = Rng.For(_o.Seed, Stream.Pores);
        long maxAttempts = 5_000_000;
        for (long attempt = 0; attempt < maxAttempts && Fraction(RankCrack) + Fraction(RankPore) < _p.VoidFraction; attempt++)
        {
            double radius = rng.Uniform(_p.PoreMinRadiusUm, _p.PoreMaxRadiusUm) * _pxPerUm;
            double half = radius * rng.Uniform(_p.PoreMinAspect, _p.PoreMaxAspect);
            var normal = rng.UnitVector();
            var c = RandomInBox(rng);
            // pores sit between LPS grains (left by cold pressing), never inside a cathode particle
            if (InsideNmc(c) >= 0) continue;
            if (NearNmc(c, radius) && rng.NextDouble() < _p.NmcAdjacentPoreRejection) continue;
            Pores.Add(new VoidSpheroid(c, normal, radius, half, false));
            var g = new SpheroidG(c, normal, radius, half);
            _changed.Clear();
            ForLattice(c - new Vec3(radius, radius, radius), c + new Vec3(radius, radius, radius), (k, z, y, x) =>
            {
                if (_rank[k] == RankLps && g.Contains(z, y, x)) { SetRank(k, RankPore); _changed.Add(k); }
            });
            if (_p.UndoOvershoot && Fraction(RankCrack) + Fraction(RankPore) > _p.VoidFraction + _p.FractionTolerance)
            {
                foreach (int k in _changed) SetRank(k, RankLps);
                Pores.RemoveAt(Pores.Count - 1);
            }
        }
    }
}
