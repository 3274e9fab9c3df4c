using System.Diagnostics;
using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.TestSupport;

namespace SsbTomo.Benchmarks;

/// <summary>
/// The tortuosity solve against scipy.sparse.linalg.cg (Jacobi preconditioner) on the same system, same volume, same
/// relative-residual tolerance, one run: TauFactor's electrode.tiff (pore phase), an n³ corner of it.
/// Usage: dotnet run -c Release --project tests/SsbTomo.Benchmarks -- tortuosity [--size 128] [--axis 0]
/// </summary>
public static class TortuosityStudy
{
    private const string Electrode = "/work/shared/data/taufactor/electrode.tiff";

    public static int Run(string[] args)
    {
        var (size, axis) = (128, 0);
        for (var i = 0; i < args.Length; i++)
            switch (args[i])
            {
                case "--size" when i + 1 < args.Length: size = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--axis" when i + 1 < args.Length: axis = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine("usage: SsbTomo.Benchmarks tortuosity [--size N (≤ 256)] [--axis 0|1|2]");
                    return 2;
            }
        using var dir = new TempDirectory("ssbtomo-tortuosity");
        var raw = Path.Combine(dir.Path, "labels.raw");
        PythonOracle.Run("""
            import sys, numpy as np, tifffile
            n = int(sys.argv[3])
            np.ascontiguousarray(tifffile.imread(sys.argv[1])[:n, :n, :n]).astype(np.uint8).tofile(sys.argv[2])
            """, Electrode, raw, $"{size}");
        var volume = new Volume<byte>(size, size, size, File.ReadAllBytes(raw));
        Console.WriteLine($"tortuosity of the pore phase of electrode.tiff[:{size},:{size},:{size}] along axis {axis}, relative residual {Tortuosity.DefaultTolerance:0e0}, {Environment.ProcessorCount} cores");

        var clock = Stopwatch.StartNew();
        var ours = Tortuosity.Compute(volume, 0, axis, VoxelSize.Isotropic(1));
        var oursSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"SsbTomo  multigrid-PCG: tau {ours.Factor:0.000000}  {ours.Iterations,5} iterations  {oursSeconds,8:0.0} s (setup and solve)");

        var peer = PythonOracle.Run(ScipyTortuosity.Function + """
            import sys, time, numpy as np
            n, axis, tol = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
            start = time.perf_counter()
            mask = np.moveaxis(np.fromfile(sys.argv[1], np.uint8).reshape(n, n, n) == 0, axis, 0)
            tau, iterations = scipy_tau(mask, tol)
            print(tau, iterations, time.perf_counter() - start)
            """, raw, $"{size}", $"{axis}", Tortuosity.DefaultTolerance.ToString("R", CultureInfo.InvariantCulture)).Trim().Split(' ');
        var (tau, iterations, seconds) = (double.Parse(peer[0], CultureInfo.InvariantCulture), int.Parse(peer[1], CultureInfo.InvariantCulture),
            double.Parse(peer[2], CultureInfo.InvariantCulture));
        Console.WriteLine($"scipy    Jacobi-PCG:     tau {tau:0.000000}  {iterations,5} iterations  {seconds,8:0.0} s (assembly and solve)");
        Console.WriteLine($"ratio scipy / SsbTomo: {seconds / oursSeconds:0.0}x; tau differs by {Math.Abs(ours.Factor - tau) / tau:0.0e0} (relative)");
        return 0;
    }
}
