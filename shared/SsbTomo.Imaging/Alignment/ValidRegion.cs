namespace SsbTomo.Imaging.Alignment;

/// <summary>The common region of an aligned stack that rests on real data only.</summary>
public static class ValidRegion
{
    /// <summary>
    /// Half-open region [Y0, Y1) x [X0, X1) in slice-0 coordinates where every aligned slice
    /// aligned_k(p) = raw_k(p + drift_k) (<see cref="SubpixelShift.Apply"/>) is interpolated from real samples only:
    /// for a non-integer shift component the cubic B-spline taps floor(q)-1 .. floor(q)+2 of q = p + drift must lie in
    /// the image (1 &lt;= q &lt; n-2), for an integer component the sample itself (0 &lt;= q &lt;= n-1).
    /// </summary>
    /// <exception cref="ArgumentException">no drifts, or the stack drifted so far that no pixel is common to all slices.</exception>
    public static (int Y0, int Y1, int X0, int X1) Compute(IReadOnlyList<Shift2D> driftsPx, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(driftsPx);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (driftsPx.Count == 0) throw new ArgumentException("no drifts given", nameof(driftsPx));
        int y0 = 0, y1 = height, x0 = 0, x1 = width;
        foreach (var d in driftsPx)
        {
            if (!double.IsFinite(d.Dy) || !double.IsFinite(d.Dx))
                throw new ArgumentException($"drift {d} is not finite", nameof(driftsPx));
            var (ly, hy) = Axis(d.Dy, height);
            var (lx, hx) = Axis(d.Dx, width);
            y0 = Math.Max(y0, ly); y1 = Math.Min(y1, hy);
            x0 = Math.Max(x0, lx); x1 = Math.Min(x1, hx);
        }
        if (y1 <= y0 || x1 <= x0)
            throw new ArgumentException(
                $"no common valid region: the drifts span more than the {height}x{width} slice (rows [{y0},{y1}), columns [{x0},{x1}))", nameof(driftsPx));
        return (y0, y1, x0, x1);
    }

    /// <summary>Integer p range [lo, hi) along one axis of length n for a drift d.</summary>
    private static (int Lo, int Hi) Axis(double d, int n)
    {
        double rounded = Math.Round(d);
        if (Math.Abs(d - rounded) < 1e-9)
        {
            int k = (int)rounded;
            return (-k, n - k); // 0 <= p + k <= n-1
        }
        // 1 <= p + d and p + d < n - 2
        int lo = (int)Math.Ceiling(1 - d);
        int hi = (int)Math.Ceiling(n - 2 - d); // largest p with p + d < n-2 is ceil(n-2-d)-1
        return (lo, hi);
    }
}
