namespace SsbTomo.Imaging.Reconstruction;

/// <summary>
/// Taubin's λ|μ mesh smoothing (Taubin 1995, "A signal processing approach to fair surface design", SIGGRAPH '95,
/// doi:10.1145/218380.218473): alternating umbrella steps, each moving every vertex by the factor times the mean of its
/// edge neighbours minus itself, first λ = 0.5 (shrinks) then μ = −0.53 (inflates back). Together a low-pass filter
/// (pass band k_PB = 1/λ + 1/μ ≈ 0.11) that removes the facets of decimation and marching cubes without the shrinking of
/// plain Laplacian smoothing. Every step reads the previous step's positions, so the result does not depend on the
/// order vertices are visited in.
/// </summary>
public static class TaubinSmoothing
{
    /// <summary>Taubin's shrinking step (0 &lt; λ &lt; −μ).</summary>
    public const double Lambda = 0.5;

    /// <summary>Taubin's inflating step.</summary>
    public const double Mu = -0.53;

    /// <summary>The mesh after <paramref name="iterations"/> λ|μ pairs (triangles and contact classes unchanged).</summary>
    public static SurfaceMesh Apply(SurfaceMesh mesh, int iterations)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        var n = mesh.VertexCount;
        // Capacity first (two neighbours per triangle corner), then each list filled without repeats.
        var capacity = new int[n + 1];
        foreach (var v in mesh.Triangles) capacity[v + 1] += 2;
        for (var i = 0; i < n; i++) capacity[i + 1] += capacity[i];
        var neighbours = new int[capacity[n]];
        var degree = new int[n];
        void Link(int a, int b)
        {
            if (!neighbours.AsSpan(capacity[a], degree[a]).Contains(b)) neighbours[capacity[a] + degree[a]++] = b;
        }
        var triangles = mesh.Triangles;
        for (var t = 0; t < triangles.Length; t += 3)
            for (var k = 0; k < 3; k++)
            {
                var (a, b) = (triangles[t + k], triangles[t + (k + 1) % 3]);
                Link(a, b);
                Link(b, a);
            }

        var current = Array.ConvertAll(mesh.Positions, p => (double)p);
        var next = new double[current.Length];
        for (var step = 0; step < 2 * iterations; step++)
        {
            var factor = step % 2 == 0 ? Lambda : Mu;
            var (from, to) = (current, next);
            Parallel.For(0, n, i =>
            {
                for (var axis = 0; axis < 3; axis++)
                {
                    var own = from[3 * i + axis];
                    if (degree[i] == 0) { to[3 * i + axis] = own; continue; }
                    var sum = 0.0;
                    for (var j = capacity[i]; j < capacity[i] + degree[i]; j++) sum += from[3 * neighbours[j] + axis];
                    to[3 * i + axis] = own + factor * (sum / degree[i] - own);
                }
            });
            (current, next) = (next, current);
        }
        return mesh with { Positions = Array.ConvertAll(current, p => (float)p) };
    }
}
