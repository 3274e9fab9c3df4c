using System.Globalization;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Classification;

/// <summary>The filters of ilastik's pixel classification (Sommer et al. 2011, "ilastik: Interactive learning and segmentation toolkit", ISBI; Berg et al. 2019, Nat. Methods 16:1226).</summary>
public enum FeatureKind
{
    /// <summary>G_σ * I.</summary>
    GaussianSmoothing,

    /// <summary>∂²/∂y² + ∂²/∂x² of G_σ * I (scipy.ndimage.gaussian_laplace).</summary>
    LaplacianOfGaussian,

    /// <summary>|∇(G_σ * I)| (scipy.ndimage.gaussian_gradient_magnitude).</summary>
    GaussianGradientMagnitude,

    /// <summary>G_σ * I − G_0.66σ * I, ilastik's ratio of the two scales.</summary>
    DifferenceOfGaussians,

    /// <summary>Both eigenvalues, descending, of G_σ/2 * (∇_σ I ∇_σ Iᵀ): ilastik's inner scale σ, outer scale σ/2.</summary>
    StructureTensorEigenvalues,

    /// <summary>Both eigenvalues, descending, of the Hessian of G_σ * I.</summary>
    HessianOfGaussianEigenvalues,

    /// <summary>
    /// G_σ * I (2D) of this slice minus that of the slice <see cref="FeatureSpec.Z"/> away along z (negative: milled
    /// earlier, in front; positive: deeper, behind).
    /// </summary>
    SmoothingDifferenceAlongZ,

    /// <summary>The smallest G_σ * I (2D) over this slice and the slices up to <see cref="FeatureSpec.Z"/> away along z.</summary>
    MinimumAlongZ,

    /// <summary>The largest G_σ * I (2D) over this slice and the slices up to <see cref="FeatureSpec.Z"/> away along z.</summary>
    MaximumAlongZ,

    /// <summary>G_σ * I in 3D (σ in slices along z too; scipy.ndimage.gaussian_filter on the stack).</summary>
    GaussianSmoothing3D,

    /// <summary>∂²/∂z² + ∂²/∂y² + ∂²/∂x² of G_σ * I in 3D (scipy.ndimage.gaussian_laplace on the stack): a pore is a blob in 3D, a fibre a tube.</summary>
    LaplacianOfGaussian3D,
}

/// <summary>One filter at one scale (σ in pixels); the z-context kinds also reach <see cref="Z"/> slices along z (0 for the 2D kinds).</summary>
public readonly record struct FeatureSpec(FeatureKind Kind, double Sigma, int Z = 0)
{
    /// <summary>Whether the filter looks at other slices of the stack.</summary>
    public bool AlongZ => Kind is FeatureKind.SmoothingDifferenceAlongZ or FeatureKind.MinimumAlongZ or FeatureKind.MaximumAlongZ || Is3D;

    /// <summary>The 3D filters, whose reach along z is their Gaussian's (<see cref="Z"/> stays 0).</summary>
    public bool Is3D => Kind is FeatureKind.GaussianSmoothing3D or FeatureKind.LaplacianOfGaussian3D;

    /// <summary>How many slices before or after its own the filter reads.</summary>
    public int ZRadius => Is3D ? Denoise.GaussianRadiusVoxels(Sigma) : AlongZ ? Math.Abs(Z) : 0;

    /// <summary>How many feature planes the filter gives: two for the eigenvalue filters, one otherwise.</summary>
    public int Channels => Kind is FeatureKind.StructureTensorEigenvalues or FeatureKind.HessianOfGaussianEigenvalues ? 2 : 1;

    /// <summary>How far from a pixel the filter looks (scipy's 4σ truncation; the structure tensor adds its outer scale).</summary>
    public int Radius => Kind switch
    {
        FeatureKind.StructureTensorEigenvalues => Denoise.GaussianRadiusVoxels(Sigma) + Denoise.GaussianRadiusVoxels(PixelFeatures.StructureTensorOuterRatio * Sigma),
        _ => Denoise.GaussianRadiusVoxels(Sigma),
    };

    public override string ToString() =>
        $"{Kind} σ={Sigma.ToString("0.###", CultureInfo.InvariantCulture)}" + (AlongZ && !Is3D ? $" z{Z.ToString("+0;-0", CultureInfo.InvariantCulture)}" : "");
}

/// <summary>
/// ilastik's pixel-classification feature bank, one slice at a time: Gaussian smoothing, Laplacian of Gaussian,
/// Gaussian gradient magnitude, difference of Gaussians, structure-tensor and Hessian-of-Gaussian eigenvalues, each at
/// chosen σ in 2D, plus z-context features of the smoothed slice against its neighbours along z. The derivatives are
/// scipy.ndimage's (the normalised Gaussian's derivative kernels, 4σ truncation, 'reflect' boundary), so scipy.ndimage
/// and skimage.feature are the oracles; ilastik computes the same quantities with vigra, whose kernels differ in the
/// last digits.
/// <para>
/// The z-context features carry what the unsupervised path's shine-through correction reads
/// (<see cref="ShineThroughCorrection"/>; Prill et al. 2013, Scanning 35:189; Salzer et al. 2012, Materials
/// Characterization 69:115): a pore shows the wall behind it, so its last slices before that wall read as carbon or
/// electrolyte in 2D, but are brighter than the pore slices in front of them, darker than the wall behind, and have a
/// dark minimum along z in front. Differences to the slices in front and behind, and the minimum and maximum of the
/// smoothed grey over a few slices each way, let the forest learn that pattern from the strokes instead of a rule.
/// Beyond the stack's first and last slices the stack is mirrored along z (scipy's 'reflect'); a lone 2D image is a
/// stack of one slice (its z-context features are then its own smoothing and zero differences, in training and in
/// prediction alike).
/// </para>
/// <para>
/// A pixel's features depend only on the pixels within <see cref="Halo"/> of it in y/x, <see cref="ZHalo"/> slices in
/// z, and on where the stack ends, so a tile read with that halo (<see cref="TileGrid"/>) gives its owned pixels'
/// features bit for bit: every pass accumulates in float in a fixed order per pixel, without fused multiply-adds.
/// </para>
/// </summary>
public static class PixelFeatures
{
    /// <summary>ilastik's inner : outer scale of the structure tensor (inner σ, outer σ/2).</summary>
    public const double StructureTensorOuterRatio = 0.5;

    /// <summary>ilastik's ratio of the smaller to the larger scale of the difference of Gaussians.</summary>
    public const double DifferenceOfGaussiansRatio = 0.66;

    /// <summary>The scales ilastik offers.</summary>
    public static IReadOnlyList<double> IlastikSigmas { get; } = [0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0];

    /// <summary>
    /// The default 2D bank: smoothing at 0.3 (close to the grey value itself, as ilastik's default) and every filter at
    /// σ 0.7, 1.6, 3.5 and 5: 33 planes, a 30-pixel halo. Fine scales see edges and thin fibres, coarse ones a pore's
    /// or particle's interior; 10 is left out because its 60-pixel halo and cost buy little on sections of a few µm.
    /// </summary>
    public static IReadOnlyList<FeatureSpec> Default2D { get; } = Bank([0.7, 1.6, 3.5, 5.0], includeFineSmoothing: true);

    /// <summary>The default bank: <see cref="Default2D"/> and <see cref="ZContext"/> at σ 1 (47 planes, 30 pixels and 6 slices of halo).</summary>
    public static IReadOnlyList<FeatureSpec> Default { get; } = [.. Default2D, .. ZContext(1.0)];

    /// <summary>
    /// The z-context features at one σ: differences to the slices 1, 2 and 4 in front and behind, the minimum over this
    /// slice and the 2 and 6 in front, the maximum over this slice and the 2 and 6 behind, and ilastik's 3D smoothing
    /// and Laplacian of Gaussian at σ and 1.6σ (14 planes; at σ 1, 6 slices of z halo). Shine-through decays over 1-10
    /// slices: the near offsets see a pore's brightening towards its back wall, the far ones its dark front and its
    /// wall; the 3D filters average noise over slices and tell a pore (a blob) from a fibre's section (a tube).
    /// </summary>
    public static IReadOnlyList<FeatureSpec> ZContext(double sigma) =>
    [
        .. new[] { -1, -2, -4, 1, 2, 4 }.Select(z => new FeatureSpec(FeatureKind.SmoothingDifferenceAlongZ, sigma, z)),
        new FeatureSpec(FeatureKind.MinimumAlongZ, sigma, -2),
        new FeatureSpec(FeatureKind.MinimumAlongZ, sigma, -6),
        new FeatureSpec(FeatureKind.MaximumAlongZ, sigma, 2),
        new FeatureSpec(FeatureKind.MaximumAlongZ, sigma, 6),
        new FeatureSpec(FeatureKind.GaussianSmoothing3D, sigma),
        new FeatureSpec(FeatureKind.GaussianSmoothing3D, 1.6 * sigma),
        new FeatureSpec(FeatureKind.LaplacianOfGaussian3D, sigma),
        new FeatureSpec(FeatureKind.LaplacianOfGaussian3D, 1.6 * sigma),
    ];

    /// <summary>Every 2D kind at every σ of <paramref name="sigmas"/>, optionally with smoothing at 0.3 first.</summary>
    public static IReadOnlyList<FeatureSpec> Bank(IEnumerable<double> sigmas, bool includeFineSmoothing)
    {
        var specs = new List<FeatureSpec>();
        if (includeFineSmoothing) specs.Add(new FeatureSpec(FeatureKind.GaussianSmoothing, 0.3));
        foreach (var sigma in sigmas)
            foreach (var kind in Enum.GetValues<FeatureKind>().Where(k => !new FeatureSpec(k, 1).AlongZ))
                specs.Add(new FeatureSpec(kind, sigma));
        return specs;
    }

    /// <summary>Number of feature planes of <paramref name="specs"/>.</summary>
    public static int Count(IReadOnlyList<FeatureSpec> specs) => specs.Sum(s => s.Channels);

    /// <summary>One name per plane, in plane order ("HessianOfGaussianEigenvalues σ=1.6 [1]" for the second eigenvalue).</summary>
    public static IReadOnlyList<string> Names(IReadOnlyList<FeatureSpec> specs) =>
        specs.SelectMany(s => s.Channels == 1 ? [s.ToString()] : Enumerable.Range(0, s.Channels).Select(c => $"{s} [{c}]")).ToArray();

    /// <summary>The y/x halo a tile needs for its owned pixels to get the whole image's features.</summary>
    public static int Halo(IReadOnlyList<FeatureSpec> specs) => specs.Count == 0 ? 0 : specs.Max(s => s.Radius);

    /// <summary>The slices before and after its own that a slice's features read.</summary>
    public static int ZHalo(IReadOnlyList<FeatureSpec> specs) => specs.Count == 0 ? 0 : specs.Max(s => s.ZRadius);

    /// <summary>
    /// The feature planes of a height×width image (row-major), one float array per plane in <see cref="Names"/> order.
    /// Beyond the image's edges the image is mirrored (scipy's 'reflect'); for z-context features it is a stack of one slice.
    /// </summary>
    public static float[][] Compute(ReadOnlySpan<float> image, int height, int width, IReadOnlyList<FeatureSpec> specs)
    {
        if (image.Length != height * width)
            throw new ArgumentException($"image has {image.Length} pixels, {height}x{width} needs {height * width}", nameof(image));
        var source = image.ToArray();
        return ComputeInStack(_ => source, 1, 0, height, width, specs);
    }

    /// <summary>
    /// The feature planes of slice <paramref name="z"/> of a stack of <paramref name="depth"/> height×width slices, read
    /// through <paramref name="slice"/> (grey levels, row-major; called only for the slices within <see cref="ZHalo"/>).
    /// Pass one <paramref name="smoothings"/> to successive calls on the same stack so that each slice is smoothed once.
    /// </summary>
    public static float[][] ComputeInStack(Func<int, float[]> slice, int depth, int z, int height, int width, IReadOnlyList<FeatureSpec> specs,
        ZSmoothings? smoothings = null)
    {
        Validate(specs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(depth);
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, depth);
        var source = slice(z);
        if (source.Length != height * width)
            throw new ArgumentException($"slice {z} has {source.Length} pixels, {height}x{width} needs {height * width}", nameof(slice));
        var planes = new float[Count(specs)][];
        var next = 0;
        var starts = new int[specs.Count];
        for (var i = 0; i < specs.Count; i++)
        {
            starts[i] = next;
            next += specs[i].Channels;
        }
        // Filters at the same σ share their derivative passes; scales are independent, so they run in parallel.
        var groups = Enumerable.Range(0, specs.Count).Where(i => !specs[i].AlongZ).GroupBy(i => specs[i].Sigma).ToArray();
        Parallel.ForEach(groups, group =>
        {
            var derivatives = new Derivatives(source, height, width, group.Key);
            foreach (var i in group)
            {
                var outputs = derivatives.Filter(specs[i]);
                for (var c = 0; c < outputs.Length; c++) planes[starts[i] + c] = outputs[c];
            }
        });
        if (groups.Sum(g => g.Count()) == specs.Count) return planes;

        smoothings ??= new ZSmoothings();
        float[] Smoothed(double sigma, int offset) => smoothings.Get(slice, Reflect(z + offset, depth), sigma, height, width, laplacian: false);
        float[] Laplacian2D(double sigma, int offset) => smoothings.Get(slice, Reflect(z + offset, depth), sigma, height, width, laplacian: true);
        // Along z the 2D results of the neighbouring slices are combined with scipy's 1D kernels, in a fixed order.
        float[] AlongZKernel(double sigma, int order, Func<double, int, float[]> of)
        {
            var kernel = Array.ConvertAll(HessianEigenvalues.DerivativeKernel(sigma, order), w => (float)w);
            var radius = kernel.Length / 2;
            var sum = new float[height * width];
            for (var k = 0; k < kernel.Length; k++)
            {
                var there = of(sigma, k - radius);
                var weight = kernel[k];
                for (var p = 0; p < sum.Length; p++) sum[p] += weight * there[p];
            }
            return sum;
        }
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            if (!spec.AlongZ) continue;
            if (spec.Kind == FeatureKind.GaussianSmoothing3D)
            {
                planes[starts[i]] = AlongZKernel(spec.Sigma, 0, Smoothed);
                continue;
            }
            if (spec.Kind == FeatureKind.LaplacianOfGaussian3D)
            {
                var inPlane = AlongZKernel(spec.Sigma, 0, Laplacian2D);
                var alongZ = AlongZKernel(spec.Sigma, 2, Smoothed);
                for (var p = 0; p < inPlane.Length; p++) inPlane[p] += alongZ[p];
                planes[starts[i]] = inPlane;
                continue;
            }
            var here = Smoothed(spec.Sigma, 0);
            var result = new float[here.Length];
            switch (spec.Kind)
            {
                case FeatureKind.SmoothingDifferenceAlongZ:
                {
                    var there = Smoothed(spec.Sigma, spec.Z);
                    for (var p = 0; p < result.Length; p++) result[p] = here[p] - there[p];
                    break;
                }
                case FeatureKind.MinimumAlongZ or FeatureKind.MaximumAlongZ:
                {
                    here.CopyTo(result, 0);
                    var minimum = spec.Kind == FeatureKind.MinimumAlongZ;
                    for (var step = 1; step <= spec.ZRadius; step++)
                    {
                        var there = Smoothed(spec.Sigma, Math.Sign(spec.Z) * step);
                        if (minimum) for (var p = 0; p < result.Length; p++) result[p] = MathF.Min(result[p], there[p]);
                        else for (var p = 0; p < result.Length; p++) result[p] = MathF.Max(result[p], there[p]);
                    }
                    break;
                }
            }
            planes[starts[i]] = result;
        }
        return planes;
    }

    /// <summary>Index of stack position <paramref name="z"/> with the stack mirrored at its ends (scipy's 'reflect', repeated).</summary>
    internal static int Reflect(int z, int depth)
    {
        var period = 2 * depth;
        var m = z % period;
        if (m < 0) m += period;
        return m < depth ? m : period - 1 - m;
    }

    /// <summary>
    /// The same planes computed tile by tile (each tile read with <see cref="Halo"/> around it, as a chunk of a large
    /// slice would be): equal to <see cref="Compute"/> bit for bit, with memory for one tile's planes at a time beyond
    /// the result.
    /// </summary>
    public static float[][] ComputeTiled(float[] image, int height, int width, IReadOnlyList<FeatureSpec> specs, int tileSize)
    {
        Validate(specs);
        var count = Count(specs);
        var planes = new float[count][];
        for (var f = 0; f < count; f++) planes[f] = new float[height * width];
        var halo = Halo(specs);
        foreach (var tile in TileGrid.Plan(height, width, tileSize, tileSize, halo))
        {
            var tilePlanes = Compute(ReadWindow(image, width, tile), tile.ReadHeight, tile.ReadWidth, specs);
            var (oy, ox) = tile.OwnedStartInRead;
            for (var f = 0; f < count; f++)
                for (var y = 0; y < tile.OwnedHeight; y++)
                    tilePlanes[f].AsSpan((oy + y) * tile.ReadWidth + ox, tile.OwnedWidth)
                        .CopyTo(planes[f].AsSpan((tile.OwnedY0 + y) * width + tile.OwnedX0, tile.OwnedWidth));
        }
        return planes;
    }

    /// <summary>The read window (owned pixels and halo) of <paramref name="tile"/> in a row-major image.</summary>
    internal static float[] ReadWindow(float[] image, int width, TileWindow tile)
    {
        var window = new float[tile.ReadHeight * tile.ReadWidth];
        for (var y = 0; y < tile.ReadHeight; y++)
            image.AsSpan((tile.ReadY0 + y) * width + tile.ReadX0, tile.ReadWidth).CopyTo(window.AsSpan(y * tile.ReadWidth, tile.ReadWidth));
        return window;
    }

    /// <summary>The read window of <paramref name="tile"/> in a row-major grey image, as floats.</summary>
    internal static float[] ReadWindow(ReadOnlySpan<ushort> image, int width, TileWindow tile)
    {
        var window = new float[tile.ReadHeight * tile.ReadWidth];
        for (var y = 0; y < tile.ReadHeight; y++)
        {
            var row = image.Slice((tile.ReadY0 + y) * width + tile.ReadX0, tile.ReadWidth);
            var target = window.AsSpan(y * tile.ReadWidth, tile.ReadWidth);
            for (var x = 0; x < row.Length; x++) target[x] = row[x];
        }
        return window;
    }

    private static void Validate(IReadOnlyList<FeatureSpec> specs)
    {
        if (specs.Count == 0) throw new ArgumentException("the feature bank is empty", nameof(specs));
        foreach (var s in specs)
        {
            if (!(s.Sigma > 0) || s.Sigma > 64 || !Enum.IsDefined(s.Kind))
                throw new ArgumentException($"{s}: σ must be in (0, 64] pixels and the kind one of {string.Join(", ", Enum.GetNames<FeatureKind>())}", nameof(specs));
            if (s.AlongZ && !s.Is3D ? s.Z == 0 || Math.Abs(s.Z) > MaxZReach : s.Z != 0)
                throw new ArgumentException($"{s}: the z-context kinds reach 1..{MaxZReach} slices along z (Z ≠ 0), the 2D and 3D kinds take none (Z = 0)", nameof(specs));
            if (s.ZRadius > MaxZReach)
                throw new ArgumentException($"{s}: reaches {s.ZRadius} slices along z, at most {MaxZReach}", nameof(specs));
        }
    }

    /// <summary>Farthest a z-context feature may reach along z.</summary>
    public const int MaxZReach = 16;

    /// <summary>The Gaussian and its first and second derivatives at one σ, computed once for every filter at that σ.</summary>
    private sealed class Derivatives(float[] image, int height, int width, double sigma)
    {
        private readonly float[] _g = Kernel(sigma, 0);
        private readonly float[] _d1 = Kernel(sigma, 1);
        private readonly float[] _d2 = Kernel(sigma, 2);
        private float[]? _rowsG, _rowsD1, _rowsD2, _smooth, _dx, _dy;

        private float[] RowsG => _rowsG ??= SeparableFilter2D.Rows(image, height, width, _g);
        private float[] RowsD1 => _rowsD1 ??= SeparableFilter2D.Rows(image, height, width, _d1);
        private float[] RowsD2 => _rowsD2 ??= SeparableFilter2D.Rows(image, height, width, _d2);
        private float[] Smooth => _smooth ??= SeparableFilter2D.Columns(RowsG, height, width, _g);
        private float[] Dx => _dx ??= SeparableFilter2D.Columns(RowsD1, height, width, _g);
        private float[] Dy => _dy ??= SeparableFilter2D.Columns(RowsG, height, width, _d1);

        public float[][] Filter(FeatureSpec spec) => spec.Kind switch
        {
            FeatureKind.GaussianSmoothing => [(float[])Smooth.Clone()],
            FeatureKind.LaplacianOfGaussian => [Laplacian()],
            FeatureKind.GaussianGradientMagnitude => [GradientMagnitude()],
            FeatureKind.DifferenceOfGaussians => [DifferenceOfGaussians()],
            FeatureKind.StructureTensorEigenvalues => StructureTensor(),
            FeatureKind.HessianOfGaussianEigenvalues => Hessian(),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec, "unknown feature kind"),
        };

        private float[] Laplacian()
        {
            var dyy = SeparableFilter2D.Columns(RowsG, height, width, _d2);
            var dxx = SeparableFilter2D.Columns(RowsD2, height, width, _g);
            for (var i = 0; i < dyy.Length; i++) dyy[i] += dxx[i];
            return dyy;
        }

        private float[] GradientMagnitude()
        {
            var (dx, dy) = (Dx, Dy);
            var result = new float[dx.Length];
            for (var i = 0; i < result.Length; i++) result[i] = MathF.Sqrt(dx[i] * dx[i] + dy[i] * dy[i]);
            return result;
        }

        private float[] DifferenceOfGaussians()
        {
            var g = Kernel(DifferenceOfGaussiansRatio * sigma, 0);
            var finer = SeparableFilter2D.Columns(SeparableFilter2D.Rows(image, height, width, g), height, width, g);
            var smooth = Smooth;
            for (var i = 0; i < finer.Length; i++) finer[i] = smooth[i] - finer[i];
            return finer;
        }

        private float[][] StructureTensor()
        {
            var (dx, dy) = (Dx, Dy);
            var n = dx.Length;
            var (xx, xy, yy) = (new float[n], new float[n], new float[n]);
            for (var i = 0; i < n; i++)
            {
                xx[i] = dx[i] * dx[i];
                xy[i] = dx[i] * dy[i];
                yy[i] = dy[i] * dy[i];
            }
            var outer = Kernel(StructureTensorOuterRatio * sigma, 0);
            var sxx = SeparableFilter2D.Apply(xx, height, width, outer, outer);
            var sxy = SeparableFilter2D.Apply(xy, height, width, outer, outer);
            var syy = SeparableFilter2D.Apply(yy, height, width, outer, outer);
            return Eigenvalues(syy, sxy, sxx);
        }

        private float[][] Hessian()
        {
            var dyy = SeparableFilter2D.Columns(RowsG, height, width, _d2);
            var dxy = SeparableFilter2D.Columns(RowsD1, height, width, _d1);
            var dxx = SeparableFilter2D.Columns(RowsD2, height, width, _g);
            return Eigenvalues(dyy, dxy, dxx);
        }
    }

    /// <summary>Eigenvalues, descending, of [[a, b], [b, c]] at every pixel (written over a and c).</summary>
    private static float[][] Eigenvalues(float[] a, float[] b, float[] c)
    {
        for (var i = 0; i < a.Length; i++)
        {
            var mean = 0.5f * (a[i] + c[i]);
            var half = 0.5f * (a[i] - c[i]);
            var radius = MathF.Sqrt(half * half + b[i] * b[i]);
            (a[i], c[i]) = (mean + radius, mean - radius);
        }
        return [a, c];
    }

    private static float[] Kernel(double sigma, int order) => Array.ConvertAll(HessianEigenvalues.DerivativeKernel(sigma, order), w => (float)w);
}

/// <summary>
/// 2D Gaussian smoothings of a stack's slices, kept between the <see cref="PixelFeatures.ComputeInStack"/> calls on one
/// stack so that the z-context features smooth each slice once. Not thread-safe: one per stack walk.
/// </summary>
public sealed class ZSmoothings
{
    private readonly Dictionary<(double Sigma, int Z, bool Laplacian), float[]> _cache = [];

    /// <summary>Slice z's 2D Gaussian smoothing, or with <paramref name="laplacian"/> its 2D Laplacian of Gaussian (∂yy then ∂xx added).</summary>
    internal float[] Get(Func<int, float[]> slice, int z, double sigma, int height, int width, bool laplacian)
    {
        if (_cache.TryGetValue((sigma, z, laplacian), out var result)) return result;
        var g = Array.ConvertAll(HessianEigenvalues.DerivativeKernel(sigma, 0), w => (float)w);
        if (laplacian)
        {
            var d2 = Array.ConvertAll(HessianEigenvalues.DerivativeKernel(sigma, 2), w => (float)w);
            var source = slice(z);
            result = SeparableFilter2D.Apply(source, height, width, d2, g);
            var dxx = SeparableFilter2D.Apply(source, height, width, g, d2);
            for (var p = 0; p < result.Length; p++) result[p] += dxx[p];
        }
        else result = SeparableFilter2D.Apply(slice(z), height, width, g, g);
        _cache[(sigma, z, laplacian)] = result;
        return result;
    }

    /// <summary>Drops the smoothings of slices outside [<paramref name="z0"/>, <paramref name="z1"/>): a walk along z no longer needs them.</summary>
    public void KeepOnly(int z0, int z1)
    {
        foreach (var key in _cache.Keys.Where(k => k.Z < z0 || k.Z >= z1).ToArray()) _cache.Remove(key);
    }
}

/// <summary>Separable 2D convolution in float with scipy.ndimage's 'reflect' boundary, vectorised along rows.</summary>
internal static class SeparableFilter2D
{
    /// <summary>Rows then columns.</summary>
    public static float[] Apply(float[] image, int height, int width, float[] alongY, float[] alongX) =>
        Columns(Rows(image, height, width, alongX), height, width, alongY);

    /// <summary>Convolution along x (weights[k] multiplies the sample at offset k − radius).</summary>
    public static float[] Rows(float[] image, int height, int width, float[] kernel)
    {
        var radius = kernel.Length / 2;
        var sources = Denoise.ReflectedIndices(width, radius);
        var result = new float[image.Length];
        ForRows(height, width, (y0, y1) =>
        {
            var padded = new float[width + 2 * radius];
            for (var y = y0; y < y1; y++)
            {
                var row = image.AsSpan(y * width, width);
                for (var i = 0; i < padded.Length; i++) padded[i] = row[sources[i]];
                var output = result.AsSpan(y * width, width);
                for (var k = 0; k < kernel.Length; k++)
                    if (kernel[k] != 0) Denoise.MultiplyAdd(padded.AsSpan(k, width), kernel[k], output);
            }
        });
        return result;
    }

    /// <summary>Convolution along y.</summary>
    public static float[] Columns(float[] image, int height, int width, float[] kernel)
    {
        var radius = kernel.Length / 2;
        var sources = Denoise.ReflectedIndices(height, radius);
        var result = new float[image.Length];
        ForRows(height, width, (y0, y1) =>
        {
            for (var y = y0; y < y1; y++)
            {
                var output = result.AsSpan(y * width, width);
                for (var k = 0; k < kernel.Length; k++)
                    if (kernel[k] != 0) Denoise.MultiplyAdd(image.AsSpan(sources[y + k] * width, width), kernel[k], output);
            }
        });
        return result;
    }

    /// <summary>Bands of rows in parallel on large images; small tiles stay on one thread (their callers run tiles in parallel).</summary>
    private static void ForRows(int height, int width, Action<int, int> band)
    {
        const int bandRows = 64;
        if ((long)height * width < 1 << 17)
        {
            band(0, height);
            return;
        }
        Parallel.For(0, (height + bandRows - 1) / bandRows, b => band(b * bandRows, Math.Min(height, (b + 1) * bandRows)));
    }
}
