
namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// A slice's pixels with its non-finite ones as 0 and marked invalid, and their Gaussian blur by normalised convolution
/// (<see cref="GaussianBlur.Normalised"/>): what the brightness measurement's smoothed peaks and the particle sections
/// both read at σ = 1 px, so that a measured slice is blurred once for the two.
/// </summary>
public sealed class SmoothedSlice
{
    private SmoothedSlice(int height, int width, double sigmaPx, float[] valid, float[] smooth)
    {
        Height = height;
        Width = width;
        SigmaPx = sigmaPx;
        Valid = valid;
        Smooth = smooth;
    }

    public int Height { get; }
    public int Width { get; }
    public double SigmaPx { get; }

    /// <summary>1 where the slice's pixel is finite, 0 elsewhere; shared, not copied.</summary>
    public float[] Valid { get; }

    /// <summary>The blurred pixels (row-major, Height x Width); shared, not copied.</summary>
    public float[] Smooth { get; }

    /// <param name="maxThreads">Threads the blur may use (<see cref="KernelThreads"/>); the pixels are the same for any.</param>
    /// <param name="reuse">
    /// A smoothed slice of the same shape whose arrays this one takes over (it must not be read after): a slice-sized
    /// array fresh for every slice costs its page faults again (a tenth of them in the alignment at 1 Gvoxel).
    /// </param>
    public static SmoothedSlice Of(Image2D<float> slice, double sigmaPx, int maxThreads = KernelThreads.All, SmoothedSlice? reuse = null)
    {
        ArgumentNullException.ThrowIfNull(slice);
        KernelThreads.Check(maxThreads);
        var (h, w) = (slice.Height, slice.Width);
        var fits = reuse is not null && reuse.Height == h && reuse.Width == w;
        // The finite values are the blur's input only: scratch from the large-array pool (a slice's worth, every slice).
        var (values, valid, smooth) = (LargeArrayPool<float>.Shared.Rent(h * w), fits ? reuse!.Valid : new float[h * w], fits ? reuse!.Smooth : new float[h * w]);
        try
        {
            KernelThreads.For(0, h, maxThreads, y => BandImage.CropRow(slice.Row(y), values.AsSpan(y * w, w), valid.AsSpan(y * w, w)));
            GaussianBlur.Normalised(values, valid, h, w, sigmaPx, smooth, maxThreads);
            return new SmoothedSlice(h, w, sigmaPx, valid, smooth);
        }
        finally
        {
            LargeArrayPool<float>.Shared.Return(values);
        }
    }

    /// <summary>Throws unless this is <paramref name="slice"/>'s blur at <paramref name="sigmaPx"/> in shape and σ.</summary>
    internal void CheckFor(Image2D<float> slice, double sigmaPx, string parameterName)
    {
        if (slice.Height != Height || slice.Width != Width)
            throw new ArgumentException($"the smoothed slice is {Height}x{Width}, the slice {slice.Height}x{slice.Width}", parameterName);
        if (SigmaPx != sigmaPx)
            throw new ArgumentException($"the slice was smoothed by σ {SigmaPx} px, {sigmaPx} px is needed", parameterName);
    }
}
