namespace SsbTomo.Benchmarks;

/// <summary>
/// The peer for the tortuosity solve, shared by the studies that time it: TauFactor's system (cell-centred finite volumes,
/// doubled conductance to the two fixed faces, non-percolating voxels removed) assembled with scipy.sparse and solved by
/// scipy's Jacobi-preconditioned conjugate gradients from a linear start. Python source defining
/// <c>scipy_tau(mask, tol)</c> → (τ along axis 0, iterations), to be prepended to a study's script.
/// </summary>
internal static class ScipyTortuosity
{
    public const string Function = """
        def scipy_tau(mask, tol):
            import numpy as np, scipy.sparse as sp, scipy.sparse.linalg as sla
            from scipy import ndimage
            n, area = mask.shape[0], mask.shape[1] * mask.shape[2]
            eps = mask.mean()
            lab, _ = ndimage.label(mask)
            keep = np.intersect1d(np.unique(lab[0]), np.unique(lab[-1]))
            act = np.isin(lab, keep[keep > 0])
            idx = -np.ones(mask.shape, np.int64); m = int(act.sum()); idx[act] = np.arange(m)
            diag = np.zeros(m); b = np.zeros(m); rows = []; cols = []
            for ax in range(3):
                lo = [slice(None)] * 3; hi = [slice(None)] * 3
                lo[ax] = slice(0, -1); hi[ax] = slice(1, None)
                both = act[tuple(lo)] & act[tuple(hi)]
                i = idx[tuple(lo)][both]; j = idx[tuple(hi)][both]
                np.add.at(diag, i, 1.0); np.add.at(diag, j, 1.0)
                rows += [i, j]; cols += [j, i]
            first = idx[0][act[0]]; last = idx[-1][act[-1]]
            diag[first] += 2; diag[last] += 2; b[last] += 2
            r = np.concatenate(rows)
            A = sp.csr_matrix((np.concatenate([-np.ones(len(r)), diag]), (np.concatenate([r, np.arange(m)]), np.concatenate([np.concatenate(cols), np.arange(m)]))), shape=(m, m))
            x0 = (np.nonzero(act)[0] + 0.5) / n
            iterations = [0]
            def count(_): iterations[0] += 1
            try:
                x, info = sla.cg(A, b, x0=x0, M=sp.diags(1 / diag), rtol=tol, maxiter=100000, callback=count)
            except TypeError:  # scipy < 1.12 names it tol
                x, info = sla.cg(A, b, x0=x0, M=sp.diags(1 / diag), tol=tol, maxiter=100000, callback=count)
            q = 2 * x[first].sum()
            return eps / (n * q / area), iterations[0]

        """;
}
