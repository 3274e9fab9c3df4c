using System.Runtime.CompilerServices;

namespace SsbTomo.Phantom;

/// <summary>A point or vector in voxel units, (z, y, x).</summary>
public readonly record struct Vec3(double Z, double Y, double X)
{
    public static Vec3 operator +(Vec3 a, Vec3 b) => new(a.Z + b.Z, a.Y + b.Y, a.X + b.X);
    public static Vec3 operator -(Vec3 a, Vec3 b) => new(a.Z - b.Z, a.Y - b.Y, a.X - b.X);
    public static Vec3 operator *(double s, Vec3 a) => new(s * a.Z, s * a.Y, s * a.X);
    public double Dot(Vec3 o) => Z * o.Z + Y * o.Y + X * o.X;
    public double Length => Math.Sqrt(Dot(this));
    public Vec3 Normalised() => (1.0 / Length) * this;

    public Vec3 Cross(Vec3 o) => new(Y * o.X - X * o.Y, X * o.Z - Z * o.X, Z * o.Y - Y * o.Z);

    /// <summary>Some unit vector perpendicular to this one (which must be a unit vector).</summary>
    public Vec3 AnyPerpendicular()
    {
        var helper = Math.Abs(X) < 0.9 ? new Vec3(0, 0, 1) : new Vec3(0, 1, 0);
        return Cross(helper).Normalised();
    }
}

/// <summary>An NMC particle: a sphere, in voxel units of the slice-0 frame (voxel (z,y,x) has its centre at z+0.5 etc.).</summary>
public sealed record NmcParticle(int Id, Vec3 Centre, double Radius, double GreyOffset);

/// <summary>
/// A one-sided crack next to particle <paramref name="ParticleId"/> (paper Fig. 4f): void between radius r and
/// r + t(φ) for φ (angle from <paramref name="Direction"/>) below <paramref name="ConeHalfAngle"/> (radians), with
/// t(φ) = <paramref name="MaxThickness"/>·(1 − (φ/cone)²) tapering to 0 at the cone edge. Voxel units.
/// </summary>
public sealed record ParticleCrack(int ParticleId, Vec3 Direction, double ConeHalfAngle, double MaxThickness);

/// <summary>A carbon nanofibre: a chain of capsules along <paramref name="Axis"/> with <paramref name="Radius"/>, voxel units.</summary>
public sealed record CarbonFibre(IReadOnlyList<Vec3> Axis, double Radius);

/// <summary>
/// A void spheroid: a pore (at an LPS grain boundary) or, when <paramref name="IsCrackFlake"/>, a flake-like crack
/// growing from a particle crack into the LPS. Semi-axis <paramref name="Radius"/> in the plane perpendicular to
/// <paramref name="Normal"/>, <paramref name="HalfThickness"/> along it; voxel units.
/// </summary>
public sealed record VoidSpheroid(Vec3 Centre, Vec3 Normal, double Radius, double HalfThickness, bool IsCrackFlake);

// ---- hot-path structs (internal; flat, no references) ----

internal readonly struct SphereG(double z, double y, double x, double r)
{
    public readonly double Z = z, Y = y, X = x, R2 = r * r;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(double z, double y, double x)
    {
        double dz = z - Z, dy = y - Y, dx = x - X;
        return dz * dz + dy * dy + dx * dx < R2;
    }
}

internal readonly struct CrackG(Vec3 c, double r, Vec3 u, double cone, double tmax)
{
    public readonly double Z = c.Z, Y = c.Y, X = c.X, R = r, Uz = u.Z, Uy = u.Y, Ux = u.X,
        Cone = cone, CosCone = Math.Cos(cone), Tmax = tmax, Outer2 = (r + tmax) * (r + tmax), InvCone = 1 / cone;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(double z, double y, double x)
    {
        double dz = z - Z, dy = y - Y, dx = x - X;
        double d2 = dz * dz + dy * dy + dx * dx;
        if (d2 > Outer2) return false;
        double d = Math.Sqrt(d2);
        if (d < R) return false;
        double cos = (dz * Uz + dy * Uy + dx * Ux) / d;
        if (cos < CosCone) return false;
        double s = Math.Acos(Math.Min(1.0, cos)) * InvCone;
        return d <= R + Tmax * (1 - s * s);
    }
}

internal readonly struct SpheroidG(Vec3 c, Vec3 n, double radius, double halfThickness)
{
    public readonly double Z = c.Z, Y = c.Y, X = c.X, Nz = n.Z, Ny = n.Y, Nx = n.X,
        InvR2 = 1 / (radius * radius), InvH2 = 1 / (halfThickness * halfThickness);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(double z, double y, double x)
    {
        double dz = z - Z, dy = y - Y, dx = x - X;
        double a = dz * Nz + dy * Ny + dx * Nx;
        double b2 = dz * dz + dy * dy + dx * dx - a * a;
        return b2 * InvR2 + a * a * InvH2 <= 1;
    }
}

internal readonly struct CapsuleG(Vec3 a, Vec3 b, double r)
{
    public readonly double Az = a.Z, Ay = a.Y, Ax = a.X, Dz = b.Z - a.Z, Dy = b.Y - a.Y, Dx = b.X - a.X,
        InvLen2 = 1 / Math.Max(1e-12, (b - a).Dot(b - a)), R2 = r * r;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(double z, double y, double x)
    {
        double pz = z - Az, py = y - Ay, px = x - Ax;
        double t = (pz * Dz + py * Dy + px * Dx) * InvLen2;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double ez = pz - t * Dz, ey = py - t * Dy, ex = px - t * Dx;
        return ez * ez + ey * ey + ex * ex <= R2;
    }
}
