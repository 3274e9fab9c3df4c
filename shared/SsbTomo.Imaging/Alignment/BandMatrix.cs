namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// A symmetric positive-definite band matrix (half-bandwidth <see cref="Bandwidth"/>): Cholesky solve and the
/// entries of the inverse within the band. Hand-written because MathNet has dense and sparse-iterative solvers only:
/// the anchored-drift normal equations of a 2000-slice stack are dense-banded (width = longest particle track), where
/// a band Cholesky costs n·b² instead of n³/3.
/// </summary>
internal sealed class BandMatrix
{
    private bool _factorised;
    private readonly double[] _band; // row i holds columns i - Bandwidth .. i at [i * (Bandwidth + 1) + (j - i + Bandwidth)]

    public BandMatrix(int size, int bandwidth)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfNegative(bandwidth);
        Size = size;
        Bandwidth = Math.Min(bandwidth, Math.Max(0, size - 1));
        var length = (long)size * (Bandwidth + 1);
        if (length > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(bandwidth), $"a {size} x {Bandwidth} band does not fit in one array");
        _band = new double[length];
    }

    public int Size { get; }
    public int Bandwidth { get; }

    /// <summary>Adds <paramref name="value"/> to A[i, j] (and A[j, i]); |i − j| must lie within the band.</summary>
    public void Add(int i, int j, double value)
    {
        if (_factorised) throw new InvalidOperationException("the matrix is already factorised");
        if (j > i) (i, j) = (j, i);
        if (i - j > Bandwidth) throw new ArgumentOutOfRangeException(nameof(j), $"({i}, {j}) lies outside the band {Bandwidth}");
        _band[Index(i, j)] += value;
    }

    public double this[int i, int j]
    {
        get
        {
            if (j > i) (i, j) = (j, i);
            return i - j > Bandwidth ? 0 : _band[Index(i, j)];
        }
    }

    /// <summary>Solves A x = b. The first call factorises A in place (A = L Lᵀ, so <see cref="Add"/> no longer applies); later calls reuse the factor.</summary>
    public double[] Solve(ReadOnlySpan<double> rightHandSide)
    {
        if (rightHandSide.Length != Size) throw new ArgumentException($"right-hand side has {rightHandSide.Length} entries, the matrix {Size}", nameof(rightHandSide));
        Factorise();
        var x = rightHandSide.ToArray();
        for (var i = 0; i < Size; i++) // L y = b
        {
            var s = x[i];
            for (var k = Math.Max(0, i - Bandwidth); k < i; k++) s -= _band[Index(i, k)] * x[k];
            x[i] = s / _band[Index(i, i)];
        }
        for (var i = Size - 1; i >= 0; i--) // Lᵀ x = y
        {
            var s = x[i];
            for (var k = i + 1; k <= Math.Min(Size - 1, i + Bandwidth); k++) s -= _band[Index(k, i)] * x[k];
            x[i] = s / _band[Index(i, i)];
        }
        return x;
    }

    /// <summary>
    /// The entries of A⁻¹ within the band (Takahashi's recurrence on the Cholesky factor: Lᵀ A⁻¹ = L⁻¹ is lower
    /// triangular, so row i of A⁻¹ on and right of the diagonal follows from the rows below it), in n·b².
    /// </summary>
    public BandMatrix InverseWithinBand()
    {
        Factorise();
        var inverse = new BandMatrix(Size, Bandwidth);
        for (var i = Size - 1; i >= 0; i--)
        {
            var last = Math.Min(Size - 1, i + Bandwidth);
            var lii = _band[Index(i, i)];
            for (var j = last; j >= i; j--)
            {
                var s = i == j ? 1 / lii : 0;
                for (var k = i + 1; k <= last; k++) s -= _band[Index(k, i)] * inverse[k, j];
                inverse._band[Index(j, i)] = s / lii;
            }
        }
        return inverse;
    }

    private void Factorise()
    {
        if (_factorised) return;
        _factorised = true;
        for (var i = 0; i < Size; i++)
        for (var j = Math.Max(0, i - Bandwidth); j <= i; j++)
        {
            var s = _band[Index(i, j)];
            for (var k = Math.Max(0, i - Bandwidth); k < j; k++) s -= _band[Index(i, k)] * _band[Index(j, k)];
            if (i == j)
            {
                if (!(s > 0)) throw new InvalidOperationException($"matrix is not positive definite (pivot {i} = {s})");
                _band[Index(i, i)] = Math.Sqrt(s);
            }
            else _band[Index(i, j)] = s / _band[Index(j, j)];
        }
    }

    private int Index(int i, int j) => i * (Bandwidth + 1) + (j - i + Bandwidth);
}
