using System.Runtime.CompilerServices;

namespace SsbTomo.Imaging.Measurement;

/// <summary>
/// Tortuosity factor of one phase along one axis.
/// <para><see cref="VolumeFraction"/> ε counts every voxel of the phase, percolating or not (TauFactor's convention);
/// <see cref="PercolatingFraction"/> is the share of them in 6-connected components that touch both faces (the only
/// ones that carry flux). <see cref="RelativeDiffusivity"/> is D_eff / D₀, <see cref="Factor"/> τ = ε·D₀/D_eff
/// (+∞ when nothing percolates). <see cref="FluxSpread"/> is (max − min) / mean of the flux through the inlet face,
/// every plane between two slices and the outlet face: 0 at the exact solution, TauFactor stops at 0.01.</para>
/// </summary>
public sealed record TortuosityResult(
    int Axis,
    double VolumeFraction,
    double PercolatingFraction,
    double RelativeDiffusivity,
    double Factor,
    int Iterations,
    double RelativeResidual,
    double FluxSpread,
    bool Converged)
{
    public bool Percolates => PercolatingFraction > 0;
}

/// <summary>
/// Tortuosity factor τ = ε·D₀/D_eff of a phase along an axis as TauFactor defines it (Cooper, Bertei, Shearing,
/// Kilner &amp; Brandon 2016, "TauFactor: An open-source application for calculating tortuosity factors from
/// tomographic data", SoftwareX 5:203, doi:10.1016/j.softx.2016.09.002): steady-state diffusion with D₀ = 1 inside
/// the phase and none outside, concentration fixed on the two faces normal to the axis, no flux through the other
/// four faces.
/// <para>
/// Discretisation (TauFactor's, read from its Python source): a cell-centred finite-volume scheme; neighbouring phase
/// voxels exchange flux in proportion to their concentration difference with conductance face area / spacing (so an
/// anisotropic voxel weighs a neighbour along axis a by (h_t/h_a)² relative to the transport axis t); a voxel on a
/// fixed face sits half a voxel from it, so its conductance to the face is doubled. D_eff/D₀ = N_t·Q / (N_u·N_v·ΔC),
/// Q the flux through a plane in units of the transport axis' voxel conductance.
/// </para>
/// <para>
/// Solver: conjugate gradients (Hestenes &amp; Stiefel 1952) preconditioned by one symmetric multigrid V-cycle
/// (red-black Gauss-Seidel smoothing, forward before and backward after the coarse correction, so the preconditioner
/// is symmetric) over 2×2×2 aggregates whose coarse operators are the Galerkin products with piecewise-constant
/// prolongation — for a face-conductance operator that is again a face-conductance operator whose conductances are
/// the sums across each aggregate's faces (aggregation multigrid: Braess 1995, doi:10.1007/BF02238482; Notay 2010,
/// doi:10.1553/etna_vol37s123). The coarsest level is solved exactly (dense Cholesky). Matrix-free on the voxel grid,
/// float vectors with double sums, parallel over slices; started from TauFactor's linear profile. Iterates until the
/// residual's 2-norm is below the tolerance relative to the right-hand side's, then checks the true residual.
/// </para>
/// <para>
/// Voxels outside the percolating components are removed from the system before solving (identity rows, value 0):
/// they carry no flux at steady state, and a component that touches neither face would make the system singular.
/// </para>
/// </summary>
public static class Tortuosity
{
    public const double DefaultTolerance = 1e-6;
    public const double MinimumTolerance = 1e-7;
    public const int DefaultMaxIterations = 500;

    /// <param name="labels">Label volume (z, y, x).</param>
    /// <param name="phase">The label whose voxels conduct.</param>
    /// <param name="axis">Transport axis: 0 = z, 1 = y, 2 = x.</param>
    /// <param name="voxelSize">Voxel spacing; only its ratios matter.</param>
    /// <param name="tolerance">Relative residual ‖b − Ax‖₂ / ‖b‖₂ at which the solve stops.</param>
    /// <param name="maxIterations">Conjugate-gradient iterations at most; <see cref="TortuosityResult.Converged"/> says whether the tolerance was reached.</param>
    public static TortuosityResult Compute(Volume<byte> labels, byte phase, int axis, VoxelSize voxelSize,
        double tolerance = DefaultTolerance, int maxIterations = DefaultMaxIterations)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(axis, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(axis, 2);
        // Vectors are float (half the memory of double): below ~1e-7 the residual's own rounding is all that is left.
        ArgumentOutOfRangeException.ThrowIfLessThan(tolerance, MinimumTolerance);
        if (labels.Length == 0) throw new ArgumentException("the volume is empty", nameof(labels));

        var (grid, phaseVoxels) = Permuted(labels, phase, axis, voxelSize);
        var epsilon = (double)phaseVoxels / labels.Length;
        var active = Percolating(grid);
        var activeCount = active.Sum(a => (long)a);
        if (activeCount == 0)
            return new TortuosityResult(axis, epsilon, 0, 0, double.PositiveInfinity, 0, 0, 0, Converged: true);

        var fine = Level.Fine(grid, active);
        var solver = new Solver(fine);
        var (iterations, residual, converged) = solver.Solve(tolerance, maxIterations);
        var (meanFlux, spread) = solver.Fluxes();
        var relativeDiffusivity = grid.D * meanFlux / ((double)grid.H * grid.W);
        return new TortuosityResult(axis, epsilon, (double)activeCount / phaseVoxels, relativeDiffusivity,
            relativeDiffusivity > 0 ? epsilon / relativeDiffusivity : double.PositiveInfinity, iterations, residual, spread, converged);
    }

    /// <summary>The phase mask with the transport axis first, and the conductance weights of the two others relative to it.</summary>
    internal sealed record Grid(int D, int H, int W, byte[] Mask, float WeightU, float WeightV);

    private static (Grid Grid, long PhaseVoxels) Permuted(Volume<byte> labels, byte phase, int axis, VoxelSize voxel)
    {
        var (nz, ny, nx) = (labels.Depth, labels.Height, labels.Width);
        var (sz, sy, sx) = ((long)ny * nx, (long)nx, 1L);
        // (transport, u, v): extents, strides into the labels, spacings.
        var (d, h, w, s0, s1, s2, h0, h1, h2) = axis switch
        {
            0 => (nz, ny, nx, sz, sy, sx, voxel.ZNm, voxel.YNm, voxel.XNm),
            1 => (ny, nz, nx, sy, sz, sx, voxel.YNm, voxel.ZNm, voxel.XNm),
            _ => (nx, nz, ny, sx, sz, sy, voxel.XNm, voxel.ZNm, voxel.YNm),
        };
        var mask = new byte[labels.Length];
        var source = labels.Data;
        long count = 0;
        var gate = new object();
        Parallel.For(0, d, () => 0L, (t, _, local) =>
        {
            for (var u = 0; u < h; u++)
            {
                var row = ((long)t * h + u) * w;
                var from = t * s0 + u * s1;
                for (var v = 0; v < w; v++)
                    if (source[from + v * s2] == phase)
                    {
                        mask[row + v] = 1;
                        local++;
                    }
            }
            return local;
        }, local => { lock (gate) count += local; });
        return (new Grid(d, h, w, mask, (float)(h0 * h0 / (h1 * h1)), (float)(h0 * h0 / (h2 * h2))), count);
    }

    /// <summary>1 where the voxel's 6-connected component of the phase touches both transport faces (flood fills from each face).</summary>
    internal static byte[] Percolating(Grid grid)
    {
        var fromInlet = Flood(grid, 0, null);
        return Flood(grid, grid.D - 1, fromInlet);
    }

    private static byte[] Flood(Grid g, int face, byte[]? within)
    {
        var reached = new byte[g.Mask.Length];
        var stack = new int[Math.Min(g.Mask.Length, 1 << 20)];
        var top = 0;
        var slice = g.H * g.W;
        bool Open(long i) => g.Mask[i] != 0 && reached[i] == 0 && (within is null || within[i] != 0);
        void Push(int i)
        {
            reached[i] = 1;
            if (top == stack.Length) Array.Resize(ref stack, (int)Math.Min(g.Mask.Length, 2L * stack.Length));
            stack[top++] = i;
        }
        for (var j = 0; j < slice; j++)
            if (Open((long)face * slice + j)) Push(face * slice + j);
        while (top > 0)
        {
            var i = stack[--top];
            var t = i / slice;
            var rest = i - t * slice;
            var (u, v) = (rest / g.W, rest % g.W);
            if (v > 0 && Open(i - 1)) Push(i - 1);
            if (v + 1 < g.W && Open(i + 1)) Push(i + 1);
            if (u > 0 && Open(i - g.W)) Push(i - g.W);
            if (u + 1 < g.H && Open(i + g.W)) Push(i + g.W);
            if (t > 0 && Open(i - slice)) Push(i - slice);
            if (t + 1 < g.D && Open(i + slice)) Push(i + slice);
        }
        return reached;
    }

    /// <summary>
    /// A face-conductance operator on a D×H×W grid: (A u)_i = Σ_j c_ij (u_i − u_j) + g_i u_i, with c to the +t, +u, +v
    /// neighbour stored at the cell (0 at the last index of that axis) and g, the conductance to a fixed face, on the
    /// first and last slice only. A cell with no conductance at all is an identity row (kept at 0).
    /// </summary>
    internal sealed class Level
    {
        public required int D, H, W;
        public required float[] Ct, Cu, Cv, GFirst, GLast;
        public int Slice => H * W;
        public long Length => (long)D * H * W;

        public static Level Fine(Grid grid, byte[] active)
        {
            var (d, h, w) = (grid.D, grid.H, grid.W);
            var level = new Level
            {
                D = d, H = h, W = w,
                Ct = new float[active.Length], Cu = new float[active.Length], Cv = new float[active.Length],
                GFirst = new float[h * w], GLast = new float[h * w],
            };
            var slice = h * w;
            Parallel.For(0, d, t =>
            {
                for (var u = 0; u < h; u++)
                    for (var v = 0; v < w; v++)
                    {
                        var i = t * slice + u * w + v;
                        if (active[i] == 0) continue;
                        if (t + 1 < d && active[i + slice] != 0) level.Ct[i] = 1;
                        if (u + 1 < h && active[i + w] != 0) level.Cu[i] = grid.WeightU;
                        if (v + 1 < w && active[i + 1] != 0) level.Cv[i] = grid.WeightV;
                    }
            });
            // A face voxel's centre is half a voxel from the fixed face: twice the conductance of a neighbour.
            for (var j = 0; j < slice; j++)
            {
                if (active[j] != 0) level.GFirst[j] = 2;
                if (active[(long)(d - 1) * slice + j] != 0) level.GLast[j] += 2;
            }
            return level;
        }

        /// <summary>Galerkin coarse level for piecewise-constant prolongation over 2×2×2 aggregates (1 along an axis of extent 1).</summary>
        public Level Coarsen()
        {
            var (d, h, w) = ((D + 1) / 2, (H + 1) / 2, (W + 1) / 2);
            var coarse = new Level
            {
                D = d, H = h, W = w,
                Ct = new float[(long)d * h * w], Cu = new float[(long)d * h * w], Cv = new float[(long)d * h * w],
                GFirst = new float[h * w], GLast = new float[h * w],
            };
            Parallel.For(0, d, tc =>
            {
                for (var uc = 0; uc < h; uc++)
                    for (var vc = 0; vc < w; vc++)
                    {
                        var ic = ((long)tc * h + uc) * w + vc;
                        double ct = 0, cu = 0, cv = 0;
                        for (var t = 2 * tc; t < Math.Min(D, 2 * tc + 2); t++)
                            for (var u = 2 * uc; u < Math.Min(H, 2 * uc + 2); u++)
                                for (var v = 2 * vc; v < Math.Min(W, 2 * vc + 2); v++)
                                {
                                    var i = ((long)t * H + u) * W + v;
                                    // Only links that leave the aggregate survive; those inside it cancel in PᵀAP.
                                    if (t == 2 * tc + 1) ct += Ct[i];
                                    if (u == 2 * uc + 1) cu += Cu[i];
                                    if (v == 2 * vc + 1) cv += Cv[i];
                                }
                        (coarse.Ct[ic], coarse.Cu[ic], coarse.Cv[ic]) = ((float)ct, (float)cu, (float)cv);
                    }
            });
            for (var uc = 0; uc < h; uc++)
                for (var vc = 0; vc < w; vc++)
                    for (var u = 2 * uc; u < Math.Min(H, 2 * uc + 2); u++)
                        for (var v = 2 * vc; v < Math.Min(W, 2 * vc + 2); v++)
                        {
                            coarse.GFirst[uc * w + vc] += GFirst[u * W + v];
                            coarse.GLast[uc * w + vc] += GLast[u * W + v];
                        }
            return coarse;
        }

        /// <summary>Σ_j c_ij u_j over the six neighbours, and the diagonal Σ_j c_ij + g_i.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public double Neighbours(float[] x, int t, int u, int v, long i, out double diagonal)
        {
            double sum = 0, diag = 0, c;
            if (v + 1 < W) { c = Cv[i]; diag += c; sum += c * x[i + 1]; }
            if (v > 0) { c = Cv[i - 1]; diag += c; sum += c * x[i - 1]; }
            if (u + 1 < H) { c = Cu[i]; diag += c; sum += c * x[i + W]; }
            if (u > 0) { c = Cu[i - W]; diag += c; sum += c * x[i - W]; }
            var slice = Slice;
            if (t + 1 < D) { c = Ct[i]; diag += c; sum += c * x[i + slice]; }
            if (t > 0) { c = Ct[i - slice]; diag += c; sum += c * x[i - slice]; }
            if (t == 0) diag += GFirst[i];
            if (t == D - 1) diag += GLast[i - (long)t * slice];
            diagonal = diag;
            return sum;
        }
    }

    /// <summary>Multigrid-preconditioned conjugate gradients for the fine level with c = 0 on the inlet face and 1 on the outlet.</summary>
    private sealed class Solver
    {
        private const int CoarsestCells = 512;
        private readonly Level[] _levels;
        private readonly float[][] _rhs, _solution, _residual; // per level; the finest level's rhs/solution are the CG vectors
        private readonly double[] _cholesky; // coarsest level, lower triangle, row-major n×n
        private readonly int _coarsestCells;
        private readonly float[] _x, _r, _z, _p, _q;
        private readonly float[] _b;

        public Solver(Level fine)
        {
            var levels = new List<Level> { fine };
            while (levels[^1].Length > CoarsestCells) levels.Add(levels[^1].Coarsen());
            _levels = [.. levels];
            var n = fine.Length;
            (_x, _r, _z, _p, _q, _b) = (new float[n], new float[n], new float[n], new float[n], new float[n], new float[n]);
            _rhs = new float[_levels.Length][];
            _solution = new float[_levels.Length][];
            _residual = new float[_levels.Length][];
            for (var l = 0; l < _levels.Length; l++)
            {
                var length = _levels[l].Length;
                _residual[l] = l + 1 < _levels.Length ? new float[length] : [];
                if (l == 0) continue;
                _rhs[l] = new float[length];
                _solution[l] = new float[length];
            }
            var coarsest = _levels[^1];
            _coarsestCells = (int)coarsest.Length;
            _cholesky = Factor(coarsest);

            var lastSlice = (long)(fine.D - 1) * fine.Slice;
            for (var j = 0; j < fine.Slice; j++) _b[lastSlice + j] = fine.GLast[j]; // g·c_out with c_out = 1
        }

        public (int Iterations, double RelativeResidual, bool Converged) Solve(double tolerance, int maxIterations)
        {
            var fine = _levels[0];
            InitialProfile(fine);
            var bNorm = Math.Sqrt(Dot(_b, _b));
            double residual = 0;
            var iterations = 0;
            // A float recurrence drifts from the true residual; restart from the true one until both agree.
            for (var restart = 0; restart < 4; restart++)
            {
                Residual(fine, _b, _x, _r);
                residual = Math.Sqrt(Dot(_r, _r)) / bNorm;
                if (residual <= tolerance || iterations >= maxIterations) break;
                Precondition(_r, _z);
                Array.Copy(_z, _p, _z.Length);
                var rz = Dot(_r, _z);
                while (iterations < maxIterations)
                {
                    iterations++;
                    Multiply(fine, _p, _q);
                    var alpha = rz / Dot(_p, _q);
                    var rr = Update(alpha);
                    if (Math.Sqrt(rr) / bNorm <= tolerance) break;
                    Precondition(_r, _z);
                    var rzNext = Dot(_r, _z);
                    var beta = rzNext / rz;
                    rz = rzNext;
                    Parallel.For(0, fine.D, t =>
                    {
                        var (start, end) = ((long)t * fine.Slice, (long)(t + 1) * fine.Slice);
                        for (var i = start; i < end; i++) _p[i] = (float)(_z[i] + beta * _p[i]);
                    });
                }
            }
            Residual(fine, _b, _x, _r);
            residual = Math.Sqrt(Dot(_r, _r)) / bNorm;
            return (iterations, residual, residual <= tolerance);
        }

        /// <summary>Mean and relative spread of the flux through the inlet face, each plane between slices, and the outlet face.</summary>
        public (double Mean, double Spread) Fluxes()
        {
            var f = _levels[0];
            var planes = new double[f.D + 1];
            var last = (long)(f.D - 1) * f.Slice;
            for (var j = 0; j < f.Slice; j++)
            {
                planes[0] += f.GFirst[j] * (double)_x[j];
                planes[f.D] += f.GLast[j] * (1.0 - _x[last + j]);
            }
            Parallel.For(0, f.D - 1, t =>
            {
                double sum = 0;
                var start = (long)t * f.Slice;
                for (var i = start; i < start + f.Slice; i++) sum += f.Ct[i] * ((double)_x[i + f.Slice] - _x[i]);
                planes[t + 1] = sum;
            });
            var mean = planes.Average();
            return (mean, mean > 0 ? (planes.Max() - planes.Min()) / mean : 0);
        }

        private void InitialProfile(Level f)
        {
            // TauFactor's start: the linear profile between the faces, in the conducting voxels only.
            Parallel.For(0, f.D, t =>
            {
                var value = (float)((t + 0.5) / f.D);
                var i = (long)t * f.Slice;
                for (var u = 0; u < f.H; u++)
                    for (var v = 0; v < f.W; v++, i++)
                    {
                        f.Neighbours(_x, t, u, v, i, out var diagonal);
                        _x[i] = diagonal > 0 ? value : 0;
                    }
            });
        }

        /// <summary>x += αp, r −= αq; returns r·r.</summary>
        private double Update(double alpha)
        {
            var f = _levels[0];
            var partial = new double[f.D];
            Parallel.For(0, f.D, t =>
            {
                double rr = 0;
                var (start, end) = ((long)t * f.Slice, (long)(t + 1) * f.Slice);
                for (var i = start; i < end; i++)
                {
                    _x[i] = (float)(_x[i] + alpha * _p[i]);
                    var r = (float)(_r[i] - alpha * _q[i]);
                    _r[i] = r;
                    rr += (double)r * r;
                }
                partial[t] = rr;
            });
            return partial.Sum();
        }

        private double Dot(float[] a, float[] b)
        {
            var f = _levels[0];
            var partial = new double[f.D];
            Parallel.For(0, f.D, t =>
            {
                double sum = 0;
                var (start, end) = ((long)t * f.Slice, (long)(t + 1) * f.Slice);
                for (var i = start; i < end; i++) sum += (double)a[i] * b[i];
                partial[t] = sum;
            });
            return partial.Sum(); // summed in slice order: the same bits on any core count
        }

        private static void Multiply(Level l, float[] x, float[] result) => Apply(l, null, x, result);

        private static void Residual(Level l, float[] b, float[] x, float[] result) => Apply(l, b, x, result);

        /// <summary>result = b − A x, or A x without b.</summary>
        private static void Apply(Level l, float[]? b, float[] x, float[] result)
        {
            Parallel.For(0, l.D, t =>
            {
                var i = (long)t * l.Slice;
                for (var u = 0; u < l.H; u++)
                    for (var v = 0; v < l.W; v++, i++)
                    {
                        var sum = l.Neighbours(x, t, u, v, i, out var diag);
                        var ax = diag > 0 ? diag * x[i] - sum : x[i];
                        result[i] = (float)(b is null ? ax : b[i] - ax);
                    }
            });
        }

        /// <summary>z = M⁻¹r: one symmetric V-cycle from zero.</summary>
        private void Precondition(float[] r, float[] z)
        {
            _rhs[0] = r;
            _solution[0] = z;
            Cycle(0);
        }

        private void Cycle(int l)
        {
            var level = _levels[l];
            var (b, u) = (_rhs[l], _solution[l]);
            if (l == _levels.Length - 1)
            {
                SolveCoarsest(b, u);
                return;
            }
            Array.Clear(u);
            Sweep(level, b, u, 0);
            Sweep(level, b, u, 1);
            Residual(level, b, u, _residual[l]);
            Restrict(level, _levels[l + 1], _residual[l], _rhs[l + 1]);
            Cycle(l + 1);
            Prolong(level, _levels[l + 1], _solution[l + 1], u);
            Sweep(level, b, u, 1);
            Sweep(level, b, u, 0);
        }

        /// <summary>Gauss-Seidel on the cells of one colour ((t + u + v) mod 2); cells of one colour do not touch, so slices run in parallel.</summary>
        private static void Sweep(Level l, float[] b, float[] x, int colour)
        {
            Parallel.For(0, l.D, t =>
            {
                for (var u = 0; u < l.H; u++)
                {
                    var row = ((long)t * l.H + u) * l.W;
                    for (var v = (colour + t + u) & 1; v < l.W; v += 2)
                    {
                        var i = row + v;
                        var sum = l.Neighbours(x, t, u, v, i, out var diag);
                        x[i] = diag > 0 ? (float)((b[i] + sum) / diag) : 0;
                    }
                }
            });
        }

        private static void Restrict(Level fine, Level coarse, float[] residual, float[] rhs)
        {
            Parallel.For(0, coarse.D, tc =>
            {
                for (var uc = 0; uc < coarse.H; uc++)
                    for (var vc = 0; vc < coarse.W; vc++)
                    {
                        double sum = 0;
                        for (var t = 2 * tc; t < Math.Min(fine.D, 2 * tc + 2); t++)
                            for (var u = 2 * uc; u < Math.Min(fine.H, 2 * uc + 2); u++)
                                for (var v = 2 * vc; v < Math.Min(fine.W, 2 * vc + 2); v++)
                                    sum += residual[((long)t * fine.H + u) * fine.W + v];
                        rhs[((long)tc * coarse.H + uc) * coarse.W + vc] = (float)sum;
                    }
            });
        }

        private static void Prolong(Level fine, Level coarse, float[] correction, float[] x)
        {
            Parallel.For(0, fine.D, t =>
            {
                var i = (long)t * fine.Slice;
                var rowC = (long)(t / 2) * coarse.H;
                for (var u = 0; u < fine.H; u++)
                {
                    var c = (rowC + u / 2) * coarse.W;
                    for (var v = 0; v < fine.W; v++, i++) x[i] += correction[c + v / 2];
                }
            });
        }

        private static double[] Factor(Level l)
        {
            var n = (int)l.Length;
            var a = new double[n * n];
            var dummy = new float[n];
            for (var t = 0; t < l.D; t++)
                for (var u = 0; u < l.H; u++)
                    for (var v = 0; v < l.W; v++)
                    {
                        var i = (t * l.H + u) * l.W + v;
                        l.Neighbours(dummy, t, u, v, i, out var diag);
                        a[i * n + i] = diag > 0 ? diag : 1;
                        if (v + 1 < l.W) a[i * n + i + 1] = a[(i + 1) * n + i] = -l.Cv[i];
                        if (u + 1 < l.H) a[i * n + i + l.W] = a[(i + l.W) * n + i] = -l.Cu[i];
                        if (t + 1 < l.D) a[i * n + i + l.Slice] = a[(i + l.Slice) * n + i] = -l.Ct[i];
                    }
            for (var j = 0; j < n; j++)
            {
                var s = a[j * n + j];
                for (var k = 0; k < j; k++) s -= a[j * n + k] * a[j * n + k];
                if (s <= 0) throw new InvalidOperationException("the coarsest tortuosity operator is not positive definite");
                var diag = Math.Sqrt(s);
                a[j * n + j] = diag;
                for (var i = j + 1; i < n; i++)
                {
                    var sum = a[i * n + j];
                    for (var k = 0; k < j; k++) sum -= a[i * n + k] * a[j * n + k];
                    a[i * n + j] = sum / diag;
                }
            }
            return a;
        }

        private void SolveCoarsest(float[] b, float[] x)
        {
            var n = _coarsestCells;
            var a = _cholesky;
            var y = new double[n];
            for (var i = 0; i < n; i++)
            {
                var s = (double)b[i];
                for (var k = 0; k < i; k++) s -= a[i * n + k] * y[k];
                y[i] = s / a[i * n + i];
            }
            for (var i = n - 1; i >= 0; i--)
            {
                var s = y[i];
                for (var k = i + 1; k < n; k++) s -= a[k * n + i] * y[k];
                y[i] = s / a[i * n + i];
            }
            for (var i = 0; i < n; i++) x[i] = (float)y[i];
        }
    }
}
