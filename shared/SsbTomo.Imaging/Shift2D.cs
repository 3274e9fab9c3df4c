namespace SsbTomo.Imaging;

/// <summary>An in-plane displacement in pixels (y down, x right).</summary>
public readonly record struct Shift2D(double Dy, double Dx)
{
    public static Shift2D Zero => default;
    public static Shift2D operator +(Shift2D a, Shift2D b) => new(a.Dy + b.Dy, a.Dx + b.Dx);
    public static Shift2D operator -(Shift2D a, Shift2D b) => new(a.Dy - b.Dy, a.Dx - b.Dx);
    public static Shift2D operator -(Shift2D a) => new(-a.Dy, -a.Dx);
    public double Length => Math.Sqrt(Dy * Dy + Dx * Dx);
}
