using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
/// is symmetric) over aggregates of 2 cells along each strongly coupled axis (2×2×2 for cubic voxels, 1×2×2 first
/// when the slices are thicker than the pixels: <see cref="Level.Coarsen"/>) with piecewise-constant prolongation
/// (aggregation multigrid: Braess 1995, Computing 55:379; Notay 2010, Electron. Trans. Numer. Anal. 37:123). A coarse
/// link is the sum of the fine links across the aggregate's face (the Galerkin product PᵀAP) divided by the aggregate's
/// length along the link: the Galerkin operator of piecewise-constant aggregation is that many times too stiff for a
/// smooth error, which is why plain aggregation needs an over-correction (Braess 1995 scales the correction by a
/// constant); dividing per axis rediscretises the operator on the coarse cells and also suits the semi-coarsened levels
/// (37 → 22 iterations on electrode.tiff mirrored to 256×512×512 at 50×50×100 nm, 28 → 18 on the 256³). The coarsest
/// level is solved exactly (dense Cholesky). Matrix-free on the voxel grid, float vectors (dot products summed in
/// double per slice), SIMD along slices, parallel over slices; started from the first coarse level's own solution
/// (nested iteration, <c>Solver.StartFromCoarseSolution</c>; TauFactor's linear profile when there is no coarse level). Iterates until
/// the residual's 2-norm is below the tolerance relative to the right-hand side's, and restarts from the true residual
/// (computed in double) until that one is below it too, at most four times.
/// </para>
/// <para>
/// Memory traffic is what limits it, so the finest level's passes are fused: the forward sweep from zero is one pass (a
/// red cell's value r/A_ii needs no neighbour), the residual is restricted as it is computed and never stored, the last
/// sweep sums r·z, and A p is recomputed where it is needed instead of being stored. The passes that follow one another
/// run in waves along the transport axis, a block of slices per core (the first sweep with the restriction; the
/// prolongation with both last sweeps), so a slice is read from memory once for them, not two or three times: the same
/// bits as the passes one after another (tests), 15 % less CPU on the 1-Gvoxel run's 251³ sub-volume. The finest level
/// holds the conducting mask, one float degree array (its links are 0 or the axis weight: <see cref="Fine"/>) and four
/// float vectors; <see cref="PeakBytes"/> counts them with the coarse levels (~31 bytes a voxel on a 256-slice cube,
/// more on thin volumes). Every cell array has a ghost column and row (zero conductance) and slices padded to whole
/// SIMD vectors, so no stencil tests bounds.
/// </para>
/// <para>
/// Voxels outside the percolating components are removed from the system before solving (identity rows, value 0):
/// they carry no flux at steady state, and a component that touches neither face would make the system singular.
/// </para>
/// </summary>
public static class Tortuosity
{
    public const double DefaultTolerance = 1e-5;
    public const double MinimumTolerance = 1e-6;
    public const int DefaultMaxIterations = 500;

    /// <summary>
    /// Peak memory of <see cref="Compute"/> on a <paramref name="depth"/>×<paramref name="height"/>×<paramref name="width"/>
    /// volume along <paramref name="axis"/>, beside the labels, from the shapes of the arrays it allocates: the phase mask and
    /// the percolating mask (1 byte a voxel each), the finest level's degree and four vectors (4 bytes a padded cell each:
    /// ghost slices, rows and columns, so a thin volume costs more per voxel), every coarse level's three conductances,
    /// right-hand side, solution and residual (4 bytes a padded cell each), and the coarsest level's dense Cholesky factor
    /// (measured against the live heap: WorkingMemoryTests). A heap hard limit needs ~20 % more than this (the collector's
    /// regions and the previous solve's garbage: the six solves on 8x768x768 ran in a 200 MiB heap, not in 196, for an
    /// estimate of 156 MiB beside the harness's 17 MiB: `SsbTomo.Benchmarks memory tortuosity`), which the three quarters of the
    /// budget beside a window leave.
    /// A flat 32 bytes a voxel missed the padding: a 2-slice volume needs ~80 along z.
    /// </summary>
    public static long PeakBytes(int depth, int height, int width, int axis, VoxelSize voxelSize)
    {
        ArgumentNullException.ThrowIfNull(voxelSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(axis, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(axis, 2);
        var (d, h, w, h0, h1, h2) = axis switch
        {
            0 => (depth, height, width, voxelSize.ZNm, voxelSize.YNm, voxelSize.XNm),
            1 => (height, depth, width, voxelSize.YNm, voxelSize.ZNm, voxelSize.XNm),
            _ => (width, depth, height, voxelSize.XNm, voxelSize.ZNm, voxelSize.YNm),
        };
        var voxels = (long)d * h * w;
        var fine = Level.Shape(d, h, w);
        var bytes = 2 * voxels + 5 * 4 * fine.Length + 3 * 4 * fine.Slice;
        // As Compute's grid holds them: float weights relative to the transport axis.
        var strength = (T: 1.0, U: (double)(float)(h0 * h0 / (h1 * h1)), V: (double)(float)(h0 * h0 / (h2 * h2)));
        var (cd, ch, cw) = (d, h, w);
        while ((long)cd * ch * cw > Solver.CoarsestCells)
        {
            var (ft, fu, fv) = Level.CoarseningFactors((cd, ch, cw), strength);
            strength = (strength.T * fu * fv / ft, strength.U * ft * fv / fu, strength.V * ft * fu / fv);
            (cd, ch, cw) = ((cd + ft - 1) / ft, (ch + fu - 1) / fu, (cw + fv - 1) / fv);
            var coarse = Level.Shape(cd, ch, cw);
            bytes += 6 * 4 * coarse.Length + 3 * 4 * coarse.Slice;
        }
        var coarsest = (long)cd * ch * cw;
        // The arrays above match the live heap at the solver's plateau to within a few KiB (WorkingMemoryTests); the rest is
        // their headers, the solver's objects and the parallel loops' bookkeeping.
        const long Bookkeeping = 64 << 10;
        return bytes + 8 * coarsest * coarsest + Bookkeeping;
    }

    /// <param name="labels">Label volume (z, y, x).</param>
    /// <param name="phase">The label whose voxels conduct.</param>
    /// <param name="axis">Transport axis: 0 = z, 1 = y, 2 = x.</param>
    /// <param name="voxelSize">Voxel spacing; only its ratios matter.</param>
    /// <param name="tolerance">Relative residual ‖b − Ax‖₂ / ‖b‖₂ at which the solve stops.</param>
    /// <param name="maxIterations">Conjugate-gradient iterations at most; <see cref="TortuosityResult.Converged"/> says whether the tolerance was reached.</param>
    /// <param name="progress">Told the number of conjugate-gradient iterations done after each one (of at most <paramref name="maxIterations"/>; ~20-40 on real volumes).</param>
    public static TortuosityResult Compute(Volume<byte> labels, byte phase, int axis, VoxelSize voxelSize,
        double tolerance = DefaultTolerance, int maxIterations = DefaultMaxIterations, IProgress<int>? progress = null) =>
        Compute(labels, [phase], axis, voxelSize, tolerance, maxIterations, progress);

    /// <summary>
    /// As <see cref="Compute(Volume{byte}, byte, int, VoxelSize, double, int, IProgress{int}?)"/> for a conducting phase
    /// made of several labels (<paramref name="phases"/>; NMC and carbon for electrons), all with D₀ = 1.
    /// </summary>
    public static TortuosityResult Compute(Volume<byte> labels, IReadOnlyCollection<byte> phases, int axis, VoxelSize voxelSize,
        double tolerance = DefaultTolerance, int maxIterations = DefaultMaxIterations, IProgress<int>? progress = null) =>
        Compute(labels, phases, axis, voxelSize, tolerance, maxIterations, progress, passesInWaves: true);

    /// <summary>
    /// As the public overload; <paramref name="passesInWaves"/> false runs the finest level's passes of the V-cycle one
    /// after another over the whole volume (the reference that the waves must equal bit for bit: tests).
    /// </summary>
    internal static TortuosityResult Compute(Volume<byte> labels, IReadOnlyCollection<byte> phases, int axis, VoxelSize voxelSize,
        double tolerance, int maxIterations, IProgress<int>? progress, bool passesInWaves)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(phases);
        if (phases.Count == 0) throw new ArgumentException("no conducting label", nameof(phases));
        ArgumentOutOfRangeException.ThrowIfLessThan(axis, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(axis, 2);
        // Vectors are float (half the memory of double): the rounding of x alone leaves ~1e-6 on a 256³ volume.
        ArgumentOutOfRangeException.ThrowIfLessThan(tolerance, MinimumTolerance);
        if (labels.Length == 0) throw new ArgumentException("the volume is empty", nameof(labels));

        var conducts = new bool[256];
        foreach (var p in phases) conducts[p] = true;
        var (grid, phaseVoxels) = Permuted(labels, conducts, axis, voxelSize);
        var epsilon = (double)phaseVoxels / labels.Length;
        var active = Percolating(grid);
        var activeCount = 0L;
        foreach (var a in active) activeCount += a;
        if (activeCount == 0)
            return new TortuosityResult(axis, epsilon, 0, 0, double.PositiveInfinity, 0, 0, 0, Converged: true);

        var fine = Level.Fine(grid, active);
        var solver = new Solver(fine, passesInWaves);
        var (iterations, residual, converged) = solver.Solve(tolerance, maxIterations, progress);
        var (meanFlux, spread) = solver.Fluxes();
        var relativeDiffusivity = grid.D * meanFlux / ((double)grid.H * grid.W);
        return new TortuosityResult(axis, epsilon, (double)activeCount / phaseVoxels, relativeDiffusivity,
            relativeDiffusivity > 0 ? epsilon / relativeDiffusivity : double.PositiveInfinity, iterations, residual, spread, converged);
    }

    /// <summary>The phase mask with the transport axis first, and the conductance weights of the two others relative to it.</summary>
    internal sealed record Grid(int D, int H, int W, byte[] Mask, float WeightU, float WeightV);

    private static (Grid Grid, long PhaseVoxels) Permuted(Volume<byte> labels, bool[] conducts, int axis, VoxelSize voxel)
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
                    if (conducts[source[from + v * s2]])
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
        // A component touches both faces exactly when both floods reach it: the two run side by side.
        var fromOutlet = Task.Run(() => Flood(grid, grid.D - 1));
        var both = Flood(grid, 0);
        var outlet = fromOutlet.GetAwaiter().GetResult();
        Parallel.For(0, grid.D, t =>
        {
            var slice = grid.H * grid.W;
            for (long i = (long)t * slice; i < (long)(t + 1) * slice; i++) both[i] &= outlet[i];
        });
        return both;
    }

    /// <summary>
    /// The voxels of the phase 6-connected to the open voxels of one face: a scanline fill, one run along v at a time, seeding
    /// each run of open voxels it borders in the four neighbouring rows (Heckbert 1990, "A seed fill algorithm", Graphics Gems).
    /// </summary>
    private static byte[] Flood(Grid g, int face)
    {
        var (mask, w, h) = (g.Mask, g.W, g.H);
        var reached = new byte[mask.Length];
        var stack = new int[1 << 16];
        var top = 0;
        bool Open(int i) => mask[i] != 0 && reached[i] == 0;
        void Seeds(int row, int v0, int v1) // one seed per run of open voxels in row[v0..v1]
        {
            for (var v = v0; v <= v1; v++)
            {
                if (!Open(row + v)) continue;
                if (top == stack.Length) Array.Resize(ref stack, 2 * stack.Length);
                stack[top++] = row + v;
                while (v < v1 && Open(row + v + 1)) v++;
            }
        }
        for (var u = 0; u < h; u++) Seeds((face * h + u) * w, 0, w - 1);
        while (top > 0)
        {
            var i = stack[--top];
            if (!Open(i)) continue;
            var rowIndex = i / w;
            var row = rowIndex * w;
            var (t, u) = (rowIndex / h, rowIndex % h);
            var (v0, v1) = (i - row, i - row);
            while (v0 > 0 && Open(row + v0 - 1)) v0--;
            while (v1 + 1 < w && Open(row + v1 + 1)) v1++;
            Array.Fill(reached, (byte)1, row + v0, v1 - v0 + 1);
            if (u > 0) Seeds(row - w, v0, v1);
            if (u + 1 < h) Seeds(row + w, v0, v1);
            if (t > 0) Seeds(row - h * w, v0, v1);
            if (t + 1 < g.D) Seeds(row + h * w, v0, v1);
        }
        return reached;
    }

    /// <summary>
    /// A face-conductance operator on a D×H×W grid: (A u)_i = Σ_j c_ij (u_i − u_j) + g_i u_i, with c to the +t, +u, +v
    /// neighbour stored at the cell (0 at the last index of that axis) and g, the conductance to a fixed face, on the
    /// first and last slice only. A cell with no conductance at all is an identity row (kept at 0).
    /// <para>Every cell array has a zero slice before and after the grid (cell (t, u, v) at (t + 1)·H·W + u·W + v): with
    /// the zero conductances at each axis' end, the six-neighbour stencil needs no bounds test anywhere, so it runs in
    /// SIMD vectors along whole slices.</para>
    /// </summary>
    internal sealed class Level
    {
        public required int D, H, W;
        public required float[] Ct, Cu, Cv, GFirst, GLast;

        /// <summary>Typical link conductance along t, u and v (the fine level's weights, then as aggregation sums them).</summary>
        public (double T, double U, double V) Strength;

        /// <summary>Cells of the next finer level per cell of this one along t, u and v (1 or 2; all 1 on the finest).</summary>
        public (int T, int U, int V) Factor = (1, 1, 1);

        /// <summary>Per cell of a slice, (u + v) mod 2 as 0 or 1: the red-black colour is this xor the slice's parity.</summary>
        public required float[] Parity;

        /// <summary>Row stride: W cells and one ghost cell (always 0, no conductance) that ends the row.</summary>
        public int Row => W + 1;

        /// <summary>Slice stride: H rows and one ghost row, rounded up to whole SIMD vectors (the kernels have no scalar tail).</summary>
        public int Slice => ((H + 1) * (W + 1) + 15) / 16 * 16;
        /// <summary>A zero slice before and after the grid, and one vector more: a row's last vector may read past the row.</summary>
        public long Length => (long)(D + 2) * Slice + 16;
        public long Index(int t, int u, int v) => (long)(t + 1) * Slice + u * Row + v;

        /// <summary>
        /// The finest level only: per cell the sum of its conductances (links and fixed face), 0 where it does not conduct.
        /// Its links are 0 or the axis weight, and every vector the solver applies it to is 0 where the phase does not
        /// conduct, so the stencil needs this one array instead of three conductances: Σ_j c_ij x_j = Σ_j w_axis x_j.
        /// </summary>
        public float[]? Degree;
        public float WeightU = 1, WeightV = 1;

        /// <summary>The finest level only: 1 where the phase conducts (dense t, u, v order); its links follow from it.</summary>
        public byte[]? Active;

        private bool Conducts(int t, int u, int v) => Active![((long)t * H + u) * W + v] != 0;

        /// <summary>Conductance from (t, u, v) to its +t neighbour (0 at the axis' end).</summary>
        public float LinkT(int t, int u, int v) =>
            Active is null ? Ct[Index(t, u, v)] : t + 1 < D && Conducts(t, u, v) && Conducts(t + 1, u, v) ? 1 : 0;

        public float LinkU(int t, int u, int v) =>
            Active is null ? Cu[Index(t, u, v)] : u + 1 < H && Conducts(t, u, v) && Conducts(t, u + 1, v) ? WeightU : 0;

        public float LinkV(int t, int u, int v) =>
            Active is null ? Cv[Index(t, u, v)] : v + 1 < W && Conducts(t, u, v) && Conducts(t, u, v + 1) ? WeightV : 0;

        private static Level Create(int d, int h, int w, bool conductances = true)
        {
            var level = new Level { D = d, H = h, W = w, Ct = [], Cu = [], Cv = [], GFirst = [], GLast = [], Parity = [] };
            var length = level.Length;
            var parity = new float[level.Slice];
            for (var u = 0; u <= h; u++)
                for (var v = 0; v <= w; v++) parity[u * level.Row + v] = (u + v) & 1;
            if (conductances) (level.Ct, level.Cu, level.Cv) = (new float[length], new float[length], new float[length]);
            (level.GFirst, level.GLast, level.Parity) = (new float[level.Slice], new float[level.Slice], parity);
            return level;
        }

        public static Level Fine(Grid grid, byte[] active)
        {
            var (d, h, w) = (grid.D, grid.H, grid.W);
            var level = Create(d, h, w, conductances: false);
            level.Strength = (1, grid.WeightU, grid.WeightV);
            (level.WeightU, level.WeightV, level.Active) = (grid.WeightU, grid.WeightV, active);
            var slice = h * w;
            // A face voxel's centre is half a voxel from the fixed face: twice the conductance of a neighbour.
            for (var j = 0; j < slice; j++)
            {
                var k = j / w * level.Row + j % w;
                if (active[j] != 0) level.GFirst[k] = 2;
                if (active[(long)(d - 1) * slice + j] != 0) level.GLast[k] += 2;
            }
            level.Degree = new float[level.Length];
            Parallel.For(0, d, t =>
            {
                var g = level.FaceConductance(t);
                for (var u = 0; u < h; u++)
                    for (var v = 0; v < w; v++)
                    {
                        var i = (long)t * slice + u * w + v;
                        if (active[i] == 0) continue;
                        float Link(bool inside, long neighbour) => inside && active[neighbour] != 0 ? 1 : 0;
                        level.Degree[level.Index(t, u, v)] = Link(t > 0, i - slice) + Link(t + 1 < d, i + slice)
                            + grid.WeightU * (Link(u > 0, i - w) + Link(u + 1 < h, i + w)) + grid.WeightV * (Link(v > 0, i - 1) + Link(v + 1 < w, i + 1))
                            + (g is null ? 0 : g[u * level.Row + v]);
                    }
            });
            return level;
        }

        /// <summary>
        /// Coarse level for piecewise-constant prolongation over aggregates of 2 cells along each strongly coupled axis, 1
        /// along the others, its links the Galerkin sums over the aggregate's length along them (see the class) (semi-coarsening: with anisotropic voxels, aggregating across the weak links as well
        /// leaves the anisotropy on every level and the V-cycle loses its grip; Trottenberg, Oosterlee &amp; Schüller 2001,
        /// "Multigrid", §5.1). An axis is strong when its link strength is at least half the strongest's; an axis of
        /// extent 1 is never coarsened.
        /// </summary>
        public Level Coarsen()
        {
            var (ft, fu, fv) = CoarseningFactors((D, H, W), Strength);
            var coarse = Create((D + ft - 1) / ft, (H + fu - 1) / fu, (W + fv - 1) / fv);
            coarse.Factor = (ft, fu, fv);
            // A coarse link sums the fine links crossing the aggregate's face (as many as the face has fine cells), over the
            // aggregate's length along the link.
            coarse.Strength = (Strength.T * fu * fv / ft, Strength.U * ft * fv / fu, Strength.V * ft * fu / fv);
            Parallel.For(0, coarse.D, tc =>
            {
                for (var uc = 0; uc < coarse.H; uc++)
                    for (var vc = 0; vc < coarse.W; vc++)
                    {
                        double ct = 0, cu = 0, cv = 0;
                        for (var t = ft * tc; t < Math.Min(D, ft * tc + ft); t++)
                            for (var u = fu * uc; u < Math.Min(H, fu * uc + fu); u++)
                                for (var v = fv * vc; v < Math.Min(W, fv * vc + fv); v++)
                                {
                                    // Only links that leave the aggregate survive; those inside it cancel in PᵀAP.
                                    if (t == ft * tc + ft - 1) ct += LinkT(t, u, v);
                                    if (u == fu * uc + fu - 1) cu += LinkU(t, u, v);
                                    if (v == fv * vc + fv - 1) cv += LinkV(t, u, v);
                                }
                        var ic = coarse.Index(tc, uc, vc);
                        (coarse.Ct[ic], coarse.Cu[ic], coarse.Cv[ic]) = ((float)(ct / ft), (float)(cu / fu), (float)(cv / fv));
                    }
            });
            for (var uc = 0; uc < coarse.H; uc++)
                for (var vc = 0; vc < coarse.W; vc++)
                    for (var u = fu * uc; u < Math.Min(H, fu * uc + fu); u++)
                        for (var v = fv * vc; v < Math.Min(W, fv * vc + fv); v++)
                        {
                            coarse.GFirst[uc * coarse.Row + vc] += GFirst[u * Row + v] / ft;
                            coarse.GLast[uc * coarse.Row + vc] += GLast[u * Row + v] / ft;
                        }
            return coarse;
        }

        /// <summary>Aggregate size along t, u and v of the level below one of these extents and link strengths (see <see cref="Coarsen"/>).</summary>
        public static (int T, int U, int V) CoarseningFactors((int T, int U, int V) extents, (double T, double U, double V) strength)
        {
            int[] e = [extents.T, extents.U, extents.V];
            double[] s = [strength.T, strength.U, strength.V];
            var strongest = Enumerable.Range(0, 3).Where(a => e[a] > 1).Max(a => s[a]);
            var f = Enumerable.Range(0, 3).Select(a => e[a] > 1 && s[a] >= strongest / 2 ? 2 : 1).ToArray();
            return (f[0], f[1], f[2]);
        }

        /// <summary>An unallocated level of this extent: its strides and cell-array length.</summary>
        public static Level Shape(int d, int h, int w) => new() { D = d, H = h, W = w, Ct = [], Cu = [], Cv = [], GFirst = [], GLast = [], Parity = [] };

        /// <summary>The fixed-face conductances of slice <paramref name="t"/> (both when the grid is one slice deep), or null.</summary>
        public float[]? FaceConductance(int t) =>
            D == 1 ? Sum(GFirst, GLast) : t == 0 ? GFirst : t == D - 1 ? GLast : null;

        private static float[] Sum(float[] a, float[] b) => a.Zip(b, (x, y) => x + y).ToArray();
    }

    /// <summary>What <see cref="Stencil"/> computes: b − A x, a Gauss-Seidel update of one colour, or A x.</summary>
    private enum Kernel { Residual, Sweep, Apply }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(ref float a, long i) => Vector.LoadUnsafe(ref a, (nuint)i);

    /// <summary>The stencil of a coarse level over one slice: b − A x, a Gauss-Seidel update of the cells of one colour, or A x (b unread).</summary>
    [SkipLocalsInit]
    private static void Stencil(Kernel kernel, Level l, int t, float[] b, float[] x, float[] result, int colour = 0)
    {
        var (w, slice) = (l.Row, l.Slice);
        var start = l.Index(t, 0, 0);
        var g = l.FaceConductance(t);
        ref var ct = ref MemoryMarshal.GetArrayDataReference(l.Ct);
        ref var cu = ref MemoryMarshal.GetArrayDataReference(l.Cu);
        ref var cv = ref MemoryMarshal.GetArrayDataReference(l.Cv);
        ref var xs = ref MemoryMarshal.GetArrayDataReference(x);
        ref var rs = ref MemoryMarshal.GetArrayDataReference(result);
        ref var bs = ref MemoryMarshal.GetArrayDataReference(b);
        ref var parity = ref MemoryMarshal.GetArrayDataReference(l.Parity);
        var colourOfSlice = new Vector<float>((colour ^ t) & 1);
        for (var j = 0; j < slice; j += Vector<float>.Count) // a slice is a whole number of vectors (Level.Slice)
        {
            var i = start + j;
            var cvp = Load(ref cv, i);
            var cvm = Load(ref cv, i - 1);
            var cup = Load(ref cu, i);
            var cum = Load(ref cu, i - w);
            var ctp = Load(ref ct, i);
            var ctm = Load(ref ct, i - slice);
            var diag = cvp + cvm + cup + cum + ctp + ctm;
            if (g is not null) diag += Load(ref MemoryMarshal.GetArrayDataReference(g), j);
            var sum = cvp * Load(ref xs, i + 1) + cvm * Load(ref xs, i - 1) + cup * Load(ref xs, i + w) + cum * Load(ref xs, i - w)
                + ctp * Load(ref xs, i + slice) + ctm * Load(ref xs, i - slice);
            var xi = Load(ref xs, i);
            var conducting = Vector.GreaterThan(diag, Vector<float>.Zero);
            Vector<float> value;
            if (kernel == Kernel.Sweep)
            {
                var updated = Vector.ConditionalSelect(conducting, (Load(ref bs, i) + sum) / diag, Vector<float>.Zero);
                value = Vector.ConditionalSelect(Vector.Equals(Load(ref parity, j), colourOfSlice), updated, xi);
            }
            else if (kernel == Kernel.Apply)
                value = Vector.ConditionalSelect(conducting, diag * xi - sum, xi);
            else
                value = Load(ref bs, i) - Vector.ConditionalSelect(conducting, diag * xi - sum, xi);
            value.StoreUnsafe(ref rs, (nuint)i);
        }
    }

    /// <summary>
    /// The finest level's stencil from its <see cref="Level.Degree"/>: Σ_j c_ij x_j = Σ_j w_axis x_j because every vector
    /// the solver applies it to is 0 in each cell that does not conduct (the initial profile, the smoother and the
    /// prolongation write 0 there); a third of the memory traffic of three conductance arrays.
    /// </summary>
    private readonly ref struct Fine
    {
        public readonly int Row, Slice;
        public readonly ref float Degree;
        public readonly ref float Parity;
        public readonly Vector<float> Wu, Wv;

        public Fine(Level l)
        {
            (Row, Slice) = (l.Row, l.Slice);
            Degree = ref MemoryMarshal.GetArrayDataReference(l.Degree!);
            Parity = ref MemoryMarshal.GetArrayDataReference(l.Parity);
            (Wu, Wv) = (new Vector<float>(l.WeightU), new Vector<float>(l.WeightV));
        }

        /// <summary>Σ_j w_j x_j over the six face neighbours of cell i.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<float> Neighbours(ref float x, long i) =>
            Wv * (Load(ref x, i + 1) + Load(ref x, i - 1)) + Wu * (Load(ref x, i + Row) + Load(ref x, i - Row))
            + Load(ref x, i + Slice) + Load(ref x, i - Slice);

        /// <summary>(A x)_i, x_i itself where the cell does not conduct (an identity row).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<float> Apply(ref float x, long i)
        {
            var diag = Load(ref Degree, i);
            var xi = Load(ref x, i);
            return Vector.ConditionalSelect(Vector.GreaterThan(diag, Vector<float>.Zero), diag * xi - Neighbours(ref x, i), xi);
        }

        /// <summary>r_i / A_ii where the cell conducts, else 0: one Jacobi (or red Gauss-Seidel from zero) step.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<float> Scaled(ref float r, long i)
        {
            var diag = Load(ref Degree, i);
            return Vector.ConditionalSelect(Vector.GreaterThan(diag, Vector<float>.Zero), Load(ref r, i) / diag, Vector<float>.Zero);
        }

        /// <summary>Mask of the cells of one colour in a slice: (t + u + v) mod 2 = colour.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<int> Coloured(int t, int colour, int j) =>
            Vector.Equals(Load(ref Parity, j), new Vector<float>((colour ^ t) & 1));
    }

    /// <summary>Multigrid-preconditioned conjugate gradients for the fine level with c = 0 on the inlet face and 1 on the outlet.</summary>
    private sealed class Solver
    {
        public const int CoarsestCells = 512;
        private readonly Level[] _levels;
        private readonly float[][] _rhs, _solution, _residual; // per coarse level (the finest level's are r and z)
        private readonly double[] _cholesky; // coarsest level, lower triangle, row-major n×n over its cells
        private readonly float[] _x, _r, _z, _p; // finest level; b is GLast on the last slice, A p is recomputed where needed
        private readonly bool _inWaves;

        public Solver(Level fine, bool inWaves)
        {
            _inWaves = inWaves;
            var levels = new List<Level> { fine };
            while ((long)levels[^1].D * levels[^1].H * levels[^1].W > CoarsestCells) levels.Add(levels[^1].Coarsen());
            _levels = [.. levels];
            var n = fine.Length;
            (_x, _r, _z, _p) = (new float[n], new float[n], new float[n], new float[n]);
            _rhs = new float[_levels.Length][];
            _solution = new float[_levels.Length][];
            _residual = new float[_levels.Length][];
            for (var l = 1; l < _levels.Length; l++)
            {
                var length = _levels[l].Length;
                _residual[l] = l + 1 < _levels.Length ? new float[length] : [];
                _rhs[l] = new float[length];
                _solution[l] = new float[length];
            }
            _cholesky = Factor(_levels[^1]);
        }

        public (int Iterations, double RelativeResidual, bool Converged) Solve(double tolerance, int maxIterations, IProgress<int>? progress)
        {
            var fine = _levels[0];
            if (_levels.Length > 1) StartFromCoarseSolution(tolerance, maxIterations);
            else InitialProfile(fine);
            var bNorm = Math.Sqrt(fine.GLast.Sum(g => (double)g * g));
            var iterations = 0;
            // A float recurrence drifts from the true residual; restart from the true one until both agree.
            for (var restart = 0; restart < 4; restart++)
            {
                if (Math.Sqrt(ExactResidual(fine)) / bNorm <= tolerance || iterations >= maxIterations) break;
                var rz = Precondition();
                Array.Copy(_z, _p, _z.Length);
                while (iterations < maxIterations)
                {
                    iterations++;
                    var alpha = rz / ApplyDot();
                    var rr = Update(alpha);
                    progress?.Report(iterations);
                    if (Math.Sqrt(rr) / bNorm <= tolerance) break;
                    var rzNext = Precondition();
                    var beta = (float)(rzNext / rz);
                    rz = rzNext;
                    Direction(_levels[0], beta, _z, _p);
                }
            }
            var residual = Math.Sqrt(ExactResidual(fine)) / bNorm;
            return (iterations, residual, residual <= tolerance);
        }

        /// <summary>Mean and relative spread of the flux through the inlet face, each plane between slices, and the outlet face.</summary>
        public (double Mean, double Spread) Fluxes()
        {
            var f = _levels[0];
            var planes = new double[f.D + 1];
            var (first, last) = (f.Index(0, 0, 0), f.Index(f.D - 1, 0, 0));
            for (var j = 0; j < f.Slice; j++)
            {
                planes[0] += f.GFirst[j] * (double)_x[first + j];
                planes[f.D] += f.GLast[j] * (1.0 - _x[last + j]);
            }
            Parallel.For(0, f.D - 1, t =>
            {
                double sum = 0;
                for (var u = 0; u < f.H; u++)
                    for (var v = 0; v < f.W; v++)
                    {
                        var i = f.Index(t, u, v);
                        sum += f.LinkT(t, u, v) * ((double)_x[i + f.Slice] - _x[i]);
                    }
                planes[t + 1] = sum;
            });
            var mean = planes.Average();
            return (mean, mean > 0 ? (planes.Max() - planes.Min()) / mean : 0);
        }

        /// <summary>
        /// Nested iteration (Trottenberg, Oosterlee &amp; Schüller 2001, "Multigrid", §2.6, the start of full multigrid): the
        /// next coarser level's own problem (its conductances, the concentration 1 on its outlet face) solved by conjugate
        /// gradients preconditioned by the V-cycle from that level, to the fine solve's relative residual, and prolonged as the
        /// fine level's start. The smooth part of the solution, which takes the fine iterations longest to build from a linear
        /// profile (a path's bottlenecks), costs there about an eighth per iteration; the prolongation's steps between
        /// aggregates are rough error, which the fine V-cycle's smoothing takes out in a few iterations. On the 1-Gvoxel
        /// phantom's 251³ box the six solves took 88 fine iterations instead of 181, 49 CPU-s instead of 58 (a coarse
        /// tolerance of 1e-3: 146 iterations, 63 CPU-s; adding the linear profile to the start, energy-optimally, 138 at 1e-6).
        /// The residual is the V-cycle's own right-hand side on that level (which the cycle only reads); x, p and A p live in the
        /// fine vectors r, p and x, free until the fine iteration starts (a coarse level is a fraction of their length).
        /// </summary>
        private void StartFromCoarseSolution(double tolerance, int maxIterations)
        {
            var (fine, coarse) = (_levels[0], _levels[1]);
            var (x, r, p, ap) = (_r, _rhs[1], _p, _x);
            var length = (int)coarse.Length;
            Array.Clear(x, 0, length);
            Array.Clear(r);
            Array.Copy(coarse.GLast, 0, r, coarse.Index(coarse.D - 1, 0, 0), coarse.Slice); // b − A·0
            var bNorm = Math.Sqrt(Dot(coarse, r, r));
            if (bNorm > 0)
            {
                var rz = PreconditionCoarse();
                Array.Copy(_solution[1], p, length);
                for (var iteration = 0; iteration < maxIterations; iteration++)
                {
                    Run(Kernel.Apply, coarse, r, p, ap);
                    var alpha = rz / Dot(coarse, p, ap);
                    var rr = CoarseUpdate(coarse, alpha, x, r, p, ap);
                    if (Math.Sqrt(rr) / bNorm <= tolerance) break;
                    var next = PreconditionCoarse();
                    var beta = (float)(next / rz);
                    rz = next;
                    Direction(coarse, beta, _solution[1], p);
                }
            }
            Array.Clear(_x);
            Prolong(fine, coarse, x, _x);
            // The fine stencils take the ghost slices and cells of r and p for zeros; the coarse vectors lay across them.
            Array.Clear(_r);
            Array.Clear(_p);
        }

        /// <summary>z = M⁻¹r on the first coarse level, r its right-hand side (the V-cycle from there, into _solution[1]); returns r·z.</summary>
        private double PreconditionCoarse()
        {
            Cycle(1);
            return Dot(_levels[1], _rhs[1], _solution[1]);
        }

        /// <summary>Σ a·b over a level's cells, per slice (float lanes folded into double) and summed in slice order: the same bits on any core count.</summary>
        private static double Dot(Level l, float[] a, float[] b) => SumOverSlices(l, (_, start) =>
        {
            ref var x = ref MemoryMarshal.GetArrayDataReference(a);
            ref var y = ref MemoryMarshal.GetArrayDataReference(b);
            double sum = 0;
            var lanes = Vector<float>.Zero;
            for (var j = 0; j < l.Slice; j += Vector<float>.Count)
            {
                lanes += Load(ref x, start + j) * Load(ref y, start + j);
                if ((j / Vector<float>.Count & 15) == 15) (sum, lanes) = (sum + Fold(lanes), Vector<float>.Zero);
            }
            return sum + Fold(lanes);
        });

        /// <summary>x += αp, r −= α A p; returns r·r.</summary>
        private static double CoarseUpdate(Level l, double alpha, float[] x, float[] r, float[] p, float[] ap) => SumOverSlices(l, (_, start) =>
        {
            var a = new Vector<float>((float)alpha);
            ref var xs = ref MemoryMarshal.GetArrayDataReference(x);
            ref var rs = ref MemoryMarshal.GetArrayDataReference(r);
            ref var ps = ref MemoryMarshal.GetArrayDataReference(p);
            ref var aps = ref MemoryMarshal.GetArrayDataReference(ap);
            double sum = 0;
            var lanes = Vector<float>.Zero;
            for (var j = 0; j < l.Slice; j += Vector<float>.Count)
            {
                var i = start + j;
                (Load(ref xs, i) + a * Load(ref ps, i)).StoreUnsafe(ref xs, (nuint)i);
                var ri = Load(ref rs, i) - a * Load(ref aps, i);
                ri.StoreUnsafe(ref rs, (nuint)i);
                lanes += ri * ri;
                if ((j / Vector<float>.Count & 15) == 15) (sum, lanes) = (sum + Fold(lanes), Vector<float>.Zero);
            }
            return sum + Fold(lanes);
        });

        /// <summary>p = z + βp on a level's cells (the fine CG's and the coarse start's).</summary>
        private static void Direction(Level l, float beta, float[] z, float[] p) => Parallel.For(0, l.D, t =>
        {
            var start = l.Index(t, 0, 0);
            ref var zs = ref MemoryMarshal.GetArrayDataReference(z);
            ref var ps = ref MemoryMarshal.GetArrayDataReference(p);
            var b = new Vector<float>(beta);
            for (var i = start; i < start + l.Slice; i += Vector<float>.Count)
                (Load(ref zs, i) + b * Load(ref ps, i)).StoreUnsafe(ref ps, (nuint)i);
        });

        /// <summary>TauFactor's start: the linear profile between the faces, in the conducting cells only.</summary>
        private void InitialProfile(Level f) => Parallel.For(0, f.D, t =>
        {
            var value = (float)((t + 0.5) / f.D);
            var start = f.Index(t, 0, 0);
            for (var i = start; i < start + f.Slice; i++) _x[i] = f.Degree![i] > 0 ? value : 0;
        });

        /// <summary>
        /// r = b − A x in double (the convergence test of record), four cells at a time with each cell's operations in the
        /// order of the cell-by-cell formula; returns r·r, summed cell by cell in slice order.
        /// </summary>
        private double ExactResidual(Level f)
        {
            var partial = new double[f.D];
            var (wu, wv) = (Vector256.Create((double)f.WeightU), Vector256.Create((double)f.WeightV));
            var (row, slice) = (f.Row, f.Slice);
            Parallel.For(0, f.D, () => new double[slice], (t, _, residuals) =>
            {
                var start = f.Index(t, 0, 0);
                ref var x = ref MemoryMarshal.GetArrayDataReference(_x);
                ref var degree = ref MemoryMarshal.GetArrayDataReference(f.Degree!);
                ref var gLast = ref MemoryMarshal.GetArrayDataReference(f.GLast);
                static Vector256<double> Wide(ref float a, long i)
                {
                    var v = Vector128.LoadUnsafe(ref a, (nuint)i);
                    return Vector256.Create(Vector128.WidenLower(v), Vector128.WidenUpper(v));
                }
                for (var j = 0; j < slice; j += Vector256<double>.Count) // a slice is a whole number of vectors (Level.Slice)
                {
                    var i = start + j;
                    var (diag, xi) = (Wide(ref degree, i), Wide(ref x, i));
                    var sum = wv * (Wide(ref x, i + 1) + Wide(ref x, i - 1)) + wu * (Wide(ref x, i + row) + Wide(ref x, i - row))
                        + Wide(ref x, i + slice) + Wide(ref x, i - slice);
                    var b = t == f.D - 1 ? Wide(ref gLast, j) : Vector256<double>.Zero;
                    var r = b - Vector256.ConditionalSelect(Vector256.GreaterThan(diag, Vector256<double>.Zero), diag * xi - sum, xi);
                    r.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(residuals), (nuint)j);
                    Vector128.Narrow(r.GetLower(), r.GetUpper()).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(_r), (nuint)i);
                }
                double rr = 0;
                foreach (var r in residuals) rr += r * r;
                partial[t] = rr;
                return residuals;
            }, _ => { });
            return partial.Sum();
        }

        /// <summary>Σ over slices of a per-slice partial sum, in slice order: the same bits on any core count.</summary>
        private static double SumOverSlices(Level l, Func<int, long, double> slice)
        {
            var partial = new double[l.D];
            Parallel.For(0, l.D, t => partial[t] = slice(t, l.Index(t, 0, 0)));
            return partial.Sum();
        }

        /// <summary>Per-lane float sums of up to 16 vectors, then into double: the dot products' rounding.</summary>
        private static double Fold(Vector<float> lanes)
        {
            double sum = 0;
            for (var lane = 0; lane < Vector<float>.Count; lane++) sum += lanes[lane];
            return sum;
        }

        /// <summary>p·(A p).</summary>
        private double ApplyDot() => SumOverSlices(_levels[0], (_, start) =>
        {
            var f = new Fine(_levels[0]);
            ref var p = ref MemoryMarshal.GetArrayDataReference(_p);
            double sum = 0;
            var lanes = Vector<float>.Zero;
            for (var j = 0; j < f.Slice; j += Vector<float>.Count)
            {
                var i = start + j;
                lanes += Load(ref p, i) * f.Apply(ref p, i);
                if ((j / Vector<float>.Count & 15) == 15) (sum, lanes) = (sum + Fold(lanes), Vector<float>.Zero);
            }
            return sum + Fold(lanes);
        });

        /// <summary>x += αp, r −= α A p (A p recomputed from p: no vector q); returns r·r.</summary>
        private double Update(double alpha) => SumOverSlices(_levels[0], (_, start) =>
        {
            var f = new Fine(_levels[0]);
            ref var p = ref MemoryMarshal.GetArrayDataReference(_p);
            ref var x = ref MemoryMarshal.GetArrayDataReference(_x);
            ref var r = ref MemoryMarshal.GetArrayDataReference(_r);
            var a = new Vector<float>((float)alpha);
            double sum = 0;
            var lanes = Vector<float>.Zero;
            for (var j = 0; j < f.Slice; j += Vector<float>.Count)
            {
                var i = start + j;
                (Load(ref x, i) + a * Load(ref p, i)).StoreUnsafe(ref x, (nuint)i);
                var ri = Load(ref r, i) - a * f.Apply(ref p, i);
                ri.StoreUnsafe(ref r, (nuint)i);
                lanes += ri * ri;
                if ((j / Vector<float>.Count & 15) == 15) (sum, lanes) = (sum + Fold(lanes), Vector<float>.Zero);
            }
            return sum + Fold(lanes);
        });


        /// <summary>
        /// z = M⁻¹r by one symmetric V-cycle from zero; returns r·z. On the finest level the passes are fused: the forward
        /// sweep from zero is one pass (a red cell's new value r/A_ii needs no neighbour, so a black cell computes its red
        /// neighbours' on the fly), the residual is restricted as it is computed, and the last sweep sums r·z.
        /// </summary>
        private double Precondition()
        {
            var fine = _levels[0];
            if (_levels.Length == 1)
            {
                SolveCoarsest(fine, _r, _z);
                return SumOverSlices(fine, (_, start) => Enumerable.Range(0, fine.Slice).Sum(j => (double)_r[start + j] * _z[start + j]));
            }
            var coarse = _levels[1];
            if (!_inWaves)
            {
                Parallel.For(0, fine.D, t => FirstSweep(fine, t));
                RestrictResidual(fine, coarse, _rhs[1]);
                Cycle(1);
                return CorrectAndSweepInPasses(fine, coarse);
            }
            SweepAndRestrictInWaves(fine, coarse);
            Cycle(1);
            return CorrectAndSweepInWaves(fine, coarse);
        }

        /// <summary>
        /// The finest level's first sweep and the restriction of its residual in one wave per block of coarse slices: each
        /// coarse slice is restricted as soon as the fine slices it reads (its own and one either side) have their z, while
        /// they are still in the cache. The first sweep reads only r, so the block's first and last fine slices, which the
        /// neighbouring blocks read, are swept before the waves start. The same values as the passes one after another.
        /// </summary>
        private void SweepAndRestrictInWaves(Level fine, Level coarse)
        {
            var ft = coarse.Factor.T;
            var blocks = WaveBlocks(coarse.D, 1);
            Parallel.For(0, blocks, b =>
            {
                var (first, last) = (ft * (coarse.D * b / blocks), Math.Min(fine.D, ft * (coarse.D * (b + 1) / blocks)) - 1);
                FirstSweep(fine, first);
                if (last != first) FirstSweep(fine, last);
            });
            Parallel.For(0, blocks, b =>
            {
                var (tc0, tc1) = (coarse.D * b / blocks, coarse.D * (b + 1) / blocks);
                var (first, last) = (ft * tc0, Math.Min(fine.D, ft * tc1) - 1);
                var row = new float[fine.Row + Vector<float>.Count];
                var swept = first; // fine slices up to here have their z
                for (var tc = tc0; tc < tc1; tc++)
                {
                    var needed = Math.Min(last, ft * tc + ft); // the coarse slice's fine slices and the one after them
                    for (; swept < needed; swept++)
                        if (swept + 1 != last) FirstSweep(fine, swept + 1);
                    RestrictResidualSlice(fine, coarse, _rhs[1], tc, row);
                }
            });
        }

        /// <summary>
        /// The V-cycle's last steps on the finest level in one wave per block of slices: z += P e on slice t + 2, the colour-1
        /// sweep on slice t + 1 and the colour-0 sweep on slice t, so each slice is read from memory once instead of three
        /// times. A colour's update reads only the other colour, so the order is the passes' one after another: every
        /// colour-1 cell is updated from colour-0 values not yet swept, every colour-0 cell from colour-1 values already
        /// swept. Blocks are independent after their two first and two last slices are prolonged and their first and last
        /// slices swept in colour 1 (what the neighbouring blocks read); r·z is summed per slice in slice order as before.
        /// </summary>
        private double CorrectAndSweepInWaves(Level fine, Level coarse)
        {
            var d = fine.D;
            var blocks = WaveBlocks(d, 4);
            if (blocks == 0) return CorrectAndSweepInPasses(fine, coarse);
            (int First, int Last) Block(int b) => (d * b / blocks, d * (b + 1) / blocks - 1);
            var correction = _solution[1];
            Parallel.For(0, blocks, b =>
            {
                var (first, last) = Block(b);
                var expanded = new float[fine.Row + Vector<float>.Count];
                foreach (var t in (int[])[first, first + 1, last - 1, last]) ProlongSlice(fine, coarse, correction, _z, t, expanded);
            });
            Parallel.For(0, blocks, b =>
            {
                var (first, last) = Block(b);
                FineSweep(fine, first, colour: 1);
                FineSweep(fine, last, colour: 1);
            });
            var partial = new double[d];
            Parallel.For(0, blocks, b =>
            {
                var (first, last) = Block(b);
                var expanded = new float[fine.Row + Vector<float>.Count];
                for (var t = first; t <= last; t++)
                {
                    if (t + 2 >= first + 2 && t + 2 <= last - 2) ProlongSlice(fine, coarse, correction, _z, t + 2, expanded);
                    if (t + 1 > first && t + 1 < last) FineSweep(fine, t + 1, colour: 1);
                    partial[t] = FineSweep(fine, t, colour: 0);
                }
            });
            return partial.Sum();
        }

        /// <summary>The V-cycle's last steps on the finest level one pass after another: z += P e, the colour-1 sweep, the colour-0 sweep (returns r·z).</summary>
        private double CorrectAndSweepInPasses(Level fine, Level coarse)
        {
            Prolong(fine, coarse, _solution[1], _z);
            Parallel.For(0, fine.D, t => FineSweep(fine, t, colour: 1));
            return SumOverSlices(fine, (t, _) => FineSweep(fine, t, colour: 0));
        }

        /// <summary>
        /// Blocks of at least <paramref name="minimumSlices"/> slices (of <paramref name="slices"/>) that the waves run side
        /// by side: one per core, fewer on a thin volume, 0 when not even one has that many.
        /// </summary>
        private static int WaveBlocks(int slices, int minimumSlices) => Math.Min(Environment.ProcessorCount, slices / minimumSlices);

        /// <summary>The forward red-black sweep from z = 0 on slice t: red z = r/A_ii, black z = (r + Σ w_j r_j/A_jj)/A_ii.</summary>
        private void FirstSweep(Level l, int t)
        {
            var f = new Fine(l);
            ref var r = ref MemoryMarshal.GetArrayDataReference(_r);
            ref var z = ref MemoryMarshal.GetArrayDataReference(_z);
            var start = l.Index(t, 0, 0);
            for (var j = 0; j < f.Slice; j += Vector<float>.Count)
            {
                var i = start + j;
                var diag = Load(ref f.Degree, i);
                var red = Load(ref r, i);
                var black = red + f.Wv * (f.Scaled(ref r, i + 1) + f.Scaled(ref r, i - 1)) + f.Wu * (f.Scaled(ref r, i + f.Row) + f.Scaled(ref r, i - f.Row))
                    + f.Scaled(ref r, i + f.Slice) + f.Scaled(ref r, i - f.Slice);
                var value = Vector.ConditionalSelect(f.Coloured(t, 0, j), red, black) / diag;
                Vector.ConditionalSelect(Vector.GreaterThan(diag, Vector<float>.Zero), value, Vector<float>.Zero).StoreUnsafe(ref z, (nuint)i);
            }
        }

        /// <summary>Gauss-Seidel update of the cells of one colour of slice t (in place: they read only the other colour); returns r·z over the slice.</summary>
        private double FineSweep(Level l, int t, int colour)
        {
            var f = new Fine(l);
            ref var r = ref MemoryMarshal.GetArrayDataReference(_r);
            ref var z = ref MemoryMarshal.GetArrayDataReference(_z);
            var start = l.Index(t, 0, 0);
            double sum = 0;
            var lanes = Vector<float>.Zero;
            for (var j = 0; j < f.Slice; j += Vector<float>.Count)
            {
                var i = start + j;
                var diag = Load(ref f.Degree, i);
                var ri = Load(ref r, i);
                var updated = Vector.ConditionalSelect(Vector.GreaterThan(diag, Vector<float>.Zero), (ri + f.Neighbours(ref z, i)) / diag, Vector<float>.Zero);
                var value = Vector.ConditionalSelect(f.Coloured(t, colour, j), updated, Load(ref z, i));
                value.StoreUnsafe(ref z, (nuint)i);
                lanes += ri * value;
                if ((j / Vector<float>.Count & 15) == 15) (sum, lanes) = (sum + Fold(lanes), Vector<float>.Zero);
            }
            return sum + Fold(lanes);
        }

        /// <summary>The coarse right-hand side: the fine residual r − A z summed over each aggregate, a row at a time (never stored).</summary>
        private void RestrictResidual(Level fine, Level coarse, float[] rhs) =>
            Parallel.For(0, coarse.D, () => new float[fine.Row + Vector<float>.Count], (tc, _, row) =>
            {
                RestrictResidualSlice(fine, coarse, rhs, tc, row);
                return row;
            }, _ => { });

        /// <summary>Coarse slice <paramref name="tc"/> of <see cref="RestrictResidual"/>; <paramref name="row"/> holds a fine row and a vector more.</summary>
        private void RestrictResidualSlice(Level fine, Level coarse, float[] rhs, int tc, float[] row)
        {
            var (ft, fu, fv) = coarse.Factor;
            var f = new Fine(fine);
            ref var r = ref MemoryMarshal.GetArrayDataReference(_r);
            ref var z = ref MemoryMarshal.GetArrayDataReference(_z);
            ref var rowRef = ref MemoryMarshal.GetArrayDataReference(row);
            Array.Clear(rhs, (int)coarse.Index(tc, 0, 0), coarse.Slice);
            for (var t = ft * tc; t < Math.Min(fine.D, ft * tc + ft); t++)
                for (var u = 0; u < fine.H; u++)
                {
                    var start = fine.Index(t, u, 0);
                    for (var v = 0; v < fine.W; v += Vector<float>.Count)
                        (Load(ref r, start + v) - f.Apply(ref z, start + v)).StoreUnsafe(ref rowRef, (nuint)v);
                    ref var c = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(rhs), (nint)coarse.Index(tc, u / fu, 0));
                    if (fv == 2)
                    {
                        for (var v = 0; v + 1 < fine.W; v += 2) Unsafe.Add(ref c, v >> 1) += Unsafe.Add(ref rowRef, v) + Unsafe.Add(ref rowRef, v + 1);
                        if ((fine.W & 1) != 0) Unsafe.Add(ref c, fine.W >> 1) += Unsafe.Add(ref rowRef, fine.W - 1);
                    }
                    else
                        for (var v = 0; v < fine.W; v++) Unsafe.Add(ref c, v) += Unsafe.Add(ref rowRef, v);
                }
        }

        private static void Run(Kernel kernel, Level l, float[] b, float[] x, float[] result, int colour = 0) =>
            Parallel.For(0, l.D, t => Stencil(kernel, l, t, b, x, result, colour));

        private void Cycle(int l)
        {
            var level = _levels[l];
            var (b, u) = (_rhs[l], _solution[l]);
            if (l == _levels.Length - 1)
            {
                SolveCoarsest(level, b, u);
                return;
            }
            Array.Clear(u);
            Run(Kernel.Sweep, level, b, u, u, 0);
            Run(Kernel.Sweep, level, b, u, u, 1);
            Run(Kernel.Residual, level, b, u, _residual[l]);
            Restrict(level, _levels[l + 1], _residual[l], _rhs[l + 1]);
            Cycle(l + 1);
            Prolong(level, _levels[l + 1], _solution[l + 1], u);
            Run(Kernel.Sweep, level, b, u, u, 1);
            Run(Kernel.Sweep, level, b, u, u, 0);
        }

        /// <summary>
        /// Each coarse cell's right-hand side: the sum in double of the fine residual over its aggregate, cell by cell in
        /// (t, u, v) order. A coarse row's sums are kept side by side and the fine rows read one after another (each
        /// aggregate's additions in the same order as cell by cell).
        /// </summary>
        private static void Restrict(Level fine, Level coarse, float[] residual, float[] rhs)
        {
            var (ft, fu, fv) = coarse.Factor;
            Parallel.For(0, coarse.D, () => new double[coarse.W], (tc, _, sums) =>
            {
                for (var uc = 0; uc < coarse.H; uc++)
                {
                    Array.Clear(sums);
                    for (var t = ft * tc; t < Math.Min(fine.D, ft * tc + ft); t++)
                        for (var u = fu * uc; u < Math.Min(fine.H, fu * uc + fu); u++)
                        {
                            var row = residual.AsSpan(checked((int)fine.Index(t, u, 0)), fine.W);
                            for (var vc = 0; vc < coarse.W; vc++)
                            {
                                var sum = sums[vc];
                                for (var v = fv * vc; v < Math.Min(fine.W, fv * vc + fv); v++) sum += row[v];
                                sums[vc] = sum;
                            }
                        }
                    var start = checked((int)coarse.Index(tc, uc, 0));
                    for (var vc = 0; vc < coarse.W; vc++) rhs[start + vc] = (float)sums[vc];
                }
                return sums;
            }, _ => { });
        }

        private static void Prolong(Level fine, Level coarse, float[] correction, float[] x) =>
            Parallel.For(0, fine.D, () => fine.Degree is null ? [] : new float[fine.Row + Vector<float>.Count], (t, _, expanded) =>
            {
                ProlongSlice(fine, coarse, correction, x, t, expanded);
                return expanded;
            }, _ => { });

        /// <summary>Slice <paramref name="t"/> of <see cref="Prolong"/>; on the finest level <paramref name="expanded"/> holds a fine row and a vector more.</summary>
        private static void ProlongSlice(Level fine, Level coarse, float[] correction, float[] x, int t, float[] expanded)
        {
            var (ft, fu, fv) = coarse.Factor;
            for (var u = 0; u < fine.H; u++)
            {
                var (i, c) = (fine.Index(t, u, 0), coarse.Index(t / ft, u / fu, 0));
                if (fine.Degree is { } degree) // keep 0 where the finest level does not conduct (Fine needs it)
                {
                    if (u % fu == 0 && fv == 2)
                        for (var v = 0; v < fine.W; v++) expanded[v] = correction[c + (v >> 1)];
                    else if (u % fu == 0)
                        Array.Copy(correction, c, expanded, 0, fine.W);
                    ref var xs = ref MemoryMarshal.GetArrayDataReference(x);
                    ref var ds = ref MemoryMarshal.GetArrayDataReference(degree);
                    ref var es = ref MemoryMarshal.GetArrayDataReference(expanded);
                    // Whole vectors inside the row only: one past its end could reach the next slice, another thread's.
                    var k = 0;
                    for (; k + Vector<float>.Count <= fine.W; k += Vector<float>.Count)
                        (Load(ref xs, i + k) + Vector.ConditionalSelect(Vector.GreaterThan(Load(ref ds, i + k), Vector<float>.Zero), Load(ref es, k), Vector<float>.Zero))
                            .StoreUnsafe(ref xs, (nuint)(i + k));
                    for (; k < fine.W; k++) x[i + k] += degree[i + k] > 0 ? expanded[k] : 0;
                }
                else if (fv == 2)
                    for (var v = 0; v < fine.W; v++) x[i + v] += correction[c + v / 2];
                else
                    for (var v = 0; v < fine.W; v++) x[i + v] += correction[c + v];
            }
        }
        private static double[] Factor(Level l)
        {
            var (n, plane) = (l.D * l.H * l.W, l.H * l.W);
            var a = new double[n * n];
            for (var t = 0; t < l.D; t++)
                for (var u = 0; u < l.H; u++)
                    for (var v = 0; v < l.W; v++)
                    {
                        var i = (t * l.H + u) * l.W + v;
                        var k = l.Index(t, u, v);
                        var g = l.FaceConductance(t);
                        var diag = l.LinkV(t, u, v) + (v > 0 ? l.LinkV(t, u, v - 1) : 0) + l.LinkU(t, u, v) + (u > 0 ? l.LinkU(t, u - 1, v) : 0)
                            + l.LinkT(t, u, v) + (t > 0 ? l.LinkT(t - 1, u, v) : 0) + (g is null ? 0 : g[u * l.Row + v]);
                        a[i * n + i] = diag > 0 ? diag : 1;
                        if (v + 1 < l.W) a[i * n + i + 1] = a[(i + 1) * n + i] = -l.LinkV(t, u, v);
                        if (u + 1 < l.H) a[i * n + i + l.W] = a[(i + l.W) * n + i] = -l.LinkU(t, u, v);
                        if (t + 1 < l.D) a[i * n + i + plane] = a[(i + plane) * n + i] = -l.LinkT(t, u, v);
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

        private void SolveCoarsest(Level l, float[] b, float[] x)
        {
            var n = l.D * l.H * l.W;
            var a = _cholesky;
            var y = new double[n];
            long At(int i) => l.Index(i / (l.H * l.W), i / l.W % l.H, i % l.W);
            for (var i = 0; i < n; i++)
            {
                var s = (double)b[At(i)];
                for (var k = 0; k < i; k++) s -= a[i * n + k] * y[k];
                y[i] = s / a[i * n + i];
            }
            for (var i = n - 1; i >= 0; i--)
            {
                var s = y[i];
                for (var k = i + 1; k < n; k++) s -= a[k * n + i] * y[k];
                y[i] = s / a[i * n + i];
            }
            for (var i = 0; i < n; i++) x[At(i)] = (float)y[i];
        }
    }
}
