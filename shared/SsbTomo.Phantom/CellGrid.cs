using System.Runtime.CompilerServices;

namespace SsbTomo.Phantom;

/// <summary>
/// A uniform grid over the specimen box (voxel units). Each object category is stored as a compressed list
/// (CSR) of object indices per cell; an object is listed in every cell it may touch, so classifying a point
/// only tests the few objects of its own cell.
/// </summary>
internal sealed class CellGrid
{
    public CellGrid(Vec3 lo, Vec3 hi, double cell)
    {
        Lo = lo;
        Cell = cell;
        Inv = 1 / cell;
        Nz = Math.Max(1, (int)Math.Ceiling((hi.Z - lo.Z) * Inv));
        Ny = Math.Max(1, (int)Math.Ceiling((hi.Y - lo.Y) * Inv));
        Nx = Math.Max(1, (int)Math.Ceiling((hi.X - lo.X) * Inv));
        if ((long)Nz * Ny * Nx > 200_000_000) throw new ArgumentException("specimen box too large for the object grid");
    }

    public Vec3 Lo { get; }
    public double Cell { get; }
    public double Inv { get; }
    public int Nz { get; }
    public int Ny { get; }
    public int Nx { get; }
    public int Count => Nz * Ny * Nx;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int CellOf(double z, double y, double x)
    {
        int iz = (int)Math.Floor((z - Lo.Z) * Inv), iy = (int)Math.Floor((y - Lo.Y) * Inv), ix = (int)Math.Floor((x - Lo.X) * Inv);
        if ((uint)iz >= (uint)Nz || (uint)iy >= (uint)Ny || (uint)ix >= (uint)Nx) return -1;
        return (iz * Ny + iy) * Nx + ix;
    }

    /// <summary>Lists each object in the cells of its bounding box for which <paramref name="mayTouch"/>(cell centre, half diagonal) holds.</summary>
    public Csr Build(int count, Func<int, (Vec3 Lo, Vec3 Hi)> bounds, Func<int, Vec3, double, bool> mayTouch)
    {
        var start = new int[Count + 1];
        double half = Cell * Math.Sqrt(3) / 2;
        var cells = new List<int>[count];
        for (int i = 0; i < count; i++)
        {
            var list = new List<int>();
            var (lo, hi) = bounds(i);
            int z0 = Clamp((int)Math.Floor((lo.Z - Lo.Z) * Inv), Nz), z1 = Clamp((int)Math.Floor((hi.Z - Lo.Z) * Inv), Nz);
            int y0 = Clamp((int)Math.Floor((lo.Y - Lo.Y) * Inv), Ny), y1 = Clamp((int)Math.Floor((hi.Y - Lo.Y) * Inv), Ny);
            int x0 = Clamp((int)Math.Floor((lo.X - Lo.X) * Inv), Nx), x1 = Clamp((int)Math.Floor((hi.X - Lo.X) * Inv), Nx);
            for (int iz = z0; iz <= z1; iz++)
                for (int iy = y0; iy <= y1; iy++)
                    for (int ix = x0; ix <= x1; ix++)
                    {
                        var c = new Vec3(Lo.Z + (iz + 0.5) * Cell, Lo.Y + (iy + 0.5) * Cell, Lo.X + (ix + 0.5) * Cell);
                        if (!mayTouch(i, c, half)) continue;
                        int k = (iz * Ny + iy) * Nx + ix;
                        list.Add(k);
                        start[k + 1]++;
                    }
            cells[i] = list;
        }
        for (int k = 0; k < Count; k++) start[k + 1] += start[k];
        var items = new int[start[Count]];
        var fill = (int[])start.Clone();
        for (int i = 0; i < count; i++)
            foreach (int k in cells[i]) items[fill[k]++] = i;
        return new Csr(start, items);
    }

    private static int Clamp(int v, int n) => v < 0 ? 0 : v >= n ? n - 1 : v;
}

internal sealed class Csr(int[] start, int[] items)
{
    public readonly int[] Start = start;
    public readonly int[] Items = items;
}
