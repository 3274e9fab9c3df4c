using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging.Segmentation;

/// <summary>
/// Eigenvalues of the Hessian of a Gaussian-smoothed volume, one slice at a time, scale-normalised (times σ²) so
/// that a structure's response does not depend on σ (Lindeberg 1998, "Feature detection with automatic scale
/// selection", IJCV 30:79). A dark tube in a bright matrix has two large positive eigenvalues across it and one
/// near zero along it; a dark blob has three positive, a dark sheet one (Frangi et al. 1998, "Multiscale vessel
/// enhancement filtering", MICCAI, LNCS 1496:130).
/// <para>
/// The derivatives are scipy.ndimage.gaussian_filter's with <c>order</c> 1 or 2 along an axis (the normalised
/// Gaussian's derivative, 4σ truncation, 'reflect' boundary at the slab's ends), so scipy is the oracle.
/// </para>
/// </summary>
public static class HessianEigenvalues
{
    /// <summary>Kernel half-width along each axis: the z halo a slab needs for its owned slices to be exact.</summary>
    public static int RadiusVoxels(double sigmaVoxels) => Denoise.GaussianRadiusVoxels(sigmaVoxels);

    /// <summary>
    /// Eigenvalues λ1 ≥ λ2 ≥ λ3 (times σ²) at every voxel of slice <paramref name="z"/> of <paramref name="volume"/>,
    /// each as a row-major height×width plane. Slices beyond the volume's ends are reflected; pass a slab with
    /// <see cref="RadiusVoxels"/> halo slices so that interior slices see their real neighbours.
    /// </summary>
    public static (float[] Largest, float[] Middle, float[] Smallest) OfSlice(Volume<float> volume, int z, double sigmaVoxels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(z);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, volume.Depth);
        if (!(sigmaVoxels > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "σ must be positive");
        var (height, width) = (volume.Height, volume.Width);
        var rows = new SliceRows(height, width, sigmaVoxels);
        rows.AlongZ(volume, z);
        var scale = rows.Scale;
        var largest = new float[height * width];
        var middle = new float[height * width];
        var smallest = new float[height * width];
        for (var y = 0; y < height; y++)
        {
            rows.InPlane(y, 0, width);
            for (var x = 0; x < width; x++)
            {
                var (a, b, c) = rows.Eigenvalues(x);
                largest[y * width + x] = (float)(a * scale);
                middle[y * width + x] = (float)(b * scale);
                smallest[y * width + x] = (float)(c * scale);
            }
        }
        return (largest, middle, smallest);
    }

    /// <summary>
    /// One thread's scratch for <see cref="OfSlice"/>'s double-precision Hessian, a slice at a time and then a row at a time,
    /// so that a caller computes the eigenvalues only at the pixels it needs (<see cref="CarbonFibreSurvey"/>). Along z the
    /// three kernels make three planes of the slice (<see cref="AlongZ{T}"/>); along y and x the six second derivatives of
    /// one row (<see cref="InPlane"/>). Every derivative is the same sums in the same order as the plain loops (along z and
    /// y the kernel's non-zero weights, along x all of them, each from 0.0, multiply then add: no fused multiply-add), so the
    /// values are bit-identical whatever the vector width; the passes are vectorised across pixels, not across taps.
    /// </summary>
    public sealed class SliceRows
    {
        /// <summary>What a workspace holds per pixel of a slice: the three z-derivative planes, doubles (its rows are O(width)).</summary>
        public const int ScratchBytesPerSlicePixel = 3 * sizeof(double);

        private readonly int _height, _width, _radius;
        private readonly double[] _smooth, _first, _second;
        private readonly int[] _ySources, _xSources;
        private readonly double[] _zSmooth, _zFirst, _zSecond;
        // One row along y, then along x: zSecond·smooth·smooth (hzz), zSmooth·second·smooth (hyy), zSmooth·smooth·second (hxx),
        // zFirst·first·smooth (hyz), zFirst·smooth·first (hxz), zSmooth·first·first (hxy).
        private readonly double[][] _alongY, _hessian;
        private int[] _zSources = [];
        private int _zSourcesDepth = -1;

        public SliceRows(int height, int width, double sigmaVoxels)
        {
            if (!(sigmaVoxels > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "σ must be positive");
            (_height, _width) = (height, width);
            Scale = sigmaVoxels * sigmaVoxels;
            (_smooth, _first, _second) = (DerivativeKernel(sigmaVoxels, 0), DerivativeKernel(sigmaVoxels, 1), DerivativeKernel(sigmaVoxels, 2));
            _radius = _smooth.Length / 2;
            _ySources = Denoise.ReflectedIndices(height, _radius);
            _xSources = Denoise.ReflectedIndices(width, _radius);
            (_zSmooth, _zFirst, _zSecond) = (new double[height * width], new double[height * width], new double[height * width]);
            _alongY = new double[6][];
            _hessian = new double[6][];
            for (var c = 0; c < 6; c++) (_alongY[c], _hessian[c]) = (new double[width], new double[width]);
        }

        /// <summary>σ², the eigenvalues' scale normalisation.</summary>
        public double Scale { get; }

        /// <summary>Slice <paramref name="z"/>'s three z-derivative planes (slices beyond the volume's ends reflected), of uint16 or float grey levels.</summary>
        public void AlongZ<T>(Volume<T> volume, int z) where T : unmanaged
        {
            if (typeof(T) != typeof(ushort) && typeof(T) != typeof(float))
                throw new NotSupportedException($"grey levels of type {typeof(T).Name}: uint16 or float only");
            if (volume.Height != _height || volume.Width != _width)
                throw new ArgumentException($"the workspace is for {_height}x{_width} slices", nameof(volume));
            ArgumentOutOfRangeException.ThrowIfNegative(z);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, volume.Depth);
            if (_zSourcesDepth != volume.Depth) (_zSources, _zSourcesDepth) = (Denoise.ReflectedIndices(volume.Depth, _radius), volume.Depth);
            var length = _height * _width;
            var taps = _smooth.Length;
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; i <= length - Vector256<float>.Count; i += Vector256<float>.Count)
                {
                    // Eight pixels as two vectors of doubles: smooth, first and second sums of each half.
                    Vector256<double> s0 = default, s1 = default, f0 = default, f1 = default, d0 = default, d1 = default;
                    for (var k = 0; k < taps; k++)
                    {
                        var grey = LoadAsSingle(volume.Slice(_zSources[z + k]), i);
                        var (lower, upper) = (Vector256.WidenLower(grey), Vector256.WidenUpper(grey));
                        if (_smooth[k] != 0)
                        {
                            var w = Vector256.Create(_smooth[k]);
                            s0 += w * lower;
                            s1 += w * upper;
                        }
                        if (_first[k] != 0)
                        {
                            var w = Vector256.Create(_first[k]);
                            f0 += w * lower;
                            f1 += w * upper;
                        }
                        if (_second[k] != 0)
                        {
                            var w = Vector256.Create(_second[k]);
                            d0 += w * lower;
                            d1 += w * upper;
                        }
                    }
                    var half = Vector256<double>.Count;
                    s0.StoreUnsafe(ref _zSmooth[i]);
                    s1.StoreUnsafe(ref _zSmooth[i + half]);
                    f0.StoreUnsafe(ref _zFirst[i]);
                    f1.StoreUnsafe(ref _zFirst[i + half]);
                    d0.StoreUnsafe(ref _zSecond[i]);
                    d1.StoreUnsafe(ref _zSecond[i + half]);
                }
            for (; i < length; i++)
            {
                double smooth = 0, first = 0, second = 0;
                for (var k = 0; k < taps; k++)
                {
                    double grey = ToSingle(volume.Slice(_zSources[z + k])[i]);
                    if (_smooth[k] != 0) smooth += _smooth[k] * grey;
                    if (_first[k] != 0) first += _first[k] * grey;
                    if (_second[k] != 0) second += _second[k] * grey;
                }
                (_zSmooth[i], _zFirst[i], _zSecond[i]) = (smooth, first, second);
            }
        }

        /// <summary>The six second derivatives of row <paramref name="y"/> of the slice <see cref="AlongZ{T}"/> prepared, at columns [<paramref name="x0"/>, <paramref name="x1"/>).</summary>
        public void InPlane(int y, int x0, int x1)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(y);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(y, _height);
            if (x0 < 0 || x1 > _width || x0 > x1) throw new ArgumentOutOfRangeException(nameof(x1), $"columns [{x0}, {x1}) of {_width}");
            AlongY(y);
            AlongX(x0, x1);
        }

        /// <summary>Eigenvalues λ1 ≥ λ2 ≥ λ3 at column <paramref name="x"/> of the row <see cref="InPlane"/> computed, not scaled.</summary>
        public (double Largest, double Middle, double Smallest) Eigenvalues(int x) =>
            Symmetric3x3(_hessian[0][x], _hessian[1][x], _hessian[2][x], _hessian[3][x], _hessian[4][x], _hessian[5][x]);

        /// <summary>
        /// False only when the trace at column <paramref name="x"/> of the row <see cref="InPlane"/> computed is surely at most
        /// <paramref name="bound"/>, whatever the rounding of <see cref="Eigenvalues"/>: the trace is below the bound by more
        /// than 1e-12 of the entries' magnitudes (the closed form's rounding is ~1e-15 of them). NaN entries give true.
        /// </summary>
        public bool TraceMayExceed(int x, double bound)
        {
            var (a, b, c) = (_hessian[0][x], _hessian[1][x], _hessian[2][x]);
            var magnitude = Math.Abs(a) + Math.Abs(b) + Math.Abs(c) + Math.Abs(_hessian[3][x]) + Math.Abs(_hessian[4][x]) + Math.Abs(_hessian[5][x]);
            return !(a + b + c <= bound - 1e-12 * magnitude);
        }

        /// <summary>Along y over the whole row: each of the six sums over the y kernel's non-zero weights in kernel order.</summary>
        private void AlongY(int y)
        {
            var width = _width;
            var taps = _smooth.Length;
            var (zz, yy, xx, yz, xz, xy) = (_alongY[0], _alongY[1], _alongY[2], _alongY[3], _alongY[4], _alongY[5]);
            var x = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; x <= width - Vector256<double>.Count; x += Vector256<double>.Count)
                {
                    Vector256<double> hzz = default, hyy = default, hxx = default, hyz = default, hxz = default, hxy = default;
                    for (var k = 0; k < taps; k++)
                    {
                        var source = _ySources[y + k] * width + x;
                        var (s, f, d) = (Vector256.LoadUnsafe(ref _zSmooth[source]), Vector256.LoadUnsafe(ref _zFirst[source]), Vector256.LoadUnsafe(ref _zSecond[source]));
                        if (_smooth[k] != 0)
                        {
                            var w = Vector256.Create(_smooth[k]);
                            hzz += w * d;
                            hxx += w * s;
                            hxz += w * f;
                        }
                        if (_second[k] != 0) hyy += Vector256.Create(_second[k]) * s;
                        if (_first[k] != 0)
                        {
                            var w = Vector256.Create(_first[k]);
                            hyz += w * f;
                            hxy += w * s;
                        }
                    }
                    hzz.StoreUnsafe(ref zz[x]);
                    hyy.StoreUnsafe(ref yy[x]);
                    hxx.StoreUnsafe(ref xx[x]);
                    hyz.StoreUnsafe(ref yz[x]);
                    hxz.StoreUnsafe(ref xz[x]);
                    hxy.StoreUnsafe(ref xy[x]);
                }
            for (; x < width; x++)
            {
                double hzz = 0, hyy = 0, hxx = 0, hyz = 0, hxz = 0, hxy = 0;
                for (var k = 0; k < taps; k++)
                {
                    var source = _ySources[y + k] * width + x;
                    var (s, f, d) = (_zSmooth[source], _zFirst[source], _zSecond[source]);
                    if (_smooth[k] != 0)
                    {
                        hzz += _smooth[k] * d;
                        hxx += _smooth[k] * s;
                        hxz += _smooth[k] * f;
                    }
                    if (_second[k] != 0) hyy += _second[k] * s;
                    if (_first[k] != 0)
                    {
                        hyz += _first[k] * f;
                        hxy += _first[k] * s;
                    }
                }
                (zz[x], yy[x], xx[x], yz[x], xz[x], xy[x]) = (hzz, hyy, hxx, hyz, hxz, hxy);
            }
        }

        /// <summary>Along x at columns [x0, x1): each sum over all the x kernel's weights in kernel order (reflected at the row's ends).</summary>
        private void AlongX(int x0, int x1)
        {
            var r = _radius;
            // Columns whose kernel stays inside the row: vectorised with plain offsets; the others through the reflected indices.
            var (inner0, inner1) = (Math.Max(x0, r), Math.Min(x1, _width - r));
            if (inner0 >= inner1) (inner0, inner1) = (x1, x1);
            for (var x = x0; x < inner0; x++) AlongXAt(x);
            var i = inner0;
            if (Vector256.IsHardwareAccelerated)
                for (; i <= inner1 - Vector256<double>.Count; i += Vector256<double>.Count)
                {
                    AlongXVector(0, _smooth, i);
                    AlongXVector(1, _smooth, i);
                    AlongXVector(2, _second, i);
                    AlongXVector(3, _smooth, i);
                    AlongXVector(4, _first, i);
                    AlongXVector(5, _first, i);
                }
            for (; i < inner1; i++) AlongXAt(i);
            for (var x = Math.Max(inner1, x0); x < x1; x++) AlongXAt(x);
        }

        private void AlongXVector(int component, double[] kernel, int x)
        {
            var row = _alongY[component];
            var start = x - _radius;
            var sum = Vector256<double>.Zero;
            for (var k = 0; k < kernel.Length; k++) sum += Vector256.Create(kernel[k]) * Vector256.LoadUnsafe(ref row[start + k]);
            sum.StoreUnsafe(ref _hessian[component][x]);
        }

        private void AlongXAt(int x)
        {
            for (var component = 0; component < 6; component++)
            {
                var kernel = component == 2 ? _second : component >= 4 ? _first : _smooth;
                var row = _alongY[component];
                var sum = 0.0;
                for (var k = 0; k < kernel.Length; k++) sum += kernel[k] * row[_xSources[x + k]];
                _hessian[component][x] = sum;
            }
        }

        /// <summary>Eight grey levels from <paramref name="i"/> as floats (a uint16 converts exactly).</summary>
        private static Vector256<float> LoadAsSingle<T>(Span<T> slice, int i) where T : unmanaged
        {
            if (typeof(T) == typeof(float)) return Vector256.LoadUnsafe(ref Unsafe.As<T, float>(ref slice[i]));
            var grey = Vector128.LoadUnsafe(ref Unsafe.As<T, ushort>(ref slice[i]));
            return Vector256.ConvertToSingle(Vector256.Create(Vector128.WidenLower(grey), Vector128.WidenUpper(grey)).AsInt32());
        }

        private static float ToSingle<T>(T grey) where T : unmanaged =>
            typeof(T) == typeof(float) ? Unsafe.As<T, float>(ref grey) : Unsafe.As<T, ushort>(ref grey);
    }

    /// <summary>
    /// The middle and smallest eigenvalues of <see cref="OfSlice"/> at selected pixels of a slice only, for callers that
    /// need them at a few per cent of the voxels (<see cref="FibreHalfDepth"/>). The derivative passes run along z on the
    /// pixels that the selected pixels' in-plane kernels reach, along y on the pixels that their x kernels reach and along
    /// x at the selected pixels alone (the first two in blocks of <see cref="BlockColumns"/> columns: a cathode's carbon
    /// voxels, a few per cent of a slice, reach 10-25 % of it along y and 25-35 % along z, where the rows' spans from
    /// their first to their last reach held 27-41 % and 55-65 %), in single precision (vectorised; within ~1e-6 of the contrast of <see cref="OfSlice"/>'s
    /// doubles), and the eigenvalues only where the trace λ1+λ2+λ3 (times σ²) exceeds the caller's minimum. Each pixel's
    /// value is the same sums in the same order whatever else is selected, so it does not depend on the selection or on
    /// the vector width. One workspace per thread: it keeps its planes from slice to slice, and its planes come from
    /// <see cref="LargeArrayPool{T}"/> and go back there on <see cref="Dispose"/>, so the workspaces that each window's
    /// rules make one after another reuse one set of planes instead of first-touching fresh memory (a page fault per
    /// 4 KiB, ~12 µs each on these VMs: 150,000 of a 1-Gvoxel run's faults were these planes).
    /// </summary>
    public sealed class AtSelectedPixels : IDisposable
    {
        /// <summary>What a workspace holds per pixel of a slice: three z-derivative planes and six y-derivative planes, floats.</summary>
        public const int ScratchBytesPerSlicePixel = 9 * sizeof(float);

        /// <summary>The column blocks the passes along y and z skip or compute whole: one vector of floats.</summary>
        public static int BlockColumns => Vector.IsHardwareAccelerated ? Vector<float>.Count : 8;

        private readonly int _height, _width;
        private readonly double _scale;
        private readonly float[] _smooth, _first, _second;
        private readonly int[] _ySources, _xSources;
        private readonly float[] _zSmooth, _zFirst, _zSecond;
        // Along y: zSecond·smooth (hzz), zSmooth·second (hyy), zSmooth·smooth (hxx), zFirst·first (hyz), zFirst·smooth (hxz), zSmooth·first (hxy).
        private readonly float[][] _alongY;
        // Per row, the columns [from, to) that hold its selected pixels' x kernels (to = 0: none).
        private readonly int[] _yFrom, _yTo;
        // Per row and block of BlockColumns columns, non-zero where the pass along y (along z) is needed.
        private readonly byte[] _yBlocks, _zBlocks;
        private readonly int _blocksPerRow;
        private int[] _zSources = [];
        private int _zSourcesDepth = -1;

        public AtSelectedPixels(int height, int width, double sigmaVoxels) : this(height, width, sigmaVoxels, withoutTapTests: true) { }

        /// <param name="withoutTapTests">False: the passes test every tap's weight for zero even where none but the first
        /// derivative's centre is (tests compare the two loops' bits).</param>
        internal AtSelectedPixels(int height, int width, double sigmaVoxels, bool withoutTapTests)
        {
            if (!(sigmaVoxels > 0)) throw new ArgumentOutOfRangeException(nameof(sigmaVoxels), sigmaVoxels, "σ must be positive");
            (_height, _width) = (height, width);
            _scale = sigmaVoxels * sigmaVoxels;
            static float[] Single(double[] kernel) => Array.ConvertAll(kernel, w => (float)w);
            (_smooth, _first, _second) = (Single(DerivativeKernel(sigmaVoxels, 0)), Single(DerivativeKernel(sigmaVoxels, 1)), Single(DerivativeKernel(sigmaVoxels, 2)));
            var radius = _smooth.Length / 2;
            _tapStarts = new long[_smooth.Length];
            _weights = withoutTapTests ? TapWeights.For(_smooth, _first, _second) : null;
            _ySources = Denoise.ReflectedIndices(height, radius);
            _xSources = Denoise.ReflectedIndices(width, radius);
            var sliceLength = height * width;
            (_zSmooth, _zFirst, _zSecond) = (RentPlane(sliceLength), RentPlane(sliceLength), RentPlane(sliceLength));
            _alongY = new float[6][];
            for (var c = 0; c < _alongY.Length; c++) _alongY[c] = RentPlane(sliceLength);
            (_yFrom, _yTo) = (new int[height], new int[height]);
            _blocksPerRow = (width + BlockColumns - 1) / BlockColumns;
            (_yBlocks, _zBlocks) = (new byte[height * _blocksPerRow], new byte[height * _blocksPerRow]);
        }

        /// <summary>A plane from the pool, zeroed as a fresh array would be.</summary>
        private static float[] RentPlane(int length)
        {
            var plane = LargeArrayPool<float>.Shared.Rent(length);
            Array.Clear(plane, 0, length);
            return plane;
        }

        /// <summary>Gives the planes back to the pool; the workspace is not used after.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var plane in (float[][])[_zSmooth, _zFirst, _zSecond, .. _alongY]) LargeArrayPool<float>.Shared.Return(plane);
        }

        private bool _disposed;

        /// <summary>
        /// λ2·σ² and λ3·σ² of slice <paramref name="z"/> of <paramref name="volume"/> (reflected beyond its ends, as
        /// <see cref="OfSlice"/>) written at the pixels where <paramref name="selected"/> is non-zero, λ2·σ² exceeds
        /// <paramref name="minimumMiddle"/> and the trace·σ² exceeds <paramref name="minimumTrace"/>; NaN at the other
        /// selected pixels, whose eigenvalues are not computed (both tests come first, from the inertia of H·σ² − mI and
        /// the diagonal). Pixels not selected are left as they were.
        /// </summary>
        public void Compute(Volume<float> volume, int z, ReadOnlySpan<byte> selected, Span<float> middle, Span<float> smallest,
            double minimumMiddle = double.NegativeInfinity, double minimumTrace = double.NegativeInfinity)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (volume.Height != _height || volume.Width != _width)
                throw new ArgumentException($"the workspace is for {_height}x{_width} slices", nameof(volume));
            ArgumentOutOfRangeException.ThrowIfNegative(z);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(z, volume.Depth);
            var (height, width) = (_height, _width);
            var radius = _smooth.Length / 2;
            if (_zSourcesDepth != volume.Depth) (_zSources, _zSourcesDepth) = (Denoise.ReflectedIndices(volume.Depth, radius), volume.Depth);
            var zSources = _zSources;
            var (blockColumns, blocksPerRow) = (BlockColumns, _blocksPerRow);
            Array.Clear(_yTo);
            Array.Clear(_yBlocks);
            Array.Clear(_zBlocks);
            var any = false;
            for (var y = 0; y < height; y++)
            {
                var row = selected.Slice(y * width, width);
                var firstX = row.IndexOfAnyExcept((byte)0);
                if (firstX < 0) continue;
                any = true;
                var lastX = row.LastIndexOfAnyExcept((byte)0);
                // The x kernel of a selected pixel reads columns within radius of it (reflected ones too: they lie nearer).
                (_yFrom[y], _yTo[y]) = (Math.Max(0, firstX - radius), Math.Min(width, lastX + radius + 1));
                var blocks = _yBlocks.AsSpan(y * blocksPerRow, blocksPerRow);
                for (var x = firstX; x <= lastX;)
                {
                    var (from, to) = (Math.Max(0, x - radius) / blockColumns, Math.Min(width - 1, x + radius) / blockColumns);
                    blocks[from..(to + 1)].Fill(1);
                    // Each selected pixel marks the blocks its x kernel reaches; on to the next selected one.
                    var next = row[(x + 1)..].IndexOfAnyExcept((byte)0);
                    if (next < 0) break;
                    x += 1 + next;
                }
                // The y kernel of a selected row reads the rows within radius of it (reflected: _ySources).
                for (var k = 0; k <= 2 * radius; k++)
                    ElementwiseInPlace.Or(_zBlocks.AsSpan(_ySources[y + k] * blocksPerRow, blocksPerRow), blocks);
            }
            if (!any) return;

            // Along z on the blocks the y and x kernels reach: the three kernels at once, each sum in kernel order.
            for (var y = 0; y < height; y++)
                foreach (var (from, to) in BlockRuns(_zBlocks.AsSpan(y * blocksPerRow, blocksPerRow)))
                    AlongZ(volume, zSources, z, y * width + from, to - from);
            // Along y on the blocks the selected pixels' x kernels reach: the six products at once.
            for (var y = 0; y < height; y++)
            {
                if (_yTo[y] == 0) continue;
                foreach (var (from, to) in BlockRuns(_yBlocks.AsSpan(y * blocksPerRow, blocksPerRow)))
                    AlongY(y, y * width + from, y * width + to);
            }
            // Along x at the selected pixels: the diagonal first, the rest and the eigenvalues where the trace allows a tube.
            for (var y = 0; y < height; y++)
            {
                if (_yTo[y] == 0) continue;
                var row = y * width;
                var lanes = Vector<float>.Count;
                for (var x = _yFrom[y]; x < _yTo[y];)
                {
                    var next = selected.Slice(row + x, _yTo[y] - x).IndexOfAnyExcept((byte)0);
                    if (next < 0) break;
                    x += next;
                    // A vector of pixels from x on whose x kernels stay inside the row: their six sums at once (each lane's
                    // sums are the scalar ones), used at the selected ones among them; selected carbon pixels come in runs.
                    if (Vector.IsHardwareAccelerated && x >= radius && x + lanes - 1 + radius < width)
                    {
                        AlongXLanes(row + x - radius);
                        for (var j = 0; j < lanes; j++)
                        {
                            if (selected[row + x + j] == 0) continue;
                            var diagonal = (_lanes[0][j], _lanes[1][j], _lanes[2][j]);
                            if (TubeMayPass(row + x + j, diagonal, middle, smallest, minimumTrace))
                                Finish(row + x + j, diagonal, (_lanes[3][j], _lanes[4][j], _lanes[5][j]), middle, smallest, minimumMiddle);
                        }
                        x += lanes;
                        continue;
                    }
                    var pixel = AlongX(row, x, 0, _smooth, _smooth, _second);
                    if (TubeMayPass(row + x, pixel, middle, smallest, minimumTrace))
                        Finish(row + x, pixel, AlongX(row, x, 3, _smooth, _first, _first), middle, smallest, minimumMiddle);
                    x++;
                }
            }
        }

        /// <summary>Whether the trace at pixel <paramref name="i"/> allows a tube; NaN there where it does not.</summary>
        private bool TubeMayPass(int i, (double Hzz, double Hyy, double Hxx) diagonal, Span<float> middle, Span<float> smallest, double minimumTrace)
        {
            if ((diagonal.Hzz + diagonal.Hyy + diagonal.Hxx) * _scale > minimumTrace) return true;
            middle[i] = smallest[i] = float.NaN;
            return false;
        }

        /// <summary>The eigenvalues at pixel <paramref name="i"/>, or NaN where the middle eigenvalue's bound rules a tube out.</summary>
        private void Finish(int i, (double Hzz, double Hyy, double Hxx) diagonal, (double Hyz, double Hxz, double Hxy) offDiagonal,
            Span<float> middle, Span<float> smallest, double minimumMiddle)
        {
            var (hzz, hyy, hxx) = diagonal;
            var (hyz, hxz, hxy) = offDiagonal;
            if (!MiddleMayExceed(hzz, hyy, hxx, hyz, hxz, hxy, minimumMiddle / _scale))
            {
                middle[i] = smallest[i] = float.NaN;
                return;
            }
            var (_, b, c) = Symmetric3x3(hzz, hyy, hxx, hyz, hxz, hxy);
            middle[i] = (float)(b * _scale);
            smallest[i] = (float)(c * _scale);
        }

        /// <summary>The six x sums of <see cref="AlongX"/> for the vector of pixels whose kernels start at <paramref name="start"/>, into <see cref="_lanes"/>.</summary>
        private void AlongXLanes(int start)
        {
            var taps = _smooth.Length;
            Vector<float> zz = default, yy = default, xx = default, yz = default, xz = default, xy = default;
            // Unchecked loads: the caller keeps [start, start + taps + lanes - 1) inside the row.
            ref var hzz = ref MemoryMarshal.GetArrayDataReference(_alongY[0]);
            ref var hyy = ref MemoryMarshal.GetArrayDataReference(_alongY[1]);
            ref var hxx = ref MemoryMarshal.GetArrayDataReference(_alongY[2]);
            ref var hyz = ref MemoryMarshal.GetArrayDataReference(_alongY[3]);
            ref var hxz = ref MemoryMarshal.GetArrayDataReference(_alongY[4]);
            ref var hxy = ref MemoryMarshal.GetArrayDataReference(_alongY[5]);
            for (var k = 0; k < taps; k++)
            {
                var (smooth, first, second) = (new Vector<float>(_smooth[k]), new Vector<float>(_first[k]), new Vector<float>(_second[k]));
                var at = (nuint)(start + k);
                zz += smooth * Vector.LoadUnsafe(ref hzz, at);
                yy += smooth * Vector.LoadUnsafe(ref hyy, at);
                xx += second * Vector.LoadUnsafe(ref hxx, at);
                yz += smooth * Vector.LoadUnsafe(ref hyz, at);
                xz += first * Vector.LoadUnsafe(ref hxz, at);
                xy += first * Vector.LoadUnsafe(ref hxy, at);
            }
            zz.CopyTo(_lanes[0]);
            yy.CopyTo(_lanes[1]);
            xx.CopyTo(_lanes[2]);
            yz.CopyTo(_lanes[3]);
            xz.CopyTo(_lanes[4]);
            xy.CopyTo(_lanes[5]);
        }

        private readonly float[][] _lanes = [.. Enumerable.Range(0, 6).Select(_ => new float[Vector<float>.Count])];

        /// <summary>Per tap, where its slice (z pass) or row (y pass) starts: filled per run of blocks.</summary>
        private readonly long[] _tapStarts;

        /// <summary>
        /// The three kernels' weights as vectors, when every weight is non-zero but the first derivative's centre tap (a σ
        /// that is no whole number of voxels): then the passes need no test per tap. Null otherwise (the general loops).
        /// </summary>
        private readonly TapWeights? _weights;

        private sealed class TapWeights
        {
            public required Vector<float>[] Smooth, First, Second;

            public static TapWeights? For(float[] smooth, float[] first, float[] second)
            {
                var centre = smooth.Length / 2;
                for (var k = 0; k < smooth.Length; k++)
                    if (smooth[k] == 0 || second[k] == 0 || (first[k] == 0) != (k == centre)) return null;
                static Vector<float>[] Broadcast(float[] kernel) => Array.ConvertAll(kernel, w => new Vector<float>(w));
                return new TapWeights { Smooth = Broadcast(smooth), First = Broadcast(first), Second = Broadcast(second) };
            }
        }

        /// <summary>
        /// The z pass two vectors of pixels at a time from <paramref name="from"/>, then a last single one (see
        /// <see cref="_weights"/>); returns how far it got. Each sum is a chain of dependent additions: two vectors' chains
        /// side by side keep the adders busy, and each pixel still adds its taps in kernel order (the first derivative skips
        /// its zero centre tap, as the general loop).
        /// </summary>
        private int AlongZWithoutTests(ref float data, long[] starts, TapWeights weights, int from, int length)
        {
            var lanes = Vector<float>.Count;
            var taps = starts.Length;
            var centre = taps / 2;
            ReadOnlySpan<Vector<float>> ws = weights.Smooth, wf = weights.First, wd = weights.Second;
            ReadOnlySpan<long> tapStarts = starts;
            if (ws.Length != taps || wf.Length != taps || wd.Length != taps) throw new InvalidOperationException("kernels of different lengths");
            var i = 0;
            for (; i <= length - 2 * lanes; i += 2 * lanes)
            {
                Vector<float> smooth = default, first = default, second = default;
                Vector<float> smooth2 = default, first2 = default, second2 = default;
                for (var k = 0; k < taps; k++)
                {
                    var at = (nuint)(tapStarts[k] + i);
                    var v = Vector.LoadUnsafe(ref data, at);
                    var v2 = Vector.LoadUnsafe(ref data, at + (nuint)lanes);
                    smooth += ws[k] * v;
                    smooth2 += ws[k] * v2;
                    if (k != centre)
                    {
                        first += wf[k] * v;
                        first2 += wf[k] * v2;
                    }
                    second += wd[k] * v;
                    second2 += wd[k] * v2;
                }
                smooth.StoreUnsafe(ref _zSmooth[from + i]);
                first.StoreUnsafe(ref _zFirst[from + i]);
                second.StoreUnsafe(ref _zSecond[from + i]);
                smooth2.StoreUnsafe(ref _zSmooth[from + i + lanes]);
                first2.StoreUnsafe(ref _zFirst[from + i + lanes]);
                second2.StoreUnsafe(ref _zSecond[from + i + lanes]);
            }
            // A run's odd last vector (runs are a few blocks of columns long).
            if (i <= length - lanes)
            {
                Vector<float> smooth = default, first = default, second = default;
                for (var k = 0; k < taps; k++)
                {
                    var v = Vector.LoadUnsafe(ref data, (nuint)(tapStarts[k] + i));
                    smooth += ws[k] * v;
                    if (k != centre) first += wf[k] * v;
                    second += wd[k] * v;
                }
                smooth.StoreUnsafe(ref _zSmooth[from + i]);
                first.StoreUnsafe(ref _zFirst[from + i]);
                second.StoreUnsafe(ref _zSecond[from + i]);
                i += lanes;
            }
            return i;
        }

        /// <summary>
        /// False only when the middle eigenvalue of [[a, d, e], [d, b, f], [e, f, c]] is surely at most <paramref name="m"/>:
        /// fewer than two eigenvalues above a slightly lower bound, counted by Sylvester's law of inertia (the sign changes
        /// of the leading principal minors of the matrix minus that bound are its negative eigenvalues). A zero minor
        /// leaves the count undecided (true). Far cheaper than the eigenvalues, which the caller computes when true.
        /// </summary>
        private static bool MiddleMayExceed(double a, double b, double c, double d, double e, double f, double m)
        {
            if (double.IsNegativeInfinity(m)) return true;
            var t = m - 1e-6 * Math.Abs(m) - 1e-12;
            var (p, q, r) = (a - t, b - t, c - t);
            var minor1 = p;
            var minor2 = p * q - d * d;
            var minor3 = p * (q * r - f * f) - d * (d * r - f * e) + e * (d * f - q * e);
            if (minor1 == 0 || minor2 == 0 || minor3 == 0) return true;
            var negatives = (minor1 < 0 ? 1 : 0) + (Math.Sign(minor1) != Math.Sign(minor2) ? 1 : 0) + (Math.Sign(minor2) != Math.Sign(minor3) ? 1 : 0);
            return negatives <= 1;
        }

        /// <summary>The three z derivatives over [from, from + length) of slice z: for each lane, the kernels' products added in kernel order (zero weights skipped).</summary>
        private void AlongZ(Volume<float> volume, int[] zSources, int z, int from, int length)
        {
            var taps = _smooth.Length;
            var i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                // Each tap's slice start, looked up once per run, and unchecked loads (every tap's slice lies in the volume and
                // [from, from + length) in the plane) instead of two span slices per tap and vector.
                var sliceLength = (long)_height * _width;
                var starts = _tapStarts;
                for (var k = 0; k < taps; k++) starts[k] = zSources[z + k] * sliceLength + from;
                ref var data = ref MemoryMarshal.GetArrayDataReference(volume.Data);
                if (_weights is { } weights) i = AlongZWithoutTests(ref data, starts, weights, from, length);
                for (; i <= length - Vector<float>.Count; i += Vector<float>.Count)
                {
                    Vector<float> smooth = default, first = default, second = default;
                    for (var k = 0; k < taps; k++)
                    {
                        var v = Vector.LoadUnsafe(ref data, (nuint)(starts[k] + i));
                        if (_smooth[k] != 0) smooth += new Vector<float>(_smooth[k]) * v;
                        if (_first[k] != 0) first += new Vector<float>(_first[k]) * v;
                        if (_second[k] != 0) second += new Vector<float>(_second[k]) * v;
                    }
                    smooth.CopyTo(_zSmooth.AsSpan(from + i));
                    first.CopyTo(_zFirst.AsSpan(from + i));
                    second.CopyTo(_zSecond.AsSpan(from + i));
                }
            }
            for (; i < length; i++)
            {
                float smooth = 0, first = 0, second = 0;
                for (var k = 0; k < taps; k++)
                {
                    var v = volume.Slice(zSources[z + k])[from + i];
                    if (_smooth[k] != 0) smooth += _smooth[k] * v;
                    if (_first[k] != 0) first += _first[k] * v;
                    if (_second[k] != 0) second += _second[k] * v;
                }
                (_zSmooth[from + i], _zFirst[from + i], _zSecond[from + i]) = (smooth, first, second);
            }
        }

        /// <summary>The column ranges [from, to) of the runs of non-zero blocks in one row's block flags.</summary>
        private List<(int From, int To)> BlockRuns(ReadOnlySpan<byte> blocks)
        {
            _runs.Clear();
            var columns = BlockColumns;
            for (var b = 0; b < blocks.Length;)
            {
                var start = blocks[b..].IndexOfAnyExcept((byte)0);
                if (start < 0) break;
                b += start;
                var length = blocks[b..].IndexOf((byte)0);
                var end = length < 0 ? blocks.Length : b + length;
                _runs.Add((b * columns, Math.Min(_width, end * columns)));
                b = end;
            }
            return _runs;
        }

        private readonly List<(int From, int To)> _runs = [];

        /// <summary>
        /// The y pass from <paramref name="from"/> a vector at a time without a test per tap (see <see cref="_weights"/>); returns
        /// how far it got. The same products in the same order as the general loop.
        /// </summary>
        private int AlongYWithoutTests(ref float zSmooth, ref float zFirst, ref float zSecond, long[] shifts, TapWeights weights, int from, int to)
        {
            var lanes = Vector<float>.Count;
            var taps = shifts.Length;
            var centre = taps / 2;
            ReadOnlySpan<Vector<float>> ws = weights.Smooth, wf = weights.First, wd = weights.Second;
            ReadOnlySpan<long> tapShifts = shifts;
            if (ws.Length != taps || wf.Length != taps || wd.Length != taps) throw new InvalidOperationException("kernels of different lengths");
            var (alongZZ, alongYY, alongXX, alongYZ, alongXZ, alongXY) = (_alongY[0], _alongY[1], _alongY[2], _alongY[3], _alongY[4], _alongY[5]);
            var i = from;
            for (; i <= to - lanes; i += lanes)
            {
                Vector<float> zz = default, yy = default, xx = default, yz = default, xz = default, xy = default;
                for (var k = 0; k < taps; k++)
                {
                    var source = (nuint)(tapShifts[k] + i);
                    var (s, f, d) = (Vector.LoadUnsafe(ref zSmooth, source), Vector.LoadUnsafe(ref zFirst, source), Vector.LoadUnsafe(ref zSecond, source));
                    var w = ws[k];
                    zz += w * d;
                    xx += w * s;
                    xz += w * f;
                    yy += wd[k] * s;
                    if (k != centre)
                    {
                        var w1 = wf[k];
                        yz += w1 * f;
                        xy += w1 * s;
                    }
                }
                zz.StoreUnsafe(ref alongZZ[i]);
                yy.StoreUnsafe(ref alongYY[i]);
                xx.StoreUnsafe(ref alongXX[i]);
                yz.StoreUnsafe(ref alongYZ[i]);
                xz.StoreUnsafe(ref alongXZ[i]);
                xy.StoreUnsafe(ref alongXY[i]);
            }
            return i;
        }

        /// <summary>
        /// The six y products of row y over the pixels [from, to) of the plane: zSecond·smooth, zSmooth·second, zSmooth·smooth,
        /// zFirst·first, zFirst·smooth, zSmooth·first.
        /// </summary>
        private void AlongY(int y, int from, int to)
        {
            var width = _width;
            var taps = _smooth.Length;
            var i = from;
            if (Vector.IsHardwareAccelerated)
            {
                // Each tap's row as a shift from row y (unchecked loads: every tap's row is in the plane).
                var shifts = _tapStarts;
                for (var k = 0; k < taps; k++) shifts[k] = (long)(_ySources[y + k] - y) * width;
                ref var zSmooth = ref MemoryMarshal.GetArrayDataReference(_zSmooth);
                ref var zFirst = ref MemoryMarshal.GetArrayDataReference(_zFirst);
                ref var zSecond = ref MemoryMarshal.GetArrayDataReference(_zSecond);
                if (_weights is { } weights) i = AlongYWithoutTests(ref zSmooth, ref zFirst, ref zSecond, shifts, weights, from, to);
                for (; i <= to - Vector<float>.Count; i += Vector<float>.Count)
                {
                    Vector<float> zz = default, yy = default, xx = default, yz = default, xz = default, xy = default;
                    for (var k = 0; k < taps; k++)
                    {
                        var source = (nuint)(shifts[k] + i);
                        var (s, f, d) = (Vector.LoadUnsafe(ref zSmooth, source), Vector.LoadUnsafe(ref zFirst, source), Vector.LoadUnsafe(ref zSecond, source));
                        if (_smooth[k] != 0)
                        {
                            var w = new Vector<float>(_smooth[k]);
                            zz += w * d;
                            xx += w * s;
                            xz += w * f;
                        }
                        if (_second[k] != 0) yy += new Vector<float>(_second[k]) * s;
                        if (_first[k] != 0)
                        {
                            var w = new Vector<float>(_first[k]);
                            yz += w * f;
                            xy += w * s;
                        }
                    }
                    zz.CopyTo(_alongY[0].AsSpan(i));
                    yy.CopyTo(_alongY[1].AsSpan(i));
                    xx.CopyTo(_alongY[2].AsSpan(i));
                    yz.CopyTo(_alongY[3].AsSpan(i));
                    xz.CopyTo(_alongY[4].AsSpan(i));
                    xy.CopyTo(_alongY[5].AsSpan(i));
                }
            }
            for (; i < to; i++)
            {
                float zz = 0, yy = 0, xx = 0, yz = 0, xz = 0, xy = 0;
                for (var k = 0; k < taps; k++)
                {
                    var source = _ySources[y + k] * width + (i - y * width);
                    var (s, f, d) = (_zSmooth[source], _zFirst[source], _zSecond[source]);
                    if (_smooth[k] != 0)
                    {
                        zz += _smooth[k] * d;
                        xx += _smooth[k] * s;
                        xz += _smooth[k] * f;
                    }
                    if (_second[k] != 0) yy += _second[k] * s;
                    if (_first[k] != 0)
                    {
                        yz += _first[k] * f;
                        xy += _first[k] * s;
                    }
                }
                (_alongY[0][i], _alongY[1][i], _alongY[2][i], _alongY[3][i], _alongY[4][i], _alongY[5][i]) = (zz, yy, xx, yz, xz, xy);
            }
        }

        /// <summary>Three x sums at pixel x of a row, of the y products first, first + 1 and first + 2 with the given kernels, each in kernel order.</summary>
        private (double, double, double) AlongX(int row, int x, int first, float[] kernelA, float[] kernelB, float[] kernelC)
        {
            var (a, b, c) = (_alongY[first], _alongY[first + 1], _alongY[first + 2]);
            float sumA = 0, sumB = 0, sumC = 0;
            var radius = kernelA.Length / 2;
            if (x >= radius && x + radius < _width)
            {
                var start = row + x - radius;
                for (var k = 0; k < kernelA.Length; k++)
                {
                    sumA += kernelA[k] * a[start + k];
                    sumB += kernelB[k] * b[start + k];
                    sumC += kernelC[k] * c[start + k];
                }
            }
            else
                for (var k = 0; k < kernelA.Length; k++)
                {
                    var j = row + _xSources[x + k];
                    sumA += kernelA[k] * a[j];
                    sumB += kernelB[k] * b[j];
                    sumC += kernelC[k] * c[j];
                }
            return (sumA, sumB, sumC);
        }
    }

    /// <summary>
    /// scipy's _gaussian_kernel1d(σ, order, radius) reversed, as gaussian_filter1d applies it (a convolution):
    /// weights[j] multiply the sample at offset j − radius.
    /// </summary>
    internal static double[] DerivativeKernel(double sigmaVoxels, int order)
    {
        var radius = Denoise.GaussianRadiusVoxels(sigmaVoxels);
        var phi = new double[2 * radius + 1];
        var sum = 0.0;
        for (var x = -radius; x <= radius; x++) sum += phi[x + radius] = Math.Exp(-0.5 / (sigmaVoxels * sigmaVoxels) * x * x);
        for (var i = 0; i < phi.Length; i++) phi[i] /= sum;
        var s2 = sigmaVoxels * sigmaVoxels;
        var kernel = new double[phi.Length];
        for (var x = -radius; x <= radius; x++)
        {
            var p = phi[x + radius];
            kernel[x + radius] = order switch
            {
                0 => p,
                1 => -x / s2 * p,
                2 => (x * x / (s2 * s2) - 1 / s2) * p,
                _ => throw new ArgumentOutOfRangeException(nameof(order), order, "orders 0, 1 and 2 only"),
            };
        }
        Array.Reverse(kernel);
        return kernel;
    }

    /// <summary>
    /// Eigenvalues of the symmetric matrix [[a, d, e], [d, b, f], [e, f, c]], descending, by the closed form for
    /// the roots of its characteristic cubic (Smith 1961, "Eigenvalues of a symmetric 3×3 matrix", CACM 4:168).
    /// </summary>
    internal static (double Largest, double Middle, double Smallest) Symmetric3x3(double a, double b, double c, double d, double e, double f)
    {
        var offDiagonal = d * d + e * e + f * f;
        if (offDiagonal == 0) return Sort3(a, b, c);
        var q = (a + b + c) / 3;
        var (aq, bq, cq) = (a - q, b - q, c - q);
        var p2 = aq * aq + bq * bq + cq * cq + 2 * offDiagonal;
        var p = Math.Sqrt(p2 / 6);
        // det((M - qI) / p) / 2, clamped against rounding
        var determinant = aq * (bq * cq - f * f) - d * (d * cq - f * e) + e * (d * f - bq * e);
        var r = Math.Clamp(determinant / (2 * p * p * p), -1, 1);
        var phi = Math.Acos(r) / 3;
        var largest = q + 2 * p * Math.Cos(phi);
        var smallest = q + 2 * p * Math.Cos(phi + 2 * Math.PI / 3);
        return (largest, 3 * q - largest - smallest, smallest);
    }

    private static (double, double, double) Sort3(double a, double b, double c)
    {
        if (a < b) (a, b) = (b, a);
        if (b < c) (b, c) = (c, b);
        if (a < b) (a, b) = (b, a);
        return (a, b, c);
    }
}
